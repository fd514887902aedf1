//! The simulated pad: virtual ISO 15693 tags answering frames the way real ones do, behind the
//! same [`Transceiver`] port as a reader chip, with an air-time model so that the kiosk's timing
//! on a laptop is close to the real pad's. ISO 14443A patron cards can be placed on it too; it
//! answers card polls as a [`CardReader`], like a PN5180 switching protocol between rounds.
//!
//! [`SimPad`] is a cloneable handle: give one clone to the reader (the kiosk's thread) and keep
//! another to place and lift tags and cards, inject faults and read the virtual clock.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::rfid::card::{CardMemoryRead, CardRead, CardReader, CardUid, FACTORY_KEY};
use crate::rfid::iso15693::{
    Address, Mask, Request, SystemInfo, TagErrorCode, append_crc, check_crc, response_error,
    response_ok,
};
use crate::rfid::reader::ReaderError;
use crate::rfid::tag::{
    DataModel, EncodeError, ItemRecord, TypeOfUsage, Uid, dsfid_for, encode_item, parse_hex,
    parse_uid,
};
use crate::rfid::transceiver::{Reply, Transceiver};

/// Air-time model (ISO 15693-2, high data rate, one subcarrier).
pub mod air {
    use std::time::Duration;

    /// One byte in either direction.
    pub const BYTE: Duration = Duration::from_micros(300);
    /// From the end of a request to the start of the tag's answer.
    pub const RESPONSE_DELAY: Duration = Duration::from_micros(320);
    /// Start- and end-of-frame of one frame.
    pub const SOF_EOF: Duration = Duration::from_micros(100);
    /// A lone end-of-frame moving to the next inventory slot.
    pub const EOF: Duration = Duration::from_micros(40);
    /// Waiting out a slot (or a request) nobody answers.
    pub const EMPTY_SLOT: Duration = Duration::from_micros(500);

    /// One patron-card poll between item rounds, as the PN5180 does it: a field reset and
    /// guard time into ISO 14443A, wake-up and anticollision, and the same back to ISO 15693.
    pub const CARD_POLL: Duration = Duration::from_micros(21_500);
    /// Reading 16 bytes of the card's memory (with a MIFARE Classic authentication).
    pub const CARD_READ: Duration = Duration::from_micros(3_000);

    /// A frame of `len` bytes plus its CRC.
    pub fn frame(len: usize) -> Duration {
        SOF_EOF + BYTE * u32::try_from(len + 2).unwrap_or(u32::MAX)
    }
}

/// A virtual tag's protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagState {
    Ready,
    Quiet,
    Selected,
}

/// One virtual tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTag {
    pub uid: Uid,
    pub afi: u8,
    pub dsfid: u8,
    pub eas: bool,
    pub block_size: u8,
    pub memory: Vec<u8>,
    pub locked: Vec<bool>,
    pub afi_locked: bool,
    pub dsfid_locked: bool,
    pub ic_reference: u8,
    pub state: TagState,
}

impl SimTag {
    /// A blank NXP ICODE SLIX: 28 blocks of 4 bytes.
    pub fn blank(uid: Uid) -> Self {
        Self::with_memory(uid, 4, vec![0; 28 * 4])
    }

    /// A blank NXP ICODE SLIX2: 80 blocks of 4 bytes.
    pub fn blank_slix2(uid: Uid) -> Self {
        Self::with_memory(uid, 4, vec![0; 80 * 4])
    }

    /// A tag with the given memory (rounded up to whole blocks, at most 256 blocks).
    pub fn with_memory(uid: Uid, block_size: u8, mut memory: Vec<u8>) -> Self {
        let size = usize::from(block_size.clamp(1, 32));
        let blocks = memory.len().div_ceil(size).clamp(1, 256);
        memory.resize(blocks * size, 0);
        SimTag {
            uid,
            afi: 0,
            dsfid: 0,
            eas: false,
            block_size: block_size.clamp(1, 32),
            memory,
            locked: vec![false; blocks],
            afi_locked: false,
            dsfid_locked: false,
            ic_reference: 0x01,
            state: TagState::Ready,
        }
    }

    /// A SLIX programmed with `record` in `model`, secured (AFI 0xC2, EAS on).
    pub fn item(uid: Uid, record: &ItemRecord, model: DataModel) -> Result<Self, EncodeError> {
        let mut tag = SimTag::blank(uid);
        let image = encode_item(record, model, tag.memory.len())?;
        if let Some(dst) = tag.memory.get_mut(..image.len()) {
            dst.copy_from_slice(&image);
        }
        tag.dsfid = dsfid_for(model);
        tag.afi = 0xC2;
        tag.eas = true;
        Ok(tag)
    }

    fn block_count(&self) -> usize {
        self.memory.len() / usize::from(self.block_size.max(1))
    }

    fn is_nxp(&self) -> bool {
        self.uid[6] == crate::rfid::iso15693::NXP
    }

    fn afi_matches(&self, afi: u8) -> bool {
        let (hi, lo) = (afi >> 4, afi & 0x0F);
        afi == 0
            || (lo == 0 && hi == self.afi >> 4)
            || (hi == 0 && lo == self.afi & 0x0F)
            || afi == self.afi
    }
}

/// A virtual ISO 14443A patron card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCard {
    pub uid: CardUid,
    /// Memory from its start: MIFARE Classic blocks of 16 bytes, Ultralight pages of 4.
    pub memory: Vec<u8>,
    /// Key A of every MIFARE Classic sector.
    pub key_a: [u8; 6],
}

impl SimCard {
    /// A card with the given memory and the factory key.
    pub fn new(uid: CardUid, memory: Vec<u8>) -> Self {
        SimCard {
            uid,
            memory,
            key_a: FACTORY_KEY,
        }
    }

    fn read(&self, read: &CardMemoryRead) -> Result<Option<[u8; 16]>, ReaderError> {
        let refused = || ReaderError::Card("the card refused the READ".into());
        let start = match *read {
            CardMemoryRead::None => return Ok(None),
            CardMemoryRead::UltralightPages { page } => usize::from(page) * 4,
            CardMemoryRead::ClassicBlock { block, key_a } => {
                if key_a != self.key_a {
                    return Err(ReaderError::Card(
                        "MIFARE authentication refused (wrong key)".into(),
                    ));
                }
                usize::from(block) * 16
            }
        };
        let bytes = self.memory.get(start..start + 16).ok_or_else(refused)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(bytes);
        Ok(Some(out))
    }
}

#[derive(Debug, Default)]
struct Faults {
    /// (uid, frames the tag still answers before it is lifted)
    lift_after: Vec<(Uid, u32)>,
    corrupt_replies: u32,
    forced_collisions: u32,
    failing_writes: u32,
    link_failures: u32,
}

#[derive(Debug, Default)]
struct Pad {
    tags: Vec<SimTag>,
    cards: Vec<SimCard>,
    clock: Duration,
    frames: u64,
    /// Tags per slot of the running 16-slot inventory, and the next slot to open.
    slots: Vec<Vec<usize>>,
    next_slot: usize,
    faults: Faults,
    real_time: bool,
}

/// The reader's view of the simulated link failing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    #[error("simulated reader link failure")]
    LinkDown,
}

/// Loading a pad description failed.
#[derive(Debug, Error)]
pub enum SimLoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot parse the pad file: {0}")]
    Parse(String),
    #[error("tag {index}: {reason}")]
    BadTag { index: usize, reason: String },
}

/// A tag in a pad file (TOML `[[tag]]` tables or JSON `{"tags": [...]}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSpec {
    /// 16 hex digits, most significant byte first (E004...).
    pub uid: String,
    #[serde(default)]
    pub afi: Option<u8>,
    #[serde(default)]
    pub dsfid: Option<u8>,
    #[serde(default)]
    pub eas: Option<bool>,
    #[serde(default)]
    pub blocks: Option<u16>,
    #[serde(default)]
    pub block_size: Option<u8>,
    /// Raw memory image in hex; exclusive with `item`.
    #[serde(default)]
    pub memory: Option<String>,
    /// Primary item identifier to encode.
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub usage: Option<TypeOfUsage>,
    #[serde(default)]
    pub model: Option<DataModel>,
}

#[derive(Debug, Deserialize)]
struct PadFile {
    #[serde(alias = "tag", default)]
    tags: Vec<TagSpec>,
}

impl TagSpec {
    pub fn build(&self) -> Result<SimTag, String> {
        let uid = parse_uid(&self.uid).ok_or_else(|| format!("bad uid {:?}", self.uid))?;
        let block_size = self.block_size.unwrap_or(4).clamp(1, 32);
        let blocks = usize::from(self.blocks.unwrap_or(28).clamp(1, 256));
        let mut tag =
            SimTag::with_memory(uid, block_size, vec![0; blocks * usize::from(block_size)]);
        match (&self.memory, &self.item) {
            (Some(_), Some(_)) => return Err("give either memory or item, not both".into()),
            (Some(hex), None) => {
                let bytes = parse_hex(hex).ok_or("memory is not hex")?;
                if bytes.len() > tag.memory.len() {
                    return Err("memory image larger than the tag".into());
                }
                if let Some(dst) = tag.memory.get_mut(..bytes.len()) {
                    dst.copy_from_slice(&bytes);
                }
            }
            (None, Some(item)) => {
                let model = self.model.unwrap_or(DataModel::Iso28560_3);
                let mut record = ItemRecord::new(
                    model,
                    self.usage.unwrap_or(TypeOfUsage::Circulating),
                    item.clone(),
                );
                record.owner_isil = self.owner.clone();
                record.title = self.title.clone();
                let image =
                    encode_item(&record, model, tag.memory.len()).map_err(|e| e.to_string())?;
                if let Some(dst) = tag.memory.get_mut(..image.len()) {
                    dst.copy_from_slice(&image);
                }
                tag.dsfid = dsfid_for(model);
                tag.afi = 0xC2;
                tag.eas = true;
            }
            (None, None) => {}
        }
        if let Some(afi) = self.afi {
            tag.afi = afi;
        }
        if let Some(dsfid) = self.dsfid {
            tag.dsfid = dsfid;
        }
        if let Some(eas) = self.eas {
            tag.eas = eas;
        }
        Ok(tag)
    }
}

/// Handle on the simulated pad; clones share the same pad.
#[derive(Debug, Clone, Default)]
pub struct SimPad {
    inner: Arc<Mutex<Pad>>,
}

impl SimPad {
    pub fn new() -> Self {
        SimPad::default()
    }

    fn pad(&self) -> MutexGuard<'_, Pad> {
        // A panic elsewhere while holding the lock leaves the pad usable: it is only test data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Put a tag on the pad (replacing one with the same UID).
    pub fn place(&self, tag: SimTag) {
        let mut pad = self.pad();
        pad.tags.retain(|t| t.uid != tag.uid);
        pad.tags.push(tag);
    }

    pub fn place_blank(&self, uid: Uid) {
        self.place(SimTag::blank(uid));
    }

    /// Put a tag programmed for an item on the pad.
    pub fn place_item(
        &self,
        uid: Uid,
        primary_id: &str,
        owner_isil: Option<&str>,
        model: DataModel,
    ) -> Result<(), EncodeError> {
        let mut record = ItemRecord::new(model, TypeOfUsage::Circulating, primary_id);
        record.owner_isil = owner_isil.map(str::to_string);
        self.place(SimTag::item(uid, &record, model)?);
        Ok(())
    }

    /// Take a tag off the pad; false if it was not there.
    pub fn lift(&self, uid: &Uid) -> bool {
        let mut pad = self.pad();
        let before = pad.tags.len();
        pad.tags.retain(|t| &t.uid != uid);
        pad.tags.len() != before
    }

    pub fn clear(&self) {
        let mut pad = self.pad();
        pad.tags.clear();
        pad.cards.clear();
    }

    /// Put an ISO 14443A patron card with `memory` (and the factory key) on the pad,
    /// replacing one with the same UID.
    pub fn place_card(&self, uid: CardUid, memory: Vec<u8>) {
        self.place_sim_card(SimCard::new(uid, memory));
    }

    pub fn place_sim_card(&self, card: SimCard) {
        let mut pad = self.pad();
        pad.cards.retain(|c| c.uid != card.uid);
        pad.cards.push(card);
    }

    /// Take the patron cards off the pad; false if there were none.
    pub fn lift_card(&self) -> bool {
        let mut pad = self.pad();
        let had = !pad.cards.is_empty();
        pad.cards.clear();
        had
    }

    /// A copy of the patron cards now on the pad.
    pub fn cards(&self) -> Vec<SimCard> {
        self.pad().cards.clone()
    }

    /// A copy of the tags now on the pad.
    pub fn tags(&self) -> Vec<SimTag> {
        self.pad().tags.clone()
    }

    pub fn tag(&self, uid: &Uid) -> Option<SimTag> {
        self.pad().tags.iter().find(|t| &t.uid == uid).cloned()
    }

    /// Change a tag in place; false if it is not on the pad.
    pub fn modify(&self, uid: &Uid, change: impl FnOnce(&mut SimTag)) -> bool {
        let mut pad = self.pad();
        match pad.tags.iter_mut().find(|t| &t.uid == uid) {
            Some(tag) => {
                change(tag);
                true
            }
            None => false,
        }
    }

    pub fn set_afi(&self, uid: &Uid, afi: u8) -> bool {
        self.modify(uid, |t| t.afi = afi)
    }

    /// The tag answers `frames` more frames, then is lifted (a patron taking a book mid-write).
    pub fn lift_after_frames(&self, uid: &Uid, frames: u32) {
        let mut pad = self.pad();
        pad.faults.lift_after.retain(|(u, _)| u != uid);
        pad.faults.lift_after.push((*uid, frames));
    }

    /// The next `n` replies that a single tag sends arrive with a wrong CRC.
    pub fn corrupt_replies(&self, n: u32) {
        self.pad().faults.corrupt_replies = n;
    }

    /// The next `n` slots or replies where any tag answers are heard as collisions.
    pub fn force_collisions(&self, n: u32) {
        self.pad().faults.forced_collisions = n;
    }

    /// The next `n` writes (blocks, AFI, DSFID, EAS) are answered "not programmed".
    pub fn fail_writes(&self, n: u32) {
        self.pad().faults.failing_writes = n;
    }

    /// The next `n` exchanges fail as if the reader's link were down.
    pub fn fail_link(&self, n: u32) {
        self.pad().faults.link_failures = n;
    }

    /// Air time used since creation or the last reset.
    pub fn air_time(&self) -> Duration {
        self.pad().clock
    }

    /// Frames exchanged (requests and slot EOFs) since creation or the last reset.
    pub fn frames(&self) -> u64 {
        self.pad().frames
    }

    pub fn reset_clock(&self) {
        let mut pad = self.pad();
        pad.clock = Duration::ZERO;
        pad.frames = 0;
    }

    /// Really sleep for the modelled air time of each exchange (for demos).
    pub fn set_real_time(&self, on: bool) {
        self.pad().real_time = on;
    }

    /// Add the tags described in a TOML or JSON text.
    pub fn load_str(&self, text: &str) -> Result<usize, SimLoadError> {
        let file: PadFile = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| SimLoadError::Parse(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| SimLoadError::Parse(e.to_string()))?
        };
        let mut tags = Vec::with_capacity(file.tags.len());
        for (index, spec) in file.tags.iter().enumerate() {
            tags.push(
                spec.build()
                    .map_err(|reason| SimLoadError::BadTag { index, reason })?,
            );
        }
        let n = tags.len();
        for tag in tags {
            self.place(tag);
        }
        Ok(n)
    }

    /// Add the tags described in a TOML or JSON file.
    pub fn load_file(&self, path: &Path) -> Result<usize, SimLoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimLoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.load_str(&text)
    }

    fn exchange(&self, request: Option<&[u8]>) -> Result<Reply, SimError> {
        let (reply, spent, real_time) = {
            let mut pad = self.pad();
            let before = pad.clock;
            pad.frames += 1;
            if pad.faults.link_failures > 0 {
                pad.faults.link_failures -= 1;
                return Err(SimError::LinkDown);
            }
            pad.apply_lifts();
            let reply = match request {
                Some(frame) => pad.request(frame),
                None => pad.slot(),
            };
            (reply, pad.clock.saturating_sub(before), pad.real_time)
        };
        if real_time {
            std::thread::sleep(spent);
        }
        Ok(reply)
    }
}

impl CardReader for SimPad {
    fn poll_card(&mut self, read: &CardMemoryRead) -> Result<Option<CardRead>, ReaderError> {
        let (result, spent, real_time) = {
            let mut pad = self.pad();
            let before = pad.clock;
            pad.frames += 1;
            if pad.faults.link_failures > 0 {
                pad.faults.link_failures -= 1;
                return Err(ReaderError::Link(SimError::LinkDown.to_string()));
            }
            pad.clock += air::CARD_POLL;
            let result = match pad.cards.as_slice() {
                [] => Ok(None),
                [card] => card.read(read).map(|data| {
                    Some(CardRead {
                        uid: card.uid,
                        data,
                    })
                }),
                _ => Err(ReaderError::Card(
                    "several ISO 14443A cards are in the field".into(),
                )),
            };
            if *read != CardMemoryRead::None && matches!(result, Ok(Some(_))) {
                pad.clock += air::CARD_READ;
            }
            (result, pad.clock.saturating_sub(before), pad.real_time)
        };
        if real_time {
            std::thread::sleep(spent);
        }
        result
    }
}

impl Transceiver for SimPad {
    type Error = SimError;

    fn transceive(&mut self, request: &[u8]) -> Result<Reply, SimError> {
        self.exchange(Some(request))
    }

    fn next_slot(&mut self) -> Result<Reply, SimError> {
        self.exchange(None)
    }
}

/// What the tags sent back to one frame, before the reader hears it.
enum Answer {
    None,
    One(Vec<u8>),
    Many,
}

impl Pad {
    fn apply_lifts(&mut self) {
        let gone: Vec<Uid> = self
            .faults
            .lift_after
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(u, _)| *u)
            .collect();
        self.tags.retain(|t| !gone.contains(&t.uid));
        self.faults.lift_after.retain(|(_, n)| *n > 0);
        for (_, n) in &mut self.faults.lift_after {
            *n -= 1;
        }
    }

    fn request(&mut self, frame: &[u8]) -> Reply {
        self.clock += air::frame(frame.len());
        self.slots.clear();
        let mut sizes: Vec<u8> = self.tags.iter().map(|t| t.block_size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.is_empty() {
            sizes.push(4);
        }
        // Tags ignore frames they cannot parse.
        let Some(request) = sizes
            .iter()
            .find_map(|&s| Request::decode(frame, usize::from(s)).ok())
        else {
            return self.hear(Answer::None);
        };
        if let Request::Inventory {
            one_slot,
            afi,
            mask,
        } = request
        {
            return self.inventory(one_slot, afi, mask);
        }
        let answer = self.command(&request);
        self.hear(answer)
    }

    fn inventory(&mut self, one_slot: bool, afi: Option<u8>, mask: Mask) -> Reply {
        let answering: Vec<usize> = self
            .tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state != TagState::Quiet)
            .filter(|(_, t)| afi.is_none_or(|a| t.afi_matches(a)))
            .filter(|(_, t)| mask.matches(&t.uid))
            .map(|(i, _)| i)
            .collect();
        if one_slot {
            let answer = self.inventory_answer(&answering);
            return self.hear(answer);
        }
        let mut slots = vec![Vec::new(); 16];
        for &i in &answering {
            if let Some(tag) = self.tags.get(i)
                && let Some(slot) = slots.get_mut(usize::from(mask.slot_of(&tag.uid)))
            {
                slot.push(i);
            }
        }
        let first = slots.first().cloned().unwrap_or_default();
        self.slots = slots;
        self.next_slot = 1;
        let answer = self.inventory_answer(&first);
        self.hear(answer)
    }

    fn inventory_answer(&self, answering: &[usize]) -> Answer {
        match answering {
            [] => Answer::None,
            [i] => match self.tags.get(*i) {
                Some(tag) => {
                    let mut payload = vec![tag.dsfid];
                    payload.extend_from_slice(&tag.uid);
                    Answer::One(response_ok(&payload))
                }
                None => Answer::None,
            },
            _ => Answer::Many,
        }
    }

    fn slot(&mut self) -> Reply {
        self.clock += air::EOF;
        let Some(answering) = self.slots.get(self.next_slot).cloned() else {
            return self.hear(Answer::None);
        };
        self.next_slot += 1;
        let answer = self.inventory_answer(&answering);
        self.hear(answer)
    }

    /// The reader's side: timing, faults, collisions and the CRC check.
    fn hear(&mut self, answer: Answer) -> Reply {
        match answer {
            Answer::None => {
                self.clock += air::EMPTY_SLOT;
                Reply::Silent
            }
            Answer::Many => {
                self.clock += air::RESPONSE_DELAY + air::frame(10);
                Reply::Collision
            }
            Answer::One(mut frame) => {
                self.clock += air::RESPONSE_DELAY + air::frame(frame.len());
                if self.faults.forced_collisions > 0 {
                    self.faults.forced_collisions -= 1;
                    return Reply::Collision;
                }
                append_crc(&mut frame);
                if self.faults.corrupt_replies > 0 {
                    self.faults.corrupt_replies -= 1;
                    if let Some(last) = frame.last_mut() {
                        *last ^= 0x5A;
                    }
                }
                match check_crc(&frame) {
                    Some(body) => Reply::Frame(body.to_vec()),
                    None => Reply::Collision,
                }
            }
        }
    }

    fn targets(&self, address: &Address) -> Vec<usize> {
        self.tags
            .iter()
            .enumerate()
            .filter(|(_, t)| match address {
                Address::Uid(uid) => &t.uid == uid,
                Address::Selected => t.state == TagState::Selected,
                Address::Any => t.state != TagState::Quiet,
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn command(&mut self, request: &Request) -> Answer {
        let address = match request {
            Request::StayQuiet { uid } | Request::Select { uid } => Address::Uid(*uid),
            Request::ResetToReady { address }
            | Request::ReadSingleBlock { address, .. }
            | Request::ReadMultipleBlocks { address, .. }
            | Request::WriteSingleBlock { address, .. }
            | Request::WriteMultipleBlocks { address, .. }
            | Request::LockBlock { address, .. }
            | Request::WriteAfi { address, .. }
            | Request::LockAfi { address, .. }
            | Request::WriteDsfid { address, .. }
            | Request::LockDsfid { address, .. }
            | Request::GetSystemInfo { address }
            | Request::GetMultipleBlockSecurity { address, .. }
            | Request::NxpSetEas { address }
            | Request::NxpResetEas { address }
            | Request::NxpLockEas { address }
            | Request::NxpEasAlarm { address } => *address,
            Request::Inventory { .. } => return Answer::None,
        };
        if let Request::Select { uid } = request {
            for tag in &mut self.tags {
                if tag.state == TagState::Selected && &tag.uid != uid {
                    tag.state = TagState::Ready;
                }
            }
        }
        let targets = self.targets(&address);
        let is_write = matches!(
            request,
            Request::WriteSingleBlock { .. }
                | Request::WriteMultipleBlocks { .. }
                | Request::WriteAfi { .. }
                | Request::WriteDsfid { .. }
                | Request::NxpSetEas { .. }
                | Request::NxpResetEas { .. }
        );
        if is_write && !targets.is_empty() && self.faults.failing_writes > 0 {
            self.faults.failing_writes -= 1;
            return Answer::One(response_error(TagErrorCode::NotProgrammed));
        }
        let mut answers: Vec<Vec<u8>> = Vec::new();
        for i in targets {
            if let Some(tag) = self.tags.get_mut(i)
                && let Some(frame) = respond(tag, request)
            {
                answers.push(frame);
            }
        }
        match answers.len() {
            0 => Answer::None,
            1 => answers.pop().map_or(Answer::None, Answer::One),
            _ => Answer::Many,
        }
    }
}

/// One tag's answer to a request addressed to it (`None`: it stays silent).
fn respond(tag: &mut SimTag, request: &Request) -> Option<Vec<u8>> {
    let err = |code| Some(response_error(code));
    let ok = || Some(response_ok(&[]));
    let blocks = tag.block_count();
    match request {
        Request::Inventory { .. } => None,
        Request::StayQuiet { .. } => {
            tag.state = TagState::Quiet;
            None
        }
        Request::Select { .. } => {
            tag.state = TagState::Selected;
            ok()
        }
        Request::ResetToReady { .. } => {
            tag.state = TagState::Ready;
            ok()
        }
        Request::ReadSingleBlock {
            block, security, ..
        } => read_blocks(tag, usize::from(*block), 1, *security),
        Request::ReadMultipleBlocks {
            first,
            count,
            security,
            ..
        } => read_blocks(tag, usize::from(*first), usize::from(*count), *security),
        Request::WriteSingleBlock { block, data, .. } => {
            write_blocks(tag, usize::from(*block), data)
        }
        Request::WriteMultipleBlocks { first, data, .. } => {
            write_blocks(tag, usize::from(*first), data)
        }
        Request::LockBlock { block, .. } => match tag.locked.get_mut(usize::from(*block)) {
            None => err(TagErrorCode::BlockNotAvailable),
            Some(true) => err(TagErrorCode::BlockAlreadyLocked),
            Some(locked) => {
                *locked = true;
                ok()
            }
        },
        Request::WriteAfi { afi, .. } => {
            if tag.afi_locked {
                return err(TagErrorCode::BlockLocked);
            }
            tag.afi = *afi;
            ok()
        }
        Request::LockAfi { .. } => {
            if tag.afi_locked {
                return err(TagErrorCode::BlockAlreadyLocked);
            }
            tag.afi_locked = true;
            ok()
        }
        Request::WriteDsfid { dsfid, .. } => {
            if tag.dsfid_locked {
                return err(TagErrorCode::BlockLocked);
            }
            tag.dsfid = *dsfid;
            ok()
        }
        Request::LockDsfid { .. } => {
            if tag.dsfid_locked {
                return err(TagErrorCode::BlockAlreadyLocked);
            }
            tag.dsfid_locked = true;
            ok()
        }
        Request::GetSystemInfo { .. } => Some(
            SystemInfo {
                uid: tag.uid,
                dsfid: Some(tag.dsfid),
                afi: Some(tag.afi),
                block_size: Some(tag.block_size),
                block_count: u16::try_from(blocks).ok(),
                ic_reference: Some(tag.ic_reference),
            }
            .encode(),
        ),
        Request::GetMultipleBlockSecurity { first, count, .. } => {
            let (first, count) = (usize::from(*first), usize::from(*count));
            match tag.locked.get(first..first + count) {
                Some(locked) => Some(response_ok(
                    &locked.iter().map(|&l| u8::from(l)).collect::<Vec<_>>(),
                )),
                None => err(TagErrorCode::BlockNotAvailable),
            }
        }
        // Custom commands of another manufacturer are ignored.
        Request::NxpSetEas { .. } | Request::NxpResetEas { .. } | Request::NxpLockEas { .. }
            if !tag.is_nxp() =>
        {
            None
        }
        Request::NxpEasAlarm { .. } if !tag.is_nxp() => None,
        Request::NxpSetEas { .. } => {
            tag.eas = true;
            ok()
        }
        Request::NxpResetEas { .. } => {
            tag.eas = false;
            ok()
        }
        Request::NxpLockEas { .. } => ok(),
        // The alarm answer is a fixed 256-bit sequence; without EAS the tag stays silent.
        Request::NxpEasAlarm { .. } => tag.eas.then(|| response_ok(&EAS_SEQUENCE)),
    }
}

const EAS_SEQUENCE: [u8; 32] = [0xA5; 32];

fn read_blocks(tag: &SimTag, first: usize, count: usize, security: bool) -> Option<Vec<u8>> {
    let size = usize::from(tag.block_size);
    let Some(data) = tag.memory.get(first * size..(first + count) * size) else {
        return Some(response_error(TagErrorCode::BlockNotAvailable));
    };
    let mut payload = Vec::with_capacity(count * (size + 1));
    for (i, block) in data.chunks(size).enumerate() {
        if security {
            payload.push(u8::from(
                tag.locked.get(first + i).copied().unwrap_or(false),
            ));
        }
        payload.extend_from_slice(block);
    }
    Some(response_ok(&payload))
}

fn write_blocks(tag: &mut SimTag, first: usize, data: &[u8]) -> Option<Vec<u8>> {
    let size = usize::from(tag.block_size);
    let count = data.len() / size.max(1);
    if !data.len().is_multiple_of(size.max(1)) || first + count > tag.block_count() {
        return Some(response_error(TagErrorCode::BlockNotAvailable));
    }
    if tag
        .locked
        .get(first..first + count)
        .is_some_and(|l| l.iter().any(|&b| b))
    {
        return Some(response_error(TagErrorCode::BlockLocked));
    }
    match tag.memory.get_mut(first * size..first * size + data.len()) {
        Some(dst) => {
            dst.copy_from_slice(data);
            Some(response_ok(&[]))
        }
        None => Some(response_error(TagErrorCode::BlockNotAvailable)),
    }
}

/// A stable UID for an item (and part) when a script or the demo gives none: NXP SLIX prefix plus a
/// hash of the id.
pub fn uid_for(item: &str, part: u8) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in item.bytes().chain([part]) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("E00401{:010X}", h & 0xFF_FFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::iso15693::{parse_blocks, parse_inventory, parse_status, parse_system_info};

    const UID: Uid = [0x78, 0x56, 0x34, 0x12, 0x01, 0x02, 0x04, 0xE0];

    #[test]
    fn single_tag_inventory_and_air_time() {
        let mut pad = SimPad::new();
        pad.place_blank(UID);
        let reply = pad.transceive(&[0x26, 0x01, 0x00]).expect("sim");
        let Reply::Frame(frame) = reply else {
            panic!("expected a frame, got {reply:?}")
        };
        assert_eq!(parse_inventory(&frame).expect("valid").uid, UID);
        // Request 5 bytes and a 12-byte reply: about 5.5 ms.
        let t = pad.air_time();
        assert!(
            t > Duration::from_millis(5) && t < Duration::from_millis(6),
            "{t:?}"
        );
    }

    #[test]
    fn addressed_read_of_eight_blocks_takes_about_15_ms() {
        let mut pad = SimPad::new();
        pad.place_blank(UID);
        let req = Request::ReadMultipleBlocks {
            address: Address::Uid(UID),
            first: 0,
            count: 8,
            security: false,
        };
        let Reply::Frame(frame) = pad.transceive(&req.encode()).expect("sim") else {
            panic!("no frame")
        };
        assert_eq!(parse_blocks(&frame, 8, false).expect("valid").len(), 8);
        let ms = pad.air_time().as_secs_f64() * 1e3;
        assert!((14.0..17.0).contains(&ms), "{ms}");
    }

    #[test]
    fn locked_blocks_and_afi() {
        let mut pad = SimPad::new();
        pad.place_blank(UID);
        let a = Address::Uid(UID);
        let send = |pad: &mut SimPad, r: Request| match pad.transceive(&r.encode()).expect("sim") {
            Reply::Frame(f) => f,
            other => panic!("{other:?}"),
        };
        let f = send(
            &mut pad,
            Request::LockBlock {
                address: a,
                block: 2,
                option: false,
            },
        );
        assert_eq!(parse_status(&f), Ok(()));
        let write = Request::WriteSingleBlock {
            address: a,
            block: 2,
            data: vec![1, 2, 3, 4],
            option: false,
        };
        let f = send(&mut pad, write);
        assert_eq!(
            parse_status(&f),
            Err(crate::rfid::iso15693::FrameError::Tag(
                TagErrorCode::BlockLocked
            ))
        );
        let f = send(
            &mut pad,
            Request::WriteAfi {
                address: a,
                afi: 0x07,
                option: false,
            },
        );
        assert_eq!(parse_status(&f), Ok(()));
        let f = send(&mut pad, Request::GetSystemInfo { address: a });
        let sys = parse_system_info(&f).expect("valid");
        assert_eq!(
            (sys.afi, sys.block_count, sys.block_size),
            (Some(0x07), Some(28), Some(4))
        );
        let f = send(
            &mut pad,
            Request::ReadMultipleBlocks {
                address: a,
                first: 1,
                count: 2,
                security: true,
            },
        );
        let blocks = parse_blocks(&f, 2, true).expect("valid");
        assert_eq!((blocks[0].security, blocks[1].security), (Some(0), Some(1)));
    }

    #[test]
    fn faults() {
        let mut pad = SimPad::new();
        pad.place_blank(UID);
        pad.corrupt_replies(1);
        assert_eq!(pad.transceive(&[0x26, 0x01, 0x00]), Ok(Reply::Collision));
        assert!(matches!(
            pad.transceive(&[0x26, 0x01, 0x00]),
            Ok(Reply::Frame(_))
        ));
        pad.fail_link(1);
        assert_eq!(pad.transceive(&[0x26, 0x01, 0x00]), Err(SimError::LinkDown));
        pad.lift_after_frames(&UID, 1);
        assert!(matches!(
            pad.transceive(&[0x26, 0x01, 0x00]),
            Ok(Reply::Frame(_))
        ));
        assert_eq!(pad.transceive(&[0x26, 0x01, 0x00]), Ok(Reply::Silent));
        assert!(pad.tag(&UID).is_none());
    }

    #[test]
    fn two_tags_collide_in_one_slot() {
        let mut pad = SimPad::new();
        pad.place_blank(UID);
        let mut other = UID;
        other[0] = 0x77;
        pad.place_blank(other);
        assert_eq!(pad.transceive(&[0x26, 0x01, 0x00]), Ok(Reply::Collision));
    }

    #[test]
    fn load_toml_and_json() {
        let pad = SimPad::new();
        let toml = r#"
            [[tag]]
            uid = "E004010012345678"
            item = "11223344"
            owner = "DK-710100"

            [[tag]]
            uid = "E0040100AABBCCDD"
            memory = "11010131313232333334340000000000000000513e4445373035000000000000"
            afi = 7
        "#;
        assert_eq!(pad.load_str(toml).expect("valid"), 2);
        let json =
            r#"{"tags": [{"uid": "E0:04:01:00:00:00:00:01", "model": "iso28560_2", "item": "9"}]}"#;
        assert_eq!(pad.load_str(json).expect("valid"), 1);
        assert_eq!(pad.tags().len(), 3);
        assert!(pad.load_str("[[tag]]\nuid = \"nope\"").is_err());
        assert!(
            pad.load_str("[[tag]]\nuid = \"E004010012345678\"\ncolour = 1")
                .is_err()
        );
    }

    #[test]
    fn cards_on_the_pad_answer_polls() {
        let mut pad = SimPad::new();
        let uid = CardUid::parse("DEADBEEF").expect("uid");
        let mut memory = vec![0u8; 64 * 16];
        memory[4 * 16..4 * 16 + 4].copy_from_slice(b"4711");
        let key = [1, 2, 3, 4, 5, 6];
        pad.place_sim_card(SimCard {
            key_a: key,
            ..SimCard::new(uid, memory)
        });
        let before = pad.air_time();
        let read = CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: key,
        };
        let card = pad.poll_card(&read).expect("poll").expect("card");
        assert_eq!(card.data.map(|d| d[..4].to_vec()), Some(b"4711".to_vec()));
        assert_eq!(pad.air_time() - before, air::CARD_POLL + air::CARD_READ);
        let wrong = CardMemoryRead::ClassicBlock {
            block: 4,
            key_a: FACTORY_KEY,
        };
        assert!(matches!(pad.poll_card(&wrong), Err(ReaderError::Card(_))));
        let past_the_end = CardMemoryRead::UltralightPages { page: 255 };
        assert!(matches!(
            pad.poll_card(&past_the_end),
            Err(ReaderError::Card(_))
        ));

        pad.place_card(CardUid::parse("01020304").expect("uid"), Vec::new());
        assert!(matches!(
            pad.poll_card(&CardMemoryRead::None),
            Err(ReaderError::Card(_))
        ));
        pad.fail_link(1);
        assert!(matches!(
            pad.poll_card(&CardMemoryRead::None),
            Err(ReaderError::Link(_))
        ));
        assert!(pad.lift_card());
        assert_eq!(pad.poll_card(&CardMemoryRead::None), Ok(None));
        assert!(!pad.lift_card());
    }
}
