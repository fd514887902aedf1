//! Hardware drivers: the reader chips and serial readers behind the RFID ports.
//!
//! - [`pn5180`]: NXP PN5180 over SPI (ISO 15693 items, ISO 14443A patron cards); implements
//!   [`Transceiver`](crate::rfid::transceiver::Transceiver).
//! - [`mfrc522`]: ISO 14443A patron-card UIDs through the `mfrc522` crate.
//! - [`serial`]: a byte-stream port of our own, and the 3M/Bibliotheca and FEIG ISC serial
//!   readers, which do the ISO 15693 work themselves and implement
//!   [`TagReader`](crate::rfid::reader::TagReader).
//! - `linux`: opening the real devices (spidev, GPIO character device, serial ports) from a
//!   board file.

use std::fmt;

/// The embedded-hal traits the drivers are generic over, for adapters and fuzz harnesses.
pub use embedded_hal as hal;

pub mod mfrc522;
pub mod pn5180;
pub mod serial;

#[cfg(target_os = "linux")]
pub mod linux;

/// An ISO 14443A card UID (4, 7 or 10 bytes), as the patron card's anticollision gave it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardUid {
    bytes: [u8; 10],
    len: u8,
}

impl CardUid {
    /// A UID from its bytes; `None` unless it is 4, 7 or 10 bytes long.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if !matches!(bytes.len(), 4 | 7 | 10) {
            return None;
        }
        let mut out = [0u8; 10];
        out.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(CardUid {
            bytes: out,
            len: bytes.len() as u8,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Upper-case hex, first byte first, as card UIDs are printed on staff screens.
    pub fn to_hex(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Debug for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardUid({})", self.to_hex())
    }
}

impl fmt::Display for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
