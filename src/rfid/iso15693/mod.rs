//! ISO 15693 frames: flags, CRC, requests and responses (sans-IO), and the anti-collision
//! inventory over a [`Transceiver`](crate::rfid::transceiver::Transceiver).

mod crc16;
mod error;
pub mod flags;
pub mod inventory;
mod request;
mod response;

pub use crc16::{append_crc, check_crc, crc16};
pub use error::{FrameError, TagErrorCode};
pub use inventory::{InventoryError, InventoryOptions, InventoryStats, inventory};
pub use request::{Address, Mask, Request};
pub use response::{
    Block, InventoryReply, SystemInfo, parse_blocks, parse_inventory, parse_security_status,
    parse_status, parse_system_info, response_error, response_ok,
};

/// NXP's IC manufacturer code (ISO/IEC 7816-6), sent after NXP custom command codes.
pub const NXP: u8 = 0x04;
