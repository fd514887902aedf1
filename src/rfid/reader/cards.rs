//! Readers that poll ISO 14443A patron cards besides reading item tags: the board file's
//! `[patron_card] reader` says whether cards come through the item reader's own chip (a
//! PN5180, the simulated pad) or through a second chip beside it (an MFRC522).

use crate::rfid::card::{CardMemoryRead, CardRead, CardReader};
use crate::rfid::reader::{
    Iso15693Reader, ReaderError, Security, SecurityConfig, TagReader, WriteOutcome,
};
use crate::rfid::tag::{LibraryTag, Uid};
use crate::rfid::transceiver::Transceiver;

/// Where the cards of a [`WithCardReader`] are polled, given the item reader.
pub trait CardPoll<R> {
    fn poll(
        &mut self,
        items: &mut R,
        read: &CardMemoryRead,
    ) -> Result<Option<CardRead>, ReaderError>;
}

/// A chip beside the item reader polls the cards.
impl<R, C: CardReader> CardPoll<R> for C {
    fn poll(&mut self, _: &mut R, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        self.poll_card(read)
    }
}

/// The item reader's own chip polls the cards: it switches protocol for the poll and back
/// for the next item round.
#[derive(Debug, Clone, Copy, Default)]
pub struct SameChip;

impl<T: Transceiver + CardReader> CardPoll<Iso15693Reader<T>> for SameChip {
    fn poll(
        &mut self,
        items: &mut Iso15693Reader<T>,
        read: &CardMemoryRead,
    ) -> Result<Option<CardRead>, ReaderError> {
        items.transceiver().poll_card(read)
    }
}

/// Item tags through `items`, patron cards as `cards` says.
pub struct WithCardReader<R, C> {
    items: R,
    cards: C,
}

/// Item tags and patron cards through the same chip.
pub type CardsOnSameChip<T> = WithCardReader<Iso15693Reader<T>, SameChip>;

impl<R: TagReader, C: CardPoll<R>> WithCardReader<R, C> {
    pub fn new(items: R, cards: C) -> Self {
        WithCardReader { items, cards }
    }

    pub fn into_parts(self) -> (R, C) {
        (self.items, self.cards)
    }
}

impl<T: Transceiver + CardReader> CardsOnSameChip<T> {
    pub fn same_chip(items: Iso15693Reader<T>) -> Self {
        WithCardReader::new(items, SameChip)
    }
}

impl<R: TagReader, C: CardPoll<R>> TagReader for WithCardReader<R, C> {
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
    fn set_eas_reads(&mut self, on: bool) {
        self.items.set_eas_reads(on)
    }
    fn poll_patron_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        self.cards.poll(&mut self.items, read)
    }
}
