//! What a kiosk decides about a scanned token, offline: signature by a known key, issuer,
//! lifetime and times against the kiosk's clock. Pure: the time and the clock's state come in
//! as arguments, and the replay check against the store is the caller's ([`super::admit`]).

use coset::cwt::{ClaimsSet, Timestamp};
use ed25519_dalek::{Signature, VerifyingKey};

use super::settings::PhoneSettings;
use super::{CTI_LEN_RANGE, KeyError, Refusal, decode, parse_public_key};

/// The rules a kiosk checks tokens by, made from the `[phone]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub enabled: bool,
    pub issuer: String,
    keys: Vec<(Vec<u8>, VerifyingKey)>,
    pub max_ttl_secs: u32,
    pub clock_skew_secs: u32,
    /// Ask for the PIN after an accepted token (the kiosk's part, not the token's).
    pub require_pin: bool,
}

impl Policy {
    /// The policy of valid settings; the first key that does not parse is an error (the
    /// settings validator reports every one of them).
    pub fn from_settings(settings: &PhoneSettings) -> Result<Self, KeyError> {
        let keys = settings
            .keys
            .iter()
            .map(|k| Ok((k.kid.as_bytes().to_vec(), parse_public_key(&k.public_key)?)))
            .collect::<Result<_, KeyError>>()?;
        Ok(Self {
            enabled: settings.enabled,
            issuer: settings.issuer.clone(),
            keys,
            max_ttl_secs: settings.max_ttl_secs,
            clock_skew_secs: settings.clock_skew_secs,
            require_pin: settings.require_pin,
        })
    }

    /// An enabled policy with the default issuer and limits, trusting `keys`.
    pub fn with_keys(keys: impl IntoIterator<Item = (String, VerifyingKey)>) -> Self {
        let defaults = PhoneSettings::default();
        Self {
            enabled: true,
            issuer: defaults.issuer,
            keys: keys
                .into_iter()
                .map(|(kid, key)| (kid.into_bytes(), key))
                .collect(),
            max_ttl_secs: defaults.max_ttl_secs,
            clock_skew_secs: defaults.clock_skew_secs,
            require_pin: defaults.require_pin,
        }
    }

    fn key(&self, kid: &[u8]) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// An accepted token: who it is for and what the replay check must remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub patron_id: String,
    pub kid: String,
    pub issuer: String,
    pub cti: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The first second at which this kiosk refuses the token anyway (`exp` + the skew): its
    /// `cti` must be remembered until then.
    pub remember_until: i64,
}

/// Decides about `text` at `now` (seconds since the Unix epoch). `clock_synced` says whether
/// the kiosk's clock is known to be right; without that no time can be checked, so no token
/// is accepted. The replay check is not done here: see [`super::admit`].
pub fn verify(
    text: &str,
    policy: &Policy,
    now: i64,
    clock_synced: bool,
) -> Result<Verified, Refusal> {
    if !policy.enabled {
        return Err(Refusal::Disabled);
    }
    let parts = decode(text)?;
    let key = policy.key(&parts.kid).ok_or_else(|| Refusal::UnknownKey {
        kid: parts.kid_text(),
    })?;
    parts.sign1.verify_signature(b"", |signature, data| {
        let signature = Signature::from_slice(signature).map_err(|_| Refusal::BadSignature)?;
        key.verify_strict(data, &signature)
            .map_err(|_| Refusal::BadSignature)
    })?;
    // Only signed bytes are read past this point.
    let claims = parts.claims()?;
    let checked = Checked::from_claims(claims)?;
    if checked.issuer != policy.issuer {
        return Err(Refusal::WrongIssuer {
            found: checked.issuer,
        });
    }
    let lifetime = checked.expires_at - checked.issued_at;
    if lifetime <= 0 {
        return Err(Refusal::Malformed {
            detail: "expires before it was issued".into(),
        });
    }
    if lifetime > i64::from(policy.max_ttl_secs) {
        return Err(Refusal::LifetimeTooLong {
            lifetime_secs: lifetime,
            max_secs: policy.max_ttl_secs,
        });
    }
    if !clock_synced {
        return Err(Refusal::ClockNotSynchronised);
    }
    let skew = i64::from(policy.clock_skew_secs);
    let valid_from = checked
        .not_before
        .map_or(checked.issued_at, |nbf| nbf.max(checked.issued_at));
    if now.saturating_add(skew) < valid_from {
        return Err(Refusal::NotYetValid { valid_from, now });
    }
    let remember_until = checked.expires_at.saturating_add(skew);
    if now >= remember_until {
        return Err(Refusal::Expired {
            expired_at: checked.expires_at,
            now,
        });
    }
    Ok(Verified {
        patron_id: checked.patron_id,
        kid: parts.kid_text(),
        issuer: checked.issuer,
        cti: checked.cti,
        issued_at: checked.issued_at,
        expires_at: checked.expires_at,
        remember_until,
    })
}

/// The claims a token must have, with the types it must have them in.
struct Checked {
    issuer: String,
    patron_id: String,
    issued_at: i64,
    expires_at: i64,
    not_before: Option<i64>,
    cti: Vec<u8>,
}

impl Checked {
    fn from_claims(claims: ClaimsSet) -> Result<Self, Refusal> {
        let malformed = |detail: &str| Refusal::Malformed {
            detail: detail.into(),
        };
        let seconds = |t: Option<Timestamp>, name: &str| match t {
            Some(Timestamp::WholeSeconds(s)) => Ok(Some(s)),
            Some(Timestamp::FractionalSeconds(_)) => {
                Err(malformed(&format!("{name} is not whole seconds")))
            }
            None => Ok(None),
        };
        let patron_id = claims
            .subject
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| malformed("no patron id (sub)"))?;
        let issued_at =
            seconds(claims.issued_at, "iat")?.ok_or_else(|| malformed("no issue time (iat)"))?;
        let expires_at = seconds(claims.expiration_time, "exp")?
            .ok_or_else(|| malformed("no expiry time (exp)"))?;
        let not_before = seconds(claims.not_before, "nbf")?;
        let cti = claims.cwt_id.ok_or_else(|| malformed("no nonce (cti)"))?;
        if !CTI_LEN_RANGE.contains(&cti.len()) {
            return Err(malformed(&format!(
                "the nonce (cti) is {} bytes, 8 to 32 are accepted",
                cti.len()
            )));
        }
        Ok(Self {
            issuer: claims.issuer.unwrap_or_default(),
            patron_id,
            issued_at,
            expires_at,
            not_before,
            cti,
        })
    }
}
