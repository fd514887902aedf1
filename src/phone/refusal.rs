//! Why a kiosk refuses a phone code: one variant per reason, a stable machine code for the
//! screens' translations and the JSON, an English sentence for the patron, and details for
//! staff.

use std::fmt;

/// A refused token. `code()` never changes once released: the UI translates by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `[phone] enabled` is false.
    Disabled,
    /// Longer than a QR code of version 10 at level M holds.
    Oversized {
        len: usize,
        max: usize,
    },
    /// Does not start with `SC1:`.
    BadPrefix,
    /// The text ends in the middle of the token: a partial scan.
    Truncated,
    /// Not base45, not a COSE_Sign1, or claims missing or of the wrong type.
    Malformed {
        detail: String,
    },
    /// Signed with an algorithm other than EdDSA (or the algorithm is not protected).
    WrongAlgorithm {
        detail: String,
    },
    /// No `[[phone.keys]]` entry has this key id.
    UnknownKey {
        kid: String,
    },
    BadSignature,
    /// Issued by someone other than the `[phone] issuer`.
    WrongIssuer {
        found: String,
    },
    /// `exp - iat` is longer than `[phone] max_ttl_secs`.
    LifetimeTooLong {
        lifetime_secs: i64,
        max_secs: u32,
    },
    /// The kiosk's clock is not known to be right, so no time can be checked.
    ClockNotSynchronised,
    /// Issued (or valid from) more than the allowed skew in the future.
    NotYetValid {
        valid_from: i64,
        now: i64,
    },
    Expired {
        expired_at: i64,
        now: i64,
    },
    /// Its nonce was already used at this kiosk.
    Replayed,
    /// The kiosk could not record the nonce, so it cannot rule out a replay.
    Unavailable {
        detail: String,
    },
}

impl Refusal {
    /// Stable, snake_case machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Oversized { .. } => "oversized",
            Self::BadPrefix => "bad_prefix",
            Self::Truncated => "truncated",
            Self::Malformed { .. } => "malformed",
            Self::WrongAlgorithm { .. } => "wrong_algorithm",
            Self::UnknownKey { .. } => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer { .. } => "wrong_issuer",
            Self::LifetimeTooLong { .. } => "lifetime_too_long",
            Self::ClockNotSynchronised => "clock_not_synchronised",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::Replayed => "replayed",
            Self::Unavailable { .. } => "unavailable",
        }
    }

    /// Every code, for the translations' completeness test.
    pub const CODES: &'static [&'static str] = &[
        "disabled",
        "oversized",
        "bad_prefix",
        "truncated",
        "malformed",
        "wrong_algorithm",
        "unknown_key",
        "bad_signature",
        "wrong_issuer",
        "lifetime_too_long",
        "clock_not_synchronised",
        "not_yet_valid",
        "expired",
        "replayed",
        "unavailable",
    ];

    /// What staff and the issuer's tools are told beyond the patron's sentence; never the
    /// patron id.
    pub fn detail(&self) -> String {
        match self {
            Self::Oversized { len, max } => format!("{len} characters, at most {max}"),
            Self::Malformed { detail }
            | Self::WrongAlgorithm { detail }
            | Self::Unavailable { detail } => detail.clone(),
            Self::UnknownKey { kid } => format!("key id {kid:?} is not in [[phone.keys]]"),
            Self::WrongIssuer { found } => format!("issuer {found:?}"),
            Self::LifetimeTooLong {
                lifetime_secs,
                max_secs,
            } => format!("valid for {lifetime_secs} s, phone.max_ttl_secs is {max_secs}"),
            Self::NotYetValid { valid_from, now } => {
                format!(
                    "valid from {valid_from}, {} s from now ({now})",
                    valid_from - now
                )
            }
            Self::Expired { expired_at, now } => {
                format!(
                    "expired at {expired_at}, {} s ago (now {now})",
                    now - expired_at
                )
            }
            Self::Disabled => "phone.enabled is false".into(),
            Self::BadPrefix => format!("does not start with {}", super::PREFIX),
            Self::Truncated => "the text ends inside the token".into(),
            Self::BadSignature => "the Ed25519 signature does not verify".into(),
            Self::ClockNotSynchronised => "the system clock is not NTP-synchronised".into(),
            Self::Replayed => "this token's cti was already used".into(),
        }
    }
}

impl fmt::Display for Refusal {
    /// The patron's sentence: what happened and what to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disabled => "this kiosk does not take phone codes: use your library card",
            Self::Oversized { .. } | Self::BadPrefix => "this is not a library phone code",
            Self::Truncated => {
                "only part of the code was read: hold the phone still and scan it again"
            }
            Self::Malformed { .. } => "this code cannot be read: refresh it in the app",
            Self::WrongAlgorithm { .. } => {
                "this code is signed in a way this kiosk does not accept: update the app"
            }
            Self::UnknownKey { .. } => {
                "this code was signed with a key this kiosk does not know: update the app or ask staff"
            }
            Self::BadSignature => {
                "this code's signature is not valid: it was altered or not made by the library"
            }
            Self::WrongIssuer { .. } => "this code was not issued for this library",
            Self::LifetimeTooLong { .. } => {
                "this code is valid for longer than this kiosk allows: refresh it in the app"
            }
            Self::ClockNotSynchronised => {
                "this kiosk's clock is not set, so it cannot check phone codes: use your library card or ask staff"
            }
            Self::NotYetValid { .. } => {
                "this code is not valid yet: check the time on your phone and refresh it in the app"
            }
            Self::Expired { .. } => "this code has expired: refresh it in the app",
            Self::Replayed => "this code has already been used: refresh it in the app",
            Self::Unavailable { .. } => {
                "this kiosk cannot check phone codes right now: use your library card or ask staff"
            }
        })
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_unique_code_and_a_sentence() {
        let all = super::super::testing::every_refusal();
        let codes: Vec<&str> = all.iter().map(Refusal::code).collect();
        assert_eq!(codes, Refusal::CODES);
        for r in &all {
            assert!(!r.to_string().is_empty() && !r.detail().is_empty(), "{r:?}");
        }
        assert_eq!(
            all[12].to_string(),
            "this code has expired: refresh it in the app"
        );
        assert_eq!(all[12].detail(), "expired at 0, 10 s ago (now 10)");
    }
}
