//! Receipts: printed on an ESC/POS thermal printer, or e-mailed, in the patron's language.
//!
//! - [`Receipt`] is the plain data of a finished session; [`texts`] words it in English,
//!   Italian or Chinese, with dates the way each writes them.
//! - [`escpos`] writes (and reads back) the printer's bytes, sans-IO; [`layout`] lays a
//!   receipt out on it. Latin text goes in the code page (`ESC t`), Chinese through the
//!   printer's Chinese mode as GB18030 or, on printers without one, as raster images drawn
//!   with the bundled font ([`raster`]).
//! - [`Printer`] is the port: [`EscposPrinter`] over TCP, usblp, serial or a file, asking the
//!   printer's real-time status (`DLE EOT`) first on two-way links, every step bounded by a
//!   timeout; [`MemoryPrinter`] for tests. [`ReceiptPrinter`] ties settings, layout and
//!   printer together.
//! - [`email`] writes the mail and sends it (lettre, rustls on ring); [`outbox`] queues it in
//!   SQLite and retries while the server is down.
//!
//! Why not the `escpos` crate: it was evaluated and left aside. Its code pages are a fixed
//! enum with Epson's numbers (sites need the `ESC t` number as a setting, since vendors
//! number their tables differently), it has no Chinese mode (`FS &` / `FS .`), its images go
//! through the `image` crate from files, and its printer couples the byte builder to its
//! drivers, whose status reading has no deadline across a whole job. The commands a receipt
//! needs are few; writing them here keeps every byte under test.

pub mod address;
pub mod codepage;
pub mod email;
pub mod escpos;
pub mod layout;
pub mod model;
pub mod outbox;
pub mod printer;
pub mod raster;
pub mod settings;
pub mod status;
pub mod texts;
pub mod transport;

pub use address::{PrinterAddress, SmtpAddress, SmtpSecurity};
pub use codepage::CodePage;
pub use email::{EmailError, Mail, Mailer, Recipient, compose};
pub use model::{Outcome, Receipt, ReceiptItem};
pub use outbox::{Delivery, deliver_due, drain, queue_email};
pub use printer::{
    EscposPrinter, MemoryPrinter, PrintError, Printer, PrinterHealth, ReceiptPrinter,
};
pub use settings::{ChineseMode, EmailSettings, ReceiptSettings};
pub use status::{PrinterProblem, PrinterStatus};
