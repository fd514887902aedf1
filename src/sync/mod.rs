//! Offline queue replay: brings the ILS up to date with what the kiosk did while it could not
//! reach it, and settles requests whose outcome a crash or a broken link left unknown.
//!
//! Rows are replayed oldest first, one at a time (loans of one item must reach the ILS in the
//! order they happened). For each row:
//! - `pending`, or queued after a request that may have been sent: the ILS is asked first
//!   (item information, 17): a loan already charged to the patron, or a return already
//!   checked in, is "already done" and not sent again.
//! - otherwise it is replayed with no-block = Y, the original transaction (and return) date and
//!   the due date promised offline.
//! - a refusal of a replay is a conflict (checked out to another patron, unknown item...):
//!   the row goes to staff with the ILS's message and the sync goes on with the next row.
//! - no answer (link down again): the sync stops and leaves the rest for the next run.
//!
//! A renewal whose outcome is unknown is not replayed (a second renewal would extend the loan
//! twice): it goes to staff.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::sip2::client::{ClientError, Sip2Handle};
use crate::sip2::{self, CirculationStatus, Message, SipDateTime};
use crate::store::journal::{self, Action, Entry, State};
use crate::store::{StoreError, StoreHandle};

/// How a row ended in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    AlreadyDone,
    Conflict,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub done: u64,
    pub already_done: u64,
    pub conflicts: u64,
    /// Rows left for a later run (the link went down, or the batch limit).
    pub remaining: u64,
    /// The run stopped early because the ILS stopped answering.
    pub stopped: Option<String>,
    /// Patron cache records refreshed.
    pub refreshed_patrons: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The journal's state, for `selfcheck sync status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub counts: Vec<(String, i64)>,
    pub conflicts: Vec<Entry>,
}

pub async fn status(store: &StoreHandle) -> Result<Status, SyncError> {
    Ok(store
        .call(|c| {
            Ok(Status {
                counts: journal::counts(c)?,
                conflicts: journal::entries_in(c, State::Conflict)?,
            })
        })
        .await?)
}

enum Step {
    Settled(Outcome),
    /// No answer: stop here.
    Stop(String),
}

/// Replay everything queued (and check everything pending). `progress(done, total)` is called
/// after each row.
pub async fn run(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, SyncError> {
    const BATCH: usize = 500;
    let mut report = Report::default();
    let total: u64 = store
        .call(|c| {
            Ok(journal::counts(c)?
                .into_iter()
                .filter(|(s, _)| s == "pending" || s == "queued")
                .map(|(_, n)| n as u64)
                .sum())
        })
        .await?;
    let mut handled = 0u64;
    let mut patrons = BTreeSet::new();
    // Rows settled as conflicts leave the open set, so every batch makes progress.
    'outer: loop {
        let rows = store.call(|c| journal::open_entries(c, BATCH)).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            match replay(sip2, store, &row).await? {
                Step::Settled(o) => {
                    match o {
                        Outcome::Done => report.done += 1,
                        Outcome::AlreadyDone => report.already_done += 1,
                        Outcome::Conflict => report.conflicts += 1,
                    }
                    if let Some(p) = &row.patron_id {
                        patrons.insert(p.clone());
                    }
                    handled += 1;
                    progress(handled, total);
                }
                Step::Stop(why) => {
                    report.stopped = Some(why);
                    break 'outer;
                }
            }
        }
    }
    report.remaining = store
        .call(|c| Ok(journal::open_entries(c, usize::MAX)?.len() as u64))
        .await?;
    if report.stopped.is_none() {
        for p in patrons {
            if refresh_patron(sip2, store, &p).await? {
                report.refreshed_patrons += 1;
            }
        }
    }
    Ok(report)
}

fn no_answer(e: &ClientError) -> String {
    e.to_string()
}

/// Is the row's action already applied at the ILS? `None`: cannot tell (no answer).
async fn already_applied(sip2: &Sip2Handle, row: &Entry) -> Result<bool, String> {
    let item = row.item_id.clone().unwrap_or_default();
    let answer = sip2
        .request(Message::ItemInformation(sip2::ItemInformation {
            transaction_date: Some(SipDateTime::now_local()),
            item_id: item,
            ..Default::default()
        }))
        .await
        .map_err(|e| no_answer(&e))?;
    let Message::ItemInformationResponse(info) = answer else {
        return Err("unexpected answer to item information".into());
    };
    let charged = matches!(
        info.circulation_status,
        CirculationStatus::Charged
            | CirculationStatus::ChargedNotToBeRecalledUntilEarliestRecallDate
            | CirculationStatus::Recalled
    );
    let borrower = info
        .extra
        .iter()
        .find(|(k, _)| k == "AA")
        .map(|(_, v)| v.clone());
    Ok(match row.action {
        Action::Checkout => {
            charged
                && match borrower {
                    Some(b) => Some(b.as_str()) == row.patron_id.as_deref(),
                    // Without AA, ask the patron's record.
                    None => charged_to(sip2, row).await?,
                }
        }
        Action::Checkin => !charged,
        Action::Renew => false,
    })
}

async fn charged_to(sip2: &Sip2Handle, row: &Entry) -> Result<bool, String> {
    let answer = sip2
        .request(Message::PatronInformation(sip2::PatronInformation {
            transaction_date: Some(SipDateTime::now_local()),
            summary: sip2::Summary {
                charged_items: true,
                ..Default::default()
            },
            patron_id: row.patron_id.clone().unwrap_or_default(),
            ..Default::default()
        }))
        .await
        .map_err(|e| no_answer(&e))?;
    Ok(match answer {
        Message::PatronInformationResponse(p) => row
            .item_id
            .as_ref()
            .is_some_and(|i| p.charged_items.contains(i)),
        _ => false,
    })
}

async fn settle(
    store: &StoreHandle,
    id: i64,
    state: State,
    msg: Option<String>,
) -> Result<(), SyncError> {
    store
        .call(move |c| journal::settle(c, id, state, msg.as_deref()))
        .await?;
    Ok(())
}

async fn replay(sip2: &Sip2Handle, store: &StoreHandle, row: &Entry) -> Result<Step, SyncError> {
    let unsure = row.state == State::Pending || row.maybe_sent;
    if row.action == Action::Renew {
        if unsure {
            settle(
                store,
                row.id,
                State::Conflict,
                Some("renewal outcome unknown: check the loan's due date".into()),
            )
            .await?;
            return Ok(Step::Settled(Outcome::Conflict));
        }
        // Renewals are never queued offline; nothing else to do.
        settle(
            store,
            row.id,
            State::Conflict,
            Some("queued renewal".into()),
        )
        .await?;
        return Ok(Step::Settled(Outcome::Conflict));
    }
    if unsure {
        match already_applied(sip2, row).await {
            Ok(true) => {
                settle(
                    store,
                    row.id,
                    State::Done,
                    Some("already recorded by the library system".into()),
                )
                .await?;
                return Ok(Step::Settled(Outcome::AlreadyDone));
            }
            Ok(false) => {}
            Err(why) => return Ok(Step::Stop(why)),
        }
    }
    let date = SipDateTime::parse(&row.transaction_at);
    let message = match row.action {
        Action::Checkout => Message::Checkout(sip2::Checkout {
            sc_renewal_policy: false,
            no_block: true,
            transaction_date: date,
            nb_due_date: row.due_at.as_deref().and_then(SipDateTime::parse),
            patron_id: row.patron_id.clone().unwrap_or_default(),
            item_id: row.item_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
        Action::Checkin => Message::Checkin(sip2::Checkin {
            no_block: true,
            transaction_date: date.clone(),
            return_date: date,
            item_id: row.item_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
        Action::Renew => unreachable_renew(),
    };
    let answer = match sip2.request(message).await {
        Ok(a) => a,
        Err(e) => {
            let maybe = !matches!(e, ClientError::Offline(_));
            let id = row.id;
            let why = no_answer(&e);
            let w = why.clone();
            store
                .call(move |c| {
                    journal::note_attempt(c, id, &w)?;
                    if maybe {
                        // The replay may have reached the ILS: ask before the next one.
                        journal::queue(c, id, None, true)?;
                    }
                    Ok(())
                })
                .await?;
            return Ok(Step::Stop(why));
        }
    };
    let (ok, text) = match &answer {
        Message::CheckoutResponse(r) => (r.ok, r.screen_messages.join(" ")),
        Message::CheckinResponse(r) => (r.ok, r.screen_messages.join(" ")),
        other => (false, format!("unexpected answer {}", other.id())),
    };
    let text = Some(text).filter(|t| !t.trim().is_empty());
    if ok {
        let already = text
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains("already"));
        settle(store, row.id, State::Done, text).await?;
        Ok(Step::Settled(if already {
            Outcome::AlreadyDone
        } else {
            Outcome::Done
        }))
    } else {
        settle(
            store,
            row.id,
            State::Conflict,
            Some(text.unwrap_or_else(|| "refused by the library system".into())),
        )
        .await?;
        Ok(Step::Settled(Outcome::Conflict))
    }
}

fn unreachable_renew() -> Message {
    // Renewal rows are settled before a replay is built.
    Message::RequestResend
}

/// Refresh one patron's cache record after the sync (counts, flags, fines; never the name).
async fn refresh_patron(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    patron: &str,
) -> Result<bool, SyncError> {
    let answer = sip2
        .request(Message::PatronInformation(sip2::PatronInformation {
            transaction_date: Some(SipDateTime::now_local()),
            patron_id: patron.to_string(),
            ..Default::default()
        }))
        .await;
    let Ok(Message::PatronInformationResponse(p)) = answer else {
        return Ok(false);
    };
    let st = p.patron_status;
    let flags = st.to_wire();
    let row = crate::shell::PatronCacheRow {
        patron_id: patron.to_string(),
        pin_hash: None,
        valid: p.valid_patron != Some(false),
        flags,
        charged: i64::from(p.charged_items_count.unwrap_or(0)),
        limit: p.charged_items_limit.map(i64::from),
        fine: crate::shell::cents(p.fee_amount.as_deref()) as f64 / 100.0,
    };
    store
        .call(move |c| crate::shell::cache_patron(c, &row))
        .await?;
    Ok(true)
}
