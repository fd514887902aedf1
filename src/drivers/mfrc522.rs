//! ISO 14443A patron cards through an MFRC522 (RC522 boards), by wrapping the `mfrc522`
//! crate: the UID, and optionally one 16-byte READ of the card's memory (MIFARE Ultralight /
//! NTAG pages, or a MIFARE Classic block after key A authentication). Cards are never written.
//!
//! The crate waits for the chip in unbounded loops (end of the soft reset, end of every
//! exchange); a chip that stops answering sensibly would hang the reader's thread. Every call
//! into the crate therefore gets a budget of SPI transactions, and running out of it is
//! [`Error::Stuck`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use mfrc522::comm::blocking::spi::{DummyDelay, SpiInterface};
use mfrc522::{GenericUid, Initialized, Mfrc522, Uid};
use thiserror::Error;

use crate::drivers::CardUid;
use crate::rfid::card::{CardMemoryRead, CardRead, CardReader};
use crate::rfid::reader::ReaderError;

#[cfg(test)]
mod fake_chip;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error<SpiE> {
    #[error("SPI transfer failed: {0:?}")]
    Spi(SpiE),
    /// The chip kept the crate waiting past the transaction budget of one call.
    #[error("MFRC522 stopped answering (no end of command within {SPI_BUDGET} SPI transactions)")]
    Stuck,
    /// The card exchange failed (collision of several cards, bad CRC, incomplete frame...).
    #[error("card exchange failed: {0}")]
    Card(&'static str),
}

/// SPI transactions one call may make. A 25 ms chip timeout polled over spidev takes a few
/// hundred; a full Classic read a few thousand at most.
const SPI_BUDGET: u32 = 20_000;

/// The SPI errors the crate sees: the bus's own, or the budget spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError<E> {
    Spi(E),
    Stuck,
}

impl<E: std::fmt::Debug> embedded_hal::spi::Error for LinkError<E> {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// An SPI device that refuses transactions once the shared budget is spent.
pub struct Bounded<SPI> {
    spi: SPI,
    budget: Arc<AtomicU32>,
}

impl<SPI: SpiDevice> ErrorType for Bounded<SPI> {
    type Error = LinkError<SPI::Error>;
}

impl<SPI: SpiDevice> SpiDevice for Bounded<SPI> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .map_err(|_| LinkError::Stuck)?;
        self.spi.transaction(operations).map_err(LinkError::Spi)
    }
}

fn map<E>(e: mfrc522::Error<LinkError<E>>) -> Error<E> {
    use mfrc522::Error as M;
    match e {
        M::Comm(LinkError::Spi(e)) => Error::Spi(e),
        M::Comm(LinkError::Stuck) => Error::Stuck,
        M::Bcc => Error::Card("UID check byte (BCC) mismatch"),
        M::BufferOverflow | M::NoRoom => Error::Card("buffer overflow"),
        M::Collision => Error::Card("several cards in the field"),
        M::Crc => Error::Card("CRC error"),
        M::IncompleteFrame => Error::Card("incomplete frame"),
        M::Overheating => Error::Card("reader chip overheating"),
        M::Parity => Error::Card("parity error"),
        M::Protocol | M::Proprietary => Error::Card("protocol error"),
        M::Timeout => Error::Card("timeout"),
        M::Wr => Error::Card("FIFO written at the wrong time"),
        M::Nak => Error::Card("card answered NAK"),
    }
}

type Chip<SPI> = Mfrc522<SpiInterface<Bounded<SPI>, DummyDelay>, Initialized>;

/// An initialised MFRC522 on an SPI device.
pub struct Mfrc522Reader<SPI: SpiDevice> {
    inner: Chip<SPI>,
    budget: Arc<AtomicU32>,
}

impl<SPI, E> Mfrc522Reader<SPI>
where
    SPI: SpiDevice<Error = E>,
{
    /// Soft-reset and configure the chip, antenna on.
    pub fn new(spi: SPI) -> Result<Self, Error<E>> {
        let budget = Arc::new(AtomicU32::new(SPI_BUDGET));
        let bounded = Bounded {
            spi,
            budget: budget.clone(),
        };
        let inner = Mfrc522::new(SpiInterface::new(bounded))
            .init()
            .map_err(map)?;
        Ok(Mfrc522Reader { inner, budget })
    }

    fn refill(&mut self) {
        self.budget.store(SPI_BUDGET, Ordering::Relaxed);
    }

    /// The VersionReg value (0x91 / 0x92 for genuine MFRC522 v1 / v2).
    pub fn version(&mut self) -> Result<u8, Error<E>> {
        self.refill();
        self.inner.version().map_err(map)
    }

    /// The card on the reader, if any, with `read` done. The card is halted afterwards; WUPA
    /// wakes it again on the next call, so a card left on the reader keeps being seen.
    pub fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, Error<E>> {
        self.refill();
        let atqa = match self.inner.wupa() {
            Ok(atqa) => atqa,
            Err(mfrc522::Error::Timeout) => return Ok(None),
            Err(e) => return Err(map(e)),
        };
        let selected = match self.inner.select(&atqa) {
            Ok(uid) => uid,
            Err(mfrc522::Error::Timeout) => return Ok(None),
            Err(e) => return Err(map(e)),
        };
        let uid = CardUid::new(selected.as_bytes()).ok_or(Error::Card("UID length"))?;
        let data = match *read {
            CardMemoryRead::None => None,
            CardMemoryRead::UltralightPages { page } => {
                Some(self.inner.mf_read(page).map_err(map)?)
            }
            CardMemoryRead::ClassicBlock { block, key_a } => {
                // The crate mixes the first four UID bytes into the cipher; a 7-byte card needs
                // its last four, so the authentication gets those as a 4-byte UID.
                let auth_uid = Uid::Single(GenericUid::new(uid.auth_bytes(), 0x08));
                let data = match self.inner.mf_authenticate(&auth_uid, block, &key_a) {
                    Ok(()) => self.inner.mf_read(block).map_err(map),
                    // A wrong key: the card stays silent and the chip's timer runs out.
                    Err(mfrc522::Error::Timeout) => Err(Error::Card(
                        "MIFARE authentication refused (wrong key A for the sector)",
                    )),
                    Err(e) => Err(map(e)),
                };
                let _ = self.inner.hlta();
                self.inner.stop_crypto1().map_err(map)?;
                return Ok(Some(CardRead {
                    uid,
                    data: Some(data?),
                }));
            }
        };
        // HLTA has no answer; the crate reports that silence as success or timeout.
        let _ = self.inner.hlta();
        Ok(Some(CardRead { uid, data }))
    }

    pub fn destroy(self) -> SPI {
        self.inner.release().release().spi
    }
}

impl<SPI, E> CardReader for Mfrc522Reader<SPI>
where
    SPI: SpiDevice<Error = E>,
    E: std::fmt::Debug,
{
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        Mfrc522Reader::poll_card(self, read).map_err(|e| match e {
            Error::Card(_) => ReaderError::Card(e.to_string()),
            Error::Spi(_) | Error::Stuck => ReaderError::Link(e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as S};

    use super::*;

    fn write(reg: u8, value: u8) -> [S<u8>; 3] {
        [
            S::transaction_start(),
            S::write_vec(vec![reg << 1, value]),
            S::transaction_end(),
        ]
    }

    fn read(reg: u8, value: u8) -> [S<u8>; 3] {
        [
            S::transaction_start(),
            S::transfer_in_place(vec![(reg << 1) | 0x80, 0x00], vec![0x00, value]),
            S::transaction_end(),
        ]
    }

    #[test]
    fn init_then_version() {
        let script: Vec<S<u8>> = [
            write(0x01, 0x0F), // CommandReg <- SoftReset
            read(0x01, 0x00),  // PowerDown clear: reset done
            write(0x12, 0x00), // TxModeReg
            write(0x13, 0x00), // RxModeReg
            write(0x24, 0x26), // ModWidthReg
            write(0x2A, 0x80), // TModeReg: timer starts at end of transmission
            write(0x2B, 0xA9), // TPrescalerReg: 40 kHz
            write(0x2C, 0x03), // TReloadReg: 1000 ticks = 25 ms
            write(0x2D, 0xE8),
            write(0x15, 0x40), // TxASKReg: 100 % ASK
            write(0x11, 0x3D), // ModeReg: CRC preset 0x6363
            read(0x14, 0x80),  // TxControlReg
            write(0x14, 0x83), // antenna on
            read(0x37, 0x92),  // VersionReg
        ]
        .into_iter()
        .flatten()
        .collect();
        let spi = SpiMock::new(&script);
        let mut reader = Mfrc522Reader::new(spi).expect("init");
        assert_eq!(reader.version(), Ok(0x92));
        reader.destroy().done();
    }

    #[test]
    fn a_chip_that_never_finishes_its_reset_is_stuck_not_a_hang() {
        // PowerDown never clears: the crate would read CommandReg forever.
        let mut script = vec![
            S::transaction_start(),
            S::write_vec(vec![0x01 << 1, 0x0F]),
            S::transaction_end(),
        ];
        for _ in 1..SPI_BUDGET {
            script.extend(read(0x01, 0x10));
        }
        let mut spi = SpiMock::new(&script);
        let err = Mfrc522Reader::new(spi.clone()).err().expect("stuck");
        assert_eq!(err, Error::Stuck);
        spi.done();
    }

    use super::fake_chip::{FakeCard, FakeMfrc522};
    use crate::rfid::card::FACTORY_KEY;

    const DATA: [u8; 16] = *b"21234000012345\0\0";

    fn reader_with(card: Option<FakeCard>) -> Mfrc522Reader<FakeMfrc522> {
        Mfrc522Reader::new(FakeMfrc522::new(card)).expect("init")
    }

    #[test]
    fn no_card_is_none() {
        let mut r = reader_with(None);
        assert_eq!(r.poll_card(&CardMemoryRead::None), Ok(None));
    }

    #[test]
    fn reads_the_uid_and_halts_the_card() {
        let card = FakeCard::new(&[0xDE, 0xAD, 0xBE, 0xEF], vec![0; 64]);
        let mut r = reader_with(Some(card));
        let read = r
            .poll_card(&CardMemoryRead::None)
            .expect("poll")
            .expect("card");
        assert_eq!(read.uid.to_hex(), "DEADBEEF");
        assert_eq!(read.data, None);
        assert!(r.destroy().card_halted());
    }

    #[test]
    fn reads_ultralight_pages_of_a_seven_byte_card() {
        let mut memory = vec![0u8; 64];
        memory[16..32].copy_from_slice(&DATA);
        let card = FakeCard::new(&[0x04, 0xA2, 0x24, 0x6A, 0x5D, 0x5C, 0x80], memory);
        let mut r = reader_with(Some(card));
        let read = r
            .poll_card(&CardMemoryRead::UltralightPages { page: 4 })
            .expect("poll")
            .expect("card");
        assert_eq!(read.uid.to_hex(), "04A2246A5D5C80");
        assert_eq!(read.data, Some(DATA));
    }

    #[test]
    fn reads_a_classic_block_with_the_sector_key() {
        let key = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5];
        let mut memory = vec![0u8; 64 * 16];
        memory[4 * 16..5 * 16].copy_from_slice(&DATA);
        let card = FakeCard::new(&[0x04, 0xA2, 0x24, 0x6A, 0x5D, 0x5C, 0x80], memory).with_key(key);
        let mut r = reader_with(Some(card));
        let read = r
            .poll_card(&CardMemoryRead::ClassicBlock {
                block: 4,
                key_a: key,
            })
            .expect("poll")
            .expect("card");
        assert_eq!(read.data, Some(DATA));
        let wrong = CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: FACTORY_KEY,
        };
        let err = CardReader::poll_card(&mut r, &wrong).expect_err("wrong key");
        assert!(matches!(err, ReaderError::Card(_)), "{err}");
        assert!(err.to_string().contains("authentication"), "{err}");
    }
}
