//! Opening the real hardware on Linux from a board file: the PN5180 and the MFRC522 on spidev
//! plus GPIO character-device lines (linux-embedded-hal, no libudev), and the serial readers.

use std::path::PathBuf;

use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
use linux_embedded_hal::{CdevPin, Delay, SpidevDevice};
use serde::Deserialize;
use thiserror::Error;

use crate::board::PatronCardBoard;
use crate::drivers::mfrc522::Mfrc522Reader;
use crate::drivers::pn5180::Pn5180;
use crate::drivers::serial::bibliotheca::Bibliotheca;
use crate::drivers::serial::feig::Feig;
use crate::drivers::serial::{Parity, SerialError, SerialPortLink, SerialTagReader};
use crate::rfid::card::{CardMemoryRead, CardRead, CardReader};
use crate::rfid::reader::{ReaderError, TagReader};

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
    #[error("MFRC522 on {path} did not come up: {message}")]
    Mfrc522 { path: PathBuf, message: String },
    #[error("{0}")]
    Board(String),
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

/// A spidev device in SPI mode 0 at `hz`.
fn open_spidev(path: &std::path::Path, hz: u32) -> Result<SpidevDevice, OpenError> {
    let spi_err = |e: &dyn std::fmt::Display| OpenError::Spi {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut spi = SpidevDevice::open(path).map_err(|e| spi_err(&e))?;
    let options = SpidevOptions::new()
        .bits_per_word(8)
        .max_speed_hz(hz)
        .mode(SpiModeFlags::SPI_MODE_0)
        .build();
    spi.0.configure(&options).map_err(|e| spi_err(&e))?;
    Ok(spi)
}

fn open_chip(path: &std::path::Path, line: u32) -> Result<Chip, OpenError> {
    Chip::new(path).map_err(|e| OpenError::Gpio {
        chip: path.to_path_buf(),
        line,
        message: e.to_string(),
    })
}

/// Open, reset and check the PN5180, and leave it ready for ISO 15693 (field on). The result
/// implements [`Transceiver`](crate::rfid::transceiver::Transceiver) and also reads ISO 14443A
/// patron cards.
pub fn open_pn5180(cfg: &Pn5180Wiring) -> Result<LinuxPn5180, OpenError> {
    let spi = open_spidev(&cfg.spidev, cfg.spi_hz)?;
    let path = cfg.gpiochip.as_deref().ok_or_else(|| {
        OpenError::Board("rfid.pn5180.gpiochip is missing (e.g. \"/dev/gpiochip0\")".into())
    })?;
    let mut chip = open_chip(path, cfg.busy_line)?;
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
    let versions = pn5180.start().map_err(|e| OpenError::Chip(e.to_string()))?;
    tracing::info!(?versions, hal = "linux-embedded-hal", "PN5180 up");
    Ok(pn5180)
}

/// An MFRC522 on spidev, with the GPIO line that holds its RST pin high when the board wires
/// one.
pub struct LinuxMfrc522 {
    reader: Mfrc522Reader<SpidevDevice>,
    _reset: Option<CdevPin>,
}

impl LinuxMfrc522 {
    /// The chip's VersionReg (0x91 / 0x92 for a genuine MFRC522).
    pub fn version(&mut self) -> Result<u8, String> {
        self.reader.version().map_err(|e| e.to_string())
    }
}

impl CardReader for LinuxMfrc522 {
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        CardReader::poll_card(&mut self.reader, read)
    }
}

/// Open the board's MFRC522 (`[patron_card]` with `reader = "mfrc522"`), reset and configure
/// it, and check that it answers with a known version.
pub fn open_mfrc522(board: &PatronCardBoard) -> Result<LinuxMfrc522, OpenError> {
    let path = board.spidev.as_deref().ok_or_else(|| {
        OpenError::Board("patron_card.reader = \"mfrc522\" needs patron_card.spidev".into())
    })?;
    let hz = board.spi_hz.unwrap_or(crate::board::MFRC522_DEFAULT_SPI_HZ);
    let reset = match (&board.gpiochip, board.reset_line) {
        (Some(chip_path), Some(n)) => {
            let mut chip = open_chip(chip_path, n)?;
            Some(line(
                &mut chip,
                chip_path,
                n,
                LineRequestFlags::OUTPUT,
                1,
                "mfrc522-reset",
            )?)
        }
        _ => None,
    };
    let spi = open_spidev(path, hz)?;
    let chip_err = |message: String| OpenError::Mfrc522 {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = Mfrc522Reader::new(spi).map_err(|e| chip_err(e.to_string()))?;
    let version = reader.version().map_err(|e| chip_err(e.to_string()))?;
    // 0x00 or 0xFF: nothing drives MISO, so no chip is on that chip select.
    if matches!(version, 0x00 | 0xFF) {
        return Err(chip_err(format!(
            "VersionReg reads {version:#04x}: no MFRC522 answers on this chip select"
        )));
    }
    tracing::info!(version = format!("{version:#04x}"), "MFRC522 up");
    Ok(LinuxMfrc522 {
        reader,
        _reset: reset,
    })
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
            hal: crate::board::Hal::LinuxEmbeddedHal,
            spidev: "/nonexistent/spidev9.9".into(),
            spi_hz: 1_000_000,
            gpiochip: Some("/nonexistent/gpiochip9".into()),
            busy_line: 0,
            reset_line: 1,
            irq_line: None,
        };
        assert!(matches!(open_pn5180(&wiring), Err(OpenError::Spi { .. })));
        let card = PatronCardBoard {
            reader: crate::board::PatronCardReaderKind::Mfrc522,
            spidev: Some("/nonexistent/spidev9.8".into()),
            spi_hz: None,
            gpiochip: None,
            reset_line: None,
        };
        let err = open_mfrc522(&card).err().expect("no device");
        assert!(err.to_string().contains("/nonexistent/spidev9.8"), "{err}");
    }
}
