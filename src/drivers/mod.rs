//! Hardware drivers: the reader chips and serial readers behind the RFID ports.
//!
//! - [`pn5180`]: NXP PN5180 over SPI (ISO 15693 items, ISO 14443A patron cards); implements
//!   [`Transceiver`](crate::rfid::transceiver::Transceiver).
//! - [`mfrc522`]: ISO 14443A patron cards (UID, Ultralight pages, Classic blocks) through the
//!   `mfrc522` crate.
//! - [`serial`]: a byte-stream port of our own, and the 3M/Bibliotheca and FEIG ISC serial
//!   readers, which do the ISO 15693 work themselves and implement
//!   [`TagReader`](crate::rfid::reader::TagReader).
//! - `linux`: opening the real devices (spidev, GPIO character device, serial ports) from a
//!   board file.
//! - `rpi`: the PN5180 through the Raspberry Pi's peripherals with rppal (`hal = "rppal"`).

/// The embedded-hal traits the drivers are generic over, for adapters and fuzz harnesses.
pub use embedded_hal as hal;

pub mod mfrc522;
pub mod pn5180;
pub mod serial;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
pub mod rpi;

/// ISO 14443A card UIDs, for the chips that read patron cards.
pub use crate::rfid::card::CardUid;
