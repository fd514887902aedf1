//! Errors at the SIP2 codec boundary.

use thiserror::Error;

/// Why a frame could not be turned into a [`super::Message`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("empty SIP2 frame")]
    Empty,
    #[error("message id {0:?} is not a SIP2 2.00 message")]
    UnknownMessage(String),
    #[error(
        "message {id} ends inside its fixed fields: needs {needed} characters after the id, has {got}"
    )]
    Truncated {
        id: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("message {id}: fixed field `{field}` has an invalid value {value:?}")]
    InvalidFixedField {
        id: &'static str,
        field: &'static str,
        value: String,
    },
    /// The frame carries `AZ` but its checksum does not add up; answer it with a resend request
    /// (96 from the ILS side, 97 from the kiosk side).
    #[error("checksum mismatch: frame says {received:04X}, its bytes give {computed:04X}")]
    BadChecksum { received: u16, computed: u16 },
}

/// Why a message could not be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// SIP2 has no escape mechanism: a `|` would end the field early and CR/LF would end the
    /// message, so such values are refused rather than silently altered.
    #[error("field {field} contains '|', CR or LF, which SIP2 cannot carry")]
    ForbiddenCharacter { field: String },
    #[error("fixed field `{field}` must be exactly {width} characters, got {value:?}")]
    BadFixedWidth {
        field: &'static str,
        width: usize,
        value: String,
    },
    #[error("field id {0:?} must be one or two characters without '|', CR or LF")]
    BadFieldId(String),
    #[error("`{field}` = {value} does not fit in {width} digits")]
    NumberTooWide {
        field: &'static str,
        value: u32,
        width: usize,
    },
}
