//! SIP2 (3M Standard Interchange Protocol 2.00): the sans-IO codec.
//!
//! Bytes in, typed [`Message`]s out, and back; no sockets. The tokio client and the demo ILS
//! build on these functions:
//!
//! - [`split_frame`] cuts complete messages off a receive buffer (CR, CRLF or LF).
//! - [`decode`] turns one frame into a [`Decoded`] message, verifying `AZ` when present; a wrong
//!   checksum is [`DecodeError::BadChecksum`], which the client answers with
//!   [`Message::RequestResend`] (97) rather than repeating a request.
//! - [`encode`] / [`encode_into`] write a message, with or without error detection
//!   (`AY<seq>AZ<checksum>`), in the site's [`Charset`]; [`Sequence`] numbers requests and
//!   wraps 9 -> 0.
//!
//! Decoding is lenient the way real ILSes need: fields in any order, empty or missing values,
//! unknown fields (kept in each message's `extra`), lower-case hex, Y/N or 1/0 flags. Encoding
//! is strict: a value containing `|`, CR or LF is refused with [`EncodeError`], since SIP2 has no
//! way to escape them.

mod charset;
pub mod client;
mod codec;
pub mod demo_ils;
mod error;
mod frame;
mod messages;
mod types;

#[cfg(test)]
mod tests;

pub use charset::{Charset, UnknownCharset};
pub use codec::{Decoded, Encoded, decode, encode, encode_into};
pub use error::{DecodeError, EncodeError};
pub use frame::{MAX_FRAME_LEN, Sequence, checksum, split_frame};
pub use messages::*;
pub use types::{
    CirculationStatus, FeeType, HoldMode, HoldType, Language, MediaType, PatronStatus, PaymentType,
    ScStatusCode, SecurityMarker, SipDateTime, Summary, SupportedMessages, YesNoUnknown, Zone,
};

/// Cents of an ILS amount ("12.50"); 0 when absent or unreadable.
pub fn amount_cents(amount: Option<&str>) -> i64 {
    amount
        .and_then(|a| a.trim().parse::<f64>().ok())
        .map_or(0, |v| (v * 100.0).round() as i64)
}

#[cfg(test)]
mod amount_tests {
    #[test]
    fn amounts_in_cents() {
        assert_eq!(super::amount_cents(Some("12.50")), 1250);
        assert_eq!(super::amount_cents(Some(" 3 ")), 300);
        assert_eq!(super::amount_cents(Some("many")), 0);
        assert_eq!(super::amount_cents(None), 0);
    }
}
