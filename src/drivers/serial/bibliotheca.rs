//! 3M 810 / Bibliotheca 210 style serial readers (19200 baud, 8N1).
//!
//! Frame: `D6 len(2, BE) payload crc(2, BE)` where `len` counts the payload and the CRC, and
//! the CRC is CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, xorout 0xFFFF, no reflection) over the
//! length bytes and the payload. The probe sent first uses the start byte D5. Checked against
//! the two published frames: `D5 00 05 04 00 11 8C 66` (probe) and `D6 00 07 FE 00 00 07 00
//! AF 19` (an answer seen after it) both carry a correct GENIBUS CRC.
//!
//! Reply payloads start with the command byte echoed and a status byte (0 = done). Layouts
//! (from public captures of the reader): inventory `FE 00 xx xx n uid*n`; read blocks `02 00
//! uid n (block-number LE16, 4 data bytes)*n`; write blocks `04 00 uid n`; write AFI `09 00
//! uid`; read AFI `0A 00 uid afi`. UIDs travel most significant byte first (as printed); the
//! driver converts to and from the transmission order of [`Uid`]. The EAS commands (03 check,
//! 0C control) follow the same addressed layout by analogy and have not been checked against a
//! device.

use std::time::Duration;

use thiserror::Error;

use super::{SerialError, SerialLink, uid_from_wire, uid_wire};
use crate::rfid::tag::Uid;

pub const START: u8 = 0xD6;
pub const PROBE_START: u8 = 0xD5;
/// Longest payload accepted from the reader: 8-byte UIDs for a full pad, or a full tag read.
pub const MAX_PAYLOAD: usize = 2048;

pub mod command {
    pub const READ_BLOCKS: u8 = 0x02;
    pub const CHECK_EAS: u8 = 0x03;
    pub const WRITE_BLOCKS: u8 = 0x04;
    pub const WRITE_AFI: u8 = 0x09;
    pub const READ_AFI: u8 = 0x0A;
    pub const EAS_CONTROL: u8 = 0x0C;
    pub const INVENTORY: u8 = 0xFE;
}

const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_GENIBUS);

/// CRC-16/GENIBUS of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC.checksum(bytes)
}

/// Why bytes from the reader are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame too short ({0} bytes)")]
    Short(usize),
    #[error("unknown start byte {0:#04x}")]
    BadStart(u8),
    #[error("length field {declared} does not match the {actual} bytes that follow")]
    BadLength { declared: usize, actual: usize },
    #[error("payload of {0} bytes is too long")]
    TooLong(usize),
    #[error("CRC mismatch: frame says {found:#06x}, bytes give {computed:#06x}")]
    Crc { found: u16, computed: u16 },
}

/// A checked frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub start: u8,
    pub payload: Vec<u8>,
}

/// Encode a frame with start byte `start` (D6 for commands, D5 for the probe).
pub fn encode_frame(start: u8, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(FrameError::TooLong(payload.len()));
    }
    let len = (payload.len() + 2) as u16;
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(start);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    let crc = crc16(out.get(1..).unwrap_or(&[]));
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Decode one complete frame (start byte to CRC, nothing after).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, FrameError> {
    let (&start, rest) = bytes.split_first().ok_or(FrameError::Short(0))?;
    if start != START && start != PROBE_START {
        return Err(FrameError::BadStart(start));
    }
    let (len_bytes, body) = rest
        .split_at_checked(2)
        .ok_or(FrameError::Short(bytes.len()))?;
    let declared = usize::from(u16::from_be_bytes([
        len_bytes.first().copied().unwrap_or(0),
        len_bytes.get(1).copied().unwrap_or(0),
    ]));
    if declared != body.len() {
        return Err(FrameError::BadLength {
            declared,
            actual: body.len(),
        });
    }
    let Some((payload, crc_bytes)) = body.split_at_checked(body.len().saturating_sub(2)) else {
        return Err(FrameError::Short(bytes.len()));
    };
    if payload.is_empty() || crc_bytes.len() != 2 {
        return Err(FrameError::Short(bytes.len()));
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(FrameError::TooLong(payload.len()));
    }
    let found = u16::from_be_bytes([
        crc_bytes.first().copied().unwrap_or(0),
        crc_bytes.get(1).copied().unwrap_or(0),
    ]);
    let computed = crc16(bytes.get(1..bytes.len() - 2).unwrap_or(&[]));
    if found != computed {
        return Err(FrameError::Crc { found, computed });
    }
    Ok(Frame {
        start,
        payload: payload.to_vec(),
    })
}

/// What went wrong with a 3M/Bibliotheca reader.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error(transparent)]
    Link(#[from] SerialError),
    #[error("bad frame from the reader: {0}")]
    Frame(#[from] FrameError),
    /// The reader answered the command with a non-zero status (for addressed commands this is
    /// what a tag that left the field gives).
    #[error("reader refused command {command:#04x} with status {status:#04x}")]
    Status { command: u8, status: u8 },
    #[error("unexpected reply: {0}")]
    Unexpected(&'static str),
    #[error("{0} bytes cannot be written as whole 4-byte blocks")]
    NotWholeBlocks(usize),
}

/// A 3M 810 / Bibliotheca style reader on a serial link.
pub struct Bibliotheca<L> {
    link: L,
    timeout: Duration,
}

impl<L: SerialLink> Bibliotheca<L> {
    pub fn new(link: L) -> Self {
        Bibliotheca {
            link,
            timeout: Duration::from_millis(1_000),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn destroy(self) -> L {
        self.link
    }

    /// Read one frame off the link: header, then exactly the declared length.
    fn read_frame(&mut self) -> Result<Frame, Error> {
        let mut head = [0u8; 3];
        self.link.read_exact(&mut head, self.timeout)?;
        let [start, hi, lo] = head;
        if start != START && start != PROBE_START {
            self.link.discard_input()?;
            return Err(FrameError::BadStart(start).into());
        }
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if !(3..=MAX_PAYLOAD + 2).contains(&len) {
            self.link.discard_input()?;
            return Err(FrameError::BadLength {
                declared: len,
                actual: 0,
            }
            .into());
        }
        let mut frame = vec![0u8; 3 + len];
        frame
            .get_mut(..3)
            .unwrap_or_default()
            .copy_from_slice(&head);
        self.link
            .read_exact(frame.get_mut(3..).unwrap_or_default(), self.timeout)?;
        Ok(decode_frame(&frame)?)
    }

    /// Send `payload` and return the reply payload after the command echo and status byte.
    fn command(&mut self, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let command = payload.first().copied().unwrap_or_default();
        self.link.write_all(&encode_frame(START, payload)?)?;
        let reply = self.read_frame()?.payload;
        match reply.as_slice() {
            [c, 0, rest @ ..] if *c == command => Ok(rest.to_vec()),
            [c, status, ..] if *c == command => Err(Error::Status {
                command,
                status: *status,
            }),
            _ => Err(Error::Unexpected("reply is for another command")),
        }
    }

    /// Probe the reader. Answers seen: a D5 frame echoing `04 00 11` followed by the hardware
    /// version, or a D6 frame. Returns the hardware version when the reader gives one.
    pub fn init(&mut self) -> Result<Option<Vec<u8>>, Error> {
        self.link.discard_input()?;
        self.link
            .write_all(&encode_frame(PROBE_START, &[0x04, 0x00, 0x11])?)?;
        let reply = self.read_frame()?;
        if reply.start == PROBE_START {
            return match reply.payload.as_slice() {
                [0x04, 0x00, 0x11, version @ ..] => Ok(Some(version.to_vec())),
                _ => Err(Error::Unexpected("probe answer does not echo the probe")),
            };
        }
        Ok(None)
    }

    /// UIDs of the tags in the field.
    pub fn inventory(&mut self) -> Result<Vec<Uid>, Error> {
        let rest = self.command(&[command::INVENTORY, 0x00, 0x05])?;
        let [_, _, n, uids @ ..] = rest.as_slice() else {
            return Err(Error::Unexpected("inventory reply too short"));
        };
        if uids.len() != usize::from(*n) * 8 {
            return Err(Error::Unexpected("inventory count does not match the UIDs"));
        }
        Ok(uids.chunks_exact(8).filter_map(uid_from_wire).collect())
    }

    /// `count` 4-byte blocks from block `first`, concatenated in block order.
    pub fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8) -> Result<Vec<u8>, Error> {
        let mut req = vec![command::READ_BLOCKS];
        req.extend_from_slice(&uid_wire(uid));
        req.extend_from_slice(&[first, count]);
        let rest = self.command(&req)?;
        let [uid_bytes @ .., n] = rest.get(..9).unwrap_or_default() else {
            return Err(Error::Unexpected("read reply too short"));
        };
        if uid_from_wire(uid_bytes) != Some(*uid) {
            return Err(Error::Unexpected("read reply is for another tag"));
        }
        let records = rest.get(9..).unwrap_or_default();
        if records.len() != usize::from(*n) * 6 || *n != count {
            return Err(Error::Unexpected("read reply block count mismatch"));
        }
        let mut data = vec![0u8; usize::from(count) * 4];
        for record in records.chunks_exact(6) {
            let [lo, hi, d @ ..] = record else { continue };
            let block = usize::from(u16::from_le_bytes([*lo, *hi]));
            let index = block
                .checked_sub(usize::from(first))
                .filter(|i| *i < usize::from(count))
                .ok_or(Error::Unexpected("read reply holds a block not asked for"))?;
            data.get_mut(index * 4..index * 4 + 4)
                .ok_or(Error::Unexpected("block index"))?
                .copy_from_slice(d);
        }
        Ok(data)
    }

    /// Write whole 4-byte blocks from block `first`.
    pub fn write_blocks(&mut self, uid: &Uid, first: u8, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() || !data.len().is_multiple_of(4) || data.len() / 4 > 255 {
            return Err(Error::NotWholeBlocks(data.len()));
        }
        let count = (data.len() / 4) as u8;
        let mut req = vec![command::WRITE_BLOCKS];
        req.extend_from_slice(&uid_wire(uid));
        req.extend_from_slice(&[first, count, 0x00]);
        req.extend_from_slice(data);
        let rest = self.command(&req)?;
        match rest.get(..8).and_then(uid_from_wire) {
            Some(u) if u == *uid => Ok(()),
            _ => Err(Error::Unexpected("write reply is for another tag")),
        }
    }

    pub fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), Error> {
        let mut req = vec![command::WRITE_AFI];
        req.extend_from_slice(&uid_wire(uid));
        req.push(afi);
        let rest = self.command(&req)?;
        match rest.get(..8).and_then(uid_from_wire) {
            Some(u) if u == *uid => Ok(()),
            _ => Err(Error::Unexpected("AFI write reply is for another tag")),
        }
    }

    pub fn read_afi(&mut self, uid: &Uid) -> Result<u8, Error> {
        let mut req = vec![command::READ_AFI];
        req.extend_from_slice(&uid_wire(uid));
        let rest = self.command(&req)?;
        match rest.as_slice() {
            [u @ .., afi] if u.len() == 8 && uid_from_wire(u) == Some(*uid) => Ok(*afi),
            _ => Err(Error::Unexpected("AFI read reply")),
        }
    }

    /// Whether the tag's EAS bit is set (layout inferred, see the module documentation).
    pub fn check_eas(&mut self, uid: &Uid) -> Result<bool, Error> {
        let mut req = vec![command::CHECK_EAS];
        req.extend_from_slice(&uid_wire(uid));
        let rest = self.command(&req)?;
        match rest.as_slice() {
            [u @ .., state] if u.len() == 8 && uid_from_wire(u) == Some(*uid) => Ok(*state != 0),
            _ => Err(Error::Unexpected("EAS check reply")),
        }
    }

    /// Set or clear the tag's EAS bit (layout inferred, see the module documentation).
    pub fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), Error> {
        let mut req = vec![command::EAS_CONTROL];
        req.extend_from_slice(&uid_wire(uid));
        req.push(u8::from(on));
        let rest = self.command(&req)?;
        match rest.get(..8).and_then(uid_from_wire) {
            Some(u) if u == *uid => Ok(()),
            _ => Err(Error::Unexpected("EAS control reply is for another tag")),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::drivers::serial::ScriptedLink;

    const PROBE: [u8; 8] = [0xD5, 0x00, 0x05, 0x04, 0x00, 0x11, 0x8C, 0x66];
    const PROBE_ANSWER: [u8; 10] = [0xD6, 0x00, 0x07, 0xFE, 0x00, 0x00, 0x07, 0x00, 0xAF, 0x19];
    /// Printed E0 04 01 00 31 53 0A 3E; held in transmission order.
    const UID: Uid = [0x3E, 0x0A, 0x53, 0x31, 0x00, 0x01, 0x04, 0xE0];
    const UID_WIRE: [u8; 8] = [0xE0, 0x04, 0x01, 0x00, 0x31, 0x53, 0x0A, 0x3E];

    fn frame(payload: &[u8]) -> Vec<u8> {
        encode_frame(START, payload).expect("frame")
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn published_frames_carry_genibus_crcs() {
        assert_eq!(crc16(b"123456789"), 0xD64E);
        assert_eq!(
            encode_frame(PROBE_START, &[0x04, 0x00, 0x11]).expect("probe"),
            PROBE
        );
        let answer = decode_frame(&PROBE_ANSWER).expect("answer");
        assert_eq!(
            answer,
            Frame {
                start: START,
                payload: vec![0xFE, 0x00, 0x00, 0x07, 0x00]
            }
        );
        assert_eq!(frame(&answer.payload), PROBE_ANSWER);
    }

    #[test]
    fn init_accepts_the_published_answer() {
        let link = ScriptedLink::new().expect(&PROBE, &PROBE_ANSWER);
        let mut r = Bibliotheca::new(link);
        assert_eq!(r.init(), Ok(None));
        r.destroy().done();
    }

    #[test]
    fn init_reads_a_hardware_version() {
        let answer =
            encode_frame(PROBE_START, &[0x04, 0x00, 0x11, 0x0A, 0x05, 0x00, 0x02]).expect("answer");
        assert_eq!(
            answer,
            [
                0xD5, 0x00, 0x09, 0x04, 0x00, 0x11, 0x0A, 0x05, 0x00, 0x02, 0x72, 0x50
            ]
        );
        let link = ScriptedLink::new().expect(&PROBE, &answer);
        let mut r = Bibliotheca::new(link);
        assert_eq!(r.init(), Ok(Some(vec![0x0A, 0x05, 0x00, 0x02])));
        r.destroy().done();
    }

    #[test]
    fn inventory_transcript() {
        let request = [0xD6, 0x00, 0x05, 0xFE, 0x00, 0x05, 0xFA, 0x40];
        assert_eq!(frame(&[0xFE, 0x00, 0x05]), request);
        let reply = frame(&cat(&[&[0xFE, 0x00, 0x00, 0x05, 0x01], &UID_WIRE]));
        let empty = frame(&[0xFE, 0x00, 0x00, 0x05, 0x00]);
        let link = ScriptedLink::new()
            .expect(&request, &reply)
            .expect(&request, &empty);
        let mut r = Bibliotheca::new(link);
        assert_eq!(r.inventory(), Ok(vec![UID]));
        assert_eq!(r.inventory(), Ok(vec![]));
        r.destroy().done();
    }

    #[test]
    fn read_write_and_afi_transcripts() {
        let read_req = frame(&cat(&[&[0x02], &UID_WIRE, &[0x00, 0x02]]));
        let read_reply = frame(&cat(&[
            &[0x02, 0x00],
            &UID_WIRE,
            &[
                0x02, 0x00, 0x00, 0x11, 0x01, 0x01, 0x31, 0x01, 0x00, 0x31, 0x32, 0x32, 0x33,
            ],
        ]));
        let write_req = frame(&cat(&[
            &[0x04],
            &UID_WIRE,
            &[0x00, 0x01, 0x00, 0xAA, 0xBB, 0xCC, 0xDD],
        ]));
        let write_reply = frame(&cat(&[&[0x04, 0x00], &UID_WIRE, &[0x01]]));
        let afi_req = frame(&cat(&[&[0x09], &UID_WIRE, &[0x07]]));
        let afi_reply = frame(&cat(&[&[0x09, 0x00], &UID_WIRE]));
        let afi_read_req = frame(&cat(&[&[0x0A], &UID_WIRE]));
        let afi_read_reply = frame(&cat(&[&[0x0A, 0x00], &UID_WIRE, &[0x07]]));
        let link = ScriptedLink::new()
            .expect(&read_req, &read_reply)
            .expect(&write_req, &write_reply)
            .expect(&afi_req, &afi_reply)
            .expect(&afi_read_req, &afi_read_reply);
        let mut r = Bibliotheca::new(link);
        assert_eq!(
            r.read_blocks(&UID, 0, 2),
            Ok(vec![0x11, 0x01, 0x01, 0x31, 0x31, 0x32, 0x32, 0x33])
        );
        assert_eq!(r.write_blocks(&UID, 0, &[0xAA, 0xBB, 0xCC, 0xDD]), Ok(()));
        assert_eq!(r.write_afi(&UID, 0x07), Ok(()));
        assert_eq!(r.read_afi(&UID), Ok(0x07));
        r.destroy().done();
    }

    #[test]
    fn error_status_is_typed() {
        let req = frame(&cat(&[&[0x0A], &UID_WIRE]));
        let reply = frame(&cat(&[&[0x0A, 0x06], &UID_WIRE]));
        let mut r = Bibliotheca::new(ScriptedLink::new().expect(&req, &reply));
        assert_eq!(
            r.read_afi(&UID),
            Err(Error::Status {
                command: 0x0A,
                status: 0x06
            })
        );
        r.destroy().done();
    }

    #[test]
    fn junk_short_and_bad_crc_replies_are_errors() {
        let request = frame(&[0xFE, 0x00, 0x05]);
        let mut bad_crc = frame(&[0xFE, 0x00, 0x00, 0x05, 0x00]);
        if let Some(b) = bad_crc.last_mut() {
            *b ^= 0x01;
        }
        let link = ScriptedLink::new()
            .expect(&request, &[0x41, 0x42, 0x43, 0x44])
            .expect(&request, &[0xD6, 0x00])
            .expect(&request, &bad_crc)
            .expect(&request, &[0xD6, 0x00, 0x01, 0x00]);
        let mut r = Bibliotheca::new(link);
        assert_eq!(r.inventory(), Err(Error::Frame(FrameError::BadStart(0x41))));
        assert_eq!(r.inventory(), Err(Error::Link(SerialError::Timeout)));
        assert!(matches!(
            r.inventory(),
            Err(Error::Frame(FrameError::Crc { .. }))
        ));
        assert!(matches!(
            r.inventory(),
            Err(Error::Frame(FrameError::BadLength { .. }))
        ));
        r.destroy().done();
    }

    #[test]
    fn decode_rejects_malformed_frames() {
        assert_eq!(decode_frame(&[]), Err(FrameError::Short(0)));
        assert_eq!(decode_frame(&[0xD6]), Err(FrameError::Short(1)));
        assert_eq!(
            decode_frame(&[0x00, 0x00, 0x02, 0x00, 0x00]),
            Err(FrameError::BadStart(0))
        );
        assert!(matches!(
            decode_frame(&[0xD6, 0x00, 0x02, 0x12, 0x34]),
            Err(FrameError::Short(5))
        ));
        assert!(matches!(
            decode_frame(&[0xD6, 0x00, 0x09, 0xFE]),
            Err(FrameError::BadLength {
                declared: 9,
                actual: 1
            })
        ));
    }

    proptest! {
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_frame(&bytes);
        }

        #[test]
        fn junk_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let request = frame(&[0xFE, 0x00, 0x05]);
            let mut r = Bibliotheca::new(ScriptedLink::new().expect(&request, &bytes));
            let _ = r.inventory();
        }

        #[test]
        fn frames_round_trip(payload in proptest::collection::vec(any::<u8>(), 1..300)) {
            let bytes = encode_frame(START, &payload).expect("frame");
            prop_assert_eq!(decode_frame(&bytes), Ok(Frame { start: START, payload }));
        }
    }
}
