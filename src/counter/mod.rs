//! The bookstore partner counter: a patron picks a new book at a partner bookstore and takes
//! it home as a library loan; the library pays the bookstore and the book joins the
//! collection when it comes back.
//!
//! - [`rules`]: whether the patron may (pure, rule by rule; the refusal names its rule).
//! - [`stock`]: the bookstore's stock file, by ISBN.
//! - [`ids`]: item ids from the counter's range (allocation itself is in `store::counter`).
//! - [`marc`], [`invoice`], [`export`]: what reaches the library: MARC 21 records and the
//!   monthly invoice CSV.
//! - [`money`]: amounts in cents and currency codes.
//! - [`settings`]: the `[counter]` settings.
//! - [`session`]: the counter as a terminal (pure state machine: bookseller, patron, book,
//!   rules, id, tag, loan, undo); [`shell`] carries out its effects, [`runner`] runs both
//!   with the queue to the ILS, [`headless`] drives it from JSON lines.
//!
//! ISBN input is read by [`crate::scan::symbology::book_number`].

pub mod export;
pub mod headless;
pub mod ids;
pub mod invoice;
pub mod marc;
pub mod money;
pub mod rules;
pub mod runner;
pub mod session;
pub mod settings;
pub mod shell;
pub mod stock;

pub use settings::CounterSettings;
