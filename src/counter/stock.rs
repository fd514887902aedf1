//! The bookstore's stock file: what the counter knows about a book from its ISBN.
//!
//! CSV with a header row naming the columns in any order (`isbn`, `title`, `price`,
//! `currency`, and optionally `author`, `publisher`, `year`), UTF-8, quoted fields allowed,
//! comma or semicolon separated. A bad row is reported with its line number and left out; it
//! never stops the rest of the file from being used. [`StockFile`] rereads the file when its
//! modification time or size changes, so the bookstore can replace it while the counter runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::counter::money::{Cents, is_currency_code};
use crate::scan::symbology::book_number;

/// One book of the stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockBook {
    pub isbn13: String,
    pub title: String,
    pub author: String,
    pub publisher: String,
    /// Year of publication as printed (four digits), empty when unknown.
    pub year: String,
    pub price: Cents,
    pub currency: String,
}

/// A row that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Line of the file (1 is the header).
    pub line: u64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("cannot read the stock file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stock file: {0}")]
    Header(String),
}

/// The parsed stock, by ISBN-13.
#[derive(Debug, Clone, Default)]
pub struct Stock {
    books: HashMap<String, StockBook>,
    /// Rows left out.
    pub problems: Vec<RowProblem>,
}

const REQUIRED: [&str; 4] = ["isbn", "title", "price", "currency"];
const OPTIONAL: [&str; 3] = ["author", "publisher", "year"];

struct Columns {
    isbn: usize,
    title: usize,
    price: usize,
    currency: usize,
    author: Option<usize>,
    publisher: Option<usize>,
    year: Option<usize>,
}

impl Stock {
    /// Parse a stock file's bytes. Only an unusable header is an error; bad rows are listed
    /// in `problems`.
    pub fn parse(bytes: &[u8]) -> Result<Stock, StockError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header = reader
            .headers()
            .map_err(|e| StockError::Header(format!("the header row cannot be read: {e}")))?
            .clone();
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let missing: Vec<&str> = REQUIRED.into_iter().filter(|n| find(n).is_none()).collect();
        if !missing.is_empty() {
            return Err(StockError::Header(format!(
                "the header row lacks the column(s) {}; it needs {} (and may have {})",
                missing.join(", "),
                REQUIRED.join(", "),
                OPTIONAL.join(", ")
            )));
        }
        let columns = Columns {
            isbn: find("isbn").unwrap_or_default(),
            title: find("title").unwrap_or_default(),
            price: find("price").unwrap_or_default(),
            currency: find("currency").unwrap_or_default(),
            author: find("author"),
            publisher: find("publisher"),
            year: find("year"),
        };

        let mut stock = Stock::default();
        let mut lines: HashMap<String, u64> = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    stock.problems.push(RowProblem {
                        line,
                        message: row_error(&e),
                    });
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            let line = record.position().map_or(line, |p| first_line_of(bytes, p));
            if record.iter().all(str::is_empty) {
                continue;
            }
            match book(&record, &columns) {
                Err(message) => stock.problems.push(RowProblem { line, message }),
                Ok(book) => {
                    if let Some(first) = lines.get(&book.isbn13) {
                        stock.problems.push(RowProblem {
                            line,
                            message: format!(
                                "ISBN {} is already on line {first}; this row is left out",
                                book.isbn13
                            ),
                        });
                    } else {
                        lines.insert(book.isbn13.clone(), line);
                        stock.books.insert(book.isbn13.clone(), book);
                    }
                }
            }
        }
        Ok(stock)
    }

    /// The book with this ISBN-13.
    pub fn get(&self, isbn13: &str) -> Option<&StockBook> {
        self.books.get(isbn13)
    }

    pub fn len(&self) -> usize {
        self.books.len()
    }

    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }
}

/// The line a record starts on: the reader's position is where it began looking, before
/// any blank lines it skipped.
fn first_line_of(bytes: &[u8], position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|&&b| b == b'\n')
        .count();
    position.line() + u64::try_from(skipped).unwrap_or(0)
}

fn row_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        _ => format!("the row cannot be read: {e}"),
    }
}

fn book(record: &csv::StringRecord, c: &Columns) -> Result<StockBook, String> {
    let field = |i: usize| record.get(i).unwrap_or_default().trim();
    let optional = |i: Option<usize>| i.map(field).unwrap_or_default().to_owned();
    let raw_isbn = field(c.isbn);
    let isbn13 = book_number(raw_isbn)
        .map_err(|e| format!("isbn \"{raw_isbn}\": {e}"))?
        .isbn13;
    let title = field(c.title);
    if title.is_empty() {
        return Err("the title is empty".into());
    }
    let raw_price = field(c.price);
    let price = Cents::parse(raw_price).ok_or_else(|| {
        format!("price \"{raw_price}\" is not an amount (e.g. 12.50, at most two decimals)")
    })?;
    let currency = field(c.currency).to_ascii_uppercase();
    if !is_currency_code(&currency) {
        return Err(format!(
            "currency \"{}\" is not an ISO 4217 code (e.g. EUR)",
            field(c.currency)
        ));
    }
    let year = optional(c.year);
    if !(year.is_empty() || year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("year \"{year}\" is not four digits"));
    }
    Ok(StockBook {
        isbn13,
        title: title.to_owned(),
        author: optional(c.author),
        publisher: optional(c.publisher),
        year,
        price,
        currency,
    })
}

/// What tells a changed file apart: its modification time and size.
type Stamp = (Option<SystemTime>, u64);

/// The stock file on disk, reread when it changes.
#[derive(Debug)]
pub struct StockFile {
    path: PathBuf,
    stamp: Option<Stamp>,
    stock: Stock,
}

impl StockFile {
    /// Read the file now.
    pub fn open(path: &Path) -> Result<StockFile, StockError> {
        let mut file = StockFile {
            path: path.to_path_buf(),
            stamp: None,
            stock: Stock::default(),
        };
        file.refresh()?;
        Ok(file)
    }

    /// Reread the file if its modification time or size changed; `true` if it was reread.
    /// On an error the stock read before stays in use.
    pub fn refresh(&mut self) -> Result<bool, StockError> {
        let read_error = |source| StockError::Read {
            path: self.path.clone(),
            source,
        };
        let meta = std::fs::metadata(&self.path).map_err(read_error)?;
        let stamp = (meta.modified().ok(), meta.len());
        if self.stamp == Some(stamp) {
            return Ok(false);
        }
        let bytes = std::fs::read(&self.path).map_err(read_error)?;
        let stock = Stock::parse(&bytes)?;
        for p in &stock.problems {
            tracing::warn!(file = %self.path.display(), line = p.line, "stock row left out: {}", p.message);
        }
        tracing::info!(file = %self.path.display(), books = stock.len(), "stock file read");
        self.stock = stock;
        self.stamp = Some(stamp);
        Ok(true)
    }

    /// The book with this ISBN-13 in the file as it is now.
    pub fn lookup(&mut self, isbn13: &str) -> Result<Option<StockBook>, StockError> {
        self.refresh()?;
        Ok(self.stock.get(isbn13).cloned())
    }

    /// The stock as last read.
    pub fn stock(&self) -> &Stock {
        &self.stock
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: &str = "\u{feff}Title,ISBN,author,publisher,year,price,currency\n\
        \"Il nome della rosa\",978-88-452-9261-3,Umberto Eco,Bompiani,2020,\"14,00\",EUR\n\
        \"Quoted, with comma\",9780306406157,\"A \"\"nick\"\" name\",Plenum,1985,12.5,eur\n\
        Bad ISBN,9780306406158,,,,10,EUR\n\
        No price,9791090636071,,,,,EUR\n\
        Bad currency,0-8044-2957-X,,,,3.00,€\n\
        \n\
        Dup,9780306406157,,,,1,EUR\n\
        Bad year,9780804429573,,,20x0,1,EUR\n";

    #[test]
    fn rows_in_any_column_order_with_problems_by_line() {
        let stock = Stock::parse(FILE.as_bytes()).expect("header ok");
        assert_eq!(stock.len(), 2);
        let eco = stock.get("9788845292613").expect("row 2");
        assert_eq!(eco.title, "Il nome della rosa");
        assert_eq!(eco.price, Cents(1400));
        assert_eq!(eco.year, "2020");
        let quoted = stock.get("9780306406157").expect("row 3");
        assert_eq!(quoted.title, "Quoted, with comma");
        assert_eq!(quoted.author, "A \"nick\" name");
        assert_eq!(quoted.currency, "EUR");
        let lines: Vec<u64> = stock.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [4, 5, 6, 8, 9], "{:?}", stock.problems);
        assert!(stock.problems[0].message.contains("check digit"));
        assert!(stock.problems[3].message.contains("line 3"));
    }

    #[test]
    fn semicolons_and_missing_optional_columns() {
        let stock =
            Stock::parse(b"isbn;title;price;currency\n9780306406157;T;9,90;CHF\n").expect("ok");
        let b = stock.get("9780306406157").expect("row");
        assert_eq!(
            (b.price, b.currency.as_str(), b.author.as_str()),
            (Cents(990), "CHF", "")
        );
    }

    #[test]
    fn unusable_header_is_an_error() {
        let err = Stock::parse(b"isbn,name,price\n1,2,3\n").expect_err("no title");
        let text = err.to_string();
        assert!(
            text.contains("title") && text.contains("currency"),
            "{text}"
        );
        assert!(Stock::parse(b"").is_err());
    }

    #[test]
    fn invalid_utf8_row_is_reported() {
        let mut bytes = b"isbn,title,price,currency\n9780306406157,".to_vec();
        bytes.extend_from_slice(&[0xFF, 0xFE]);
        bytes.extend_from_slice(b",1,EUR\n9788845292613,ok,2,EUR\n");
        let stock = Stock::parse(&bytes).expect("header ok");
        assert_eq!(stock.len(), 1);
        assert_eq!(stock.problems.len(), 1);
        assert_eq!(stock.problems[0].line, 2);
        assert!(stock.problems[0].message.contains("UTF-8"));
    }

    #[test]
    fn file_is_reread_when_it_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("stock.csv");
        std::fs::write(
            &path,
            "isbn,title,price,currency\n9780306406157,First,1,EUR\n",
        )
        .expect("write");
        let mut file = StockFile::open(&path).expect("open");
        assert_eq!(
            file.lookup("9780306406157").expect("ok").map(|b| b.title),
            Some("First".into())
        );
        assert!(file.lookup("9788845292613").expect("ok").is_none());
        // A different size is noticed even within the file system's time resolution.
        std::fs::write(
            &path,
            "isbn,title,price,currency\n9780306406157,Second,1,EUR\n9788845292613,Eco,2,EUR\n",
        )
        .expect("rewrite");
        assert_eq!(
            file.lookup("9788845292613").expect("ok").map(|b| b.title),
            Some("Eco".into())
        );
        assert!(!file.refresh().expect("same"));
        std::fs::remove_file(&path).expect("rm");
        assert!(file.lookup("9788845292613").is_err());
        assert_eq!(file.stock().len(), 2, "the last good stock stays");
    }

    proptest! {
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Stock::parse(&bytes);
            let mut with_header = b"isbn,title,price,currency,year\n".to_vec();
            with_header.extend_from_slice(&bytes);
            let stock = Stock::parse(&with_header).expect("header ok");
            for p in &stock.problems {
                prop_assert!(p.line >= 2);
            }
        }
    }
}
