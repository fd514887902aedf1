//! Phone tokens: the signed, short-lived QR code the library's app shows, so that a patron
//! borrows with the phone instead of a card, even while the ILS cannot be reached.
//!
//! A token is `SC1:` + base45(COSE_Sign1 over CWT claims), signed with Ed25519; the format is
//! specified in `docs/phone-token.md` so that an app backend in any language can issue them.
//! Everything here is sans-IO: text and keys in, a decision out. The one step that needs the
//! store, remembering each token's nonce so that a code is used once, is [`admit`].
//!
//! - [`issue`]: the issuer side (`selfcheck token issue`, tests, the spec's vectors).
//! - [`verify`]: what a kiosk decides about a scanned text, as [`Verified`] or a [`Refusal`].
//! - [`settings`]: the `[phone]` settings and the [`Policy`] made from them.
//! - [`PhoneGate`]: the kiosk's check of a scanned code, with the reason for the screen.
//! - [`demo`]: the demo's key and the codes its phones show.

pub mod demo;
mod gate;
mod keys;
mod refusal;
mod replay;
pub mod settings;
mod token;
mod verify;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

pub use gate::{PhoneGate, reason};
pub use keys::{
    KeyError, MAX_KID_LEN, check_kid, generate_signing_key, parse_public_key, public_key_text,
    random_cti, signing_key_from_pem, signing_key_pem,
};
pub use refusal::Refusal;
pub use replay::admit;
pub use settings::{PhoneKey, PhoneSettings};
pub use token::{BASE45_ALPHABET, Claims, IssueError, TokenParts, decode, issue};
pub use verify::{Policy, Verified, verify};

/// What every token starts with; `HC1:` in the EU certificates, which also compress.
pub const PREFIX: &str = "SC1:";

/// The most characters a token may have: what a QR code of version 10 holds in alphanumeric
/// mode at error correction level M. Longer text is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 311;

/// Bytes of the random nonce (`cti`) the issuer puts in each token.
pub const CTI_LEN: usize = 16;

/// The shortest and longest `cti` a kiosk accepts: enough to be unique, bounded for the store.
pub const CTI_LEN_RANGE: std::ops::RangeInclusive<usize> = 8..=32;

/// Whether a scanned text looks like a phone token (its prefix, in either case), before any
/// decoding: what the scan layer uses to tell a token from a barcode.
pub fn looks_like_token(text: &str) -> bool {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}
