//! The purchases as files for the library: one MARC file per day, in ISO 2709
//! (`purchases-YYYY-MM-DD.mrc`) and MARCXML (`.xml`), and one invoice per bookstore and month
//! (`invoice-<bookstore>-YYYY-MM.csv`). Each file is written beside its final name and
//! renamed into place, so an import watching the folder never reads half a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::counter::invoice::invoice_csv;
use crate::counter::marc::{self, HoldingsOptions, MarcError, PurchaseData};
use crate::store::counter::Purchase;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("purchase of item {item_id}: {source}")]
    Marc { item_id: String, source: MarcError },
    #[error("invoice: {0}")]
    Invoice(#[from] csv::Error),
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Purchases in the MARC files.
    pub records: usize,
    pub files: Vec<PathBuf>,
}

/// The MARC record of one purchase.
pub fn record_of(p: &Purchase, holdings: &HoldingsOptions<'_>) -> marc::Record {
    marc::purchase_record(
        &PurchaseData {
            item_id: &p.item_id,
            isbn13: &p.isbn13,
            title: &p.title,
            author: &p.author,
            publisher: &p.publisher,
            year: &p.year,
            price: p.price,
            currency: &p.currency,
            day: &p.day,
            stamp: &p.purchased_at,
            bookstore_name: &p.bookstore_name,
        },
        holdings,
    )
}

/// Write the MARC files of `purchases` (one pair per day) and the invoices of
/// `invoiced` (one per bookstore and month) into `out`, creating it if needed.
pub fn export(
    purchases: &[Purchase],
    invoiced: &[Purchase],
    holdings: &HoldingsOptions<'_>,
    out: &Path,
) -> Result<ExportReport, ExportError> {
    std::fs::create_dir_all(out).map_err(|source| ExportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let mut report = ExportReport::default();

    let mut days: BTreeMap<&str, Vec<marc::Record>> = BTreeMap::new();
    for p in purchases {
        days.entry(p.day.as_str())
            .or_default()
            .push(record_of(p, holdings));
    }
    for (day, records) in &days {
        let item = |e: MarcError| ExportError::Marc {
            item_id: first_item_of(purchases, day),
            source: e,
        };
        let iso = marc::encode_all(records).map_err(item)?;
        let xml = marc::to_marcxml(records).map_err(item)?;
        report
            .files
            .push(write_file(out, &format!("purchases-{day}.mrc"), &iso)?);
        report.files.push(write_file(
            out,
            &format!("purchases-{day}.xml"),
            xml.as_bytes(),
        )?);
        report.records += records.len();
    }

    let mut invoices: BTreeMap<(&str, &str), Vec<Purchase>> = BTreeMap::new();
    for p in invoiced {
        let month = p.day.get(..7).unwrap_or(&p.day);
        invoices
            .entry((p.bookstore_code.as_str(), month))
            .or_default()
            .push(p.clone());
    }
    for ((bookstore, month), rows) in &invoices {
        let bytes = invoice_csv(rows)?;
        report.files.push(write_file(
            out,
            &format!("invoice-{bookstore}-{month}.csv"),
            &bytes,
        )?);
    }
    Ok(report)
}

fn first_item_of(purchases: &[Purchase], day: &str) -> String {
    purchases
        .iter()
        .find(|p| p.day == day)
        .map(|p| p.item_id.clone())
        .unwrap_or_default()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ExportError> {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    let failed = |source| ExportError::Write {
        path: path.clone(),
        source,
    };
    std::fs::write(&partial, bytes).map_err(failed)?;
    std::fs::rename(&partial, &path).map_err(failed)?;
    Ok(path)
}
