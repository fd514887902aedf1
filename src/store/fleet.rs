//! The telemetry outbox: circulation events waiting for the MQTT broker.
//!
//! The kiosk writes an event with [`enqueue_event`] inside the store call that records the
//! journal's answer, so a kill -9 cannot lose one. The publisher reads the rows in order
//! ([`due_events`]), publishes each with QoS 1 and deletes it ([`delete_event`]) only after the
//! broker's PUBACK. The outbox is bounded: when it is full the oldest row goes and a counter
//! that outlives the rows says how many went.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::fleet::payload::{EventMessage, EventPayload};

const DROPPED: &str = "outbox_dropped";

/// A row of the outbox and the message it publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub row: i64,
    pub message: EventMessage,
}

/// How full the outbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    pub pending: u64,
    pub dropped: u64,
}

/// Add an event (with a fresh random id) and, past `max_rows`, drop the oldest rows and count
/// them. Returns the new row's id. Runs in the caller's transaction when there is one.
pub fn enqueue_event(
    conn: &Connection,
    event: &EventPayload,
    max_rows: u32,
) -> Result<i64, StoreError> {
    let payload = serde_json::to_string(event)
        .map_err(|e| StoreError::Sql(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
    conn.execute(
        "INSERT INTO fleet_outbox (event_id, payload, created_at)
         VALUES (lower(hex(randomblob(16))), ?1, ?2)",
        params![payload, super::journal::now_stamp()],
    )?;
    let row = conn.last_insert_rowid();
    let over: i64 = conn.query_row(
        "SELECT max(count(*) - ?1, 0) FROM fleet_outbox",
        [i64::from(max_rows.max(1))],
        |r| r.get(0),
    )?;
    if over > 0 {
        conn.execute(
            "DELETE FROM fleet_outbox WHERE id IN
               (SELECT id FROM fleet_outbox ORDER BY id LIMIT ?1)",
            [over],
        )?;
        add_dropped(conn, over)?;
        tracing::warn!(
            dropped = over,
            "telemetry outbox full: oldest events dropped"
        );
    }
    Ok(row)
}

/// Up to `limit` rows after row `after`, oldest first. A row whose payload no longer reads
/// (written by a newer program) is dropped and counted rather than blocking the rest.
pub fn due_events(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, event_id, payload FROM fleet_outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut due = Vec::with_capacity(rows.len());
    for (row, id, payload) in rows {
        match serde_json::from_str::<EventPayload>(&payload) {
            Ok(event) => due.push(OutboxRow {
                row,
                message: EventMessage { id, event },
            }),
            Err(e) => {
                tracing::warn!(row, "telemetry outbox row unreadable, dropped: {e}");
                delete_event(conn, row)?;
                add_dropped(conn, 1)?;
            }
        }
    }
    Ok(due)
}

/// Forget a row the broker has acknowledged. Whether it was still there (the full outbox may
/// have dropped it meanwhile).
pub fn delete_event(conn: &Connection, row: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM fleet_outbox WHERE id = ?1", [row])? > 0)
}

pub fn outbox_status(conn: &Connection) -> Result<OutboxStatus, StoreError> {
    let pending: i64 = conn.query_row("SELECT count(*) FROM fleet_outbox", [], |r| r.get(0))?;
    let dropped: Option<i64> = conn
        .query_row(
            "SELECT value FROM fleet_counters WHERE name = ?1",
            [DROPPED],
            |r| r.get(0),
        )
        .optional()?;
    Ok(OutboxStatus {
        pending: u64::try_from(pending).unwrap_or(0),
        dropped: dropped.and_then(|d| u64::try_from(d).ok()).unwrap_or(0),
    })
}

fn add_dropped(conn: &Connection, n: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO fleet_counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        params![DROPPED, n],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::payload::{MediaKind, Outcome};
    use crate::store::journal::Action;

    fn event(n: usize) -> EventPayload {
        EventPayload::now(
            Action::Checkout,
            Outcome::Ok,
            n.is_multiple_of(2),
            MediaKind::Book,
            "it",
            Some(&format!("Titolo {n}")),
        )
    }

    #[test]
    fn rows_come_out_in_order_with_unique_ids_until_acknowledged() {
        let conn = crate::store::open_in_memory().expect("open");
        let rows: Vec<i64> = (0..5)
            .map(|n| enqueue_event(&conn, &event(n), 100).expect("enqueue"))
            .collect();
        let due = due_events(&conn, 0, 3).expect("due");
        assert_eq!(due.iter().map(|r| r.row).collect::<Vec<_>>(), rows[..3]);
        assert_eq!(due[1].message.event.title.as_deref(), Some("Titolo 1"));
        let rest = due_events(&conn, rows[2], 10).expect("due");
        assert_eq!(rest.len(), 2);
        let mut ids: Vec<_> = due
            .iter()
            .chain(&rest)
            .map(|r| r.message.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5);
        assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
        assert!(delete_event(&conn, rows[0]).expect("delete"));
        assert!(!delete_event(&conn, rows[0]).expect("again"));
        assert_eq!(
            outbox_status(&conn).expect("status"),
            OutboxStatus {
                pending: 4,
                dropped: 0
            }
        );
    }

    #[test]
    fn a_full_outbox_drops_the_oldest_and_counts_them() {
        let conn = crate::store::open_in_memory().expect("open");
        let rows: Vec<i64> = (0..7)
            .map(|n| enqueue_event(&conn, &event(n), 5).expect("enqueue"))
            .collect();
        let due = due_events(&conn, 0, 10).expect("due");
        assert_eq!(due.iter().map(|r| r.row).collect::<Vec<_>>(), rows[2..]);
        assert_eq!(
            outbox_status(&conn).expect("status"),
            OutboxStatus {
                pending: 5,
                dropped: 2
            }
        );
    }

    #[test]
    fn an_unreadable_row_is_dropped_not_stuck() {
        let conn = crate::store::open_in_memory().expect("open");
        conn.execute(
            "INSERT INTO fleet_outbox (event_id, payload, created_at) VALUES ('x', '{}', 't')",
            [],
        )
        .expect("insert");
        let good = enqueue_event(&conn, &event(1), 100).expect("enqueue");
        let due = due_events(&conn, 0, 10).expect("due");
        assert_eq!(due.iter().map(|r| r.row).collect::<Vec<_>>(), [good]);
        assert_eq!(outbox_status(&conn).expect("status").dropped, 1);
    }

    #[test]
    fn the_enqueue_joins_the_callers_transaction() {
        let mut conn = crate::store::open_in_memory().expect("open");
        let tx = conn.transaction().expect("tx");
        enqueue_event(&tx, &event(1), 100).expect("enqueue");
        drop(tx);
        assert_eq!(outbox_status(&conn).expect("status").pending, 0);
    }
}
