//! PN5180 host-interface command codes, register addresses and bits (PN5180 data sheet,
//! section 11 "host interface" and the register map).

/// Host-interface instructions: the first byte of an SPI frame.
pub mod cmd {
    pub const WRITE_REGISTER: u8 = 0x00;
    pub const WRITE_REGISTER_OR_MASK: u8 = 0x01;
    pub const WRITE_REGISTER_AND_MASK: u8 = 0x02;
    pub const READ_REGISTER: u8 = 0x04;
    pub const READ_EEPROM: u8 = 0x07;
    pub const SEND_DATA: u8 = 0x09;
    pub const READ_DATA: u8 = 0x0A;
    pub const MIFARE_AUTHENTICATE: u8 = 0x0C;
    pub const LOAD_RF_CONFIG: u8 = 0x11;
    pub const RF_ON: u8 = 0x16;
    pub const RF_OFF: u8 = 0x17;
}

/// Register addresses (32-bit registers, little endian on the wire).
pub mod reg {
    pub const SYSTEM_CONFIG: u8 = 0x00;
    pub const IRQ_ENABLE: u8 = 0x01;
    pub const IRQ_STATUS: u8 = 0x02;
    pub const IRQ_CLEAR: u8 = 0x03;
    pub const TIMER1_RELOAD: u8 = 0x0C;
    pub const TIMER1_CONFIG: u8 = 0x0F;
    pub const CRC_RX_CONFIG: u8 = 0x12;
    pub const RX_STATUS: u8 = 0x13;
    pub const TX_CONFIG: u8 = 0x18;
    pub const CRC_TX_CONFIG: u8 = 0x19;
}

/// SYSTEM_CONFIG: COMMAND field (bits 0-2) and the MIFARE crypto bit.
pub const SYSTEM_CONFIG_COMMAND_MASK: u32 = 0x0000_0007;
pub const SYSTEM_COMMAND_TRANSCEIVE: u32 = 0x0000_0003;
pub const SYSTEM_CONFIG_MFC_CRYPTO_ON: u32 = 0x0000_0040;

/// IRQ_STATUS / IRQ_CLEAR / IRQ_ENABLE bits.
pub const IRQ_RX: u32 = 1 << 0;
pub const IRQ_IDLE: u32 = 1 << 2;
pub const IRQ_TX_RFON: u32 = 1 << 9;
pub const IRQ_TIMER1: u32 = 1 << 12;
pub const IRQ_GENERAL_ERROR: u32 = 1 << 17;
/// Every defined IRQ bit (0-19).
pub const IRQ_ALL: u32 = 0x000F_FFFF;

/// TIMER1_CONFIG: the receive timeout starts when transmission ends and stops when a reply
/// begins, so TIMER1_IRQ alone means "nobody answered".
pub const T1_ENABLE: u32 = 1 << 0;
pub const T1_START_ON_TX_ENDED: u32 = 1 << 11;
pub const T1_STOP_ON_RX_STARTED: u32 = 1 << 20;
pub const TIMER1_RX_TIMEOUT: u32 = T1_ENABLE | T1_START_ON_TX_ENDED | T1_STOP_ON_RX_STARTED;
/// TIMER1_RELOAD holds 20 bits; without prescaler the timer counts at 13.56 MHz.
pub const TIMER1_RELOAD_MAX: u32 = 0x000F_FFFF;
pub const TIMER1_HZ: u64 = 13_560_000;

/// RX_STATUS fields.
pub const RX_NUM_BYTES_MASK: u32 = 0x0000_01FF;
pub const RX_DATA_INTEGRITY_ERROR: u32 = 1 << 16;
pub const RX_PROTOCOL_ERROR: u32 = 1 << 17;
pub const RX_COLLISION_DETECTED: u32 = 1 << 18;
pub const RX_COLL_POS_MASK: u32 = 0x03F8_0000;

/// TX_CONFIG: start symbol (bits 6-7) and data enable (bit 10). Clearing both sends a frame
/// made of the stop symbol alone, which for ISO 15693 is the EOF that opens the next slot.
pub const TX_START_SYMBOL_MASK: u32 = 0x0000_00C0;
pub const TX_DATA_ENABLE: u32 = 0x0000_0400;

/// CRC_TX_CONFIG / CRC_RX_CONFIG: CRC enable (bit 0).
pub const CRC_ENABLE: u32 = 0x0000_0001;

/// LOAD_RF_CONFIG arguments (transmitter, receiver).
pub const RF_CONFIG_ISO15693: (u8, u8) = (0x0D, 0x8D);
pub const RF_CONFIG_ISO14443A_106: (u8, u8) = (0x00, 0x80);

/// MIFARE_AUTHENTICATE key type: key A (0x61 would be key B).
pub const MIFARE_KEY_A: u8 = 0x60;

/// EEPROM: product version at 0x10, firmware version at 0x12, EEPROM version at 0x14; each
/// two bytes, minor first.
pub const EEPROM_VERSIONS: u8 = 0x10;

/// SEND_DATA accepts at most 260 bytes of payload; the reception buffer holds 508 bytes.
pub const MAX_TX: usize = 260;
pub const MAX_RX: usize = 508;
