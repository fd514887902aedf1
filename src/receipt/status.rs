//! Real-time status (`DLE EOT n`): what the printer says about itself, sans-IO.
//!
//! Each query is three bytes and each answer one byte. Every answer byte has bit 1 and bit 4
//! set and bits 0 and 7 clear, which tells a status byte from anything else a confused
//! printer (or a device that is not a printer) might send.

use serde::Serialize;

/// The queries asked before printing, in order: printer, offline cause, paper roll.
pub const QUERIES: [StatusQuery; 3] = [
    StatusQuery::Printer,
    StatusQuery::OfflineCause,
    StatusQuery::PaperRoll,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusQuery {
    /// n = 1
    Printer,
    /// n = 2
    OfflineCause,
    /// n = 3
    Error,
    /// n = 4
    PaperRoll,
}

impl StatusQuery {
    /// The bytes that ask it: `DLE EOT n`.
    pub fn bytes(self) -> [u8; 3] {
        let n = match self {
            StatusQuery::Printer => 1,
            StatusQuery::OfflineCause => 2,
            StatusQuery::Error => 3,
            StatusQuery::PaperRoll => 4,
        };
        [0x10, 0x04, n]
    }
}

/// What the printer reported. `Default` is a printer that said nothing wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    pub online: bool,
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_near_end: bool,
    /// An error the printer itself reports (cutter jam, head overheated, ...).
    pub error: bool,
}

impl Default for PrinterStatus {
    fn default() -> Self {
        PrinterStatus {
            online: true,
            cover_open: false,
            paper_out: false,
            paper_near_end: false,
            error: false,
        }
    }
}

/// A byte that cannot be a status answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the printer answered 0x{0:02X}, which is not a status byte")]
pub struct NotAStatus(pub u8);

impl PrinterStatus {
    /// Fold one answer into the status.
    pub fn apply(&mut self, query: StatusQuery, answer: u8) -> Result<(), NotAStatus> {
        if answer & 0b1001_0011 != 0b0001_0010 {
            return Err(NotAStatus(answer));
        }
        let bit = |n: u8| answer & (1 << n) != 0;
        match query {
            StatusQuery::Printer => self.online = !bit(3),
            StatusQuery::OfflineCause => {
                self.cover_open |= bit(2);
                self.paper_out |= bit(5);
                self.error |= bit(6);
            }
            StatusQuery::Error => self.error |= bit(2) || bit(3) || bit(5) || bit(6),
            StatusQuery::PaperRoll => {
                self.paper_near_end |= bit(2) || bit(3);
                self.paper_out |= bit(5) || bit(6);
            }
        }
        Ok(())
    }

    /// The one thing that stops printing now, worst first; `None` when it can print.
    pub fn problem(&self) -> Option<PrinterProblem> {
        if self.paper_out {
            Some(PrinterProblem::PaperOut)
        } else if self.cover_open {
            Some(PrinterProblem::CoverOpen)
        } else if self.error {
            Some(PrinterProblem::Error)
        } else if !self.online {
            Some(PrinterProblem::Offline)
        } else {
            None
        }
    }
}

/// Why a receipt cannot be printed, in the words staff mode and the fleet health use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterProblem {
    PaperOut,
    CoverOpen,
    Error,
    Offline,
    /// Cannot be reached, or does not answer in time.
    Unreachable,
}

impl PrinterProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterProblem::PaperOut => "paper_out",
            PrinterProblem::CoverOpen => "cover_open",
            PrinterProblem::Error => "error",
            PrinterProblem::Offline => "offline",
            PrinterProblem::Unreachable => "unreachable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(answers: [u8; 3]) -> Result<PrinterStatus, NotAStatus> {
        let mut s = PrinterStatus::default();
        for (q, a) in QUERIES.into_iter().zip(answers) {
            s.apply(q, a)?;
        }
        Ok(s)
    }

    #[test]
    fn queries_are_dle_eot_n() {
        assert_eq!(StatusQuery::Printer.bytes(), [0x10, 0x04, 0x01]);
        assert_eq!(StatusQuery::OfflineCause.bytes(), [0x10, 0x04, 0x02]);
        assert_eq!(StatusQuery::Error.bytes(), [0x10, 0x04, 0x03]);
        assert_eq!(StatusQuery::PaperRoll.bytes(), [0x10, 0x04, 0x04]);
    }

    #[test]
    fn known_answers() {
        // An idle printer with paper: every answer is the fixed bits alone.
        let ok = status([0x12, 0x12, 0x12]).expect("valid");
        assert_eq!(ok, PrinterStatus::default());
        assert_eq!(ok.problem(), None);
        // Paper end: offline (bit 3), stopped by paper end (bit 5), sensor says end (5, 6).
        let out = status([0x1A, 0x32, 0x72]).expect("valid");
        assert!(out.paper_out && !out.online && !out.cover_open);
        assert_eq!(out.problem(), Some(PrinterProblem::PaperOut));
        // Cover open.
        let cover = status([0x1A, 0x16, 0x12]).expect("valid");
        assert_eq!(cover.problem(), Some(PrinterProblem::CoverOpen));
        // Paper near end still prints.
        let near = status([0x12, 0x12, 0x1E]).expect("valid");
        assert!(near.paper_near_end && near.problem().is_none());
        let mut err = PrinterStatus::default();
        err.apply(StatusQuery::Error, 0x1A).expect("valid");
        assert_eq!(err.problem(), Some(PrinterProblem::Error));
    }

    #[test]
    fn bytes_without_the_fixed_bits_are_refused() {
        for junk in [0x00, 0xFF, 0x41, 0x13, 0x92] {
            assert_eq!(status([junk, 0x12, 0x12]), Err(NotAStatus(junk)));
        }
    }

    proptest! {
        #[test]
        fn any_answer_is_classified_without_panic(a in any::<u8>(), b in any::<u8>(), c in any::<u8>()) {
            let valid = [a, b, c].iter().all(|x| x & 0x93 == 0x12);
            prop_assert_eq!(status([a, b, c]).is_ok(), valid);
        }
    }
}
