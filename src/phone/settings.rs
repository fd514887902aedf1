//! The `[phone]` settings: whether the kiosk takes phone codes, whose, signed by which keys,
//! and how much lifetime and clock difference it allows.

use serde::{Deserialize, Serialize};

use super::keys::{check_kid, parse_public_key};
use crate::config::Problem;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneSettings {
    /// Identify patrons by the QR code of the library's app.
    pub enabled: bool,
    /// The `iss` claim the tokens must carry.
    pub issuer: String,
    /// Longest lifetime (`exp - iat`) a token may have.
    pub max_ttl_secs: u32,
    /// How far the issuer's clock and the kiosk's may differ.
    pub clock_skew_secs: u32,
    /// Ask for the PIN after the phone code too. Off by default: the app is the second factor.
    pub require_pin: bool,
    /// The issuers' public keys, by key id (`[[phone.keys]]` tables).
    pub keys: Vec<PhoneKey>,
}

/// One `[[phone.keys]]` table, as `selfcheck token keygen` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneKey {
    pub kid: String,
    /// Base64 of the 32-byte Ed25519 public key, or PEM SubjectPublicKeyInfo.
    pub public_key: String,
}

impl Default for PhoneSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            issuer: "selfcheck".into(),
            max_ttl_secs: 120,
            clock_skew_secs: 120,
            require_pin: false,
            keys: Vec::new(),
        }
    }
}

/// Longest issuer name: it travels in every token.
const MAX_ISSUER_LEN: usize = 64;

impl PhoneSettings {
    /// Every invalid value, named by its dotted key.
    pub fn problems(&self, out: &mut Vec<Problem>) {
        let mut bad = |key: String, message: String| out.push(Problem { key, message });
        if self.enabled && self.keys.is_empty() {
            bad(
                "phone.keys".into(),
                "phone.enabled is true but no [[phone.keys]] are given: add the output of \
                 `selfcheck token keygen`"
                    .into(),
            );
        }
        let issuer = &self.issuer;
        if issuer.trim().is_empty()
            || issuer.len() > MAX_ISSUER_LEN
            || issuer.chars().any(char::is_control)
        {
            bad(
                "phone.issuer".into(),
                format!("must be 1 to {MAX_ISSUER_LEN} characters, no control characters"),
            );
        }
        if !(10..=3600).contains(&self.max_ttl_secs) {
            bad(
                "phone.max_ttl_secs".into(),
                format!("{} is out of range (10 to 3600 seconds)", self.max_ttl_secs),
            );
        }
        if self.clock_skew_secs > 600 {
            bad(
                "phone.clock_skew_secs".into(),
                format!(
                    "{} is out of range (0 to 600 seconds)",
                    self.clock_skew_secs
                ),
            );
        }
        for (i, key) in self.keys.iter().enumerate() {
            if let Err(e) = check_kid(&key.kid) {
                bad(format!("phone.keys[{i}].kid"), e.to_string());
            }
            if let Some(first) = self.keys.iter().position(|k| k.kid == key.kid)
                && first < i
            {
                bad(
                    format!("phone.keys[{i}].kid"),
                    format!("\"{}\" is already the kid of phone.keys[{first}]", key.kid),
                );
            }
            if let Err(e) = parse_public_key(&key.public_key) {
                bad(format!("phone.keys[{i}].public_key"), e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, Settings};

    /// RFC 8032's first test key, as `token keygen` prints it.
    const PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, Path::new("test.toml"))
    }

    fn problems(text: &str) -> Vec<(String, String)> {
        match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| (p.key, p.message)).collect()
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    fn keys(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn off_by_default_with_the_documented_limits() {
        let s = parse("").expect("defaults");
        assert!(!s.phone.enabled);
        assert_eq!(s.phone.issuer, "selfcheck");
        assert_eq!((s.phone.max_ttl_secs, s.phone.clock_skew_secs), (120, 120));
        assert!(!s.phone.require_pin);
    }

    #[test]
    fn keygen_output_appended_to_a_file_is_valid() {
        let text = format!(
            "[phone]\nenabled = true\nissuer = \"city\"\nmax_ttl_secs = 60\nclock_skew_secs = 30\n\
             require_pin = true\n\n[[phone.keys]]\nkid = \"k1\"\npublic_key = \"{PUBLIC}\"\n"
        );
        let s = parse(&text).expect("valid");
        assert_eq!(s.phone.keys.len(), 1);
        let policy = crate::phone::Policy::from_settings(&s.phone).expect("policy");
        assert_eq!(
            (
                policy.issuer.as_str(),
                policy.max_ttl_secs,
                policy.clock_skew_secs
            ),
            ("city", 60, 30)
        );
        assert!(policy.require_pin && policy.enabled);
        // `config show` prints them back in a form that parses to the same settings.
        let shown = toml::to_string(&s.redacted()).expect("serialize");
        assert_eq!(parse(&shown).expect("parse back"), s);
        assert!(!s.has_secrets(), "public keys are no secret");
    }

    #[test]
    fn a_pem_public_key_is_taken_too() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
        let text = format!(
            "[phone]\nenabled = true\n[[phone.keys]]\nkid = \"k1\"\npublic_key = \"\"\"\n{pem}\"\"\"\n"
        );
        let s = parse(&text).expect("valid");
        let policy = crate::phone::Policy::from_settings(&s.phone).expect("policy");
        let base64 = crate::phone::parse_public_key(PUBLIC).expect("key");
        assert_eq!(
            policy,
            crate::phone::Policy::from_settings(&super::PhoneSettings {
                keys: vec![super::PhoneKey {
                    kid: "k1".into(),
                    public_key: crate::phone::public_key_text(&base64),
                }],
                ..s.phone.clone()
            })
            .expect("same")
        );
    }

    #[test]
    fn enabled_needs_keys() {
        let found = problems("[phone]\nenabled = true\n");
        assert_eq!(keys(&found), ["phone.keys"]);
        assert!(found[0].1.contains("token keygen"), "{found:?}");
    }

    #[test]
    fn bad_keys_are_each_named() {
        let text = format!(
            "[phone]\nenabled = true\n\
             [[phone.keys]]\nkid = \"k1\"\npublic_key = \"{PUBLIC}\"\n\
             [[phone.keys]]\nkid = \"k1\"\npublic_key = \"{PUBLIC}\"\n\
             [[phone.keys]]\nkid = \"k2\"\npublic_key = \"not base64!\"\n\
             [[phone.keys]]\nkid = \"k3\"\npublic_key = \"AAAA\"\n\
             [[phone.keys]]\nkid = \"../k4\"\npublic_key = \"{PUBLIC}\"\n"
        );
        let found = problems(&text);
        assert_eq!(
            keys(&found),
            [
                "phone.keys[1].kid",
                "phone.keys[2].public_key",
                "phone.keys[3].public_key",
                "phone.keys[4].kid",
            ]
        );
        assert!(found[0].1.contains("already"), "{found:?}");
        assert!(found[1].1.contains("base64"), "{found:?}");
        assert!(found[2].1.contains("3 bytes"), "{found:?}");
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(
            keys(&problems(
                "[phone]\nmax_ttl_secs = 5\nclock_skew_secs = 601\nissuer = \"\"\n"
            )),
            [
                "phone.issuer",
                "phone.max_ttl_secs",
                "phone.clock_skew_secs"
            ]
        );
        let msg = parse("[phone]\nkeys = [{ kid = \"k1\" }]\n")
            .expect_err("missing public_key")
            .to_string();
        assert!(msg.contains("public_key"), "{msg}");
        let msg = parse("[phone]\nenable = true\n")
            .expect_err("unknown key")
            .to_string();
        assert!(msg.contains("enable"), "{msg}");
    }
}
