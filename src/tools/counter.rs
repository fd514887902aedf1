//! `selfcheck counter ...`: the bookstore counter's purchases as files for the library.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Months, NaiveDate};

use crate::config::Settings;
use crate::counter::export::{ExportError, ExportReport, export};
use crate::counter::marc::HoldingsOptions;
use crate::store::{self, StoreError, StoreHandle, counter as purchases};
use crate::tools::report;

#[derive(Debug, clap::Subcommand)]
pub enum CounterCommand {
    /// Write the purchases as MARC 21 files, one pair a day (purchases-YYYY-MM-DD.mrc and
    /// .xml, for the library's acquisitions import), and the invoice CSV of each bookstore
    /// and month the days touch (invoice-BOOKSTORE-YYYY-MM.csv, whole months)
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// First day to export (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub since: NaiveDate,
    /// Last day to export (default: today)
    #[arg(long, value_name = "DATE")]
    pub until: Option<NaiveDate>,
    /// Folder to write the files into (created if needed)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CounterToolError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the store: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Run a counter command against the database in `data_dir`; prints its report.
pub fn run(
    command: CounterCommand,
    settings: &Settings,
    data_dir: &Path,
) -> Result<(), CounterToolError> {
    match command {
        CounterCommand::Export(args) => {
            let today = chrono::Local::now().date_naive();
            let report = export_purchases(&args, settings, data_dir, today)?;
            if args.json {
                println!("{}", report::json(&report));
            } else {
                println!(
                    "{} purchase(s) in {} file(s) in {}",
                    report.records,
                    report.files.len(),
                    args.out.display()
                );
                for file in &report.files {
                    println!("  {}", file.display());
                }
            }
            Ok(())
        }
    }
}

/// The first and last day of the months `since..=until` touch.
fn whole_months(since: NaiveDate, until: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = since.with_day(1).unwrap_or(since);
    let last = until
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap_or(until);
    (first, last)
}

pub fn export_purchases(
    args: &ExportArgs,
    settings: &Settings,
    data_dir: &Path,
    today: NaiveDate,
) -> Result<ExportReport, CounterToolError> {
    let until = args.until.unwrap_or(today);
    if args.since > until {
        return Err(CounterToolError::Input(format!(
            "--since {} is after --until {until}",
            args.since
        )));
    }
    let c = &settings.counter;
    if c.home_branch.trim().is_empty() {
        return Err(CounterToolError::Input(
            "counter.home_branch is not set: the MARC holdings need the branch owning the books"
                .into(),
        ));
    }
    let db = data_dir.join(store::DB_FILE);
    if !db.is_file() {
        return Err(CounterToolError::Input(format!(
            "no database at {}: nothing was bought here (or --data-dir points elsewhere)",
            db.display()
        )));
    }
    let store = StoreHandle::spawn(store::open(&db)?).map_err(CounterToolError::Thread)?;
    let (since, until_text) = (args.since.to_string(), until.to_string());
    let bought =
        store.call_blocking(move |conn| purchases::purchases_between(conn, &since, &until_text))?;
    let (first, last) = whole_months(args.since, until);
    let (first, last) = (first.to_string(), last.to_string());
    let invoiced =
        store.call_blocking(move |conn| purchases::purchases_between(conn, &first, &last))?;
    let holdings = HoldingsOptions {
        format: c.holdings,
        home_branch: &c.home_branch,
        holding_branch: c.holding_branch.as_deref().unwrap_or(&c.home_branch),
        item_type: &c.item_type,
        organization: settings.rfid.owner_isil.as_deref(),
    };
    Ok(export(&bought, &invoiced, &holdings, &args.out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoices_cover_whole_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(
            whole_months(d("2026-01-15"), d("2026-02-10")),
            (d("2026-01-01"), d("2026-02-28"))
        );
        assert_eq!(
            whole_months(d("2024-12-31"), d("2024-12-31")),
            (d("2024-12-01"), d("2024-12-31"))
        );
    }
}
