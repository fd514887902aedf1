//! The circulation journal: write-ahead records of every circulation action.
//!
//! A row is written (state `pending`) in its own transaction *before* the request leaves the
//! kiosk, and updated with the answer in another. The sync works the same way a batch at a
//! time ([`replay_step`]): one transaction settles the answers of the rows it just replayed and
//! marks the next rows as maybe sent before they leave. A crash at any instant leaves each action in
//! one of: `done` / `refused` (the ILS answered), `queued` (decided offline, to be replayed),
//! `pending` (may or may not have reached the ILS: the sync asks the ILS before replaying it),
//! or `conflict` (staff must look). Nothing here keeps a name or a title: only ids, dates and
//! the ILS's message, purged after the retention once acknowledged.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::StoreError;

/// A circulation action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Checkout,
    Checkin,
    Renew,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Checkout => "checkout",
            Action::Checkin => "checkin",
            Action::Renew => "renew",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "checkout" => Some(Action::Checkout),
            "checkin" => Some(Action::Checkin),
            "renew" => Some(Action::Renew),
            _ => None,
        }
    }
}

/// A journal row's state (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Queued,
    Done,
    Refused,
    Conflict,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Queued => "queued",
            State::Done => "done",
            State::Refused => "refused",
            State::Conflict => "conflict",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "pending" => Some(State::Pending),
            "queued" => Some(State::Queued),
            "done" => Some(State::Done),
            "refused" => Some(State::Refused),
            "conflict" => Some(State::Conflict),
            _ => None,
        }
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub action: Action,
    pub patron_id: Option<String>,
    pub item_id: Option<String>,
    pub state: State,
    pub offline: bool,
    /// SIP2 transaction date `YYYYMMDD    HHMMSS`, when the patron did it.
    pub transaction_at: String,
    /// Due date promised offline (SIP2 date), replayed as the no-block due date.
    pub due_at: Option<String>,
    pub attempts: i64,
    pub message: Option<String>,
    /// The request may have reached the ILS (the sync asks before replaying).
    pub maybe_sent: bool,
    /// When the row was written (UTC, RFC 3339): the kiosk's clock, not the patron's date.
    pub created_at: String,
}

impl Entry {
    /// The request may have reached the ILS without its answer reaching us: written before
    /// sending and never settled, or queued after such a try. The sync asks the ILS first.
    pub fn outcome_unknown(&self) -> bool {
        self.state == State::Pending || self.maybe_sent
    }
}

/// A new action, before it is sent (`Pending`) or queued offline (`Queued`).
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub action: Action,
    pub patron_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub state: State,
    pub transaction_at: &'a str,
    pub due_at: Option<&'a str>,
}

/// The current time as stored in `created_at` / `updated_at` / `acked_at` (UTC, RFC 3339).
pub fn now_stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Write an action; returns its id. Its own transaction: durable when this returns.
pub fn record(conn: &mut Connection, e: &NewEntry<'_>) -> Result<i64, StoreError> {
    let now = now_stamp();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO journal (action, patron_id, item_id, state, offline, transaction_at, due_at,
                              created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            e.action.as_str(),
            e.patron_id,
            e.item_id,
            e.state.as_str(),
            e.state == State::Queued,
            e.transaction_at,
            e.due_at,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

/// Record the ILS's answer (or staff's verdict): `Done`, `Refused` or `Conflict`.
pub fn settle(
    conn: &Connection,
    id: i64,
    state: State,
    message: Option<&str>,
) -> Result<(), StoreError> {
    let now = now_stamp();
    let acked = matches!(state, State::Done | State::Refused).then_some(now.as_str());
    conn.execute(
        "UPDATE journal SET state = ?2, message = coalesce(?3, message), updated_at = ?4,
                acked_at = ?5, attempts = attempts + 1
         WHERE id = ?1",
        params![id, state.as_str(), message, now, acked],
    )?;
    Ok(())
}

/// An action decided offline: to be replayed by the sync. `maybe_sent`: it was sent before
/// the link failed, so the sync asks the ILS before replaying it.
pub fn queue(
    conn: &Connection,
    id: i64,
    due_at: Option<&str>,
    maybe_sent: bool,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE journal SET state = 'queued', offline = 1, due_at = coalesce(?2, due_at),
                maybe_sent = max(maybe_sent, ?3), updated_at = ?4
         WHERE id = ?1",
        params![id, due_at, maybe_sent, now_stamp()],
    )?;
    Ok(())
}

/// Mark that an attempt failed without an answer (for staff and the sync's ordering).
pub fn note_attempt(conn: &Connection, id: i64, message: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE journal SET attempts = attempts + 1, message = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, message, now_stamp()],
    )?;
    Ok(())
}

/// Set a row's message for staff (not an attempt: the row is not sent by this).
pub fn note(conn: &Connection, id: i64, message: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE journal SET message = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, message, now_stamp()],
    )?;
    Ok(())
}

/// What the sync learnt about one row it replayed (or checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The ILS's answer, or the sync's verdict: `Done` or `Conflict`.
    Settle {
        id: i64,
        state: State,
        message: Option<String>,
    },
    /// Sent, and no answer came: `maybe_sent` when it may have reached the ILS.
    NoAnswer {
        id: i64,
        message: String,
        maybe_sent: bool,
    },
    /// Marked for sending but never sent: its flag goes back to what it was.
    NotSent { id: i64, maybe_sent: bool },
}

impl Update {
    pub fn id(&self) -> i64 {
        match self {
            Update::Settle { id, .. }
            | Update::NoAnswer { id, .. }
            | Update::NotSent { id, .. } => *id,
        }
    }
}

/// Rows of the journal someone is sending now: the live kiosk's requests waiting for their
/// answers, and the rows a sync has taken. Any other sync leaves them, and every later row of
/// the same item, alone.
#[derive(Debug, Clone, Default)]
pub struct InFlight(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<i64>>>);

impl InFlight {
    pub fn insert(&self, id: i64) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(id);
        }
    }

    pub fn remove(&self, id: i64) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(&id);
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        self.0.lock().map(|s| s.contains(&id)).unwrap_or(false)
    }
}

/// One step of the sync, in one transaction (one flush to disk however many rows): record
/// what the last rows' answers were, then pick the next rows to send (`pick` chooses among
/// up to `window` open rows, oldest first) and mark them `maybe_sent` before any of them
/// leaves, so a crash while they are out makes the next sync ask the ILS about each first.
/// `pick` reads the open rows as it needs them (a batch is short; the window is for rows it
/// skips). The rows picked are returned with their flags as they were before the mark.
/// `item`: only that item's rows.
pub fn replay_step(
    conn: &mut Connection,
    updates: &[Update],
    item: Option<&str>,
    window: usize,
    pick: impl FnOnce(&mut dyn Iterator<Item = Entry>) -> Vec<Entry>,
) -> Result<Vec<Entry>, StoreError> {
    let now = now_stamp();
    let tx = conn.transaction()?;
    {
        let mut settle = tx.prepare_cached(
            "UPDATE journal SET state = ?2, message = coalesce(?3, message), updated_at = ?4,
                    acked_at = ?5, attempts = attempts + 1
             WHERE id = ?1",
        )?;
        let mut no_answer = tx.prepare_cached(
            "UPDATE journal SET attempts = attempts + 1, message = ?2, updated_at = ?3,
                    maybe_sent = ?4
             WHERE id = ?1",
        )?;
        let mut not_sent = tx.prepare_cached("UPDATE journal SET maybe_sent = ?2 WHERE id = ?1")?;
        for u in updates {
            match u {
                Update::Settle { id, state, message } => {
                    let acked =
                        matches!(state, State::Done | State::Refused).then_some(now.as_str());
                    settle.execute(params![id, state.as_str(), message, now, acked])?;
                }
                Update::NoAnswer {
                    id,
                    message,
                    maybe_sent,
                } => {
                    no_answer.execute(params![id, message, now, maybe_sent])?;
                }
                Update::NotSent { id, maybe_sent } => {
                    not_sent.execute(params![id, maybe_sent])?;
                }
            }
        }
    }
    let picked = {
        let (sql, key) = match item {
            Some(item) => (OPEN_OF_ITEM, rusqlite::types::Value::Text(item.to_string())),
            None => (
                OPEN_OLDEST_FIRST,
                rusqlite::types::Value::Integer(i64::try_from(window).unwrap_or(i64::MAX)),
            ),
        };
        let mut stmt = tx.prepare_cached(&format!("SELECT {COLUMNS} {sql}"))?;
        let mut failed = None;
        let mut rows = stmt.query_map([key], entry)?.map_while(|r| match r {
            Ok(e) => Some(e),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let picked = pick(&mut rows);
        drop(rows);
        if let Some(e) = failed {
            return Err(e.into());
        }
        picked
    };
    {
        let mut mark = tx.prepare_cached(
            "UPDATE journal SET maybe_sent = 1 WHERE id = ?1 AND state IN ('pending', 'queued')",
        )?;
        for e in &picked {
            if !e.maybe_sent && e.action != Action::Renew {
                mark.execute([e.id])?;
            }
        }
    }
    tx.commit()?;
    Ok(picked)
}

/// Is there a row of `item` written after row `id`? Then the item was at the kiosk after it.
pub fn later_row_of_item(conn: &Connection, item: &str, id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM journal WHERE item_id = ?1 AND id > ?2 LIMIT 1",
            params![item, id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// How many rows are still to be replayed or checked.
pub fn open_count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM journal WHERE state IN ('pending', 'queued')",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let action: String = r.get(1)?;
    let state: String = r.get(4)?;
    Ok(Entry {
        id: r.get(0)?,
        action: Action::parse(&action).unwrap_or(Action::Checkout),
        patron_id: r.get(2)?,
        item_id: r.get(3)?,
        state: State::parse(&state).unwrap_or(State::Conflict),
        offline: r.get(5)?,
        transaction_at: r.get(6)?,
        due_at: r.get(7)?,
        attempts: r.get(8)?,
        message: r.get(9)?,
        maybe_sent: r.get(10)?,
        created_at: r.get(11)?,
    })
}

const COLUMNS: &str = "id, action, patron_id, item_id, state, offline, transaction_at, due_at, \
                       attempts, message, maybe_sent, created_at";

/// Rows still to be replayed or checked (`pending`, `queued`), oldest first.
pub fn open_entries(conn: &Connection, limit: usize) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM journal WHERE state IN ('pending', 'queued') ORDER BY id LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], entry)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

const OPEN_OLDEST_FIRST: &str =
    "FROM journal WHERE state IN ('pending', 'queued') ORDER BY id LIMIT ?1";
const OPEN_OF_ITEM: &str =
    "FROM journal WHERE item_id = ?1 AND state IN ('pending', 'queued') ORDER BY id";

/// One item's rows still to be replayed or checked, oldest first.
pub fn open_entries_of(conn: &Connection, item: &str) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} {OPEN_OF_ITEM}"))?;
    let rows = stmt
        .query_map([item], entry)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Rows in one state, oldest first.
pub fn entries_in(conn: &Connection, state: State) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM journal WHERE state = ?1 ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([state.as_str()], entry)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Entry>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM journal WHERE id = ?1"),
            [id],
            entry,
        )
        .optional()?)
}

/// Offline loans queued for a patron and not yet confirmed.
pub fn queued_loans(conn: &Connection, patron_id: &str) -> Result<u32, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM journal WHERE patron_id = ?1 AND action = 'checkout'
         AND state IN ('queued', 'pending') AND offline = 1",
        [patron_id],
        |r| r.get(0),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Counts by state.
pub fn counts(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state, count(*) FROM journal GROUP BY state ORDER BY state")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Delete acknowledged rows (done, refused) acknowledged before `cutoff` (RFC 3339): the
/// kiosk keeps no reading history. Conflicts stay until staff deal with them.
pub fn purge(conn: &Connection, cutoff: &str) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "DELETE FROM journal WHERE state IN ('done', 'refused') AND acked_at IS NOT NULL
         AND acked_at < ?1",
        [cutoff],
    )?)
}

/// Purge with a retention in days counted from now.
pub fn purge_older_than(conn: &Connection, days: u32) -> Result<usize, StoreError> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    purge(
        conn,
        &cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_in_memory;

    fn new(state: State) -> NewEntry<'static> {
        NewEntry {
            action: Action::Checkout,
            patron_id: Some("P1"),
            item_id: Some("I1"),
            state,
            transaction_at: "20261128    101500",
            due_at: None,
        }
    }

    #[test]
    fn write_ahead_then_settle() {
        let mut conn = open_in_memory().expect("db");
        let id = record(&mut conn, &new(State::Pending)).expect("record");
        let open = open_entries(&conn, 10).expect("open");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].state, State::Pending);
        settle(&conn, id, State::Done, Some("ok")).expect("settle");
        assert!(open_entries(&conn, 10).expect("open").is_empty());
        let e = get(&conn, id).expect("get").expect("row");
        assert_eq!(e.state, State::Done);
        assert_eq!(e.message.as_deref(), Some("ok"));
    }

    #[test]
    fn queue_keeps_maybe_sent_and_counts_offline_loans() {
        let mut conn = open_in_memory().expect("db");
        let a = record(&mut conn, &new(State::Pending)).expect("a");
        queue(&conn, a, Some("20261219    235959"), true).expect("queue");
        let b = record(&mut conn, &new(State::Queued)).expect("b");
        let ea = get(&conn, a).expect("get").expect("a");
        assert!(ea.maybe_sent && ea.offline && ea.state == State::Queued);
        assert_eq!(ea.due_at.as_deref(), Some("20261219    235959"));
        assert!(!get(&conn, b).expect("get").expect("b").maybe_sent);
        assert_eq!(queued_loans(&conn, "P1").expect("n"), 2);
        assert_eq!(queued_loans(&conn, "P2").expect("n"), 0);
    }

    #[test]
    fn purge_keeps_open_rows_and_conflicts() {
        let mut conn = open_in_memory().expect("db");
        let done = record(&mut conn, &new(State::Pending)).expect("done");
        settle(&conn, done, State::Done, None).expect("settle");
        let conflict = record(&mut conn, &new(State::Queued)).expect("c");
        settle(&conn, conflict, State::Conflict, Some("other patron")).expect("settle");
        record(&mut conn, &new(State::Queued)).expect("queued");
        assert_eq!(purge(&conn, "9999").expect("purge"), 1);
        assert_eq!(
            counts(&conn).expect("counts"),
            [("conflict".to_string(), 1), ("queued".to_string(), 1)]
        );
        // Nothing acknowledged is purged before the retention.
        let d2 = record(&mut conn, &new(State::Pending)).expect("d2");
        settle(&conn, d2, State::Done, None).expect("settle");
        assert_eq!(purge_older_than(&conn, 2).expect("purge"), 0);
    }

    #[test]
    fn replay_step_marks_before_sending_and_settles_after() {
        let mut conn = open_in_memory().expect("db");
        let a = record(&mut conn, &new(State::Queued)).expect("a");
        let b = record(&mut conn, &new(State::Queued)).expect("b");
        let c = record(&mut conn, &new(State::Queued)).expect("c");
        assert_eq!(open_count(&conn).expect("n"), 3);
        let picked = replay_step(&mut conn, &[], None, 10, |rows| rows.collect()).expect("step");
        assert_eq!(picked.len(), 3);
        assert!(picked.iter().all(|e| !e.maybe_sent), "flags as they were");
        for id in [a, b, c] {
            assert!(get(&conn, id).expect("get").expect("row").maybe_sent);
        }
        let updates = [
            Update::Settle {
                id: a,
                state: State::Done,
                message: None,
            },
            Update::NoAnswer {
                id: b,
                message: "timeout".into(),
                maybe_sent: true,
            },
            Update::NotSent {
                id: c,
                maybe_sent: false,
            },
        ];
        let next = replay_step(&mut conn, &updates, None, 0, |_| Vec::new()).expect("step");
        assert!(next.is_empty());
        let ea = get(&conn, a).expect("get").expect("a");
        assert_eq!(ea.state, State::Done);
        let eb = get(&conn, b).expect("get").expect("b");
        assert!(eb.maybe_sent && eb.state == State::Queued && eb.attempts == 1);
        assert!(!get(&conn, c).expect("get").expect("c").maybe_sent);
        assert_eq!(open_count(&conn).expect("n"), 2);
    }
}
