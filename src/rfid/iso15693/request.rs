//! Request frames (without SOF, CRC and EOF), built and parsed.
//!
//! Every request is sent at high data rate with one subcarrier, the usual setting of library
//! readers. Parsing exists for the simulated pad, which answers frames the way real tags do.

use crate::rfid::iso15693::flags::{self, command};
use crate::rfid::iso15693::{FrameError, NXP};
use crate::rfid::tag::Uid;

/// Which tags a non-inventory request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address {
    /// Every tag in the field that is not quiet (only sensible with one tag present).
    Any,
    /// The tag with this UID, whatever its state.
    Uid(Uid),
    /// The tag in the selected state.
    Selected,
}

/// An inventory mask: the `len` least significant bits of the UID (0..=64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mask {
    pub len: u8,
    pub value: u64,
}

impl Mask {
    pub const NONE: Mask = Mask { len: 0, value: 0 };

    /// A mask of `len` bits taken from `value` (higher bits dropped, `len` capped at 64).
    pub fn new(len: u8, value: u64) -> Self {
        let len = len.min(64);
        Mask {
            len,
            value: value & Self::low_bits(len),
        }
    }

    fn low_bits(len: u8) -> u64 {
        if len >= 64 {
            u64::MAX
        } else {
            (1u64 << len) - 1
        }
    }

    /// Whether a UID starts (least significant bits first) with this mask.
    pub fn matches(&self, uid: &Uid) -> bool {
        u64::from_le_bytes(*uid) & Self::low_bits(self.len) == self.value
    }

    /// The 16-slot number a UID answers in under this mask: its next four bits.
    pub fn slot_of(&self, uid: &Uid) -> u8 {
        if self.len >= 64 {
            return 0;
        }
        ((u64::from_le_bytes(*uid) >> self.len) & 0x0F) as u8
    }

    /// The longer mask that picks out `slot` of a 16-slot round under this mask.
    pub fn extend(&self, slot: u8) -> Mask {
        if self.len >= 64 {
            return *self;
        }
        let added = u64::from(slot & 0x0F) << self.len;
        Mask::new(self.len.saturating_add(4), self.value | added)
    }

    fn byte_len(&self) -> usize {
        usize::from(self.len).div_ceil(8)
    }
}

/// One ISO 15693 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Inventory {
        one_slot: bool,
        afi: Option<u8>,
        mask: Mask,
    },
    StayQuiet {
        uid: Uid,
    },
    Select {
        uid: Uid,
    },
    ResetToReady {
        address: Address,
    },
    ReadSingleBlock {
        address: Address,
        block: u8,
        security: bool,
    },
    /// `count` blocks from `first` (1..=256; sent as count - 1).
    ReadMultipleBlocks {
        address: Address,
        first: u8,
        count: u16,
        security: bool,
    },
    /// `data` is one block; `option` is the TI Tag-it write option.
    WriteSingleBlock {
        address: Address,
        block: u8,
        data: Vec<u8>,
        option: bool,
    },
    /// `data` holds `count` blocks of `data.len() / count` bytes.
    WriteMultipleBlocks {
        address: Address,
        first: u8,
        count: u16,
        data: Vec<u8>,
        option: bool,
    },
    LockBlock {
        address: Address,
        block: u8,
        option: bool,
    },
    WriteAfi {
        address: Address,
        afi: u8,
        option: bool,
    },
    LockAfi {
        address: Address,
        option: bool,
    },
    WriteDsfid {
        address: Address,
        dsfid: u8,
        option: bool,
    },
    LockDsfid {
        address: Address,
        option: bool,
    },
    GetSystemInfo {
        address: Address,
    },
    GetMultipleBlockSecurity {
        address: Address,
        first: u8,
        count: u16,
    },
    NxpSetEas {
        address: Address,
    },
    NxpResetEas {
        address: Address,
    },
    NxpLockEas {
        address: Address,
    },
    NxpEasAlarm {
        address: Address,
    },
}

fn address_flags(address: &Address) -> u8 {
    match address {
        Address::Any => 0,
        Address::Uid(_) => flags::ADDRESS,
        Address::Selected => flags::SELECT,
    }
}

fn count_byte(count: u16) -> u8 {
    u8::try_from(count.clamp(1, 256) - 1).unwrap_or(u8::MAX)
}

impl Request {
    /// The request's command code.
    pub fn command(&self) -> u8 {
        match self {
            Request::Inventory { .. } => command::INVENTORY,
            Request::StayQuiet { .. } => command::STAY_QUIET,
            Request::Select { .. } => command::SELECT,
            Request::ResetToReady { .. } => command::RESET_TO_READY,
            Request::ReadSingleBlock { .. } => command::READ_SINGLE_BLOCK,
            Request::ReadMultipleBlocks { .. } => command::READ_MULTIPLE_BLOCKS,
            Request::WriteSingleBlock { .. } => command::WRITE_SINGLE_BLOCK,
            Request::WriteMultipleBlocks { .. } => command::WRITE_MULTIPLE_BLOCKS,
            Request::LockBlock { .. } => command::LOCK_BLOCK,
            Request::WriteAfi { .. } => command::WRITE_AFI,
            Request::LockAfi { .. } => command::LOCK_AFI,
            Request::WriteDsfid { .. } => command::WRITE_DSFID,
            Request::LockDsfid { .. } => command::LOCK_DSFID,
            Request::GetSystemInfo { .. } => command::GET_SYSTEM_INFO,
            Request::GetMultipleBlockSecurity { .. } => command::GET_MULTIPLE_BLOCK_SECURITY,
            Request::NxpSetEas { .. } => command::NXP_SET_EAS,
            Request::NxpResetEas { .. } => command::NXP_RESET_EAS,
            Request::NxpLockEas { .. } => command::NXP_LOCK_EAS,
            Request::NxpEasAlarm { .. } => command::NXP_EAS_ALARM,
        }
    }

    /// The frame without CRC: flags, command, [manufacturer], [UID], parameters.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        if let Request::Inventory {
            one_slot,
            afi,
            mask,
        } = self
        {
            let mut f = flags::DATA_RATE | flags::INVENTORY;
            if *one_slot {
                f |= flags::ONE_SLOT;
            }
            if afi.is_some() {
                f |= flags::AFI;
            }
            out.push(f);
            out.push(command::INVENTORY);
            if let Some(afi) = afi {
                out.push(*afi);
            }
            out.push(mask.len);
            out.extend_from_slice(
                mask.value
                    .to_le_bytes()
                    .get(..mask.byte_len())
                    .unwrap_or(&[]),
            );
            return out;
        }
        let (address, option) = match self {
            Request::StayQuiet { uid } | Request::Select { uid } => (Address::Uid(*uid), false),
            Request::ReadSingleBlock {
                address, security, ..
            }
            | Request::ReadMultipleBlocks {
                address, security, ..
            } => (*address, *security),
            Request::WriteSingleBlock {
                address, option, ..
            }
            | Request::WriteMultipleBlocks {
                address, option, ..
            }
            | Request::LockBlock {
                address, option, ..
            }
            | Request::WriteAfi {
                address, option, ..
            }
            | Request::LockAfi { address, option }
            | Request::WriteDsfid {
                address, option, ..
            }
            | Request::LockDsfid { address, option } => (*address, *option),
            Request::ResetToReady { address }
            | Request::GetSystemInfo { address }
            | Request::GetMultipleBlockSecurity { address, .. }
            | Request::NxpSetEas { address }
            | Request::NxpResetEas { address }
            | Request::NxpLockEas { address }
            | Request::NxpEasAlarm { address } => (*address, false),
            Request::Inventory { .. } => (Address::Any, false),
        };
        let mut f = flags::DATA_RATE | address_flags(&address);
        if option {
            f |= flags::OPTION;
        }
        out.push(f);
        out.push(self.command());
        if self.command() >= 0xA0 {
            out.push(NXP);
        }
        if let Address::Uid(uid) = address {
            out.extend_from_slice(&uid);
        }
        match self {
            Request::ReadSingleBlock { block, .. } | Request::LockBlock { block, .. } => {
                out.push(*block)
            }
            Request::ReadMultipleBlocks { first, count, .. }
            | Request::GetMultipleBlockSecurity { first, count, .. } => {
                out.push(*first);
                out.push(count_byte(*count));
            }
            Request::WriteSingleBlock { block, data, .. } => {
                out.push(*block);
                out.extend_from_slice(data);
            }
            Request::WriteMultipleBlocks {
                first, count, data, ..
            } => {
                out.push(*first);
                out.push(count_byte(*count));
                out.extend_from_slice(data);
            }
            Request::WriteAfi { afi, .. } => out.push(*afi),
            Request::WriteDsfid { dsfid, .. } => out.push(*dsfid),
            _ => {}
        }
        out
    }

    /// Parse a request frame (CRC already removed). `block_size` is needed to split the data
    /// of a write-multiple-blocks request; a tag knows its own.
    pub fn decode(frame: &[u8], block_size: usize) -> Result<Request, FrameError> {
        let too_short = |min| FrameError::TooShort {
            len: frame.len(),
            min,
        };
        let (&f, rest) = frame.split_first().ok_or(too_short(2))?;
        let (&cmd, mut rest) = rest.split_first().ok_or(too_short(2))?;
        if f & flags::PROTOCOL_EXTENSION != 0 {
            return Err(FrameError::BadFlags(f));
        }
        if f & flags::INVENTORY != 0 {
            if cmd != command::INVENTORY {
                return Err(FrameError::UnknownCommand(cmd));
            }
            let afi = if f & flags::AFI != 0 {
                let (&afi, r) = rest.split_first().ok_or(too_short(3))?;
                rest = r;
                Some(afi)
            } else {
                None
            };
            let (&len, r) = rest.split_first().ok_or(too_short(3))?;
            if len > 64 {
                return Err(FrameError::Invalid("mask length over 64 bits"));
            }
            let n = usize::from(len).div_ceil(8);
            if r.len() != n {
                return Err(FrameError::BadLength {
                    len: frame.len(),
                    what: "inventory mask",
                });
            }
            let mut value = [0u8; 8];
            value
                .get_mut(..n)
                .ok_or(FrameError::Invalid("mask"))?
                .copy_from_slice(r);
            let mask = Mask::new(len, u64::from_le_bytes(value));
            if mask.value != u64::from_le_bytes(value) {
                return Err(FrameError::Invalid("mask bits beyond the mask length"));
            }
            return Ok(Request::Inventory {
                one_slot: f & flags::ONE_SLOT != 0,
                afi,
                mask,
            });
        }
        if cmd >= 0xA0 {
            let (&mfg, r) = rest.split_first().ok_or(too_short(3))?;
            if mfg != NXP {
                return Err(FrameError::UnknownCommand(cmd));
            }
            rest = r;
        }
        if f & flags::ADDRESS != 0 && f & flags::SELECT != 0 {
            return Err(FrameError::BadFlags(f));
        }
        let address = if f & flags::ADDRESS != 0 {
            let uid_bytes = rest.get(..8).ok_or(too_short(10))?;
            let mut uid = [0u8; 8];
            uid.copy_from_slice(uid_bytes);
            rest = rest.get(8..).unwrap_or(&[]);
            Address::Uid(uid)
        } else if f & flags::SELECT != 0 {
            Address::Selected
        } else {
            Address::Any
        };
        let option = f & flags::OPTION != 0;
        let exact = |n: usize, what| {
            if rest.len() == n {
                Ok(())
            } else {
                Err(FrameError::BadLength {
                    len: frame.len(),
                    what,
                })
            }
        };
        let byte = |i: usize| rest.get(i).copied().unwrap_or(0);
        let need_uid = |address: Address| match address {
            Address::Uid(uid) => Ok(uid),
            _ => Err(FrameError::Invalid("command needs an address")),
        };
        Ok(match cmd {
            command::STAY_QUIET => {
                exact(0, "stay quiet")?;
                Request::StayQuiet {
                    uid: need_uid(address)?,
                }
            }
            command::SELECT => {
                exact(0, "select")?;
                Request::Select {
                    uid: need_uid(address)?,
                }
            }
            command::RESET_TO_READY => {
                exact(0, "reset to ready")?;
                Request::ResetToReady { address }
            }
            command::READ_SINGLE_BLOCK => {
                exact(1, "read single block")?;
                Request::ReadSingleBlock {
                    address,
                    block: byte(0),
                    security: option,
                }
            }
            command::READ_MULTIPLE_BLOCKS => {
                exact(2, "read multiple blocks")?;
                let count = u16::from(byte(1)) + 1;
                Request::ReadMultipleBlocks {
                    address,
                    first: byte(0),
                    count,
                    security: option,
                }
            }
            command::WRITE_SINGLE_BLOCK => {
                if block_size == 0 {
                    return Err(FrameError::Invalid("block size unknown"));
                }
                exact(1 + block_size, "write single block")?;
                let data = rest.get(1..).unwrap_or(&[]).to_vec();
                Request::WriteSingleBlock {
                    address,
                    block: byte(0),
                    data,
                    option,
                }
            }
            command::WRITE_MULTIPLE_BLOCKS => {
                let count = u16::from(byte(1)) + 1;
                exact(2 + usize::from(count) * block_size, "write multiple blocks")?;
                if block_size == 0 {
                    return Err(FrameError::Invalid("block size unknown"));
                }
                let data = rest.get(2..).unwrap_or(&[]).to_vec();
                Request::WriteMultipleBlocks {
                    address,
                    first: byte(0),
                    count,
                    data,
                    option,
                }
            }
            command::LOCK_BLOCK => {
                exact(1, "lock block")?;
                Request::LockBlock {
                    address,
                    block: byte(0),
                    option,
                }
            }
            command::WRITE_AFI => {
                exact(1, "write AFI")?;
                Request::WriteAfi {
                    address,
                    afi: byte(0),
                    option,
                }
            }
            command::LOCK_AFI => {
                exact(0, "lock AFI")?;
                Request::LockAfi { address, option }
            }
            command::WRITE_DSFID => {
                exact(1, "write DSFID")?;
                Request::WriteDsfid {
                    address,
                    dsfid: byte(0),
                    option,
                }
            }
            command::LOCK_DSFID => {
                exact(0, "lock DSFID")?;
                Request::LockDsfid { address, option }
            }
            command::GET_SYSTEM_INFO => {
                exact(0, "get system information")?;
                Request::GetSystemInfo { address }
            }
            command::GET_MULTIPLE_BLOCK_SECURITY => {
                exact(2, "get multiple block security status")?;
                let count = u16::from(byte(1)) + 1;
                Request::GetMultipleBlockSecurity {
                    address,
                    first: byte(0),
                    count,
                }
            }
            command::NXP_SET_EAS => Request::NxpSetEas { address },
            command::NXP_RESET_EAS => Request::NxpResetEas { address },
            command::NXP_LOCK_EAS => Request::NxpLockEas { address },
            command::NXP_EAS_ALARM => Request::NxpEasAlarm { address },
            other => return Err(FrameError::UnknownCommand(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::iso15693::append_crc;

    const UID: Uid = [0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0];

    fn with_crc(request: &Request) -> Vec<u8> {
        let mut frame = request.encode();
        append_crc(&mut frame);
        frame
    }

    #[test]
    fn inventory_frames_from_the_notes() {
        let one = Request::Inventory {
            one_slot: true,
            afi: None,
            mask: Mask::NONE,
        };
        assert_eq!(with_crc(&one), [0x26, 0x01, 0x00, 0xF6, 0x0A]);
        let sixteen = Request::Inventory {
            one_slot: false,
            afi: None,
            mask: Mask::NONE,
        };
        assert_eq!(with_crc(&sixteen), [0x06, 0x01, 0x00, 0xCD, 0x09]);
        let afi = Request::Inventory {
            one_slot: false,
            afi: Some(0xC2),
            mask: Mask::NONE,
        };
        assert_eq!(with_crc(&afi), [0x16, 0x01, 0xC2, 0x00, 0x23, 0xD7]);
    }

    #[test]
    fn inventory_mask_is_sent_lsb_first_in_whole_bytes() {
        let req = Request::Inventory {
            one_slot: false,
            afi: None,
            mask: Mask::new(12, 0xABC),
        };
        assert_eq!(req.encode(), [0x06, 0x01, 12, 0xBC, 0x0A]);
        assert_eq!(Request::decode(&req.encode(), 4), Ok(req));
    }

    #[test]
    fn addressed_commands() {
        let read = Request::ReadMultipleBlocks {
            address: Address::Uid(UID),
            first: 0,
            count: 8,
            security: false,
        };
        assert_eq!(
            read.encode(),
            [
                0x22, 0x23, 0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0, 0x00, 0x07
            ]
        );
        let eas = Request::NxpSetEas {
            address: Address::Uid(UID),
        };
        assert_eq!(eas.encode()[..3], [0x22, 0xA2, 0x04]);
        let afi = Request::WriteAfi {
            address: Address::Selected,
            afi: 0x07,
            option: false,
        };
        assert_eq!(afi.encode(), [0x12, 0x27, 0x07]);
        let quiet = Request::StayQuiet { uid: UID };
        assert_eq!(quiet.encode()[..2], [0x22, 0x02]);
        let sec = Request::ReadSingleBlock {
            address: Address::Any,
            block: 3,
            security: true,
        };
        assert_eq!(sec.encode(), [0x42, 0x20, 0x03]);
    }

    #[test]
    fn every_request_round_trips() {
        let a = Address::Uid(UID);
        let all = [
            Request::Inventory {
                one_slot: true,
                afi: Some(7),
                mask: Mask::new(64, u64::MAX),
            },
            Request::StayQuiet { uid: UID },
            Request::Select { uid: UID },
            Request::ResetToReady {
                address: Address::Any,
            },
            Request::ReadSingleBlock {
                address: a,
                block: 1,
                security: true,
            },
            Request::ReadMultipleBlocks {
                address: a,
                first: 2,
                count: 256,
                security: true,
            },
            Request::WriteSingleBlock {
                address: a,
                block: 1,
                data: vec![1, 2, 3, 4],
                option: true,
            },
            Request::WriteMultipleBlocks {
                address: Address::Selected,
                first: 1,
                count: 2,
                data: vec![1, 2, 3, 4, 5, 6, 7, 8],
                option: false,
            },
            Request::LockBlock {
                address: a,
                block: 9,
                option: false,
            },
            Request::WriteAfi {
                address: a,
                afi: 0xC2,
                option: false,
            },
            Request::LockAfi {
                address: a,
                option: false,
            },
            Request::WriteDsfid {
                address: a,
                dsfid: 6,
                option: false,
            },
            Request::LockDsfid {
                address: a,
                option: false,
            },
            Request::GetSystemInfo { address: a },
            Request::GetMultipleBlockSecurity {
                address: a,
                first: 0,
                count: 28,
            },
            Request::NxpSetEas { address: a },
            Request::NxpResetEas { address: a },
            Request::NxpLockEas { address: a },
            Request::NxpEasAlarm { address: a },
        ];
        for req in all {
            assert_eq!(
                Request::decode(&req.encode(), 4),
                Ok(req.clone()),
                "{req:?}"
            );
        }
    }

    #[test]
    fn mask_slots() {
        let mask = Mask::NONE;
        assert_eq!(mask.slot_of(&UID), 0x8);
        let next = mask.extend(8);
        assert!(next.matches(&UID));
        assert_eq!(next.slot_of(&UID), 0x7);
        assert!(!Mask::new(4, 0x7).matches(&UID));
        assert!(Mask::new(64, u64::from_le_bytes(UID)).matches(&UID));
    }
}
