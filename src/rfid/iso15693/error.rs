use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// An ISO 15693 error code, sent by a tag after a response flags byte with bit 0 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TagErrorCode {
    /// 0x01
    NotSupported,
    /// 0x02
    NotRecognised,
    /// 0x03
    OptionNotSupported,
    /// 0x0F
    Unknown,
    /// 0x10
    BlockNotAvailable,
    /// 0x11
    BlockAlreadyLocked,
    /// 0x12
    BlockLocked,
    /// 0x13
    NotProgrammed,
    /// 0x14
    NotLocked,
    /// 0xA0..=0xDF
    Custom(u8),
    /// Any other value (reserved for future use).
    Reserved(u8),
}

impl TagErrorCode {
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => TagErrorCode::NotSupported,
            0x02 => TagErrorCode::NotRecognised,
            0x03 => TagErrorCode::OptionNotSupported,
            0x0F => TagErrorCode::Unknown,
            0x10 => TagErrorCode::BlockNotAvailable,
            0x11 => TagErrorCode::BlockAlreadyLocked,
            0x12 => TagErrorCode::BlockLocked,
            0x13 => TagErrorCode::NotProgrammed,
            0x14 => TagErrorCode::NotLocked,
            c @ 0xA0..=0xDF => TagErrorCode::Custom(c),
            c => TagErrorCode::Reserved(c),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            TagErrorCode::NotSupported => 0x01,
            TagErrorCode::NotRecognised => 0x02,
            TagErrorCode::OptionNotSupported => 0x03,
            TagErrorCode::Unknown => 0x0F,
            TagErrorCode::BlockNotAvailable => 0x10,
            TagErrorCode::BlockAlreadyLocked => 0x11,
            TagErrorCode::BlockLocked => 0x12,
            TagErrorCode::NotProgrammed => 0x13,
            TagErrorCode::NotLocked => 0x14,
            TagErrorCode::Custom(c) | TagErrorCode::Reserved(c) => c,
        }
    }
}

impl fmt::Display for TagErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meaning = match self {
            TagErrorCode::NotSupported => "command not supported",
            TagErrorCode::NotRecognised => "command not recognised (format error)",
            TagErrorCode::OptionNotSupported => "option not supported",
            TagErrorCode::Unknown => "unknown error",
            TagErrorCode::BlockNotAvailable => "block not available",
            TagErrorCode::BlockAlreadyLocked => "block already locked",
            TagErrorCode::BlockLocked => "block locked, content cannot change",
            TagErrorCode::NotProgrammed => "block not successfully programmed",
            TagErrorCode::NotLocked => "block not successfully locked",
            TagErrorCode::Custom(_) => "custom (manufacturer) error",
            TagErrorCode::Reserved(_) => "reserved error code",
        };
        write!(f, "{meaning} (0x{:02X})", self.code())
    }
}

/// Why a frame (request or response) could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("the tag answered with an error: {0}")]
    Tag(TagErrorCode),
    #[error("frame too short: {len} bytes, at least {min} expected")]
    TooShort { len: usize, min: usize },
    #[error("frame length {len} does not fit {what}")]
    BadLength { len: usize, what: &'static str },
    #[error("unexpected flags 0x{0:02X}")]
    BadFlags(u8),
    #[error("unknown command 0x{0:02X}")]
    UnknownCommand(u8),
    #[error("invalid field: {0}")]
    Invalid(&'static str),
}
