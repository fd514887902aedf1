//! One struct per SIP2 2.00 message, and [`Message`] over all of them.
//!
//! Conventions for every struct:
//! - Fields the specification requires are plain values; a decoder that does not find one
//!   leaves it empty (`String::new()`), and the encoder always writes it (possibly empty).
//! - Optional fields are `Option`s and are written only when `Some`.
//! - Fixed-position dates are `Option<SipDateTime>`: `None` is sent as 18 spaces (the usual
//!   "no date"), which is what servers use for an absent nb due date.
//! - Repeated fields are `Vec`s, written in order.
//! - `extra` keeps, in wire order, every field this struct has no place for (unknown ids,
//!   duplicates of single fields, flags or numbers that did not parse), so a decoded message
//!   re-encodes without loss. They are written after the known fields.

use super::types::{
    CirculationStatus, FeeType, HoldMode, HoldType, Language, MediaType, PatronStatus, PaymentType,
    ScStatusCode, SecurityMarker, SipDateTime, Summary, SupportedMessages, YesNoUnknown,
};

/// Fields kept verbatim: (one- or two-character id, value).
pub type ExtraFields = Vec<(String, String)>;

/// 93: the terminal logs in to the ILS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Login {
    /// UID algorithm; `'0'` = not encrypted.
    pub uid_algorithm: char,
    /// PWD algorithm; `'0'` = not encrypted.
    pub pwd_algorithm: char,
    /// CN
    pub login_user_id: String,
    /// CO
    pub login_password: String,
    /// CP
    pub location_code: Option<String>,
    pub extra: ExtraFields,
}

impl Default for Login {
    fn default() -> Self {
        Login {
            uid_algorithm: '0',
            pwd_algorithm: '0',
            login_user_id: String::new(),
            login_password: String::new(),
            location_code: None,
            extra: Vec::new(),
        }
    }
}

/// 94
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct LoginResponse {
    pub ok: bool,
    pub extra: ExtraFields,
}

/// 99: terminal status, also the link's keep-alive.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ScStatus {
    pub status_code: ScStatusCode,
    /// Characters per print line (3 digits).
    pub max_print_width: u16,
    /// Four characters, `2.00`.
    pub protocol_version: String,
    pub extra: ExtraFields,
}

/// 98
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct AcsStatus {
    pub online_status: bool,
    pub checkin_ok: bool,
    pub checkout_ok: bool,
    pub acs_renewal_policy: bool,
    pub status_update_ok: bool,
    pub offline_ok: bool,
    /// Tenths of a second (3 digits; `000` = unknown, `999` = none).
    pub timeout_period: u16,
    /// 3 digits; `999` = unknown.
    pub retries_allowed: u16,
    pub date_time_sync: Option<SipDateTime>,
    pub protocol_version: String,
    /// AO
    pub institution_id: String,
    /// AM
    pub library_name: Option<String>,
    /// BX
    pub supported_messages: Option<SupportedMessages>,
    /// AN
    pub terminal_location: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 23
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PatronStatusRequest {
    pub language: Language,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AC
    pub terminal_password: String,
    /// AD
    pub patron_password: String,
    pub extra: ExtraFields,
}

/// 24 (also the answer to 01 Block Patron).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PatronStatusResponse {
    pub patron_status: PatronStatus,
    pub language: Language,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AE
    pub personal_name: String,
    /// BL
    pub valid_patron: Option<bool>,
    /// CQ
    pub valid_patron_password: Option<bool>,
    /// BH
    pub currency_type: Option<String>,
    /// BV
    pub fee_amount: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 63
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PatronInformation {
    pub language: Language,
    pub transaction_date: Option<SipDateTime>,
    pub summary: Summary,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AC
    pub terminal_password: Option<String>,
    /// AD
    pub patron_password: Option<String>,
    /// BP: first item of the requested list (1-based).
    pub start_item: Option<u32>,
    /// BQ: last item of the requested list.
    pub end_item: Option<u32>,
    pub extra: ExtraFields,
}

/// 64
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PatronInformationResponse {
    pub patron_status: PatronStatus,
    pub language: Language,
    pub transaction_date: Option<SipDateTime>,
    /// Each count is 4 digits, or 4 spaces (`None`) when unknown.
    pub hold_items_count: Option<u16>,
    pub overdue_items_count: Option<u16>,
    pub charged_items_count: Option<u16>,
    pub fine_items_count: Option<u16>,
    pub recall_items_count: Option<u16>,
    pub unavailable_holds_count: Option<u16>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AE
    pub personal_name: String,
    /// BZ
    pub hold_items_limit: Option<u16>,
    /// CA
    pub overdue_items_limit: Option<u16>,
    /// CB
    pub charged_items_limit: Option<u16>,
    /// BL
    pub valid_patron: Option<bool>,
    /// CQ
    pub valid_patron_password: Option<bool>,
    /// BH
    pub currency_type: Option<String>,
    /// BV
    pub fee_amount: Option<String>,
    /// CC
    pub fee_limit: Option<String>,
    /// AS: holds available for pick-up.
    pub hold_items: Vec<String>,
    /// AT
    pub overdue_items: Vec<String>,
    /// AU
    pub charged_items: Vec<String>,
    /// AV
    pub fine_items: Vec<String>,
    /// BU
    pub recall_items: Vec<String>,
    /// CD: holds not yet available.
    pub unavailable_hold_items: Vec<String>,
    /// BD
    pub home_address: Option<String>,
    /// BE
    pub email_address: Option<String>,
    /// BF
    pub home_phone_number: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 11
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Checkout {
    pub sc_renewal_policy: bool,
    /// Set when replaying a checkout the terminal already granted offline.
    pub no_block: bool,
    pub transaction_date: Option<SipDateTime>,
    /// The due date promised offline; `None` (18 spaces) online.
    pub nb_due_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AB
    pub item_id: String,
    /// AC
    pub terminal_password: String,
    /// CH
    pub item_properties: Option<String>,
    /// AD
    pub patron_password: Option<String>,
    /// BO
    pub fee_acknowledged: Option<bool>,
    /// BI
    pub cancel: Option<bool>,
    pub extra: ExtraFields,
}

/// 12 (checkout) and, with the same layout, 30 (renew).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct CheckoutResponse {
    pub ok: bool,
    pub renewal_ok: bool,
    pub magnetic_media: YesNoUnknown,
    pub desensitize: YesNoUnknown,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AB
    pub item_id: String,
    /// AJ
    pub title_id: String,
    /// AH: free text; servers format it as they like.
    pub due_date: String,
    /// BT
    pub fee_type: Option<FeeType>,
    /// CI
    pub security_inhibit: Option<bool>,
    /// BH
    pub currency_type: Option<String>,
    /// BV
    pub fee_amount: Option<String>,
    /// CK
    pub media_type: Option<MediaType>,
    /// CH
    pub item_properties: Option<String>,
    /// BK
    pub transaction_id: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 30 has exactly the layout of 12.
pub type RenewResponse = CheckoutResponse;

/// 09
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Checkin {
    pub no_block: bool,
    pub transaction_date: Option<SipDateTime>,
    pub return_date: Option<SipDateTime>,
    /// AP
    pub current_location: String,
    /// AO
    pub institution_id: String,
    /// AB
    pub item_id: String,
    /// AC
    pub terminal_password: String,
    /// CH
    pub item_properties: Option<String>,
    /// BI
    pub cancel: Option<bool>,
    pub extra: ExtraFields,
}

/// 10
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct CheckinResponse {
    pub ok: bool,
    pub resensitize: bool,
    pub magnetic_media: YesNoUnknown,
    pub alert: bool,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AB
    pub item_id: String,
    /// AQ
    pub permanent_location: String,
    /// AJ
    pub title_id: Option<String>,
    /// CL
    pub sort_bin: Option<String>,
    /// AA
    pub patron_id: Option<String>,
    /// CK
    pub media_type: Option<MediaType>,
    /// CH
    pub item_properties: Option<String>,
    /// CR (3M extension)
    pub collection_code: Option<String>,
    /// CS (3M extension)
    pub call_number: Option<String>,
    /// CT (3M extension)
    pub destination_location: Option<String>,
    /// CV (3M extension): alert type, e.g. `01` local hold, `02` remote hold, `04` transfer.
    pub alert_type: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 29
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Renew {
    pub third_party_allowed: bool,
    pub no_block: bool,
    pub transaction_date: Option<SipDateTime>,
    pub nb_due_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AD
    pub patron_password: Option<String>,
    /// AB
    pub item_id: Option<String>,
    /// AJ
    pub title_id: Option<String>,
    /// AC
    pub terminal_password: Option<String>,
    /// CH
    pub item_properties: Option<String>,
    /// BO
    pub fee_acknowledged: Option<bool>,
    pub extra: ExtraFields,
}

/// 65
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RenewAll {
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AD
    pub patron_password: Option<String>,
    /// AC
    pub terminal_password: Option<String>,
    /// BO
    pub fee_acknowledged: Option<bool>,
    pub extra: ExtraFields,
}

/// 66
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RenewAllResponse {
    pub ok: bool,
    pub renewed_count: u16,
    pub unrenewed_count: u16,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// BM
    pub renewed_items: Vec<String>,
    /// BN
    pub unrenewed_items: Vec<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 17
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ItemInformation {
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AB
    pub item_id: String,
    /// AC
    pub terminal_password: Option<String>,
    pub extra: ExtraFields,
}

/// 18
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ItemInformationResponse {
    pub circulation_status: CirculationStatus,
    pub security_marker: SecurityMarker,
    pub fee_type: FeeType,
    pub transaction_date: Option<SipDateTime>,
    /// CF
    pub hold_queue_length: Option<u32>,
    /// AH (free text)
    pub due_date: Option<String>,
    /// CJ (a SIP2 date as text; see [`SipDateTime::parse`])
    pub recall_date: Option<String>,
    /// CM (a SIP2 date as text)
    pub hold_pickup_date: Option<String>,
    /// AB
    pub item_id: String,
    /// AJ
    pub title_id: String,
    /// BG
    pub owner: Option<String>,
    /// BH
    pub currency_type: Option<String>,
    /// BV
    pub fee_amount: Option<String>,
    /// CK
    pub media_type: Option<MediaType>,
    /// AQ
    pub permanent_location: Option<String>,
    /// AP
    pub current_location: Option<String>,
    /// CH
    pub item_properties: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 19
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ItemStatusUpdate {
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AB
    pub item_id: String,
    /// AC
    pub terminal_password: Option<String>,
    /// CH
    pub item_properties: String,
    pub extra: ExtraFields,
}

/// 20
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ItemStatusUpdateResponse {
    pub item_properties_ok: bool,
    pub transaction_date: Option<SipDateTime>,
    /// AB
    pub item_id: String,
    /// AJ
    pub title_id: Option<String>,
    /// CH
    pub item_properties: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 35; 25 Patron Enable has the same layout.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct EndPatronSession {
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AC
    pub terminal_password: Option<String>,
    /// AD
    pub patron_password: Option<String>,
    pub extra: ExtraFields,
}

/// 25 has exactly the layout of 35.
pub type PatronEnable = EndPatronSession;

/// 36
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct EndSessionResponse {
    pub end_session: bool,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 37
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FeePaid {
    pub transaction_date: Option<SipDateTime>,
    pub fee_type: FeeType,
    pub payment_type: PaymentType,
    /// Three letters, e.g. `EUR`.
    pub currency_type: String,
    /// BV
    pub fee_amount: String,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AC
    pub terminal_password: Option<String>,
    /// AD
    pub patron_password: Option<String>,
    /// CG
    pub fee_id: Option<String>,
    /// BK
    pub transaction_id: Option<String>,
    pub extra: ExtraFields,
}

/// 38
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FeePaidResponse {
    pub payment_accepted: bool,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// BK
    pub transaction_id: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 15
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Hold {
    pub hold_mode: HoldMode,
    pub transaction_date: Option<SipDateTime>,
    /// BW (a SIP2 date as text)
    pub expiration_date: Option<String>,
    /// BS
    pub pickup_location: Option<String>,
    /// BY
    pub hold_type: Option<HoldType>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AD
    pub patron_password: Option<String>,
    /// AB
    pub item_id: Option<String>,
    /// AJ
    pub title_id: Option<String>,
    /// AC
    pub terminal_password: Option<String>,
    /// BO
    pub fee_acknowledged: Option<bool>,
    pub extra: ExtraFields,
}

/// 16
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct HoldResponse {
    pub ok: bool,
    pub available: bool,
    pub transaction_date: Option<SipDateTime>,
    /// BW (a SIP2 date as text)
    pub expiration_date: Option<String>,
    /// BR
    pub queue_position: Option<u32>,
    /// BS
    pub pickup_location: Option<String>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AB
    pub item_id: Option<String>,
    /// AJ
    pub title_id: Option<String>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 26
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PatronEnableResponse {
    pub patron_status: PatronStatus,
    pub language: Language,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AA
    pub patron_id: String,
    /// AE
    pub personal_name: String,
    /// BL
    pub valid_patron: Option<bool>,
    /// CQ
    pub valid_patron_password: Option<bool>,
    /// AF
    pub screen_messages: Vec<String>,
    /// AG
    pub print_lines: Vec<String>,
    pub extra: ExtraFields,
}

/// 01: the terminal kept a card (or found it blocked) and tells the ILS to block the patron.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct BlockPatron {
    pub card_retained: bool,
    pub transaction_date: Option<SipDateTime>,
    /// AO
    pub institution_id: String,
    /// AL
    pub blocked_card_message: String,
    /// AA
    pub patron_id: String,
    /// AC
    pub terminal_password: String,
    pub extra: ExtraFields,
}

/// Every message of SIP2 2.00 a self-service terminal sends or receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum Message {
    /// 93
    Login(Login),
    /// 94
    LoginResponse(LoginResponse),
    /// 99
    ScStatus(ScStatus),
    /// 98
    AcsStatus(AcsStatus),
    /// 23
    PatronStatusRequest(PatronStatusRequest),
    /// 24
    PatronStatusResponse(PatronStatusResponse),
    /// 63
    PatronInformation(PatronInformation),
    /// 64
    PatronInformationResponse(PatronInformationResponse),
    /// 11
    Checkout(Checkout),
    /// 12
    CheckoutResponse(CheckoutResponse),
    /// 09
    Checkin(Checkin),
    /// 10
    CheckinResponse(CheckinResponse),
    /// 29
    Renew(Renew),
    /// 30
    RenewResponse(RenewResponse),
    /// 65
    RenewAll(RenewAll),
    /// 66
    RenewAllResponse(RenewAllResponse),
    /// 17
    ItemInformation(ItemInformation),
    /// 18
    ItemInformationResponse(ItemInformationResponse),
    /// 19
    ItemStatusUpdate(ItemStatusUpdate),
    /// 20
    ItemStatusUpdateResponse(ItemStatusUpdateResponse),
    /// 35
    EndPatronSession(EndPatronSession),
    /// 36
    EndSessionResponse(EndSessionResponse),
    /// 37
    FeePaid(FeePaid),
    /// 38
    FeePaidResponse(FeePaidResponse),
    /// 15
    Hold(Hold),
    /// 16
    HoldResponse(HoldResponse),
    /// 25
    PatronEnable(PatronEnable),
    /// 26
    PatronEnableResponse(PatronEnableResponse),
    /// 01
    BlockPatron(BlockPatron),
    /// 97: the terminal asks the ILS to resend its last response.
    RequestResend,
    /// 96: the ILS asks the terminal to resend its last request (it arrived corrupt).
    RequestScResend,
}

impl Message {
    /// The two-digit message id.
    pub fn id(&self) -> &'static str {
        match self {
            Message::Login(_) => "93",
            Message::LoginResponse(_) => "94",
            Message::ScStatus(_) => "99",
            Message::AcsStatus(_) => "98",
            Message::PatronStatusRequest(_) => "23",
            Message::PatronStatusResponse(_) => "24",
            Message::PatronInformation(_) => "63",
            Message::PatronInformationResponse(_) => "64",
            Message::Checkout(_) => "11",
            Message::CheckoutResponse(_) => "12",
            Message::Checkin(_) => "09",
            Message::CheckinResponse(_) => "10",
            Message::Renew(_) => "29",
            Message::RenewResponse(_) => "30",
            Message::RenewAll(_) => "65",
            Message::RenewAllResponse(_) => "66",
            Message::ItemInformation(_) => "17",
            Message::ItemInformationResponse(_) => "18",
            Message::ItemStatusUpdate(_) => "19",
            Message::ItemStatusUpdateResponse(_) => "20",
            Message::EndPatronSession(_) => "35",
            Message::EndSessionResponse(_) => "36",
            Message::FeePaid(_) => "37",
            Message::FeePaidResponse(_) => "38",
            Message::Hold(_) => "15",
            Message::HoldResponse(_) => "16",
            Message::PatronEnable(_) => "25",
            Message::PatronEnableResponse(_) => "26",
            Message::BlockPatron(_) => "01",
            Message::RequestResend => "97",
            Message::RequestScResend => "96",
        }
    }

    /// Fields this message kept verbatim because it has no typed place for them (unknown or
    /// repeated ids, unparsable flags and numbers), in wire order; worth logging.
    pub fn extra(&self) -> &[(String, String)] {
        match self {
            Message::Login(m) => &m.extra,
            Message::LoginResponse(m) => &m.extra,
            Message::ScStatus(m) => &m.extra,
            Message::AcsStatus(m) => &m.extra,
            Message::PatronStatusRequest(m) => &m.extra,
            Message::PatronStatusResponse(m) => &m.extra,
            Message::PatronInformation(m) => &m.extra,
            Message::PatronInformationResponse(m) => &m.extra,
            Message::Checkout(m) => &m.extra,
            Message::CheckoutResponse(m) | Message::RenewResponse(m) => &m.extra,
            Message::Checkin(m) => &m.extra,
            Message::CheckinResponse(m) => &m.extra,
            Message::Renew(m) => &m.extra,
            Message::RenewAll(m) => &m.extra,
            Message::RenewAllResponse(m) => &m.extra,
            Message::ItemInformation(m) => &m.extra,
            Message::ItemInformationResponse(m) => &m.extra,
            Message::ItemStatusUpdate(m) => &m.extra,
            Message::ItemStatusUpdateResponse(m) => &m.extra,
            Message::EndPatronSession(m) | Message::PatronEnable(m) => &m.extra,
            Message::EndSessionResponse(m) => &m.extra,
            Message::FeePaid(m) => &m.extra,
            Message::FeePaidResponse(m) => &m.extra,
            Message::Hold(m) => &m.extra,
            Message::HoldResponse(m) => &m.extra,
            Message::PatronEnableResponse(m) => &m.extra,
            Message::BlockPatron(m) => &m.extra,
            Message::RequestResend | Message::RequestScResend => &[],
        }
    }

    /// The screen messages (AF) a response carries, for showing to the patron.
    pub fn screen_messages(&self) -> &[String] {
        match self {
            Message::AcsStatus(m) => &m.screen_messages,
            Message::PatronStatusResponse(m) => &m.screen_messages,
            Message::PatronInformationResponse(m) => &m.screen_messages,
            Message::CheckoutResponse(m) | Message::RenewResponse(m) => &m.screen_messages,
            Message::CheckinResponse(m) => &m.screen_messages,
            Message::RenewAllResponse(m) => &m.screen_messages,
            Message::ItemInformationResponse(m) => &m.screen_messages,
            Message::ItemStatusUpdateResponse(m) => &m.screen_messages,
            Message::EndSessionResponse(m) => &m.screen_messages,
            Message::FeePaidResponse(m) => &m.screen_messages,
            Message::HoldResponse(m) => &m.screen_messages,
            Message::PatronEnableResponse(m) => &m.screen_messages,
            _ => &[],
        }
    }

    /// The print lines (AG) a response carries, for the receipt.
    pub fn print_lines(&self) -> &[String] {
        match self {
            Message::AcsStatus(m) => &m.print_lines,
            Message::PatronStatusResponse(m) => &m.print_lines,
            Message::PatronInformationResponse(m) => &m.print_lines,
            Message::CheckoutResponse(m) | Message::RenewResponse(m) => &m.print_lines,
            Message::CheckinResponse(m) => &m.print_lines,
            Message::RenewAllResponse(m) => &m.print_lines,
            Message::ItemInformationResponse(m) => &m.print_lines,
            Message::ItemStatusUpdateResponse(m) => &m.print_lines,
            Message::EndSessionResponse(m) => &m.print_lines,
            Message::FeePaidResponse(m) => &m.print_lines,
            Message::HoldResponse(m) => &m.print_lines,
            Message::PatronEnableResponse(m) => &m.print_lines,
            _ => &[],
        }
    }
}
