//! What goes into the core and what comes out of it: events (touches, tags, codes, the clock,
//! the link, answers from the library system) and effects (screens, requests, security
//! writes).

use std::time::Duration;

use super::model::{Activity, Fault, Language, LoanLine, Reason, ScreenModel};

/// An item tag (or patron card) as the pad read it, decoded by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSeen {
    /// The tag's UID, hex.
    pub uid: String,
    pub kind: TagKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKind {
    Item {
        item_id: String,
        /// The tag's type of usage allows lending.
        circulating: bool,
        owner: Option<String>,
        /// (parts in the set, this part's number), for sets of more than one part.
        set: Option<(u8, u8)>,
        title: Option<String>,
    },
    PatronCard {
        patron_id: String,
    },
    /// Blank, garbled, or no item number.
    Unreadable,
}

/// What the core asks of the library system; the shell journals circulation requests before
/// sending them and answers with [`Event::Ils`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IlsRequest {
    /// Patron information (63), with the PIN when one was typed. Offline the shell answers
    /// from its cache.
    Patron {
        patron_id: String,
        pin: Option<String>,
    },
    /// Lend. `offline`: the offline rules allowed it; queue it rather than send it.
    /// `journal`: a journal row already written for it (a request whose outcome is unknown).
    Checkout {
        patron_id: String,
        item_id: String,
        offline: bool,
        journal: Option<i64>,
    },
    Checkin {
        item_id: String,
        offline: bool,
        journal: Option<i64>,
    },
    Renew {
        patron_id: String,
        item_id: String,
    },
    RenewAll {
        patron_id: String,
    },
    /// A request whose outcome is unknown and that the offline rules do not allow: staff must
    /// look at the journal row.
    Abandon {
        journal: i64,
    },
}

/// The patron as the ILS (or, offline, the cache) describes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatronAnswer {
    /// Answered from the cache because the ILS could not be reached.
    pub offline: bool,
    /// The ILS (or cache) knows this patron.
    pub known: bool,
    /// PIN check: `None` when no PIN was given or it cannot be checked.
    pub pin_ok: Option<bool>,
    pub display_name: String,
    /// Lending is blocked (card lost, charges denied, ...).
    pub blocked: bool,
    /// Fines as the ILS formats them; `None` if none.
    pub fines: Option<String>,
    /// Fines in cents, for the offline rule.
    pub fine_cents: i64,
    pub may_borrow: Option<u32>,
    pub holds_ready: Vec<String>,
    pub loans: Vec<LoanLine>,
    pub messages: Vec<String>,
    /// Offline loans already queued for this patron (offline answers only).
    pub queued_offline: u32,
}

/// An answer to an [`IlsRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IlsAnswer {
    Patron(PatronAnswer),
    Checkout {
        ok: bool,
        /// Queued offline rather than answered by the ILS.
        offline: bool,
        title: Option<String>,
        due: Option<String>,
        messages: Vec<String>,
    },
    Checkin {
        ok: bool,
        offline: bool,
        title: Option<String>,
        sort_bin: Option<String>,
        messages: Vec<String>,
    },
    Renew {
        ok: bool,
        due: Option<String>,
        messages: Vec<String>,
    },
    RenewAll {
        renewed: Vec<String>,
        unrenewed: Vec<String>,
        messages: Vec<String>,
    },
    /// The ILS could not be reached or did not answer in time. `journal`: the row written for
    /// the request; `maybe_sent`: the request may have reached the ILS.
    Unavailable {
        journal: Option<i64>,
        maybe_sent: bool,
    },
    /// Acknowledges [`IlsRequest::Abandon`].
    Abandoned,
}

/// What the shell decided about a phone code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// Signed by a trusted key, in its lifetime, first use: the code is for this patron.
    Accepted { patron_id: String },
    /// Refused; the reason is the patron's (one `phone_*` [`Reason`]).
    Refused(Reason),
}

/// How a security write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOutcome {
    Verified,
    NotVerified(String),
    /// The tag stopped answering: lifted.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The patron pressed one of the welcome screen's activities.
    Start(Activity),
    Cancel,
    ChooseLanguage(Language),
    LinkChanged {
        online: bool,
    },
    /// Time passed with nothing happening (from the UI's timer or the headless clock).
    Idle(Duration),
    /// Any touch: restarts the idle clock.
    Touch,
    /// A patron number: card tag, card barcode or typed on the keypad.
    Patron(String),
    /// The PIN typed on the keypad.
    Pin(String),
    /// A code from the barcode scanner. While identifying it is the patron's card; while
    /// borrowing or returning it is an item's label (lent or returned like a tag, with no
    /// security to switch when the item has no tag on the pad). The shape of library codes
    /// (14 digits, 2... a card, 3... an item) keeps a card from being taken for an item and
    /// the other way round.
    Scan(String),
    /// Everything on the pad now (the shell reports the whole inventory after each change).
    Pad(Vec<TagSeen>),
    /// The answer to an [`Effect::Ils`] request.
    Ils {
        req: u64,
        answer: IlsAnswer,
    },
    /// The shell's decision about a phone code the core asked it to check
    /// ([`Effect::CheckToken`] with the same `req`).
    Token {
        req: u64,
        outcome: TokenOutcome,
    },
    /// The outcome of an [`Effect::SetSecurity`].
    Security {
        uid: String,
        outcome: SecurityOutcome,
    },
    /// "Done": to the summary, and from the summary back to welcome.
    Done,
    /// Renew one loan (account screen).
    Renew(String),
    RenewAll,
    /// The kiosk cannot serve (`Some(fault)`), or can again (`None`).
    OutOfOrder(Option<Fault>),
    /// The background sync has confirmed `done` of `total` queued rows.
    SyncProgress {
        done: u64,
        total: u64,
    },
    /// The background sync has ended (finished, or stopped until the link comes back).
    SyncEnded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Show(ScreenModel),
    /// Ask the library system; the answer comes back as [`Event::Ils`] with the same `req`.
    Ils {
        req: u64,
        request: IlsRequest,
    },
    /// Check a scanned phone code (signature, key, times, clock, replay) offline; the
    /// decision comes back as [`Event::Token`] with the same `req`.
    CheckToken {
        req: u64,
        token: String,
    },
    /// Switch a tag's security (secure = the gates alarm) and read it back; the outcome comes
    /// back as [`Event::Security`].
    SetSecurity {
        uid: String,
        secure: bool,
    },
}
