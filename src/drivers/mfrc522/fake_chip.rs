//! A register-level stand-in for an MFRC522 with one ISO 14443A card in its field, so the
//! wrapper is tested through the real `mfrc522` crate: FIFO, CRC coprocessor, Transceive,
//! MFAuthent and the timer, as the data sheet describes them (MIFARE crypto itself is not
//! modelled: an authenticated exchange is answered in clear).

use std::convert::Infallible;

use crc::{CRC_16_ISO_IEC_14443_3_A, Crc};
use embedded_hal::spi::{ErrorType, Operation, SpiDevice};

const COMMAND: u8 = 0x01;
const COM_IRQ: u8 = 0x04;
const DIV_IRQ: u8 = 0x05;
const ERROR: u8 = 0x06;
const STATUS2: u8 = 0x08;
const FIFO_DATA: u8 = 0x09;
const FIFO_LEVEL: u8 = 0x0A;
const CONTROL: u8 = 0x0C;
const BIT_FRAMING: u8 = 0x0D;
const COLL: u8 = 0x0E;
const CRC_HIGH: u8 = 0x21;
const CRC_LOW: u8 = 0x22;
const VERSION: u8 = 0x37;

const IDLE: u8 = 0x00;
const CALC_CRC: u8 = 0x03;
const TRANSCEIVE: u8 = 0x0C;
const MF_AUTHENT: u8 = 0x0E;

const TIMER_IRQ: u8 = 0x01;
const IDLE_IRQ: u8 = 0x10;
const RX_IRQ: u8 = 0x20;
const CRC_IRQ: u8 = 0x04;
const CRYPTO1_ON: u8 = 0x08;

const CRC_A: Crc<u16> = Crc::<u16>::new(&CRC_16_ISO_IEC_14443_3_A);

/// The card in the field.
#[derive(Debug, Clone)]
pub struct FakeCard {
    uid: Vec<u8>,
    memory: Vec<u8>,
    key_a: [u8; 6],
    halted: bool,
    /// Ultralight pages of 4 bytes when no key was set, Classic blocks of 16 otherwise.
    classic: bool,
}

impl FakeCard {
    pub fn new(uid: &[u8], memory: Vec<u8>) -> Self {
        FakeCard {
            uid: uid.to_vec(),
            memory,
            key_a: [0xFF; 6],
            halted: false,
            classic: false,
        }
    }

    /// A MIFARE Classic whose sectors all have `key` as key A.
    pub fn with_key(mut self, key: [u8; 6]) -> Self {
        self.key_a = key;
        self.classic = true;
        self
    }

    /// The UID bytes of one cascade level (with the cascade tag when more follow) and the SAK.
    fn level(&self, sel: u8) -> Option<([u8; 4], u8)> {
        let u = &self.uid;
        let chunk = |bytes: &[u8]| <[u8; 4]>::try_from(bytes).ok();
        match (sel, u.len()) {
            (0x93, 4) => Some((chunk(u.get(0..4)?)?, 0x08)),
            (0x93, _) => Some(([0x88, u[0], u[1], u[2]], 0x04)),
            (0x95, 7) => Some((chunk(u.get(3..7)?)?, 0x00)),
            (0x95, 10) => Some(([0x88, u[3], u[4], u[5]], 0x04)),
            (0x97, 10) => Some((chunk(u.get(6..10)?)?, 0x00)),
            _ => None,
        }
    }

    /// The card's answer to one frame, without CRC handling on the reader's side.
    fn answer(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        match frame {
            [0x52] | [0x26] if !self.halted || frame == [0x52] => {
                self.halted = false;
                Some(vec![0x44, 0x00])
            }
            [sel, 0x20] => {
                let (uid4, _) = self.level(*sel)?;
                let bcc = uid4.iter().fold(0, |a, b| a ^ b);
                let mut out = uid4.to_vec();
                out.push(bcc);
                Some(out)
            }
            [sel, 0x70, rest @ ..] if rest.len() == 7 => {
                let (uid4, sak) = self.level(*sel)?;
                if rest.get(..4) != Some(&uid4[..]) {
                    return None;
                }
                Some(with_crc(&[sak]))
            }
            [0x50, 0x00, _, _] => {
                self.halted = true;
                None
            }
            [0x30, address, _, _] => {
                let unit = if self.classic { 16 } else { 4 };
                let start = usize::from(*address) * unit;
                let data = self.memory.get(start..start + 16)?;
                Some(with_crc(data))
            }
            _ => None,
        }
    }
}

fn with_crc(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&CRC_A.checksum(data).to_le_bytes());
    out
}

/// The chip: a register file, a FIFO and the card.
pub struct FakeMfrc522 {
    regs: [u8; 64],
    fifo: Vec<u8>,
    card: Option<FakeCard>,
}

impl FakeMfrc522 {
    pub fn new(card: Option<FakeCard>) -> Self {
        let mut regs = [0u8; 64];
        regs[usize::from(VERSION)] = 0x92;
        FakeMfrc522 {
            regs,
            fifo: Vec::new(),
            card,
        }
    }

    pub fn card_halted(&self) -> bool {
        self.card.as_ref().is_some_and(|c| c.halted)
    }

    fn read(&mut self, reg: u8) -> u8 {
        match reg {
            FIFO_DATA => {
                if self.fifo.is_empty() {
                    0
                } else {
                    self.fifo.remove(0)
                }
            }
            FIFO_LEVEL => self.fifo.len() as u8,
            _ => self.regs[usize::from(reg & 0x3F)],
        }
    }

    fn write(&mut self, reg: u8, value: u8) {
        match reg {
            FIFO_DATA => self.fifo.push(value),
            FIFO_LEVEL if value & 0x80 != 0 => self.fifo.clear(),
            COMMAND => self.command(value & 0x0F),
            // Writing a 1 clears an IRQ bit (bit 7 clear: the "clear" form of the register).
            COM_IRQ | DIV_IRQ if value & 0x80 == 0 => {
                self.regs[usize::from(reg)] &= !value;
            }
            BIT_FRAMING => {
                self.regs[usize::from(reg)] = value & 0x7F;
                if value & 0x80 != 0 && self.regs[usize::from(COMMAND)] == TRANSCEIVE {
                    self.transceive();
                }
            }
            _ => self.regs[usize::from(reg & 0x3F)] = value,
        }
    }

    fn command(&mut self, command: u8) {
        self.regs[usize::from(COMMAND)] = command;
        match command {
            CALC_CRC => {
                let crc = CRC_A.checksum(&self.fifo).to_le_bytes();
                self.regs[usize::from(CRC_LOW)] = crc[0];
                self.regs[usize::from(CRC_HIGH)] = crc[1];
                self.regs[usize::from(DIV_IRQ)] |= CRC_IRQ;
            }
            MF_AUTHENT => {
                let fifo = std::mem::take(&mut self.fifo);
                let ok = self.card.as_ref().is_some_and(|card| {
                    fifo.get(2..8) == Some(&card.key_a[..])
                        && fifo.get(8..12) == card.uid.get(card.uid.len() - 4..)
                });
                if ok {
                    self.regs[usize::from(STATUS2)] |= CRYPTO1_ON;
                    self.regs[usize::from(COM_IRQ)] |= IDLE_IRQ;
                } else {
                    self.regs[usize::from(COM_IRQ)] |= TIMER_IRQ;
                }
                self.regs[usize::from(COMMAND)] = IDLE;
            }
            _ => {}
        }
    }

    fn transceive(&mut self) {
        let frame = std::mem::take(&mut self.fifo);
        self.regs[usize::from(ERROR)] = 0;
        self.regs[usize::from(COLL)] = 0;
        self.regs[usize::from(CONTROL)] = 0;
        match self.card.as_mut().and_then(|c| c.answer(&frame)) {
            Some(answer) => {
                self.fifo = answer;
                self.regs[usize::from(COM_IRQ)] |= RX_IRQ | IDLE_IRQ;
            }
            None => self.regs[usize::from(COM_IRQ)] |= TIMER_IRQ,
        }
    }
}

impl ErrorType for FakeMfrc522 {
    type Error = Infallible;
}

impl SpiDevice for FakeMfrc522 {
    /// The crate's access patterns: a register write `[addr, value]`; a burst write
    /// `[addr]` + bytes; a read `[addr | 0x80, 0]` clocked in place; a burst read `[addr]` then
    /// a buffer clocked in place.
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        let mut address = None;
        for op in operations.iter_mut() {
            match op {
                Operation::Write(bytes) => match (address, *bytes) {
                    (None, [addr]) => address = Some(*addr),
                    (None, [addr, value]) => self.write((addr >> 1) & 0x3F, *value),
                    (Some(addr), bytes) => {
                        for &b in bytes {
                            self.write((addr >> 1) & 0x3F, b);
                        }
                    }
                    _ => {}
                },
                Operation::TransferInPlace(buf) => {
                    if let Some(addr) = address {
                        let reg = (addr >> 1) & 0x3F;
                        for b in buf.iter_mut() {
                            *b = self.read(reg);
                        }
                    } else if let Some(&addr) = buf.first() {
                        let value = self.read((addr >> 1) & 0x3F);
                        if let Some(out) = buf.get_mut(1) {
                            *out = value;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
