//! The monthly invoice of one bookstore: a CSV the library reconciles its payments with.
//! One row per book bought (date, ISBN, title, price, currency, item id); no patron data.

use crate::store::counter::Purchase;

pub const HEADER: [&str; 6] = ["date", "isbn", "title", "price", "currency", "item_id"];

/// The invoice CSV of `purchases` (already those of one bookstore and month), oldest first.
pub fn invoice_csv(purchases: &[Purchase]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER)?;
    for p in purchases {
        writer.write_record([
            p.day.as_str(),
            p.isbn13.as_str(),
            p.title.as_str(),
            &p.price.to_string(),
            p.currency.as_str(),
            p.item_id.as_str(),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::money::Cents;
    use crate::store::counter::PurchaseState;

    #[test]
    fn quoted_where_needed_and_read_back() {
        let p = Purchase {
            id: 1,
            purchased_at: "2026-05-20T10:00:00.000Z".into(),
            day: "2026-05-20".into(),
            isbn13: "9788845292613".into(),
            title: "Rosa, \"la\" prima".into(),
            author: "Eco".into(),
            publisher: "Bompiani".into(),
            year: "2020".into(),
            price: Cents(1400),
            currency: "EUR".into(),
            item_id: "31990000000007".into(),
            bookstore_code: "dante".into(),
            bookstore_name: "Libreria Dante".into(),
            bookseller: "anna".into(),
            journal_id: None,
            state: PurchaseState::Active,
        };
        let bytes = invoice_csv(&[p]).expect("csv");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(
            text.starts_with("date,isbn,title,price,currency,item_id\n"),
            "{text}"
        );
        assert!(!text.contains("anna") && !text.contains("Eco"), "{text}");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let rows: Vec<csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("rows");
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "2026-05-20",
                "9788845292613",
                "Rosa, \"la\" prima",
                "14.00",
                "EUR",
                "31990000000007"
            ]
        );
    }
}
