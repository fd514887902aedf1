//! Readers that poll ISO 14443A patron cards besides reading item tags: the board file's
//! `[patron_card] reader` says whether cards come through the item reader's own chip (a
//! PN5180, the simulated pad) or through a second chip beside it (an MFRC522).

use crate::rfid::card::{CardMemoryRead, CardRead, CardReader};
use crate::rfid::reader::{
    Iso15693Reader, ReaderError, Security, SecurityConfig, TagReader, WriteOutcome,
};
use crate::rfid::tag::{LibraryTag, Uid};
use crate::rfid::transceiver::Transceiver;

/// Item tags through one reader, patron cards through another chip beside it.
pub struct WithCardReader<R, C> {
    items: R,
    cards: C,
}

impl<R: TagReader, C: CardReader> WithCardReader<R, C> {
    pub fn new(items: R, cards: C) -> Self {
        WithCardReader { items, cards }
    }

    pub fn into_parts(self) -> (R, C) {
        (self.items, self.cards)
    }
}

impl<R: TagReader, C: CardReader> TagReader for WithCardReader<R, C> {
    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError> {
        self.items.inventory()
    }
    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError> {
        self.items.read_tag(uid)
    }
    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError> {
        self.items.write_data(uid, memory)
    }
    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError> {
        self.items.set_security(uid, security, config)
    }
    fn read_all(&mut self) -> Result<Vec<LibraryTag>, ReaderError> {
        self.items.read_all()
    }
    fn poll_patron_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        self.cards.poll_card(read)
    }
}

/// Item tags and patron cards through the same chip, which switches protocol for the card
/// poll and back for the next item round.
pub struct CardsOnSameChip<T> {
    reader: Iso15693Reader<T>,
}

impl<T: Transceiver + CardReader> CardsOnSameChip<T> {
    pub fn new(reader: Iso15693Reader<T>) -> Self {
        CardsOnSameChip { reader }
    }

    pub fn into_inner(self) -> Iso15693Reader<T> {
        self.reader
    }
}

impl<T: Transceiver + CardReader> TagReader for CardsOnSameChip<T> {
    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError> {
        self.reader.inventory()
    }
    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError> {
        self.reader.read_tag(uid)
    }
    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError> {
        self.reader.write_data(uid, memory)
    }
    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError> {
        self.reader.set_security(uid, security, config)
    }
    fn read_all(&mut self) -> Result<Vec<LibraryTag>, ReaderError> {
        self.reader.read_all()
    }
    fn poll_patron_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        self.reader.transceiver().poll_card(read)
    }
}
