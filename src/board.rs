//! Board files: which adapter drives each port on this terminal and how it is wired.
//!
//! The boards in `hw/boards/` are built into the binary, so `--board rpi4-pn5180` works on a
//! freshly installed terminal; `--board FILE` reads a site's own board file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The boards shipped with the kiosk, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("sim", include_str!("../hw/boards/sim.toml")),
    ("rpi4-pn5180", include_str!("../hw/boards/rpi4-pn5180.toml")),
    (
        "rpi4-serial-3m",
        include_str!("../hw/boards/rpi4-serial-3m.toml"),
    ),
    ("rpi4-feig", include_str!("../hw/boards/rpi4-feig.toml")),
    (
        "rpi4-pn5180-rppal",
        include_str!("../hw/boards/rpi4-pn5180-rppal.toml"),
    ),
    (
        "rpi4-feig-rc522",
        include_str!("../hw/boards/rpi4-feig-rc522.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub rfid: RfidBoard,
    pub patron_card: PatronCardBoard,
    pub scanner: ScannerBoard,
    #[serde(default)]
    pub printer: PrinterBoard,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfidBoard {
    pub reader: RfidReaderKind,
    /// Simulated pad only: let the modelled air time pass in real time.
    #[serde(default)]
    pub real_time: bool,
    pub pn5180: Option<Pn5180Pins>,
    pub serial: Option<SerialPortBoard>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RfidReaderKind {
    Sim,
    Pn5180,
    #[serde(rename = "serial-3m")]
    Serial3m,
    Feig,
}

/// How a PN5180 module is wired to the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pn5180Pins {
    /// Which library drives the SPI device and the GPIO lines.
    #[serde(default)]
    pub hal: Hal,
    /// e.g. `/dev/spidev0.0` (the kernel drives chip select). With `hal = "rppal"` it must
    /// be `/dev/spidevB.S` (bus B, slave select S).
    pub spidev: PathBuf,
    /// SPI clock; the PN5180 accepts up to 7 MHz.
    #[serde(default = "default_spi_hz")]
    pub spi_hz: u32,
    /// e.g. `/dev/gpiochip0`; `linux-embedded-hal` only (rppal finds the Pi's GPIO itself).
    pub gpiochip: Option<PathBuf>,
    /// GPIO line numbers (BCM numbers on a Pi).
    pub busy_line: u32,
    pub reset_line: u32,
    pub irq_line: Option<u32>,
}

/// The hardware access library behind a SPI reader chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hal {
    /// spidev and the GPIO character device: any Linux board.
    #[default]
    LinuxEmbeddedHal,
    /// The Raspberry Pi's own peripherals through the rppal crate.
    Rppal,
}

fn default_spi_hz() -> u32 {
    7_000_000
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialPortBoard {
    pub port: PathBuf,
    pub baud: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatronCardBoard {
    pub reader: PatronCardReaderKind,
    /// `mfrc522`: its SPI device, e.g. `/dev/spidev0.1`.
    pub spidev: Option<PathBuf>,
    /// `mfrc522`: SPI clock (the chip accepts up to 10 MHz; default 1 MHz).
    pub spi_hz: Option<u32>,
    /// `mfrc522`: the GPIO chip and line of the module's RST pin, when it is wired to one
    /// (held high while the kiosk runs); leave both out when RST is tied high.
    pub gpiochip: Option<PathBuf>,
    pub reset_line: Option<u32>,
}

/// The MFRC522's SPI clock when the board file names none.
pub const MFRC522_DEFAULT_SPI_HZ: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatronCardReaderKind {
    /// Patron cards come only as barcodes, or as ISO 15693 cards on the item pad.
    None,
    /// The item reader's PN5180 also polls ISO 14443A cards.
    Pn5180,
    /// An MFRC522 (RC522 module) beside the item reader, on its own SPI device.
    Mfrc522,
    /// Cards placed on the simulated pad.
    Sim,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerBoard {
    pub kind: ScannerKind,
    /// evdev: a device path or "auto".
    pub device: Option<String>,
    /// serial: the port and its speed.
    pub port: Option<PathBuf>,
    pub baud: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScannerKind {
    None,
    Sim,
    Evdev,
    Serial,
}

/// The receipt printer a board has. `[receipt] printer` in the settings overrides it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterBoard {
    pub kind: PrinterKind,
    /// escpos-usb: the usblp node (`/dev/usb/lp0`); escpos-serial: the tty.
    pub device: Option<PathBuf>,
    /// escpos-tcp: HOST:PORT (port 9100 when left out).
    #[serde(default)]
    pub address: Option<String>,
    /// escpos-serial: the line speed (9600 when left out).
    #[serde(default)]
    pub baud: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrinterKind {
    #[default]
    None,
    EscposUsb,
    EscposSerial,
    EscposTcp,
}

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(
        "no board named \"{name}\" (built in: {}); give a board file path instead",
        BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    )]
    Unknown { name: String },
    #[error("cannot read board file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("board file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Board {
    /// A board by built-in name, or a path to a board file (anything with a '/' or ending in
    /// `.toml`).
    pub fn load(name_or_path: &str) -> Result<Board, BoardError> {
        if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
            let path = Path::new(name_or_path);
            let text = std::fs::read_to_string(path).map_err(|source| BoardError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            return Self::parse(&text, path);
        }
        let (_, text) = BUILT_IN
            .iter()
            .find(|(n, _)| *n == name_or_path)
            .ok_or_else(|| BoardError::Unknown {
                name: name_or_path.into(),
            })?;
        Self::parse(text, Path::new(&format!("hw/boards/{name_or_path}.toml")))
    }

    pub fn parse(text: &str, path: &Path) -> Result<Board, BoardError> {
        let invalid = |message: String| BoardError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let board: Board = toml::from_str(text).map_err(|e| {
            invalid(
                e.to_string()
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("invalid TOML")
                    .to_string(),
            )
        })?;
        board.check().map_err(invalid)?;
        Ok(board)
    }

    /// The wiring each chosen adapter needs is present.
    fn check(&self) -> Result<(), String> {
        match self.rfid.reader {
            RfidReaderKind::Pn5180 if self.rfid.pn5180.is_none() => {
                return Err("rfid.reader = \"pn5180\" needs an [rfid.pn5180] section".into());
            }
            RfidReaderKind::Serial3m | RfidReaderKind::Feig if self.rfid.serial.is_none() => {
                return Err("a serial RFID reader needs an [rfid.serial] section".into());
            }
            _ => {}
        }
        if let Some(p) = &self.rfid.pn5180 {
            if !(100_000..=7_000_000).contains(&p.spi_hz) {
                return Err(format!(
                    "rfid.pn5180.spi_hz: {} is outside the PN5180's 0.1 to 7 MHz",
                    p.spi_hz
                ));
            }
            let mut lines = vec![p.busy_line, p.reset_line];
            lines.extend(p.irq_line);
            lines.sort_unstable();
            if lines.windows(2).any(|w| w[0] == w[1]) {
                return Err("rfid.pn5180: BUSY, RST and IRQ must be different GPIO lines".into());
            }
            match (p.hal, &p.gpiochip) {
                (Hal::LinuxEmbeddedHal, None) => {
                    return Err("rfid.pn5180.gpiochip is missing (e.g. \"/dev/gpiochip0\")".into());
                }
                (Hal::Rppal, Some(_)) => {
                    return Err(
                        "rfid.pn5180.gpiochip is not used with hal = \"rppal\" (rppal finds the Pi's GPIO itself): remove it"
                            .into(),
                    );
                }
                (Hal::Rppal, None) => {
                    spidev_bus(&p.spidev).ok_or_else(|| {
                        format!(
                            "rfid.pn5180.spidev: with hal = \"rppal\" it must be /dev/spidevB.S, not {}",
                            p.spidev.display()
                        )
                    })?;
                    if lines.iter().any(|&l| l > u32::from(u8::MAX)) {
                        return Err("rfid.pn5180: GPIO lines are BCM numbers (0 to 53)".into());
                    }
                }
                (Hal::LinuxEmbeddedHal, Some(_)) => {}
            }
        }
        self.check_patron_card()?;
        match self.printer.kind {
            PrinterKind::EscposUsb | PrinterKind::EscposSerial if self.printer.device.is_none() => {
                return Err("an escpos-usb or escpos-serial printer needs printer.device".into());
            }
            PrinterKind::EscposTcp if self.printer.address.is_none() => {
                return Err("printer.kind = \"escpos-tcp\" needs printer.address".into());
            }
            _ => {}
        }
        match self.scanner.kind {
            ScannerKind::Evdev if self.scanner.device.is_none() => {
                Err("scanner.kind = \"evdev\" needs scanner.device (a path or \"auto\")".into())
            }
            ScannerKind::Serial if self.scanner.port.is_none() => {
                Err("scanner.kind = \"serial\" needs scanner.port".into())
            }
            _ => Ok(()),
        }
    }

    fn check_patron_card(&self) -> Result<(), String> {
        let card = &self.patron_card;
        if card.reader == PatronCardReaderKind::Pn5180 && self.rfid.reader != RfidReaderKind::Pn5180
        {
            return Err(
                "patron_card.reader = \"pn5180\" needs rfid.reader = \"pn5180\" (they share the chip)"
                    .into(),
            );
        }
        if card.reader != PatronCardReaderKind::Mfrc522 {
            let wiring = [
                ("spidev", card.spidev.is_some()),
                ("spi_hz", card.spi_hz.is_some()),
                ("gpiochip", card.gpiochip.is_some()),
                ("reset_line", card.reset_line.is_some()),
            ];
            if let Some((key, _)) = wiring.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "patron_card.{key} is only used with patron_card.reader = \"mfrc522\""
                ));
            }
            return Ok(());
        }
        if card.spidev.is_none() {
            return Err(
                "patron_card.reader = \"mfrc522\" needs patron_card.spidev (e.g. \"/dev/spidev0.1\")"
                    .into(),
            );
        }
        if let Some(hz) = card.spi_hz
            && !(100_000..=10_000_000).contains(&hz)
        {
            return Err(format!(
                "patron_card.spi_hz: {hz} is outside the MFRC522's 0.1 to 10 MHz"
            ));
        }
        if card.gpiochip.is_some() != card.reset_line.is_some() {
            return Err("patron_card: give gpiochip and reset_line together, or neither".into());
        }
        if let Some(p) = &self.rfid.pn5180
            && card.spidev.as_ref() == Some(&p.spidev)
        {
            return Err(format!(
                "patron_card.spidev {} is the PN5180's: the MFRC522 needs its own chip select",
                p.spidev.display()
            ));
        }
        Ok(())
    }
}

/// The bus and slave select of a `/dev/spidevB.S` path.
pub fn spidev_bus(path: &Path) -> Option<(u8, u8)> {
    let name = path.to_str()?.strip_prefix("/dev/spidev")?;
    let (bus, ss) = name.split_once('.')?;
    Some((bus.parse().ok()?, ss.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_board_loads() {
        for (name, _) in BUILT_IN {
            let board = Board::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&board.name, name);
        }
    }

    #[test]
    fn sim_is_all_simulated() {
        let b = Board::load("sim").expect("sim");
        assert_eq!(b.rfid.reader, RfidReaderKind::Sim);
        assert_eq!(b.scanner.kind, ScannerKind::Sim);
        assert_eq!(b.patron_card.reader, PatronCardReaderKind::Sim);
    }

    #[test]
    fn pn5180_wiring() {
        let b = Board::load("rpi4-pn5180").expect("pi");
        let pins = b.rfid.pn5180.expect("pins");
        assert_eq!(pins.spidev, Path::new("/dev/spidev0.0"));
        assert_eq!(
            (pins.busy_line, pins.reset_line, pins.irq_line),
            (25, 7, Some(24))
        );
    }

    #[test]
    fn board_file_by_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("mine.toml");
        std::fs::write(
            &path,
            "name = \"mine\"\n[rfid]\nreader = \"sim\"\n[patron_card]\nreader = \"none\"\n[scanner]\nkind = \"none\"\n",
        )
        .expect("write");
        let b = Board::load(path.to_str().expect("utf-8 path")).expect("load");
        assert_eq!(b.name, "mine");
        assert_eq!(b.printer.kind, PrinterKind::None);
    }

    #[test]
    fn unknown_name_lists_the_built_in_ones() {
        let msg = Board::load("rpi9").expect_err("unknown").to_string();
        assert!(msg.contains("rpi4-pn5180"), "{msg}");
    }

    #[test]
    fn missing_file() {
        let msg = Board::load("/nonexistent/b.toml")
            .expect_err("missing")
            .to_string();
        assert!(msg.contains("/nonexistent/b.toml"), "{msg}");
    }

    fn parse_err(text: &str) -> String {
        Board::parse(text, Path::new("b.toml"))
            .expect_err("invalid")
            .to_string()
    }

    const TAIL: &str = "[patron_card]\nreader = \"none\"\n[scanner]\nkind = \"none\"\n";

    #[test]
    fn missing_wiring_is_named() {
        let msg = parse_err(&format!(
            "name = \"x\"\n[rfid]\nreader = \"pn5180\"\n{TAIL}"
        ));
        assert!(msg.contains("[rfid.pn5180]"), "{msg}");
        let msg = parse_err(&format!("name = \"x\"\n[rfid]\nreader = \"feig\"\n{TAIL}"));
        assert!(msg.contains("[rfid.serial]"), "{msg}");
        let msg = parse_err(
            "name = \"x\"\n[rfid]\nreader = \"sim\"\n[patron_card]\nreader = \"none\"\n[scanner]\nkind = \"serial\"\n",
        );
        assert!(msg.contains("scanner.port"), "{msg}");
        let msg = parse_err(&format!(
            "name = \"x\"\n[rfid]\nreader = \"sim\"\n{TAIL}[printer]\nkind = \"escpos-usb\"\n"
        ));
        assert!(msg.contains("printer.device"), "{msg}");
        let msg = parse_err(&format!(
            "name = \"x\"\n[rfid]\nreader = \"sim\"\n{TAIL}[printer]\nkind = \"escpos-tcp\"\n"
        ));
        assert!(msg.contains("printer.address"), "{msg}");
    }

    #[test]
    fn bad_pins_are_refused() {
        let pins = |hz: u32, busy: u32, rst: u32| {
            format!(
                "name = \"x\"\n[rfid]\nreader = \"pn5180\"\n[rfid.pn5180]\nspidev = \"/dev/spidev0.0\"\nspi_hz = {hz}\ngpiochip = \"/dev/gpiochip0\"\nbusy_line = {busy}\nreset_line = {rst}\n{TAIL}"
            )
        };
        assert!(parse_err(&pins(20_000_000, 25, 7)).contains("spi_hz"));
        let no_chip = pins(7_000_000, 25, 7).replace("gpiochip = \"/dev/gpiochip0\"\n", "");
        assert!(parse_err(&no_chip).contains("gpiochip is missing"));
        let rppal = pins(7_000_000, 25, 7).replace("spidev =", "hal = \"rppal\"\nspidev =");
        assert!(parse_err(&rppal).contains("not used with hal"));
        let rppal = no_chip.replace("spidev =", "hal = \"rppal\"\nspidev =");
        let board = Board::parse(&rppal, Path::new("b.toml")).expect("rppal board");
        assert_eq!(board.rfid.pn5180.map(|p| p.hal), Some(Hal::Rppal));
        let odd = rppal.replace("/dev/spidev0.0", "/dev/pn5180");
        assert!(parse_err(&odd).contains("/dev/spidevB.S"));
        assert!(parse_err(&pins(7_000_000, 25, 25)).contains("different GPIO"));
        assert!(Board::parse(&pins(7_000_000, 25, 7), Path::new("b.toml")).is_ok());
    }

    #[test]
    fn patron_card_readers() {
        let board = |card: &str| {
            format!(
                "name = \"x\"\n[rfid]\nreader = \"sim\"\n[patron_card]\n{card}\n[scanner]\nkind = \"none\"\n"
            )
        };
        assert!(parse_err(&board("reader = \"pn5180\"")).contains("share the chip"));
        assert!(parse_err(&board("reader = \"mfrc522\"")).contains("patron_card.spidev"));
        assert!(
            parse_err(&board("reader = \"none\"\nspidev = \"/dev/spidev0.1\""))
                .contains("only used")
        );
        assert!(
            parse_err(&board(
                "reader = \"mfrc522\"\nspidev = \"/dev/spidev0.1\"\nreset_line = 22"
            ))
            .contains("together")
        );
        let ok = Board::parse(
            &board("reader = \"mfrc522\"\nspidev = \"/dev/spidev0.1\"\nspi_hz = 4000000"),
            Path::new("b.toml"),
        )
        .expect("mfrc522 board");
        assert_eq!(ok.patron_card.spi_hz, Some(4_000_000));
        assert_eq!(spidev_bus(Path::new("/dev/spidev1.2")), Some((1, 2)));
        assert_eq!(spidev_bus(Path::new("/dev/spidev1")), None);
    }

    #[test]
    fn unknown_reader_kind_is_named() {
        let msg = parse_err(&format!("name = \"x\"\n[rfid]\nreader = \"acme\"\n{TAIL}"));
        assert!(
            msg.contains("acme") || msg.contains("unknown variant"),
            "{msg}"
        );
    }
}
