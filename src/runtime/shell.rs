//! The kiosk shell: carries out the core's effects and turns their results into events.
//!
//! Thin on purpose: the decisions are the core's ([`crate::kiosk`]). The shell knows how:
//! SIP2 messages, the write-ahead journal (a row before a circulation request leaves, the
//! answer after), the patron and item caches, and the pad (inventory, decode, security
//! read-back). Every exchange with the ILS is reported as an [`Exchange`] for the headless
//! driver's output and the logs.

mod cards;
mod holds;

pub use cards::CardEdge;

use std::collections::HashMap;

use chrono::{Duration as Days, Local, NaiveDate};
use serde::Serialize;

use crate::clock::ClockState;
use crate::config::time_zone::Zone;
use crate::fleet::FleetHandle;
use crate::fleet::payload::{EventPayload, MediaKind, Outcome};
use crate::kiosk::{
    Effect, Event, IlsAnswer, IlsRequest, Language, LoanLine, PatronAnswer, SecurityOutcome,
    TagKind, TagSeen, TokenOutcome,
};
use crate::phone::PhoneGate;
use crate::rfid::reader::SharedReader;
use crate::rfid::tag::uid_hex;
use crate::rfid::{LibraryTag, Security, SecurityConfig, TagData, TypeOfUsage};
use crate::sip2::client::{ClientError, Sip2Handle};
use crate::sip2::{self, Message, SipDateTime};
use crate::store::journal::{self, Action, NewEntry, State};
use crate::store::{StoreError, StoreHandle, cache, stats};

/// How long a new request waits for a sync busy with the same item's earlier rows.
const EARLIER_ROWS_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// What happened in one exchange with the ILS (or the offline queue), for output and logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// checkout, checkin, renew, renew_all, patron, abandon
    pub request: &'static str,
    pub item: Option<String>,
    /// ok, refused, queued, unavailable, offline_cache, conflict
    pub outcome: &'static str,
    pub journal: Option<i64>,
    pub message: Option<String>,
}

impl Exchange {
    /// The ILS answered `request` (yes or no); its screen messages are the message.
    fn answered(
        request: &'static str,
        item: Option<String>,
        ok: bool,
        journal: i64,
        messages: &[String],
    ) -> Exchange {
        Exchange {
            request,
            item,
            outcome: if ok { "ok" } else { "refused" },
            journal: Some(journal),
            message: nonempty(&messages.join(" ")),
        }
    }

    /// `request` was queued for the sync in journal row `journal`.
    fn queued(request: &'static str, item: String, journal: i64) -> Exchange {
        Exchange {
            request,
            item: Some(item),
            outcome: "queued",
            journal: Some(journal),
            message: None,
        }
    }
}

/// The mark on an offline return taken while the clock was not known to be right.
pub const CLOCK_UNSURE: &str = "clock unsure";

/// Why a patron session with a PIN was refused when the ILS answered without CQ.
const PIN_NOT_VERIFIED: &str = "the ILS did not say whether the PIN is valid (no CQ field): it \
                                cannot verify PINs; with terminal.require_pin = true the session \
                                is refused (set require_pin = false for the card alone)";

/// A PIN was given, the ILS knows the patron, and said nothing about the PIN (no CQ): the PIN
/// is not confirmed, and the session is refused. Logged with why (no patron id).
fn pin_unconfirmed(pin_given: bool, known: bool, pin_ok: Option<bool>) -> bool {
    let unconfirmed = pin_given && known && pin_ok.is_none();
    if unconfirmed {
        tracing::warn!("patron refused: {PIN_NOT_VERIFIED}");
    }
    unconfirmed
}

/// An answer of the wrong kind, as the error it is.
fn unexpected(answer: Message) -> ClientError {
    ClientError::Protocol(format!("answer {answer:?}"))
}

/// Settings the shell needs.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub location: String,
    pub security: SecurityConfig,
    /// Attempts at a security write and read-back (`rfid.security_retries`).
    pub security_attempts: u8,
    /// Offline loan days by SIP2 media type code, `default` for the rest.
    pub loan_days: std::collections::BTreeMap<String, u32>,
    /// Whose calendar day the daily statistics count (`terminal.time_zone`).
    pub zone: Zone,
    /// Days a patron not seen online stays in the offline cache.
    pub patron_cache_days: u32,
    /// `terminal.clock_check` and `terminal.clock_skew_secs`.
    pub clock_check: bool,
    pub clock_skew_secs: u32,
    /// How a patron card on the card reader gives the patron id (`[patron_card]`).
    pub patron_card: crate::rfid::patron_card::PatronCardSettings,
}

impl ShellConfig {
    pub fn from_settings(s: &crate::config::Settings) -> ShellConfig {
        ShellConfig {
            location: s.terminal.location.clone(),
            security: s.rfid.security(),
            security_attempts: s.rfid.security_retries,
            loan_days: s.offline.loan_days.clone(),
            zone: s.terminal.zone(),
            patron_cache_days: s.offline.patron_cache_days,
            clock_check: s.terminal.clock_check,
            clock_skew_secs: s.terminal.clock_skew_secs,
            patron_card: s.patron_card.clone(),
        }
    }

    fn loan_days(&self, media: Option<&str>) -> u32 {
        media
            .and_then(|m| self.loan_days.get(m))
            .or_else(|| self.loan_days.get("default"))
            .copied()
            .unwrap_or(14)
    }
}

/// The session's print lines, one list for the shell and its request workers.
#[derive(Clone, Default)]
pub struct PrintLines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl PrintLines {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn extend(&self, lines: &[String]) {
        self.lock().extend(lines.iter().cloned());
    }
    pub fn replace(&self, lines: &[String]) {
        *self.lock() = lines.to_vec();
    }
    pub fn clear(&self) {
        self.lock().clear();
    }
    pub fn snapshot(&self) -> Vec<String> {
        self.lock().clone()
    }
}

pub struct Shell {
    pub sip2: Sip2Handle,
    pub store: StoreHandle,
    pub reader: SharedReader,
    pub config: ShellConfig,
    /// Decoded tags by UID, so a tag is read once while it stays on the pad.
    decoded: HashMap<String, TagSeen>,
    /// The patron card on the card reader, so it identifies once while it stays.
    card_edge: CardEdge,
    /// Journal rows of requests this shell is sending now: a background sync leaves them be.
    pub in_flight: journal::InFlight,
    /// The receipt printer and mail server.
    pub receipts: super::receipts::ReceiptService,
    /// The ILS's print lines (AG) of the session so far, for its receipt; the runner clears
    /// them when the session ends. Shared with the workers that send requests side by side.
    pub print_lines: PrintLines,
    /// Where circulation events go (a disabled handle: nowhere, only the daily statistics).
    pub fleet: FleetHandle,
    /// The session's language, which the runner keeps current: counted with each action.
    pub language: Language,
    /// Whether this terminal's clock can be trusted (the runner keeps it up to date).
    pub clock: crate::clock::ClockState,
    /// How scanned phone codes are checked (`[phone]`).
    pub phone: PhoneGate,
}

/// One circulation action as the daily statistics and the fleet see it: no patron, no item.
#[derive(Debug, Clone)]
struct Counted {
    action: Action,
    outcome: Outcome,
    offline: bool,
    media: MediaKind,
    title: Option<String>,
}

impl Counted {
    fn new(
        action: Action,
        ok: bool,
        offline: bool,
        media: MediaKind,
        title: Option<String>,
        item_id: &str,
    ) -> Counted {
        // A library system that answers with the item id for a title must not publish it.
        let item_id = item_id.trim();
        let title = title.filter(|t| item_id.is_empty() || !t.contains(item_id));
        Counted {
            action,
            outcome: if ok { Outcome::Ok } else { Outcome::Refused },
            offline,
            media,
            title,
        }
    }

    /// An action the library system answered.
    fn answered(
        action: Action,
        ok: bool,
        media: Option<&sip2::MediaType>,
        title: Option<String>,
        item_id: &str,
    ) -> Counted {
        Counted::new(action, ok, false, MediaKind::from(media), title, item_id)
    }

    /// A loan or renewal the library system answered (30 has the layout of 12).
    fn loan(action: Action, r: &sip2::CheckoutResponse, item_id: &str) -> Counted {
        Counted::answered(
            action,
            r.ok,
            r.media_type.as_ref(),
            nonempty(&r.title_id),
            item_id,
        )
    }

    /// An action decided offline, with what the item cache knows of the item.
    fn offline(action: Action, cached: Option<&cache::CachedItem>, item_id: &str) -> Counted {
        let media = cached
            .and_then(|c| c.1.as_deref())
            .map(sip2::MediaType::from_code);
        Counted::new(
            action,
            true,
            true,
            MediaKind::from(media.as_ref()),
            cached.and_then(|c| c.0.clone()),
            item_id,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the pad thread failed: {0}")]
    Pad(String),
}

/// A SIP2 date of a local `YYYY-MM-DD` due date, end of day.
pub fn due_sip(date: NaiveDate) -> String {
    let end = date.and_hms_opt(23, 59, 59).unwrap_or_default();
    SipDateTime::local(end).to_string()
}

/// `YYYY-MM-DD` of whatever date text the ILS gives (SIP2 form, ISO, or as is).
pub fn display_date(text: &str) -> String {
    let t = text.trim();
    if let Some(d) = SipDateTime::parse(t) {
        return d.datetime.format("%Y-%m-%d").to_string();
    }
    t.get(..10)
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .map_or_else(|| t.to_string(), str::to_string)
}

fn nonempty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The core's view of a tag read from the pad.
pub fn tag_seen(tag: &LibraryTag) -> TagSeen {
    let uid = uid_hex(&tag.uid);
    let kind = match &tag.data {
        TagData::Decoded(r) if !r.primary_id.trim().is_empty() => match r.type_of_usage {
            TypeOfUsage::PatronCard => TagKind::PatronCard {
                patron_id: r.primary_id.trim().to_string(),
            },
            usage => TagKind::Item {
                item_id: r.primary_id.trim().to_string(),
                circulating: matches!(usage, TypeOfUsage::Circulating | TypeOfUsage::Local(_)),
                owner: r.owner_isil.clone(),
                set: r.set.map(|s| (s.parts, s.part_no)),
                title: r.title.clone(),
            },
        },
        _ => TagKind::Unreadable,
    };
    TagSeen { uid, kind }
}

impl Shell {
    pub fn new(
        sip2: Sip2Handle,
        store: StoreHandle,
        reader: SharedReader,
        config: ShellConfig,
    ) -> Shell {
        // The EAS state is read only where the gates use it.
        if let Ok(mut r) = reader.lock() {
            r.set_eas_reads(config.security.use_eas);
        }
        let terminal = crate::config::Terminal {
            clock_check: config.clock_check,
            clock_skew_secs: config.clock_skew_secs,
            ..crate::config::Terminal::default()
        };
        let clock = crate::clock::ClockState::new(
            &terminal,
            crate::clock::NtpState::Unknown {
                why: "not read yet".into(),
            },
        );
        Shell {
            sip2,
            store,
            reader,
            config,
            decoded: HashMap::new(),
            card_edge: CardEdge::default(),
            receipts: Default::default(),
            print_lines: PrintLines::default(),
            in_flight: journal::InFlight::default(),
            fleet: FleetHandle::disabled(crate::fleet::TelemetrySettings::default().outbox_max).0,
            language: Language::English,
            clock,
            phone: PhoneGate::off(),
        }
    }

    /// Circulation events go to this publisher's outbox.
    pub fn with_fleet(mut self, fleet: FleetHandle) -> Shell {
        self.fleet = fleet;
        self
    }

    /// Write to the journal (`journal` returns the row) and count `counted` in the daily
    /// statistics and, with telemetry on, in the fleet's outbox, all in one transaction: a
    /// crash keeps all of it or none, so no action is counted twice or lost.
    async fn journal_counted<F>(&self, journal: F, counted: Vec<Counted>) -> Result<i64, ShellError>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<i64, StoreError> + Send + 'static,
    {
        let day = self.config.zone.today();
        let language = self.language.code();
        let outbox = self.fleet.is_enabled().then(|| self.fleet.outbox_max());
        let events = !counted.is_empty();
        let id = self
            .store
            .call(move |c| {
                let tx = c.transaction()?;
                let id = journal(&tx)?;
                for n in counted {
                    let event = EventPayload::now(
                        n.action,
                        n.outcome,
                        n.offline,
                        n.media,
                        language,
                        n.title.as_deref(),
                    );
                    stats::record(&tx, day, &stats::StatKey::of(&event))?;
                    if let Some(max) = outbox {
                        crate::store::fleet::enqueue_event(&tx, &event, max)?;
                    }
                }
                tx.commit()?;
                Ok(id)
            })
            .await?;
        if events && outbox.is_some() {
            self.fleet.notify();
        }
        Ok(id)
    }

    /// Check phone codes by `phone`, against `clock`.
    pub fn with_phone(mut self, phone: PhoneGate, clock: ClockState) -> Shell {
        self.phone = phone;
        self.clock = clock;
        self
    }

    /// Decide about a scanned phone code now, and use it up when it is accepted; with the
    /// line to report (no patron in it).
    pub async fn check_token(&self, token: &str) -> (TokenOutcome, serde_json::Value) {
        let now = chrono::Utc::now().timestamp();
        self.phone
            .check(&self.store, token, now, self.clock.is_synchronised())
            .await
    }

    /// Read the pad: every tag on it, decoded (each tag read once while it stays).
    pub async fn read_pad(&mut self) -> Result<Vec<TagSeen>, ShellError> {
        let reader = self.reader.clone();
        let known: Vec<String> = self.decoded.keys().cloned().collect();
        let (uids, fresh) = tokio::task::spawn_blocking(move || {
            let mut r = reader
                .lock()
                .map_err(|_| "reader lock poisoned".to_string())?;
            let uids = r.inventory().map_err(|e| e.to_string())?;
            let mut fresh = Vec::new();
            for uid in &uids {
                if known.contains(&uid_hex(uid)) {
                    continue;
                }
                match r.read_tag(uid) {
                    Ok(tag) => fresh.push(tag_seen(&tag)),
                    Err(crate::rfid::ReaderError::TagGone(_)) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok::<_, String>((uids, fresh))
        })
        .await
        .map_err(|e| ShellError::Pad(e.to_string()))?
        .map_err(ShellError::Pad)?;
        for t in fresh {
            self.decoded.insert(t.uid.clone(), t);
        }
        let present: Vec<String> = uids.iter().map(uid_hex).collect();
        self.decoded.retain(|uid, _| present.contains(uid));
        Ok(present
            .iter()
            .filter_map(|u| self.decoded.get(u).cloned())
            .collect())
    }

    /// The first half of [`read_pad`](Self::read_pad): the inventory. Returns the UIDs on
    /// the pad now and those of them not decoded yet; tags that left are forgotten.
    pub async fn pad_inventory(
        &mut self,
    ) -> Result<(Vec<String>, Vec<crate::rfid::tag::Uid>), ShellError> {
        let reader = self.reader.clone();
        let uids = tokio::task::spawn_blocking(move || {
            let mut r = reader
                .lock()
                .map_err(|_| "reader lock poisoned".to_string())?;
            r.inventory().map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ShellError::Pad(e.to_string()))?
        .map_err(ShellError::Pad)?;
        let present: Vec<String> = uids.iter().map(uid_hex).collect();
        self.decoded.retain(|uid, _| present.contains(uid));
        let new = uids
            .into_iter()
            .filter(|u| !self.decoded.contains_key(&uid_hex(u)))
            .collect();
        Ok((present, new))
    }

    /// The second half: read and decode one tag the inventory found (one lifted meanwhile is
    /// left out). The pad is free between two tags, for the security writes of items
    /// answered meanwhile.
    pub async fn read_one(&mut self, uid: crate::rfid::tag::Uid) -> Result<(), ShellError> {
        let reader = self.reader.clone();
        let tag = tokio::task::spawn_blocking(move || {
            let mut r = reader
                .lock()
                .map_err(|_| "reader lock poisoned".to_string())?;
            match r.read_tag(&uid) {
                Ok(tag) => Ok(Some(tag_seen(&tag))),
                Err(crate::rfid::ReaderError::TagGone(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
        .map_err(|e| ShellError::Pad(e.to_string()))?
        .map_err(ShellError::Pad)?;
        if let Some(t) = tag {
            self.decoded.insert(t.uid.clone(), t);
        }
        Ok(())
    }

    /// The decoded tags among `present`, in its order.
    pub fn pad_tags(&self, present: &[String]) -> Vec<TagSeen> {
        present
            .iter()
            .filter_map(|u| self.decoded.get(u).cloned())
            .collect()
    }

    /// Carry out one effect; returns the event it results in (none for `Show`) and the
    /// exchange to report.
    pub async fn run(
        &mut self,
        effect: Effect,
    ) -> Result<(Option<Event>, Option<Exchange>), ShellError> {
        match effect {
            Effect::Show(_) => Ok((None, None)),
            Effect::CheckToken { req, token } => {
                let (outcome, _) = self.check_token(&token).await;
                Ok((Some(Event::Token { req, outcome }), None))
            }
            Effect::SetSecurity { uid, secure } => {
                let outcome = self.set_security(&uid, secure).await?;
                Ok((Some(Event::Security { uid, outcome }), None))
            }
            Effect::Ils { req, request } => {
                let (answer, exchange) = self.ils(request).await?;
                if let Some(id) = exchange.journal {
                    self.in_flight.remove(id);
                }
                Ok((Some(Event::Ils { req, answer }), Some(exchange)))
            }
            Effect::Receipt {
                kind,
                receipt,
                address,
            } => {
                let receipt = self
                    .receipts
                    .receipt(&receipt, &self.print_lines.snapshot());
                let state = match (kind, address) {
                    (crate::kiosk::ReceiptKind::Print, _) => self.receipts.print(receipt).await,
                    (crate::kiosk::ReceiptKind::Email, Some(address)) => {
                        self.receipts.email(&self.store, receipt, address).await
                    }
                    (crate::kiosk::ReceiptKind::Email, None) => crate::kiosk::ReceiptState::NotSent,
                };
                Ok((Some(Event::ReceiptDone { kind, state }), None))
            }
            Effect::DeliverySlip {
                item_id,
                title,
                patron_id,
                address,
            } => {
                if self.receipts.has_printer() {
                    let state = self
                        .receipts
                        .print_delivery_slip(&item_id, &title, &patron_id, &address)
                        .await;
                    if state != crate::kiosk::ReceiptState::Printed {
                        tracing::warn!(?state, "delivery slip not printed");
                    }
                }
                Ok((None, None))
            }
        }
    }

    /// One ILS request as a future of its own, to run beside others (the SIP2 client has
    /// several sessions): the journal row is written before it leaves and settled with its
    /// answer exactly as [`run`](Self::run) does. The caller keeps one request per item in
    /// flight.
    pub fn ils_task(
        &self,
        request: IlsRequest,
    ) -> impl Future<Output = Result<(IlsAnswer, Exchange), ShellError>> + Send + 'static {
        let mut worker = Shell {
            sip2: self.sip2.clone(),
            store: self.store.clone(),
            reader: self.reader.clone(),
            config: self.config.clone(),
            decoded: HashMap::new(),
            card_edge: CardEdge::default(),
            in_flight: self.in_flight.clone(),
            receipts: self.receipts.clone(),
            print_lines: self.print_lines.clone(),
            fleet: self.fleet.clone(),
            language: self.language,
            clock: self.clock.clone(),
            phone: self.phone.clone(),
        };
        async move {
            let (answer, exchange) = worker.ils(request).await?;
            if let Some(id) = exchange.journal {
                worker.in_flight.remove(id);
            }
            Ok((answer, exchange))
        }
    }

    async fn set_security(
        &mut self,
        uid: &str,
        secure: bool,
    ) -> Result<SecurityOutcome, ShellError> {
        let Some(parsed) = crate::rfid::tag::parse_uid(uid) else {
            return Ok(SecurityOutcome::NotVerified(format!("bad UID {uid}")));
        };
        let reader = self.reader.clone();
        let config = self.config.security;
        let attempts = self.config.security_attempts;
        let security = if secure {
            Security::Secured
        } else {
            Security::Unsecured
        };
        let outcome = tokio::task::spawn_blocking(move || {
            let mut r = reader
                .lock()
                .map_err(|_| "reader lock poisoned".to_string())?;
            Ok::<_, String>(crate::rfid::reader::set_security_retrying(
                &mut **r, &parsed, security, &config, attempts,
            ))
        })
        .await
        .map_err(|e| ShellError::Pad(e.to_string()))?
        .map_err(ShellError::Pad)?;
        Ok(match outcome {
            Ok(crate::rfid::WriteOutcome::Verified) => SecurityOutcome::Verified,
            Ok(crate::rfid::WriteOutcome::NotVerified { reason }) => {
                SecurityOutcome::NotVerified(reason)
            }
            Ok(crate::rfid::WriteOutcome::TagGone) | Err(crate::rfid::ReaderError::TagGone(_)) => {
                // Read it again when it comes back.
                self.decoded.remove(uid);
                SecurityOutcome::Gone
            }
            Err(e) => SecurityOutcome::NotVerified(e.to_string()),
        })
    }

    async fn ils(&mut self, request: IlsRequest) -> Result<(IlsAnswer, Exchange), ShellError> {
        match request {
            IlsRequest::Patron { patron_id, pin } => self.patron(patron_id, pin).await,
            IlsRequest::Checkout {
                patron_id,
                item_id,
                offline,
                journal,
            } => {
                if offline {
                    self.checkout_offline(patron_id, item_id, journal).await
                } else {
                    self.checkout(patron_id, item_id).await
                }
            }
            IlsRequest::Checkin {
                item_id,
                offline,
                journal,
            } => {
                if offline {
                    self.checkin_offline(item_id, journal).await
                } else {
                    self.checkin(item_id).await
                }
            }
            IlsRequest::Renew { patron_id, item_id } => self.renew(patron_id, item_id).await,
            IlsRequest::RenewAll { patron_id } => self.renew_all(patron_id).await,
            IlsRequest::CancelHold { patron_id, item_id } => {
                self.hold(holds::HoldChange {
                    patron_id,
                    item_id,
                    location: None,
                    delivery: false,
                    offline: false,
                    journal: None,
                })
                .await
            }
            IlsRequest::MoveHold {
                patron_id,
                item_id,
                location,
                delivery,
                offline,
                journal,
            } => {
                self.hold(holds::HoldChange {
                    patron_id,
                    item_id,
                    location: Some(location),
                    delivery,
                    offline,
                    journal,
                })
                .await
            }
            IlsRequest::Abandon { journal } => {
                let msg = "outcome unknown (the link failed); the patron was told the item was \
                           not lent";
                self.store
                    .call(move |c| journal::settle(c, journal, State::Conflict, Some(msg)))
                    .await?;
                Ok((
                    IlsAnswer::Abandoned,
                    Exchange {
                        request: "abandon",
                        item: None,
                        outcome: "conflict",
                        journal: Some(journal),
                        message: Some(msg.into()),
                    },
                ))
            }
        }
    }

    async fn record(
        &self,
        action: Action,
        patron: Option<&str>,
        item: Option<&str>,
        state: State,
        due: Option<String>,
    ) -> Result<(i64, SipDateTime), ShellError> {
        let now = SipDateTime::now_local();
        let at = now.to_string();
        let patron = patron.map(str::to_string);
        let item = item.map(str::to_string);
        let in_flight = self.in_flight.clone();
        let id = self
            .store
            .call(move |c| {
                journal::record(
                    c,
                    &NewEntry {
                        action,
                        patron_id: patron.as_deref(),
                        item_id: item.as_deref(),
                        state,
                        transaction_at: &at,
                        due_at: due.as_deref(),
                    },
                )
                .inspect(|id| {
                    // Owned by this shell from the moment it exists.
                    if state == State::Pending {
                        in_flight.insert(*id);
                    }
                })
            })
            .await?;
        Ok((id, now))
    }

    async fn settle(&self, id: i64, state: State, msg: Option<String>) -> Result<(), ShellError> {
        self.store
            .call(move |c| journal::settle(c, id, state, msg.as_deref()))
            .await?;
        Ok(())
    }

    /// After a request failed without an answer: surely not sent (offline) -> the row is
    /// refused and the core may queue a new one; maybe sent -> it stays pending.
    async fn unavailable(
        &self,
        id: i64,
        e: &ClientError,
        request: &'static str,
        item: Option<String>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let not_sent = matches!(
            e,
            ClientError::Offline(_) | ClientError::Encode(_) | ClientError::Closed
        );
        let msg = e.to_string();
        if not_sent {
            self.settle(id, State::Refused, Some(format!("not sent: {msg}")))
                .await?;
        } else {
            let m = msg.clone();
            self.store
                .call(move |c| journal::note_attempt(c, id, &m))
                .await?;
        }
        Ok((
            IlsAnswer::Unavailable {
                journal: (!not_sent).then_some(id),
                maybe_sent: !not_sent,
            },
            Exchange {
                request,
                item,
                outcome: "unavailable",
                journal: Some(id),
                message: Some(msg),
            },
        ))
    }

    /// A renewal without its answer. A renewal is never queued offline: one maybe sent goes
    /// to staff as a conflict.
    async fn renewal_unavailable(
        &self,
        id: i64,
        result: Result<Message, ClientError>,
        request: &'static str,
        item: Option<String>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let e = result.map_or_else(|e| e, unexpected);
        let (answer, mut ex) = self.unavailable(id, &e, request, item).await?;
        if let IlsAnswer::Unavailable {
            maybe_sent: true, ..
        } = answer
        {
            self.settle(id, State::Conflict, Some(format!("outcome unknown: {e}")))
                .await?;
            ex.outcome = "conflict";
        }
        Ok((answer, ex))
    }

    /// Settle a row by the ILS's yes or no, with its screen messages, and count the action.
    async fn settle_answer(
        &self,
        id: i64,
        ok: bool,
        messages: &[String],
        counted: Counted,
    ) -> Result<(), ShellError> {
        let state = if ok { State::Done } else { State::Refused };
        let msg = nonempty(&messages.join(" "));
        self.journal_counted(
            move |c| journal::settle(c, id, state, msg.as_deref()).map(|()| id),
            vec![counted],
        )
        .await?;
        Ok(())
    }

    /// Queue an action for the sync: the row of the request that just failed unsent
    /// (`journal`), or a new one; counted as done offline.
    async fn queue_offline(
        &self,
        journal: Option<i64>,
        action: Action,
        patron: Option<&str>,
        item_id: &str,
        due: Option<String>,
        counted: Counted,
    ) -> Result<i64, ShellError> {
        let patron = patron.map(str::to_string);
        let item = item_id.to_string();
        let at = SipDateTime::now_local().to_string();
        self.journal_counted(
            move |c| match journal {
                Some(id) => journal::queue(c, id, due.as_deref(), true).map(|()| id),
                None => journal::insert(
                    c,
                    &NewEntry {
                        action,
                        patron_id: patron.as_deref(),
                        item_id: Some(&item),
                        state: State::Queued,
                        transaction_at: &at,
                        due_at: due.as_deref(),
                    },
                ),
            },
            vec![counted],
        )
        .await
    }

    /// The item's earlier actions still in the journal (lent or returned offline, or left
    /// unsure by a crash) reach the ILS before a new one: a background sync may be on them.
    async fn settle_earlier(&self, item_id: &str) -> Result<(), ShellError> {
        let settled = crate::sync::settle_item(
            &self.sip2,
            &self.store,
            &self.in_flight,
            item_id,
            EARLIER_ROWS_PATIENCE,
        )
        .await
        .map_err(|crate::sync::SyncError::Store(e)| e)?;
        if !settled {
            tracing::warn!(item_id, "earlier journal rows of the item are still open");
        }
        Ok(())
    }

    async fn checkout(
        &mut self,
        patron_id: String,
        item_id: String,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        self.settle_earlier(&item_id).await?;
        let (id, now) = self
            .record(
                Action::Checkout,
                Some(&patron_id),
                Some(&item_id),
                State::Pending,
                None,
            )
            .await?;
        let msg = Message::Checkout(sip2::Checkout {
            sc_renewal_policy: true,
            transaction_date: Some(now),
            patron_id: patron_id.clone(),
            item_id: item_id.clone(),
            ..Default::default()
        });
        match self.sip2.request(msg).await {
            Ok(Message::CheckoutResponse(r)) => {
                let counted = Counted::loan(Action::Checkout, &r, &item_id);
                self.settle_answer(id, r.ok, &r.screen_messages, counted)
                    .await?;
                self.print_lines.extend(&r.print_lines);
                self.cache_item(
                    &item_id,
                    nonempty(&r.title_id),
                    r.media_type.map(|m| m.code().to_string()),
                )
                .await?;
                let exchange =
                    Exchange::answered("checkout", Some(item_id), r.ok, id, &r.screen_messages);
                Ok((
                    IlsAnswer::Checkout {
                        ok: r.ok,
                        offline: false,
                        title: nonempty(&r.title_id),
                        due: nonempty(&r.due_date).map(|d| display_date(&d)),
                        messages: r.screen_messages,
                        desensitize: r.desensitize != sip2::YesNoUnknown::No,
                    },
                    exchange,
                ))
            }
            Ok(other) => {
                self.unavailable(id, &unexpected(other), "checkout", Some(item_id))
                    .await
            }
            Err(e) => self.unavailable(id, &e, "checkout", Some(item_id)).await,
        }
    }

    async fn checkout_offline(
        &mut self,
        patron_id: String,
        item_id: String,
        journal: Option<i64>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let item = item_id.clone();
        let cached = self
            .store
            .call(move |c| cache::cached_item(c, &item))
            .await?;
        let days = self
            .config
            .loan_days(cached.as_ref().and_then(|c| c.1.as_deref()));
        let due = Local::now().date_naive() + Days::days(i64::from(days));
        let counted = Counted::offline(Action::Checkout, cached.as_ref(), &item_id);
        let id = self
            .queue_offline(
                journal,
                Action::Checkout,
                Some(&patron_id),
                &item_id,
                Some(due_sip(due)),
                counted,
            )
            .await?;
        Ok((
            IlsAnswer::Checkout {
                ok: true,
                offline: true,
                title: cached.and_then(|c| c.0),
                due: Some(due.format("%Y-%m-%d").to_string()),
                messages: Vec::new(),
                desensitize: true,
            },
            Exchange::queued("checkout", item_id, id),
        ))
    }

    async fn checkin(&mut self, item_id: String) -> Result<(IlsAnswer, Exchange), ShellError> {
        self.settle_earlier(&item_id).await?;
        let (id, now) = self
            .record(Action::Checkin, None, Some(&item_id), State::Pending, None)
            .await?;
        let msg = Message::Checkin(sip2::Checkin {
            transaction_date: Some(now.clone()),
            return_date: Some(now),
            current_location: self.config.location.clone(),
            item_id: item_id.clone(),
            ..Default::default()
        });
        match self.sip2.request(msg).await {
            Ok(Message::CheckinResponse(r)) => {
                self.print_lines.extend(&r.print_lines);
                let title = r.title_id.as_deref().and_then(nonempty);
                let counted = Counted::answered(
                    Action::Checkin,
                    r.ok,
                    r.media_type.as_ref(),
                    title.clone(),
                    &item_id,
                );
                self.settle_answer(id, r.ok, &r.screen_messages, counted)
                    .await?;
                self.cache_item(
                    &item_id,
                    title.clone(),
                    r.media_type.map(|m| m.code().to_string()),
                )
                .await?;
                let sort_bin = r
                    .sort_bin
                    .as_deref()
                    .and_then(nonempty)
                    .or_else(|| r.destination_location.as_deref().and_then(nonempty));
                let exchange =
                    Exchange::answered("checkin", Some(item_id), r.ok, id, &r.screen_messages);
                Ok((
                    IlsAnswer::Checkin {
                        ok: r.ok,
                        offline: false,
                        title,
                        sort_bin,
                        messages: r.screen_messages,
                        alert: r.alert.then(|| r.alert_type.clone().unwrap_or_default()),
                    },
                    exchange,
                ))
            }
            Ok(other) => {
                self.unavailable(id, &unexpected(other), "checkin", Some(item_id))
                    .await
            }
            Err(e) => self.unavailable(id, &e, "checkin", Some(item_id)).await,
        }
    }

    async fn checkin_offline(
        &mut self,
        item_id: String,
        journal: Option<i64>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let item = item_id.clone();
        let cached = self
            .store
            .call(move |c| cache::cached_item(c, &item))
            .await?;
        let counted = Counted::offline(Action::Checkin, cached.as_ref(), &item_id);
        let id = self
            .queue_offline(journal, Action::Checkin, None, &item_id, None, counted)
            .await?;
        if !self.clock.is_synchronised() {
            // Taken all the same; staff see that its return date may be wrong.
            let note = format!("{CLOCK_UNSURE}: {}", self.clock.reason());
            self.store
                .call(move |c| journal::note(c, id, &note))
                .await?;
        }
        Ok((
            IlsAnswer::Checkin {
                ok: true,
                offline: true,
                title: cached.and_then(|c| c.0),
                sort_bin: None,
                messages: Vec::new(),
                alert: None,
            },
            Exchange::queued("checkin", item_id, id),
        ))
    }

    async fn renew(
        &mut self,
        patron_id: String,
        item_id: String,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let (id, now) = self
            .record(
                Action::Renew,
                Some(&patron_id),
                Some(&item_id),
                State::Pending,
                None,
            )
            .await?;
        let msg = Message::Renew(sip2::Renew {
            transaction_date: Some(now),
            patron_id,
            item_id: Some(item_id.clone()),
            ..Default::default()
        });
        match self.sip2.request(msg).await {
            Ok(Message::RenewResponse(r)) => {
                let counted = Counted::loan(Action::Renew, &r, &item_id);
                self.settle_answer(id, r.ok, &r.screen_messages, counted)
                    .await?;
                let exchange =
                    Exchange::answered("renew", Some(item_id), r.ok, id, &r.screen_messages);
                Ok((
                    IlsAnswer::Renew {
                        ok: r.ok,
                        due: nonempty(&r.due_date).map(|d| display_date(&d)),
                        messages: r.screen_messages,
                    },
                    exchange,
                ))
            }
            other => {
                self.renewal_unavailable(id, other, "renew", Some(item_id))
                    .await
            }
        }
    }

    async fn renew_all(&mut self, patron_id: String) -> Result<(IlsAnswer, Exchange), ShellError> {
        // Journalled as one renewal row without an item: the ILS decides which loans.
        let (id, now) = self
            .record(Action::Renew, Some(&patron_id), None, State::Pending, None)
            .await?;
        let msg = Message::RenewAll(sip2::RenewAll {
            transaction_date: Some(now),
            patron_id,
            ..Default::default()
        });
        match self.sip2.request(msg).await {
            Ok(Message::RenewAllResponse(r)) => {
                // The row is done whatever the ILS renewed: its lists say which loans.
                let exchange = Exchange::answered("renew_all", None, r.ok, id, &r.screen_messages);
                // Each loan renewed or not is one renewal counted (nothing names the loans).
                let renewal =
                    |ok| Counted::new(Action::Renew, ok, false, MediaKind::Other, None, "");
                let renewed = r.renewed_items.len().max(usize::from(r.renewed_count));
                let unrenewed = r.unrenewed_items.len().max(usize::from(r.unrenewed_count));
                let counted = std::iter::repeat_n(renewal(true), renewed)
                    .chain(std::iter::repeat_n(renewal(false), unrenewed))
                    .collect();
                let msg = exchange.message.clone();
                self.journal_counted(
                    move |c| journal::settle(c, id, State::Done, msg.as_deref()).map(|()| id),
                    counted,
                )
                .await?;
                Ok((
                    IlsAnswer::RenewAll {
                        renewed: r.renewed_items,
                        unrenewed: r.unrenewed_items,
                        messages: r.screen_messages,
                    },
                    exchange,
                ))
            }
            other => self.renewal_unavailable(id, other, "renew_all", None).await,
        }
    }

    async fn patron(
        &mut self,
        patron_id: String,
        pin: Option<String>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let msg = Message::PatronInformation(sip2::PatronInformation {
            transaction_date: Some(SipDateTime::now_local()),
            summary: sip2::Summary {
                charged_items: true,
                ..Default::default()
            },
            patron_id: patron_id.clone(),
            patron_password: pin.clone(),
            ..Default::default()
        });
        let answer = match self.sip2.request(msg).await {
            Ok(Message::PatronInformationResponse(r)) => r,
            Ok(_) | Err(_) => return self.patron_offline(patron_id, pin).await,
        };
        let st = &answer.patron_status;
        let blocked = st.charge_privileges_denied
            || st.card_reported_lost
            || st.too_many_items_charged
            || st.too_many_items_overdue
            || st.excessive_outstanding_fines
            || st.excessive_outstanding_fees;
        let fine_cents = sip2::amount_cents(answer.fee_amount.as_deref());
        let fines = (fine_cents > 0).then(|| {
            format!(
                "{} {}",
                answer.fee_amount.as_deref().unwrap_or("").trim(),
                answer.currency_type.as_deref().unwrap_or("").trim()
            )
            .trim()
            .to_string()
        });
        let may_borrow = match (answer.charged_items_limit, answer.charged_items_count) {
            (Some(limit), Some(n)) => Some(u32::from(limit.saturating_sub(n))),
            _ => None,
        };
        let known = answer.valid_patron != Some(false);
        let pin_ok = pin.as_ref().and(answer.valid_patron_password);
        if known && pin_ok != Some(false) {
            self.print_lines.replace(&answer.print_lines);
        }
        // Holds ready and waiting: a look with each hold summary (SIP2 lists one kind at once).
        let (holds_ready, holds) = if pin_ok == Some(false) {
            (Vec::new(), Vec::new())
        } else {
            self.holds_of(&answer, &patron_id, pin.as_deref()).await
        };
        // Loans: titles and due dates from item information (idempotent reads).
        let mut loans = Vec::new();
        let today = Local::now().date_naive();
        for item in &answer.charged_items {
            let info = self
                .sip2
                .request(Message::ItemInformation(sip2::ItemInformation {
                    transaction_date: Some(SipDateTime::now_local()),
                    item_id: item.clone(),
                    ..Default::default()
                }))
                .await;
            let (title, due) = match info {
                Ok(Message::ItemInformationResponse(i)) => (
                    nonempty(&i.title_id).unwrap_or_else(|| item.clone()),
                    i.due_date.as_deref().map(display_date),
                ),
                _ => (item.clone(), None),
            };
            let overdue = due
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d < today);
            loans.push(LoanLine {
                item_id: item.clone(),
                title,
                due,
                overdue,
                renewed: None,
                message: None,
            });
        }
        // Cache only what the offline rules need: validity, flags, counts, fines, PIN hash.
        let flags = st.to_wire();
        let pin_hash = match (&pin, pin_ok) {
            (Some(p), Some(true)) => cache::pin_verifier(p),
            _ => None,
        };
        let row = cache::PatronCacheRow {
            patron_id: patron_id.clone(),
            pin_hash,
            valid: known,
            flags,
            charged: i64::from(answer.charged_items_count.unwrap_or(0)),
            limit: answer.charged_items_limit.map(i64::from),
            fine: fine_cents as f64 / 100.0,
        };
        if known && pin_ok != Some(false) {
            self.store
                .call(move |c| cache::cache_patron(c, &row))
                .await?;
        }
        let unverified = pin_unconfirmed(pin.is_some(), known, pin_ok);
        let outcome = if !known || pin_ok == Some(false) || unverified {
            "refused"
        } else {
            "ok"
        };
        let message = if unverified {
            Some(PIN_NOT_VERIFIED.to_string())
        } else {
            nonempty(&answer.screen_messages.join(" "))
        };
        Ok((
            IlsAnswer::Patron(PatronAnswer {
                offline: false,
                known,
                pin_ok,
                display_name: answer.personal_name.clone(),
                blocked,
                fines,
                fine_cents,
                may_borrow,
                holds_ready,
                loans,
                messages: answer.screen_messages.clone(),
                queued_offline: 0,
                holds,
                email: answer.email_address.as_deref().and_then(nonempty),
                address: answer.home_address.as_deref().and_then(nonempty),
            }),
            Exchange {
                request: "patron",
                item: None,
                outcome,
                journal: None,
                message,
            },
        ))
    }

    async fn patron_offline(
        &mut self,
        patron_id: String,
        pin: Option<String>,
    ) -> Result<(IlsAnswer, Exchange), ShellError> {
        let id = patron_id.clone();
        let (row, queued) = self
            .store
            .call(move |c| {
                Ok((
                    cache::cached_patron(c, &id)?,
                    journal::queued_loans(c, &id)?,
                ))
            })
            .await?;
        let answer = match row {
            None => PatronAnswer {
                offline: true,
                known: false,
                ..PatronAnswer::default()
            },
            Some(r) => {
                let pin_ok = match (&pin, &r.pin_hash) {
                    (Some(p), Some(h)) => Some(cache::pin_matches(p, h)),
                    _ => None,
                };
                if pin.is_some() && pin_ok.is_none() {
                    tracing::warn!(
                        "offline: no verifier of this patron's PIN is cached (no earlier online \
                         session with a PIN the ILS confirmed); the session is refused"
                    );
                }
                let flag = |i: usize| r.flags.chars().nth(i) == Some('Y');
                PatronAnswer {
                    offline: true,
                    known: r.valid,
                    pin_ok,
                    blocked: [0usize, 4, 5, 6, 10, 11].into_iter().any(flag),
                    fine_cents: (r.fine * 100.0).round() as i64,
                    queued_offline: queued,
                    ..PatronAnswer::default()
                }
            }
        };
        let known = answer.known;
        Ok((
            IlsAnswer::Patron(answer),
            Exchange {
                request: "patron",
                item: None,
                outcome: if known {
                    "offline_cache"
                } else {
                    "unavailable"
                },
                journal: None,
                message: None,
            },
        ))
    }

    async fn cache_item(
        &self,
        item: &str,
        title: Option<String>,
        media: Option<String>,
    ) -> Result<(), ShellError> {
        let item = item.to_string();
        self.store
            .call(move |c| cache::cache_item(c, &item, title.as_deref(), media.as_deref()))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_for_the_screen() {
        assert_eq!(display_date("20261226    235959"), "2026-12-26");
        assert_eq!(display_date("2026-12-26T23:59:59"), "2026-12-26");
        assert_eq!(display_date("soon"), "soon");
    }
}
