//! What goes into the core and what comes out of it: events (touches, tags, codes, the clock,
//! the link, answers from the library system) and effects (screens, requests, security
//! writes).

use std::time::Duration;

use super::model::{
    Activity, Fault, HoldLine, ItemLine, Language, LoanLine, Reason, ReceiptKind, ReceiptState,
    ScreenModel,
};

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
    /// Cancel a hold (15 `-`).
    CancelHold {
        patron_id: String,
        item_id: String,
    },
    /// Move a hold to another pickup location (15 `*` with BS). `delivery`: the location is
    /// the library's home delivery, journaled like a loan and queued when offline (`offline`;
    /// `journal`: the row of a request whose outcome is unknown).
    MoveHold {
        patron_id: String,
        item_id: String,
        location: String,
        delivery: bool,
        offline: bool,
        journal: Option<i64>,
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
    /// Holds ready and waiting, with their pickup locations.
    pub holds: Vec<HoldLine>,
    /// The e-mail address the ILS has (BE), for an e-mailed receipt; never shown.
    pub email: Option<String>,
    /// The home address the ILS has (BD), shown masked before a home delivery.
    pub address: Option<String>,
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
        /// The ILS wants the security switched off (SIP2 desensitize, `N` says no: the item
        /// is lent but its security is released at the desk).
        desensitize: bool,
    },
    Checkin {
        ok: bool,
        offline: bool,
        title: Option<String>,
        sort_bin: Option<String>,
        messages: Vec<String>,
        /// The ILS raised an alert (SIP2 alert `Y`): the item goes to the desk shelf, not the
        /// returns bin. Its alert type (CV: `01` hold here, `02` hold at another branch,
        /// `03` interlibrary hold, `04` transit, ...), empty when not given.
        alert: Option<String>,
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
    /// The answer to [`IlsRequest::CancelHold`] or [`IlsRequest::MoveHold`]. `offline`: a
    /// delivery queued for the sync.
    Hold {
        ok: bool,
        offline: bool,
        pickup: Option<String>,
        messages: Vec<String>,
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

/// Where an e-mailed receipt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptAddress {
    /// The address the ILS gives (BE).
    FromIls(String),
    /// Typed by the patron (only where the site allows it).
    Typed(String),
}

/// What a receipt holds, as the core knows it; the shell adds the library, the terminal,
/// the time and the ILS's print lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRequest {
    pub language: Language,
    pub activity: Activity,
    pub patron_id: Option<String>,
    /// The session's items that were lent or returned.
    pub items: Vec<ItemLine>,
    pub holds_ready: Vec<String>,
    pub fines: Option<String>,
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
    /// The patron's receipt choice on the summary screen: print, e-mail (to `address` when
    /// typed, else the ILS's), or none.
    Receipt {
        kind: Option<ReceiptKind>,
        address: Option<String>,
    },
    /// How an [`Effect::Receipt`] ended.
    ReceiptDone {
        kind: ReceiptKind,
        state: ReceiptState,
    },
    /// Cancel a hold (account screen).
    CancelHold(String),
    /// Move a hold to another pickup location (account screen).
    MoveHold {
        item: String,
        location: String,
    },
    /// Ask for a hold to be delivered home: the fee and the address are shown first.
    Deliver(String),
    /// Yes (or no) to the delivery shown.
    ConfirmDelivery(bool),
    /// What the library system allows from this kiosk, from its ACS status (SIP2 98).
    IlsServices(IlsServices),
    /// Whether the terminal's clock is known to be right (NTP, or an ILS date that agreed, or
    /// the check is off). Offline loans carry its dates: refused while it is not.
    Clock {
        synchronised: bool,
    },
}

/// What the library system's ACS status (SIP2 98) allows this kiosk while it is online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IlsServices {
    pub checkout: bool,
    pub checkin: bool,
}

impl Default for IlsServices {
    fn default() -> Self {
        IlsServices {
            checkout: true,
            checkin: true,
        }
    }
}

impl IlsServices {
    /// Whether `activity` may start while online. The account screen is a read (its renewals
    /// the ILS answers one by one).
    pub fn allow(self, activity: Activity) -> Result<(), super::model::Reason> {
        use super::model::Reason;
        match activity {
            Activity::Borrow if !self.checkout => Err(Reason::NoLoansNow),
            Activity::Return if !self.checkin => Err(Reason::NoReturnsNow),
            _ => Ok(()),
        }
    }
}

// Most effects are `Show`, each handled at once and dropped: boxing the screen model would
// allocate for the common case to shrink the rare ones.
#[allow(clippy::large_enum_variant)]
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
    /// Print or e-mail a receipt; the outcome comes back as [`Event::ReceiptDone`].
    Receipt {
        kind: ReceiptKind,
        receipt: ReceiptRequest,
        address: Option<ReceiptAddress>,
    },
    /// Print the staff's slip for a home delivery the ILS accepted (no answer comes back).
    DeliverySlip {
        item_id: String,
        title: String,
        patron_id: String,
        address: String,
    },
}
