//! Library RFID: the ISO 15693 air interface and the tags' data models.
//!
//! - [`transceiver`]: the raw air-interface port a reader chip implements.
//! - [`iso15693`]: frames (requests, responses, CRC) and the anti-collision inventory.
//! - [`iso28560`]: the library data models stored in tag memory (part 2 and part 3).
//! - [`tag`]: one model of a library tag, whatever its data model.
//! - [`reader`]: the `TagReader` port the kiosk uses, and its adapter over any transceiver.
//! - [`card`]: ISO 14443A patron cards as read (UID, optional memory block).
//! - [`patron_card`]: the site rule that turns a card read into a patron id.
//! - [`sim`]: a simulated pad of virtual tags and cards with an air-time model.
//! - [`program`]: writing an item's data on a tag, verified step by step.
//! - [`sim`]: a simulated pad of virtual tags with an air-time model.

pub mod card;
pub mod iso15693;
pub mod iso28560;
pub mod patron_card;
pub mod program;
pub mod reader;
pub mod sim;
pub mod tag;
pub mod transceiver;

pub use card::{CardMemoryRead, CardRead, CardReader, CardUid};
pub use reader::{Iso15693Reader, ReaderError, Security, SecurityConfig, TagReader, WriteOutcome};
pub use tag::{DataModel, ItemRecord, LibraryTag, TagData, TypeOfUsage, Uid};
