//! The counter's records: item ids handed out from its range, and its purchases.
//!
//! An id is allocated in its own committed transaction before it is written on a tag or a
//! label, and its row is never deleted, so no crash and no undone loan can make the counter
//! hand out the same id twice. A purchase is written (with its id marked used) before the
//! loan is journaled; [`purchases_needing_a_loan`] finds the ones a crash left in between.

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::StoreError;
use super::journal::now_stamp;
use crate::counter::ids::IdRange;
use crate::counter::money::Cents;

/// Every id of the range has been handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "every item id of this counter's range {range} has been used; the library must assign a \
     new counter.id_range"
)]
pub struct RangeExhausted {
    pub range: String,
}

/// Hand out the next id of `range`: the number after the highest one handed out within it.
/// Durable when this returns.
pub fn allocate_id(
    conn: &mut Connection,
    range: &IdRange,
) -> Result<Result<String, RangeExhausted>, StoreError> {
    let to_sql = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let width = i64::try_from(range.width).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let highest: Option<i64> = tx.query_row(
        "SELECT max(number) FROM counter_ids WHERE width = ?1 AND number BETWEEN ?2 AND ?3",
        params![width, to_sql(range.start), to_sql(range.end)],
        |r| r.get(0),
    )?;
    let next = match highest {
        None => Some(range.start),
        Some(n) => u64::try_from(n).ok().and_then(|n| n.checked_add(1)),
    };
    let Some((number, id)) = next.and_then(|n| range.id_of(n).map(|id| (n, id))) else {
        return Ok(Err(RangeExhausted {
            range: range.to_string(),
        }));
    };
    tx.execute(
        "INSERT INTO counter_ids (item_id, number, width, allocated_at, state)
         VALUES (?1, ?2, ?3, ?4, 'allocated')",
        params![id, to_sql(number), width, now_stamp()],
    )?;
    tx.commit()?;
    Ok(Ok(id))
}

/// How many ids of `range` are still free.
pub fn ids_left(conn: &Connection, range: &IdRange) -> Result<u64, StoreError> {
    let to_sql = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let highest: Option<i64> = conn.query_row(
        "SELECT max(number) FROM counter_ids WHERE width = ?1 AND number BETWEEN ?2 AND ?3",
        params![
            i64::try_from(range.width).unwrap_or(i64::MAX),
            to_sql(range.start),
            to_sql(range.end)
        ],
        |r| r.get(0),
    )?;
    Ok(match highest.and_then(|n| u64::try_from(n).ok()) {
        None => range.count(),
        Some(n) => range.end.saturating_sub(n),
    })
}

/// A purchase about to be recorded.
#[derive(Debug, Clone)]
pub struct NewPurchase<'a> {
    /// When (UTC, RFC 3339) and the counter's local date (`YYYY-MM-DD`).
    pub purchased_at: &'a str,
    pub day: &'a str,
    pub isbn13: &'a str,
    pub title: &'a str,
    pub author: &'a str,
    pub publisher: &'a str,
    pub year: &'a str,
    pub price: Cents,
    pub currency: &'a str,
    /// An id [`allocate_id`] handed out and no purchase carries yet.
    pub item_id: &'a str,
    pub bookstore_code: &'a str,
    pub bookstore_name: &'a str,
    pub bookseller: &'a str,
    pub patron_id: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseState {
    Active,
    /// Undone before the patron left: not lent, not exported; its id stays used.
    Undone,
}

/// A recorded purchase, without the patron: what exports and invoices are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    pub id: i64,
    pub purchased_at: String,
    pub day: String,
    pub isbn13: String,
    pub title: String,
    pub author: String,
    pub publisher: String,
    pub year: String,
    pub price: Cents,
    pub currency: String,
    pub item_id: String,
    pub bookstore_code: String,
    pub bookstore_name: String,
    pub bookseller: String,
    pub journal_id: Option<i64>,
    pub state: PurchaseState,
}

const PURCHASE_COLUMNS: &str = "id, purchased_at, day, isbn, title, author, publisher, year,
    price_cents, currency, item_id, bookstore_code, bookstore_name, bookseller, journal_id, state";

fn purchase_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Purchase> {
    let state: String = r.get(15)?;
    Ok(Purchase {
        id: r.get(0)?,
        purchased_at: r.get(1)?,
        day: r.get(2)?,
        isbn13: r.get(3)?,
        title: r.get(4)?,
        author: r.get(5)?,
        publisher: r.get(6)?,
        year: r.get(7)?,
        price: Cents(r.get(8)?),
        currency: r.get(9)?,
        item_id: r.get(10)?,
        bookstore_code: r.get(11)?,
        bookstore_name: r.get(12)?,
        bookseller: r.get(13)?,
        journal_id: r.get(14)?,
        state: if state == "undone" {
            PurchaseState::Undone
        } else {
            PurchaseState::Active
        },
    })
}

/// Record a purchase and mark its id used, in one transaction; returns the purchase's id.
/// An id that was not handed out here, or that a purchase already carries, is refused by
/// the database's constraints.
pub fn record_purchase(conn: &mut Connection, p: &NewPurchase<'_>) -> Result<i64, StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO counter_purchases (purchased_at, day, isbn, title, author, publisher, year,
             price_cents, currency, item_id, bookstore_code, bookstore_name, bookseller,
             patron_id, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active')",
        params![
            p.purchased_at,
            p.day,
            p.isbn13,
            p.title,
            p.author,
            p.publisher,
            p.year,
            p.price.0,
            p.currency,
            p.item_id,
            p.bookstore_code,
            p.bookstore_name,
            p.bookseller,
            p.patron_id
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE counter_ids SET state = 'used' WHERE item_id = ?1",
        [p.item_id],
    )?;
    tx.commit()?;
    Ok(id)
}

/// Link a purchase to the journal row of its loan.
pub fn attach_loan(conn: &Connection, purchase_id: i64, journal_id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE counter_purchases SET journal_id = ?2 WHERE id = ?1",
        params![purchase_id, journal_id],
    )?;
    Ok(())
}

/// Undo a purchase before the patron leaves; `false` if it was not active. Its id stays used.
pub fn undo_purchase(conn: &Connection, purchase_id: i64) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE counter_purchases SET state = 'undone', undone_at = ?2
         WHERE id = ?1 AND state = 'active'",
        params![purchase_id, now_stamp()],
    )?;
    Ok(changed == 1)
}

/// One purchase by id.
pub fn purchase(conn: &Connection, id: i64) -> Result<Option<Purchase>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {PURCHASE_COLUMNS} FROM counter_purchases WHERE id = ?1"),
            [id],
            purchase_row,
        )
        .optional()?)
}

fn purchases_where(
    conn: &Connection,
    condition: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Purchase>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM counter_purchases WHERE {condition} ORDER BY day, id"
    ))?;
    let rows = stmt
        .query_map(args, purchase_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Active purchases of the days `since..=until` (`YYYY-MM-DD`), oldest first.
pub fn purchases_between(
    conn: &Connection,
    since: &str,
    until: &str,
) -> Result<Vec<Purchase>, StoreError> {
    purchases_where(
        conn,
        "state = 'active' AND day BETWEEN ?1 AND ?2",
        params![since, until],
    )
}

/// After a restart: active purchases whose loan was never journaled (a crash in between),
/// for the counter to journal their loan or undo them. A purchase whose loan row the journal
/// already has (the crash came between the loan and its link) is linked to it first and not
/// returned, so no book is lent twice. Counter item ids are never reused, so a checkout row
/// of the item can only be this purchase's loan.
pub fn purchases_needing_a_loan(conn: &Connection) -> Result<Vec<Purchase>, StoreError> {
    conn.execute(
        "UPDATE counter_purchases SET journal_id =
             (SELECT max(j.id) FROM journal j
              WHERE j.action = 'checkout' AND j.item_id = counter_purchases.item_id)
         WHERE state = 'active' AND journal_id IS NULL",
        [],
    )?;
    purchases_where(conn, "state = 'active' AND journal_id IS NULL", [])
}

/// Ids handed out that no purchase carries (a crash between allocation and purchase): they
/// stay unused forever; staff may want to know where their tags went.
pub fn unused_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT item_id FROM counter_ids WHERE state = 'allocated' ORDER BY number")?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// What this counter's records say about one patron's counter loans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PatronCounts {
    pub this_month: u32,
    pub this_year: u32,
    pub spent_this_month: Cents,
    /// Item ids of the active purchases since `pending_since`: loans the ILS may not know yet.
    pub recent_item_ids: Vec<String>,
}

/// The patron's active purchases this month and year (as of `today`), and since
/// `pending_since`.
pub fn patron_counts(
    conn: &Connection,
    patron_id: &str,
    today: NaiveDate,
    pending_since: NaiveDate,
) -> Result<PatronCounts, StoreError> {
    let month = today.with_day(1).unwrap_or(today).to_string();
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1)
        .unwrap_or(today)
        .to_string();
    let day = today.to_string();
    let (this_month, this_year, spent): (i64, i64, i64) = conn.query_row(
        "SELECT coalesce(sum(day >= ?2), 0), count(*),
                coalesce(sum(CASE WHEN day >= ?2 THEN price_cents ELSE 0 END), 0)
         FROM counter_purchases
         WHERE patron_id = ?1 AND state = 'active' AND day >= ?3 AND day <= ?4",
        params![patron_id, month, year, day],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut stmt = conn.prepare(
        "SELECT item_id FROM counter_purchases
         WHERE patron_id = ?1 AND state = 'active' AND day >= ?2 ORDER BY id",
    )?;
    let recent_item_ids = stmt
        .query_map(params![patron_id, pending_since.to_string()], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(PatronCounts {
        this_month: count(this_month),
        this_year: count(this_year),
        spent_this_month: Cents(spent),
        recent_item_ids,
    })
}

/// The day this counter last bought `isbn13` (active purchases only).
pub fn last_purchase_of(conn: &Connection, isbn13: &str) -> Result<Option<NaiveDate>, StoreError> {
    let day: Option<String> = conn.query_row(
        "SELECT max(day) FROM counter_purchases WHERE isbn = ?1 AND state = 'active'",
        [isbn13],
        |r| r.get(0),
    )?;
    Ok(day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// The day of the purchase whose loan is journal row `journal_id`; `None`: not a counter
/// loan.
pub fn purchase_day_of_loan(
    conn: &Connection,
    journal_id: i64,
) -> Result<Option<NaiveDate>, StoreError> {
    let day: Option<String> = conn
        .query_row(
            "SELECT day FROM counter_purchases WHERE journal_id = ?1",
            [journal_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// The patron of a purchase, while it is kept (see [`purge_patron_ids`]).
pub fn patron_of(conn: &Connection, purchase_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT patron_id FROM counter_purchases WHERE id = ?1",
            [purchase_id],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// Forget the patron of every purchase before `keep_since`; returns how many were cleared.
pub fn purge_patron_ids(conn: &Connection, keep_since: NaiveDate) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE counter_purchases SET patron_id = NULL
         WHERE patron_id IS NOT NULL AND day < ?1",
        [keep_since.to_string()],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::ids::IdCheckDigit;
    use crate::store::open_in_memory;

    fn range(text: &str) -> IdRange {
        IdRange::parse(text, IdCheckDigit::Luhn).expect("range")
    }

    fn buy<'a>(item_id: &'a str, day: &'a str, patron: &'a str, price: i64) -> NewPurchase<'a> {
        NewPurchase {
            purchased_at: "2026-05-20T10:00:00.000Z",
            day,
            isbn13: "9788845292613",
            title: "Il nome della rosa",
            author: "Eco, Umberto",
            publisher: "Bompiani",
            year: "2020",
            price: Cents(price),
            currency: "EUR",
            item_id,
            bookstore_code: "dante",
            bookstore_name: "Libreria Dante",
            bookseller: "anna",
            patron_id: patron,
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn ids_are_handed_out_once_until_the_range_runs_out() {
        let mut conn = open_in_memory().expect("open");
        let r = range("3199000000000-3199000000002");
        let ids: Vec<String> = (0..3)
            .map(|_| allocate_id(&mut conn, &r).expect("sql").expect("free"))
            .collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(r.number_of(&ids[0]), Some(r.start));
        assert_eq!(r.number_of(&ids[2]), Some(r.end));
        assert_eq!(ids_left(&conn, &r).expect("left"), 0);
        let err = allocate_id(&mut conn, &r)
            .expect("sql")
            .expect_err("exhausted");
        assert!(
            err.to_string().contains("3199000000000-3199000000002"),
            "{err}"
        );
        // An id nobody bought with stays handed out.
        assert_eq!(unused_ids(&conn).expect("unused"), ids);
    }

    #[test]
    fn ids_survive_a_reopened_database() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db");
        let r = range("3199000000000-3199000009999");
        let first = {
            let mut conn = crate::store::open(&path).expect("open");
            allocate_id(&mut conn, &r).expect("sql").expect("free")
        };
        let mut conn = crate::store::open(&path).expect("reopen");
        let second = allocate_id(&mut conn, &r).expect("sql").expect("free");
        assert_ne!(first, second);
        assert_eq!(r.number_of(&second), Some(r.start + 1));
    }

    #[test]
    fn purchases_count_for_the_patron_and_undo_keeps_the_id() {
        let mut conn = open_in_memory().expect("open");
        let r = range("3199000000000-3199000009999");
        let mut ids = Vec::new();
        for (day, patron, price) in [
            ("2025-12-30", "P1", 1000),
            ("2026-04-30", "P1", 1500),
            ("2026-05-02", "P1", 2000),
            ("2026-05-19", "P1", 900),
            ("2026-05-19", "P2", 700),
        ] {
            let id = allocate_id(&mut conn, &r).expect("sql").expect("free");
            record_purchase(&mut conn, &buy(&id, day, patron, price)).expect("record");
            ids.push(id);
        }
        let today = date("2026-05-20");
        let counts = patron_counts(&conn, "P1", today, date("2026-05-06")).expect("counts");
        assert_eq!(counts.this_month, 2);
        assert_eq!(counts.this_year, 3);
        assert_eq!(counts.spent_this_month, Cents(2900));
        assert_eq!(counts.recent_item_ids, [ids[3].clone()]);

        let last = purchases_between(&conn, "2026-05-19", "2026-05-19").expect("list");
        assert_eq!(last.len(), 2);
        assert!(undo_purchase(&conn, last[0].id).expect("undo"));
        assert!(!undo_purchase(&conn, last[0].id).expect("again"));
        let counts = patron_counts(&conn, "P1", today, date("2026-05-06")).expect("counts");
        assert_eq!(
            (counts.this_month, counts.spent_this_month),
            (1, Cents(2000))
        );
        assert_eq!(
            purchase(&conn, last[0].id).expect("row").map(|p| p.state),
            Some(PurchaseState::Undone)
        );
        // The undone book's id is not handed out again, and cannot be bought with twice.
        let next = allocate_id(&mut conn, &r).expect("sql").expect("free");
        assert!(!ids.contains(&next));
        assert!(record_purchase(&mut conn, &buy(&ids[3], "2026-05-20", "P1", 1)).is_err());
        assert!(record_purchase(&mut conn, &buy("39999999999999", "2026-05-20", "P1", 1)).is_err());
    }

    #[test]
    fn same_isbn_loans_and_purge() {
        let mut conn = open_in_memory().expect("open");
        let r = range("3199000000000-3199000009999");
        assert_eq!(last_purchase_of(&conn, "9788845292613").expect("sql"), None);
        let mut bought = Vec::new();
        for day in ["2026-01-10", "2026-05-01"] {
            let id = allocate_id(&mut conn, &r).expect("sql").expect("free");
            bought.push(record_purchase(&mut conn, &buy(&id, day, "P1", 100)).expect("record"));
        }
        assert_eq!(
            last_purchase_of(&conn, "9788845292613").expect("sql"),
            Some(date("2026-05-01"))
        );
        assert_eq!(purchases_needing_a_loan(&conn).expect("open").len(), 2);
        attach_loan(&conn, bought[0], 41).expect("attach");
        let open = purchases_needing_a_loan(&conn).expect("open");
        assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), [bought[1]]);
        assert_eq!(
            purchase(&conn, bought[0])
                .expect("row")
                .and_then(|p| p.journal_id),
            Some(41)
        );
        // A loan journaled but not linked before a crash is found, not journaled again.
        let loan = crate::store::journal::record(
            &mut conn,
            &crate::store::journal::NewEntry {
                action: crate::store::journal::Action::Checkout,
                patron_id: Some("P1"),
                item_id: Some(&open[0].item_id),
                state: crate::store::journal::State::Pending,
                transaction_at: "20260501    100000",
                due_at: None,
            },
        )
        .expect("journal");
        assert!(purchases_needing_a_loan(&conn).expect("open").is_empty());
        assert_eq!(
            purchase(&conn, bought[1])
                .expect("row")
                .and_then(|p| p.journal_id),
            Some(loan)
        );

        assert_eq!(
            purge_patron_ids(&conn, date("2026-05-01")).expect("purge"),
            1
        );
        let left: Vec<Option<String>> = conn
            .prepare("SELECT patron_id FROM counter_purchases ORDER BY id")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(left, [None, Some("P1".to_string())]);
    }
}
