//! The outbox of e-mailed receipts: queued before sending, deleted once sent (the address
//! goes with the row), retried with a later `next_try_at` while the mail server is down.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// A mail to queue: already written in the session's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub language: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// A queued mail as the sender sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub mail: NewMail,
    pub attempts: u32,
    pub created_at: String,
}

/// Queue a mail, due at once. Times are UTC RFC 3339, which sort as text.
pub fn queue_mail(conn: &Connection, mail: &NewMail, now: &str) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO receipt_mail (language, recipient, subject, body_text, body_html,
         next_try_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            mail.language,
            mail.recipient,
            mail.subject,
            mail.body_text,
            mail.body_html,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Take the mail due first (`next_try_at <= due_by`) and lease it until `lease_until`, so a
/// second sender does not take it too; `None` when nothing is due.
pub fn claim_due_mail(
    conn: &mut Connection,
    due_by: &str,
    lease_until: &str,
) -> Result<Option<QueuedMail>, StoreError> {
    let tx = conn.transaction()?;
    let row = tx
        .query_row(
            "SELECT id, language, recipient, subject, body_text, body_html, attempts, created_at
             FROM receipt_mail WHERE next_try_at <= ?1 ORDER BY next_try_at, id LIMIT 1",
            [due_by],
            |r| {
                Ok(QueuedMail {
                    id: r.get(0)?,
                    mail: NewMail {
                        language: r.get(1)?,
                        recipient: r.get(2)?,
                        subject: r.get(3)?,
                        body_text: r.get(4)?,
                        body_html: r.get(5)?,
                    },
                    attempts: r.get(6)?,
                    created_at: r.get(7)?,
                })
            },
        )
        .optional()?;
    if let Some(m) = &row {
        tx.execute(
            "UPDATE receipt_mail SET next_try_at = ?2 WHERE id = ?1",
            params![m.id, lease_until],
        )?;
    }
    tx.commit()?;
    Ok(row)
}

/// The mail is gone (sent, refused for good, or given up on): delete it with its address.
pub fn delete_mail(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM receipt_mail WHERE id = ?1", [id])?;
    Ok(())
}

/// Sending failed for now: count the attempt and try again at `next_try_at`.
pub fn retry_mail_later(
    conn: &Connection,
    id: i64,
    next_try_at: &str,
    error: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE receipt_mail SET attempts = attempts + 1, next_try_at = ?2, last_error = ?3
         WHERE id = ?1",
        params![id, next_try_at, error],
    )?;
    Ok(())
}

/// How many mails wait, and when the next one is due.
pub fn mail_waiting(conn: &Connection) -> Result<(u64, Option<String>), StoreError> {
    Ok(conn.query_row(
        "SELECT count(*), min(next_try_at) FROM receipt_mail",
        [],
        |r| Ok((r.get::<_, i64>(0)?.try_into().unwrap_or(0), r.get(1)?)),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str) -> NewMail {
        NewMail {
            language: "it".into(),
            recipient: to.into(),
            subject: "La ricevuta".into(),
            body_text: "Prestiti".into(),
            body_html: "<p>Prestiti</p>".into(),
        }
    }

    #[test]
    fn a_mail_is_claimed_once_retried_later_and_deleted_with_its_address() {
        let mut conn = crate::store::open_in_memory().expect("open");
        let t0 = "2026-12-07T10:00:00.000Z";
        let id = queue_mail(&conn, &mail("giulia@example.org"), t0).expect("queue");
        assert_eq!(mail_waiting(&conn).expect("count"), (1, Some(t0.into())));

        let lease = "2026-12-07T10:05:00.000Z";
        let claimed = claim_due_mail(&mut conn, t0, lease)
            .expect("claim")
            .expect("due");
        assert_eq!((claimed.id, claimed.attempts), (id, 0));
        assert_eq!(claimed.mail.recipient, "giulia@example.org");
        assert!(
            claim_due_mail(&mut conn, t0, lease)
                .expect("claim")
                .is_none(),
            "leased"
        );

        let later = "2026-12-07T10:01:00.000Z";
        retry_mail_later(&conn, id, later, "connection refused").expect("retry");
        assert!(
            claim_due_mail(&mut conn, t0, lease)
                .expect("claim")
                .is_none()
        );
        let again = claim_due_mail(&mut conn, later, lease)
            .expect("claim")
            .expect("due");
        assert_eq!(again.attempts, 1);

        delete_mail(&conn, id).expect("sent");
        assert_eq!(mail_waiting(&conn).expect("count"), (0, None));
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM receipt_mail WHERE recipient LIKE '%giulia%'",
                [],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(kept, 0);
    }

    #[test]
    fn due_order_is_oldest_first() {
        let mut conn = crate::store::open_in_memory().expect("open");
        queue_mail(&conn, &mail("b@x.org"), "2026-12-07T10:00:02.000Z").expect("q");
        queue_mail(&conn, &mail("a@x.org"), "2026-12-07T10:00:01.000Z").expect("q");
        let first = claim_due_mail(&mut conn, "2026-12-08T00:00:00.000Z", "2026-12-09")
            .expect("claim")
            .expect("due");
        assert_eq!(first.mail.recipient, "a@x.org");
    }
}
