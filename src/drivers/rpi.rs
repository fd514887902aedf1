//! The PN5180 through the Raspberry Pi's own SPI and GPIO peripherals (the rppal crate), for
//! board files that say `hal = "rppal"` in `[rfid.pn5180]`. rppal builds on any Linux; it
//! only finds its peripherals on a Pi, and says so when it cannot.

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use rppal::gpio::{Gpio, InputPin, OutputPin};
use rppal::hal::Delay;
use rppal::spi::{Bus, Mode, Segment, SlaveSelect, Spi};

use crate::board::{Pn5180Pins, spidev_bus};
use crate::drivers::linux::OpenError;
use crate::drivers::pn5180::Pn5180;

/// The PN5180 driver over rppal.
pub type RppalPn5180 = Pn5180<RppalSpi, InputPin, OutputPin, InputPin, Delay>;

/// One SPI device on the Pi's SPI bus, chip select driven by the kernel.
///
/// rppal's own `SimpleHalSpiDevice` clocks out zeros for a transfer in place; the PN5180's
/// response frames are read while the host sends 0xFF, so this device sends the buffer's
/// bytes as the embedded-hal contract says.
pub struct RppalSpi {
    bus: Spi,
}

impl ErrorType for RppalSpi {
    type Error = rppal::spi::Error;
}

impl SpiDevice for RppalSpi {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        // What each in-place transfer sends, copied before the segments borrow the buffers.
        let outgoing: Vec<Vec<u8>> = operations
            .iter()
            .map(|op| match op {
                Operation::TransferInPlace(buf) => buf.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        let clock = self.bus.clock_speed()?;
        let mut segments = Vec::with_capacity(operations.len());
        for (op, sent) in operations.iter_mut().zip(&outgoing) {
            segments.push(match op {
                Operation::Read(buf) => Segment::with_read(buf),
                Operation::Write(buf) => Segment::with_write(buf),
                Operation::Transfer(read, write) => Segment::new(read, write),
                Operation::TransferInPlace(buf) => Segment::new(buf, sent),
                Operation::DelayNs(ns) => Segment::with_settings(
                    None,
                    None,
                    clock,
                    u16::try_from(ns.div_ceil(1000)).unwrap_or(u16::MAX),
                    8,
                    false,
                ),
            });
        }
        self.bus.transfer_segments(&segments)
    }
}

fn bus(n: u8) -> Option<Bus> {
    Some(match n {
        0 => Bus::Spi0,
        1 => Bus::Spi1,
        2 => Bus::Spi2,
        3 => Bus::Spi3,
        4 => Bus::Spi4,
        5 => Bus::Spi5,
        6 => Bus::Spi6,
        _ => return None,
    })
}

fn slave_select(n: u8) -> Option<SlaveSelect> {
    use SlaveSelect::*;
    [
        Ss0, Ss1, Ss2, Ss3, Ss4, Ss5, Ss6, Ss7, Ss8, Ss9, Ss10, Ss11, Ss12, Ss13, Ss14, Ss15,
    ]
    .get(usize::from(n))
    .copied()
}

/// Open, reset and check the PN5180 through rppal, and leave it in ISO 15693 (field on).
pub fn open_pn5180(cfg: &Pn5180Pins) -> Result<RppalPn5180, OpenError> {
    let spi_err = |message: String| OpenError::Spi {
        path: cfg.spidev.clone(),
        message,
    };
    let (bus_n, ss_n) = spidev_bus(&cfg.spidev)
        .ok_or_else(|| spi_err("rppal opens /dev/spidevB.S devices only".into()))?;
    let (bus, ss) = bus(bus_n)
        .zip(slave_select(ss_n))
        .ok_or_else(|| spi_err("no such SPI bus or slave select on a Raspberry Pi".into()))?;
    let spi = Spi::new(bus, ss, cfg.spi_hz, Mode::Mode0).map_err(|e| spi_err(e.to_string()))?;

    let gpio_err = |line: u32, message: String| OpenError::Gpio {
        chip: "rppal".into(),
        line,
        message,
    };
    let gpio = Gpio::new().map_err(|e| gpio_err(cfg.busy_line, e.to_string()))?;
    let pin = |line: u32| {
        let n = u8::try_from(line).map_err(|_| gpio_err(line, "not a BCM GPIO number".into()))?;
        gpio.get(n).map_err(|e| gpio_err(line, e.to_string()))
    };
    let busy = pin(cfg.busy_line)?.into_input();
    let reset = pin(cfg.reset_line)?.into_output_high();
    let irq = cfg
        .irq_line
        .map(|n| pin(n).map(|p| p.into_input()))
        .transpose()?;

    let mut pn5180 = Pn5180::new(RppalSpi { bus: spi }, busy, reset, irq, Delay::new());
    let versions = pn5180.start().map_err(|e| OpenError::Chip(e.to_string()))?;
    tracing::info!(?versions, hal = "rppal", "PN5180 up");
    Ok(pn5180)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buses_and_slave_selects() {
        assert_eq!(bus(0), Some(Bus::Spi0));
        assert_eq!(bus(7), None);
        assert_eq!(slave_select(15), Some(SlaveSelect::Ss15));
        assert_eq!(slave_select(16), None);
    }

    #[test]
    fn without_a_pi_the_device_is_named() {
        let cfg = Pn5180Pins {
            hal: crate::board::Hal::Rppal,
            spidev: "/dev/spidev6.15".into(),
            spi_hz: 1_000_000,
            gpiochip: None,
            busy_line: 25,
            reset_line: 7,
            irq_line: None,
        };
        // No SPI6 here (and on most Pis): a clear error naming the device, not a panic.
        let err = open_pn5180(&cfg).err().expect("no Pi SPI6 here");
        assert!(err.to_string().contains("/dev/spidev6.15"), "{err}");
    }
}
