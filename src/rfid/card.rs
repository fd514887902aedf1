//! ISO 14443A patron cards (MIFARE Classic, Ultralight, NTAG, DESFire...) as the kiosk reads
//! them: the UID the anticollision loop gave, and optionally one 16-byte read of the card's
//! memory where a site stores the patron number on the card.

use std::fmt;

use crate::rfid::reader::ReaderError;
use crate::rfid::tag::parse_hex;

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

    /// A UID printed as hex, first byte first (8, 14 or 20 digits; spaces and colons allowed).
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | ':' | '-'))
            .collect();
        Self::new(&parse_hex(&digits)?)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Upper-case hex, first byte first, as card UIDs are printed on staff screens.
    pub fn to_hex(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The four UID bytes MIFARE Classic authentication mixes into its cipher: the whole UID of
    /// a 4-byte card, the last four bytes of a longer one (NXP AN10927).
    pub fn auth_bytes(&self) -> [u8; 4] {
        let b = self.as_bytes();
        let mut out = [0u8; 4];
        if let Some(tail) = b.get(b.len().saturating_sub(4)..) {
            out.copy_from_slice(tail);
        }
        out
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

/// MIFARE Classic's factory ("transport") key.
pub const FACTORY_KEY: [u8; 6] = [0xFF; 6];

/// What to read from a card's memory besides its UID. Both reads return 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum CardMemoryRead {
    /// The UID is enough.
    #[default]
    None,
    /// MIFARE Ultralight / NTAG: READ (0x30) of four pages from `page` on, no authentication.
    UltralightPages { page: u8 },
    /// MIFARE Classic: authenticate `block`'s sector with key A, then READ the block.
    ClassicBlock { block: u8, key_a: [u8; 6] },
}

/// Keys stay out of logs and debug output.
impl fmt::Debug for CardMemoryRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardMemoryRead::None => f.write_str("None"),
            CardMemoryRead::UltralightPages { page } => write!(f, "UltralightPages({page})"),
            CardMemoryRead::ClassicBlock { block, .. } => write!(f, "ClassicBlock({block})"),
        }
    }
}

/// Whether `block` of a MIFARE Classic 1K/4K holds a sector's keys and access bits rather
/// than data: the last block of each 4-block sector, and of each 16-block sector past 128.
pub fn is_sector_trailer(block: u8) -> bool {
    if block < 128 {
        block % 4 == 3
    } else {
        block % 16 == 15
    }
}

/// One patron card on the reader.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    pub uid: CardUid,
    /// The 16 bytes asked for with a [`CardMemoryRead`] other than `None`.
    pub data: Option<[u8; 16]>,
}

/// The card's memory may hold the patron number: only its UID appears in debug output.
impl fmt::Debug for CardRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardRead")
            .field("uid", &self.uid)
            .field("data", &self.data.map(|_| "16 bytes"))
            .finish()
    }
}

/// A reader chip that reads ISO 14443A cards, for the [`TagReader`](crate::rfid::TagReader)
/// adapters that poll patron cards between item inventories.
///
/// A failing chip or bus is a [`ReaderError::Link`]; a card that cannot be read (several at
/// once, a refused key, a garbled answer) is a [`ReaderError::Card`].
pub trait CardReader {
    /// The card on the reader now, with `read` done, if there is one. Several cards at once
    /// are an error (the patron is asked to present one).
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError>;
}

impl<C: CardReader + ?Sized> CardReader for Box<C> {
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        (**self).poll_card(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_lengths_and_parsing() {
        assert!(CardUid::new(&[1, 2, 3]).is_none());
        let uid = CardUid::parse("04 A2 24 6A 5D 5C 80").expect("7 bytes");
        assert_eq!(uid.to_hex(), "04A2246A5D5C80");
        assert_eq!(uid.auth_bytes(), [0x6A, 0x5D, 0x5C, 0x80]);
        let short = CardUid::parse("DEADBEEF").expect("4 bytes");
        assert_eq!(short.auth_bytes(), [0xDE, 0xAD, 0xBE, 0xEF]);
        assert!(CardUid::parse("DEADBEE").is_none());
        assert!(CardUid::parse("DEADBEEFXX").is_none());
    }

    #[test]
    fn sector_trailers() {
        assert!(is_sector_trailer(3) && is_sector_trailer(127) && is_sector_trailer(143));
        assert!(!is_sector_trailer(4) && !is_sector_trailer(128) && !is_sector_trailer(131));
    }

    #[test]
    fn debug_output_hides_keys_and_data() {
        let read = CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5],
        };
        assert_eq!(format!("{read:?}"), "ClassicBlock(4)");
        let card = CardRead {
            uid: CardUid::parse("DEADBEEF").expect("uid"),
            data: Some(*b"0000123456789\0\0\0"),
        };
        assert!(!format!("{card:?}").contains("123"));
    }
}
