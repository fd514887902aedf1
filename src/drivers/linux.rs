//! Opening the real hardware on Linux from a board file: the PN5180 on spidev plus GPIO
//! character-device lines (linux-embedded-hal, no libudev), and the serial readers.

use std::path::PathBuf;

use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
use linux_embedded_hal::{CdevPin, Delay, SpidevDevice};
use serde::Deserialize;
use thiserror::Error;

use crate::drivers::pn5180::Pn5180;
use crate::drivers::serial::bibliotheca::Bibliotheca;
use crate::drivers::serial::feig::Feig;
use crate::drivers::serial::{Parity, SerialError, SerialPortLink, SerialTagReader};
use crate::rfid::reader::TagReader;

/// Where a PN5180 is wired: the board file's `[rfid.pn5180]` section.
pub use crate::board::Pn5180Pins as Pn5180Wiring;

/// Which serial reader protocol a port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialReaderKind {
    /// 3M 810 / Bibliotheca 210 style (19200 8N1).
    #[serde(alias = "3m")]
    Bibliotheca,
    /// FEIG ISC (38400 8E1).
    Feig,
}

#[derive(Debug, Error)]
pub enum OpenError {
    #[error("SPI device {path}: {message}")]
    Spi { path: PathBuf, message: String },
    #[error("GPIO {chip} line {line}: {message}")]
    Gpio {
        chip: PathBuf,
        line: u32,
        message: String,
    },
    #[error("PN5180 did not come up: {0}")]
    Chip(String),
    #[error("serial reader: {0}")]
    Serial(#[from] SerialError),
    #[error("serial reader did not answer its probe: {0}")]
    Probe(String),
}

/// The PN5180 driver over Linux devices.
pub type LinuxPn5180 = Pn5180<SpidevDevice, CdevPin, CdevPin, CdevPin, Delay>;

fn line(
    chip: &mut Chip,
    path: &std::path::Path,
    n: u32,
    flags: LineRequestFlags,
    default: u8,
    label: &str,
) -> Result<CdevPin, OpenError> {
    let err = |e: &dyn std::fmt::Display| OpenError::Gpio {
        chip: path.to_path_buf(),
        line: n,
        message: e.to_string(),
    };
    let handle = chip
        .get_line(n)
        .and_then(|l| l.request(flags, default, label))
        .map_err(|e| err(&e))?;
    CdevPin::new(handle).map_err(|e| err(&e))
}

/// Open, reset and check the PN5180, and leave it ready for ISO 15693 (field on). The result
/// implements [`Transceiver`](crate::rfid::transceiver::Transceiver) and also reads ISO 14443A
/// patron cards.
pub fn open_pn5180(cfg: &Pn5180Wiring) -> Result<LinuxPn5180, OpenError> {
    let spi_err = |e: &dyn std::fmt::Display| OpenError::Spi {
        path: cfg.spidev.clone(),
        message: e.to_string(),
    };
    let mut spi = SpidevDevice::open(&cfg.spidev).map_err(|e| spi_err(&e))?;
    let options = SpidevOptions::new()
        .bits_per_word(8)
        .max_speed_hz(cfg.spi_hz)
        .mode(SpiModeFlags::SPI_MODE_0)
        .build();
    spi.0.configure(&options).map_err(|e| spi_err(&e))?;

    let mut chip = Chip::new(&cfg.gpiochip).map_err(|e| OpenError::Gpio {
        chip: cfg.gpiochip.clone(),
        line: cfg.busy_line,
        message: e.to_string(),
    })?;
    let path = cfg.gpiochip.as_path();
    let busy = line(
        &mut chip,
        path,
        cfg.busy_line,
        LineRequestFlags::INPUT,
        0,
        "pn5180-busy",
    )?;
    let reset = line(
        &mut chip,
        path,
        cfg.reset_line,
        LineRequestFlags::OUTPUT,
        1,
        "pn5180-reset",
    )?;
    let irq = cfg
        .irq_line
        .map(|n| line(&mut chip, path, n, LineRequestFlags::INPUT, 0, "pn5180-irq"))
        .transpose()?;

    let mut pn5180 = Pn5180::new(spi, busy, reset, irq, Delay);
    pn5180.reset().map_err(|e| OpenError::Chip(e.to_string()))?;
    let versions = pn5180
        .versions()
        .map_err(|e| OpenError::Chip(e.to_string()))?;
    tracing::info!(?versions, "PN5180 up");
    pn5180
        .activate_iso15693()
        .map_err(|e| OpenError::Chip(e.to_string()))?;
    Ok(pn5180)
}

/// Open a serial reader and probe it; `baud` defaults to the protocol's usual speed.
pub fn open_serial_reader(
    kind: SerialReaderKind,
    path: &str,
    baud: Option<u32>,
) -> Result<Box<dyn TagReader + Send>, OpenError> {
    match kind {
        SerialReaderKind::Bibliotheca => {
            let link = SerialPortLink::open(path, baud.unwrap_or(19_200), Parity::None)?;
            let mut reader = Bibliotheca::new(link);
            let version = reader.init().map_err(|e| OpenError::Probe(e.to_string()))?;
            tracing::info!(?version, path, "3M/Bibliotheca reader up");
            Ok(Box::new(SerialTagReader::new(reader)))
        }
        SerialReaderKind::Feig => {
            let link = SerialPortLink::open(path, baud.unwrap_or(38_400), Parity::Even)?;
            Ok(Box::new(SerialTagReader::new(Feig::new(link))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiring_from_board_toml() {
        let text = r#"
            spidev = "/dev/spidev0.0"
            gpiochip = "/dev/gpiochip0"
            busy_line = 25
            reset_line = 7
        "#;
        let wiring: Pn5180Wiring = toml::from_str(text).expect("wiring");
        assert_eq!(wiring.spi_hz, 7_000_000);
        assert_eq!(wiring.irq_line, None);
        assert_eq!(wiring.busy_line, 25);
        let kind: SerialReaderKind = toml::from_str::<toml::Table>("k = \"3m\"")
            .expect("toml")
            .get("k")
            .cloned()
            .expect("k")
            .try_into()
            .expect("kind");
        assert_eq!(kind, SerialReaderKind::Bibliotheca);
    }

    #[test]
    fn missing_spidev_is_an_error_not_a_panic() {
        let wiring = Pn5180Wiring {
            spidev: "/nonexistent/spidev9.9".into(),
            spi_hz: 1_000_000,
            gpiochip: "/nonexistent/gpiochip9".into(),
            busy_line: 0,
            reset_line: 1,
            irq_line: None,
        };
        assert!(matches!(open_pn5180(&wiring), Err(OpenError::Spi { .. })));
    }
}
