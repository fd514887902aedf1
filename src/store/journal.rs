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
    /// A hold sent to the patron's home: 15 `*` with the delivery location (`pickup`).
    Deliver,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Checkout => "checkout",
            Action::Checkin => "checkin",
            Action::Renew => "renew",
            Action::Deliver => "deliver",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "checkout" => Some(Action::Checkout),
            "checkin" => Some(Action::Checkin),
            "renew" => Some(Action::Renew),
            "deliver" => Some(Action::Deliver),
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
    /// Deliveries: the ILS location the hold moves to (SIP2 BS).
    pub pickup: Option<String>,
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
    record_with_pickup(conn, e, None)
}

/// Write an action with the pickup location it moves a hold to (a delivery).
pub fn record_with_pickup(
    conn: &mut Connection,
    e: &NewEntry<'_>,
    pickup: Option<&str>,
) -> Result<i64, StoreError> {
    let tx = conn.transaction()?;
    let id = insert_with_pickup(&tx, e, pickup)?;
    tx.commit()?;
    Ok(id)
}

/// Write an action in the caller's transaction (with what else must be durable with it).
pub fn insert(conn: &Connection, e: &NewEntry<'_>) -> Result<i64, StoreError> {
    insert_with_pickup(conn, e, None)
}

/// [`insert`] with the pickup location a delivery moves its hold to.
pub fn insert_with_pickup(
    conn: &Connection,
    e: &NewEntry<'_>,
    pickup: Option<&str>,
) -> Result<i64, StoreError> {
    let now = now_stamp();
    conn.execute(
        "INSERT INTO journal (action, patron_id, item_id, state, offline, transaction_at, due_at,
                              created_at, updated_at, pickup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            e.action.as_str(),
            e.patron_id,
            e.item_id,
            e.state.as_str(),
            e.state == State::Queued,
            e.transaction_at,
            e.due_at,
            now,
            pickup
        ],
    )?;
    Ok(conn.last_insert_rowid())
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
    conn.execute(SETTLE, params![id, state.as_str(), message, now, acked])?;
    Ok(())
}

/// Settle a row (`?2` state, `?3` message, `?4` now, `?5` acknowledged at). A row that becomes
/// a conflict remembers since when, the first time.
const SETTLE: &str =
    "UPDATE journal SET state = ?2, message = coalesce(?3, message), updated_at = ?4,
            acked_at = ?5, attempts = attempts + 1,
            conflict_since = CASE WHEN ?2 = 'conflict' THEN coalesce(conflict_since, ?4)
                                  ELSE conflict_since END
     WHERE id = ?1";

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
        let mut settle = tx.prepare_cached(SETTLE)?;
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
        pickup: r.get(12)?,
    })
}

const COLUMNS: &str = "id, action, patron_id, item_id, state, offline, transaction_at, due_at, \
                       attempts, message, maybe_sent, created_at, pickup";

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

/// How staff settled a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Sent again on staff's word, and the ILS took it: the row is `done`.
    Resent,
    /// Staff handled it at the ILS: the row is `refused` (the kiosk's request stays unapplied).
    Dropped,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Resent => "resent",
            Resolution::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Resolution> {
        match s {
            "resent" => Some(Resolution::Resent),
            "dropped" => Some(Resolution::Dropped),
            _ => None,
        }
    }

    /// The state a row takes once resolved this way.
    pub fn state(self) -> State {
        match self {
            Resolution::Resent => State::Done,
            Resolution::Dropped => State::Refused,
        }
    }
}

/// A conflict as staff see it: open, or resolved (until the journal's retention purges it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub id: i64,
    pub action: Action,
    pub item: Option<String>,
    /// Staff need it to put the loan right at the desk. Shown to staff only: never logged,
    /// never published.
    pub patron: Option<String>,
    /// The ILS's answer, or why the sync left it to staff.
    pub reason: Option<String>,
    /// When the patron did it (SIP2 date `YYYYMMDD    HHMMSS`, the kiosk's local time).
    pub transaction_at: String,
    /// Decided offline.
    pub offline: bool,
    /// When the row was written, and when it became a conflict (UTC, RFC 3339).
    pub created_at: String,
    pub conflict_since: String,
    /// Seconds since it became a conflict (0 when the clock has been set back since).
    pub age_secs: i64,
    /// Answers received for it (replays and resends included).
    pub attempts: i64,
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<String>,
    pub note: Option<String>,
}

/// Seconds from an RFC 3339 time to now; 0 when it does not parse or lies ahead.
fn age_secs(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|at| {
            chrono::Utc::now()
                .signed_duration_since(at)
                .num_seconds()
                .max(0)
        })
        .unwrap_or(0)
}

/// Open conflicts, oldest first; with `resolved`, the resolved ones still kept too.
pub fn conflicts(conn: &Connection, resolved: bool) -> Result<Vec<Conflict>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, action, item_id, patron_id, message, transaction_at, offline, created_at,
                coalesce(conflict_since, updated_at), attempts, resolution, resolved_at,
                resolution_note
         FROM journal WHERE state = 'conflict' OR (?1 AND resolution IS NOT NULL)
         ORDER BY id",
    )?;
    let rows = stmt
        .query_map([resolved], |r| {
            let action: String = r.get(1)?;
            let since: String = r.get(8)?;
            let resolution: Option<String> = r.get(10)?;
            Ok(Conflict {
                id: r.get(0)?,
                action: Action::parse(&action).unwrap_or(Action::Checkout),
                item: r.get(2)?,
                patron: r.get(3)?,
                reason: r.get(4)?,
                transaction_at: r.get(5)?,
                offline: r.get(6)?,
                created_at: r.get(7)?,
                age_secs: age_secs(&since),
                conflict_since: since,
                attempts: r.get(9)?,
                resolution: resolution.as_deref().and_then(Resolution::parse),
                resolved_at: r.get(11)?,
                note: r.get(12)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Record staff's resolution of an open conflict, acknowledged now (so it follows the
/// journal's retention). The conflict's reason stays, for `sync conflicts --all`. False when
/// row `id` is not an open conflict (unknown, or resolved already).
pub fn resolve(
    conn: &Connection,
    id: i64,
    how: Resolution,
    note: Option<&str>,
) -> Result<bool, StoreError> {
    let resent = how == Resolution::Resent;
    let changed = conn.execute(
        "UPDATE journal SET state = ?2, resolution = ?3, resolution_note = ?4,
                attempts = attempts + ?5, resolved_at = ?6, acked_at = ?6, updated_at = ?6
         WHERE id = ?1 AND state = 'conflict'",
        params![
            id,
            how.state().as_str(),
            how.as_str(),
            note,
            i64::from(resent),
            now_stamp()
        ],
    )?;
    Ok(changed == 1)
}

/// How and when staff resolved row `id`, if they did.
pub fn resolution(conn: &Connection, id: i64) -> Result<Option<(Resolution, String)>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = conn
        .query_row(
            "SELECT resolution, resolved_at FROM journal WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row
        .and_then(|(how, at)| Some((Resolution::parse(how.as_deref()?)?, at.unwrap_or_default()))))
}

/// Delete conflicts nobody resolved within `days` of becoming one. Returns how many.
pub fn purge_stale_conflicts(conn: &Connection, days: u32) -> Result<usize, StoreError> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    Ok(conn.execute(
        "DELETE FROM journal WHERE state = 'conflict'
         AND coalesce(conflict_since, updated_at) < ?1",
        [cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)],
    )?)
}

/// Delete acknowledged rows (done, refused) acknowledged before `cutoff` (RFC 3339): the
/// kiosk keeps no reading history. Conflicts stay until staff resolve them (a resolved one
/// is acknowledged then) or [`purge_stale_conflicts`] gives up on them.
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
    fn conflicts_are_listed_resolved_and_then_follow_the_retention() {
        let mut conn = open_in_memory().expect("db");
        let a = record(&mut conn, &new(State::Queued)).expect("a");
        let b = record(&mut conn, &new(State::Queued)).expect("b");
        record(&mut conn, &new(State::Queued)).expect("queued");
        settle(&conn, a, State::Conflict, Some("lent to another patron")).expect("a");
        settle(&conn, b, State::Conflict, Some("unknown item")).expect("b");
        let since = |id| {
            conn.query_row(
                "SELECT conflict_since FROM journal WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .expect("since")
        };
        let first = since(a).expect("since when");
        // Refused again: still a conflict, its age still counts from the first time.
        settle(&conn, a, State::Conflict, Some("still lent")).expect("again");
        assert_eq!(since(a).as_deref(), Some(first.as_str()));

        let open = conflicts(&conn, false).expect("open");
        assert_eq!(open.iter().map(|c| c.id).collect::<Vec<_>>(), [a, b]);
        assert_eq!(open[0].reason.as_deref(), Some("still lent"));
        assert_eq!(open[0].patron.as_deref(), Some("P1"));
        assert_eq!(open[0].item.as_deref(), Some("I1"));
        assert_eq!(open[0].attempts, 2);
        assert!(open[0].age_secs >= 0 && open[0].resolution.is_none());

        assert!(resolve(&conn, a, Resolution::Resent, Some("returned at the desk")).expect("a"));
        assert!(resolve(&conn, b, Resolution::Dropped, None).expect("drop"));
        assert!(
            !resolve(&conn, b, Resolution::Dropped, None).expect("twice"),
            "a resolved conflict is not open any more"
        );
        assert!(!resolve(&conn, 999, Resolution::Dropped, None).expect("unknown"));
        assert!(matches!(
            resolution(&conn, b).expect("how"),
            Some((Resolution::Dropped, at)) if !at.is_empty()
        ));
        assert_eq!(resolution(&conn, 999).expect("unknown"), None);
        assert!(conflicts(&conn, false).expect("open").is_empty());
        let all = conflicts(&conn, true).expect("all");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].resolution, Some(Resolution::Resent));
        assert_eq!(all[0].note.as_deref(), Some("returned at the desk"));
        assert_eq!(
            all[0].reason.as_deref(),
            Some("still lent"),
            "the conflict's reason"
        );
        assert_eq!(all[1].resolution, Some(Resolution::Dropped));
        assert_eq!(all[1].reason.as_deref(), Some("unknown item"));
        assert!(all.iter().all(|c| c.resolved_at.is_some()));
        assert_eq!(get(&conn, a).expect("a").expect("row").state, State::Done);
        assert_eq!(
            get(&conn, b).expect("b").expect("row").state,
            State::Refused
        );
        // Acknowledged now: kept for the retention, then purged like any answered row.
        assert_eq!(purge_older_than(&conn, 2).expect("purge"), 0);
        assert_eq!(purge(&conn, "9999").expect("purge"), 2);
        assert!(conflicts(&conn, true).expect("all").is_empty());
    }

    #[test]
    fn unresolved_conflicts_are_purged_after_the_limit() {
        let mut conn = open_in_memory().expect("db");
        let old = record(&mut conn, &new(State::Queued)).expect("old");
        let young = record(&mut conn, &new(State::Queued)).expect("young");
        let queued = record(&mut conn, &new(State::Queued)).expect("queued");
        for id in [old, young] {
            settle(&conn, id, State::Conflict, Some("lent to another patron")).expect("c");
        }
        let ago = |days| {
            (chrono::Utc::now() - chrono::Duration::days(days))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        for (id, days) in [(old, 31), (young, 29), (queued, 400)] {
            conn.execute(
                "UPDATE journal SET conflict_since = ?1, created_at = ?1 WHERE id = ?2",
                params![ago(days), id],
            )
            .expect("date");
        }
        assert_eq!(purge_stale_conflicts(&conn, 30).expect("purge"), 1);
        assert!(get(&conn, old).expect("old").is_none());
        assert!(get(&conn, young).expect("young").is_some());
        assert!(
            get(&conn, queued).expect("queued").is_some(),
            "only conflicts"
        );
        let left = conflicts(&conn, false).expect("open");
        assert_eq!(left.len(), 1);
        assert!(left[0].age_secs >= 29 * 86_400, "{}", left[0].age_secs);
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
