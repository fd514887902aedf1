//! NXP PN5180 NFC front end over SPI: ISO 15693 for item tags, ISO 14443A for patron cards.
//!
//! Generic over embedded-hal 1.0: an `SpiDevice` (the chip select belongs to the bus), BUSY
//! (and optionally IRQ) as input pins, RST as an output pin, and a delay used only for the
//! reset pulse and the back-off between bounded polls. Every wait is a bounded poll of a line
//! or a register: a stuck chip gives [`Error::BusyTimeout`] or [`Error::IrqTimeout`], never a
//! hang.
//!
//! Patron cards ([`poll_card`](Pn5180::poll_card)) are polled between item rounds: a field
//! reset into ISO 14443A, wake-up, anticollision over the cascade levels, optionally a READ
//! of the card's memory (after MIFARE_AUTHENTICATE for a MIFARE Classic), HLTA, and a field
//! reset back into ISO 15693.
//!
//! Receive timeouts are measured by the chip itself (TIMER1 starts when transmission ends and
//! stops when a reply begins), so "no tag answered" is a chip event ([`Reply::Silent`]), not a
//! host-side sleep.

mod interface;
pub mod regs;

#[cfg(test)]
mod tests;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::spi::SpiDevice;
use thiserror::Error;

use crate::drivers::CardUid;
use crate::rfid::card::{CardMemoryRead, CardRead, CardReader};
use crate::rfid::reader::ReaderError;
use crate::rfid::transceiver::{Reply, Transceiver};

use interface::Interface;
pub use interface::PollConfig;
use regs::{cmd, reg};

/// What went wrong talking to the PN5180.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error<SpiE, PinE> {
    #[error("SPI transfer failed: {0:?}")]
    Spi(SpiE),
    #[error("GPIO line failed: {0:?}")]
    Pin(PinE),
    /// BUSY stayed high for the whole poll bound.
    #[error("PN5180 BUSY line stuck high")]
    BusyTimeout,
    /// Neither a reception, a receive timeout nor an error was signalled within the poll bound.
    #[error("PN5180 raised no interrupt within the poll bound (IRQ_STATUS {0:#010x})")]
    IrqTimeout(u32),
    /// The chip flagged GENERAL_ERROR (a refused instruction or parameter).
    #[error("PN5180 reported a general error (IRQ_STATUS {0:#010x})")]
    Chip(u32),
    #[error("frame of {0} bytes is longer than the PN5180 buffers")]
    TooLong(usize),
    /// ISO 14443A: more than one card answered the anticollision loop.
    #[error("several ISO 14443A cards are in the field")]
    MultipleCards,
    /// ISO 14443A: an answer of the wrong shape (ATQA, UID + BCC, SAK).
    #[error("unexpected ISO 14443A answer: {0}")]
    Protocol(&'static str),
    /// MIFARE_AUTHENTICATE: the card refused key A for the block's sector.
    #[error("MIFARE authentication refused (wrong key A for the sector)")]
    AuthRefused,
}

impl<SpiE, PinE> Error<SpiE, PinE> {
    /// Whether the card (not the chip or its wiring) is the cause.
    pub fn is_card_error(&self) -> bool {
        matches!(
            self,
            Error::MultipleCards | Error::Protocol(_) | Error::AuthRefused
        )
    }
}

/// A field off this long resets every card and tag in it, and a card or tag is ready for the
/// first command this long after the field comes on (NFC Forum Activity guard times).
const FIELD_OFF_US: u32 = 5_100;
const GUARD_US: u32 = 5_100;

/// The PN5180's own version numbers (major, minor), read from its EEPROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub product: (u8, u8),
    pub firmware: (u8, u8),
    pub eeprom: (u8, u8),
}

/// Receive timeouts for ISO 15693 requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Inventory, reads, empty slots: the tag answers within ~0.32 ms after the request ends.
    pub short_us: u32,
    /// Writes and locks: ISO 15693-3 lets the tag answer up to 20 ms later.
    pub write_us: u32,
    /// ISO 14443A frame delay time (a few hundred microseconds for REQA/anticollision/select).
    pub iso14443a_us: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            short_us: 1_000,
            write_us: 25_000,
            iso14443a_us: 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    None,
    Iso15693 { tx_config: u32 },
    Iso14443a,
}

/// The PN5180 driver; see the module documentation.
pub struct Pn5180<SPI, BUSY, RST, IRQ, D> {
    iface: Interface<SPI, BUSY, D>,
    reset: RST,
    irq: Option<IRQ>,
    timeouts: Timeouts,
    protocol: Protocol,
    /// The value last written to TIMER1_RELOAD, to skip rewriting it.
    timer_reload: Option<u32>,
}

type Res<T, SpiE, PinE> = Result<T, Error<SpiE, PinE>>;

impl<SPI, BUSY, RST, IRQ, D, SpiE, PinE> Pn5180<SPI, BUSY, RST, IRQ, D>
where
    SPI: SpiDevice<Error = SpiE>,
    BUSY: InputPin<Error = PinE>,
    RST: OutputPin<Error = PinE>,
    IRQ: InputPin<Error = PinE>,
    D: DelayNs,
{
    /// A driver over the given bus and lines. Nothing is sent until [`reset`](Self::reset) or
    /// the first exchange. With an IRQ line the driver waits on it (the chip's IRQ pin is
    /// active high by default) instead of reading IRQ_STATUS over SPI in a loop.
    pub fn new(spi: SPI, busy: BUSY, reset: RST, irq: Option<IRQ>, delay: D) -> Self {
        Pn5180 {
            iface: Interface {
                spi,
                busy,
                delay,
                poll: PollConfig::default(),
            },
            reset,
            irq,
            timeouts: Timeouts::default(),
            protocol: Protocol::None,
            timer_reload: None,
        }
    }

    pub fn with_poll_config(mut self, poll: PollConfig) -> Self {
        self.iface.poll = poll;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Give the bus, the lines and the delay back.
    pub fn destroy(self) -> (SPI, BUSY, RST, Option<IRQ>, D) {
        (
            self.iface.spi,
            self.iface.busy,
            self.reset,
            self.irq,
            self.iface.delay,
        )
    }

    /// Hardware reset: RST low for 100 us (data sheet: at least 10 us), then the chip's 2 ms
    /// boot time, then wait (bounded) for IDLE_IRQ and clear every IRQ flag.
    pub fn reset(&mut self) -> Res<(), SpiE, PinE> {
        self.reset.set_low().map_err(Error::Pin)?;
        self.iface.pause_us(100);
        self.reset.set_high().map_err(Error::Pin)?;
        self.iface.pause_us(2_000);
        self.protocol = Protocol::None;
        self.timer_reload = None;
        self.poll_irq_status(regs::IRQ_IDLE, false)?;
        self.iface.write_register(reg::IRQ_CLEAR, regs::IRQ_ALL)
    }

    /// Bring a freshly opened chip up: reset, read its versions (which proves it answers), and
    /// leave it in ISO 15693 with the field on.
    pub fn start(&mut self) -> Res<Versions, SpiE, PinE> {
        self.reset()?;
        let versions = self.versions()?;
        self.activate_iso15693()?;
        Ok(versions)
    }

    /// Product, firmware and EEPROM versions (EEPROM 0x10..0x16, minor byte first).
    pub fn versions(&mut self) -> Res<Versions, SpiE, PinE> {
        let mut b = [0u8; 6];
        self.iface.read_eeprom(regs::EEPROM_VERSIONS, &mut b)?;
        let [p0, p1, f0, f1, e0, e1] = b;
        Ok(Versions {
            product: (p1, p0),
            firmware: (f1, f0),
            eeprom: (e1, e0),
        })
    }

    pub fn read_register(&mut self, register: u8) -> Res<u32, SpiE, PinE> {
        self.iface.read_register(register)
    }

    /// LOAD_RF_CONFIG with a transmitter and a receiver configuration index.
    pub fn load_rf_config(&mut self, tx: u8, rx: u8) -> Res<(), SpiE, PinE> {
        self.protocol = Protocol::None;
        // The configuration may set the timer registers too.
        self.timer_reload = None;
        self.iface.write_frame(&[cmd::LOAD_RF_CONFIG, tx, rx])
    }

    /// Switch the field on and wait (bounded) until the chip reports it is on.
    pub fn rf_on(&mut self) -> Res<(), SpiE, PinE> {
        self.iface.write_frame(&[cmd::RF_ON, 0x00])?;
        self.poll_irq_status(regs::IRQ_TX_RFON, false)?;
        self.iface.write_register(reg::IRQ_CLEAR, regs::IRQ_TX_RFON)
    }

    pub fn rf_off(&mut self) -> Res<(), SpiE, PinE> {
        self.protocol = Protocol::None;
        self.iface.write_frame(&[cmd::RF_OFF, 0x00])
    }

    /// Configure for ISO 15693 (26 kbit/s, ASK 100 %), hardware CRC on both ways, the receive
    /// timer, and the field on.
    pub fn activate_iso15693(&mut self) -> Res<(), SpiE, PinE> {
        let (tx, rx) = regs::RF_CONFIG_ISO15693;
        self.load_rf_config(tx, rx)?;
        self.iface
            .or_register(reg::CRC_TX_CONFIG, regs::CRC_ENABLE)?;
        self.iface
            .or_register(reg::CRC_RX_CONFIG, regs::CRC_ENABLE)?;
        self.setup_receive_timer()?;
        self.rf_on()?;
        let tx_config = self.iface.read_register(reg::TX_CONFIG)?;
        self.protocol = Protocol::Iso15693 { tx_config };
        Ok(())
    }

    /// Configure for ISO 14443A at 106 kbit/s and switch the field on.
    pub fn activate_iso14443a(&mut self) -> Res<(), SpiE, PinE> {
        let (tx, rx) = regs::RF_CONFIG_ISO14443A_106;
        self.load_rf_config(tx, rx)?;
        self.iface
            .and_register(reg::SYSTEM_CONFIG, !regs::SYSTEM_CONFIG_MFC_CRYPTO_ON)?;
        self.setup_receive_timer()?;
        self.rf_on()?;
        self.protocol = Protocol::Iso14443a;
        Ok(())
    }

    fn setup_receive_timer(&mut self) -> Res<(), SpiE, PinE> {
        self.iface
            .write_register(reg::TIMER1_CONFIG, regs::TIMER1_RX_TIMEOUT)?;
        if self.irq.is_some() {
            let sources = regs::IRQ_RX | regs::IRQ_TIMER1 | regs::IRQ_GENERAL_ERROR;
            self.iface.write_register(reg::IRQ_ENABLE, sources)?;
        }
        Ok(())
    }

    fn set_receive_timeout(&mut self, us: u32) -> Res<(), SpiE, PinE> {
        let ticks = (u64::from(us) * regs::TIMER1_HZ / 1_000_000)
            .min(u64::from(regs::TIMER1_RELOAD_MAX)) as u32;
        if self.timer_reload != Some(ticks) {
            self.iface.write_register(reg::TIMER1_RELOAD, ticks)?;
            self.timer_reload = Some(ticks);
        }
        Ok(())
    }

    /// Poll until one of `wanted` is set in IRQ_STATUS (or GENERAL_ERROR), bounded. With
    /// `use_pin` and an IRQ line, wait on the line first and read the register once.
    fn poll_irq_status(&mut self, wanted: u32, use_pin: bool) -> Res<u32, SpiE, PinE> {
        let poll = self.iface.poll;
        if use_pin && let Some(irq) = self.irq.as_mut() {
            let mut raised = false;
            for attempt in 0..poll.irq_polls {
                if attempt > 0 {
                    self.iface.pause_us(poll.irq_backoff_us);
                }
                if irq.is_high().map_err(Error::Pin)? {
                    raised = true;
                    break;
                }
            }
            let status = self.iface.read_register(reg::IRQ_STATUS)?;
            if !raised && status & (wanted | regs::IRQ_GENERAL_ERROR) == 0 {
                return Err(Error::IrqTimeout(status));
            }
            return check_general_error(status);
        }
        let mut status = 0;
        for attempt in 0..poll.irq_polls {
            if attempt > 0 {
                self.iface.pause_us(poll.irq_backoff_us);
            }
            status = self.iface.read_register(reg::IRQ_STATUS)?;
            if status & (wanted | regs::IRQ_GENERAL_ERROR) != 0 {
                return check_general_error(status);
            }
        }
        Err(Error::IrqTimeout(status))
    }

    /// One transceive cycle: stop any running command, start Transceive, clear the IRQs, send
    /// (`last_bits` valid bits in the last byte, 0 = all), and classify what came back.
    fn exchange(&mut self, data: &[u8], last_bits: u8) -> Res<Reply, SpiE, PinE> {
        if data.len() > regs::MAX_TX {
            return Err(Error::TooLong(data.len()));
        }
        self.iface
            .and_register(reg::SYSTEM_CONFIG, !regs::SYSTEM_CONFIG_COMMAND_MASK)?;
        self.iface
            .or_register(reg::SYSTEM_CONFIG, regs::SYSTEM_COMMAND_TRANSCEIVE)?;
        self.iface.write_register(reg::IRQ_CLEAR, regs::IRQ_ALL)?;
        let mut frame = Vec::with_capacity(data.len() + 2);
        frame.extend_from_slice(&[cmd::SEND_DATA, last_bits & 0x07]);
        frame.extend_from_slice(data);
        self.iface.write_frame(&frame)?;

        let irq = self.poll_irq_status(regs::IRQ_RX | regs::IRQ_TIMER1, true)?;
        if irq & regs::IRQ_RX == 0 {
            // TIMER1 ran out with no reception started.
            return Ok(Reply::Silent);
        }
        let rx_status = self.iface.read_register(reg::RX_STATUS)?;
        let len = (rx_status & regs::RX_NUM_BYTES_MASK) as usize;
        let coll_pos = rx_status & regs::RX_COLL_POS_MASK;
        if rx_status & regs::RX_COLLISION_DETECTED != 0 {
            // A collision flag with nothing received and no position is noise, not tags.
            return Ok(if len == 0 && coll_pos == 0 {
                Reply::Silent
            } else {
                Reply::Collision
            });
        }
        if rx_status & (regs::RX_DATA_INTEGRITY_ERROR | regs::RX_PROTOCOL_ERROR) != 0 {
            // A bad CRC or framing while several tags may answer at once: the anticollision
            // logic above treats it as a collision and retries.
            return Ok(Reply::Collision);
        }
        if len == 0 {
            return Ok(Reply::Silent);
        }
        Ok(Reply::Frame(self.iface.read_data(len)?))
    }

    fn ensure_iso15693(&mut self) -> Res<u32, SpiE, PinE> {
        if let Protocol::Iso15693 { tx_config } = self.protocol {
            return Ok(tx_config);
        }
        self.activate_iso15693()?;
        match self.protocol {
            Protocol::Iso15693 { tx_config } => Ok(tx_config),
            _ => Err(Error::Protocol("ISO 15693 activation did not take")),
        }
    }

    /// ISO 15693 request without CRC (added by the chip) -> reply without CRC (checked and
    /// removed by the chip).
    pub fn transceive_iso15693(&mut self, request: &[u8]) -> Res<Reply, SpiE, PinE> {
        self.ensure_iso15693()?;
        let timeout = if is_write_command(request) {
            self.timeouts.write_us
        } else {
            self.timeouts.short_us
        };
        self.set_receive_timeout(timeout)?;
        self.exchange(request, 0)
    }

    /// Send a lone EOF (the next slot of a 16-slot inventory): SEND_DATA with no payload while
    /// TX_CONFIG sends neither the start symbol nor data, then restore TX_CONFIG.
    pub fn send_eof(&mut self) -> Res<Reply, SpiE, PinE> {
        let tx_config = self.ensure_iso15693()?;
        self.set_receive_timeout(self.timeouts.short_us)?;
        let eof_only = tx_config & !(regs::TX_START_SYMBOL_MASK | regs::TX_DATA_ENABLE);
        self.iface.write_register(reg::TX_CONFIG, eof_only)?;
        let reply = self.exchange(&[], 0);
        let restored = self.iface.write_register(reg::TX_CONFIG, tx_config);
        let reply = reply?;
        restored?;
        Ok(reply)
    }

    fn set_crc(&mut self, on: bool) -> Res<(), SpiE, PinE> {
        for r in [reg::CRC_TX_CONFIG, reg::CRC_RX_CONFIG] {
            if on {
                self.iface.or_register(r, regs::CRC_ENABLE)?;
            } else {
                self.iface.and_register(r, !regs::CRC_ENABLE)?;
            }
        }
        Ok(())
    }

    /// The UID of the ISO 14443A card on the reader, if any: WUPA, then anticollision and select
    /// for each cascade level until the SAK says the UID is complete (4, 7 or 10 bytes).
    ///
    /// Bit-oriented anticollision is not done: two cards at once give
    /// [`Error::MultipleCards`] and the patron is asked to present one.
    pub fn read_14443a_uid(&mut self) -> Res<Option<CardUid>, SpiE, PinE> {
        if self.protocol != Protocol::Iso14443a {
            self.activate_iso14443a()?;
        }
        Ok(self.select_14443a()?.map(|(uid, _sak)| uid))
    }

    /// WUPA, anticollision and select over the cascade levels, in ISO 14443A mode: the UID
    /// and the last SAK.
    fn select_14443a(&mut self) -> Res<Option<(CardUid, u8)>, SpiE, PinE> {
        self.set_receive_timeout(self.timeouts.iso14443a_us)?;
        self.set_crc(false)?;
        // WUPA also wakes a card left HALTed by a previous read.
        match self.exchange(&[0x52], 7)? {
            Reply::Silent => return Ok(None),
            // ATQA bits differ between cards; the anticollision below sorts them out.
            Reply::Collision => {}
            Reply::Frame(atqa) if atqa.len() == 2 => {}
            Reply::Frame(_) => return Err(Error::Protocol("ATQA is not 2 bytes")),
        }
        let mut uid = Vec::with_capacity(10);
        for sel in [0x93u8, 0x95, 0x97] {
            self.set_crc(false)?;
            let level = match self.exchange(&[sel, 0x20], 0)? {
                Reply::Silent => return Ok(None),
                Reply::Collision => return Err(Error::MultipleCards),
                Reply::Frame(f) => f,
            };
            let [u0, u1, u2, u3, bcc] = <[u8; 5]>::try_from(level.as_slice())
                .map_err(|_| Error::Protocol("anticollision answer is not 5 bytes"))?;
            if u0 ^ u1 ^ u2 ^ u3 != bcc {
                return Err(Error::Protocol("UID check byte (BCC) mismatch"));
            }
            self.set_crc(true)?;
            let sak = match self.exchange(&[sel, 0x70, u0, u1, u2, u3, bcc], 0)? {
                Reply::Silent => return Ok(None),
                Reply::Collision => return Err(Error::MultipleCards),
                Reply::Frame(f) => f,
            };
            let &[sak] = sak.as_slice() else {
                return Err(Error::Protocol("SAK is not 1 byte"));
            };
            let cascade = sak & 0x04 != 0;
            if cascade {
                // 0x88 is the cascade tag: the first UID byte of this level is not part of it.
                if u0 != 0x88 {
                    return Err(Error::Protocol("cascade bit set without cascade tag"));
                }
                uid.extend_from_slice(&[u1, u2, u3]);
            } else {
                uid.extend_from_slice(&[u0, u1, u2, u3]);
                return CardUid::new(&uid)
                    .map(|uid| Some((uid, sak)))
                    .ok_or(Error::Protocol("UID length"));
            }
        }
        Err(Error::Protocol("more than three cascade levels"))
    }

    /// The patron card on the reader, with `read` done, between two item rounds: a field reset
    /// into ISO 14443A, select, the memory read, HLTA, and a field reset back into ISO 15693
    /// (also after a failure, so the next item round finds the chip as it left it).
    pub fn poll_card(&mut self, read: &CardMemoryRead) -> Res<Option<CardRead>, SpiE, PinE> {
        let card = self.field_reset().and_then(|()| {
            self.activate_iso14443a()?;
            self.iface.pause_us(GUARD_US);
            self.read_card(read)
        });
        let restored = self.back_to_iso15693();
        let card = card?;
        restored?;
        Ok(card)
    }

    fn field_reset(&mut self) -> Res<(), SpiE, PinE> {
        self.rf_off()?;
        self.iface.pause_us(FIELD_OFF_US);
        Ok(())
    }

    fn back_to_iso15693(&mut self) -> Res<(), SpiE, PinE> {
        // A MIFARE Classic authentication leaves the crypto unit on.
        self.iface
            .and_register(reg::SYSTEM_CONFIG, !regs::SYSTEM_CONFIG_MFC_CRYPTO_ON)?;
        self.field_reset()?;
        self.activate_iso15693()?;
        self.iface.pause_us(GUARD_US);
        Ok(())
    }

    fn read_card(&mut self, read: &CardMemoryRead) -> Res<Option<CardRead>, SpiE, PinE> {
        let Some((uid, _sak)) = self.select_14443a()? else {
            return Ok(None);
        };
        let data = match *read {
            CardMemoryRead::None => None,
            CardMemoryRead::UltralightPages { page } => Some(self.mifare_read(page)?),
            CardMemoryRead::ClassicBlock { block, key_a } => {
                self.mifare_authenticate(&key_a, block, uid.auth_bytes())?;
                Some(self.mifare_read(block)?)
            }
        };
        // Halted, the card stays quiet until the next poll's WUPA.
        self.set_crc(true)?;
        self.exchange(&[0x50, 0x00], 0)?;
        Ok(Some(CardRead { uid, data }))
    }

    /// MIFARE_AUTHENTICATE with key A; the chip runs the three-pass authentication and turns
    /// its crypto unit on for the exchanges that follow.
    fn mifare_authenticate(
        &mut self,
        key_a: &[u8; 6],
        block: u8,
        uid: [u8; 4],
    ) -> Res<(), SpiE, PinE> {
        let mut frame = [0u8; 13];
        frame[0] = cmd::MIFARE_AUTHENTICATE;
        frame[1..7].copy_from_slice(key_a);
        frame[7] = regs::MIFARE_KEY_A;
        frame[8] = block;
        frame[9..13].copy_from_slice(&uid);
        let mut status = [0u8; 1];
        self.iface.query(&frame, &mut status)?;
        match status {
            [0x00] => Ok(()),
            [0x01] => Err(Error::AuthRefused),
            [0x02] => Err(Error::Protocol(
                "the card did not answer the authentication",
            )),
            _ => Err(Error::Protocol("unknown MIFARE_AUTHENTICATE status")),
        }
    }

    /// READ (0x30): 16 bytes, a MIFARE Classic block or four Ultralight/NTAG pages.
    fn mifare_read(&mut self, address: u8) -> Res<[u8; 16], SpiE, PinE> {
        self.set_crc(true)?;
        match self.exchange(&[0x30, address], 0)? {
            Reply::Frame(data) => <[u8; 16]>::try_from(data.as_slice())
                .map_err(|_| Error::Protocol("READ answer is not 16 bytes")),
            Reply::Silent => Err(Error::Protocol("the card did not answer READ")),
            // A NAK is four bits with no CRC: the chip reports it as a CRC error.
            Reply::Collision => Err(Error::Protocol("the card refused READ")),
        }
    }
}

impl<SPI, BUSY, RST, IRQ, D, SpiE, PinE> CardReader for Pn5180<SPI, BUSY, RST, IRQ, D>
where
    SPI: SpiDevice<Error = SpiE>,
    BUSY: InputPin<Error = PinE>,
    RST: OutputPin<Error = PinE>,
    IRQ: InputPin<Error = PinE>,
    D: DelayNs,
    SpiE: std::fmt::Debug,
    PinE: std::fmt::Debug,
{
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        Pn5180::poll_card(self, read).map_err(|e| {
            if e.is_card_error() {
                ReaderError::Card(e.to_string())
            } else {
                ReaderError::Link(e.to_string())
            }
        })
    }
}

fn check_general_error<SpiE, PinE>(status: u32) -> Result<u32, Error<SpiE, PinE>> {
    if status & regs::IRQ_GENERAL_ERROR != 0 {
        Err(Error::Chip(status))
    } else {
        Ok(status)
    }
}

/// Whether an ISO 15693 request makes the tag program its memory (write, lock, AFI, DSFID, NXP
/// EAS custom commands), which allows a reply up to 20 ms later.
fn is_write_command(request: &[u8]) -> bool {
    matches!(
        request.get(1),
        Some(0x21 | 0x22 | 0x24 | 0x27 | 0x28 | 0x29 | 0x2A | 0xA2 | 0xA3 | 0xA4)
    )
}

impl<SPI, BUSY, RST, IRQ, D, SpiE, PinE> Transceiver for Pn5180<SPI, BUSY, RST, IRQ, D>
where
    SPI: SpiDevice<Error = SpiE>,
    BUSY: InputPin<Error = PinE>,
    RST: OutputPin<Error = PinE>,
    IRQ: InputPin<Error = PinE>,
    D: DelayNs,
    SpiE: std::fmt::Debug,
    PinE: std::fmt::Debug,
{
    type Error = Error<SpiE, PinE>;

    fn transceive(&mut self, request: &[u8]) -> Result<Reply, Self::Error> {
        self.transceive_iso15693(request)
    }

    fn next_slot(&mut self) -> Result<Reply, Self::Error> {
        self.send_eof()
    }
}
