//! Request and response flag bits (ISO/IEC 15693-3).

/// Request: two subcarriers.
pub const SUB_CARRIER: u8 = 0x01;
/// Request: high data rate.
pub const DATA_RATE: u8 = 0x02;
/// Request: this is an inventory (bits 5..8 change meaning).
pub const INVENTORY: u8 = 0x04;
/// Request: protocol format extension.
pub const PROTOCOL_EXTENSION: u8 = 0x08;
/// Request without inventory: only the selected tag answers.
pub const SELECT: u8 = 0x10;
/// Request without inventory: a UID follows the command code.
pub const ADDRESS: u8 = 0x20;
/// Request: command-specific option (block security status, TI write EOF).
pub const OPTION: u8 = 0x40;
/// Inventory request: an AFI byte follows the command code.
pub const AFI: u8 = 0x10;
/// Inventory request: one slot (clear: 16 slots).
pub const ONE_SLOT: u8 = 0x20;

/// Response: an error code follows.
pub const RESPONSE_ERROR: u8 = 0x01;
/// Response: protocol format extension.
pub const RESPONSE_EXTENSION: u8 = 0x08;

/// Command codes.
pub mod command {
    pub const INVENTORY: u8 = 0x01;
    pub const STAY_QUIET: u8 = 0x02;
    pub const READ_SINGLE_BLOCK: u8 = 0x20;
    pub const WRITE_SINGLE_BLOCK: u8 = 0x21;
    pub const LOCK_BLOCK: u8 = 0x22;
    pub const READ_MULTIPLE_BLOCKS: u8 = 0x23;
    pub const WRITE_MULTIPLE_BLOCKS: u8 = 0x24;
    pub const SELECT: u8 = 0x25;
    pub const RESET_TO_READY: u8 = 0x26;
    pub const WRITE_AFI: u8 = 0x27;
    pub const LOCK_AFI: u8 = 0x28;
    pub const WRITE_DSFID: u8 = 0x29;
    pub const LOCK_DSFID: u8 = 0x2A;
    pub const GET_SYSTEM_INFO: u8 = 0x2B;
    pub const GET_MULTIPLE_BLOCK_SECURITY: u8 = 0x2C;
    /// NXP custom commands (manufacturer code 0x04 follows).
    pub const NXP_SET_EAS: u8 = 0xA2;
    pub const NXP_RESET_EAS: u8 = 0xA3;
    pub const NXP_LOCK_EAS: u8 = 0xA4;
    pub const NXP_EAS_ALARM: u8 = 0xA5;
}

/// System information flags (get system information response).
pub mod info {
    pub const DSFID: u8 = 0x01;
    pub const AFI: u8 = 0x02;
    pub const MEMORY_SIZE: u8 = 0x04;
    pub const IC_REFERENCE: u8 = 0x08;
}
