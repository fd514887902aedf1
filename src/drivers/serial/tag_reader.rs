//! The kiosk's [`TagReader`] port over the serial readers, which run the ISO 15693 exchanges
//! themselves: inventory, memory reads, verified writes and security changes with retries and
//! read-back.

use std::fmt::Display;

use super::SerialLink;
use super::bibliotheca::{self, Bibliotheca};
use super::feig::{self, Feig};
use crate::rfid::iso15693::TagErrorCode;
use crate::rfid::reader::{ReaderError, Security, SecurityConfig, TagReader, WriteOutcome};
use crate::rfid::tag::{LibraryTag, Uid, decode_memory};

/// How a reader failure bears on the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The addressed tag did not answer.
    TagGone,
    /// The tag answered with an ISO 15693 error code.
    Tag(u8),
    /// The reader or the line failed.
    Link(String),
    /// Bytes that make no sense.
    Protocol(String),
    /// The reader cannot do this.
    Unsupported,
}

/// The tag operations a serial reader offers, in the kiosk's terms (UIDs in transmission
/// order, 4-byte blocks).
pub trait TagOps {
    type Error: Display;
    fn inventory(&mut self) -> Result<Vec<Uid>, Self::Error>;
    fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8) -> Result<Vec<u8>, Self::Error>;
    fn write_blocks(&mut self, uid: &Uid, first: u8, data: &[u8]) -> Result<(), Self::Error>;
    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), Self::Error>;
    fn read_afi(&mut self, uid: &Uid) -> Result<u8, Self::Error>;
    /// DSFID and number of blocks, where the reader can tell.
    fn memory_info(&mut self, uid: &Uid) -> Result<(Option<u8>, Option<u16>), Self::Error>;
    fn read_eas(&mut self, uid: &Uid) -> Result<Option<bool>, Self::Error>;
    fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), Self::Error>;
    fn classify(error: &Self::Error) -> Failure;
}

impl<L: SerialLink> TagOps for Bibliotheca<L> {
    type Error = bibliotheca::Error;
    fn inventory(&mut self) -> Result<Vec<Uid>, Self::Error> {
        Bibliotheca::inventory(self)
    }
    fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8) -> Result<Vec<u8>, Self::Error> {
        Bibliotheca::read_blocks(self, uid, first, count)
    }
    fn write_blocks(&mut self, uid: &Uid, first: u8, data: &[u8]) -> Result<(), Self::Error> {
        Bibliotheca::write_blocks(self, uid, first, data)
    }
    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), Self::Error> {
        Bibliotheca::write_afi(self, uid, afi)
    }
    fn read_afi(&mut self, uid: &Uid) -> Result<u8, Self::Error> {
        Bibliotheca::read_afi(self, uid)
    }
    fn memory_info(&mut self, _uid: &Uid) -> Result<(Option<u8>, Option<u16>), Self::Error> {
        Ok((None, None))
    }
    fn read_eas(&mut self, uid: &Uid) -> Result<Option<bool>, Self::Error> {
        self.check_eas(uid).map(Some)
    }
    fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), Self::Error> {
        Bibliotheca::set_eas(self, uid, on)
    }
    fn classify(error: &Self::Error) -> Failure {
        match error {
            // The reader answers an addressed command with a non-zero status when the tag
            // does not respond.
            bibliotheca::Error::Status { .. } => Failure::TagGone,
            bibliotheca::Error::Link(e) => Failure::Link(e.to_string()),
            other => Failure::Protocol(other.to_string()),
        }
    }
}

impl<L: SerialLink> TagOps for Feig<L> {
    type Error = feig::Error;
    fn inventory(&mut self) -> Result<Vec<Uid>, Self::Error> {
        Feig::inventory(self)
    }
    fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8) -> Result<Vec<u8>, Self::Error> {
        Feig::read_blocks(self, uid, first, count)
    }
    fn write_blocks(&mut self, uid: &Uid, first: u8, data: &[u8]) -> Result<(), Self::Error> {
        Feig::write_blocks(self, uid, first, 4, data)
    }
    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), Self::Error> {
        Feig::write_afi(self, uid, afi)
    }
    fn read_afi(&mut self, uid: &Uid) -> Result<u8, Self::Error> {
        self.system_info(uid).map(|i| i.afi)
    }
    fn memory_info(&mut self, uid: &Uid) -> Result<(Option<u8>, Option<u16>), Self::Error> {
        self.system_info(uid)
            .map(|i| (Some(i.dsfid), Some(i.blocks)))
    }
    fn read_eas(&mut self, _uid: &Uid) -> Result<Option<bool>, Self::Error> {
        Ok(None)
    }
    fn set_eas(&mut self, uid: &Uid, on: bool) -> Result<(), Self::Error> {
        Feig::set_eas(self, uid, on)
    }
    fn classify(error: &Self::Error) -> Failure {
        match error {
            feig::Error::NoTransponder => Failure::TagGone,
            feig::Error::Iso15693(code) => Failure::Tag(*code),
            feig::Error::Unsupported => Failure::Unsupported,
            feig::Error::Link(e) => Failure::Link(e.to_string()),
            feig::Error::Status { .. } => Failure::Link(error.to_string()),
            other => Failure::Protocol(other.to_string()),
        }
    }
}

/// Reading and writing limits for [`SerialTagReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialReaderOptions {
    /// Blocks read when the reader cannot tell the tag's size (ICODE SLIX: 28).
    pub default_blocks: u16,
    /// Never read more blocks than this.
    pub max_blocks: u16,
    /// Blocks per read or write command.
    pub blocks_per_command: u8,
    /// Attempts for a write that must succeed.
    pub attempts: u8,
    /// Ask for the EAS state when reading a tag.
    pub read_eas: bool,
}

impl Default for SerialReaderOptions {
    fn default() -> Self {
        SerialReaderOptions {
            default_blocks: 28,
            max_blocks: 80,
            blocks_per_command: 8,
            attempts: 3,
            read_eas: true,
        }
    }
}

/// A serial reader as the kiosk's [`TagReader`].
pub struct SerialTagReader<R> {
    reader: R,
    options: SerialReaderOptions,
}

fn reader_error(failure: Failure, uid: &Uid) -> ReaderError {
    match failure {
        Failure::TagGone => ReaderError::TagGone(*uid),
        Failure::Tag(code) => ReaderError::TagError {
            uid: *uid,
            error: TagErrorCode::from_code(code),
        },
        Failure::Link(text) => ReaderError::Link(text),
        Failure::Protocol(text) => ReaderError::Protocol(text),
        Failure::Unsupported => ReaderError::Protocol("not supported by this reader".into()),
    }
}

impl<R: TagOps> SerialTagReader<R> {
    pub fn new(reader: R) -> Self {
        SerialTagReader {
            reader,
            options: SerialReaderOptions::default(),
        }
    }

    pub fn with_options(mut self, options: SerialReaderOptions) -> Self {
        self.options = options;
        self
    }

    pub fn into_inner(self) -> R {
        self.reader
    }

    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    fn read_memory(&mut self, uid: &Uid, blocks: u16) -> Result<Vec<u8>, ReaderError> {
        let step = u16::from(self.options.blocks_per_command.max(1));
        let mut memory = Vec::new();
        let mut first = 0u16;
        while first < blocks && first <= 255 {
            let count = step.min(blocks - first).min(256 - first) as u8;
            match self.reader.read_blocks(uid, first as u8, count) {
                Ok(bytes) => memory.extend_from_slice(&bytes),
                // A tag smaller than assumed refuses the blocks past its end: keep what came.
                Err(e) if first > 0 && !matches!(R::classify(&e), Failure::Link(_)) => break,
                Err(e) => return Err(reader_error(R::classify(&e), uid)),
            }
            first += u16::from(count);
        }
        Ok(memory)
    }

    /// Run `op` up to `attempts` times while it fails with something other than a dead link.
    fn retry<T>(
        &mut self,
        uid: &Uid,
        mut op: impl FnMut(&mut R) -> Result<T, R::Error>,
    ) -> Result<Result<T, Failure>, ReaderError> {
        let mut last = Failure::Unsupported;
        for _ in 0..self.options.attempts.max(1) {
            match op(&mut self.reader) {
                Ok(v) => return Ok(Ok(v)),
                Err(e) => match R::classify(&e) {
                    Failure::Link(text) => return Err(ReaderError::Link(text)),
                    Failure::Unsupported => return Ok(Err(Failure::Unsupported)),
                    other => last = other,
                },
            }
        }
        let _ = uid;
        Ok(Err(last))
    }
}

fn outcome_of(failure: Failure) -> WriteOutcome {
    match failure {
        Failure::TagGone => WriteOutcome::TagGone,
        Failure::Tag(code) => WriteOutcome::NotVerified {
            reason: format!("tag error {code:#04x}"),
        },
        Failure::Unsupported => WriteOutcome::NotVerified {
            reason: "not supported by this reader".into(),
        },
        Failure::Link(text) | Failure::Protocol(text) => WriteOutcome::NotVerified { reason: text },
    }
}

impl<R: TagOps> TagReader for SerialTagReader<R> {
    fn set_eas_reads(&mut self, on: bool) {
        self.options.read_eas = on;
    }

    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError> {
        self.reader.inventory().map_err(|e| match R::classify(&e) {
            Failure::Link(text) => ReaderError::Link(text),
            other => ReaderError::Protocol(format!("{other:?}: {e}")),
        })
    }

    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError> {
        let (dsfid, blocks) = self
            .reader
            .memory_info(uid)
            .map_err(|e| reader_error(R::classify(&e), uid))?;
        let blocks = blocks
            .unwrap_or(self.options.default_blocks)
            .min(self.options.max_blocks);
        let memory = self.read_memory(uid, blocks)?;
        let afi = match self.reader.read_afi(uid) {
            Ok(afi) => Some(afi),
            Err(e) if R::classify(&e) == Failure::TagGone => {
                return Err(ReaderError::TagGone(*uid));
            }
            Err(_) => None,
        };
        let eas = if self.options.read_eas {
            self.reader.read_eas(uid).ok().flatten()
        } else {
            None
        };
        Ok(LibraryTag {
            uid: *uid,
            afi,
            dsfid,
            eas,
            data: decode_memory(&memory, dsfid),
        })
    }

    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError> {
        let mut image = memory.to_vec();
        image.resize(memory.len().div_ceil(4) * 4, 0);
        let chunk = usize::from(self.options.blocks_per_command.max(1)) * 4;
        for (i, part) in image.chunks(chunk).enumerate() {
            let Ok(first) = u8::try_from(i * chunk / 4) else {
                return Ok(WriteOutcome::NotVerified {
                    reason: "image past block 255".into(),
                });
            };
            if let Err(f) = self.retry(uid, |r| r.write_blocks(uid, first, part))? {
                return Ok(outcome_of(f));
            }
        }
        let blocks = u16::try_from(image.len() / 4).unwrap_or(u16::MAX);
        let back = match self.read_memory(uid, blocks) {
            Ok(back) => back,
            Err(ReaderError::TagGone(_)) => return Ok(WriteOutcome::TagGone),
            Err(ReaderError::Link(text)) => return Err(ReaderError::Link(text)),
            Err(e) => {
                return Ok(WriteOutcome::NotVerified {
                    reason: e.to_string(),
                });
            }
        };
        if back == image {
            Ok(WriteOutcome::Verified)
        } else {
            Ok(WriteOutcome::NotVerified {
                reason: "memory read back differs".into(),
            })
        }
    }

    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError> {
        if config.use_afi {
            let afi = config.afi_for(security);
            if let Err(f) = self.retry(uid, |r| r.write_afi(uid, afi))? {
                return Ok(outcome_of(f));
            }
            match self.retry(uid, |r| r.read_afi(uid))? {
                Ok(read) if read == afi => {}
                Ok(read) => {
                    return Ok(WriteOutcome::NotVerified {
                        reason: format!("AFI reads {read:#04x}, expected {afi:#04x}"),
                    });
                }
                Err(f) => return Ok(outcome_of(f)),
            }
        }
        if config.use_eas {
            let on = security == Security::Secured;
            if let Err(f) = self.retry(uid, |r| r.set_eas(uid, on))? {
                return Ok(outcome_of(f));
            }
            match self.retry(uid, |r| r.read_eas(uid))? {
                Ok(Some(state)) if state == on => {}
                Ok(Some(_)) => {
                    return Ok(WriteOutcome::NotVerified {
                        reason: "EAS reads back wrong".into(),
                    });
                }
                Ok(None) => {
                    return Ok(WriteOutcome::NotVerified {
                        reason: "this reader cannot read the EAS bit back".into(),
                    });
                }
                Err(f) => return Ok(outcome_of(f)),
            }
        }
        Ok(WriteOutcome::Verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::serial::ScriptedLink;
    use crate::drivers::serial::bibliotheca::{START, encode_frame};
    use crate::drivers::serial::feig::{crc16, encode_request};

    const UID: Uid = [0x3E, 0x0A, 0x53, 0x31, 0x00, 0x01, 0x04, 0xE0];
    const UID_WIRE: [u8; 8] = [0xE0, 0x04, 0x01, 0x00, 0x31, 0x53, 0x0A, 0x3E];

    fn f3m(payload: &[u8]) -> Vec<u8> {
        encode_frame(START, payload).expect("frame")
    }

    fn feig_reply(status: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![(data.len() + 6) as u8, 0x00, 0xB0, status];
        out.extend_from_slice(data);
        out.extend_from_slice(&crc16(&out).to_le_bytes());
        out
    }

    #[test]
    fn bibliotheca_secures_and_verifies_the_afi() {
        let write = f3m(&[&[0x09][..], &UID_WIRE, &[0xC2]].concat());
        let write_ok = f3m(&[&[0x09, 0x00][..], &UID_WIRE].concat());
        let read = f3m(&[&[0x0A][..], &UID_WIRE].concat());
        let read_ok = f3m(&[&[0x0A, 0x00][..], &UID_WIRE, &[0xC2]].concat());
        let link = ScriptedLink::new()
            .expect(&write, &write_ok)
            .expect(&read, &read_ok);
        let mut r = SerialTagReader::new(Bibliotheca::new(link));
        let outcome = r.set_security(&UID, Security::Secured, &SecurityConfig::default());
        assert_eq!(outcome, Ok(WriteOutcome::Verified));
        r.into_inner().destroy().done();
    }

    #[test]
    fn bibliotheca_tag_lifted_during_afi_write() {
        let write = f3m(&[&[0x09][..], &UID_WIRE, &[0x07]].concat());
        let refused = f3m(&[&[0x09, 0x06][..], &UID_WIRE].concat());
        let link = ScriptedLink::new()
            .expect(&write, &refused)
            .expect(&write, &refused)
            .expect(&write, &refused);
        let mut r = SerialTagReader::new(Bibliotheca::new(link));
        let outcome = r.set_security(&UID, Security::Unsecured, &SecurityConfig::default());
        assert_eq!(outcome, Ok(WriteOutcome::TagGone));
        r.into_inner().destroy().done();
    }

    #[test]
    fn feig_reads_a_tag_with_system_information() {
        let mut info_req = vec![0x2B, 0x01];
        info_req.extend_from_slice(&UID_WIRE);
        let mut info = vec![0x00];
        info.extend_from_slice(&UID_WIRE);
        info.extend_from_slice(&[0x07, 0x03, 0x01, 0x01]); // 4-byte blocks, 2 blocks
        let mut read_req = vec![0x23, 0x01];
        read_req.extend_from_slice(&UID_WIRE);
        read_req.extend_from_slice(&[0x00, 0x02]);
        let read = [0x02, 0x04, 0x00, 0, 0, 0, 0, 0x00, 0, 0, 0, 0];
        let req = |d: &[u8]| encode_request(0xFF, 0xB0, d).expect("req");
        let link = ScriptedLink::new()
            .expect(&req(&info_req), &feig_reply(0, &info))
            .expect(&req(&read_req), &feig_reply(0, &read))
            .expect(&req(&info_req), &feig_reply(0, &info));
        let mut r = SerialTagReader::new(Feig::new(link));
        let tag = r.read_tag(&UID).expect("tag");
        assert_eq!(tag.uid, UID);
        assert_eq!(tag.afi, Some(0x07));
        assert_eq!(tag.dsfid, Some(0x00));
        assert_eq!(tag.eas, None);
        assert_eq!(tag.data, crate::rfid::tag::TagData::Blank);
        r.into_inner().destroy().done();
    }

    #[test]
    fn feig_write_is_read_back() {
        let mut write_req = vec![0x24, 0x01];
        write_req.extend_from_slice(&UID_WIRE);
        write_req.extend_from_slice(&[0x00, 0x01, 0x04, 0x11, 0x22, 0x33, 0x00]);
        let mut read_req = vec![0x23, 0x01];
        read_req.extend_from_slice(&UID_WIRE);
        read_req.extend_from_slice(&[0x00, 0x01]);
        let req = |d: &[u8]| encode_request(0xFF, 0xB0, d).expect("req");
        let link = ScriptedLink::new()
            .expect(&req(&write_req), &feig_reply(0, &[]))
            .expect(
                &req(&read_req),
                &feig_reply(0, &[0x01, 0x04, 0x00, 0x11, 0x22, 0x33, 0x00]),
            );
        let mut r = SerialTagReader::new(Feig::new(link));
        let outcome = r.write_data(&UID, &[0x11, 0x22, 0x33]).expect("write");
        assert_eq!(outcome, WriteOutcome::Verified);
        r.into_inner().destroy().done();
    }
}
