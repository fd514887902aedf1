//! A bookstore's stock file and a bookseller's typed ISBN: junk is reported, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfcheck::counter::money::Cents;
use selfcheck::counter::stock::Stock;
use selfcheck::scan::symbology::book_number;

fuzz_target!(|data: &[u8]| {
    let _ = Stock::parse(data);
    let mut with_header = b"isbn,title,author,publisher,year,price,currency\n".to_vec();
    with_header.extend_from_slice(data);
    if let Ok(stock) = Stock::parse(&with_header) {
        assert!(stock.problems.iter().all(|p| p.line >= 2));
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(book) = book_number(&text) {
        assert_eq!(book.isbn13.len(), 13);
    }
    if let Some(c) = Cents::parse(&text) {
        assert_eq!(Cents::parse(&c.to_string()), Some(c));
    }
});
