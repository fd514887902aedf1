//! ISO 14443A patron-card UIDs through an MFRC522 (RC522 boards), by wrapping the `mfrc522`
//! crate. Only the UID is used: patron cards are identified, never read or written.

use embedded_hal::spi::SpiDevice;
use mfrc522::comm::blocking::spi::{DummyDelay, SpiInterface};
use mfrc522::{Initialized, Mfrc522};
use thiserror::Error;

use crate::drivers::CardUid;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error<SpiE> {
    #[error("SPI transfer failed: {0:?}")]
    Spi(SpiE),
    /// The card exchange failed (collision of several cards, bad CRC, incomplete frame...).
    #[error("card exchange failed: {0}")]
    Card(&'static str),
}

fn map<E>(e: mfrc522::Error<E>) -> Error<E> {
    use mfrc522::Error as M;
    match e {
        M::Comm(e) => Error::Spi(e),
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

/// An initialised MFRC522 on an SPI device.
pub struct Mfrc522Reader<SPI: SpiDevice> {
    inner: Mfrc522<SpiInterface<SPI, DummyDelay>, Initialized>,
}

impl<SPI, E> Mfrc522Reader<SPI>
where
    SPI: SpiDevice<Error = E>,
{
    /// Soft-reset and configure the chip, antenna on.
    ///
    /// The crate waits for the end of the soft reset without a bound; a chip that never
    /// leaves power-down would hang here, so open the reader on its own thread.
    pub fn new(spi: SPI) -> Result<Self, Error<E>> {
        let inner = Mfrc522::new(SpiInterface::new(spi)).init().map_err(map)?;
        Ok(Mfrc522Reader { inner })
    }

    /// The VersionReg value (0x91 / 0x92 for genuine MFRC522 v1 / v2).
    pub fn version(&mut self) -> Result<u8, Error<E>> {
        self.inner.version().map_err(map)
    }

    /// The UID of the card on the reader, if any. The card is halted afterwards; WUPA wakes it
    /// again on the next call, so a card left on the reader keeps being seen.
    pub fn read_uid(&mut self) -> Result<Option<CardUid>, Error<E>> {
        let atqa = match self.inner.wupa() {
            Ok(atqa) => atqa,
            Err(mfrc522::Error::Timeout) => return Ok(None),
            Err(e) => return Err(map(e)),
        };
        let uid = match self.inner.select(&atqa) {
            Ok(uid) => uid,
            Err(mfrc522::Error::Timeout) => return Ok(None),
            Err(e) => return Err(map(e)),
        };
        // HLTA has no answer; the crate reports that silence as success or timeout.
        let _ = self.inner.hlta();
        Ok(CardUid::new(uid.as_bytes()))
    }

    pub fn destroy(self) -> SPI {
        self.inner.release().release()
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
}
