//! Response frames (CRC already removed): parsers, and builders for the simulated pad.

use serde::Serialize;

use crate::rfid::iso15693::flags::{self, info};
use crate::rfid::iso15693::{FrameError, TagErrorCode};
use crate::rfid::tag::Uid;

/// A tag's answer in an inventory slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryReply {
    pub dsfid: u8,
    pub uid: Uid,
}

/// What a tag says about itself (get system information). Each field is present only when the
/// tag's information flags say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SystemInfo {
    #[serde(skip)]
    pub uid: Uid,
    pub dsfid: Option<u8>,
    pub afi: Option<u8>,
    /// Bytes per block (1..=32).
    pub block_size: Option<u8>,
    /// Number of blocks (1..=256).
    pub block_count: Option<u16>,
    pub ic_reference: Option<u8>,
}

impl SystemInfo {
    /// User memory in bytes, when the tag reports its memory size.
    pub fn capacity(&self) -> Option<usize> {
        Some(usize::from(self.block_size?) * usize::from(self.block_count?))
    }

    /// The response frame a tag would send.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0x00, 0x00];
        out.extend_from_slice(&self.uid);
        let mut info_flags = 0;
        if let Some(dsfid) = self.dsfid {
            info_flags |= info::DSFID;
            out.push(dsfid);
        }
        if let Some(afi) = self.afi {
            info_flags |= info::AFI;
            out.push(afi);
        }
        if let (Some(size), Some(count)) = (self.block_size, self.block_count) {
            info_flags |= info::MEMORY_SIZE;
            out.push(u8::try_from(count.clamp(1, 256) - 1).unwrap_or(u8::MAX));
            out.push(size.clamp(1, 32) - 1);
        }
        if let Some(ic) = self.ic_reference {
            info_flags |= info::IC_REFERENCE;
            out.push(ic);
        }
        if let Some(f) = out.get_mut(1) {
            *f = info_flags;
        }
        out
    }
}

/// One block read back, with its security status byte when it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Bit 0 set: the block is locked.
    pub security: Option<u8>,
    pub data: Vec<u8>,
}

/// Split off the flags byte; an error response becomes `FrameError::Tag`.
fn body(frame: &[u8]) -> Result<&[u8], FrameError> {
    let (&f, rest) = frame
        .split_first()
        .ok_or(FrameError::TooShort { len: 0, min: 1 })?;
    if f & flags::RESPONSE_ERROR != 0 {
        let code = rest.first().copied().ok_or(FrameError::TooShort {
            len: frame.len(),
            min: 2,
        })?;
        return Err(FrameError::Tag(TagErrorCode::from_code(code)));
    }
    if f & flags::RESPONSE_EXTENSION != 0 {
        return Err(FrameError::BadFlags(f));
    }
    Ok(rest)
}

/// A success response with `payload`.
pub fn response_ok(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(0x00);
    out.extend_from_slice(payload);
    out
}

/// An error response.
pub fn response_error(code: TagErrorCode) -> Vec<u8> {
    vec![flags::RESPONSE_ERROR, code.code()]
}

/// The answer to an inventory: flags, DSFID, UID.
pub fn parse_inventory(frame: &[u8]) -> Result<InventoryReply, FrameError> {
    let rest = body(frame)?;
    if rest.len() != 9 {
        return Err(FrameError::BadLength {
            len: frame.len(),
            what: "inventory response",
        });
    }
    let (&dsfid, uid_bytes) = rest.split_first().ok_or(FrameError::Invalid("inventory"))?;
    let mut uid = [0u8; 8];
    uid.copy_from_slice(uid_bytes);
    Ok(InventoryReply { dsfid, uid })
}

/// The answer to a command that returns only a status (writes, locks, select, quiet, EAS).
pub fn parse_status(frame: &[u8]) -> Result<(), FrameError> {
    let rest = body(frame)?;
    if !rest.is_empty() {
        return Err(FrameError::BadLength {
            len: frame.len(),
            what: "status response",
        });
    }
    Ok(())
}

/// The answer to read single/multiple blocks: `count` blocks, each preceded by its security
/// status byte when the option flag was set. The block size follows from the frame length.
pub fn parse_blocks(
    frame: &[u8],
    count: usize,
    with_security: bool,
) -> Result<Vec<Block>, FrameError> {
    let rest = body(frame)?;
    if count == 0 || rest.is_empty() || rest.len() % count != 0 {
        return Err(FrameError::BadLength {
            len: frame.len(),
            what: "block data",
        });
    }
    let stride = rest.len() / count;
    let skip = usize::from(with_security);
    if stride <= skip || stride - skip > 32 {
        return Err(FrameError::BadLength {
            len: frame.len(),
            what: "block data",
        });
    }
    Ok(rest
        .chunks(stride)
        .map(|chunk| Block {
            security: with_security.then(|| chunk.first().copied().unwrap_or(0)),
            data: chunk.get(skip..).unwrap_or(&[]).to_vec(),
        })
        .collect())
}

/// The answer to get system information.
pub fn parse_system_info(frame: &[u8]) -> Result<SystemInfo, FrameError> {
    let rest = body(frame)?;
    let too_short = || FrameError::TooShort {
        len: frame.len(),
        min: 10,
    };
    let (&info_flags, rest) = rest.split_first().ok_or_else(too_short)?;
    let uid_bytes = rest.get(..8).ok_or_else(too_short)?;
    let mut uid = [0u8; 8];
    uid.copy_from_slice(uid_bytes);
    let mut fields = rest.get(8..).unwrap_or(&[]).iter().copied();
    let mut next = |what| {
        fields.next().ok_or(FrameError::BadLength {
            len: frame.len(),
            what,
        })
    };
    let mut sys = SystemInfo {
        uid,
        ..SystemInfo::default()
    };
    if info_flags & info::DSFID != 0 {
        sys.dsfid = Some(next("DSFID")?);
    }
    if info_flags & info::AFI != 0 {
        sys.afi = Some(next("AFI")?);
    }
    if info_flags & info::MEMORY_SIZE != 0 {
        let blocks = next("memory size")?;
        let size = next("memory size")?;
        sys.block_count = Some(u16::from(blocks) + 1);
        sys.block_size = Some((size & 0x1F) + 1);
    }
    if info_flags & info::IC_REFERENCE != 0 {
        sys.ic_reference = Some(next("IC reference")?);
    }
    Ok(sys)
}

/// The answer to get multiple block security status: one status byte per block.
pub fn parse_security_status(frame: &[u8], count: usize) -> Result<Vec<u8>, FrameError> {
    let rest = body(frame)?;
    if rest.len() != count {
        return Err(FrameError::BadLength {
            len: frame.len(),
            what: "block security status",
        });
    }
    Ok(rest.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn inventory_reply() {
        let frame = [0x00, 0x06, 0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0];
        let reply = parse_inventory(&frame).expect("valid");
        assert_eq!(reply.dsfid, 0x06);
        assert_eq!(reply.uid[7], 0xE0);
        assert!(parse_inventory(&frame[..9]).is_err());
    }

    #[test]
    fn error_responses_carry_the_iso_meaning() {
        assert_eq!(
            parse_status(&[0x01, 0x12]),
            Err(FrameError::Tag(TagErrorCode::BlockLocked))
        );
        assert_eq!(
            parse_blocks(&[0x01, 0x10], 1, false),
            Err(FrameError::Tag(TagErrorCode::BlockNotAvailable))
        );
        assert_eq!(TagErrorCode::from_code(0xA7), TagErrorCode::Custom(0xA7));
        assert_eq!(TagErrorCode::from_code(0x55), TagErrorCode::Reserved(0x55));
        assert!(
            TagErrorCode::NotProgrammed
                .to_string()
                .contains("not successfully programmed")
        );
        assert!(parse_status(&[0x01]).is_err());
        assert_eq!(parse_status(&[0x00]), Ok(()));
    }

    #[test]
    fn blocks_with_and_without_security() {
        let plain = [0x00, 1, 2, 3, 4, 5, 6, 7, 8];
        let blocks = parse_blocks(&plain, 2, false).expect("valid");
        assert_eq!(
            blocks[1],
            Block {
                security: None,
                data: vec![5, 6, 7, 8]
            }
        );
        let secured = [0x00, 0x01, 1, 2, 3, 4, 0x00, 5, 6, 7, 8];
        let blocks = parse_blocks(&secured, 2, true).expect("valid");
        assert_eq!(
            blocks[0],
            Block {
                security: Some(1),
                data: vec![1, 2, 3, 4]
            }
        );
        assert!(parse_blocks(&secured, 3, true).is_err());
    }

    #[test]
    fn system_info_slix() {
        // ICODE SLIX: DSFID, AFI, 28 blocks of 4 bytes, IC reference 0x01.
        let frame = [
            0x00, 0x0F, 0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0, 0x00, 0xC2, 0x1B, 0x03,
            0x01,
        ];
        let sys = parse_system_info(&frame).expect("valid");
        assert_eq!(sys.dsfid, Some(0));
        assert_eq!(sys.afi, Some(0xC2));
        assert_eq!(sys.block_count, Some(28));
        assert_eq!(sys.block_size, Some(4));
        assert_eq!(sys.ic_reference, Some(1));
        assert_eq!(sys.capacity(), Some(112));
        assert_eq!(sys.encode(), frame);
        let partial = [
            0x00, 0x02, 0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0, 0x07,
        ];
        let sys = parse_system_info(&partial).expect("valid");
        assert_eq!((sys.dsfid, sys.afi, sys.block_size), (None, Some(7), None));
        assert!(parse_system_info(&frame[..13]).is_err());
    }

    #[test]
    fn security_status() {
        assert_eq!(
            parse_security_status(&[0x00, 0, 1, 0], 3),
            Ok(vec![0, 1, 0])
        );
        assert!(parse_security_status(&[0x00, 0, 1], 3).is_err());
    }

    proptest! {
        #[test]
        fn junk_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..80), n in 0usize..40) {
            let _ = parse_inventory(&frame);
            let _ = parse_status(&frame);
            let _ = parse_blocks(&frame, n, n % 2 == 0);
            let _ = parse_system_info(&frame);
            let _ = parse_security_status(&frame, n);
            let _ = crate::rfid::iso15693::Request::decode(&frame, n % 33);
        }
    }
}
