//! Programming a tag with an item's library data: the one way `selfcheck tag write`, the
//! bookstore counter and the staff programming page write tags.
//!
//! The memory image is written and read back, then the DSFID of the data model, then the
//! security (AFI and/or EAS as the site marks it), each verified; blocks are locked only when
//! asked and only after the data verified. What was written is reported step by step, with
//! the tag as read back at the end, so the person programming sees what the tag now holds.

use serde::Serialize;

use crate::rfid::reader::{ReaderError, Security, SecurityConfig, TagReader, WriteOutcome};
use crate::rfid::tag::{
    DataModel, EncodeError, ItemRecord, LibraryTag, Uid, dsfid_for, encode_item, hex, uid_hex,
};

/// Bytes of user memory of the smallest common library tag (ICODE SLIX: 28 blocks of 4).
pub const DEFAULT_CAPACITY: usize = 112;

/// Block size assumed when choosing which blocks to lock (library tags use 4-byte blocks).
const LOCK_BLOCK_SIZE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("cannot encode the item: {0}")]
    Encode(#[from] EncodeError),
    #[error("reader: {0}")]
    Reader(#[from] ReaderError),
    #[error("no tag on the pad")]
    NoTag,
    #[error("tag {0} is not on the pad")]
    NotOnPad(String),
    #[error("{0} tags on the pad: leave only the one to program, or name it")]
    SeveralTags(usize),
}

/// What to write on a tag.
#[derive(Debug, Clone)]
pub struct Programming<'a> {
    /// The item; its `model` is the data model written.
    pub record: &'a ItemRecord,
    /// `Secured` for an item going on the shelf; `Unsecured` for one leaving on loan (a
    /// counter book).
    pub security: Security,
    /// How the site marks security (its AFI values, AFI and/or EAS).
    pub security_config: SecurityConfig,
    /// Attempts at the security write and read-back (`rfid.security_retries`).
    pub security_attempts: u8,
    /// Lock the blocks holding the data for good.
    pub lock: bool,
    /// Bytes of user memory the image may use.
    pub capacity: usize,
}

/// What programming one tag did, step by step.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub uid: String,
    pub model: DataModel,
    /// The memory image written (hex).
    pub memory: String,
    pub data: WriteOutcome,
    /// `None`: the reader cannot write the DSFID (the data is still found by its content).
    pub dsfid: Option<WriteOutcome>,
    pub security: WriteOutcome,
    /// `None`: no lock was asked for.
    pub lock: Option<WriteOutcome>,
    /// The tag as read back after programming.
    pub tag: Option<LibraryTag>,
}

impl Written {
    /// Every step asked for was written and read back.
    pub fn is_verified(&self) -> bool {
        self.data.is_verified()
            && self.dsfid.as_ref().is_none_or(WriteOutcome::is_verified)
            && self.security.is_verified()
            && self.lock.as_ref().is_none_or(WriteOutcome::is_verified)
    }
}

/// The data model a site writes: `rfid.data_model`, where `auto` (read any) writes
/// ISO 28560-3.
pub fn model_to_write(setting: crate::config::DataModel) -> DataModel {
    match setting {
        crate::config::DataModel::Auto | crate::config::DataModel::Danish => DataModel::Iso28560_3,
        crate::config::DataModel::Iso15962 => DataModel::Iso28560_2,
    }
}

/// The tag to program: the one named (it must be on the pad), or the only one there.
pub fn pick_tag(reader: &mut dyn TagReader, uid: Option<Uid>) -> Result<Uid, ProgramError> {
    let uids = reader.inventory()?;
    match (uid, uids.as_slice()) {
        (Some(u), _) if uids.contains(&u) => Ok(u),
        (Some(u), _) => Err(ProgramError::NotOnPad(uid_hex(&u))),
        (None, [one]) => Ok(*one),
        (None, []) => Err(ProgramError::NoTag),
        (None, many) => Err(ProgramError::SeveralTags(many.len())),
    }
}

fn not_attempted(step: &str) -> WriteOutcome {
    WriteOutcome::NotVerified {
        reason: format!("not attempted: {step} did not verify"),
    }
}

/// Program the tag `uid` as `p` says, verifying each step by reading it back.
pub fn program_tag(
    reader: &mut dyn TagReader,
    uid: &Uid,
    p: &Programming<'_>,
) -> Result<Written, ProgramError> {
    let model = p.record.model;
    let image = encode_item(p.record, model, p.capacity)?;
    let data = reader.write_data(uid, &image)?;
    let (dsfid, security, lock) = if data.is_verified() {
        let dsfid = reader.write_dsfid(uid, dsfid_for(model))?;
        let security = crate::rfid::reader::set_security_retrying(
            reader,
            uid,
            p.security,
            &p.security_config,
            p.security_attempts,
        )?;
        let lock = if p.lock {
            let blocks = u8::try_from(image.len().div_ceil(LOCK_BLOCK_SIZE)).unwrap_or(u8::MAX);
            Some(reader.lock_blocks(uid, 0, blocks)?)
        } else {
            None
        };
        (dsfid, security, lock)
    } else {
        (
            None,
            not_attempted("the data"),
            p.lock.then(|| not_attempted("the data")),
        )
    };
    let tag = match reader.read_tag(uid) {
        Ok(tag) => Some(tag),
        Err(ReaderError::TagGone(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Written {
        uid: uid_hex(uid),
        model,
        memory: hex(&image),
        data,
        dsfid,
        security,
        lock,
        tag,
    })
}

/// Clear a tag's data (an undone counter loan): zeros over `capacity` bytes, read back.
pub fn wipe_tag(
    reader: &mut dyn TagReader,
    uid: &Uid,
    capacity: usize,
) -> Result<WriteOutcome, ProgramError> {
    Ok(reader.write_data(uid, &vec![0; capacity])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::reader::Iso15693Reader;
    use crate::rfid::sim::SimPad;
    use crate::rfid::tag::{TagData, TypeOfUsage};

    const UID: Uid = [9, 8, 7, 6, 5, 4, 4, 0xE0];

    fn record(model: DataModel) -> ItemRecord {
        let mut r = ItemRecord::new(model, TypeOfUsage::Circulating, "31990000000007");
        r.owner_isil = Some("IT-FI0001".into());
        r
    }

    fn programming(record: &ItemRecord, security: Security, lock: bool) -> Programming<'_> {
        Programming {
            record,
            security,
            security_config: SecurityConfig::default(),
            security_attempts: 1,
            lock,
            capacity: DEFAULT_CAPACITY,
        }
    }

    #[test]
    fn both_models_with_their_dsfid_and_security() {
        for (model, security, afi) in [
            (DataModel::Iso28560_3, Security::Secured, 0xC2),
            (DataModel::Iso28560_2, Security::Unsecured, 0x07),
        ] {
            let pad = SimPad::new();
            pad.place_blank(UID);
            let mut reader = Iso15693Reader::new(pad.clone());
            let r = record(model);
            let uid = pick_tag(&mut reader, None).expect("one tag");
            let written =
                program_tag(&mut reader, &uid, &programming(&r, security, false)).expect("program");
            assert!(written.is_verified(), "{written:?}");
            assert_eq!(written.lock, None);
            let tag = written.tag.expect("read back");
            assert_eq!(tag.afi, Some(afi));
            assert_eq!(tag.dsfid, Some(dsfid_for(model)));
            match tag.data {
                TagData::Decoded(back) => {
                    assert_eq!(back.primary_id, "31990000000007");
                    assert_eq!(back.owner_isil.as_deref(), Some("IT-FI0001"));
                    assert_eq!(back.model, model);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn lock_is_verified_and_keeps_the_data() {
        let pad = SimPad::new();
        pad.place_blank(UID);
        let mut reader = Iso15693Reader::new(pad.clone());
        let r = record(DataModel::Iso28560_3);
        let written = program_tag(&mut reader, &UID, &programming(&r, Security::Secured, true))
            .expect("program");
        assert_eq!(written.lock, Some(WriteOutcome::Verified));
        let locked = pad.tag(&UID).map(|t| t.locked).unwrap_or_default();
        assert_eq!(
            locked.iter().filter(|&&l| l).count(),
            9,
            "34 bytes: 9 blocks"
        );
        // Locked blocks cannot be wiped.
        let wipe = wipe_tag(&mut reader, &UID, DEFAULT_CAPACITY).expect("reader");
        assert!(!wipe.is_verified());
    }

    #[test]
    fn wipe_clears_the_data() {
        let pad = SimPad::new();
        pad.place_blank(UID);
        let mut reader = Iso15693Reader::new(pad.clone());
        let r = record(DataModel::Iso28560_3);
        program_tag(
            &mut reader,
            &UID,
            &programming(&r, Security::Unsecured, false),
        )
        .expect("program");
        assert!(
            wipe_tag(&mut reader, &UID, DEFAULT_CAPACITY)
                .expect("wipe")
                .is_verified()
        );
        assert_eq!(reader.read_tag(&UID).expect("read").data, TagData::Blank);
    }

    #[test]
    fn failed_data_write_leaves_the_rest_untouched() {
        let pad = SimPad::new();
        pad.place_blank(UID);
        pad.fail_writes(100);
        let mut reader = Iso15693Reader::new(pad.clone());
        let r = record(DataModel::Iso28560_3);
        let written = program_tag(&mut reader, &UID, &programming(&r, Security::Secured, true))
            .expect("reader works");
        assert!(!written.is_verified());
        assert!(!written.security.is_verified());
        assert!(written.lock.as_ref().is_some_and(|l| !l.is_verified()));
        assert!(pad.tag(&UID).is_some_and(|t| t.locked.iter().all(|l| !l)));
    }

    #[test]
    fn picking_the_tag() {
        let pad = SimPad::new();
        let mut reader = Iso15693Reader::new(pad.clone());
        assert!(matches!(
            pick_tag(&mut reader, None),
            Err(ProgramError::NoTag)
        ));
        pad.place_blank(UID);
        pad.place_blank([1, 0, 0, 0, 0, 0, 4, 0xE0]);
        assert!(matches!(
            pick_tag(&mut reader, None),
            Err(ProgramError::SeveralTags(2))
        ));
        assert_eq!(pick_tag(&mut reader, Some(UID)).expect("named"), UID);
        let absent = [7, 7, 7, 7, 7, 7, 4, 0xE0];
        assert!(matches!(
            pick_tag(&mut reader, Some(absent)),
            Err(ProgramError::NotOnPad(_))
        ));
    }
}
