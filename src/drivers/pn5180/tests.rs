//! Byte-exact SPI and BUSY scripts built from the data sheet's frame formats: every instruction
//! is one SPI frame behind the BUSY handshake (low before, high then low after), and every
//! read is a second frame clocked out with 0xFF.

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as P};
use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as S};

use super::*;

#[derive(Default)]
struct Script {
    spi: Vec<S<u8>>,
    busy: Vec<P>,
}

impl Script {
    fn handshake(&mut self) {
        self.busy
            .extend([P::get(State::Low), P::get(State::High), P::get(State::Low)]);
    }

    /// One instruction frame.
    fn write(&mut self, bytes: &[u8]) -> &mut Self {
        self.spi.extend([
            S::transaction_start(),
            S::write_vec(bytes.to_vec()),
            S::transaction_end(),
        ]);
        self.handshake();
        self
    }

    /// An instruction frame and its response frame.
    fn query(&mut self, instruction: &[u8], response: &[u8]) -> &mut Self {
        self.write(instruction);
        self.spi.extend([
            S::transaction_start(),
            S::transfer_in_place(vec![0xFF; response.len()], response.to_vec()),
            S::transaction_end(),
        ]);
        self.handshake();
        self
    }

    fn read_reg(&mut self, reg: u8, value: u32) -> &mut Self {
        self.query(&[0x04, reg], &value.to_le_bytes())
    }

    /// The start of every transceive: Idle, Transceive, clear all IRQs, SEND_DATA.
    fn send(&mut self, send_data: &[u8]) -> &mut Self {
        self.write(&[0x02, 0x00, 0xF8, 0xFF, 0xFF, 0xFF])
            .write(&[0x01, 0x00, 0x03, 0x00, 0x00, 0x00])
            .write(&[0x00, 0x03, 0xFF, 0xFF, 0x0F, 0x00])
            .write(send_data)
    }

    /// ISO 15693 activation as `activate_iso15693` performs it.
    fn activate_15693(&mut self, tx_config: u32) -> &mut Self {
        self.write(&[0x11, 0x0D, 0x8D])
            .write(&[0x01, 0x19, 0x01, 0x00, 0x00, 0x00])
            .write(&[0x01, 0x12, 0x01, 0x00, 0x00, 0x00])
            .write(&[0x00, 0x0F, 0x01, 0x08, 0x10, 0x00])
            .write(&[0x16, 0x00])
            .read_reg(0x02, 0x0000_0200)
            .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
            .read_reg(0x18, tx_config)
    }
}

type Driver = Pn5180<SpiMock<u8>, PinMock, PinMock, PinMock, NoopDelay>;

fn driver(script: &Script, rst: &[P]) -> Driver {
    Pn5180::new(
        SpiMock::new(&script.spi),
        PinMock::new(&script.busy),
        PinMock::new(rst),
        None,
        NoopDelay::new(),
    )
}

fn finish(d: Driver) {
    let (mut spi, mut busy, mut rst, irq, _) = d.destroy();
    spi.done();
    busy.done();
    rst.done();
    if let Some(mut irq) = irq {
        irq.done();
    }
}

const TX_CONFIG: u32 = 0x0000_07C0;
const UID_FRAME: [u8; 10] = [0x00, 0x00, 0x51, 0x3E, 0x0A, 0x31, 0x53, 0x01, 0x04, 0xE0];

#[test]
fn reset_waits_for_idle_irq_then_reads_versions() {
    let mut s = Script::default();
    s.read_reg(0x02, 0x0000_0000) // still booting
        .read_reg(0x02, 0x0000_0004) // IDLE_IRQ
        .write(&[0x00, 0x03, 0xFF, 0xFF, 0x0F, 0x00])
        .query(&[0x07, 0x10, 0x06], &[0x04, 0x03, 0x04, 0x03, 0x00, 0x90]);
    let mut d = driver(&s, &[P::set(State::Low), P::set(State::High)]);
    d.reset().expect("reset");
    let v = d.versions().expect("versions");
    assert_eq!(
        v,
        Versions {
            product: (3, 4),
            firmware: (3, 4),
            eeprom: (0x90, 0x00)
        }
    );
    finish(d);
}

#[test]
fn load_rf_config_and_rf_on_frames() {
    let mut s = Script::default();
    s.write(&[0x11, 0x00, 0x80])
        .write(&[0x16, 0x00])
        .read_reg(0x02, 0x0000_0000)
        .read_reg(0x02, 0x0000_0200)
        .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
        .write(&[0x17, 0x00]);
    let mut d = driver(&s, &[]);
    d.load_rf_config(0x00, 0x80).expect("config");
    d.rf_on().expect("rf on");
    d.rf_off().expect("rf off");
    finish(d);
}

#[test]
fn inventory_returns_the_tag_frame() {
    let mut s = Script::default();
    s.activate_15693(TX_CONFIG)
        .write(&[0x00, 0x0C, 0xF8, 0x34, 0x00, 0x00]) // TIMER1_RELOAD 13560 ticks = 1 ms
        .send(&[0x09, 0x00, 0x26, 0x01, 0x00])
        .read_reg(0x02, 0x0000_0002) // TX done, still waiting
        .read_reg(0x02, 0x0000_0003) // RX done
        .read_reg(0x13, 0x0000_000A)
        .query(&[0x0A, 0x00], &UID_FRAME);
    let mut d = driver(&s, &[]);
    let reply = d.transceive(&[0x26, 0x01, 0x00]).expect("inventory");
    assert_eq!(reply, Reply::Frame(UID_FRAME.to_vec()));
    finish(d);
}

#[test]
fn timer_expiry_is_a_silent_slot_and_eof_restores_tx_config() {
    let mut s = Script::default();
    s.activate_15693(TX_CONFIG)
        .write(&[0x00, 0x0C, 0xF8, 0x34, 0x00, 0x00])
        .send(&[0x09, 0x00, 0x06, 0x01, 0x00])
        .read_reg(0x02, 0x0000_1002) // TIMER1 without RX: nobody answered
        // next slot: TX_CONFIG without start symbol and data, an empty SEND_DATA, restore
        .write(&[0x00, 0x18, 0x00, 0x03, 0x00, 0x00])
        .send(&[0x09, 0x00])
        .read_reg(0x02, 0x0000_1002)
        .write(&[0x00, 0x18, 0xC0, 0x07, 0x00, 0x00]);
    let mut d = driver(&s, &[]);
    assert_eq!(
        d.transceive(&[0x06, 0x01, 0x00]).expect("slot 0"),
        Reply::Silent
    );
    assert_eq!(d.next_slot().expect("slot 1"), Reply::Silent);
    finish(d);
}

#[test]
fn collision_and_crc_error_are_collisions() {
    let mut s2 = Script::default();
    s2.activate_15693(TX_CONFIG)
        .write(&[0x00, 0x0C, 0xF8, 0x34, 0x00, 0x00])
        .send(&[0x09, 0x00, 0x06, 0x01, 0x00])
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0004_0000 | (21 << 19) | 0x0003)
        .write(&[0x00, 0x18, 0x00, 0x03, 0x00, 0x00])
        .send(&[0x09, 0x00])
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0001_000A)
        .write(&[0x00, 0x18, 0xC0, 0x07, 0x00, 0x00]);
    let mut d = driver(&s2, &[]);
    assert_eq!(
        d.transceive(&[0x06, 0x01, 0x00]).expect("slot 0"),
        Reply::Collision
    );
    assert_eq!(d.next_slot().expect("slot 1"), Reply::Collision);
    finish(d);
}

#[test]
fn write_commands_get_the_long_timeout() {
    let mut s = Script::default();
    // 25 ms = 339000 ticks = 0x052C38
    let request = [
        0x22, 0x21, 0x51, 0x3E, 0x0A, 0x31, 0x53, 0x01, 0x04, 0xE0, 0x00, 1, 2, 3, 4,
    ];
    let mut send = vec![0x09, 0x00];
    send.extend_from_slice(&request);
    s.activate_15693(TX_CONFIG)
        .write(&[0x00, 0x0C, 0x38, 0x2C, 0x05, 0x00])
        .send(&send)
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0000_0001)
        .query(&[0x0A, 0x00], &[0x00]);
    let mut d = driver(&s, &[]);
    assert_eq!(
        d.transceive(&request).expect("write"),
        Reply::Frame(vec![0x00])
    );
    finish(d);
}

#[test]
fn busy_stuck_high_is_an_error_after_the_bound() {
    let s = Script {
        spi: Vec::new(),
        busy: vec![P::get(State::High); 5],
    };
    let mut d = driver(&s, &[]).with_poll_config(PollConfig {
        busy_polls: 5,
        busy_backoff_us: 10,
        irq_polls: 3,
        irq_backoff_us: 10,
    });
    assert_eq!(d.versions(), Err(Error::BusyTimeout));
    finish(d);
}

#[test]
fn irq_never_raised_is_an_error_after_the_bound() {
    let mut s = Script::default();
    s.activate_15693(TX_CONFIG)
        .write(&[0x00, 0x0C, 0xF8, 0x34, 0x00, 0x00])
        .send(&[0x09, 0x00, 0x26, 0x01, 0x00])
        .read_reg(0x02, 0x0000_0002)
        .read_reg(0x02, 0x0000_0002)
        .read_reg(0x02, 0x0000_0002);
    let poll = PollConfig {
        busy_polls: 5,
        busy_backoff_us: 1,
        irq_polls: 3,
        irq_backoff_us: 1,
    };
    let mut d = driver(&s, &[]).with_poll_config(poll);
    assert_eq!(
        d.transceive(&[0x26, 0x01, 0x00]),
        Err(Error::IrqTimeout(0x0000_0002))
    );
    finish(d);
}

#[test]
fn general_error_irq_is_reported() {
    let mut s = Script::default();
    s.write(&[0x16, 0x00]).read_reg(0x02, 0x0002_0000);
    let mut d = driver(&s, &[]);
    assert_eq!(d.rf_on(), Err(Error::Chip(0x0002_0000)));
    finish(d);
}

#[test]
fn irq_line_replaces_register_polling() {
    let mut s = Script::default();
    s.write(&[0x11, 0x0D, 0x8D])
        .write(&[0x01, 0x19, 0x01, 0x00, 0x00, 0x00])
        .write(&[0x01, 0x12, 0x01, 0x00, 0x00, 0x00])
        .write(&[0x00, 0x0F, 0x01, 0x08, 0x10, 0x00])
        .write(&[0x00, 0x01, 0x01, 0x10, 0x02, 0x00]) // IRQ_ENABLE: RX, TIMER1, GENERAL_ERROR
        .write(&[0x16, 0x00])
        .read_reg(0x02, 0x0000_0200)
        .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
        .read_reg(0x18, TX_CONFIG)
        .write(&[0x00, 0x0C, 0xF8, 0x34, 0x00, 0x00])
        .send(&[0x09, 0x00, 0x26, 0x01, 0x00])
        .read_reg(0x02, 0x0000_1002);
    let irq = PinMock::new(&[P::get(State::Low), P::get(State::High)]);
    let mut d = Pn5180::new(
        SpiMock::new(&s.spi),
        PinMock::new(&s.busy),
        PinMock::new(&[]),
        Some(irq),
        NoopDelay::new(),
    );
    assert_eq!(
        d.transceive(&[0x26, 0x01, 0x00]).expect("inventory"),
        Reply::Silent
    );
    finish(d);
}

/// An SPI device whose every transfer fails, as a disconnected spidev would.
struct BrokenSpi;

impl ErrorType for BrokenSpi {
    type Error = ErrorKind;
}

impl SpiDevice for BrokenSpi {
    fn transaction(&mut self, _: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
        Err(ErrorKind::Other)
    }
}

#[test]
fn spi_errors_propagate() {
    let mut busy = PinMock::new(&[P::get(State::Low)]);
    let mut rst = PinMock::new(&[]);
    let mut d: Pn5180<_, _, _, PinMock, _> =
        Pn5180::new(BrokenSpi, busy.clone(), rst.clone(), None, NoopDelay::new());
    assert_eq!(
        d.transceive(&[0x26, 0x01, 0x00]),
        Err(Error::Spi(ErrorKind::Other))
    );
    busy.done();
    rst.done();
}

#[test]
fn reads_a_four_byte_patron_card_uid() {
    let mut s = Script::default();
    let crc_off = |s: &mut Script| {
        s.write(&[0x02, 0x19, 0xFE, 0xFF, 0xFF, 0xFF])
            .write(&[0x02, 0x12, 0xFE, 0xFF, 0xFF, 0xFF]);
    };
    s.write(&[0x11, 0x00, 0x80])
        .write(&[0x02, 0x00, 0xBF, 0xFF, 0xFF, 0xFF]) // MIFARE crypto off
        .write(&[0x00, 0x0F, 0x01, 0x08, 0x10, 0x00])
        .write(&[0x16, 0x00])
        .read_reg(0x02, 0x0000_0200)
        .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
        .write(&[0x00, 0x0C, 0xD8, 0x08, 0x01, 0x00]); // 5 ms = 67800 ticks = 0x0108D8
    crc_off(&mut s);
    s.send(&[0x09, 0x07, 0x52]) // WUPA, 7 bits
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0000_0002)
        .query(&[0x0A, 0x00], &[0x04, 0x00]);
    crc_off(&mut s);
    s.send(&[0x09, 0x00, 0x93, 0x20])
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0000_0005)
        .query(&[0x0A, 0x00], &[0xDE, 0xAD, 0xBE, 0xEF, 0x22]);
    s.write(&[0x01, 0x19, 0x01, 0x00, 0x00, 0x00])
        .write(&[0x01, 0x12, 0x01, 0x00, 0x00, 0x00])
        .send(&[0x09, 0x00, 0x93, 0x70, 0xDE, 0xAD, 0xBE, 0xEF, 0x22])
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0000_0001)
        .query(&[0x0A, 0x00], &[0x08]);
    let mut d = driver(&s, &[]);
    let uid = d.read_14443a_uid().expect("select");
    assert_eq!(uid.map(|u| u.to_hex()), Some("DEADBEEF".to_string()));
    finish(d);
}

#[test]
fn no_card_is_none() {
    let mut s = Script::default();
    s.write(&[0x11, 0x00, 0x80])
        .write(&[0x02, 0x00, 0xBF, 0xFF, 0xFF, 0xFF])
        .write(&[0x00, 0x0F, 0x01, 0x08, 0x10, 0x00])
        .write(&[0x16, 0x00])
        .read_reg(0x02, 0x0000_0200)
        .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
        .write(&[0x00, 0x0C, 0xD8, 0x08, 0x01, 0x00])
        .write(&[0x02, 0x19, 0xFE, 0xFF, 0xFF, 0xFF])
        .write(&[0x02, 0x12, 0xFE, 0xFF, 0xFF, 0xFF])
        .send(&[0x09, 0x07, 0x52])
        .read_reg(0x02, 0x0000_1002);
    let mut d = driver(&s, &[]);
    assert_eq!(d.read_14443a_uid(), Ok(None));
    finish(d);
}

impl Script {
    /// A reception of `data` after a transceive.
    fn receive(&mut self, data: &[u8]) -> &mut Self {
        self.read_reg(0x02, 0x0000_0003)
            .read_reg(0x13, data.len() as u32)
            .query(&[0x0A, 0x00], data)
    }

    /// TIMER1 ran out: nobody answered.
    fn silence(&mut self) -> &mut Self {
        self.read_reg(0x02, 0x0000_1002)
    }

    fn crc(&mut self, on: bool) -> &mut Self {
        if on {
            self.write(&[0x01, 0x19, 0x01, 0x00, 0x00, 0x00])
                .write(&[0x01, 0x12, 0x01, 0x00, 0x00, 0x00])
        } else {
            self.write(&[0x02, 0x19, 0xFE, 0xFF, 0xFF, 0xFF])
                .write(&[0x02, 0x12, 0xFE, 0xFF, 0xFF, 0xFF])
        }
    }

    /// Field off, ISO 14443A configuration with the crypto unit off, field on, and the 5 ms
    /// receive timeout (67800 ticks = 0x0108D8).
    fn enter_14443a(&mut self) -> &mut Self {
        self.write(&[0x17, 0x00])
            .write(&[0x11, 0x00, 0x80])
            .write(&[0x02, 0x00, 0xBF, 0xFF, 0xFF, 0xFF])
            .write(&[0x00, 0x0F, 0x01, 0x08, 0x10, 0x00])
            .write(&[0x16, 0x00])
            .read_reg(0x02, 0x0000_0200)
            .write(&[0x00, 0x03, 0x00, 0x02, 0x00, 0x00])
            .write(&[0x00, 0x0C, 0xD8, 0x08, 0x01, 0x00])
    }

    /// WUPA answered with an ATQA.
    fn wake_up(&mut self, atqa: &[u8]) -> &mut Self {
        self.crc(false).send(&[0x09, 0x07, 0x52]).receive(atqa)
    }

    /// One cascade level: anticollision (CRC off) answered with `uid4` + BCC, then SELECT
    /// (CRC on) answered with `sak`.
    fn cascade_level(&mut self, sel: u8, uid4: [u8; 4], sak: u8) -> &mut Self {
        let bcc = uid4.iter().fold(0, |a, b| a ^ b);
        let mut level = uid4.to_vec();
        level.push(bcc);
        let mut select = vec![0x09, 0x00, sel, 0x70];
        select.extend_from_slice(&level);
        self.crc(false)
            .send(&[0x09, 0x00, sel, 0x20])
            .receive(&level)
            .crc(true)
            .send(&select)
            .receive(&[sak])
    }

    fn halt(&mut self) -> &mut Self {
        self.crc(true).send(&[0x09, 0x00, 0x50, 0x00]).silence()
    }

    /// Crypto unit off, field off, and ISO 15693 again.
    fn back_to_15693(&mut self) -> &mut Self {
        self.write(&[0x02, 0x00, 0xBF, 0xFF, 0xFF, 0xFF])
            .write(&[0x17, 0x00])
            .activate_15693(TX_CONFIG)
    }
}

const KEY: [u8; 6] = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5];
const BLOCK: [u8; 16] = *b"21234000012345\0\0";

#[test]
fn poll_authenticates_and_reads_a_classic_block_then_returns_to_15693() {
    let mut s = Script::default();
    s.enter_14443a()
        .wake_up(&[0x04, 0x00])
        .cascade_level(0x93, [0xDE, 0xAD, 0xBE, 0xEF], 0x08)
        // MIFARE_AUTHENTICATE: key, key A, block 4, the UID; status 0 = authenticated
        .query(
            &[
                0x0C, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0x60, 0x04, 0xDE, 0xAD, 0xBE, 0xEF,
            ],
            &[0x00],
        )
        .crc(true)
        .send(&[0x09, 0x00, 0x30, 0x04])
        .receive(&BLOCK)
        .halt()
        .back_to_15693();
    let mut d = driver(&s, &[]);
    let card = d
        .poll_card(&CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: KEY,
        })
        .expect("poll")
        .expect("a card");
    assert_eq!(card.uid.to_hex(), "DEADBEEF");
    assert_eq!(card.data, Some(BLOCK));
    finish(d);
}

#[test]
fn poll_reads_ultralight_pages_of_a_seven_byte_uid() {
    let mut s = Script::default();
    s.enter_14443a()
        .wake_up(&[0x44, 0x00])
        .cascade_level(0x93, [0x88, 0x04, 0xA2, 0x24], 0x04)
        .cascade_level(0x95, [0x6A, 0x5D, 0x5C, 0x80], 0x00)
        .crc(true)
        .send(&[0x09, 0x00, 0x30, 0x04])
        .receive(&BLOCK)
        .halt()
        .back_to_15693();
    let mut d = driver(&s, &[]);
    let card = d
        .poll_card(&CardMemoryRead::UltralightPages { page: 4 })
        .expect("poll")
        .expect("a card");
    assert_eq!(card.uid.to_hex(), "04A2246A5D5C80");
    assert_eq!(card.data, Some(BLOCK));
    finish(d);
}

#[test]
fn poll_without_a_card_still_returns_to_15693() {
    let mut s = Script::default();
    s.enter_14443a()
        .crc(false)
        .send(&[0x09, 0x07, 0x52])
        .silence()
        .back_to_15693();
    let mut d = driver(&s, &[]);
    assert_eq!(d.poll_card(&CardMemoryRead::None), Ok(None));
    finish(d);
}

#[test]
fn refused_key_is_a_card_error_and_the_chip_returns_to_15693() {
    let mut s = Script::default();
    s.enter_14443a()
        .wake_up(&[0x04, 0x00])
        .cascade_level(0x93, [0xDE, 0xAD, 0xBE, 0xEF], 0x08)
        .query(
            &[
                0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x60, 0x08, 0xDE, 0xAD, 0xBE, 0xEF,
            ],
            &[0x01],
        )
        .back_to_15693();
    let mut d = driver(&s, &[]);
    let read = CardMemoryRead::ClassicBlock {
        block: 8,
        key_a: crate::rfid::card::FACTORY_KEY,
    };
    let err = CardReader::poll_card(&mut d, &read).expect_err("refused");
    assert!(matches!(err, ReaderError::Card(_)), "{err}");
    finish(d);
}

#[test]
fn several_cards_at_once_are_a_card_error() {
    let mut s = Script::default();
    s.enter_14443a()
        .wake_up(&[0x04, 0x00])
        .crc(false)
        .send(&[0x09, 0x00, 0x93, 0x20])
        .read_reg(0x02, 0x0000_0003)
        .read_reg(0x13, 0x0004_0000 | (12 << 19) | 0x0005)
        .back_to_15693();
    let mut d = driver(&s, &[]);
    assert_eq!(
        d.poll_card(&CardMemoryRead::None),
        Err(Error::MultipleCards)
    );
    finish(d);
}
