//! The lobby screen's own history, in `lobby.db` beside the kiosk's database: one row per
//! calendar day with the day's figures, for "the same weekday last week" and to rebuild the
//! hourly chart and the most borrowed titles after a restart. Counts and titles only: nothing
//! names a patron or a kiosk.

use std::path::Path;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The database file inside the data directory.
pub const DB_FILE: &str = "lobby.db";

/// The schema this program writes.
const VERSION: u32 = 1;

/// Days kept; older rows go when a day is saved.
pub const KEEP_DAYS: i64 = 400;

/// One day at the lobby.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayRecord {
    pub loans: u64,
    pub returns: u64,
    pub renewals: u64,
    /// Loans seen in each hour of the day (local time), 24 entries.
    pub hours: Vec<u64>,
    /// Loans per title, the most borrowed first (at most [`TITLES_KEPT`]).
    pub titles: Vec<(String, u64)>,
}

/// Titles a day's row keeps.
pub const TITLES_KEPT: usize = 50;

/// Open (creating if needed) the lobby's database.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    prepare(&conn)?;
    Ok(conn)
}

/// A private in-memory database (tests, benchmarks).
pub fn open_in_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
        path: ":memory:".into(),
        source,
    })?;
    prepare(&conn)?;
    Ok(conn)
}

fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")?;
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            known: VERSION,
        });
    }
    if found < VERSION {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS lobby_day (
                 day TEXT PRIMARY KEY,
                 record TEXT NOT NULL,
                 updated_at TEXT NOT NULL
             );
             PRAGMA user_version = 1;",
        )
        .map_err(|source| StoreError::Migration {
            version: VERSION,
            source,
        })?;
    }
    Ok(())
}

/// Write (or overwrite) a day's row, and forget the days older than [`KEEP_DAYS`].
pub fn save_day(conn: &Connection, day: NaiveDate, record: &DayRecord) -> Result<(), StoreError> {
    let mut record = record.clone();
    record.titles.truncate(TITLES_KEPT);
    let json = serde_json::to_string(&record).unwrap_or_else(|_| "{}".into());
    conn.execute(
        "INSERT INTO lobby_day (day, record, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(day) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at",
        params![day.to_string(), json, crate::fleet::payload::now_stamp()],
    )?;
    let oldest = day - chrono::Duration::days(KEEP_DAYS);
    conn.execute(
        "DELETE FROM lobby_day WHERE day < ?1",
        params![oldest.to_string()],
    )?;
    Ok(())
}

/// A day's row; `None` when the lobby did not run that day. A row this program cannot read
/// (written by a newer one, or damaged) counts as none.
pub fn load_day(conn: &Connection, day: NaiveDate) -> Result<Option<DayRecord>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT record FROM lobby_day WHERE day = ?1",
            params![day.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn days_are_saved_overwritten_and_pruned() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(DB_FILE);
        let conn = open(&path).expect("open");
        assert_eq!(load_day(&conn, day("2026-12-01")).expect("load"), None);
        let mut record = DayRecord {
            loans: 120,
            returns: 80,
            renewals: 4,
            hours: vec![0; 24],
            titles: vec![("Il nome della rosa".into(), 5)],
        };
        save_day(&conn, day("2026-12-01"), &record).expect("save");
        record.loans = 121;
        save_day(&conn, day("2026-12-01"), &record).expect("save again");
        drop(conn);
        let conn = open(&path).expect("reopen");
        assert_eq!(
            load_day(&conn, day("2026-12-01")).expect("load"),
            Some(record.clone())
        );
        save_day(&conn, day("2029-01-01"), &record).expect("much later");
        assert_eq!(load_day(&conn, day("2026-12-01")).expect("load"), None);
    }

    #[test]
    fn an_unreadable_row_is_no_row_and_a_newer_schema_is_refused() {
        let conn = open_in_memory().expect("open");
        conn.execute(
            "INSERT INTO lobby_day VALUES ('2026-12-01', 'not json', '')",
            [],
        )
        .expect("insert");
        assert_eq!(load_day(&conn, day("2026-12-01")).expect("load"), None);
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(DB_FILE);
        open(&path)
            .expect("open")
            .execute_batch("PRAGMA user_version = 9")
            .expect("bump");
        assert!(matches!(
            open(&path),
            Err(StoreError::TooNew { found: 9, .. })
        ));
    }
}
