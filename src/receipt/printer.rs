//! The printer port: a real ESC/POS adapter over the transports, an in-memory one for tests,
//! and [`ReceiptPrinter`], which lays a receipt out and prints it on either.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::address::{AddressError, PrinterAddress};
use super::escpos::EncoderOptions;
use super::layout::print_job;
use super::model::Receipt;
use super::raster::{FontError, Rasteriser};
use super::settings::ReceiptSettings;
use super::status::{NotAStatus, PrinterProblem, PrinterStatus, QUERIES};
use super::transport::{self, Link};
use crate::board::PrinterBoard;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer's cover is open")]
    CoverOpen,
    #[error("the printer reports an error (cutter, head or power)")]
    PrinterError,
    #[error("the printer is offline")]
    Offline,
    #[error("cannot reach the printer at {address}: {source}")]
    Unreachable { address: String, source: io::Error },
    #[error(transparent)]
    BadStatus(#[from] NotAStatus),
    #[error("no receipt printer: set [receipt] printer or the board's [printer]")]
    NoPrinter,
    #[error("receipt printer settings: {0}")]
    Address(#[from] AddressError),
    #[error(transparent)]
    Font(#[from] FontError),
}

impl PrintError {
    /// The problem in the words of staff mode and the fleet health; `None` for settings
    /// mistakes, which `config check` reports.
    pub fn problem(&self) -> Option<PrinterProblem> {
        Some(match self {
            PrintError::PaperOut => PrinterProblem::PaperOut,
            PrintError::CoverOpen => PrinterProblem::CoverOpen,
            PrintError::PrinterError | PrintError::BadStatus(_) => PrinterProblem::Error,
            PrintError::Offline => PrinterProblem::Offline,
            PrintError::Unreachable { .. } => PrinterProblem::Unreachable,
            PrintError::NoPrinter | PrintError::Address(_) | PrintError::Font(_) => return None,
        })
    }

    fn from_problem(problem: PrinterProblem) -> PrintError {
        match problem {
            PrinterProblem::PaperOut => PrintError::PaperOut,
            PrinterProblem::CoverOpen => PrintError::CoverOpen,
            PrinterProblem::Error => PrintError::PrinterError,
            PrinterProblem::Offline | PrinterProblem::Unreachable => PrintError::Offline,
        }
    }
}

/// A receipt printer. Calls block for at most the adapter's timeout per step: run them on a
/// blocking thread (`tokio::task::spawn_blocking`), never on the UI thread.
pub trait Printer: Send {
    /// Ask the printer how it is; `Ok(None)` when it cannot say (a file).
    fn status(&mut self) -> Result<Option<PrinterStatus>, PrintError>;
    /// Print one job, unless the printer says it cannot (no paper, cover open, ...). Returns
    /// the status after printing when the printer gives one.
    fn print(&mut self, job: &[u8]) -> Result<Option<PrinterStatus>, PrintError>;
}

/// ESC/POS over TCP, usblp, serial or a file. Each call opens the printer, asks its status
/// (two-way transports), sends, and closes: a printer switched off and on again between two
/// sessions needs nothing from the kiosk.
pub struct EscposPrinter {
    address: PrinterAddress,
    timeout: Duration,
}

impl EscposPrinter {
    pub fn new(address: PrinterAddress, timeout: Duration) -> EscposPrinter {
        EscposPrinter { address, timeout }
    }

    pub fn address(&self) -> &PrinterAddress {
        &self.address
    }

    fn unreachable(&self, source: io::Error) -> PrintError {
        PrintError::Unreachable {
            address: self.address.to_string(),
            source,
        }
    }

    fn open(&self) -> Result<Box<dyn Link>, PrintError> {
        transport::open(&self.address, self.timeout).map_err(|e| self.unreachable(e))
    }

    /// The DLE EOT answers, `None` when the link is one-way (a file). A two-way printer that
    /// does not answer in time is unreachable: the kiosk says so rather than print blind.
    fn ask(&self, link: &mut dyn Link) -> Result<Option<PrinterStatus>, PrintError> {
        if !self.address.is_two_way() {
            return Ok(None);
        }
        let mut status = PrinterStatus::default();
        for query in QUERIES {
            let deadline = Instant::now() + self.timeout;
            transport::write_all_by(link, &query.bytes(), deadline)
                .map_err(|e| self.unreachable(e))?;
            match transport::read_byte_by(link, deadline) {
                Ok(Some(answer)) => status.apply(query, answer)?,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.unreachable(e)),
            }
        }
        Ok(Some(status))
    }
}

impl Printer for EscposPrinter {
    fn status(&mut self) -> Result<Option<PrinterStatus>, PrintError> {
        let mut link = self.open()?;
        self.ask(link.as_mut())
    }

    fn print(&mut self, job: &[u8]) -> Result<Option<PrinterStatus>, PrintError> {
        let mut link = self.open()?;
        let before = self.ask(link.as_mut())?;
        if let Some(problem) = before.and_then(|s| s.problem()) {
            return Err(PrintError::from_problem(problem));
        }
        // A job takes longer than a status byte: give it the timeout per 4 KiB.
        let budget = self.timeout * u32::try_from(job.len() / 4096 + 1).unwrap_or(u32::MAX);
        transport::write_all_by(link.as_mut(), job, Instant::now() + budget)
            .map_err(|e| self.unreachable(e))?;
        if before.is_none() {
            return Ok(None);
        }
        let after = self.ask(link.as_mut())?;
        // Paper that ran out during the job: the patron's receipt is cut short.
        match after.and_then(|s| s.problem()) {
            Some(PrinterProblem::PaperOut) => Err(PrintError::PaperOut),
            _ => Ok(after),
        }
    }
}

/// A printer in memory: records jobs, reports the status it is given.
#[derive(Clone, Default)]
pub struct MemoryPrinter {
    pub status: Arc<Mutex<PrinterStatus>>,
    pub jobs: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl MemoryPrinter {
    pub fn set_status(&self, status: PrinterStatus) {
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
    }

    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().map(|j| j.clone()).unwrap_or_default()
    }

    fn current(&self) -> PrinterStatus {
        self.status.lock().map(|s| *s).unwrap_or_default()
    }
}

impl Printer for MemoryPrinter {
    fn status(&mut self) -> Result<Option<PrinterStatus>, PrintError> {
        Ok(Some(self.current()))
    }

    fn print(&mut self, job: &[u8]) -> Result<Option<PrinterStatus>, PrintError> {
        let status = self.current();
        if let Some(problem) = status.problem() {
            return Err(PrintError::from_problem(problem));
        }
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.push(job.to_vec());
        }
        Ok(Some(status))
    }
}

/// What staff mode and the fleet health show of the printer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrinterHealth {
    /// Where it is (`tcp://...`, `usb:...`); `None` when the terminal has no printer.
    pub address: Option<String>,
    /// `None` when it can print (or cannot say).
    pub problem: Option<PrinterProblem>,
    pub status: Option<PrinterStatus>,
    /// The error in full, for staff.
    pub detail: Option<String>,
}

/// Receipts laid out for one printer and printed on it.
pub struct ReceiptPrinter {
    printer: Box<dyn Printer>,
    address: Option<String>,
    options: EncoderOptions,
    raster: Rasteriser,
    qr: bool,
}

impl ReceiptPrinter {
    /// The printer the settings and the board name (`[receipt] printer` first), `None` when
    /// the terminal has none.
    pub fn from_settings(
        settings: &ReceiptSettings,
        board: &PrinterBoard,
    ) -> Result<Option<ReceiptPrinter>, PrintError> {
        let Some(address) = PrinterAddress::in_effect(settings.printer.as_deref(), board)? else {
            return Ok(None);
        };
        let timeout = Duration::from_secs(u64::from(settings.timeout_secs.max(1)));
        let shown = address.to_string();
        let mut printer = Self::new(Box::new(EscposPrinter::new(address, timeout)), settings)?;
        printer.address = Some(shown);
        Ok(Some(printer))
    }

    /// Receipts for `printer` laid out as the settings say (tests give a [`MemoryPrinter`]).
    pub fn new(
        printer: Box<dyn Printer>,
        settings: &ReceiptSettings,
    ) -> Result<ReceiptPrinter, PrintError> {
        let raster = match &settings.font {
            Some(path) => Rasteriser::from_file(path)?,
            None => Rasteriser::bundled(),
        };
        Ok(ReceiptPrinter {
            printer,
            address: None,
            options: EncoderOptions::from_settings(settings),
            raster,
            qr: settings.qr,
        })
    }

    /// Where the printer is (`tcp://...`), `None` for one given by the caller.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The bytes `receipt` prints as (sans-IO: nothing is sent).
    pub fn job(&self, receipt: &Receipt) -> Vec<u8> {
        print_job(receipt, self.options, &self.raster, self.qr)
    }

    /// Print `receipt`. Blocking, bounded by the printer timeout at each step.
    pub fn print(&mut self, receipt: &Receipt) -> Result<Option<PrinterStatus>, PrintError> {
        let job = self.job(receipt);
        let outcome = self.printer.print(&job);
        if let Err(e) = &outcome {
            tracing::warn!("receipt not printed: {e}");
        }
        outcome
    }

    /// Ask the printer how it is, for staff mode and the fleet health. Blocking, bounded.
    pub fn health(&mut self) -> PrinterHealth {
        let (problem, status, detail) = match self.printer.status() {
            Ok(status) => (status.and_then(|s| s.problem()), status, None),
            Err(e) => (e.problem(), None, Some(e.to_string())),
        };
        PrinterHealth {
            address: self.address.clone(),
            problem,
            status,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk::Language;

    #[test]
    fn memory_printer_prints_until_the_paper_runs_out() {
        let memory = MemoryPrinter::default();
        let mut printer =
            ReceiptPrinter::new(Box::new(memory.clone()), &ReceiptSettings::default())
                .expect("bundled font");
        let receipt = Receipt::sample(Language::English, "City Library", "kiosk-01");
        assert!(printer.print(&receipt).is_ok());
        memory.set_status(PrinterStatus {
            paper_out: true,
            ..PrinterStatus::default()
        });
        assert!(matches!(printer.print(&receipt), Err(PrintError::PaperOut)));
        assert_eq!(memory.jobs().len(), 1);
        let health = printer.health();
        assert_eq!(health.problem, Some(PrinterProblem::PaperOut));
        assert_eq!(health.address, None);
    }

    #[test]
    fn no_printer_anywhere_is_none() {
        let s = ReceiptSettings::default();
        assert!(matches!(
            ReceiptPrinter::from_settings(&s, &PrinterBoard::default()),
            Ok(None)
        ));
        let s = ReceiptSettings {
            printer: Some("file:/tmp/x.bin".into()),
            ..ReceiptSettings::default()
        };
        let p = ReceiptPrinter::from_settings(&s, &PrinterBoard::default())
            .expect("valid")
            .expect("a printer");
        assert_eq!(p.address.as_deref(), Some("file:/tmp/x.bin"));
    }
}
