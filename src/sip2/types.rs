//! Field value types shared by several SIP2 messages.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The four `ZZZZ` characters of a SIP2 date. Kept verbatim so a decoded date re-encodes to the
/// same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Zone {
    /// Four spaces: the terminal's or the ILS's local time (what most servers send).
    #[default]
    Local,
    /// `   Z`: UTC.
    Utc,
    /// Any other four characters (a zone name such as ` EST`).
    Other(String),
}

impl Zone {
    fn from_wire(s: &str) -> Zone {
        match s {
            "    " => Zone::Local,
            "   Z" => Zone::Utc,
            other => Zone::Other(other.to_owned()),
        }
    }

    pub(crate) fn as_wire(&self) -> &str {
        match self {
            Zone::Local => "    ",
            Zone::Utc => "   Z",
            Zone::Other(s) => s,
        }
    }
}

/// A SIP2 date and time, `YYYYMMDDZZZZHHMMSS` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipDateTime {
    pub datetime: NaiveDateTime,
    pub zone: Zone,
}

impl SipDateTime {
    /// A local-time date (`ZZZZ` = four spaces).
    pub fn local(datetime: NaiveDateTime) -> Self {
        Self {
            datetime,
            zone: Zone::Local,
        }
    }

    /// The terminal's local time now, whole seconds, as SIP2 transaction dates are usually
    /// sent.
    pub fn now_local() -> Self {
        let now = chrono::Local::now().naive_local();
        Self::local(now.with_nanosecond(0).unwrap_or(now))
    }

    /// A UTC date (`ZZZZ` = `   Z`).
    pub fn utc(datetime: NaiveDateTime) -> Self {
        Self {
            datetime,
            zone: Zone::Utc,
        }
    }

    /// Parses the 18-character form. Variable fields that carry dates (AH, CJ, CM, BW) are kept
    /// as text in the messages because servers fill them freely; this parses them when they
    /// follow the standard form.
    pub fn parse(s: &str) -> Option<SipDateTime> {
        let b = s.as_bytes();
        if b.len() != 18 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                part.iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
            )
        };
        let year = i32::try_from(num(0..4)?).ok()?;
        let date = NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
        let time = NaiveTime::from_hms_opt(num(12..14)?, num(14..16)?, num(16..18)?)?;
        let zone = Zone::from_wire(s.get(8..12)?);
        Some(SipDateTime {
            datetime: NaiveDateTime::new(date, time),
            zone,
        })
    }
}

/// As the 18 characters of the wire form, which keep the zone.
impl serde::Serialize for SipDateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for SipDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.datetime.format("%Y%m%d"),
            self.zone.as_wire(),
            self.datetime.format("%H%M%S")
        )
    }
}

/// A `Y`/`N`/`U` fixed field (magnetic media, desensitize, resensitize).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNoUnknown {
    Yes,
    No,
    #[default]
    Unknown,
}

impl YesNoUnknown {
    pub(crate) fn as_char(self) -> char {
        match self {
            YesNoUnknown::Yes => 'Y',
            YesNoUnknown::No => 'N',
            YesNoUnknown::Unknown => 'U',
        }
    }
}

/// The three-digit language code of messages 23, 24, 26, 63 and 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Language(pub u16);

impl Language {
    pub const UNKNOWN: Language = Language(0);
    pub const ENGLISH: Language = Language(1);
    pub const FRENCH: Language = Language(2);
    pub const GERMAN: Language = Language(3);
    pub const ITALIAN: Language = Language(4);
    pub const DUTCH: Language = Language(5);
    pub const SWEDISH: Language = Language(6);
    pub const FINNISH: Language = Language(7);
    pub const SPANISH: Language = Language(8);
    pub const DANISH: Language = Language(9);
    pub const PORTUGUESE: Language = Language(10);
    pub const CANADIAN_FRENCH: Language = Language(11);
    pub const NORWEGIAN: Language = Language(12);
    pub const HEBREW: Language = Language(13);
    pub const JAPANESE: Language = Language(14);
    pub const RUSSIAN: Language = Language(15);
    pub const ARABIC: Language = Language(16);
    pub const POLISH: Language = Language(17);
    pub const GREEK: Language = Language(18);
    pub const CHINESE: Language = Language(19);
    pub const KOREAN: Language = Language(20);
    pub const NORTH_AMERICAN_SPANISH: Language = Language(21);
    pub const TAMIL: Language = Language(22);
    pub const MALAY: Language = Language(23);
    pub const UNITED_KINGDOM: Language = Language(24);
    pub const ICELANDIC: Language = Language(25);
    pub const BELGIAN: Language = Language(26);
    pub const TAIWANESE: Language = Language(27);
}

/// Declares a SIP2 code list: known codes get a variant, anything else is kept in `Other`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, width $width:literal $(, default $default:ident)? {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code this list does not name, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Characters of the code when it is a fixed field.
            pub const WIDTH: usize = $width;

            pub fn from_code(code: &str) -> Self {
                match code {
                    $( $code => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }

            pub fn code(&self) -> &str {
                match self {
                    $( $name::$variant => $code, )+
                    $name::Other(code) => code,
                }
            }

            /// Every named variant, for tests and menus.
            pub const KNOWN: &'static [$name] = &[$( $name::$variant ),+];
        }

        /// The variant's name, or the code itself when the list does not name it.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant => s.serialize_str(stringify!($variant)), )+
                    $name::Other(code) => s.serialize_str(code),
                }
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?
    };
}

code_enum! {
    /// Circulation status of an item (message 18).
    CirculationStatus, width 2, default Unspecified {
        /// Code 01, "other".
        Unspecified = "01",
        OnOrder = "02",
        Available = "03",
        Charged = "04",
        ChargedNotToBeRecalledUntilEarliestRecallDate = "05",
        InProcess = "06",
        Recalled = "07",
        WaitingOnHoldShelf = "08",
        WaitingToBeReshelved = "09",
        InTransit = "10",
        ClaimedReturned = "11",
        Lost = "12",
        Missing = "13",
    }
}

code_enum! {
    /// Security marker type (message 18).
    SecurityMarker, width 2, default Unspecified {
        /// Code 00, "other".
        Unspecified = "00",
        None = "01",
        TattleTape = "02",
        WhisperTape = "03",
    }
}

code_enum! {
    /// Fee type (messages 12, 18, 30, 37; field BT).
    FeeType, width 2, default Unspecified {
        /// Code 01, "other/unknown".
        Unspecified = "01",
        Administrative = "02",
        Damage = "03",
        Overdue = "04",
        Processing = "05",
        Rental = "06",
        Replacement = "07",
        ComputerAccessCharge = "08",
        HoldFee = "09",
    }
}

code_enum! {
    /// Payment type (message 37).
    PaymentType, width 2, default Cash {
        Cash = "00",
        Visa = "01",
        CreditCard = "02",
    }
}

code_enum! {
    /// Media type (field CK).
    MediaType, width 3 {
        /// Code 000, "other".
        Unspecified = "000",
        Book = "001",
        Magazine = "002",
        BoundJournal = "003",
        AudioTape = "004",
        VideoTape = "005",
        CdOrCdRom = "006",
        Diskette = "007",
        BookWithDiskette = "008",
        BookWithCd = "009",
        BookWithAudioTape = "010",
    }
}

code_enum! {
    /// Hold mode (message 15).
    HoldMode, width 1, default Add {
        Add = "+",
        Delete = "-",
        Change = "*",
    }
}

code_enum! {
    /// Hold type (field BY).
    HoldType, width 1 {
        /// Code 1, "other".
        Unspecified = "1",
        AnyCopyOfTitle = "2",
        SpecificCopy = "3",
        AnyCopyAtSingleBranch = "4",
    }
}

code_enum! {
    /// Terminal status in message 99.
    ScStatusCode, width 1, default Ok {
        Ok = "0",
        OutOfPaper = "1",
        ShuttingDown = "2",
    }
}

/// Declares a fixed field of Y/space (or Y/N) flags with one named bool per position.
macro_rules! flag_struct {
    (
        $(#[$meta:meta])*
        $name:ident, width $width:literal, false $off:literal {
            $( $(#[$fmeta:meta])* $field:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: bool, )+
        }

        impl $name {
            /// Characters on the wire.
            pub const WIDTH: usize = $width;

            /// Reads the flags; a position is set when it holds `Y` (either case). Short input
            /// leaves the missing flags unset.
            pub fn from_wire(s: &str) -> Self {
                let mut chars = s.chars();
                let mut next = || matches!(chars.next(), Some('Y' | 'y'));
                Self { $( $field: next(), )+ }
            }

            /// Appends the flags' wire characters (ASCII) to `out`.
            pub(crate) fn write_wire(&self, out: &mut Vec<u8>) {
                let mut n = 0usize;
                $(
                    out.push(if self.$field { b'Y' } else { $off });
                    n += 1;
                )+
                for _ in n..$width {
                    out.push($off);
                }
            }

            /// The flags as their wire characters.
            pub fn to_wire(&self) -> String {
                let mut out = Vec::with_capacity($width);
                self.write_wire(&mut out);
                out.into_iter().map(char::from).collect()
            }

            /// True when any flag is set.
            pub fn any(&self) -> bool {
                false $( || self.$field )+
            }
        }
    };
}

flag_struct! {
    /// The 14 patron status flags of messages 24, 26 and 64 (`Y` = denied / true).
    PatronStatus, width 14, false b' ' {
        charge_privileges_denied,
        renewal_privileges_denied,
        recall_privileges_denied,
        hold_privileges_denied,
        card_reported_lost,
        too_many_items_charged,
        too_many_items_overdue,
        too_many_renewals,
        too_many_claims_of_items_returned,
        too_many_items_lost,
        excessive_outstanding_fines,
        excessive_outstanding_fees,
        recall_overdue,
        too_many_items_billed,
    }
}

flag_struct! {
    /// The 16 flags of field BX in message 98: which messages the ILS supports.
    SupportedMessages, width 16, false b'N' {
        patron_status_request,
        checkout,
        checkin,
        block_patron,
        sc_acs_status,
        request_sc_acs_resend,
        login,
        patron_information,
        end_patron_session,
        fee_paid,
        item_information,
        item_status_update,
        patron_enable,
        hold,
        renew,
        renew_all,
    }
}

flag_struct! {
    /// The 10-character summary of message 63: which detail list the terminal asks for. The
    /// specification expects at most one `Y`.
    Summary, width 10, false b' ' {
        hold_items,
        overdue_items,
        charged_items,
        fine_items,
        recall_items,
        unavailable_holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_round_trips_with_each_zone() {
        for wire in [
            "20261128    101500",
            "20261128   Z101500",
            "20261128 EST101500",
        ] {
            let d = SipDateTime::parse(wire).expect("valid date");
            assert_eq!(d.to_string(), wire);
        }
    }

    #[test]
    fn date_rejects_junk() {
        for wire in [
            "",
            "2026112810150",
            "20261328    101500",
            "2026112a    101500",
            "20261128    256000",
        ] {
            assert_eq!(SipDateTime::parse(wire), None, "{wire:?}");
        }
    }

    #[test]
    fn code_lists_keep_unknown_codes() {
        assert_eq!(
            CirculationStatus::from_code("08"),
            CirculationStatus::WaitingOnHoldShelf
        );
        assert_eq!(CirculationStatus::from_code("42").code(), "42");
        assert_eq!(MediaType::from_code("001"), MediaType::Book);
        assert_eq!(FeeType::Overdue.code(), "04");
    }

    #[test]
    fn patron_status_flags_by_position() {
        let s = PatronStatus::from_wire("Y    Y        ");
        assert!(s.charge_privileges_denied && s.too_many_items_charged);
        assert!(!s.card_reported_lost);
        assert_eq!(s.to_wire(), "Y    Y        ");
        let mut bx = Vec::new();
        SupportedMessages {
            checkout: true,
            renew_all: true,
            ..Default::default()
        }
        .write_wire(&mut bx);
        assert_eq!(bx, b"NYNNNNNNNNNNNNNY");
        let mut summary = Vec::new();
        Summary {
            charged_items: true,
            ..Default::default()
        }
        .write_wire(&mut summary);
        assert_eq!(summary, b"  Y       ");
    }
}
