//! The kiosk core: the patron session as a pure state machine. Events come in (a touch, a
//! tag, a barcode, the clock, the link, an answer from the library system), effects come out
//! (what the screen shows, what to ask the ILS, which tag's security to switch); nothing here
//! does I/O, so every path is tested without threads or hardware.
//!
//! The session: welcome -> identify (card tag, barcode, typed number) -> PIN when required ->
//! items on the pad -> each item lent (or returned) by the ILS -> its security switched and
//! read back -> summary -> welcome on "done" or on the idle timeout (after a warning). An item
//! is done only when the ILS said yes *and* its security is verified. Offline (the link is
//! down, or a request got no answer) the offline rules decide and the loan is queued; the
//! shell journals every circulation request before it sends it.

mod events;
mod holds;
pub mod model;
mod receipts;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

pub use events::{
    Effect, Event, IlsAnswer, IlsRequest, IlsServices, PatronAnswer, ReceiptAddress,
    ReceiptRequest, SecurityOutcome, TagKind, TagSeen, TokenOutcome,
};
pub use model::{
    Activity, DeliveryOffer, Fault, FaultKind, HoldLine, ItemLine, ItemState, Language, LoanLine,
    PatronLine, Reason, ReceiptKind, ReceiptLine, ReceiptState, Screen, ScreenModel, SyncLine,
};
pub use rules::{DeliveryRules, KioskConfig, OfflineRules, ReceiptRules, Rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Identify,
    Pin { attempts_left: u8 },
    Checking,
    Active,
    Summary,
    Refused,
}

/// Where an item is in its lending (or return).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Refused before any request (usage, owner, incomplete set, unreadable).
    Held,
    /// Asked the ILS; waiting for answer `req`.
    Asking(u64),
    /// The ILS said yes; security being switched on the parts not yet verified.
    Securing,
    Done,
    /// Lent, and the ILS asked that its security stay on: done here, released at the desk.
    AtDesk,
    /// The ILS said no (or the offline rules did).
    Refused,
}

#[derive(Debug, Clone)]
struct Item {
    line: ItemLine,
    step: Step,
    /// Lent/returned offline (queued).
    offline: bool,
    /// Every UID of the item's parts seen this session, and its security.
    tags: BTreeMap<String, TagSec>,
    /// UIDs on the pad now.
    present: BTreeSet<String>,
    /// Parts in the set (1 for a single item).
    parts: u8,
    /// Came from a scanned label: with no tag of it on the pad there is no security to
    /// switch, and it is never "lifted".
    scanned: bool,
    /// Returned with an alert from the ILS: once secured it goes on the desk shelf, and why.
    desk_shelf: Option<Reason>,
}

/// One tag's security in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagSec {
    Unverified,
    Writing,
    /// The last write could not be verified: retried once the tag is lifted and put back.
    Failed,
    Verified,
}

#[derive(Debug, Clone)]
enum Pending {
    Patron,
    /// A phone code being checked by the shell.
    Token,
    Item(String),
    Renew(String),
    RenewAll,
    /// A hold cancelled (`location` none) or moved.
    Hold {
        item_id: String,
        location: Option<String>,
        delivery: bool,
    },
    Abandon,
}

/// One patron's (or one return's) session; dropped whole at its end.
#[derive(Debug, Clone)]
struct Session {
    activity: Activity,
    phase: Phase,
    patron_id: Option<String>,
    pin_attempts_left: u8,
    patron: Option<PatronLine>,
    /// Offline loans still allowed to this patron.
    offline_allowance: u32,
    /// The patron may borrow offline (known and not blocked, or unknown patrons allowed).
    offline_ok: bool,
    /// A PIN was asked for and given: the session goes on only once it is confirmed.
    pin_given: bool,
    items: Vec<Item>,
    loans: Vec<LoanLine>,
    messages: Vec<String>,
    notice: Option<Reason>,
    holds: Vec<HoldLine>,
    /// The ILS's e-mail address for the patron (BE): for the receipt only, never shown.
    email: Option<String>,
    /// The ILS's home address for the patron (BD): shown masked before a delivery.
    address: Option<String>,
    /// The delivery waiting for the patron's yes.
    delivery: Option<DeliveryOffer>,
    receipt: receipts::ReceiptChoice,
}

pub struct Kiosk {
    config: KioskConfig,
    rules: Rules,
    session: Option<Session>,
    language: Language,
    online: bool,
    /// What the ILS's ACS status allows while online.
    services: IlsServices,
    /// The clock is known to be right; until the runtime says so, offline loans are refused.
    clock_ok: bool,
    out_of_order: Option<Fault>,
    idle: Duration,
    sync: Option<SyncLine>,
    next_req: u64,
    pending: HashMap<u64, Pending>,
    /// UIDs on the pad at the last report.
    pad: Vec<TagSeen>,
    effects: Vec<Effect>,
}

impl Kiosk {
    pub fn new(config: KioskConfig) -> Kiosk {
        Kiosk::with_rules(config, Rules::default())
    }

    pub fn with_rules(config: KioskConfig, rules: Rules) -> Kiosk {
        let language = config
            .languages
            .first()
            .copied()
            .unwrap_or(Language::English);
        Kiosk {
            config,
            rules,
            session: None,
            language,
            online: false,
            services: IlsServices::default(),
            clock_ok: false,
            out_of_order: None,
            idle: Duration::ZERO,
            sync: None,
            next_req: 1,
            pending: HashMap::new(),
            pad: Vec::new(),
            effects: Vec::new(),
        }
    }

    /// Whether a patron (or return) session is open.
    pub fn in_session(&self) -> bool {
        self.session.is_some()
    }

    /// The language of the session (or of the welcome screen).
    pub fn language(&self) -> Language {
        self.language
    }

    /// Why the kiosk is out of order, when it is.
    pub fn fault(&self) -> Option<&Fault> {
        self.out_of_order.as_ref()
    }

    /// Requests sent and not yet answered.
    pub fn requests_in_flight(&self) -> usize {
        self.pending.len()
    }

    pub fn model(&self) -> ScreenModel {
        let mut m = ScreenModel {
            screen: Screen::Welcome,
            language: self.language,
            languages: self.config.languages.clone(),
            online: self.online,
            patron: None,
            items: Vec::new(),
            loans: Vec::new(),
            messages: Vec::new(),
            notice: None,
            idle_warning: None,
            sync: self.sync,
            receipt: None,
            holds: Vec::new(),
            pickup_locations: Vec::new(),
            delivery_offered: false,
            delivery: None,
        };
        if let Some(s) = &self.session {
            m.screen = match s.phase {
                Phase::Identify => Screen::Identify {
                    activity: s.activity,
                },
                Phase::Pin { attempts_left } => Screen::Pin {
                    activity: s.activity,
                    attempts_left,
                },
                Phase::Checking => Screen::Checking {
                    activity: s.activity,
                },
                Phase::Active => match s.activity {
                    Activity::Borrow => Screen::Borrow,
                    Activity::Return => Screen::Return,
                    Activity::Account => Screen::Account,
                },
                Phase::Summary => Screen::Summary {
                    activity: s.activity,
                },
                Phase::Refused => Screen::Refused {
                    activity: s.activity,
                },
            };
            m.patron = s.patron.clone();
            m.items = s.items.iter().map(|i| i.line.clone()).collect();
            m.loans = s.loans.clone();
            m.messages = s.messages.clone();
            m.notice = s.notice;
            if s.phase == Phase::Summary {
                m.receipt = self.receipt_line(s).map(Box::new);
            }
            if s.phase == Phase::Active && s.activity == Activity::Account {
                self.hold_lines(s, &mut m);
            }
            let warn_from = self
                .config
                .idle_timeout
                .saturating_sub(self.rules.idle_warning);
            if self.idle >= warn_from && !self.rules.idle_warning.is_zero() {
                let left = self.config.idle_timeout.saturating_sub(self.idle);
                m.idle_warning = Some(left.as_secs_f64().ceil() as u32);
            }
        } else if let Some(fault) = &self.out_of_order {
            m.screen = Screen::OutOfOrder {
                fault: fault.kind,
                reason: fault.reason.clone(),
            };
        } else if let Some(fault) = self.ils_fault() {
            m.screen = Screen::OutOfOrder {
                fault: fault.kind,
                reason: fault.reason,
            };
        }
        m
    }

    /// Online with an ILS that allows neither loans nor returns here: out of order.
    fn ils_fault(&self) -> Option<Fault> {
        (self.online && !self.services.checkout && !self.services.checkin).then(|| Fault {
            kind: FaultKind::Ils,
            reason: "the library system allows neither loans nor returns at this kiosk now \
                     (its ACS status)"
                .into(),
        })
    }

    /// Feed one event; returns what must happen as a result (a new screen model last).
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let before = self.model();
        self.apply(event);
        let mut effects = std::mem::take(&mut self.effects);
        let after = self.model();
        if after != before {
            effects.push(Effect::Show(after));
        }
        effects
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Start(activity) => {
                self.idle = Duration::ZERO;
                if self.session.is_none()
                    && self.out_of_order.is_none()
                    && self.ils_fault().is_none()
                {
                    let phase = if activity == Activity::Return {
                        Phase::Active
                    } else {
                        Phase::Identify
                    };
                    self.session = Some(Session {
                        activity,
                        phase,
                        patron_id: None,
                        pin_attempts_left: self.rules.pin_attempts.max(1),
                        patron: None,
                        offline_allowance: 0,
                        offline_ok: false,
                        pin_given: false,
                        items: Vec::new(),
                        loans: Vec::new(),
                        messages: Vec::new(),
                        notice: None,
                        holds: Vec::new(),
                        email: None,
                        address: None,
                        delivery: None,
                        receipt: receipts::ReceiptChoice::default(),
                    });
                    if let (true, Err(reason)) = (self.online, self.services.allow(activity)) {
                        // Offered only what the ILS allows: said plainly, back to welcome.
                        return self.refuse_session(reason, Vec::new());
                    }
                    if activity == Activity::Return {
                        // Items already on the pad count.
                        let pad = std::mem::take(&mut self.pad);
                        self.on_pad(pad);
                    }
                }
            }
            Event::Cancel => self.end_session(),
            Event::ChooseLanguage(language) => {
                self.idle = Duration::ZERO;
                if self.config.languages.contains(&language) {
                    self.language = language;
                }
            }
            Event::LinkChanged { online } => self.online = online,
            Event::Touch => self.idle = Duration::ZERO,
            Event::Idle(elapsed) => {
                self.idle = self.idle.saturating_add(elapsed);
                if self.session.is_some() && self.idle >= self.config.idle_timeout {
                    self.end_session();
                }
            }
            Event::OutOfOrder(reason) => {
                self.out_of_order = reason;
            }
            Event::SyncProgress { done, total } => {
                self.sync = Some(SyncLine { done, total });
            }
            Event::SyncEnded => self.sync = None,
            Event::IlsServices(services) => self.services = services,
            Event::Clock { synchronised } => self.clock_ok = synchronised,
            Event::Patron(id) => {
                self.idle = Duration::ZERO;
                self.on_patron(id);
            }
            Event::Pin(pin) => {
                self.idle = Duration::ZERO;
                self.on_pin(pin);
            }
            Event::Scan(code) => {
                self.idle = Duration::ZERO;
                self.on_scan(code);
            }
            Event::Pad(tags) => {
                if tags != self.pad {
                    self.idle = Duration::ZERO;
                }
                self.on_pad(tags);
            }
            Event::Ils { req, answer } => self.on_answer(req, answer),
            Event::Token { req, outcome } => self.on_token(req, outcome),
            Event::Security { uid, outcome } => self.on_security(uid, outcome),
            Event::Done => {
                self.idle = Duration::ZERO;
                self.on_done();
            }
            Event::Renew(item) => {
                self.idle = Duration::ZERO;
                self.on_renew(Some(item));
            }
            Event::RenewAll => {
                self.idle = Duration::ZERO;
                self.on_renew(None);
            }
            Event::Receipt { kind, address } => {
                self.idle = Duration::ZERO;
                self.on_receipt(kind, address);
            }
            Event::ReceiptDone { kind, state } => self.on_receipt_done(kind, state),
            Event::CancelHold(item) => {
                self.idle = Duration::ZERO;
                self.on_hold_change(item, None);
            }
            Event::MoveHold { item, location } => {
                self.idle = Duration::ZERO;
                self.on_hold_change(item, Some(location));
            }
            Event::Deliver(item) => {
                self.idle = Duration::ZERO;
                self.on_deliver(item);
            }
            Event::ConfirmDelivery(yes) => {
                self.idle = Duration::ZERO;
                self.on_confirm_delivery(yes);
            }
        }
    }

    fn request(&mut self, pending: Pending, request: IlsRequest) -> u64 {
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(req, pending);
        self.effects.push(Effect::Ils { req, request });
        req
    }

    /// Whether a card (or phone code) would identify a patron now: at the welcome screen, or
    /// on the identify screen of a borrow or account session.
    fn identifying(&self) -> bool {
        match &self.session {
            None => self.out_of_order.is_none(),
            Some(s) => s.phase == Phase::Identify && s.activity != Activity::Return,
        }
    }

    /// Back to the welcome screen in the default language: the next patron starts afresh and
    /// nothing of this one stays in memory.
    fn end_session(&mut self) {
        self.session = None;
        self.language = self
            .config
            .languages
            .first()
            .copied()
            .unwrap_or(Language::English);
        self.idle = Duration::ZERO;
        // Answers still to come are for a session that no longer exists; the journal keeps
        // them.
        self.pending.clear();
    }

    fn on_patron(&mut self, id: String) {
        let id = id.trim().to_string();
        if id.is_empty() {
            return;
        }
        // A card at the welcome screen starts a loan session.
        if self.session.is_none() {
            self.apply(Event::Start(Activity::Borrow));
        }
        let require_pin = self.rules.require_pin;
        let attempts = self.rules.pin_attempts.max(1);
        let Some(s) = self.session.as_ref() else {
            return;
        };
        if s.phase != Phase::Identify || s.activity == Activity::Return {
            return;
        }
        self.ask_patron(id, require_pin, attempts);
    }

    /// The patron is identified by `id`: the PIN keypad when one is asked, else the patron
    /// lookup.
    fn ask_patron(&mut self, id: String, require_pin: bool, attempts: u8) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.notice = None;
        s.patron_id = Some(id.clone());
        if require_pin {
            s.pin_attempts_left = attempts;
            s.phase = Phase::Pin {
                attempts_left: attempts,
            };
        } else {
            s.phase = Phase::Checking;
            self.request(
                Pending::Patron,
                IlsRequest::Patron {
                    patron_id: id,
                    pin: None,
                },
            );
        }
    }

    fn on_scan(&mut self, code: String) {
        // A phone code is told apart before anything else: its text is never a card number.
        if crate::phone::looks_like_token(&code) {
            return self.on_token_scan(code);
        }
        let (code, kind) = match crate::scan::classify(&code) {
            Ok(b) => (b.normalized, Some(b.kind)),
            Err(_) => (code.trim().to_string(), None),
        };
        if code.is_empty() {
            return;
        }
        let card = matches!(kind, Some(crate::scan::BarcodeKind::LibraryPatron { .. }));
        let label = matches!(kind, Some(crate::scan::BarcodeKind::LibraryItem { .. }));
        let taking_items = self.session.as_ref().is_some_and(|s| {
            s.phase == Phase::Active && matches!(s.activity, Activity::Borrow | Activity::Return)
        });
        if taking_items {
            if !card {
                self.on_item_label(code);
            }
        } else if !label {
            // At the welcome screen or while identifying: the patron's card.
            self.on_patron(code);
        }
    }

    /// A phone code scanned: on the welcome screen it starts a borrow session, on the
    /// identify screen it stands for the card. The shell checks it; the answer comes back as
    /// [`Event::Token`]. Anywhere else it is ignored (it is no item label).
    fn on_token_scan(&mut self, code: String) {
        if !self.identifying() {
            return;
        }
        if self.session.is_none() {
            self.apply(Event::Start(Activity::Borrow));
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.phase = Phase::Checking;
        s.notice = None;
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(req, Pending::Token);
        let token = code
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .to_string();
        self.effects.push(Effect::CheckToken { req, token });
    }

    /// The shell's decision about a phone code: the patron identified (the PIN asked only
    /// with `[phone] require_pin`), or back to the identify screen with the reason.
    fn on_token(&mut self, req: u64, outcome: TokenOutcome) {
        if !matches!(self.pending.get(&req), Some(Pending::Token)) {
            return;
        }
        self.pending.remove(&req);
        let require_pin = self.rules.phone_require_pin;
        let attempts = self.rules.pin_attempts.max(1);
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.phase != Phase::Checking || s.patron_id.is_some() {
            return;
        }
        match outcome {
            TokenOutcome::Accepted { patron_id } if !patron_id.trim().is_empty() => {
                self.ask_patron(patron_id.trim().to_string(), require_pin, attempts);
            }
            TokenOutcome::Accepted { .. } => {
                s.phase = Phase::Identify;
                s.notice = Some(Reason::PhoneMalformed);
            }
            TokenOutcome::Refused(reason) => {
                s.phase = Phase::Identify;
                s.notice = Some(reason);
            }
        }
    }

    /// A scanned item label while borrowing or returning: a new item, started at once.
    fn on_item_label(&mut self, item_id: String) {
        let online = self.online;
        let owner = self.rules.owner_isil.clone();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.items.iter().any(|i| i.line.item_id == item_id) {
            // Scanned again, or already on the pad as a tag.
            return;
        }
        let seen = TagSeen {
            uid: String::new(),
            kind: TagKind::Item {
                item_id: item_id.clone(),
                circulating: true,
                owner: None,
                set: None,
                title: None,
            },
        };
        let mut item = new_item(&item_id, &[&seen], owner.as_deref());
        item.scanned = true;
        s.items.push(item);
        let index = s.items.len() - 1;
        self.start_item(index, online);
        self.advance_all();
    }

    fn on_pin(&mut self, pin: String) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let (Phase::Pin { .. }, Some(patron_id)) = (s.phase, s.patron_id.clone()) else {
            return;
        };
        s.phase = Phase::Checking;
        s.notice = None;
        s.pin_given = true;
        // The PIN goes straight into the request and is not kept.
        self.request(
            Pending::Patron,
            IlsRequest::Patron {
                patron_id,
                pin: Some(pin),
            },
        );
    }

    fn on_answer(&mut self, req: u64, answer: IlsAnswer) {
        let Some(pending) = self.pending.remove(&req) else {
            return;
        };
        match pending {
            Pending::Patron => {
                if let IlsAnswer::Patron(p) = answer {
                    self.on_patron_answer(p);
                } else {
                    self.refuse_session(Reason::Unknown, Vec::new());
                }
            }
            Pending::Item(item_id) => self.on_item_answer(req, &item_id, answer),
            Pending::Renew(item_id) => self.on_renew_answer(Some(&item_id), answer),
            Pending::RenewAll => self.on_renew_answer(None, answer),
            Pending::Hold {
                item_id,
                location,
                delivery,
            } => self.on_hold_answer(&item_id, location, delivery, answer),
            // Phone codes are answered by `Event::Token`, never by the ILS.
            Pending::Token | Pending::Abandon => {}
        }
    }

    fn refuse_session(&mut self, reason: Reason, messages: Vec<String>) {
        if let Some(s) = self.session.as_mut() {
            s.phase = Phase::Refused;
            s.notice = Some(reason);
            s.messages.extend(messages);
        }
    }

    fn on_patron_answer(&mut self, p: PatronAnswer) {
        let rules = self.rules.clone();
        let clock_ok = self.clock_ok;
        if p.offline {
            self.online = false;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.phase != Phase::Checking {
            return;
        }
        let activity = s.activity;
        if p.pin_ok == Some(false) {
            return self.wrong_pin();
        }
        if let Some(reason) = pin_unverified(s.pin_given, &p) {
            return self.refuse_session(reason, Vec::new());
        }
        if p.offline {
            let allowed = rules.offline.enabled
                && (p.known || rules.offline.allow_unknown_patrons)
                && !p.blocked
                && p.fine_cents <= rules.offline.max_fine_cents;
            s.offline_ok = allowed;
            s.offline_allowance = rules
                .offline
                .max_items_per_patron
                .saturating_sub(p.queued_offline);
            s.patron = Some(PatronLine {
                display_name: String::new(),
                holds_ready: Vec::new(),
                fines: None,
                may_borrow: Some(if allowed { s.offline_allowance } else { 0 }),
            });
            match activity {
                Activity::Borrow if allowed && !clock_ok => {
                    return self.refuse_session(Reason::ClockUnsure, Vec::new());
                }
                Activity::Borrow if allowed => {
                    s.phase = Phase::Active;
                }
                Activity::Borrow => {
                    let reason = if !rules.offline.enabled {
                        Reason::OfflineDisabled
                    } else {
                        Reason::OfflineRules
                    };
                    return self.refuse_session(reason, Vec::new());
                }
                _ => {
                    // No account or renewal without the ILS.
                    return self.refuse_session(Reason::OfflineRules, Vec::new());
                }
            }
        } else {
            if !p.known {
                return self.refuse_session(Reason::UnknownPatron, p.messages);
            }
            s.patron = Some(PatronLine {
                display_name: p.display_name,
                holds_ready: p.holds_ready,
                fines: p.fines,
                may_borrow: p.may_borrow,
            });
            s.loans = p.loans;
            s.holds = p.holds;
            s.email = p.email.filter(|e| !e.trim().is_empty());
            s.address = p.address.filter(|a| !a.trim().is_empty());
            s.messages.extend(p.messages);
            // Known offline from the cache too, should the link go down mid-session.
            s.offline_ok =
                rules.offline.enabled && !p.blocked && p.fine_cents <= rules.offline.max_fine_cents;
            s.offline_allowance = rules.offline.max_items_per_patron;
            if p.blocked && activity == Activity::Borrow {
                s.phase = Phase::Refused;
                s.notice = Some(Reason::Blocked);
                return;
            }
            s.phase = Phase::Active;
        }
        if activity == Activity::Borrow {
            let pad = std::mem::take(&mut self.pad);
            self.on_pad(pad);
        }
    }

    fn wrong_pin(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.pin_attempts_left = s.pin_attempts_left.saturating_sub(1);
        s.notice = Some(Reason::WrongPin);
        if s.pin_attempts_left == 0 {
            s.phase = Phase::Refused;
            s.patron_id = None;
        } else {
            s.phase = Phase::Pin {
                attempts_left: s.pin_attempts_left,
            };
        }
    }

    fn on_pad(&mut self, tags: Vec<TagSeen>) {
        let before: BTreeSet<String> = self.pad.iter().map(|t| t.uid.clone()).collect();
        self.pad = tags.clone();
        // A patron card newly put on the pad identifies the patron.
        let card = tags.iter().find_map(|t| match &t.kind {
            TagKind::PatronCard { patron_id } if !before.contains(&t.uid) => {
                Some(patron_id.clone())
            }
            _ => None,
        });
        if let (Some(id), true) = (card, self.identifying()) {
            self.on_patron(id);
            return;
        }
        let online = self.online;
        let rules = self.rules.clone();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.phase != Phase::Active || s.activity == Activity::Account {
            return;
        }
        // Group the pad's tags by item.
        let mut groups: BTreeMap<String, Vec<&TagSeen>> = BTreeMap::new();
        for t in &tags {
            let key = match &t.kind {
                TagKind::Item { item_id, .. } => item_id.clone(),
                TagKind::Unreadable => format!("uid:{}", t.uid),
                // The patron's own card left on the pad.
                TagKind::PatronCard { .. } => continue,
            };
            groups.entry(key).or_default().push(t);
        }
        for item in &mut s.items {
            item.present.clear();
        }
        let mut starts = Vec::new();
        for (key, group) in &groups {
            let index = match s.items.iter().position(|i| &i.line.item_id == key) {
                Some(i) => i,
                None => {
                    let item = new_item(key, group, rules.owner_isil.as_deref());
                    s.items.push(item);
                    s.items.len() - 1
                }
            };
            let item = &mut s.items[index];
            for t in group {
                item.present.insert(t.uid.clone());
                item.tags.entry(t.uid.clone()).or_insert(TagSec::Unverified);
            }
            if item.step == Step::Held && item.line.reason == Some(Reason::IncompleteSet) {
                let seen = item.present.len().min(255) as u8;
                item.line.parts = Some((seen, item.parts));
                if seen >= item.parts {
                    starts.push(index);
                }
            } else if item.step == Step::Held && item.line.reason.is_none() {
                starts.push(index);
            }
        }
        // Lifted tags whose write had failed get another try when they come back.
        for item in &mut s.items {
            for (uid, sec) in item.tags.iter_mut() {
                if *sec == TagSec::Failed && !item.present.contains(uid) {
                    *sec = TagSec::Unverified;
                }
            }
        }
        for index in starts {
            self.start_item(index, online);
        }
        self.advance_all();
    }

    /// Ask the ILS (or the offline rules) about a new item.
    fn start_item(&mut self, index: usize, online: bool) {
        let offline_enabled = self.rules.offline.enabled;
        let clock_ok = self.clock_ok;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let activity = s.activity;
        let patron_id = s.patron_id.clone().unwrap_or_default();
        let Some(item) = s.items.get_mut(index) else {
            return;
        };
        let item_id = item.line.item_id.clone();
        item.line.state = ItemState::Working;
        item.line.reason = None;
        let request = match (activity, online) {
            (Activity::Borrow, true) => IlsRequest::Checkout {
                patron_id,
                item_id: item_id.clone(),
                offline: false,
                journal: None,
            },
            (Activity::Borrow, false) if !clock_ok => {
                refuse(&mut s.items[index], Reason::ClockUnsure, None);
                return;
            }
            (Activity::Borrow, false) => {
                if s.offline_ok && s.offline_allowance > 0 {
                    s.offline_allowance -= 1;
                    IlsRequest::Checkout {
                        patron_id,
                        item_id: item_id.clone(),
                        offline: true,
                        journal: None,
                    }
                } else {
                    refuse(&mut s.items[index], Reason::OfflineRules, None);
                    return;
                }
            }
            (_, true) => IlsRequest::Checkin {
                item_id: item_id.clone(),
                offline: false,
                journal: None,
            },
            (_, false) => {
                if offline_enabled {
                    IlsRequest::Checkin {
                        item_id: item_id.clone(),
                        offline: true,
                        journal: None,
                    }
                } else {
                    refuse(item, Reason::OfflineDisabled, None);
                    return;
                }
            }
        };
        let req = self.request(Pending::Item(item_id), request);
        if let Some(item) = self.session.as_mut().and_then(|s| s.items.get_mut(index)) {
            item.step = Step::Asking(req);
        }
    }

    fn on_item_answer(&mut self, req: u64, item_id: &str, answer: IlsAnswer) {
        let offline_enabled = self.rules.offline.enabled;
        let clock_ok = self.clock_ok;
        if matches!(answer, IlsAnswer::Unavailable { .. }) {
            self.online = false;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let activity = s.activity;
        let patron_id = s.patron_id.clone().unwrap_or_default();
        let Some(index) = s
            .items
            .iter()
            .position(|i| i.line.item_id == item_id && i.step == Step::Asking(req))
        else {
            return;
        };
        let mut follow_up = None;
        {
            let item = &mut s.items[index];
            match answer {
                IlsAnswer::Checkout {
                    ok,
                    offline,
                    title,
                    due,
                    messages,
                    desensitize,
                } => {
                    if lent_or_returned(item, ok, offline, title, &messages) {
                        item.line.due = due;
                        if !desensitize {
                            security_at_desk(item);
                            if let Some(may) = s.patron.as_mut().and_then(|p| p.may_borrow.as_mut())
                            {
                                *may = may.saturating_sub(1);
                            }
                        }
                    } else if offline {
                        s.offline_allowance += 1;
                    }
                }
                IlsAnswer::Checkin {
                    ok,
                    offline,
                    title,
                    sort_bin,
                    messages,
                    alert,
                } => {
                    if lent_or_returned(item, ok, offline, title, &messages) {
                        item.line.sort_bin = sort_bin;
                        item.desk_shelf = alert.as_deref().map(desk_shelf_reason);
                    }
                }
                IlsAnswer::Unavailable {
                    journal,
                    maybe_sent,
                } => {
                    // The link went down under this request: the offline rules decide now.
                    match activity {
                        Activity::Borrow if !clock_ok && !maybe_sent => {
                            refuse(item, Reason::ClockUnsure, None);
                        }
                        Activity::Borrow if clock_ok && s.offline_ok && s.offline_allowance > 0 => {
                            s.offline_allowance -= 1;
                            follow_up = Some(IlsRequest::Checkout {
                                patron_id,
                                item_id: item_id.to_string(),
                                offline: true,
                                journal,
                            });
                        }
                        Activity::Return if offline_enabled => {
                            follow_up = Some(IlsRequest::Checkin {
                                item_id: item_id.to_string(),
                                offline: true,
                                journal,
                            });
                        }
                        _ => {
                            let reason = if maybe_sent {
                                Reason::Unknown
                            } else {
                                Reason::OfflineRules
                            };
                            refuse(item, reason, None);
                            if let (Some(j), true) = (journal, maybe_sent) {
                                follow_up = Some(IlsRequest::Abandon { journal: j });
                            }
                        }
                    }
                }
                _ => refuse(item, Reason::Unknown, None),
            }
        }
        match follow_up {
            Some(r @ IlsRequest::Abandon { .. }) => {
                self.request(Pending::Abandon, r);
            }
            Some(r) => {
                let req = self.request(Pending::Item(item_id.to_string()), r);
                if let Some(item) = self.session.as_mut().and_then(|s| s.items.get_mut(index)) {
                    item.step = Step::Asking(req);
                }
            }
            None => {}
        }
        self.advance_all();
    }

    fn on_security(&mut self, uid: String, outcome: SecurityOutcome) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(item) = s
            .items
            .iter_mut()
            .find(|i| i.tags.get(&uid) == Some(&TagSec::Writing))
        else {
            return;
        };
        match outcome {
            SecurityOutcome::Verified => {
                item.tags.insert(uid, TagSec::Verified);
            }
            SecurityOutcome::NotVerified(detail) => {
                item.tags.insert(uid, TagSec::Failed);
                item.line.message = Some(detail);
            }
            SecurityOutcome::Gone => {
                item.tags.insert(uid.clone(), TagSec::Unverified);
                item.present.remove(&uid);
            }
        }
        self.advance_all();
    }

    /// Move every item in its security step forward: write the tags on the pad, finish the
    /// items whose every part is verified, and say which must go back on the pad.
    fn advance_all(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let secure = s.activity == Activity::Return;
        let mut writes = Vec::new();
        let mut newly_done = 0u32;
        for item in &mut s.items {
            match item.step {
                Step::Asking(_) => {
                    let lifted = item.present.is_empty() && !item.scanned;
                    item.line.state = if lifted {
                        ItemState::PutBack
                    } else {
                        ItemState::Working
                    };
                    item.line.reason = lifted.then_some(Reason::Lifted);
                }
                Step::Securing => {
                    for (uid, sec) in item.tags.iter_mut() {
                        if *sec == TagSec::Unverified && item.present.contains(uid) {
                            *sec = TagSec::Writing;
                            writes.push(uid.clone());
                        }
                    }
                    // A scanned item with no tag of it seen has no security to switch.
                    let tagless = item.scanned && item.tags.is_empty();
                    let all = tagless
                        || (item.tags.len() >= usize::from(item.parts)
                            && item.tags.values().all(|t| *t == TagSec::Verified));
                    if all {
                        item.step = Step::Done;
                        item.line.state = if item.offline {
                            ItemState::DoneOffline
                        } else {
                            ItemState::Done
                        };
                        item.line.reason = item.desk_shelf;
                        newly_done += 1;
                    } else if item.tags.values().any(|t| *t == TagSec::Failed) {
                        item.line.state = ItemState::PutBack;
                        item.line.reason = Some(Reason::SecurityNotVerified);
                    } else if item
                        .tags
                        .iter()
                        .any(|(u, t)| *t == TagSec::Unverified && !item.present.contains(u))
                    {
                        item.line.state = ItemState::PutBack;
                        item.line.reason = Some(Reason::Lifted);
                    } else {
                        item.line.state = ItemState::Securing;
                        item.line.reason = None;
                    }
                }
                Step::Done => {
                    // A tag of an item done from its scanned label turns up on the pad: its
                    // security is switched too.
                    for (uid, sec) in item.tags.iter_mut() {
                        if *sec == TagSec::Unverified && item.present.contains(uid) {
                            *sec = TagSec::Writing;
                            writes.push(uid.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        if s.activity == Activity::Borrow
            && newly_done > 0
            && let Some(may) = s.patron.as_mut().and_then(|p| p.may_borrow.as_mut())
        {
            *may = may.saturating_sub(newly_done);
        }
        for uid in writes {
            self.effects.push(Effect::SetSecurity { uid, secure });
        }
    }

    fn on_done(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let (phase, activity) = (s.phase, s.activity);
        let busy = s.items.iter().any(|i| {
            matches!(i.step, Step::Asking(_)) || i.tags.values().any(|t| *t == TagSec::Writing)
        });
        match phase {
            Phase::Active if activity == Activity::Account => self.end_session(),
            Phase::Active => {
                if !busy {
                    s.phase = Phase::Summary;
                }
            }
            _ => self.end_session(),
        }
    }

    fn on_renew(&mut self, item: Option<String>) {
        let online = self.online;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.phase != Phase::Active || s.activity != Activity::Account {
            return;
        }
        if !online {
            s.notice = Some(Reason::OfflineRules);
            return;
        }
        let patron_id = s.patron_id.clone().unwrap_or_default();
        match item {
            Some(item_id) => {
                if !s.loans.iter().any(|l| l.item_id == item_id) {
                    return;
                }
                self.request(
                    Pending::Renew(item_id.clone()),
                    IlsRequest::Renew { patron_id, item_id },
                );
            }
            None => {
                self.request(Pending::RenewAll, IlsRequest::RenewAll { patron_id });
            }
        }
    }

    fn on_renew_answer(&mut self, item_id: Option<&str>, answer: IlsAnswer) {
        if matches!(answer, IlsAnswer::Unavailable { .. }) {
            self.online = false;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match answer {
            IlsAnswer::Renew { ok, due, messages } => {
                if let Some(loan) = s
                    .loans
                    .iter_mut()
                    .find(|l| Some(l.item_id.as_str()) == item_id)
                {
                    loan.renewed = Some(ok);
                    loan.message = join(&messages);
                    if ok {
                        loan.due = due;
                        loan.overdue = false;
                    }
                }
            }
            IlsAnswer::RenewAll {
                renewed,
                unrenewed,
                messages,
            } => {
                for loan in &mut s.loans {
                    if renewed.contains(&loan.item_id) {
                        loan.renewed = Some(true);
                        loan.overdue = false;
                    } else if unrenewed.contains(&loan.item_id) {
                        loan.renewed = Some(false);
                    }
                }
                s.messages.extend(messages);
            }
            _ => s.notice = Some(Reason::Unknown),
        }
    }
}

fn join(messages: &[String]) -> Option<String> {
    let text = messages
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

/// Take the ILS's answer to a checkout or checkin of `item`: its title and messages, then on
/// yes the security step, on no the refusal. Returns `ok`.
fn lent_or_returned(
    item: &mut Item,
    ok: bool,
    offline: bool,
    title: Option<String>,
    messages: &[String],
) -> bool {
    if let Some(t) = title.filter(|t| !t.is_empty()) {
        item.line.title = t;
    }
    item.line.message = join(messages);
    if ok {
        item.offline = offline;
        item.step = Step::Securing;
    } else {
        refuse(item, Reason::Ils, join(messages));
    }
    ok
}

/// Lent with the security left on, as the ILS asked (desensitize `N`): the item is done here,
/// no security write is made, and the patron is told to take it to the desk.
fn security_at_desk(item: &mut Item) {
    item.step = Step::AtDesk;
    item.line.state = ItemState::Done;
    item.line.reason = Some(Reason::SecurityAtDesk);
}

/// Why a returned item with an ILS alert goes on the desk shelf, from its alert type (CV).
fn desk_shelf_reason(alert_type: &str) -> Reason {
    match alert_type.trim() {
        "01" | "03" => Reason::DeskShelfHold,
        "02" | "04" => Reason::DeskShelfTransit,
        _ => Reason::DeskShelf,
    }
}

fn refuse(item: &mut Item, reason: Reason, message: Option<String>) {
    item.step = Step::Refused;
    item.line.state = ItemState::Refused;
    item.line.reason = Some(reason);
    if message.is_some() {
        item.line.message = message;
    }
}

/// ISILs compare without the hyphen ISO 28560-3 drops, case-insensitively.
fn same_isil(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>()
    };
    norm(a) == norm(b)
}

/// Why a session that asked for a PIN cannot go on although the PIN was not found wrong: only
/// a PIN the ILS said is right (CQ = Y), or offline one that matched a verifier cached from
/// such an answer, counts. `None` when no PIN was asked for or it was confirmed. An unknown
/// patron online is refused as unknown, whatever the PIN.
fn pin_unverified(pin_given: bool, p: &PatronAnswer) -> Option<Reason> {
    if !pin_given || p.pin_ok == Some(true) || (!p.offline && !p.known) {
        return None;
    }
    Some(if p.offline {
        Reason::NoOfflinePin
    } else {
        Reason::PinNotVerified
    })
}

/// A new item line from the tags first seen for it, held with a reason when it cannot go on.
fn new_item(key: &str, group: &[&TagSeen], owner_isil: Option<&str>) -> Item {
    let mut item = Item {
        line: ItemLine {
            item_id: key.to_string(),
            title: String::new(),
            state: ItemState::Working,
            due: None,
            reason: None,
            message: None,
            sort_bin: None,
            parts: None,
        },
        step: Step::Held,
        offline: false,
        desk_shelf: None,
        tags: BTreeMap::new(),
        present: BTreeSet::new(),
        parts: 1,
        scanned: false,
    };
    let Some(first) = group.first() else {
        return item;
    };
    match &first.kind {
        TagKind::Item {
            circulating,
            owner,
            set,
            title,
            ..
        } => {
            item.line.title = title.clone().unwrap_or_default();
            if !circulating {
                refuse(&mut item, Reason::NotForCirculation, None);
            } else if let (Some(mine), Some(theirs)) = (owner_isil, owner.as_deref())
                && !theirs.is_empty()
                && !same_isil(mine, theirs)
            {
                refuse(&mut item, Reason::OtherLibrary, Some(theirs.to_string()));
            } else if let Some((parts, _)) = set.filter(|(p, _)| *p > 1) {
                item.parts = parts;
                item.line.parts = Some((0, parts));
                // Held until every part is on the pad (counted by the caller).
                item.line.state = ItemState::Refused;
                item.line.reason = Some(Reason::IncompleteSet);
            }
        }
        _ => {
            item.line.item_id = String::new();
            item.line.message = Some(first.uid.clone());
            refuse(&mut item, Reason::UnreadableTag, None);
            // Keep the key so the same tag is not reported twice.
            item.line.item_id = key.to_string();
        }
    }
    item
}
