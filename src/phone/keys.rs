//! The text forms of the keys: the issuer's private key as PKCS#8 PEM (the file OpenSSL's
//! `genpkey -algorithm ed25519` writes), the kiosk's public keys as base64 of the 32 raw bytes
//! or as PEM SubjectPublicKeyInfo, and the key id both sides name them by.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{PUBLIC_KEY_LENGTH, SigningKey, VerifyingKey};

use super::CTI_LEN;

/// Longest key id: it names a file (`KID.key`) and travels in every token.
pub const MAX_KID_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PKCS#8 PEM Ed25519 private key ({0})")]
    PrivatePem(String),
    #[error("not a PEM Ed25519 public key ({0})")]
    PublicPem(String),
    #[error("neither base64 of the 32-byte key nor a PEM public key")]
    Base64,
    #[error("{len} bytes, an Ed25519 public key is {PUBLIC_KEY_LENGTH}")]
    Length { len: usize },
    #[error("not a valid Ed25519 public key (not a point of the curve)")]
    NotAPoint,
    #[error("a weak Ed25519 public key (of small order): anyone could sign for it")]
    Weak,
    #[error(
        "\"{0}\" is not a key id: 1 to {MAX_KID_LEN} letters, digits, '.', '_' or '-', not starting with '.'"
    )]
    Kid(String),
    #[error("no random numbers from the system: {0}")]
    Random(String),
}

/// A key id: short, and safe as a file name.
pub fn check_kid(kid: &str) -> Result<(), KeyError> {
    let ok = (1..=MAX_KID_LEN).contains(&kid.len())
        && !kid.starts_with('.')
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::Kid(kid.to_owned()))
    }
}

/// A new private key from the system's random numbers.
pub fn generate_signing_key() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; ed25519_dalek::SECRET_KEY_LENGTH];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

/// A fresh nonce for a token's `cti`.
pub fn random_cti() -> Result<[u8; CTI_LEN], KeyError> {
    let mut cti = [0u8; CTI_LEN];
    getrandom::fill(&mut cti).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(cti)
}

/// The private key as PKCS#8 PEM, byte for byte as OpenSSL writes an Ed25519 key: the
/// version 1 structure holding the seed only, base64 in lines of 64, LF line ends.
pub fn signing_key_pem(key: &SigningKey) -> Result<String, KeyError> {
    let bytes = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.as_str().to_owned())
        .map_err(|e| KeyError::PrivatePem(e.to_string()))
}

/// Reads a PKCS#8 PEM private key: OpenSSL's form, or the version 2 form that also holds the
/// public key (which must then match).
pub fn signing_key_from_pem(text: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| KeyError::PrivatePem(e.to_string()))
}

/// A public key from the settings: base64 of the 32 raw bytes (padding optional), or PEM
/// SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let text = text.trim();
    let key = if text.starts_with("-----BEGIN") {
        VerifyingKey::from_public_key_pem(text).map_err(|e| KeyError::PublicPem(e.to_string()))?
    } else {
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .map_err(|_| KeyError::Base64)?;
        let raw: [u8; PUBLIC_KEY_LENGTH] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Length { len: bytes.len() })?;
        VerifyingKey::from_bytes(&raw).map_err(|_| KeyError::NotAPoint)?
    };
    if key.is_weak() {
        return Err(KeyError::Weak);
    }
    Ok(key)
}

/// The public key as the settings take it: base64 of the 32 raw bytes.
pub fn public_key_text(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 section 7.1, test 1.
    const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn unhex(text: &str) -> Vec<u8> {
        crate::rfid::tag::parse_hex(text).expect("hex")
    }

    fn rfc_key() -> SigningKey {
        let seed: [u8; 32] = unhex(RFC8032_SEED).try_into().expect("32 bytes");
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn private_key_pem_is_openssls_form() {
        let pem = signing_key_pem(&rfc_key()).expect("pem");
        // OpenSSL's PKCS#8 v1 Ed25519 key: a fixed 16-byte prefix, then the 32-byte seed.
        let der = format!("302e020100300506032b657004220420{RFC8032_SEED}");
        let body = STANDARD.encode(unhex(&der));
        assert_eq!(
            pem,
            format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
        );
        let back = signing_key_from_pem(&pem).expect("read back");
        assert_eq!(back.to_bytes(), rfc_key().to_bytes());
    }

    #[test]
    fn public_key_in_both_forms() {
        let public = rfc_key().verifying_key();
        assert_eq!(public.as_bytes().as_slice(), unhex(RFC8032_PUBLIC));
        let text = public_key_text(&public);
        assert_eq!(text, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        assert_eq!(parse_public_key(&text), Ok(public));
        assert_eq!(parse_public_key(text.trim_end_matches('=')), Ok(public));
        // `openssl pkey -pubout` of the same key.
        let spki = format!("302a300506032b6570032100{RFC8032_PUBLIC}");
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(unhex(&spki))
        );
        assert_eq!(parse_public_key(&pem), Ok(public));
    }

    #[test]
    fn bad_public_keys_are_named() {
        assert_eq!(parse_public_key("not base64!"), Err(KeyError::Base64));
        assert_eq!(
            parse_public_key(&STANDARD.encode([1u8; 31])),
            Err(KeyError::Length { len: 31 })
        );
        // The identity point has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            parse_public_key(&STANDARD.encode(identity)),
            Err(KeyError::Weak)
        );
        assert!(matches!(
            parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            Err(KeyError::PublicPem(_))
        ));
        assert!(matches!(
            signing_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(KeyError::PrivatePem(_))
        ));
    }

    #[test]
    fn key_ids() {
        for good in ["k1", "lib-2026.03", "A_b", &"x".repeat(MAX_KID_LEN)] {
            assert_eq!(check_kid(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "k\u{e9}",
            &"x".repeat(MAX_KID_LEN + 1),
        ] {
            assert!(check_kid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_keys_and_nonces_differ() {
        let a = generate_signing_key().expect("key");
        let b = generate_signing_key().expect("key");
        assert_ne!(a.to_bytes(), b.to_bytes());
        assert_ne!(random_cti().expect("cti"), random_cti().expect("cti"));
    }
}
