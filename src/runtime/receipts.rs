//! Receipts for the runtime: the core's [`ReceiptRequest`] made into a [`Receipt`] (library,
//! terminal, time, card, the ILS's print lines), printed on a blocking thread with every step
//! bounded (paper out, cover open or an unreachable printer come back as a state for the
//! patron and for staff, never as a hang), or queued in the e-mail outbox, which a background
//! task sends and retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use crate::board::PrinterBoard;
use crate::config::Settings;
use crate::kiosk::{Activity, ItemState, Language, ReceiptAddress, ReceiptRequest, ReceiptState};
use crate::receipt::{
    Delivery, EmailSettings, Mailer, Outcome, PrintError, PrinterHealth, PrinterProblem, Receipt,
    ReceiptItem, ReceiptPrinter, Recipient, deliver_due, drain, queue_email,
};
use crate::store::StoreHandle;

/// How often the outbox is looked at for mail due.
pub const MAIL_ROUND: Duration = Duration::from_secs(30);

/// What the kiosk knows of its printer, for staff mode and the fleet health.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrinterState {
    pub address: Option<String>,
    /// The problem the last print met; `None` when it printed.
    pub problem: Option<PrinterProblem>,
    pub detail: Option<String>,
}

/// Printer and mail of one terminal.
#[derive(Clone, Default)]
pub struct ReceiptService {
    printer: Option<Arc<Mutex<ReceiptPrinter>>>,
    mailer: Option<Arc<Mailer>>,
    email: EmailSettings,
    library_name: String,
    terminal_id: String,
    /// The language of the staff's delivery slips.
    staff_language: Option<Language>,
    pub printer_state: Arc<Mutex<PrinterState>>,
}

impl ReceiptService {
    /// The printer (`[receipt] printer`, else the board's) and the mail server the settings
    /// name. A printer or mailer that cannot be set up is logged and left out, so the kiosk
    /// still serves (and `config check` names the setting).
    pub fn from_settings(settings: &Settings, board: &PrinterBoard) -> ReceiptService {
        let printer = match ReceiptPrinter::from_settings(&settings.receipt, board) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("no receipt printer: {e}");
                None
            }
        };
        let mailer = match settings.receipt.email.smtp {
            Some(_) => match Mailer::from_settings(&settings.receipt.email) {
                Ok(m) => Some(Arc::new(m)),
                Err(e) => {
                    tracing::error!("no e-mailed receipts: {e}");
                    None
                }
            },
            None => None,
        };
        let state = PrinterState {
            address: printer
                .as_ref()
                .and_then(|p| p.address().map(str::to_string)),
            ..PrinterState::default()
        };
        ReceiptService {
            printer: printer.map(|p| Arc::new(Mutex::new(p))),
            mailer,
            email: settings.receipt.email.clone(),
            library_name: settings.terminal.library_name.clone(),
            terminal_id: settings.terminal.id.clone(),
            staff_language: settings
                .terminal
                .languages
                .first()
                .and_then(|c| Language::from_code(c)),
            printer_state: Arc::new(Mutex::new(state)),
        }
    }

    pub fn has_printer(&self) -> bool {
        self.printer.is_some()
    }

    pub fn has_mailer(&self) -> bool {
        self.mailer.is_some()
    }

    /// The receipt of a session: the core's items with the terminal's details.
    pub fn receipt(&self, request: &ReceiptRequest, print_lines: &[String]) -> Receipt {
        let items = request
            .items
            .iter()
            .map(|line| ReceiptItem {
                item_id: line.item_id.clone(),
                title: line.title.clone(),
                outcome: match request.activity {
                    Activity::Return => Outcome::Returned {
                        sort_bin: line.sort_bin.clone(),
                    },
                    _ => Outcome::Lent {
                        due: line
                            .due
                            .as_deref()
                            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
                    },
                },
                confirmed_later: line.state == ItemState::DoneOffline,
            })
            .collect();
        Receipt {
            library_name: self.library_name.clone(),
            terminal_id: self.terminal_id.clone(),
            at: chrono::Local::now().naive_local(),
            language: request.language,
            card: request.patron_id.clone().unwrap_or_default(),
            items,
            holds_ready: request.holds_ready.clone(),
            fines: request.fines.clone(),
            print_lines: print_lines.to_vec(),
        }
    }

    /// Print `receipt`, bounded by the printer's timeouts; the state the patron is told.
    pub async fn print(&self, receipt: Receipt) -> ReceiptState {
        let Some(printer) = self.printer.clone() else {
            return ReceiptState::PrinterFault;
        };
        let outcome = tokio::task::spawn_blocking(move || match printer.lock() {
            Ok(mut p) => p.print(&receipt).map(|_| ()).map_err(|e| describe(&e)),
            Err(_) => Err((Some(PrinterProblem::Error), "printer lock poisoned".into())),
        })
        .await
        .unwrap_or_else(|e| Err((Some(PrinterProblem::Error), e.to_string())));
        self.note_printer(outcome)
    }

    /// Print the staff's slip for a home delivery.
    pub async fn print_delivery_slip(
        &self,
        item_id: &str,
        title: &str,
        patron_id: &str,
        address: &str,
    ) -> ReceiptState {
        let language = self.staff_language.unwrap_or(Language::English);
        let heading = match language {
            Language::English => "HOME DELIVERY - for the staff",
            Language::Italian => "CONSEGNA A DOMICILIO - per il personale",
            Language::Chinese => "送书上门 - 工作人员联",
        };
        let slip = Receipt {
            library_name: self.library_name.clone(),
            terminal_id: self.terminal_id.clone(),
            at: chrono::Local::now().naive_local(),
            language,
            card: patron_id.to_string(),
            items: Vec::new(),
            holds_ready: Vec::new(),
            fines: None,
            print_lines: vec![
                heading.to_string(),
                if title.trim().is_empty() {
                    item_id.to_string()
                } else {
                    title.to_string()
                },
                item_id.to_string(),
                address.to_string(),
            ],
        };
        self.print(slip).await
    }

    fn note_printer(&self, outcome: Result<(), (Option<PrinterProblem>, String)>) -> ReceiptState {
        let (state, problem, detail) = match outcome {
            Ok(()) => (ReceiptState::Printed, None, None),
            Err((problem, detail)) => {
                let state = match problem {
                    Some(PrinterProblem::PaperOut) => ReceiptState::NoPaper,
                    Some(PrinterProblem::CoverOpen) => ReceiptState::CoverOpen,
                    _ => ReceiptState::PrinterFault,
                };
                (state, problem, Some(detail))
            }
        };
        if let Ok(mut s) = self.printer_state.lock() {
            s.problem = problem;
            s.detail = detail;
        }
        state
    }

    /// Queue the mail of `receipt` for `address`; it is sent in the background.
    pub async fn email(
        &self,
        store: &StoreHandle,
        receipt: Receipt,
        address: ReceiptAddress,
    ) -> ReceiptState {
        if self.mailer.is_none() {
            return ReceiptState::NotSent;
        }
        let recipient = match address {
            ReceiptAddress::FromIls(a) => Recipient::FromIls(a),
            ReceiptAddress::Typed(a) => Recipient::Typed(a),
        };
        match queue_email(store, &self.email, &receipt, &recipient).await {
            Ok(_) => ReceiptState::Queued,
            Err(e) => {
                tracing::warn!("receipt mail not queued: {e}");
                ReceiptState::NotSent
            }
        }
    }

    /// Send the mail due now (one round); `None` without a mail server.
    pub async fn send_due(&self, store: &StoreHandle) -> Option<Delivery> {
        let mailer = self.mailer.as_ref()?;
        match deliver_due(store, mailer, chrono::Utc::now()).await {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("receipt mail round failed: {e}");
                None
            }
        }
    }

    /// Send everything queued, for at most `timeout`; `None` without a mail server.
    pub async fn drain(&self, store: &StoreHandle, timeout: Duration) -> Option<Delivery> {
        let mailer = self.mailer.as_ref()?;
        match drain(store, mailer, timeout).await {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("receipt mail not sent: {e}");
                None
            }
        }
    }

    /// Ask the printer how it is (bounded), for staff mode.
    pub async fn health(&self) -> Option<PrinterHealth> {
        let printer = self.printer.clone()?;
        tokio::task::spawn_blocking(move || printer.lock().ok().map(|mut p| p.health()))
            .await
            .ok()
            .flatten()
    }
}

/// A print error as the problem staff see and its text.
fn describe(e: &PrintError) -> (Option<PrinterProblem>, String) {
    (e.problem(), e.to_string())
}
