//! The demo's phone codes: the demo library system stands for the library's app backend too,
//! with a key of its own, so the demo kiosk shows phone login. The key is made from a
//! published phrase, so it is no secret: a kiosk trusts it only in the demo, and only while
//! its `[phone]` settings are left as they are by default.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use super::{Claims, IssueError, KeyError, PhoneKey, PhoneSettings, issue, random_cti};
use crate::config::Settings;

/// The demo key's id.
pub const DEMO_KID: &str = "demo";

/// How long a code from the demo's phones is valid.
pub const DEMO_TTL_SECS: i64 = 60;

/// The demo's signing key: SHA-256 of a published phrase. Never a real library's key.
pub fn demo_signing_key() -> SigningKey {
    let seed: [u8; 32] = Sha256::digest(b"selfcheck demo phone key: not a secret").into();
    SigningKey::from_bytes(&seed)
}

/// The `[phone]` settings of the demo: phone codes on, signed by the demo key.
pub fn demo_settings() -> PhoneSettings {
    PhoneSettings {
        enabled: true,
        keys: vec![PhoneKey {
            kid: DEMO_KID.into(),
            public_key: super::public_key_text(&demo_signing_key().verifying_key()),
        }],
        ..PhoneSettings::default()
    }
}

/// The `[phone]` settings a kiosk runs with: the demo's when it runs the demo (`ils.server =
/// "demo"`) and nothing in `[phone]` was set; else the settings as written.
pub fn kiosk_settings(settings: &Settings) -> PhoneSettings {
    if settings.ils.is_demo() && settings.phone == PhoneSettings::default() {
        demo_settings()
    } else {
        settings.phone.clone()
    }
}

/// Whether these kiosk settings take the demo's codes (the demo drawer shows its phones).
pub fn takes_demo_codes(phone: &PhoneSettings) -> bool {
    let public = super::public_key_text(&demo_signing_key().verifying_key());
    phone.enabled
        && phone
            .keys
            .iter()
            .any(|k| k.kid == DEMO_KID && k.public_key.trim() == public)
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// A fresh code for `patron_id`, issued at `now` (seconds since the epoch) by the demo key,
/// as a demo patron's phone shows it.
pub fn demo_token(patron_id: &str, issuer: &str, now: i64) -> Result<String, DemoError> {
    let claims = Claims {
        issuer: issuer.into(),
        patron_id: patron_id.into(),
        issued_at: now,
        expires_at: now + DEMO_TTL_SECS,
        cti: random_cti()?.to_vec(),
    };
    Ok(issue(&claims, DEMO_KID, &demo_signing_key())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_takes_its_own_codes_and_a_site_never_does() {
        let demo = Settings::default();
        let phone = kiosk_settings(&demo);
        assert!(takes_demo_codes(&phone));
        let mut problems = Vec::new();
        phone.problems(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let policy = super::super::Policy::from_settings(&phone).expect("policy");
        let now = 1_767_225_600;
        let token = demo_token("21000000000018", &phone.issuer, now).expect("token");
        let verified = super::super::verify(&token, &policy, now + 1, true).expect("accepted");
        assert_eq!(verified.patron_id, "21000000000018");
        assert_eq!(verified.kid, DEMO_KID);

        // Anything set in [phone] is taken as written, even in the demo.
        let mut off = Settings::default();
        off.phone.issuer = "city".into();
        assert!(!takes_demo_codes(&kiosk_settings(&off)));
        // A real library system never gets the demo key.
        let mut site = Settings::default();
        site.ils.server = "ils.example.org:6001".into();
        assert!(!takes_demo_codes(&kiosk_settings(&site)));
        assert!(!kiosk_settings(&site).enabled);
    }
}
