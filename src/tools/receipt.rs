//! `selfcheck receipt`: the technician's checks of the receipt printer and the mail server —
//! a sample receipt printed, the printer's status, a sample mail sent.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::report;
use crate::board::Board;
use crate::config::Settings;
use crate::kiosk::Language;
use crate::receipt::{
    EmailError, Mailer, PrintError, PrinterHealth, PrinterStatus, Receipt, ReceiptPrinter,
    ReceiptSettings, compose,
};

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Print a sample receipt on the printer in effect ([receipt] printer, else the board's)
    Print(PrintArgs),
    /// Ask the printer for its status (paper, cover, errors)
    Status(PrinterArgs),
    /// Send a sample receipt mail through [receipt.email]
    Email(EmailArgs),
}

#[derive(Debug, Args)]
pub struct PrinterArgs {
    /// Use this printer instead (tcp://HOST:PORT, usb:VID:PID, serial:/dev/TTY, file:/PATH)
    #[arg(long, value_name = "URL")]
    pub printer: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// Print the sample receipt (the only receipt this tool prints: real ones come from
    /// patron sessions)
    #[arg(long, required = true)]
    pub test: bool,
    /// Language of the sample: en, it, zh_CN (default: the terminal's first language)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    #[command(flatten)]
    pub printer: PrinterArgs,
}

#[derive(Debug, Args)]
pub struct EmailArgs {
    /// Where to send the sample
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// Language of the sample: en, it, zh_CN (default: the terminal's first language)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptToolError {
    #[error("\"{0}\" is not a language of the kiosk (en, it, zh_CN)")]
    Language(String),
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

#[derive(Debug, Serialize)]
struct Printed {
    printer: Option<String>,
    printed: bool,
    bytes: usize,
    status: Option<PrinterStatus>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Mailed {
    server: String,
    to: String,
    subject: String,
    sent: bool,
    error: Option<String>,
}

/// Carry out one `receipt` command; failures of the printer or the mail server are reported
/// and give a failing exit code.
pub fn run(
    command: ReceiptCommand,
    settings: &Settings,
    board: &Board,
) -> Result<ExitCode, ReceiptToolError> {
    let language = |lang: Option<&str>| -> Result<Language, ReceiptToolError> {
        match lang {
            Some(code) => Language::from_code(&code.replace('-', "_"))
                .ok_or_else(|| ReceiptToolError::Language(code.into())),
            None => Ok(settings
                .terminal
                .languages
                .first()
                .and_then(|c| Language::from_code(c))
                .unwrap_or(Language::English)),
        }
    };
    let sample =
        |lang| Receipt::sample(lang, &settings.terminal.library_name, &settings.terminal.id);
    let (ok, text) = match command {
        ReceiptCommand::Print(args) => {
            let receipt = sample(language(args.lang.as_deref())?);
            let mut printer = open_printer(&settings.receipt, &args.printer, board)?;
            let bytes = printer.job(&receipt).len();
            let outcome = printer.print(&receipt);
            let report = Printed {
                printer: printer.address().map(String::from),
                printed: outcome.is_ok(),
                bytes,
                status: outcome.as_ref().ok().copied().flatten(),
                error: outcome.err().map(|e| e.to_string()),
            };
            (report.printed, render(&report, args.printer.json))
        }
        ReceiptCommand::Status(args) => {
            let health: PrinterHealth = open_printer(&settings.receipt, &args, board)?.health();
            (health.problem.is_none(), render(&health, args.json))
        }
        ReceiptCommand::Email(args) => {
            let mail = compose(&sample(language(args.lang.as_deref())?));
            let mailer = Mailer::from_settings(&settings.receipt.email)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ReceiptToolError::Runtime)?;
            let sent = runtime.block_on(mailer.send(&mail, &args.to));
            let report = Mailed {
                server: settings.receipt.email.smtp.clone().unwrap_or_default(),
                to: args.to,
                subject: mail.subject,
                sent: sent.is_ok(),
                error: sent.err().map(|e| e.to_string()),
            };
            (report.sent, render(&report, args.json))
        }
    };
    print!("{text}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render<T: Serialize>(value: &T, json: bool) -> String {
    if json {
        format!("{}\n", report::json(value))
    } else {
        report::human(value)
    }
}

fn open_printer(
    settings: &ReceiptSettings,
    args: &PrinterArgs,
    board: &Board,
) -> Result<ReceiptPrinter, ReceiptToolError> {
    let settings = ReceiptSettings {
        printer: args.printer.clone().or_else(|| settings.printer.clone()),
        ..settings.clone()
    };
    ReceiptPrinter::from_settings(&settings, &board.printer)?
        .ok_or(ReceiptToolError::Print(PrintError::NoPrinter))
}
