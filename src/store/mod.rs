//! Local storage: the item and patron cache, the circulation journal and daily statistics in
//! one SQLite database.
//!
//! One thread owns the connection (SQLite calls block); everyone else holds a cloneable
//! [`StoreHandle`] and sends it closures over a bounded channel. The journal's durability comes
//! from WAL with `synchronous = FULL`: a committed row survives a power cut.

pub mod cache;
pub mod counter;
pub mod fleet;
pub mod journal;
pub mod lobby;
mod migrations;
pub mod phone;
pub mod receipts;
pub mod stats;

use std::path::{Path, PathBuf};
use std::thread;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

pub use migrations::{MIGRATIONS, migrate, schema_version};

/// How many requests may wait for the store thread before senders wait too.
const QUEUE: usize = 64;

/// The database file inside the data directory.
pub const DB_FILE: &str = "selfcheck.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database is at schema version {found}, newer than this program knows ({known}); \
         install the newer selfcheck or restore a backup"
    )]
    TooNew { found: u32, known: u32 },
    #[error("database migration to version {version} failed: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the store thread has stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A cloneable handle to the thread that owns the database. The thread ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
}

/// Open (creating if needed) and migrate a database file, with the pragmas the journal needs.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    prepare(conn, path)
}

/// A private in-memory database (tests, `--data-dir` not writable).
pub fn open_in_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
        path: PathBuf::from(":memory:"),
        source,
    })?;
    prepare(conn, Path::new(":memory:"))
}

fn prepare(mut conn: Connection, path: &Path) -> Result<Connection, StoreError> {
    let pragmas = "PRAGMA journal_mode = WAL;
                   PRAGMA synchronous = FULL;
                   PRAGMA foreign_keys = ON;
                   PRAGMA busy_timeout = 5000;";
    conn.execute_batch(pragmas)
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    migrate(&mut conn)?;
    Ok(conn)
}

impl StoreHandle {
    /// Start the store thread over an opened connection.
    pub fn spawn(conn: Connection) -> std::io::Result<StoreHandle> {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE);
        thread::Builder::new().name("store".into()).spawn(move || {
            let mut conn = conn;
            while let Some(job) = rx.blocking_recv() {
                job(&mut conn);
            }
        })?;
        Ok(StoreHandle { jobs })
    }

    /// Run `f` on the store thread and wait for its result (from async code).
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have given up waiting; the work is done either way.
            let _ = tx.send(f(conn));
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Stopped)?;
        rx.await.map_err(|_| StoreError::Stopped)?
    }

    /// Run `f` on the store thread and wait for its result (from a plain thread, never from
    /// inside the tokio runtime).
    pub fn call_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs
            .blocking_send(job)
            .map_err(|_| StoreError::Stopped)?;
        rx.blocking_recv().map_err(|_| StoreError::Stopped)?
    }
}

/// Add one to today's count of an event kind (`checkout`, `checkin`, `renew`, ...).
pub fn count_event(conn: &Connection, day: &str, kind: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO daily_stats (day, kind, count) VALUES (?1, ?2, 1)
         ON CONFLICT (day, kind) DO UPDATE SET count = count + 1",
        (day, kind),
    )?;
    Ok(())
}

/// The counts of one day, by kind.
pub fn day_counts(conn: &Connection, day: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, count FROM daily_stats WHERE day = ?1 ORDER BY kind")?;
    let rows = stmt
        .query_map([day], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragmas_for_a_durable_journal() {
        let dir = tempfile::tempdir().expect("tmp");
        let conn = open(&dir.path().join(DB_FILE)).expect("open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("sync");
        assert_eq!(sync, 2, "synchronous = FULL");
    }

    #[test]
    fn stats_count_up() {
        let conn = open_in_memory().expect("open");
        count_event(&conn, "2026-11-28", "checkout").expect("count");
        count_event(&conn, "2026-11-28", "checkout").expect("count");
        count_event(&conn, "2026-11-28", "checkin").expect("count");
        count_event(&conn, "2026-11-29", "checkout").expect("count");
        assert_eq!(
            day_counts(&conn, "2026-11-28").expect("counts"),
            [("checkin".to_string(), 1), ("checkout".to_string(), 2)]
        );
    }

    #[test]
    fn handle_runs_jobs_in_order_and_stops_with_the_last_handle() {
        let store = StoreHandle::spawn(open_in_memory().expect("open")).expect("spawn");
        for _ in 0..3 {
            store
                .call_blocking(|c| count_event(c, "d", "checkout"))
                .expect("count");
        }
        let counts = store.call_blocking(|c| day_counts(c, "d")).expect("read");
        assert_eq!(counts, [("checkout".to_string(), 3)]);
        drop(store);
    }

    #[test]
    fn handle_from_async() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let store = StoreHandle::spawn(open_in_memory().expect("open")).expect("spawn");
        let version = rt
            .block_on(store.call(|c| schema_version(c)))
            .expect("version");
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn errors_come_back_to_the_caller() {
        let store = StoreHandle::spawn(open_in_memory().expect("open")).expect("spawn");
        let err = store
            .call_blocking(|c| {
                c.execute("INSERT INTO nowhere VALUES (1)", [])?;
                Ok(())
            })
            .expect_err("no such table");
        assert!(err.to_string().contains("nowhere"), "{err}");
    }
}
