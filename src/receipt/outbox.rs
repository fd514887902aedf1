//! The e-mail outbox: receipts are queued in SQLite first and sent from there, so a mail
//! server that is down, or a kiosk restarted, loses none. A sent mail's row (and with it the
//! patron's address) is deleted.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::email::{EmailError, Mail, Mailer, Recipient, SendError, compose};
use super::model::Receipt;
use super::settings::EmailSettings;
use crate::store::StoreHandle;
use crate::store::receipts::{self, NewMail};

/// First wait after a failed attempt; it doubles with each attempt up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(30);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// A mail not sent in this long is dropped: the receipt is stale and the address should
/// not stay on the kiosk.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long a sender holds a mail it took before another may take it (a crash mid-send).
const LEASE: Duration = Duration::from_secs(300);
/// How often [`drain`] tries again while the server is down.
const DRAIN_RETRY: Duration = Duration::from_millis(500);

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub sent: u64,
    /// Failed for now, to be tried again.
    pub deferred: u64,
    /// Refused for good or waited too long: deleted unsent.
    pub dropped: u64,
    /// Still queued after the round.
    pub waiting: u64,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: u32) -> Duration {
    FIRST_BACKOFF
        .checked_mul(1u32 << attempts.min(16))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

/// Queue `receipt` for `recipient`; returns the outbox row. Refuses a typed address unless
/// the site allows it, and anything that is not an address.
pub async fn queue_email(
    store: &StoreHandle,
    settings: &EmailSettings,
    receipt: &Receipt,
    recipient: &Recipient,
) -> Result<i64, EmailError> {
    if settings.smtp.is_none() {
        return Err(EmailError::Off);
    }
    let to = settings.recipient(recipient)?;
    let mail = compose(receipt);
    let row = NewMail {
        language: mail.language.code().to_string(),
        recipient: to,
        subject: mail.subject,
        body_text: mail.text,
        body_html: mail.html,
    };
    let now = stamp(Utc::now());
    Ok(store
        .call(move |c| receipts::queue_mail(c, &row, &now))
        .await?)
}

/// Send every mail due at `now`, oldest first. The round stops at the first mail the server
/// cannot take for now (it is down: the rest would fail the same way) and leaves the others
/// for the next round. For the runtime to call on a timer.
pub async fn deliver_due(
    store: &StoreHandle,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<Delivery, EmailError> {
    deliver(store, mailer, now, Some(now)).await
}

/// Sorts after every time stamp the outbox holds: "whatever its retry time".
const ANY_TIME: &str = "9999-12-31T23:59:59.999Z";

async fn deliver(
    store: &StoreHandle,
    mailer: &Mailer,
    now: DateTime<Utc>,
    due_by: Option<DateTime<Utc>>,
) -> Result<Delivery, EmailError> {
    let mut report = Delivery::default();
    let due_by = due_by.map_or_else(|| ANY_TIME.to_string(), stamp);
    let lease = stamp(later(now, LEASE));
    let give_up_before = stamp(now - chrono::Duration::from_std(GIVE_UP_AFTER).unwrap_or_default());
    loop {
        let (due, lease) = (due_by.clone(), lease.clone());
        let Some(queued) = store
            .call(move |c| receipts::claim_due_mail(c, &due, &lease))
            .await?
        else {
            break;
        };
        let id = queued.id;
        if queued.created_at < give_up_before {
            tracing::warn!(
                id,
                attempts = queued.attempts,
                "receipt mail dropped: too old"
            );
            store.call(move |c| receipts::delete_mail(c, id)).await?;
            report.dropped += 1;
            continue;
        }
        let mail = Mail {
            language: crate::kiosk::Language::from_code(&queued.mail.language)
                .unwrap_or(crate::kiosk::Language::English),
            subject: queued.mail.subject,
            text: queued.mail.body_text,
            html: queued.mail.body_html,
        };
        match mailer.send(&mail, &queued.mail.recipient).await {
            Ok(()) => {
                store.call(move |c| receipts::delete_mail(c, id)).await?;
                report.sent += 1;
            }
            Err(SendError::Permanent(why)) => {
                tracing::warn!(id, "receipt mail refused, dropped: {why}");
                store.call(move |c| receipts::delete_mail(c, id)).await?;
                report.dropped += 1;
            }
            Err(SendError::Transient(why)) => {
                tracing::info!(id, "receipt mail not sent, will retry: {why}");
                let next = stamp(later(now, backoff(queued.attempts)));
                store
                    .call(move |c| receipts::retry_mail_later(c, id, &next, &why))
                    .await?;
                report.deferred += 1;
                break;
            }
        }
    }
    report.waiting = store.call(|c| receipts::mail_waiting(c)).await?.0;
    Ok(report)
}

/// Send everything queued, whatever its retry time, trying again every half second while the
/// server is down, for at most `timeout`: the headless driver's last step.
pub async fn drain(
    store: &StoreHandle,
    mailer: &Mailer,
    timeout: Duration,
) -> Result<Delivery, EmailError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut total = Delivery::default();
    loop {
        let round = deliver(store, mailer, Utc::now(), None).await?;
        total.sent += round.sent;
        total.deferred += round.deferred;
        total.dropped += round.dropped;
        total.waiting = round.waiting;
        if round.waiting == 0 || tokio::time::Instant::now() + DRAIN_RETRY > deadline {
            return Ok(total);
        }
        tokio::time::sleep(DRAIN_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(30));
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(5), Duration::from_secs(960));
        assert_eq!(backoff(7), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[tokio::test]
    async fn mail_waits_while_the_server_is_down_and_old_mail_is_dropped() {
        let store = StoreHandle::spawn(crate::store::open_in_memory().expect("db")).expect("store");
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let settings = EmailSettings {
            smtp: Some(format!("smtp://127.0.0.1:{port}")),
            from: "noreply@example.org".into(),
            timeout_secs: 2,
            ..EmailSettings::default()
        };
        let mailer = Mailer::from_settings(&settings).expect("mailer");
        let receipt = Receipt::sample(crate::kiosk::Language::English, "L", "T");
        for to in ["a@example.org", "b@example.org"] {
            queue_email(&store, &settings, &receipt, &Recipient::FromIls(to.into()))
                .await
                .expect("queued");
        }
        let round = deliver_due(&store, &mailer, Utc::now())
            .await
            .expect("round");
        assert_eq!(
            round,
            Delivery {
                sent: 0,
                deferred: 1,
                dropped: 0,
                waiting: 2
            },
            "one try, then the round stops"
        );
        // Four days on, both are past the give-up time.
        let future = Utc::now() + chrono::Duration::days(4);
        let round = deliver_due(&store, &mailer, future).await.expect("round");
        assert_eq!((round.dropped, round.waiting), (2, 0));
        assert!(matches!(
            queue_email(
                &store,
                &EmailSettings::default(),
                &receipt,
                &Recipient::FromIls("a@example.org".into())
            )
            .await,
            Err(EmailError::Off)
        ));
    }
}
