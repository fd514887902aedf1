//! Tokens for other modules' tests (the scanners', the classifier's): signed by a key made
//! from one byte, issued at a fixed time, accepted by [`policy`] of the same byte.

use ed25519_dalek::SigningKey;

use super::{CTI_LEN, Claims, Policy, Refusal, issue};

pub const ISSUED_AT: i64 = 1_767_225_600;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A token for `patron` under key id `k1`, valid for 60 seconds from [`ISSUED_AT`].
pub fn token(seed: u8, patron: &str) -> String {
    let claims = Claims {
        issuer: "selfcheck".into(),
        patron_id: patron.into(),
        issued_at: ISSUED_AT,
        expires_at: ISSUED_AT + 60,
        cti: vec![seed; CTI_LEN],
    };
    issue(&claims, "k1", &key(seed)).expect("issue")
}

/// A policy trusting the key of `seed` as `k1`.
pub fn policy(seed: u8) -> Policy {
    Policy::with_keys([("k1".to_string(), key(seed).verifying_key())])
}

/// Whether a synchronised kiosk with [`policy`] accepts `text` just after it was issued.
pub fn accepts(seed: u8, text: &str) -> bool {
    super::verify(text, &policy(seed), ISSUED_AT + 10, true).is_ok()
}

/// One refusal of each kind, in the order of [`Refusal::CODES`].
pub fn every_refusal() -> Vec<Refusal> {
    vec![
        Refusal::Disabled,
        Refusal::Oversized { len: 400, max: 311 },
        Refusal::BadPrefix,
        Refusal::Truncated,
        Refusal::Malformed { detail: "x".into() },
        Refusal::WrongAlgorithm { detail: "x".into() },
        Refusal::UnknownKey { kid: "k9".into() },
        Refusal::BadSignature,
        Refusal::WrongIssuer { found: "x".into() },
        Refusal::LifetimeTooLong {
            lifetime_secs: 999,
            max_secs: 120,
        },
        Refusal::ClockNotSynchronised,
        Refusal::NotYetValid {
            valid_from: 10,
            now: 0,
        },
        Refusal::Expired {
            expired_at: 0,
            now: 10,
        },
        Refusal::Replayed,
        Refusal::Unavailable { detail: "x".into() },
    ]
}
