//! Opening the adapters a board file names. The same binary runs the simulated board on a
//! laptop and the real readers on a Pi; only this module and `main` know both.

use crate::board::{Board, RfidReaderKind};
use crate::rfid::reader::{Iso15693Reader, TagReader};
use crate::rfid::sim::SimPad;

#[derive(Debug, thiserror::Error)]
pub enum HwError {
    #[error("board {board}: {message}")]
    Board { board: String, message: String },
    #[error("RFID reader: {0}")]
    Open(String),
    #[error("barcode scanner: {0}")]
    Scanner(String),
}

/// The item reader of a board. For the `sim` reader, `pad` is the simulated pad it reads
/// (the caller keeps a clone to place and lift tags).
pub fn open_tag_reader(board: &Board, pad: &SimPad) -> Result<Box<dyn TagReader + Send>, HwError> {
    let missing = |what: &str| HwError::Board {
        board: board.name.clone(),
        message: format!("the {what} section is missing"),
    };
    match board.rfid.reader {
        RfidReaderKind::Sim => {
            pad.set_real_time(board.rfid.real_time);
            Ok(Box::new(Iso15693Reader::new(pad.clone())))
        }
        RfidReaderKind::Pn5180 => {
            let pins = board
                .rfid
                .pn5180
                .as_ref()
                .ok_or_else(|| missing("[rfid.pn5180]"))?;
            open_pn5180(pins)
        }
        RfidReaderKind::Serial3m | RfidReaderKind::Feig => {
            let serial = board
                .rfid
                .serial
                .as_ref()
                .ok_or_else(|| missing("[rfid.serial]"))?;
            open_serial(board.rfid.reader, serial)
        }
    }
}

#[cfg(target_os = "linux")]
fn open_pn5180(pins: &crate::board::Pn5180Pins) -> Result<Box<dyn TagReader + Send>, HwError> {
    let chip =
        crate::drivers::linux::open_pn5180(pins).map_err(|e| HwError::Open(e.to_string()))?;
    Ok(Box::new(Iso15693Reader::new(chip)))
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
fn open_pn5180(_: &crate::board::Pn5180Pins) -> Result<Box<dyn TagReader + Send>, HwError> {
    Err(HwError::Open(
        "the PN5180 adapter needs Linux (spidev, GPIO character devices)".into(),
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
