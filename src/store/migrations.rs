//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Each migration runs in its own transaction together with the version bump, so a crash
//! mid-migration leaves the database at the previous version. Migrations are only ever
//! appended: a released one is never edited.

use rusqlite::Connection;

use super::StoreError;

/// The schema, one SQL script per version (index 0 takes an empty database to version 1).
pub const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_receipts.sql"),
    include_str!("schema_phone.sql"),
    include_str!("schema_counter.sql"),
    include_str!("schema_fleet.sql"),
    include_str!("schema_delivery.sql"),
    include_str!("schema_journal_open.sql"),
    include_str!("schema_conflicts.sql"),
];

pub fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the database up to the newest schema. Returns the version it was at.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let found = schema_version(conn)?;
    let known = MIGRATIONS.len() as u32;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| StoreError::Migration { version, source })?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the query lists (its first column).
    fn names(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        names(
            conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
    }

    #[test]
    fn from_empty_to_newest() {
        let mut conn = Connection::open_in_memory().expect("open");
        assert_eq!(migrate(&mut conn).expect("migrate"), 0);
        assert_eq!(schema_version(&conn).expect("v") as usize, MIGRATIONS.len());
        assert_eq!(
            tables(&conn),
            [
                "counter_ids",
                "counter_purchases",
                "daily_stats",
                "fleet_counters",
                "fleet_outbox",
                "item_cache",
                "journal",
                "patron_cache",
                "phone_cti",
                "receipt_mail"
            ]
        );
    }

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        names(
            conn,
            &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        )
    }

    #[test]
    fn journal_columns() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        assert_eq!(
            columns(&conn, "journal"),
            [
                "id",
                "action",
                "patron_id",
                "item_id",
                "state",
                "offline",
                "transaction_at",
                "due_at",
                "attempts",
                "message",
                "created_at",
                "updated_at",
                "acked_at",
                "maybe_sent",
                "pickup",
                "conflict_since",
                "resolution",
                "resolved_at",
                "resolution_note"
            ]
        );
    }

    #[test]
    fn conflicts_from_before_the_resolution_columns_count_their_age_from_their_last_update() {
        let mut conn = Connection::open_in_memory().expect("open");
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("conflict_since"))
            .expect("the migration");
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).expect("older schema");
        }
        conn.pragma_update(None, "user_version", before as u32)
            .expect("version");
        conn.execute(
            "INSERT INTO journal (action, state, transaction_at, created_at, updated_at)
             VALUES ('checkout', 'conflict', 't', 'c', 'u'), ('checkout', 'queued', 't', 'c', 'u')",
            [],
        )
        .expect("rows");
        migrate(&mut conn).expect("migrate");
        let since: Vec<Option<String>> = conn
            .prepare("SELECT conflict_since FROM journal ORDER BY id")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(since, [Some("u".to_string()), None]);
        let bad = conn.execute("UPDATE journal SET resolution = 'maybe'", []);
        assert!(bad.is_err(), "resolutions are checked");
    }

    #[test]
    fn rerun_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        conn.execute(
            "INSERT INTO daily_stats (day, kind, count) VALUES ('d', 'checkout', 5)",
            [],
        )
        .expect("insert");
        let before = migrate(&mut conn).expect("second");
        assert_eq!(before as usize, MIGRATIONS.len());
        let count: i64 = conn
            .query_row("SELECT count FROM daily_stats", [], |r| r.get(0))
            .expect("kept");
        assert_eq!(count, 5, "data survives a re-run");
    }

    #[test]
    fn reopening_a_file_keeps_data() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db");
        {
            let conn = super::super::open(&path).expect("open");
            super::super::count_event(&conn, "d", "checkin").expect("count");
        }
        let conn = super::super::open(&path).expect("reopen");
        assert_eq!(
            super::super::day_counts(&conn, "d").expect("counts"),
            [("checkin".to_string(), 1)]
        );
    }

    #[test]
    fn newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        let err = migrate(&mut conn).expect_err("too new");
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        assert!(tables(&conn).is_empty());
    }

    #[test]
    fn failed_migration_rolls_back() {
        let mut conn = Connection::open_in_memory().expect("open");
        // A table in the way makes version 1 fail half-way through its script.
        conn.execute_batch("CREATE TABLE journal (x)")
            .expect("blocker");
        let err = migrate(&mut conn).expect_err("conflict");
        assert!(
            matches!(err, StoreError::Migration { version: 1, .. }),
            "{err}"
        );
        assert_eq!(schema_version(&conn).expect("v"), 0);
        assert_eq!(
            tables(&conn),
            ["journal"],
            "nothing of the failed step is left"
        );
    }

    #[test]
    fn journal_state_is_checked() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let bad = conn.execute(
            "INSERT INTO journal (action, state, transaction_at, created_at, updated_at)
             VALUES ('checkout', 'maybe', 't', 't', 't')",
            [],
        );
        assert!(bad.is_err());
    }
}
