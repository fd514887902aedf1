//! FEIG ISC readers (ID ISC.MR/LR/MRU families), standard host protocol, 38400 baud 8E1 by
//! default.
//!
//! Request: `LEN COM-ADR CMD data CRC16`; reply: `LEN COM-ADR CMD STATUS data CRC16`. `LEN`
//! counts the whole frame; the CRC is CRC-16/MCRF4XX (reflected poly 0x8408, init 0xFFFF, no
//! xorout) over everything before it, sent low byte first. Replies in the advanced protocol
//! (`02 LEN(2, BE) COM-ADR CMD STATUS data CRC16`) are accepted too. ISO 15693 host commands
//! go through command 0xB0 with the ISO command code first; UIDs travel most significant byte
//! first.

use std::time::Duration;

use thiserror::Error;

use super::{SerialError, SerialLink, uid_from_wire, uid_wire};
use crate::rfid::tag::Uid;

/// COM-ADR 0xFF reaches any reader on a point-to-point line.
pub const BROADCAST: u8 = 0xFF;
pub const ISO_HOST_COMMAND: u8 = 0xB0;
const ADVANCED_START: u8 = 0x02;
const MAX_FRAME: usize = 4096;

pub mod iso {
    pub const INVENTORY: u8 = 0x01;
    pub const READ_MULTIPLE_BLOCKS: u8 = 0x23;
    pub const WRITE_MULTIPLE_BLOCKS: u8 = 0x24;
    pub const WRITE_AFI: u8 = 0x27;
    pub const GET_SYSTEM_INFORMATION: u8 = 0x2B;
    /// MODE byte: address the tag by UID.
    pub const MODE_ADDRESSED: u8 = 0x01;
    /// MODE byte of an inventory: continue a previous one that reported "more data".
    pub const MODE_MORE: u8 = 0x80;
}

/// Reply status bytes of the ISC protocol.
pub mod status {
    pub const OK: u8 = 0x00;
    pub const NO_TRANSPONDER: u8 = 0x01;
    pub const MORE_DATA: u8 = 0x94;
    pub const ISO15693_ERROR: u8 = 0x95;
}

/// What a status byte means, for logs and staff diagnostics.
pub fn status_text(code: u8) -> &'static str {
    match code {
        0x00 => "OK",
        0x01 => "no transponder",
        0x02 => "data false (CRC error from the tag)",
        0x03 => "write error",
        0x04 => "address error",
        0x05 => "wrong transponder type",
        0x08 => "authentication error",
        0x0E => "general error",
        0x10 => "EEPROM failure",
        0x11 => "parameter range error",
        0x13 => "login request",
        0x14 => "login error",
        0x15 => "read protect",
        0x16 => "write protect",
        0x17 => "firmware activation required",
        0x80 => "unknown command",
        0x81 => "length error",
        0x82 => "command not available",
        0x83 => "RF communication error",
        0x84 => "RF warning",
        0x93 => "data buffer overflow",
        0x94 => "more data",
        0x95 => "ISO 15693 error",
        0x96 => "ISO 14443 error",
        0x97 => "crypto processing error",
        0xF1 => "hardware warning",
        _ => "unknown status",
    }
}

const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MCRF4XX);

/// CRC-16/MCRF4XX of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC.checksum(bytes)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame too short ({0} bytes)")]
    Short(usize),
    #[error("length field {declared} does not match the {actual} bytes received")]
    BadLength { declared: usize, actual: usize },
    #[error("frame of {0} bytes is too long")]
    TooLong(usize),
    #[error("CRC mismatch: frame says {found:#06x}, bytes give {computed:#06x}")]
    Crc { found: u16, computed: u16 },
}

/// A checked reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub address: u8,
    pub command: u8,
    pub status: u8,
    pub data: Vec<u8>,
}

/// Encode a standard-protocol request.
pub fn encode_request(address: u8, command: u8, data: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = data.len() + 5;
    let len_byte = u8::try_from(len).map_err(|_| FrameError::TooLong(len))?;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&[len_byte, address, command]);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc16(&out).to_le_bytes());
    Ok(out)
}

/// Decode one complete reply (standard or advanced protocol).
pub fn decode_response(bytes: &[u8]) -> Result<Response, FrameError> {
    let (declared, header) = match bytes {
        [ADVANCED_START, hi, lo, ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), 3),
        [len, ..] => (usize::from(*len), 1),
        [] => return Err(FrameError::Short(0)),
    };
    if declared != bytes.len() {
        return Err(FrameError::BadLength {
            declared,
            actual: bytes.len(),
        });
    }
    let Some((body, crc_bytes)) = bytes.split_at_checked(bytes.len().saturating_sub(2)) else {
        return Err(FrameError::Short(bytes.len()));
    };
    let [address, command, status, data @ ..] = body.get(header..).unwrap_or_default() else {
        return Err(FrameError::Short(bytes.len()));
    };
    let &[lo, hi] = crc_bytes else {
        return Err(FrameError::Short(bytes.len()));
    };
    let found = u16::from_le_bytes([lo, hi]);
    let computed = crc16(body);
    if found != computed {
        return Err(FrameError::Crc { found, computed });
    }
    Ok(Response {
        address: *address,
        command: *command,
        status: *status,
        data: data.to_vec(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error(transparent)]
    Link(#[from] SerialError),
    #[error("bad frame from the reader: {0}")]
    Frame(#[from] FrameError),
    #[error("reader status {code:#04x}: {}", status_text(*.code))]
    Status { code: u8 },
    /// The addressed tag did not answer.
    #[error("no transponder answered")]
    NoTransponder,
    /// The tag answered with an ISO 15693 error code.
    #[error("tag error code {0:#04x}")]
    Iso15693(u8),
    #[error("unexpected reply: {0}")]
    Unexpected(&'static str),
    #[error("{0} bytes cannot be written as whole blocks")]
    NotWholeBlocks(usize),
    #[error("not supported by this reader")]
    Unsupported,
}

/// What GET SYSTEM INFORMATION told about a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemInfo {
    pub dsfid: u8,
    pub afi: u8,
    pub block_size: u8,
    pub blocks: u16,
}

/// A FEIG ISC reader on a serial link.
pub struct Feig<L> {
    link: L,
    address: u8,
    timeout: Duration,
}

impl<L: SerialLink> Feig<L> {
    pub fn new(link: L) -> Self {
        Feig {
            link,
            address: BROADCAST,
            timeout: Duration::from_millis(1_000),
        }
    }

    pub fn with_address(mut self, address: u8) -> Self {
        self.address = address;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn destroy(self) -> L {
        self.link
    }

    fn read_response(&mut self) -> Result<Response, Error> {
        let mut first = [0u8; 1];
        self.link.read_exact(&mut first, self.timeout)?;
        let mut frame = first.to_vec();
        let declared = if first == [ADVANCED_START] {
            let mut len = [0u8; 2];
            self.link.read_exact(&mut len, self.timeout)?;
            frame.extend_from_slice(&len);
            usize::from(u16::from_be_bytes(len))
        } else {
            usize::from(first[0])
        };
        if declared < frame.len() + 5 || declared > MAX_FRAME {
            self.link.discard_input()?;
            return Err(FrameError::BadLength {
                declared,
                actual: frame.len(),
            }
            .into());
        }
        let start = frame.len();
        frame.resize(declared, 0);
        self.link
            .read_exact(frame.get_mut(start..).unwrap_or_default(), self.timeout)?;
        Ok(decode_response(&frame)?)
    }

    /// One 0xB0 ISO host command; returns status and data.
    fn iso(&mut self, data: &[u8]) -> Result<(u8, Vec<u8>), Error> {
        self.link
            .write_all(&encode_request(self.address, ISO_HOST_COMMAND, data)?)?;
        let reply = self.read_response()?;
        if reply.command != ISO_HOST_COMMAND {
            return Err(Error::Unexpected("reply is for another command"));
        }
        match reply.status {
            status::OK | status::MORE_DATA => Ok((reply.status, reply.data)),
            status::NO_TRANSPONDER => Err(Error::NoTransponder),
            status::ISO15693_ERROR => Err(Error::Iso15693(
                reply.data.first().copied().unwrap_or_default(),
            )),
            code => Err(Error::Status { code }),
        }
    }

    /// UIDs of the tags in the field; follows "more data" answers (bounded).
    pub fn inventory(&mut self) -> Result<Vec<Uid>, Error> {
        let mut uids = Vec::new();
        let mut mode = 0x00;
        for _ in 0..16 {
            let (status, data) = match self.iso(&[iso::INVENTORY, mode]) {
                Err(Error::NoTransponder) => return Ok(uids),
                other => other?,
            };
            let [n, records @ ..] = data.as_slice() else {
                return Err(Error::Unexpected("inventory reply without a count"));
            };
            if records.len() != usize::from(*n) * 10 {
                return Err(Error::Unexpected(
                    "inventory count does not match the records",
                ));
            }
            for record in records.chunks_exact(10) {
                if let Some(uid) = record.get(2..).and_then(uid_from_wire) {
                    uids.push(uid);
                }
            }
            if status != status::MORE_DATA {
                return Ok(uids);
            }
            mode = iso::MODE_MORE;
        }
        Err(Error::Unexpected("inventory never finished"))
    }

    /// `count` blocks from block `first`, concatenated (security status bytes dropped).
    pub fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8) -> Result<Vec<u8>, Error> {
        let mut req = vec![iso::READ_MULTIPLE_BLOCKS, iso::MODE_ADDRESSED];
        req.extend_from_slice(&uid_wire(uid));
        req.extend_from_slice(&[first, count]);
        let (_, data) = self.iso(&req)?;
        let [n, size, records @ ..] = data.as_slice() else {
            return Err(Error::Unexpected("read reply too short"));
        };
        let record = usize::from(*size) + 1;
        if *n != count || records.len() != usize::from(*n) * record {
            return Err(Error::Unexpected("read reply block count mismatch"));
        }
        Ok(records
            .chunks_exact(record)
            .flat_map(|r| r.iter().skip(1).copied())
            .collect())
    }

    /// Write whole blocks of `block_size` bytes from block `first`.
    pub fn write_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        block_size: u8,
        data: &[u8],
    ) -> Result<(), Error> {
        let size = usize::from(block_size);
        if size == 0
            || data.is_empty()
            || !data.len().is_multiple_of(size)
            || data.len() / size > 255
        {
            return Err(Error::NotWholeBlocks(data.len()));
        }
        let mut req = vec![iso::WRITE_MULTIPLE_BLOCKS, iso::MODE_ADDRESSED];
        req.extend_from_slice(&uid_wire(uid));
        req.extend_from_slice(&[first, (data.len() / size) as u8, block_size]);
        req.extend_from_slice(data);
        self.iso(&req).map(|_| ())
    }

    pub fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), Error> {
        let mut req = vec![iso::WRITE_AFI, iso::MODE_ADDRESSED];
        req.extend_from_slice(&uid_wire(uid));
        req.push(afi);
        self.iso(&req).map(|_| ())
    }

    /// DSFID, AFI and memory size. The reader reports memory as (block size - 1) then
    /// (number of blocks - 1).
    pub fn system_info(&mut self, uid: &Uid) -> Result<SystemInfo, Error> {
        let mut req = vec![iso::GET_SYSTEM_INFORMATION, iso::MODE_ADDRESSED];
        req.extend_from_slice(&uid_wire(uid));
        let (_, data) = self.iso(&req)?;
        let [dsfid, u0, u1, u2, u3, u4, u5, u6, u7, afi, size, blocks, ..] = data.as_slice() else {
            return Err(Error::Unexpected("system information reply too short"));
        };
        if uid_from_wire(&[*u0, *u1, *u2, *u3, *u4, *u5, *u6, *u7]) != Some(*uid) {
            return Err(Error::Unexpected("system information is for another tag"));
        }
        Ok(SystemInfo {
            dsfid: *dsfid,
            afi: *afi,
            block_size: (size & 0x1F) + 1,
            blocks: u16::from(*blocks) + 1,
        })
    }

    /// The NXP EAS commands are not sent through this reader.
    pub fn set_eas(&mut self, _uid: &Uid, _on: bool) -> Result<(), Error> {
        Err(Error::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::drivers::serial::ScriptedLink;

    const UID: Uid = [0x3E, 0x0A, 0x53, 0x31, 0x00, 0x01, 0x04, 0xE0];
    const UID_WIRE: [u8; 8] = [0xE0, 0x04, 0x01, 0x00, 0x31, 0x53, 0x0A, 0x3E];

    fn reply(status: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![(data.len() + 6) as u8, 0x00, 0xB0, status];
        out.extend_from_slice(data);
        out.extend_from_slice(&crc16(&out).to_le_bytes());
        out
    }

    #[test]
    fn crc_matches_published_frames() {
        assert_eq!(crc16(b"123456789"), 0x6F91);
        // Advanced-protocol inventory as sent by public FEIG clients.
        let advanced = [0x02, 0x00, 0x09, 0xFF, 0xB0, 0x01, 0x00, 0x18, 0x43];
        assert_eq!(crc16(advanced.get(..7).unwrap_or_default()), 0x4318);
        assert_eq!(
            encode_request(0xFF, 0xB0, &[0x01, 0x00]),
            Ok(vec![0x07, 0xFF, 0xB0, 0x01, 0x00, 0x1C, 0x56])
        );
    }

    #[test]
    fn inventory_transcript() {
        let request = [0x07, 0xFF, 0xB0, 0x01, 0x00, 0x1C, 0x56];
        let mut data = vec![0x01, 0x03, 0x00];
        data.extend_from_slice(&UID_WIRE);
        let link = ScriptedLink::new()
            .expect(&request, &reply(0x00, &data))
            .expect(&request, &reply(0x01, &[]));
        let mut r = Feig::new(link);
        assert_eq!(r.inventory(), Ok(vec![UID]));
        assert_eq!(r.inventory(), Ok(vec![]));
        r.destroy().done();
    }

    #[test]
    fn inventory_follows_more_data() {
        let first = encode_request(0xFF, 0xB0, &[0x01, 0x00]).expect("req");
        let more = encode_request(0xFF, 0xB0, &[0x01, 0x80]).expect("req");
        let mut d1 = vec![0x01, 0x03, 0x00];
        d1.extend_from_slice(&UID_WIRE);
        let mut d2 = vec![0x01, 0x03, 0x00];
        d2.extend_from_slice(&[0xE0, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01]);
        let link = ScriptedLink::new()
            .expect(&first, &reply(0x94, &d1))
            .expect(&more, &reply(0x00, &d2));
        let mut r = Feig::new(link);
        let uids = r.inventory().expect("inventory");
        assert_eq!(uids, vec![UID, [0x01, 0, 0, 0, 0x00, 0x01, 0x04, 0xE0]]);
        r.destroy().done();
    }

    #[test]
    fn read_write_afi_and_system_info_transcripts() {
        let mut read_req = vec![0x23, 0x01];
        read_req.extend_from_slice(&UID_WIRE);
        read_req.extend_from_slice(&[0x00, 0x02]);
        let read_data = [
            0x02, 0x04, 0x00, 0x11, 0x01, 0x01, 0x31, 0x00, 0x31, 0x32, 0x32, 0x33,
        ];
        let mut write_req = vec![0x24, 0x01];
        write_req.extend_from_slice(&UID_WIRE);
        write_req.extend_from_slice(&[0x00, 0x01, 0x04, 0xAA, 0xBB, 0xCC, 0xDD]);
        let mut afi_req = vec![0x27, 0x01];
        afi_req.extend_from_slice(&UID_WIRE);
        afi_req.push(0xC2);
        let mut info_req = vec![0x2B, 0x01];
        info_req.extend_from_slice(&UID_WIRE);
        let mut info = vec![0x00];
        info.extend_from_slice(&UID_WIRE);
        info.extend_from_slice(&[0xC2, 0x03, 0x1B, 0x01]);
        let link = ScriptedLink::new()
            .expect(
                &encode_request(0xFF, 0xB0, &read_req).expect("r"),
                &reply(0, &read_data),
            )
            .expect(
                &encode_request(0xFF, 0xB0, &write_req).expect("w"),
                &reply(0, &[]),
            )
            .expect(
                &encode_request(0xFF, 0xB0, &afi_req).expect("a"),
                &reply(0, &[]),
            )
            .expect(
                &encode_request(0xFF, 0xB0, &info_req).expect("i"),
                &reply(0, &info),
            );
        let mut r = Feig::new(link);
        assert_eq!(
            r.read_blocks(&UID, 0, 2),
            Ok(vec![0x11, 0x01, 0x01, 0x31, 0x31, 0x32, 0x32, 0x33])
        );
        assert_eq!(
            r.write_blocks(&UID, 0, 4, &[0xAA, 0xBB, 0xCC, 0xDD]),
            Ok(())
        );
        assert_eq!(r.write_afi(&UID, 0xC2), Ok(()));
        assert_eq!(
            r.system_info(&UID),
            Ok(SystemInfo {
                dsfid: 0x00,
                afi: 0xC2,
                block_size: 4,
                blocks: 28
            })
        );
        r.destroy().done();
    }

    #[test]
    fn statuses_are_typed() {
        let mut afi_req = vec![0x27, 0x01];
        afi_req.extend_from_slice(&UID_WIRE);
        afi_req.push(0x07);
        let req = encode_request(0xFF, 0xB0, &afi_req).expect("req");
        let link = ScriptedLink::new()
            .expect(&req, &reply(0x01, &[]))
            .expect(&req, &reply(0x95, &[0x12]))
            .expect(&req, &reply(0x83, &[]));
        let mut r = Feig::new(link);
        assert_eq!(r.write_afi(&UID, 0x07), Err(Error::NoTransponder));
        assert_eq!(r.write_afi(&UID, 0x07), Err(Error::Iso15693(0x12)));
        assert_eq!(r.write_afi(&UID, 0x07), Err(Error::Status { code: 0x83 }));
        r.destroy().done();
    }

    #[test]
    fn junk_short_and_bad_crc_replies_are_errors() {
        let request = encode_request(0xFF, 0xB0, &[0x01, 0x00]).expect("req");
        let mut bad_crc = reply(0x00, &[0x00]);
        if let Some(b) = bad_crc.last_mut() {
            *b ^= 0xFF;
        }
        let link = ScriptedLink::new()
            .expect(&request, &[0x03, 0x00, 0x00])
            .expect(&request, &[0x09, 0x00, 0xB0])
            .expect(&request, &bad_crc);
        let mut r = Feig::new(link);
        assert!(matches!(
            r.inventory(),
            Err(Error::Frame(FrameError::BadLength { .. }))
        ));
        assert_eq!(r.inventory(), Err(Error::Link(SerialError::Timeout)));
        assert!(matches!(
            r.inventory(),
            Err(Error::Frame(FrameError::Crc { .. }))
        ));
        r.destroy().done();
    }

    #[test]
    fn decodes_advanced_protocol_replies() {
        let mut f = vec![0x02, 0x00, 0x0A, 0x00, 0xB0, 0x00, 0x01, 0x02];
        f.extend_from_slice(&crc16(&f).to_le_bytes());
        assert_eq!(
            decode_response(&f),
            Ok(Response {
                address: 0,
                command: 0xB0,
                status: 0,
                data: vec![0x01, 0x02]
            })
        );
    }

    proptest! {
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_response(&bytes);
        }

        #[test]
        fn junk_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let request = encode_request(0xFF, 0xB0, &[0x01, 0x00]).expect("req");
            let mut r = Feig::new(ScriptedLink::new().expect(&request, &bytes));
            let _ = r.inventory();
        }

        #[test]
        fn replies_round_trip(status in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let bytes = reply(status, &data);
            prop_assert_eq!(
                decode_response(&bytes),
                Ok(Response { address: 0, command: 0xB0, status, data })
            );
        }
    }
}
