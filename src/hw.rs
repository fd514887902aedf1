//! Opening the adapters a board file names. The same binary runs the simulated board on a
//! laptop and the real readers on a Pi; only this module and `main` know both.

use crate::board::{Board, Hal, PatronCardReaderKind, RfidReaderKind};
use crate::rfid::card::CardReader;
use crate::rfid::reader::{CardsOnSameChip, Iso15693Reader, TagReader, WithCardReader};
use crate::rfid::sim::SimPad;
use crate::rfid::transceiver::Transceiver;

#[derive(Debug, thiserror::Error)]
pub enum HwError {
    #[error("board {board}: {message}")]
    Board { board: String, message: String },
    #[error("RFID reader: {0}")]
    Open(String),
    #[error("barcode scanner: {0}")]
    Scanner(String),
}

/// The pad of a board: its item reader, polling ISO 14443A patron cards as the board's
/// `[patron_card] reader` says. For the `sim` readers, `pad` is the simulated pad they read
/// (the caller keeps a clone to place and lift tags and cards).
pub fn open_tag_reader(board: &Board, pad: &SimPad) -> Result<Box<dyn TagReader + Send>, HwError> {
    let missing = |what: &str| HwError::Board {
        board: board.name.clone(),
        message: format!("the {what} section is missing"),
    };
    let cards = board.patron_card.reader;
    match board.rfid.reader {
        RfidReaderKind::Sim => {
            pad.set_real_time(board.rfid.real_time);
            chip_pad(Iso15693Reader::new(pad.clone()), board, pad)
        }
        RfidReaderKind::Pn5180 => {
            let pins = board
                .rfid
                .pn5180
                .as_ref()
                .ok_or_else(|| missing("[rfid.pn5180]"))?;
            match pins.hal {
                Hal::LinuxEmbeddedHal => open_pn5180(pins, board, pad),
                Hal::Rppal => open_pn5180_rppal(pins, board, pad),
            }
        }
        RfidReaderKind::Serial3m | RfidReaderKind::Feig => {
            let serial = board
                .rfid
                .serial
                .as_ref()
                .ok_or_else(|| missing("[rfid.serial]"))?;
            let items = open_serial(board.rfid.reader, serial)?;
            match cards {
                PatronCardReaderKind::None => Ok(items),
                _ => with_card_reader(items, board, pad),
            }
        }
    }
}

/// An item reader over a chip that can also poll cards itself: the chip polls them when the
/// board says its item chip does (`pn5180` with a PN5180, `sim` with the simulated pad).
fn chip_pad<T>(
    items: Iso15693Reader<T>,
    board: &Board,
    pad: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError>
where
    T: Transceiver + CardReader + Send + 'static,
{
    let same_chip = match board.rfid.reader {
        RfidReaderKind::Sim => PatronCardReaderKind::Sim,
        _ => PatronCardReaderKind::Pn5180,
    };
    match board.patron_card.reader {
        PatronCardReaderKind::None => Ok(Box::new(items)),
        kind if kind == same_chip => Ok(Box::new(CardsOnSameChip::same_chip(items))),
        _ => with_card_reader(Box::new(items), board, pad),
    }
}

/// Items through `items`, cards through the board's separate card reader.
fn with_card_reader(
    items: Box<dyn TagReader + Send>,
    board: &Board,
    pad: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    match board.patron_card.reader {
        PatronCardReaderKind::None => Ok(items),
        PatronCardReaderKind::Sim => Ok(Box::new(WithCardReader::new(items, pad.clone()))),
        PatronCardReaderKind::Mfrc522 => {
            let cards = open_mfrc522(board)?;
            Ok(Box::new(WithCardReader::new(items, cards)))
        }
        PatronCardReaderKind::Pn5180 => Err(HwError::Board {
            board: board.name.clone(),
            message: "patron_card.reader = \"pn5180\" needs rfid.reader = \"pn5180\"".into(),
        }),
    }
}

#[cfg(target_os = "linux")]
fn open_pn5180(
    pins: &crate::board::Pn5180Pins,
    board: &Board,
    pad: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    let chip =
        crate::drivers::linux::open_pn5180(pins).map_err(|e| HwError::Open(e.to_string()))?;
    chip_pad(Iso15693Reader::new(chip), board, pad)
}

#[cfg(target_os = "linux")]
fn open_pn5180_rppal(
    pins: &crate::board::Pn5180Pins,
    board: &Board,
    pad: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    let chip = crate::drivers::rpi::open_pn5180(pins).map_err(|e| HwError::Open(e.to_string()))?;
    chip_pad(Iso15693Reader::new(chip), board, pad)
}

#[cfg(target_os = "linux")]
fn open_mfrc522(board: &Board) -> Result<crate::drivers::linux::LinuxMfrc522, HwError> {
    crate::drivers::linux::open_mfrc522(&board.patron_card)
        .map_err(|e| HwError::Open(format!("patron card reader: {e}")))
}

#[cfg(target_os = "linux")]
fn open_serial(
    kind: RfidReaderKind,
    serial: &crate::board::SerialPortBoard,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    use crate::drivers::linux::{SerialReaderKind, open_serial_reader};
    let kind = match kind {
        RfidReaderKind::Feig => SerialReaderKind::Feig,
        _ => SerialReaderKind::Bibliotheca,
    };
    let path = serial.port.to_string_lossy();
    open_serial_reader(kind, &path, Some(serial.baud)).map_err(|e| HwError::Open(e.to_string()))
}

#[cfg(not(target_os = "linux"))]
fn open_pn5180(
    _: &crate::board::Pn5180Pins,
    _: &Board,
    _: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    Err(HwError::Open(
        "the PN5180 adapter needs Linux (spidev, GPIO character devices)".into(),
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_pn5180_rppal(
    _: &crate::board::Pn5180Pins,
    _: &Board,
    _: &SimPad,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    Err(HwError::Open(
        "rppal drives a Raspberry Pi's peripherals, on Linux".into(),
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_mfrc522(_: &Board) -> Result<Box<dyn CardReader + Send>, HwError> {
    Err(HwError::Open(
        "the MFRC522 adapter needs Linux (spidev)".into(),
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_serial(
    _: RfidReaderKind,
    _: &crate::board::SerialPortBoard,
) -> Result<Box<dyn TagReader + Send>, HwError> {
    Err(HwError::Open(
        "serial readers are supported on Linux".into(),
    ))
}

/// The barcode scanner of a board; `None` when it has none, or for the simulated one (the
/// demo and the headless driver feed codes themselves).
pub fn open_scanner(
    board: &Board,
) -> Result<Option<Box<dyn crate::scan::Scanner + Send>>, HwError> {
    use crate::board::ScannerKind;
    let scanner = &board.scanner;
    match scanner.kind {
        ScannerKind::None | ScannerKind::Sim => Ok(None),
        ScannerKind::Evdev => open_wedge(scanner.device.as_deref()).map(Some),
        ScannerKind::Serial => {
            let port = scanner.port.as_ref().ok_or_else(|| HwError::Board {
                board: board.name.clone(),
                message: "scanner.kind = \"serial\" needs scanner.port".into(),
            })?;
            let baud = scanner.baud.unwrap_or(9600);
            let serial = crate::scan::serial::SerialScanner::open(&port.to_string_lossy(), baud)
                .map_err(|e| HwError::Scanner(e.to_string()))?;
            Ok(Some(Box::new(serial)))
        }
    }
}

#[cfg(target_os = "linux")]
fn open_wedge(device: Option<&str>) -> Result<Box<dyn crate::scan::Scanner + Send>, HwError> {
    use crate::scan::wedge::EvdevWedge;
    let wedge = match device {
        None | Some("auto") => EvdevWedge::find(None),
        Some(path) => EvdevWedge::open(path),
    }
    .map_err(|e| HwError::Scanner(e.to_string()))?;
    Ok(Box::new(wedge))
}

#[cfg(not(target_os = "linux"))]
fn open_wedge(_: Option<&str>) -> Result<Box<dyn crate::scan::Scanner + Send>, HwError> {
    Err(HwError::Scanner(
        "keyboard-wedge scanners are read through evdev, on Linux".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::tag::DataModel;

    #[test]
    fn sim_board_reads_the_pad() {
        let board = Board::load("sim").expect("sim");
        let pad = SimPad::new();
        pad.place_item(
            [1, 2, 3, 4, 5, 6, 4, 0xE0],
            "31234000012345",
            Some("IT-RM0001"),
            DataModel::Iso28560_3,
        )
        .expect("tag");
        let mut reader = open_tag_reader(&board, &pad).expect("reader");
        let uids = reader.inventory().expect("inventory");
        assert_eq!(uids.len(), 1);
    }

    #[test]
    fn sim_board_polls_cards_on_the_pad() {
        use crate::rfid::card::{CardMemoryRead, CardUid};
        let board = Board::load("sim").expect("sim");
        let pad = SimPad::new();
        let mut reader = open_tag_reader(&board, &pad).expect("reader");
        assert_eq!(reader.poll_patron_card(&CardMemoryRead::None), Ok(None));
        let uid = CardUid::parse("04A2246A5D5C80").expect("uid");
        pad.place_card(uid, Vec::new());
        let card = reader
            .poll_patron_card(&CardMemoryRead::None)
            .expect("poll")
            .expect("card");
        assert_eq!(card.uid, uid);
        assert!(pad.lift_card());
        assert_eq!(reader.poll_patron_card(&CardMemoryRead::None), Ok(None));

        let mut no_cards = board.clone();
        no_cards.patron_card.reader = PatronCardReaderKind::None;
        pad.place_card(uid, Vec::new());
        let mut items_only = open_tag_reader(&no_cards, &pad).expect("reader");
        assert_eq!(items_only.poll_patron_card(&CardMemoryRead::None), Ok(None));
    }

    #[test]
    fn missing_card_reader_device_is_named() {
        let mut board = Board::load("sim").expect("sim");
        board.patron_card = crate::board::PatronCardBoard {
            reader: PatronCardReaderKind::Mfrc522,
            spidev: Some("/nonexistent/spidev0.1".into()),
            spi_hz: None,
            gpiochip: None,
            reset_line: None,
        };
        let err = open_tag_reader(&board, &SimPad::new())
            .err()
            .expect("no device here");
        assert!(err.to_string().contains("/nonexistent/spidev0.1"), "{err}");
    }

    #[test]
    fn real_reader_without_its_device_is_a_clear_error() {
        let mut board = Board::load("rpi4-pn5180").expect("pi");
        if let Some(pins) = board.rfid.pn5180.as_mut() {
            pins.spidev = "/nonexistent/spidev0.0".into();
        }
        let err = open_tag_reader(&board, &SimPad::new())
            .err()
            .expect("no device here");
        assert!(err.to_string().contains("/nonexistent/spidev0.0"), "{err}");
    }
}
