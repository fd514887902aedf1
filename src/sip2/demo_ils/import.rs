//! The demo ILS's acquisitions import: MARC 21 files (ISO 2709), as the bookstore counter
//! exports them, add their copies to the catalogue, the way Koha's staged MARC import adds
//! the items of 952 fields. A folder can be watched for new `.mrc` files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::NaiveDateTime;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::catalogue::{Catalogue, fmt};
use super::{DemoIls, DemoIlsError, now, sample};
use crate::counter::marc::{ImportedItem, decode_all, items_of};

/// Media type of imported copies whose item type is not one of the catalogue's codes: book.
const DEFAULT_MEDIA: &str = "001";

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub records: usize,
    /// Item ids added to the catalogue.
    pub added: Vec<String>,
    /// Item ids the catalogue had already (left as they were).
    pub known: Vec<String>,
    /// Records that could not be read, and why.
    pub problems: Vec<String>,
}

impl Catalogue {
    /// Add one copy, on the shelf of its home branch; `false` if the id is taken.
    pub fn import_item(
        &mut self,
        item: &ImportedItem,
        at: NaiveDateTime,
    ) -> Result<bool, DemoIlsError> {
        let tx = self.conn.transaction()?;
        let exists = tx
            .query_row("SELECT 1 FROM items WHERE id = ?1", [&item.barcode], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        if exists {
            return Ok(false);
        }
        let media: String = tx
            .query_row(
                "SELECT code FROM media_types WHERE code = ?1",
                [&item.item_type],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_else(|| DEFAULT_MEDIA.to_owned());
        let home = if item.home_branch.is_empty() {
            sample::MAIN
        } else {
            &item.home_branch
        };
        let title = if item.title.is_empty() {
            "(untitled)"
        } else {
            &item.title
        };
        tx.execute(
            "INSERT INTO items (id, title, author, isbn, media_type, call_number, home_location,
             current_location, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'available')",
            params![
                item.barcode,
                title,
                item.author,
                item.isbn,
                media,
                item.call_number,
                home
            ],
        )?;
        Catalogue::log(&tx, "import", None, Some(&item.barcode), at, None, &fmt(at))?;
        tx.commit()?;
        Ok(true)
    }
}

impl DemoIls {
    /// Import the copies of every record of a `.mrc` file's bytes. A damaged record is
    /// reported and skipped; the others are imported.
    pub fn import_marc(&self, bytes: &[u8]) -> Result<ImportReport, DemoIlsError> {
        let mut report = ImportReport::default();
        let at = now();
        let mut cat = self.lock()?;
        for (i, record) in decode_all(bytes).into_iter().enumerate() {
            report.records += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.problems.push(format!("record {}: {e}", i + 1));
                    continue;
                }
            };
            let items = items_of(&record);
            if items.is_empty() {
                report.problems.push(format!(
                    "record {}: no 952 or 852 field with a barcode ($p)",
                    i + 1
                ));
            }
            for item in items {
                if cat.import_item(&item, at)? {
                    report.added.push(item.barcode);
                } else {
                    report.known.push(item.barcode);
                }
            }
        }
        Ok(report)
    }

    /// Import a `.mrc` file.
    pub fn import_file(&self, path: &Path) -> Result<ImportReport, DemoIlsError> {
        let bytes = std::fs::read(path)?;
        self.import_marc(&bytes)
    }
}

/// A folder watched for new `.mrc` files. A file is imported once its size and modification
/// time have stayed the same between two looks (it is not being written any more), and again
/// only if it changes.
#[derive(Debug)]
pub struct WatchedFolder {
    dir: PathBuf,
    seen: HashMap<PathBuf, Stamp>,
    settling: HashMap<PathBuf, Stamp>,
}

type Stamp = (Option<SystemTime>, u64);

impl WatchedFolder {
    pub fn new(dir: &Path) -> WatchedFolder {
        WatchedFolder {
            dir: dir.to_path_buf(),
            seen: HashMap::new(),
            settling: HashMap::new(),
        }
    }

    /// Look once: import what is new and settled; returns each file imported with its report.
    pub fn poll(&mut self, ils: &DemoIls) -> Result<Vec<(PathBuf, ImportReport)>, DemoIlsError> {
        let mut files: Vec<(PathBuf, Stamp)> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("mrc")))
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok().filter(|m| m.is_file())?;
                Some((p, (meta.modified().ok(), meta.len())))
            })
            .collect();
        files.sort();
        let mut done = Vec::new();
        for (path, stamp) in files {
            if self.seen.get(&path) == Some(&stamp) {
                continue;
            }
            if self.settling.get(&path) != Some(&stamp) {
                self.settling.insert(path, stamp);
                continue;
            }
            self.settling.remove(&path);
            self.seen.insert(path.clone(), stamp);
            match ils.import_file(&path) {
                Ok(report) => done.push((path, report)),
                Err(DemoIlsError::Io(e)) => {
                    tracing::warn!(file = %path.display(), "cannot read the file to import: {e}")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::marc::{HoldingsOptions, PurchaseData, encode_all, purchase_record};
    use crate::counter::settings::HoldingsFormat;

    fn mrc(item_ids: &[&str], format: HoldingsFormat) -> Vec<u8> {
        let records: Vec<_> = item_ids
            .iter()
            .map(|id| {
                purchase_record(
                    &PurchaseData {
                        item_id: id,
                        ..crate::counter::marc::tests::purchase()
                    },
                    &HoldingsOptions {
                        format,
                        home_branch: "Central Library",
                        holding_branch: "Central Library",
                        item_type: "001",
                        organization: None,
                    },
                )
            })
            .collect();
        encode_all(&records).expect("encode")
    }

    #[test]
    fn imported_copies_join_the_catalogue_once() {
        let ils = DemoIls::open(None).expect("open");
        let mut bytes = mrc(
            &["31990000000007", "31990000000015"],
            HoldingsFormat::Koha952,
        );
        bytes.extend_from_slice(b"00042junk\x1d");
        let report = ils.import_marc(&bytes).expect("import");
        assert_eq!(report.records, 3);
        assert_eq!(report.added, ["31990000000007", "31990000000015"]);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        let item = ils
            .item_status("31990000000007")
            .expect("db")
            .expect("added");
        assert_eq!(item.title, "Il nome della rosa");
        assert_eq!(item.author, "Eco, Umberto");
        assert_eq!(item.isbn, "9788845292613");
        assert_eq!(item.media_type, "001");
        assert_eq!(item.home_location, "Central Library");
        assert_eq!(ils.transaction_count(Some("import")).expect("count"), 2);

        let again = ils.import_marc(&bytes).expect("import");
        assert!(again.added.is_empty());
        assert_eq!(again.known.len(), 2);
        assert_eq!(ils.transaction_count(Some("import")).expect("count"), 2);
    }

    #[test]
    fn holdings_in_852_and_unknown_item_types() {
        let ils = DemoIls::open(None).expect("open");
        let report = ils
            .import_marc(&mrc(&["31990000000023"], HoldingsFormat::Marc852))
            .expect("import");
        assert_eq!(report.added, ["31990000000023"]);
        let item = ils
            .item_status("31990000000023")
            .expect("db")
            .expect("added");
        assert_eq!(item.media_type, DEFAULT_MEDIA);
    }

    #[test]
    fn a_watched_folder_imports_settled_new_files() {
        let ils = DemoIls::open(None).expect("open");
        let dir = tempfile::tempdir().expect("tmp");
        let mut folder = WatchedFolder::new(dir.path());
        std::fs::write(
            dir.path().join("purchases-2026-05-20.mrc"),
            mrc(&["31990000000031"], HoldingsFormat::Koha952),
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not marc").expect("write");
        assert!(
            folder.poll(&ils).expect("poll").is_empty(),
            "first look: maybe still written"
        );
        let done = folder.poll(&ils).expect("poll");
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].1.added, ["31990000000031"]);
        assert!(folder.poll(&ils).expect("poll").is_empty(), "imported once");
        assert!(ils.item_status("31990000000031").expect("db").is_some());
    }
}
