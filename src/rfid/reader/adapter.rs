//! `TagReader` over any ISO 15693 transceiver.

use crate::rfid::iso15693::{
    self, Address, FrameError, InventoryError, InventoryOptions, InventoryStats, Request,
    SystemInfo, TagErrorCode,
};
use crate::rfid::iso28560::{part2, part3};
use crate::rfid::reader::{ReaderError, Security, SecurityConfig, TagReader, WriteOutcome};
use crate::rfid::tag::{LibraryTag, Uid, decode_memory};
use crate::rfid::transceiver::{Reply, Transceiver};

/// Tuning of the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Extra attempts after a failed exchange (no answer, garbled answer, write refused).
    pub retries: u8,
    /// Blocks asked for in one read multiple blocks request.
    pub blocks_per_read: u8,
    /// Bytes read first; the rest of the memory is read only when the data goes on past them
    /// (36 covers the ISO 28560-3 basic block and most ISO 28560-2 records).
    pub first_read_bytes: u16,
    /// Ask NXP tags for their EAS bit when reading them (one more exchange per tag).
    pub read_eas: bool,
    pub inventory: InventoryOptions,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            retries: 3,
            blocks_per_read: 16,
            first_read_bytes: 36,
            read_eas: true,
            inventory: InventoryOptions::default(),
        }
    }
}

/// The adapter from a raw ISO 15693 transceiver (PN5180, simulated pad) to [`TagReader`].
#[derive(Debug)]
pub struct Iso15693Reader<T> {
    transceiver: T,
    options: ReaderOptions,
    last_inventory: InventoryStats,
    /// Tags found by the last complete inventory: what the next one expects, unless the
    /// options fix it (the tags on a pad mostly stay from one poll to the next).
    last_count: Option<usize>,
}

/// The result of one addressed exchange, after retries.
enum Answer {
    Frame(Vec<u8>),
    /// Nothing intelligible came back however often we asked.
    Nothing,
}

impl<T: Transceiver> Iso15693Reader<T> {
    pub fn new(transceiver: T) -> Self {
        Self::with_options(transceiver, ReaderOptions::default())
    }

    pub fn with_options(transceiver: T, options: ReaderOptions) -> Self {
        Iso15693Reader {
            transceiver,
            options,
            last_inventory: InventoryStats::default(),
            last_count: None,
        }
    }

    pub fn transceiver(&mut self) -> &mut T {
        &mut self.transceiver
    }

    pub fn into_inner(self) -> T {
        self.transceiver
    }

    /// What the last inventory cost (rounds, slots, collisions).
    pub fn last_inventory(&self) -> InventoryStats {
        self.last_inventory
    }

    fn link(e: T::Error) -> ReaderError {
        ReaderError::Link(e.to_string())
    }

    /// Send `request`, retrying on silence and garbled replies.
    fn exchange(&mut self, request: &Request) -> Result<Answer, ReaderError> {
        let frame = request.encode();
        for _ in 0..=self.options.retries {
            match self.transceiver.transceive(&frame).map_err(Self::link)? {
                Reply::Frame(reply) => return Ok(Answer::Frame(reply)),
                Reply::Silent | Reply::Collision => {}
            }
        }
        Ok(Answer::Nothing)
    }

    /// Send `request` and parse its answer with `parse`; tag errors are retried only for
    /// writes that were "not programmed".
    fn call<R>(
        &mut self,
        uid: &Uid,
        request: &Request,
        parse: impl Fn(&[u8]) -> Result<R, FrameError>,
    ) -> Result<R, ReaderError> {
        let mut last = None;
        for _ in 0..=self.options.retries {
            let Answer::Frame(frame) = self.exchange(request)? else {
                return Err(ReaderError::TagGone(*uid));
            };
            match parse(&frame) {
                Ok(value) => return Ok(value),
                Err(FrameError::Tag(error @ TagErrorCode::NotProgrammed)) => {
                    last = Some(ReaderError::TagError { uid: *uid, error })
                }
                Err(FrameError::Tag(error)) => {
                    return Err(ReaderError::TagError { uid: *uid, error });
                }
                Err(other) => last = Some(ReaderError::Protocol(other.to_string())),
            }
        }
        Err(last.unwrap_or(ReaderError::TagGone(*uid)))
    }

    /// Get system information of one tag.
    pub fn system_info(&mut self, uid: &Uid) -> Result<SystemInfo, ReaderError> {
        let request = Request::GetSystemInfo {
            address: Address::Uid(*uid),
        };
        self.call(uid, &request, iso15693::parse_system_info)
    }

    /// Read `count` blocks from `first`, in as few requests as the options allow.
    pub fn read_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        count: u16,
    ) -> Result<Vec<u8>, ReaderError> {
        let mut memory = Vec::new();
        let mut block = u16::from(first);
        let end = u16::from(first) + count;
        let step = u16::from(self.options.blocks_per_read.max(1));
        while block < end {
            let n = step.min(end - block);
            let request = Request::ReadMultipleBlocks {
                address: Address::Uid(*uid),
                first: u8::try_from(block).unwrap_or(u8::MAX),
                count: n,
                security: false,
            };
            let blocks = self.call(uid, &request, |f| {
                iso15693::parse_blocks(f, usize::from(n), false)
            })?;
            for b in blocks {
                memory.extend_from_slice(&b.data);
            }
            block += n;
        }
        Ok(memory)
    }

    /// Whether the NXP EAS bit is set: the EAS alarm is answered only when it is. Only
    /// meaningful right after the tag answered another command.
    pub fn eas(&mut self, uid: &Uid) -> Result<bool, ReaderError> {
        let request = Request::NxpEasAlarm {
            address: Address::Uid(*uid),
        };
        let frame = request.encode();
        match self.transceiver.transceive(&frame).map_err(Self::link)? {
            Reply::Frame(reply) => Ok(reply.first().is_some_and(|f| f & 0x01 == 0)),
            Reply::Silent => Ok(false),
            // A garbled answer means something answered: the alarm is on.
            Reply::Collision => Ok(true),
        }
    }

    fn status(&mut self, uid: &Uid, request: &Request) -> Result<(), ReaderError> {
        self.call(uid, request, iso15693::parse_status)
    }

    fn is_nxp(uid: &Uid) -> bool {
        uid[6] == iso15693::NXP
    }

    fn geometry(sys: &SystemInfo) -> (usize, u16) {
        // Without a memory size, assume an ICODE SLIX (28 blocks of 4 bytes).
        (
            usize::from(sys.block_size.unwrap_or(4)),
            sys.block_count.unwrap_or(28),
        )
    }
}

/// Whether the data in the first bytes read goes on past them.
fn needs_more(prefix: &[u8], dsfid: Option<u8>) -> bool {
    if prefix.iter().all(|&b| b == 0) || prefix.iter().all(|&b| b == 0xFF) {
        return false;
    }
    if (dsfid == Some(part2::DSFID) || part2::looks_like(prefix))
        && part2::data_set_end(prefix).is_some()
    {
        return false;
    }
    match part3::decode(prefix) {
        // Extension blocks start at byte 34 (35 when the reader reverses blocks).
        Ok(record) if record.crc_ok == Some(true) => prefix
            .get(part3::BASIC_LEN..part3::BASIC_LEN + 2)
            .is_none_or(|b| b.iter().any(|&x| x != 0)),
        _ => true,
    }
}

/// Turn an error during a verified write into its outcome.
fn outcome_of(error: ReaderError) -> Result<WriteOutcome, ReaderError> {
    match error {
        ReaderError::TagGone(_) => Ok(WriteOutcome::TagGone),
        ReaderError::TagError { error, .. } => Ok(WriteOutcome::NotVerified {
            reason: format!("tag refused: {error}"),
        }),
        ReaderError::Protocol(reason) | ReaderError::Card(reason) => {
            Ok(WriteOutcome::NotVerified { reason })
        }
        link @ ReaderError::Link(_) => Err(link),
    }
}

impl<T: Transceiver> TagReader for Iso15693Reader<T> {
    fn inventory(&mut self) -> Result<Vec<Uid>, ReaderError> {
        let mut options = self.options.inventory;
        options.expected = options.expected.or(self.last_count);
        self.last_count = None;
        let (tags, stats) = iso15693::inventory(&mut self.transceiver, &options)
            .map_err(|InventoryError::Transceiver(e)| Self::link(e))?;
        self.last_inventory = stats;
        if !stats.truncated {
            self.last_count = Some(tags.len());
        }
        Ok(tags.into_iter().map(|t| t.uid).collect())
    }

    fn set_eas_reads(&mut self, on: bool) {
        self.options.read_eas = on;
    }

    fn read_tag(&mut self, uid: &Uid) -> Result<LibraryTag, ReaderError> {
        let sys = self.system_info(uid)?;
        let (size, count) = Self::geometry(&sys);
        let first = u16::try_from(usize::from(self.options.first_read_bytes).div_ceil(size.max(1)))
            .unwrap_or(count)
            .clamp(1, count.max(1));
        let mut read = self.read_blocks(uid, 0, first);
        if let Ok(memory) = &mut read
            && first < count
            && needs_more(memory, sys.dsfid)
        {
            match self.read_blocks(uid, u8::try_from(first).unwrap_or(u8::MAX), count - first) {
                Ok(rest) => memory.extend_from_slice(&rest),
                Err(e) => read = Err(e),
            }
        }
        let data = match read {
            Ok(memory) => decode_memory(&memory, sys.dsfid),
            Err(ReaderError::TagError { error, .. }) => crate::rfid::tag::TagData::Unreadable {
                reason: format!("read refused: {error}"),
            },
            Err(e) => return Err(e),
        };
        let eas = if self.options.read_eas && Self::is_nxp(uid) {
            Some(self.eas(uid)?)
        } else {
            None
        };
        Ok(LibraryTag {
            uid: *uid,
            afi: sys.afi,
            dsfid: sys.dsfid,
            eas,
            data,
        })
    }

    fn write_data(&mut self, uid: &Uid, memory: &[u8]) -> Result<WriteOutcome, ReaderError> {
        let sys = match self.system_info(uid) {
            Ok(sys) => sys,
            Err(e) => return outcome_of(e),
        };
        let (size, count) = Self::geometry(&sys);
        let capacity = size * usize::from(count);
        if memory.len() > capacity {
            return Ok(WriteOutcome::NotVerified {
                reason: format!("{} bytes do not fit in {capacity}", memory.len()),
            });
        }
        let blocks = u16::try_from(memory.len().div_ceil(size)).unwrap_or(u16::MAX);
        let mut image = memory.to_vec();
        image.resize(usize::from(blocks) * size, 0);
        let current = match self.read_blocks(uid, 0, blocks) {
            Ok(current) => current,
            Err(e) => return outcome_of(e),
        };
        // Only blocks that differ are written: fewer frames while the patron holds the book.
        for (i, (want, have)) in image.chunks(size).zip(current.chunks(size)).enumerate() {
            if want == have {
                continue;
            }
            let request = Request::WriteSingleBlock {
                address: Address::Uid(*uid),
                block: u8::try_from(i).unwrap_or(u8::MAX),
                data: want.to_vec(),
                option: false,
            };
            if let Err(e) = self.status(uid, &request) {
                return outcome_of(e);
            }
        }
        match self.read_blocks(uid, 0, blocks) {
            Ok(back) if back == image => Ok(WriteOutcome::Verified),
            Ok(_) => Ok(WriteOutcome::NotVerified {
                reason: "memory read back differs".into(),
            }),
            Err(e) => outcome_of(e),
        }
    }

    fn set_security(
        &mut self,
        uid: &Uid,
        security: Security,
        config: &SecurityConfig,
    ) -> Result<WriteOutcome, ReaderError> {
        let address = Address::Uid(*uid);
        let afi = config.afi_for(security);
        if config.use_afi {
            let request = Request::WriteAfi {
                address,
                afi,
                option: false,
            };
            if let Err(e) = self.status(uid, &request) {
                return outcome_of(e);
            }
        }
        let use_eas = config.use_eas && Self::is_nxp(uid);
        if use_eas {
            let request = match security {
                Security::Secured => Request::NxpSetEas { address },
                Security::Unsecured => Request::NxpResetEas { address },
            };
            if let Err(e) = self.status(uid, &request) {
                return outcome_of(e);
            }
        }
        // Read back: system information proves the tag is still there and gives the AFI.
        let sys = match self.system_info(uid) {
            Ok(sys) => sys,
            Err(e) => return outcome_of(e),
        };
        if config.use_afi && sys.afi != Some(afi) {
            return Ok(WriteOutcome::NotVerified {
                reason: format!("AFI reads back {:02X?}, expected {afi:02X}", sys.afi),
            });
        }
        if use_eas {
            let expected = security == Security::Secured;
            if self.eas(uid)? != expected {
                return Ok(WriteOutcome::NotVerified {
                    reason: "EAS reads back unchanged".into(),
                });
            }
        }
        if config.use_eas && !Self::is_nxp(uid) && !config.use_afi {
            return Ok(WriteOutcome::NotVerified {
                reason: "tag has no NXP EAS bit".into(),
            });
        }
        Ok(WriteOutcome::Verified)
    }

    fn write_dsfid(&mut self, uid: &Uid, dsfid: u8) -> Result<Option<WriteOutcome>, ReaderError> {
        let request = Request::WriteDsfid {
            address: Address::Uid(*uid),
            dsfid,
            option: false,
        };
        if let Err(e) = self.status(uid, &request) {
            return outcome_of(e).map(Some);
        }
        Ok(Some(match self.system_info(uid) {
            Ok(sys) if sys.dsfid == Some(dsfid) => WriteOutcome::Verified,
            Ok(sys) => WriteOutcome::NotVerified {
                reason: format!("DSFID reads back {:02X?}, expected {dsfid:02X}", sys.dsfid),
            },
            Err(e) => outcome_of(e)?,
        }))
    }

    fn lock_blocks(
        &mut self,
        uid: &Uid,
        first: u8,
        count: u8,
    ) -> Result<WriteOutcome, ReaderError> {
        for block in first..first.saturating_add(count) {
            let request = Request::LockBlock {
                address: Address::Uid(*uid),
                block,
                option: false,
            };
            match self.status(uid, &request) {
                // Locked before: the state asked for, and the read-back below checks it.
                Ok(())
                | Err(ReaderError::TagError {
                    error: TagErrorCode::BlockAlreadyLocked,
                    ..
                }) => {}
                Err(e) => return outcome_of(e),
            }
        }
        let request = Request::GetMultipleBlockSecurity {
            address: Address::Uid(*uid),
            first,
            count: u16::from(count),
        };
        match self.call(uid, &request, |frame| {
            iso15693::parse_security_status(frame, usize::from(count))
        }) {
            Ok(status) if status.iter().all(|s| s & 0x01 == 1) => Ok(WriteOutcome::Verified),
            Ok(_) => Ok(WriteOutcome::NotVerified {
                reason: "blocks read back unlocked".into(),
            }),
            Err(e) => outcome_of(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::sim::SimPad;
    use crate::rfid::tag::{DataModel, ItemRecord, TagData, TypeOfUsage, encode_item};

    fn uid(n: u64) -> Uid {
        (0xE004_0100_0000_0000 | n.wrapping_mul(0x9E37_79B9)).to_le_bytes()
    }

    fn stack(pad: &SimPad, n: u64) -> Vec<Uid> {
        (0..n)
            .map(|i| {
                let u = uid(i + 1);
                let model = if i % 2 == 0 {
                    DataModel::Iso28560_3
                } else {
                    DataModel::Iso28560_2
                };
                pad.place_item(u, &format!("3000{i:04}"), Some("DK-710100"), model)
                    .expect("valid");
                u
            })
            .collect()
    }

    #[test]
    fn reads_a_stack_of_ten_and_sets_security() {
        let pad = SimPad::new();
        let uids = stack(&pad, 10);
        let mut reader = Iso15693Reader::new(pad.clone());
        let mut found = reader.inventory().expect("sim");
        found.sort_unstable();
        let mut expected = uids.clone();
        expected.sort_unstable();
        assert_eq!(found, expected);
        let tags = reader.read_all().expect("sim");
        assert_eq!(tags.len(), 10);
        for tag in &tags {
            let TagData::Decoded(record) = &tag.data else {
                panic!("{tag}")
            };
            assert!(record.primary_id.starts_with("3000"));
            assert_eq!(record.owner_isil.as_deref(), Some("DK-710100"));
            assert_eq!(tag.afi, Some(0xC2));
            assert_eq!(tag.eas, Some(true));
        }
        let config = SecurityConfig {
            use_eas: true,
            ..SecurityConfig::default()
        };
        for u in &uids {
            let outcome = reader
                .set_security(u, Security::Unsecured, &config)
                .expect("sim");
            assert_eq!(outcome, WriteOutcome::Verified);
            let tag = pad.tag(u).expect("on pad");
            assert_eq!((tag.afi, tag.eas), (0x07, false));
        }
        let outcome = reader
            .set_security(&uids[0], Security::Secured, &config)
            .expect("sim");
        assert_eq!(outcome, WriteOutcome::Verified);
        assert!(pad.tag(&uids[0]).expect("on pad").eas);
    }

    #[test]
    fn lifted_mid_write_is_never_verified() {
        let pad = SimPad::new();
        let u = uid(7);
        pad.place_blank(u);
        let mut reader = Iso15693Reader::new(pad.clone());
        let record = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::Circulating, "12345678");
        let image = encode_item(&record, DataModel::Iso28560_3, 112).expect("valid");
        // System info, a read, then a few block writes answered, then gone.
        pad.lift_after_frames(&u, 5);
        let outcome = reader.write_data(&u, &image).expect("sim");
        assert_eq!(outcome, WriteOutcome::TagGone);
        let outcome = reader
            .set_security(&u, Security::Unsecured, &SecurityConfig::default())
            .expect("sim");
        assert_eq!(outcome, WriteOutcome::TagGone);
    }

    #[test]
    fn lifted_during_security_read_back() {
        let pad = SimPad::new();
        let u = uid(8);
        pad.place_item(u, "1", None, DataModel::Iso28560_3)
            .expect("valid");
        let mut reader = Iso15693Reader::new(pad.clone());
        pad.lift_after_frames(&u, 1);
        let outcome = reader
            .set_security(&u, Security::Unsecured, &SecurityConfig::default())
            .expect("sim");
        assert_eq!(outcome, WriteOutcome::TagGone);
    }

    #[test]
    fn write_data_verifies_and_retries() {
        let pad = SimPad::new();
        let u = uid(9);
        pad.place_blank(u);
        let mut reader = Iso15693Reader::new(pad.clone());
        let record = ItemRecord::new(DataModel::Iso28560_2, TypeOfUsage::Circulating, "0042");
        let image = encode_item(&record, DataModel::Iso28560_2, 112).expect("valid");
        pad.fail_writes(2);
        pad.corrupt_replies(1);
        assert_eq!(
            reader.write_data(&u, &image).expect("sim"),
            WriteOutcome::Verified
        );
        let tag = reader.read_tag(&u).expect("sim");
        assert_eq!(tag.data, TagData::Decoded(record));
    }

    #[test]
    fn long_records_are_read_past_the_first_bytes() {
        use crate::rfid::iso28560::part3::block_id;
        use crate::rfid::tag::{ExtraField, FieldValue};
        let pad = SimPad::new();
        let mut reader = Iso15693Reader::new(pad.clone());
        let mut long2 = ItemRecord::new(DataModel::Iso28560_2, TypeOfUsage::Circulating, "77");
        long2.title = Some("The Hitchhiker's Guide to the Galaxy, part one".into());
        let mut long3 = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::Circulating, "78");
        long3.extra.push(ExtraField {
            oid: None,
            block_id: Some(block_id::LIBRARY_SUPPLEMENT),
            name: "library supplement extension".into(),
            value: FieldValue::Bytes(vec![0x42; 20]),
        });
        for (n, record) in [(20, long2), (21, long3)] {
            let u = uid(n);
            pad.place_blank(u);
            let image = encode_item(&record, record.model, 112).expect("valid");
            assert!(image.len() > 36);
            assert_eq!(
                reader.write_data(&u, &image).expect("sim"),
                WriteOutcome::Verified
            );
            let TagData::Decoded(mut back) = reader.read_tag(&u).expect("sim").data else {
                panic!("not decoded")
            };
            if record.model == DataModel::Iso28560_3 {
                assert_eq!(back.crc_ok, Some(true));
                back.crc_ok = None;
            }
            assert_eq!(back, record);
        }
    }

    #[test]
    fn security_writes_are_attempted_as_often_as_the_setting_says() {
        use crate::rfid::reader::set_security_retrying;
        let pad = SimPad::new();
        let u = uid(11);
        pad.place_blank(u);
        // No retries inside one attempt: each refused write fails the attempt it is in.
        let mut reader = Iso15693Reader::with_options(
            pad.clone(),
            ReaderOptions {
                retries: 0,
                ..ReaderOptions::default()
            },
        );
        let config = SecurityConfig::default();
        pad.fail_writes(2);
        let outcome = set_security_retrying(&mut reader, &u, Security::Secured, &config, 2);
        assert!(
            !matches!(outcome, Ok(WriteOutcome::Verified)),
            "{outcome:?}"
        );
        pad.fail_writes(2);
        let outcome =
            set_security_retrying(&mut reader, &u, Security::Secured, &config, 3).expect("sim");
        assert_eq!(outcome, WriteOutcome::Verified);
        // A tag that left the pad is not tried again.
        pad.lift_after_frames(&u, 0);
        let outcome =
            set_security_retrying(&mut reader, &u, Security::Unsecured, &config, 5).expect("sim");
        assert_eq!(outcome, WriteOutcome::TagGone);
    }

    #[test]
    fn refused_writes_are_not_verified() {
        let pad = SimPad::new();
        let u = uid(10);
        pad.place_blank(u);
        pad.modify(&u, |t| t.afi_locked = true);
        let mut reader = Iso15693Reader::new(pad.clone());
        let outcome = reader
            .set_security(&u, Security::Secured, &SecurityConfig::default())
            .expect("sim");
        assert!(
            matches!(outcome, WriteOutcome::NotVerified { .. }),
            "{outcome:?}"
        );
        pad.fail_writes(100);
        let outcome = reader.write_data(&u, &[1, 2, 3, 4]).expect("sim");
        assert!(
            matches!(outcome, WriteOutcome::NotVerified { .. }),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_kiosk_can_own_it_on_another_thread() {
        fn assert_send<T: Send + 'static>(_: &T) {}
        let reader: Box<dyn TagReader + Send> = Box::new(Iso15693Reader::new(SimPad::new()));
        assert_send(&reader);
        let config: SecurityConfig = toml::from_str("use_eas = true").expect("valid");
        assert_eq!(
            config,
            SecurityConfig {
                use_eas: true,
                ..SecurityConfig::default()
            }
        );
    }

    #[test]
    fn link_failure_is_an_error() {
        let pad = SimPad::new();
        pad.fail_link(1);
        let mut reader = Iso15693Reader::new(pad);
        assert!(matches!(reader.inventory(), Err(ReaderError::Link(_))));
    }
}
