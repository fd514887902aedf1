//! The screen model: everything a kiosk screen shows, and nothing else.
//!
//! The core produces it, the UI (or the headless driver's JSON output) renders it. It is plain
//! data: strings, numbers and small enums, serialisable with serde, with no SIP2 or RFID type
//! in it, so the UI never needs to know the protocols. Texts that come from the library system
//! (screen messages, titles, reasons the ILS gives) are passed through as the ILS wrote them;
//! texts the kiosk itself decides are given as a stable [`Reason`] code the UI translates.

use serde::{Deserialize, Serialize};

/// A language the screens are offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "it")]
    Italian,
    #[serde(rename = "zh_CN")]
    Chinese,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::English, Language::Italian, Language::Chinese];

    /// The gettext / settings code (`en`, `it`, `zh_CN`).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Italian => "it",
            Language::Chinese => "zh_CN",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's own name, as shown on its button.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Italian => "Italiano",
            Language::Chinese => "中文",
        }
    }
}

/// What the patron came to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Borrow,
    Return,
    /// See loans, holds and fines; renew one or all.
    Account,
}

/// Which screen is up. The rest of [`ScreenModel`] holds what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    /// Attract screen: borrow, return, account, language.
    Welcome,
    /// Waiting for a patron card (tag, barcode or typed number) for the chosen activity.
    Identify { activity: Activity },
    /// PIN keypad; `attempts_left` after a wrong PIN.
    Pin {
        activity: Activity,
        attempts_left: u8,
    },
    /// Waiting for the library system (patron lookup).
    Checking { activity: Activity },
    /// Borrowing: put items on the pad; `items` lists them.
    Borrow,
    /// Returning: put items on the pad; no patron needed.
    Return,
    /// The patron's loans (`loans`), holds and fines; renew one or all.
    Account,
    /// The session's results; "done" or the idle timeout returns to Welcome.
    Summary { activity: Activity },
    /// The patron cannot use this activity now (`notice` says why); only Cancel.
    Refused { activity: Activity },
    /// The kiosk cannot serve anyone: `fault` says what broke, `reason` in the technician's
    /// words.
    OutOfOrder { fault: FaultKind, reason: String },
}

/// What keeps the kiosk out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The RFID reader cannot be opened or does not answer.
    Reader,
    /// The library system cannot be reached and offline lending is off.
    Link,
    /// Staff took the kiosk out of service (from the fleet), with their reason.
    Staff,
    /// The library system answers but allows neither loans nor returns from this kiosk (its
    /// ACS status, SIP2 98).
    Ils,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Reader => "reader",
            FaultKind::Link => "link",
            FaultKind::Staff => "staff",
            FaultKind::Ils => "ils",
        }
    }
}

/// Why the kiosk is out of order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub reason: String,
}

impl Fault {
    pub fn reader(reason: impl Into<String>) -> Fault {
        Fault {
            kind: FaultKind::Reader,
            reason: reason.into(),
        }
    }

    pub fn link(reason: impl Into<String>) -> Fault {
        Fault {
            kind: FaultKind::Link,
            reason: reason.into(),
        }
    }

    pub fn staff(reason: impl Into<String>) -> Fault {
        Fault {
            kind: FaultKind::Staff,
            reason: reason.into(),
        }
    }
}

/// Where one item on the pad stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Seen on the pad, being asked about / lent / returned.
    Working,
    /// The library system said yes, the security is being switched.
    Securing,
    /// Lent (or returned) and its security verified: the patron may take it.
    Done,
    /// Done offline: recorded here, to be confirmed with the library system.
    DoneOffline,
    /// Not lent / returned: `reason` says why.
    Refused,
    /// Taken off the pad before it was done: put it back.
    PutBack,
}

/// Why the kiosk itself refused something or asks for something (the UI translates the code;
/// the ILS's own words come in `message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The library system refused; its screen message says why.
    Ils,
    /// The tag says the item is not for loan (reference, discarded, equipment...).
    NotForCirculation,
    /// The tag's owner library is another one.
    OtherLibrary,
    /// A multi-part set with parts missing from the pad.
    IncompleteSet,
    /// The security could not be switched and read back.
    SecurityNotVerified,
    /// Taken off the pad before the security was switched.
    Lifted,
    /// The tag cannot be read or holds no item number.
    UnreadableTag,
    /// A patron card put on the pad while lending.
    NotAnItem,
    /// Offline: the offline rules refuse (limit reached, blocked, unknown patron, fines).
    OfflineRules,
    /// Offline and the outcome of the request could not be learnt; see staff.
    Unknown,
    /// The patron is blocked (card lost, charges denied, too many items, ...).
    Blocked,
    /// Patron number not known to the library.
    UnknownPatron,
    /// Wrong PIN too many times.
    WrongPin,
    /// Offline lending is switched off.
    OfflineDisabled,
    /// A PIN is required and the library system did not say whether it is right (no CQ in
    /// its answer): it cannot verify PINs, so the session is refused.
    PinNotVerified,
    /// Offline, a PIN is required and this kiosk holds no verifier of the patron's PIN from an
    /// earlier online session.
    NoOfflinePin,
    /// Lent, but the library system asks that its security stay on: the patron takes it to
    /// the desk.
    SecurityAtDesk,
    /// Returned with an alert: on hold for another patron; it goes on the desk shelf.
    DeskShelfHold,
    /// Returned with an alert: it travels to another branch; it goes on the desk shelf.
    DeskShelfTransit,
    /// Returned with an alert of another kind; it goes on the desk shelf.
    DeskShelf,
    /// The library system does not allow loans from this kiosk now (ACS status).
    NoLoansNow,
    /// The library system does not allow returns at this kiosk now (ACS status).
    NoReturnsNow,
    /// Offline, and the kiosk's clock is not known to be right: no loans (their dates would
    /// be wrong).
    ClockUnsure,
    // A phone code (the library app's QR code) refused, one reason per
    // `crate::phone::Refusal` code, prefixed `phone_`.
    /// This kiosk takes no phone codes (`[phone] enabled = false`).
    PhoneDisabled,
    /// Longer than a phone code can be.
    PhoneOversized,
    /// Not a library phone code at all.
    PhoneBadPrefix,
    /// Only part of the code was read.
    PhoneTruncated,
    /// The code cannot be read (not base45, not a signed token, claims missing).
    PhoneMalformed,
    /// Signed with an algorithm the kiosk does not accept.
    PhoneWrongAlgorithm,
    /// Signed with a key the kiosk does not know.
    PhoneUnknownKey,
    /// The signature does not verify: altered or forged.
    PhoneBadSignature,
    /// Issued by someone other than the library.
    PhoneWrongIssuer,
    /// Valid for longer than the kiosk allows.
    PhoneLifetimeTooLong,
    /// The kiosk's clock is not known to be right, so no code can be checked.
    PhoneClockNotSynchronised,
    /// Not valid yet (the phone's or the issuer's clock is ahead).
    PhoneNotYetValid,
    /// Expired: refresh it in the app.
    PhoneExpired,
    /// Already used at this kiosk.
    PhoneReplayed,
    /// The kiosk could not record the code's use, so it cannot take it.
    PhoneUnavailable,
}

/// One item on the pad (or scanned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLine {
    /// The item's barcode number.
    pub item_id: String,
    /// Title from the ILS or the tag; empty when unknown.
    pub title: String,
    pub state: ItemState,
    /// Due date (`YYYY-MM-DD`) once lent.
    pub due: Option<String>,
    pub reason: Option<Reason>,
    /// The ILS's screen message for this item, or other detail for the reason.
    pub message: Option<String>,
    /// Return: the sort bin or destination the ILS gives.
    pub sort_bin: Option<String>,
    /// Multi-part sets: parts seen on the pad / parts in the set.
    pub parts: Option<(u8, u8)>,
}

/// One loan on the account screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanLine {
    pub item_id: String,
    pub title: String,
    /// `YYYY-MM-DD`, when the ILS told.
    pub due: Option<String>,
    pub overdue: bool,
    /// Last renewal attempt: true renewed, false refused (`message` says why).
    pub renewed: Option<bool>,
    pub message: Option<String>,
}

/// The patron as the screen shows them. Cleared at the end of every session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatronLine {
    /// The name the ILS gives; empty offline (the kiosk keeps no names).
    pub display_name: String,
    /// Titles (or item ids) of holds waiting on the shelf.
    pub holds_ready: Vec<String>,
    /// Fines owed, as the ILS formats the amount, with currency; `None` if none.
    pub fines: Option<String>,
    /// How many more items the patron may borrow now; `None` when the ILS does not say.
    pub may_borrow: Option<u32>,
}

/// Everything the screen shows; the UI renders it and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenModel {
    #[serde(flatten)]
    pub screen: Screen,
    pub language: Language,
    pub languages: Vec<Language>,
    /// The library system answers; false: offline notice ("loans will be confirmed").
    pub online: bool,
    /// The current patron; `None` outside a patron session.
    pub patron: Option<PatronLine>,
    /// Items of this session (borrow, return).
    pub items: Vec<ItemLine>,
    /// The patron's loans (account screen).
    pub loans: Vec<LoanLine>,
    /// Screen messages from the library system (AF), newest last.
    pub messages: Vec<String>,
    /// A notice from the kiosk itself for the whole screen (blocked patron, wrong PIN...).
    pub notice: Option<Reason>,
    /// Seconds left before the idle timeout ends the session; shown as a warning.
    pub idle_warning: Option<u32>,
    /// Offline loans and returns being confirmed with the library system in the background;
    /// `None` when no sync is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncLine>,
    /// The summary screen's receipt choice; `None` elsewhere, or when nothing is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Box<ReceiptLine>>,
    /// The patron's holds, ready and waiting (account screen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<HoldLine>,
    /// Where a hold may be picked up instead (account screen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pickup_locations: Vec<String>,
    /// Home delivery is offered for holds (account screen).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delivery_offered: bool,
    /// A home delivery asking for the patron's confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Box<DeliveryOffer>>,
}

/// Progress of the background sync: rows of the offline queue confirmed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLine {
    pub done: u64,
    pub total: u64,
}

impl ScreenModel {
    /// How many items of this session are done (online or offline).
    pub fn done_count(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.state, ItemState::Done | ItemState::DoneOffline))
            .count()
    }
}

/// A receipt the summary screen can give: printed, or e-mailed to the patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    Print,
    Email,
}

/// Where one receipt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptState {
    /// Being printed, or being queued for the mail.
    Working,
    /// Printed: the patron may tear it off.
    Printed,
    /// In the outbox: sent in the background.
    Queued,
    /// The printer is out of paper.
    NoPaper,
    /// The printer's cover is open.
    CoverOpen,
    /// The printer reports an error, is offline or cannot be reached.
    PrinterFault,
    /// The mail could not be queued (no address, or the address was refused).
    NotSent,
}

/// The receipt choice on the summary screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    /// What the settings (a printer, a mail server, an address) allow.
    pub offers: Vec<ReceiptKind>,
    pub print: Option<ReceiptState>,
    pub email: Option<ReceiptState>,
    /// The patron chose no receipt.
    pub declined: bool,
    /// The e-mail goes to an address the patron types (none from the library system).
    pub typed_address: bool,
}

/// One hold on the account screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldLine {
    pub item_id: String,
    /// Empty when the library system does not say.
    pub title: String,
    /// On the hold shelf (or on its way home) now; otherwise waiting for the item.
    pub ready: bool,
    /// Place in the item's queue while waiting.
    pub position: Option<u32>,
    /// Where it is to be picked up (the library system's location name).
    pub pickup: String,
    /// To be delivered to the patron's home.
    pub delivery: bool,
    /// Last change: true done, false refused (`message` says why).
    pub changed: Option<bool>,
    /// Requested offline: to be confirmed with the library system.
    pub queued: bool,
    pub message: Option<String>,
}

/// A home delivery waiting for the patron's yes: what it costs and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryOffer {
    pub item_id: String,
    pub title: String,
    /// The fee as the settings write it (`"€2.00"`); `None` when free.
    pub fee: Option<String>,
    /// The address the library system has, masked (`Via C***** 12, 50129 F******`).
    pub address: String,
}
