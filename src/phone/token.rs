//! The token's bytes: CWT claims in a COSE_Sign1 signed with Ed25519, base45 behind `SC1:`.
//!
//! Encoding is strict (one form: tagged COSE_Sign1, protected header `{1: -8, 4: kid}`, empty
//! unprotected header, claims `{1: iss, 2: sub, 4: exp, 6: iat, 7: cti}` in that order, which
//! is also RFC 8949's deterministic order). Decoding is tolerant where that is safe (either
//! letter case, surrounding whitespace, an untagged COSE_Sign1) and bounds the input first.

use coset::cwt::{ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{
    CborSerializable, CoseError, CoseSign1, CoseSign1Builder, HeaderBuilder,
    TaggedCborSerializable, iana,
};
use ed25519_dalek::{Signer, SigningKey};

use super::keys::check_kid;
use super::{CTI_LEN_RANGE, KeyError, MAX_TOKEN_LEN, PREFIX, Refusal};

/// What a token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`: must equal the kiosk's `[phone] issuer`.
    pub issuer: String,
    /// `sub`: the patron id, as the ILS knows it.
    pub patron_id: String,
    /// `iat` and `exp`, seconds since the Unix epoch.
    pub issued_at: i64,
    pub expires_at: i64,
    /// `cti`: a random nonce, which a kiosk accepts once.
    pub cti: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("the patron id is empty")]
    EmptyPatron,
    #[error("the issuer is empty")]
    EmptyIssuer,
    #[error(transparent)]
    Kid(#[from] KeyError),
    #[error("the token would expire ({expires_at}) before or when it is issued ({issued_at})")]
    Lifetime { issued_at: i64, expires_at: i64 },
    #[error("the nonce (cti) is {len} bytes; 8 to 32 are allowed")]
    Cti { len: usize },
    #[error(
        "the token is {len} characters, more than a QR code of version 10 at level M holds \
         ({max}): shorten the patron id, the key id or the issuer"
    )]
    TooLarge { len: usize, max: usize },
    #[error("cannot encode the token: {0}")]
    Encode(String),
}

/// Signs `claims` under key id `kid`: the token text, ready for a QR code.
pub fn issue(claims: &Claims, kid: &str, key: &SigningKey) -> Result<String, IssueError> {
    check_kid(kid)?;
    if claims.patron_id.is_empty() {
        return Err(IssueError::EmptyPatron);
    }
    if claims.issuer.is_empty() {
        return Err(IssueError::EmptyIssuer);
    }
    if claims.expires_at <= claims.issued_at {
        return Err(IssueError::Lifetime {
            issued_at: claims.issued_at,
            expires_at: claims.expires_at,
        });
    }
    if !CTI_LEN_RANGE.contains(&claims.cti.len()) {
        return Err(IssueError::Cti {
            len: claims.cti.len(),
        });
    }
    let payload = ClaimsSetBuilder::new()
        .issuer(claims.issuer.clone())
        .subject(claims.patron_id.clone())
        .expiration_time(Timestamp::WholeSeconds(claims.expires_at))
        .issued_at(Timestamp::WholeSeconds(claims.issued_at))
        .cwt_id(claims.cti.clone())
        .build()
        .to_vec()
        .map_err(|e| IssueError::Encode(e.to_string()))?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.as_bytes().to_vec())
        .build();
    let bytes = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |data| key.sign(data).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .map_err(|e| IssueError::Encode(e.to_string()))?;
    let text = format!("{PREFIX}{}", base45::encode(bytes));
    if text.len() > MAX_TOKEN_LEN {
        return Err(IssueError::TooLarge {
            len: text.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    Ok(text)
}

/// A token taken apart, its signature not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenParts {
    /// The key id from the protected header.
    pub kid: Vec<u8>,
    pub(super) sign1: CoseSign1,
}

impl TokenParts {
    /// The key id as text (lossy: a key id that is not UTF-8 matches no configured key).
    pub fn kid_text(&self) -> String {
        String::from_utf8_lossy(&self.kid).into_owned()
    }

    /// The claims, once the signature is known to be good.
    pub(super) fn claims(&self) -> Result<ClaimsSet, Refusal> {
        let payload = self.sign1.payload.as_deref().unwrap_or_default();
        ClaimsSet::from_slice(payload).map_err(|e| malformed(format!("claims: {e:?}")))
    }
}

fn malformed(detail: impl Into<String>) -> Refusal {
    Refusal::Malformed {
        detail: detail.into(),
    }
}

/// Checks the text's shape and takes the COSE structure apart: bounded length, prefix,
/// canonical base45, one COSE_Sign1 with EdDSA and a key id in its protected header.
pub fn decode(text: &str) -> Result<TokenParts, Refusal> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.len() > MAX_TOKEN_LEN {
        return Err(Refusal::Oversized {
            len: text.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    if !super::looks_like_token(text) {
        return Err(Refusal::BadPrefix);
    }
    // A wedge scanner typing for a host whose Caps Lock is on swaps the letters' case; base45
    // has no lower-case letters, so folding them back loses nothing.
    let body = text
        .get(PREFIX.len()..)
        .unwrap_or_default()
        .to_ascii_uppercase();
    if let Some(bad) = body.chars().find(|&c| !is_base45(c)) {
        return Err(malformed(format!("{bad:?} is not a base45 character")));
    }
    // Cut inside a group of three characters: one left over, or two worth more than a byte.
    if body.len() % 3 == 1 || final_pair_overflows(&body) {
        return Err(Refusal::Truncated);
    }
    let bytes = base45::decode(&body).map_err(|_| malformed("not base45"))?;
    // base45 3.x accepts a final pair worth more than 255 by cutting it to a byte; RFC 9285
    // calls that an error. Re-encoding catches it, and any other second spelling.
    if base45::encode(&bytes) != body {
        return Err(malformed("not canonical base45"));
    }
    let sign1 = decode_sign1(&bytes)?;
    let header = &sign1.protected.header;
    if !header.crit.is_empty() {
        return Err(malformed(
            "critical header parameters, none of which we know",
        ));
    }
    let eddsa = coset::Algorithm::Assigned(iana::Algorithm::EdDSA);
    match (&header.alg, &sign1.unprotected.alg) {
        (Some(alg), _) if *alg == eddsa => {}
        (Some(alg), _) => {
            return Err(Refusal::WrongAlgorithm {
                detail: format!("algorithm {alg:?}, only EdDSA (-8) is accepted"),
            });
        }
        (None, Some(_)) => {
            return Err(Refusal::WrongAlgorithm {
                detail: "the algorithm is in the unprotected header".into(),
            });
        }
        (None, None) => {
            return Err(Refusal::WrongAlgorithm {
                detail: "no algorithm in the protected header".into(),
            });
        }
    }
    if header.key_id.is_empty() {
        return Err(malformed("no key id (kid) in the protected header"));
    }
    if sign1.payload.is_none() {
        return Err(malformed("detached payload"));
    }
    Ok(TokenParts {
        kid: header.key_id.clone(),
        sign1,
    })
}

/// A tagged COSE_Sign1 as issuers must send it, or an untagged one, which is unambiguous
/// here and which some COSE libraries write by default.
fn decode_sign1(bytes: &[u8]) -> Result<CoseSign1, Refusal> {
    let refusal = |e: CoseError| match e {
        CoseError::DecodeFailed(coset::cbor::de::Error::Io(_)) => Refusal::Truncated,
        other => malformed(format!("not a COSE_Sign1: {other:?}")),
    };
    match bytes.first() {
        // Major type 6 (a tag).
        Some(b) if b >> 5 == 6 => CoseSign1::from_tagged_slice(bytes).map_err(refusal),
        _ => CoseSign1::from_slice(bytes).map_err(refusal),
    }
}

/// RFC 9285's alphabet, in value order: exactly the QR code's alphanumeric characters.
pub const BASE45_ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

fn is_base45(c: char) -> bool {
    BASE45_ALPHABET.contains(c)
}

/// Whether `body` (base45 characters only) ends in a pair encoding more than 255, which a
/// whole token never does.
fn final_pair_overflows(body: &str) -> bool {
    let value = |c: char| BASE45_ALPHABET.find(c).unwrap_or_default();
    let mut tail = body.chars().skip(body.len() / 3 * 3);
    match (tail.next(), tail.next()) {
        (Some(low), Some(high)) => value(low) + 45 * value(high) > 255,
        _ => false,
    }
}
