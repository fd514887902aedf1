//! The PN5180 host interface: SPI frames guarded by the BUSY handshake.
//!
//! The data sheet's rule for every SPI frame: wait until BUSY is low, send the frame, and then
//! BUSY rises while the chip works and falls when it is ready for the next frame (or when the
//! response frame may be clocked out). Instructions that answer take two frames: the
//! instruction, then a response frame clocked out with 0xFF on MOSI. Every wait is bounded by a
//! poll count, so a chip that keeps BUSY high gives an error instead of a hang.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::InputPin;
use embedded_hal::spi::SpiDevice;

use super::Error;
use super::regs::{MAX_RX, cmd};

/// How long the driver keeps polling before it calls a line or an IRQ stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// BUSY reads before giving up on one handshake edge.
    pub busy_polls: u32,
    /// Pause between two BUSY reads (none before the first).
    pub busy_backoff_us: u32,
    /// IRQ_STATUS reads (or IRQ pin reads) before an exchange is declared stuck.
    pub irq_polls: u32,
    /// Pause between two IRQ polls.
    pub irq_backoff_us: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        // BUSY: 1000 x 10 us = 10 ms, far beyond the slowest instruction (LOAD_RF_CONFIG, a few
        // hundred microseconds). IRQ: 500 x 100 us = 50 ms, beyond the longest receive timeout.
        PollConfig {
            busy_polls: 1000,
            busy_backoff_us: 10,
            irq_polls: 500,
            irq_backoff_us: 100,
        }
    }
}

pub(super) struct Interface<SPI, BUSY, D> {
    pub(super) spi: SPI,
    pub(super) busy: BUSY,
    pub(super) delay: D,
    pub(super) poll: PollConfig,
}

impl<SPI, BUSY, D, SpiE, PinE> Interface<SPI, BUSY, D>
where
    SPI: SpiDevice<Error = SpiE>,
    BUSY: InputPin<Error = PinE>,
    D: DelayNs,
{
    /// Poll BUSY until it reads low, at most `busy_polls` times.
    fn wait_busy_low(&mut self) -> Result<(), Error<SpiE, PinE>> {
        for attempt in 0..self.poll.busy_polls {
            if attempt > 0 {
                self.delay.delay_us(self.poll.busy_backoff_us);
            }
            if self.busy.is_low().map_err(Error::Pin)? {
                return Ok(());
            }
        }
        Err(Error::BusyTimeout)
    }

    /// One SPI frame with the handshake around it. BUSY rises while NSS is still asserted, so
    /// right after the frame it normally reads high and then falls; a low first read means the
    /// chip had already finished.
    fn frame<T>(
        &mut self,
        f: impl FnOnce(&mut SPI) -> Result<T, SpiE>,
    ) -> Result<T, Error<SpiE, PinE>> {
        self.wait_busy_low()?;
        let out = f(&mut self.spi).map_err(Error::Spi)?;
        self.wait_busy_low()?;
        Ok(out)
    }

    pub(super) fn write_frame(&mut self, bytes: &[u8]) -> Result<(), Error<SpiE, PinE>> {
        self.frame(|spi| spi.write(bytes))
    }

    /// An instruction frame followed by its response frame of `out.len()` bytes.
    pub(super) fn query(
        &mut self,
        instruction: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error<SpiE, PinE>> {
        self.write_frame(instruction)?;
        out.fill(0xFF);
        self.frame(|spi| spi.transfer_in_place(out))
    }

    pub(super) fn write_register(&mut self, reg: u8, value: u32) -> Result<(), Error<SpiE, PinE>> {
        self.register_op(cmd::WRITE_REGISTER, reg, value)
    }

    pub(super) fn or_register(&mut self, reg: u8, mask: u32) -> Result<(), Error<SpiE, PinE>> {
        self.register_op(cmd::WRITE_REGISTER_OR_MASK, reg, mask)
    }

    pub(super) fn and_register(&mut self, reg: u8, mask: u32) -> Result<(), Error<SpiE, PinE>> {
        self.register_op(cmd::WRITE_REGISTER_AND_MASK, reg, mask)
    }

    fn register_op(&mut self, op: u8, reg: u8, value: u32) -> Result<(), Error<SpiE, PinE>> {
        let v = value.to_le_bytes();
        self.write_frame(&[op, reg, v[0], v[1], v[2], v[3]])
    }

    pub(super) fn read_register(&mut self, reg: u8) -> Result<u32, Error<SpiE, PinE>> {
        let mut out = [0u8; 4];
        self.query(&[cmd::READ_REGISTER, reg], &mut out)?;
        Ok(u32::from_le_bytes(out))
    }

    pub(super) fn read_eeprom(
        &mut self,
        addr: u8,
        out: &mut [u8],
    ) -> Result<(), Error<SpiE, PinE>> {
        let len = u8::try_from(out.len()).map_err(|_| Error::TooLong(out.len()))?;
        self.query(&[cmd::READ_EEPROM, addr, len], out)
    }

    /// READ_DATA: the reception buffer, `len` bytes (at most 508).
    pub(super) fn read_data(&mut self, len: usize) -> Result<Vec<u8>, Error<SpiE, PinE>> {
        if len > MAX_RX {
            return Err(Error::TooLong(len));
        }
        let mut out = vec![0u8; len];
        self.query(&[cmd::READ_DATA, 0x00], &mut out)?;
        Ok(out)
    }

    pub(super) fn pause_us(&mut self, us: u32) {
        self.delay.delay_us(us);
    }
}
