//! Offline queue replay: brings the ILS up to date with what the kiosk did while it could not
//! reach it, and settles requests whose outcome a crash or a broken link left unknown.
//!
//! Rows are replayed oldest first, an item's one after another (its loans must reach the ILS in
//! the order they happened) and the rows of different items side by side, one per SIP2
//! session, in batches: one journal transaction settles a batch's answers
//! and marks the next batch as maybe sent before it leaves, so the disk is flushed once per
//! batch rather than once per row. A batch holds at most one row per item. For each row:
//! - `pending`, or queued after a request that may have been sent: the ILS is asked first
//!   (item information, 17): a loan already charged to the patron, or a return already
//!   checked in, is "already done" and not sent again. A return whose book is on loan is sent
//!   again only within [`RETURN_RESEND_WINDOW`] of the return, or when the book has been at the
//!   kiosk since (a later row of it, or it is on the pad now): otherwise the book may have been
//!   lent to someone else since, and a second return would end their loan, so staff decide.
//! - otherwise it is replayed with no-block = Y, the original transaction (and return) date and
//!   the due date promised offline.
//! - a refusal of a replay is a conflict (checked out to another patron, unknown item...):
//!   the row goes to staff with the ILS's message and the sync goes on with the next row.
//! - no answer (link down again): the sync stops and leaves the rest for the next run.
//!
//! A renewal whose outcome is unknown is not replayed (a second renewal would extend the loan
//! twice): it goes to staff.
//!
//! A loan made at the bookstore counter reaches an ILS that may not know its brand-new item
//! yet (the purchase export has not been imported). A refused counter loan whose item the ILS
//! does not know stays queued and is tried again by the next run, while the rest of the queue
//! goes on; only after [`Policy::counter_pending_days`] is it a conflict for staff.

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
    /// Counter loans left queued: the ILS does not know their item yet.
    pub deferred: u64,
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

/// The conflicts staff must look at (`selfcheck sync conflicts`).
#[derive(Debug, Clone, Serialize)]
pub struct Conflicts {
    pub conflicts: Vec<journal::Conflict>,
}

/// Open conflicts, oldest first; with `resolved`, the resolved ones still kept too.
pub async fn conflicts(store: &StoreHandle, resolved: bool) -> Result<Conflicts, SyncError> {
    Ok(Conflicts {
        conflicts: store.call(move |c| journal::conflicts(c, resolved)).await?,
    })
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

/// How long after a return whose outcome is unknown the sync may still send it again when the
/// book is on loan: the ILS cannot say whether the loan is the one returned or a later one, and
/// a book taken back from the return bin, shelved and lent again takes longer than this.
/// Measured on the kiosk's clock in UTC from when the row was written.
pub const RETURN_RESEND_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What the sync may wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Days a counter loan waits for the ILS to know its item (`counter.pending_max_days`).
    pub counter_pending_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            counter_pending_days: crate::counter::CounterSettings::default().pending_max_days,
        }
    }
}

impl Policy {
    pub fn from_settings(s: &crate::config::Settings) -> Policy {
        Policy {
            counter_pending_days: s.counter.pending_max_days,
        }
    }
}

/// Rows read from the journal at once to choose a batch from.
const WINDOW: usize = 2000;
/// Most rows replayed between two journal transactions.
const BATCH: usize = 500;

/// Choose the next rows to send, oldest first: a run of rows of different items (an item's
/// second row waits for the next batch, so that after a crash each item has at most one row
/// whose outcome is unknown, and asking the ILS about it tells the truth), skipping the rows
/// the live kiosk still owns, and the ones this run put off (`deferred`), together with
/// every later row of their item.
fn pick(
    rows: impl Iterator<Item = Entry>,
    in_flight: &journal::InFlight,
    deferred: &BTreeSet<i64>,
) -> Vec<Entry> {
    let mut items = BTreeSet::new();
    let mut held = BTreeSet::new();
    let mut batch = Vec::new();
    for row in rows {
        let key = row.item_id.clone();
        if let Some(item) = &key
            && held.contains(item)
        {
            continue;
        }
        if in_flight.contains(row.id) || deferred.contains(&row.id) {
            if let Some(item) = key {
                held.insert(item);
            }
            continue;
        }
        if let Some(item) = key
            && !items.insert(item)
        {
            break;
        }
        batch.push(row);
        if batch.len() == BATCH {
            break;
        }
    }
    batch
}

/// Replay everything queued (and check everything pending). `progress(done, total)` is called
/// after each row.
pub async fn run(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    progress: impl FnMut(u64, u64),
) -> Result<Report, SyncError> {
    run_beside(sip2, store, &journal::InFlight::default(), progress).await
}

/// [`run`] beside a live kiosk: the rows in `in_flight` are the kiosk's own requests, still
/// waiting for their answers, and are left alone.
pub async fn run_beside(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    in_flight: &journal::InFlight,
    progress: impl FnMut(u64, u64),
) -> Result<Report, SyncError> {
    run_with(sip2, store, in_flight, Policy::default(), progress).await
}

/// [`run_beside`] with the site's [`Policy`].
pub async fn run_with(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    in_flight: &journal::InFlight,
    policy: Policy,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, SyncError> {
    let mut report = Report::default();
    let mut deferred = BTreeSet::new();
    let total = store.call(|c| journal::open_count(c)).await?;
    let mut handled = 0u64;
    let mut patrons = BTreeSet::new();
    let mut updates: Vec<journal::Update> = Vec::new();
    loop {
        let done = std::mem::take(&mut updates);
        let put_off = deferred.clone();
        let rows = step(store, in_flight, done, None, move |rows, flight| {
            pick(rows, flight, &put_off)
        })
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut rows = rows.into_iter();
        // A batch holds one row per item, so its rows may go side by side, one per session.
        let width = sip2.sessions().max(1);
        loop {
            let chunk: Vec<Entry> = rows.by_ref().take(width).collect();
            if chunk.is_empty() {
                break;
            }
            let mut asks = tokio::task::JoinSet::new();
            for (index, row) in chunk.into_iter().enumerate() {
                let (sip2, store) = (sip2.clone(), store.clone());
                asks.spawn(async move {
                    let step = match seen_since(&store, &row).await {
                        Ok(seen) => match replay(&sip2, &row, seen).await {
                            // A counter loan whose item the ILS does not know yet may wait.
                            Step::Settled(Outcome::Conflict, update)
                                if row.action == Action::Checkout =>
                            {
                                counter_loan_refused(&sip2, &store, &row, policy, update).await
                            }
                            other => Ok(other),
                        },
                        Err(e) => Err(e),
                    };
                    (index, row, step)
                });
            }
            let mut answers = Vec::new();
            while let Some(done) = asks.join_next().await {
                match done {
                    Ok(answer) => answers.push(answer),
                    Err(e) => {
                        report.stopped = Some(format!("replay task failed: {e}"));
                    }
                }
            }
            answers.sort_by_key(|(index, _, _)| *index);
            for (_, row, step) in answers {
                match step? {
                    Step::Deferred(update) => {
                        updates.push(update);
                        deferred.insert(row.id);
                        report.deferred += 1;
                    }
                    Step::Settled(outcome, update) => {
                        updates.push(update);
                        match outcome {
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
                    Step::Stop(why, update) => {
                        updates.push(update);
                        report.stopped = Some(why);
                    }
                }
            }
            if report.stopped.is_some() {
                break;
            }
        }
        // Marked for this batch but not reached: not sent.
        updates.extend(rows.map(|r| journal::Update::NotSent {
            id: r.id,
            maybe_sent: r.maybe_sent,
        }));
        if report.stopped.is_some() {
            step(
                store,
                in_flight,
                std::mem::take(&mut updates),
                None,
                |_, _| Vec::new(),
            )
            .await?;
            break;
        }
    }
    report.remaining = store.call(|c| journal::open_count(c)).await?;
    if report.stopped.is_none() {
        for p in patrons {
            if refresh_patron(sip2, store, &p).await? {
                report.refreshed_patrons += 1;
            }
        }
    }
    Ok(report)
}

/// [`journal::replay_step`] on the store thread, with the claims: the rows whose updates
/// are written are released and the rows picked are taken, in the same job, so that no other
/// sync can pick them in between.
async fn step(
    store: &StoreHandle,
    in_flight: &journal::InFlight,
    updates: Vec<journal::Update>,
    item: Option<String>,
    pick: impl FnOnce(&mut dyn Iterator<Item = Entry>, &journal::InFlight) -> Vec<Entry>
    + Send
    + 'static,
) -> Result<Vec<Entry>, SyncError> {
    let flight = in_flight.clone();
    Ok(store
        .call(move |c| {
            for u in &updates {
                flight.remove(u.id());
            }
            let rows = journal::replay_step(c, &updates, item.as_deref(), WINDOW, |rows| {
                pick(rows, &flight)
            });
            // Taken only once the mark is written.
            for r in rows.iter().flatten() {
                flight.insert(r.id);
            }
            rows
        })
        .await?)
}

/// Settle the rows of one item still open in the journal (queued offline, or left unsure),
/// oldest first, before the kiosk sends a new request for that item: its earlier loan and
/// return must reach the ILS before the new one. Rows another sync has taken are waited for,
/// up to `patience`. Returns false when some are left (no answer, or still taken).
pub async fn settle_item(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    in_flight: &journal::InFlight,
    item: &str,
    patience: std::time::Duration,
) -> Result<bool, SyncError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut updates = Vec::new();
    loop {
        let done = std::mem::take(&mut updates);
        let rows = step(
            store,
            in_flight,
            done,
            Some(item.to_string()),
            |rows, flight| {
                match rows.next() {
                    Some(first) if !flight.contains(first.id) => vec![first],
                    // Nothing open, or the oldest is someone else's now.
                    _ => Vec::new(),
                }
            },
        )
        .await?;
        let Some(row) = rows.into_iter().next() else {
            let it = item.to_string();
            let left = store
                .call(move |c| Ok(journal::open_entries_of(c, &it)?.len()))
                .await?;
            if left == 0 {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        // The kiosk is about to lend or return the item: it is on the pad.
        match replay(sip2, &row, true).await {
            Step::Settled(_, update) | Step::Deferred(update) => updates.push(update),
            Step::Stop(_, update) => {
                step(store, in_flight, vec![update], None, |_, _| Vec::new()).await?;
                return Ok(false);
            }
        }
    }
}

enum Step {
    Settled(Outcome, journal::Update),
    /// Left queued for a later run (a counter loan whose item the ILS does not know yet).
    Deferred(journal::Update),
    /// No answer: stop here.
    Stop(String, journal::Update),
}

/// A refused loan: when it was made at this counter and the ILS does not know its item yet,
/// it stays queued (until `counter_pending_days` after the purchase, then it is a conflict);
/// any other refusal stays the conflict it is.
async fn counter_loan_refused(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    row: &Entry,
    policy: Policy,
    conflict: journal::Update,
) -> Result<Step, SyncError> {
    let id = row.id;
    let day = store
        .call(move |c| crate::store::counter::purchase_day_of_loan(c, id))
        .await?;
    let Some(day) = day else {
        return Ok(Step::Settled(Outcome::Conflict, conflict));
    };
    let item = row.item_id.clone().unwrap_or_default();
    let known = sip2
        .request(Message::ItemInformation(sip2::ItemInformation {
            transaction_date: Some(SipDateTime::now_local()),
            item_id: item.clone(),
            ..Default::default()
        }))
        .await;
    let known = match known {
        Ok(Message::ItemInformationResponse(i)) => {
            !(i.title_id.trim().is_empty()
                && i.circulation_status == CirculationStatus::Unspecified)
        }
        Ok(_) => true,
        Err(e) => {
            // The refusal stands as an answer; only the question about the item was lost.
            return Ok(Step::Stop(
                no_answer(&e),
                journal::Update::NoAnswer {
                    id,
                    message: "a counter loan refused; whether the library system knows the                               item yet could not be asked"
                        .into(),
                    maybe_sent: false,
                },
            ));
        }
    };
    if known {
        return Ok(Step::Settled(Outcome::Conflict, conflict));
    }
    let today = chrono::Local::now().date_naive();
    let age = today.signed_duration_since(day).num_days();
    if age > i64::from(policy.counter_pending_days) {
        return Ok(Step::Settled(
            Outcome::Conflict,
            settled(
                id,
                State::Conflict,
                Some(format!(
                    "counter item {item} bought on {day} is still unknown to the library \
                     system after {age} days (counter.pending_max_days = {}): import the \
                     counter's purchase export, then sync again",
                    policy.counter_pending_days
                )),
            ),
        ));
    }
    Ok(Step::Deferred(journal::Update::NoAnswer {
        id,
        message: format!(
            "counter item {item} bought on {day} is not known to the library system yet \
             (its purchase export not imported): tried again by the next sync"
        ),
        maybe_sent: false,
    }))
}

fn no_answer(e: &ClientError) -> String {
    e.to_string()
}

/// What the ILS's records say about an action whose outcome is unknown.
enum Check {
    Applied,
    NotApplied,
    /// The records cannot tell: staff decide (the reason).
    AskStaff(&'static str),
}

/// Has the row's item been at the kiosk since the row (a later row of it)? Asked only of
/// returns whose outcome is unknown, the one case where it matters.
async fn seen_since(store: &StoreHandle, row: &Entry) -> Result<bool, SyncError> {
    let (Action::Checkin, true, Some(item)) =
        (row.action, row.outcome_unknown(), row.item_id.clone())
    else {
        return Ok(false);
    };
    let id = row.id;
    Ok(store
        .call(move |c| journal::later_row_of_item(c, &item, id))
        .await?)
}

/// Is the row's action already applied at the ILS? `Err`: cannot tell (no answer).
/// `seen_since`: the item has been at the kiosk since the row was written.
async fn check(sip2: &Sip2Handle, row: &Entry, seen_since: bool) -> Result<Check, String> {
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
    let applied = match row.action {
        Action::Checkout => {
            charged
                && match borrower {
                    Some(b) => Some(b.as_str()) == row.patron_id.as_deref(),
                    // Without AA, ask the patron's record.
                    None => charged_to(sip2, row).await?,
                }
        }
        Action::Checkin if charged && !seen_since && !recent(&row.created_at) => {
            return Ok(Check::AskStaff(
                "return outcome unknown and the book is on loan again: check whether this \
                 loan began after the return before returning it",
            ));
        }
        Action::Checkin => !charged,
        Action::Renew | Action::Deliver => false,
    };
    Ok(if applied {
        Check::Applied
    } else {
        Check::NotApplied
    })
}

/// Was the row written (`created_at`, UTC RFC 3339) within [`RETURN_RESEND_WINDOW`] of now?
/// A time that does not parse is not recent, and neither is one more than a minute ahead of
/// now: the clock has been set back since (a Pi without a battery clock after a power cut),
/// and nobody can tell how long ago it was.
fn recent(created_at: &str) -> bool {
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(created_at) else {
        return false;
    };
    let age = chrono::Utc::now().signed_duration_since(at);
    age >= -chrono::Duration::minutes(1)
        && age
            <= chrono::Duration::from_std(RETURN_RESEND_WINDOW).unwrap_or(chrono::Duration::zero())
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

fn settled(id: i64, state: State, message: Option<String>) -> journal::Update {
    journal::Update::Settle { id, state, message }
}

/// Check (when unsure) and replay one row; the journal update is the caller's to write.
/// `seen_since`: the item has been at the kiosk since the row was written.
async fn replay(sip2: &Sip2Handle, row: &Entry, seen_since: bool) -> Step {
    let unsure = row.outcome_unknown();
    if row.action == Action::Renew {
        let why = if unsure {
            "renewal outcome unknown: check the loan's due date"
        } else {
            // Renewals are never queued offline.
            "queued renewal"
        };
        return Step::Settled(
            Outcome::Conflict,
            settled(row.id, State::Conflict, Some(why.into())),
        );
    }
    if row.action == Action::Deliver {
        // Moving a hold to the delivery location twice is moving it once: no check first.
        return replay_delivery(sip2, row).await;
    }
    if unsure {
        match check(sip2, row, seen_since).await {
            Ok(Check::Applied) => {
                return Step::Settled(
                    Outcome::AlreadyDone,
                    settled(
                        row.id,
                        State::Done,
                        Some("already recorded by the library system".into()),
                    ),
                );
            }
            Ok(Check::NotApplied) => {}
            Ok(Check::AskStaff(why)) => {
                return Step::Settled(
                    Outcome::Conflict,
                    settled(row.id, State::Conflict, Some(why.into())),
                );
            }
            Err(why) => {
                // Only a read was lost: the row keeps the flag it had.
                return Step::Stop(
                    why,
                    journal::Update::NotSent {
                        id: row.id,
                        maybe_sent: row.maybe_sent,
                    },
                );
            }
        }
    }
    let answer = match sip2.request(replay_message(row)).await {
        Ok(a) => a,
        Err(e) => {
            let why = no_answer(&e);
            // Refused before it left: not sent. Otherwise it may have reached the ILS, and
            // the next sync asks before sending it again.
            let maybe_sent = row.maybe_sent || !matches!(e, ClientError::Offline(_));
            return Step::Stop(
                why.clone(),
                journal::Update::NoAnswer {
                    id: row.id,
                    message: why,
                    maybe_sent,
                },
            );
        }
    };
    let (ok, text) = verdict(&answer);
    if ok {
        let already = text
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains("already"));
        Step::Settled(
            if already {
                Outcome::AlreadyDone
            } else {
                Outcome::Done
            },
            settled(row.id, State::Done, text),
        )
    } else {
        Step::Settled(
            Outcome::Conflict,
            settled(
                row.id,
                State::Conflict,
                Some(text.unwrap_or_else(|| "refused by the library system".into())),
            ),
        )
    }
}

/// The request that replays a loan or a return: with no-block, the original transaction (and
/// return) date and the due date promised offline.
fn replay_message(row: &Entry) -> Message {
    let date = SipDateTime::parse(&row.transaction_at);
    match row.action {
        Action::Checkin => Message::Checkin(sip2::Checkin {
            no_block: true,
            transaction_date: date.clone(),
            return_date: date,
            item_id: row.item_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
        _ => Message::Checkout(sip2::Checkout {
            sc_renewal_policy: false,
            no_block: true,
            transaction_date: date,
            nb_due_date: row.due_at.as_deref().and_then(SipDateTime::parse),
            patron_id: row.patron_id.clone().unwrap_or_default(),
            item_id: row.item_id.clone().unwrap_or_default(),
            ..Default::default()
        }),
    }
}

/// Did the ILS take the request, and what did it say (its screen messages)?
fn verdict(answer: &Message) -> (bool, Option<String>) {
    let (ok, text) = match answer {
        Message::CheckoutResponse(r) => (r.ok, r.screen_messages.join(" ")),
        Message::CheckinResponse(r) => (r.ok, r.screen_messages.join(" ")),
        Message::RenewResponse(r) => (r.ok, r.screen_messages.join(" ")),
        Message::RenewAllResponse(r) => (r.ok, r.screen_messages.join(" ")),
        other => (false, format!("unexpected answer {}", other.id())),
    };
    (ok, Some(text).filter(|t| !t.trim().is_empty()))
}

/// What became of a conflict staff settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveOutcome {
    /// The ILS took the resend: done.
    Resent,
    /// Dropped: staff handled it at the ILS.
    Dropped,
    /// The ILS refused it again: still a conflict, with the new answer.
    RefusedAgain,
    /// The ILS did not answer: still a conflict. `maybe_sent`: the request left, and the ILS
    /// may have applied it.
    NoAnswer,
}

impl ResolveOutcome {
    /// The key the staff page words (the JSON name).
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveOutcome::Resent => "resent",
            ResolveOutcome::Dropped => "dropped",
            ResolveOutcome::RefusedAgain => "refused_again",
            ResolveOutcome::NoAnswer => "no_answer",
        }
    }
}

/// The report of `selfcheck sync resolve` and of the staff page's buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub id: i64,
    pub outcome: ResolveOutcome,
    /// The conflict is settled (resent or dropped); otherwise it stays with staff.
    pub resolved: bool,
    /// The ILS's answer to a resend, or why there was none.
    pub message: Option<String>,
    /// A resend without an answer may have reached the ILS.
    pub maybe_sent: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("there is no journal row {0}")]
    Unknown(i64),
    #[error("row {id} is not an open conflict: {now}")]
    NotOpen { id: i64, now: String },
    #[error(
        "row {0} cannot be sent again: the item has later transactions at this kiosk, and \
         sending this one now would put them out of order; put it right at the desk and drop it"
    )]
    LaterRows(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Drop conflict `id`: staff handled it at the ILS, the kiosk sends nothing.
pub async fn drop_conflict(
    store: &StoreHandle,
    id: i64,
    note: Option<String>,
) -> Result<Resolved, ResolveError> {
    let (row, _) = open_conflict(store, id).await?;
    settle_resolution(store, &row, journal::Resolution::Dropped, note).await?;
    Ok(settled_by_staff(
        &row,
        Resolved::new(id, ResolveOutcome::Dropped, None),
    ))
}

/// Send conflict `id` again now, on staff's word that its cause is put right at the desk: a
/// loan or a return as the sync replays it (no-block, its own dates), a renewal asked for
/// again as of now. A resend the ILS refuses, or leaves unanswered, stays a conflict with the
/// new answer. Not when the item has later rows at this kiosk: sent now, it would reach the ILS
/// after them.
pub async fn resend(
    sip2: &Sip2Handle,
    store: &StoreHandle,
    id: i64,
    note: Option<String>,
) -> Result<Resolved, ResolveError> {
    let (row, later) = open_conflict(store, id).await?;
    if later {
        return Err(ResolveError::LaterRows(id));
    }
    let report = match sip2.request(resend_message(&row)).await {
        Ok(answer) => match verdict(&answer) {
            (true, text) => {
                let how = journal::Resolution::Resent;
                settle_resolution(store, &row, how, note).await?;
                Resolved::new(id, ResolveOutcome::Resent, text)
            }
            (false, text) => {
                let why = text.unwrap_or_else(|| "refused by the library system".into());
                let message = why.clone();
                store
                    .call(move |c| journal::settle(c, id, State::Conflict, Some(&message)))
                    .await?;
                Resolved::new(id, ResolveOutcome::RefusedAgain, Some(why))
            }
        },
        Err(e) => {
            let maybe_sent = !matches!(e, ClientError::Offline(_));
            if maybe_sent {
                let message = format!(
                    "sent again, no answer ({e}): check at the desk whether the library \
                     system applied it before sending it again"
                );
                store
                    .call(move |c| journal::note_attempt(c, id, &message))
                    .await?;
            }
            Resolved {
                maybe_sent,
                ..Resolved::new(id, ResolveOutcome::NoAnswer, Some(no_answer(&e)))
            }
        }
    };
    Ok(settled_by_staff(&row, report))
}

impl Resolved {
    fn new(id: i64, outcome: ResolveOutcome, message: Option<String>) -> Resolved {
        Resolved {
            id,
            outcome,
            resolved: matches!(outcome, ResolveOutcome::Resent | ResolveOutcome::Dropped),
            message,
            maybe_sent: false,
        }
    }
}

/// Log what staff did: the row and the outcome, never the patron.
fn settled_by_staff(row: &Entry, report: Resolved) -> Resolved {
    tracing::info!(
        id = row.id,
        action = row.action.as_str(),
        outcome = ?report.outcome,
        "staff settled a conflict"
    );
    report
}

/// Row `id` if it is an open conflict, and whether its item has later rows.
async fn open_conflict(store: &StoreHandle, id: i64) -> Result<(Entry, bool), ResolveError> {
    let (row, later) = store
        .call(move |c| {
            let row = journal::get(c, id)?;
            let later = match row.as_ref().and_then(|r| r.item_id.as_deref()) {
                Some(item) => journal::later_row_of_item(c, item, id)?,
                None => false,
            };
            Ok((row, later))
        })
        .await?;
    let row = row.ok_or(ResolveError::Unknown(id))?;
    if row.state != State::Conflict {
        return Err(not_open(store, id).await);
    }
    Ok((row, later))
}

/// The error for row `id`, which is not (or no longer) an open conflict: what it is now.
async fn not_open(store: &StoreHandle, id: i64) -> ResolveError {
    let now = store
        .call(move |c| Ok((journal::get(c, id)?, journal::resolution(c, id)?)))
        .await;
    let now = match now {
        Ok((_, Some((how, at)))) => format!("staff {} it at {at}", how.as_str()),
        Ok((Some(row), None)) => format!("it is {}", row.state.as_str()),
        Ok((None, None)) => "it is gone".into(),
        Err(e) => e.to_string(),
    };
    ResolveError::NotOpen { id, now }
}

/// Record the resolution; another hand may have settled the row while the resend was out.
async fn settle_resolution(
    store: &StoreHandle,
    row: &Entry,
    how: journal::Resolution,
    note: Option<String>,
) -> Result<(), ResolveError> {
    let id = row.id;
    let done = store
        .call(move |c| journal::resolve(c, id, how, note.as_deref()))
        .await?;
    if done {
        return Ok(());
    }
    Err(not_open(store, id).await)
}

/// The request a resend sends: a loan or a return as the sync replays it; a renewal asked for
/// again as of now (no promise was made offline).
fn resend_message(row: &Entry) -> Message {
    if row.action != Action::Renew {
        return replay_message(row);
    }
    let transaction_date = Some(SipDateTime::now_local());
    let patron_id = row.patron_id.clone().unwrap_or_default();
    match &row.item_id {
        Some(item) => Message::Renew(sip2::Renew {
            transaction_date,
            patron_id,
            item_id: Some(item.clone()),
            ..Default::default()
        }),
        None => Message::RenewAll(sip2::RenewAll {
            transaction_date,
            patron_id,
            ..Default::default()
        }),
    }
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
    let row = crate::store::cache::PatronCacheRow {
        patron_id: patron.to_string(),
        pin_hash: None,
        valid: p.valid_patron != Some(false),
        flags,
        charged: i64::from(p.charged_items_count.unwrap_or(0)),
        limit: p.charged_items_limit.map(i64::from),
        fine: crate::sip2::amount_cents(p.fee_amount.as_deref()) as f64 / 100.0,
    };
    store
        .call(move |c| crate::store::cache::cache_patron(c, &row))
        .await?;
    Ok(true)
}

/// Replay a home delivery: the hold moves to the delivery location (15 `*` with BS).
async fn replay_delivery(sip2: &Sip2Handle, row: &Entry) -> Step {
    let message = Message::Hold(sip2::Hold {
        hold_mode: sip2::HoldMode::Change,
        transaction_date: SipDateTime::parse(&row.transaction_at),
        pickup_location: row.pickup.clone(),
        patron_id: row.patron_id.clone().unwrap_or_default(),
        item_id: row.item_id.clone(),
        ..Default::default()
    });
    match sip2.request(message).await {
        Ok(Message::HoldResponse(r)) => {
            let text = Some(r.screen_messages.join(" ")).filter(|t| !t.trim().is_empty());
            if r.ok {
                Step::Settled(Outcome::Done, settled(row.id, State::Done, text))
            } else {
                Step::Settled(Outcome::Conflict, settled(row.id, State::Conflict, text))
            }
        }
        Ok(other) => Step::Settled(
            Outcome::Conflict,
            settled(
                row.id,
                State::Conflict,
                Some(format!("unexpected answer {}", other.id())),
            ),
        ),
        Err(e) => {
            let why = no_answer(&e);
            let maybe_sent = row.maybe_sent || !matches!(e, ClientError::Offline(_));
            Step::Stop(
                why.clone(),
                journal::Update::NoAnswer {
                    id: row.id,
                    message: why,
                    maybe_sent,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, item: &str) -> Entry {
        Entry {
            id,
            action: Action::Checkout,
            patron_id: Some("P".into()),
            item_id: Some(item.into()),
            state: State::Queued,
            offline: true,
            transaction_at: "20261128    101500".into(),
            due_at: None,
            attempts: 0,
            message: None,
            maybe_sent: false,
            created_at: journal::now_stamp(),
            pickup: None,
        }
    }

    fn ids(rows: &[Entry]) -> Vec<i64> {
        rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_batch_holds_one_row_per_item_in_order() {
        let rows = vec![
            row(1, "A"),
            row(2, "B"),
            row(3, "C"),
            row(4, "A"),
            row(5, "D"),
        ];
        let picked = pick(
            rows.into_iter(),
            &journal::InFlight::default(),
            &BTreeSet::new(),
        );
        assert_eq!(
            ids(&picked),
            [1, 2, 3],
            "the second row of A waits, and so does D"
        );
    }

    #[test]
    fn rows_of_the_live_kiosk_hold_back_their_item() {
        let live = journal::InFlight::default();
        live.insert(2);
        let rows = vec![row(1, "A"), row(2, "B"), row(3, "B"), row(4, "C")];
        assert_eq!(
            ids(&pick(rows.into_iter(), &live, &BTreeSet::new())),
            [1, 4]
        );
        live.remove(2);
        let rows = vec![row(2, "B"), row(3, "B")];
        assert_eq!(ids(&pick(rows.into_iter(), &live, &BTreeSet::new())), [2]);
    }

    #[test]
    fn a_counter_loan_put_off_holds_back_its_item_only() {
        let rows = vec![row(1, "A"), row(2, "A"), row(3, "B")];
        let put_off = BTreeSet::from([1]);
        assert_eq!(
            ids(&pick(
                rows.into_iter(),
                &journal::InFlight::default(),
                &put_off
            )),
            [3]
        );
    }

    #[test]
    fn a_row_is_recent_within_the_window_on_a_clock_that_did_not_go_back() {
        let ago = |secs: i64| {
            (chrono::Utc::now() - chrono::Duration::seconds(secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let window = RETURN_RESEND_WINDOW.as_secs() as i64;
        assert!(recent(&ago(5)));
        assert!(recent(&ago(window - 60)));
        assert!(!recent(&ago(window + 60)));
        assert!(!recent(&ago(3 * 24 * 3600)));
        assert!(recent(&ago(-20)), "a clock a few seconds off");
        assert!(!recent(&ago(-600)), "the clock went back: unknown age");
        assert!(!recent("20261128    101500"), "not the stored form");
        assert!(!recent(""));
    }

    #[test]
    fn a_batch_is_bounded() {
        let rows: Vec<Entry> = (0..BATCH as i64 + 10)
            .map(|i| row(i, &format!("I{i}")))
            .collect();
        assert_eq!(
            pick(
                rows.into_iter(),
                &journal::InFlight::default(),
                &BTreeSet::new()
            )
            .len(),
            BATCH
        );
    }
}
