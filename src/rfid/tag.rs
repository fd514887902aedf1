//! One model of a library tag, whatever data model its memory uses.
//!
//! `decode_memory` never fails and never panics: whatever the bytes, the kiosk gets a
//! `TagData` it can show (a decoded record, possibly with warnings; blank; or unreadable with
//! a reason). `encode_item` is strict: it produces only memory images that decode to the same
//! record.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rfid::iso28560::{part2, part3};

/// An ISO 15693 UID in transmission order: `uid[0]` is the least significant byte and `uid[7]`
/// is 0xE0. People and labels write it the other way round; see [`uid_hex`].
pub type Uid = [u8; 8];

/// The UID as usually printed: most significant byte first, upper-case hex (`E004...`).
pub fn uid_hex(uid: &Uid) -> String {
    uid.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// Parse a UID printed most significant byte first (16 hex digits, spaces and colons allowed).
pub fn parse_uid(text: &str) -> Option<Uid> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'-'))
        .collect();
    if digits.len() != 16 {
        return None;
    }
    let mut uid = [0u8; 8];
    for (i, pair) in digits.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        let byte = u8::from_str_radix(s, 16).ok()?;
        *uid.get_mut(7 - i)? = byte;
    }
    Some(uid)
}

/// Which data model a tag's memory follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataModel {
    /// ISO 28560-3, the fixed-length "Danish" model.
    Iso28560_3,
    /// ISO 28560-2, ISO/IEC 15962 encoding (DSFID 0x06; also the Chinese WH/T 43 model).
    Iso28560_2,
}

impl fmt::Display for DataModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataModel::Iso28560_3 => "ISO 28560-3",
            DataModel::Iso28560_2 => "ISO 28560-2",
        })
    }
}

/// What the item is for (ISO 28560-1 type of usage, main class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeOfUsage {
    Acquisition,
    Circulating,
    NotForCirculation,
    /// Class 3 or 4: defined by the library.
    Local(u8),
    /// Class 6: no information on the tag.
    NoInformation,
    Discarded,
    PatronCard,
    Equipment,
    /// A class the standard reserves for future use.
    Other(u8),
}

impl TypeOfUsage {
    /// The main class (0..=15).
    pub fn class(self) -> u8 {
        match self {
            TypeOfUsage::Acquisition => 0,
            TypeOfUsage::Circulating => 1,
            TypeOfUsage::NotForCirculation => 2,
            TypeOfUsage::Local(c) | TypeOfUsage::Other(c) => c & 0x0F,
            TypeOfUsage::NoInformation => 6,
            TypeOfUsage::Discarded => 7,
            TypeOfUsage::PatronCard => 8,
            TypeOfUsage::Equipment => 9,
        }
    }

    /// The usage of a main class (only the low nibble counts).
    pub fn from_class(class: u8) -> Self {
        match class & 0x0F {
            0 => TypeOfUsage::Acquisition,
            1 => TypeOfUsage::Circulating,
            2 => TypeOfUsage::NotForCirculation,
            c @ (3 | 4) => TypeOfUsage::Local(c),
            6 => TypeOfUsage::NoInformation,
            7 => TypeOfUsage::Discarded,
            8 => TypeOfUsage::PatronCard,
            9 => TypeOfUsage::Equipment,
            c => TypeOfUsage::Other(c),
        }
    }

    /// Whether a value of this variant is one `from_class` could produce.
    pub fn is_canonical(self) -> bool {
        TypeOfUsage::from_class(self.class()) == self
            && match self {
                TypeOfUsage::Local(c) | TypeOfUsage::Other(c) => c < 16,
                _ => true,
            }
    }
}

impl fmt::Display for TypeOfUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeOfUsage::Acquisition => f.write_str("acquisition item"),
            TypeOfUsage::Circulating => f.write_str("item for circulation"),
            TypeOfUsage::NotForCirculation => f.write_str("item not for circulation"),
            TypeOfUsage::Local(c) => write!(f, "local use ({c})"),
            TypeOfUsage::NoInformation => f.write_str("no usage information"),
            TypeOfUsage::Discarded => f.write_str("discarded item"),
            TypeOfUsage::PatronCard => f.write_str("patron card"),
            TypeOfUsage::Equipment => f.write_str("library equipment"),
            TypeOfUsage::Other(c) => write!(f, "reserved usage class {c}"),
        }
    }
}

/// Multi-part sets: part `part_no` of `parts` (a CD box with 3 discs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SetInfo {
    pub parts: u8,
    pub part_no: u8,
}

/// An ISO 28560-1 data element other than the ones `ItemRecord` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraField {
    /// Relative OID (ISO 28560-1 numbering, 1..=26 defined); for ISO 28560-3 extension blocks,
    /// the block id is kept in `block_id` instead.
    pub oid: Option<u8>,
    /// Extension block id (ISO 28560-3) when the field came from one.
    pub block_id: Option<u16>,
    pub name: String,
    pub value: FieldValue,
}

/// A data element's value: text where it decodes as text, else the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    Text(String),
    Bytes(#[serde(serialize_with = "hex_bytes")] Vec<u8>),
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(bytes))
}

/// Lower-case hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse hex digits (whitespace ignored); `None` on anything else or an odd count.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect()
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(t) => f.write_str(t),
            FieldValue::Bytes(b) => write!(f, "0x{}", hex(b)),
        }
    }
}

/// The library data on an item's (or patron card's) tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub model: DataModel,
    pub type_of_usage: TypeOfUsage,
    /// The item's barcode number, or the patron's card number.
    pub primary_id: String,
    pub set: Option<SetInfo>,
    /// Owner library ISIL (`DK-710100`, `FI-He`); ISO 28560-3 stores it without the hyphen.
    pub owner_isil: Option<String>,
    pub title: Option<String>,
    pub shelf_location: Option<String>,
    /// Further data elements, in the order they were found.
    pub extra: Vec<ExtraField>,
    /// Whether the record's checksum matched (`None` where the model has none).
    pub crc_ok: Option<bool>,
    /// What the decoder had to tolerate; a record with warnings is "suspect".
    pub warnings: Vec<String>,
}

impl ItemRecord {
    /// A record with only the mandatory fields set.
    pub fn new(
        model: DataModel,
        type_of_usage: TypeOfUsage,
        primary_id: impl Into<String>,
    ) -> Self {
        ItemRecord {
            model,
            type_of_usage,
            primary_id: primary_id.into(),
            set: None,
            owner_isil: None,
            title: None,
            shelf_location: None,
            extra: Vec::new(),
            crc_ok: None,
            warnings: Vec::new(),
        }
    }

    /// A checksum mismatch or a tolerated oddity: show the data, but do not trust it blindly.
    pub fn is_suspect(&self) -> bool {
        self.crc_ok == Some(false) || !self.warnings.is_empty()
    }
}

/// What a tag's memory holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TagData {
    Decoded(ItemRecord),
    /// Never programmed (all 0x00 or all 0xFF).
    Blank,
    Unreadable {
        reason: String,
    },
}

/// A tag as read from the pad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryTag {
    #[serde(serialize_with = "uid_ser", deserialize_with = "uid_de")]
    pub uid: Uid,
    pub afi: Option<u8>,
    pub dsfid: Option<u8>,
    pub eas: Option<bool>,
    pub data: TagData,
}

fn uid_ser<S: serde::Serializer>(uid: &Uid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&uid_hex(uid))
}

fn uid_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Uid, D::Error> {
    let text = String::deserialize(d)?;
    parse_uid(&text).ok_or_else(|| serde::de::Error::custom("a UID is 16 hex digits"))
}

/// Why a record cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("the primary item identifier is empty")]
    EmptyPrimaryId,
    #[error("{field} is too long for the data model ({len} > {max})")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} holds characters the data model cannot store: {value:?}")]
    BadCharacters { field: &'static str, value: String },
    #[error("the set information is inconsistent (part {part_no} of {parts})")]
    BadSet { parts: u8, part_no: u8 },
    #[error("{field} cannot be stored in this data model")]
    Unsupported { field: String },
    #[error("the encoded data needs {needed} bytes but the tag holds {capacity}")]
    NoRoom { needed: usize, capacity: usize },
}

/// The DSFID a tag gets when written with `model`.
pub fn dsfid_for(model: DataModel) -> u8 {
    match model {
        DataModel::Iso28560_2 => part2::DSFID,
        // Most ISO 28560-3 tags in the field keep DSFID 0x00; 0x3E is also seen and accepted.
        DataModel::Iso28560_3 => 0x00,
    }
}

type Decoder = fn(&[u8]) -> Result<ItemRecord, String>;

/// Decode a tag's user memory, picking the data model from the DSFID and the bytes themselves.
pub fn decode_memory(bytes: &[u8], dsfid: Option<u8>) -> TagData {
    if bytes.is_empty() {
        return TagData::Unreadable {
            reason: "no memory was read".into(),
        };
    }
    if bytes.iter().all(|&b| b == 0) || bytes.iter().all(|&b| b == 0xFF) {
        return TagData::Blank;
    }
    let first_try: [Decoder; 2] = match dsfid {
        Some(part2::DSFID) => {
            // Tags relabelled without rewriting keep a stale DSFID: a clean ISO 28560-2 parse
            // wins, else a basic block with a good CRC.
            match part2::decode(bytes) {
                Ok(record) if record.warnings.is_empty() => return TagData::Decoded(record),
                _ => {}
            }
            if let Ok(mut record) = part3::decode(bytes)
                && record.crc_ok == Some(true)
            {
                record
                    .warnings
                    .push("DSFID says ISO 28560-2, memory holds ISO 28560-3".into());
                return TagData::Decoded(record);
            }
            [part2::decode, part3::decode]
        }
        Some(_) => [part3::decode, part2::decode],
        None => {
            // No DSFID: a basic block with a good CRC is unmistakable; otherwise let the
            // layout of the first bytes decide.
            match part3::decode(bytes) {
                Ok(record) if record.crc_ok == Some(true) => return TagData::Decoded(record),
                _ if part2::looks_like(bytes) => [part2::decode, part3::decode],
                _ => [part3::decode, part2::decode],
            }
        }
    };
    let mut reasons = Vec::new();
    for attempt in first_try {
        match attempt(bytes) {
            Ok(record) => return TagData::Decoded(record),
            Err(reason) => reasons.push(reason),
        }
    }
    TagData::Unreadable {
        reason: reasons.join("; "),
    }
}

/// Encode `record` as a memory image for `model`, no longer than `capacity_bytes`.
pub fn encode_item(
    record: &ItemRecord,
    model: DataModel,
    capacity_bytes: usize,
) -> Result<Vec<u8>, EncodeError> {
    let bytes = match model {
        DataModel::Iso28560_3 => part3::encode(record, capacity_bytes)?,
        DataModel::Iso28560_2 => part2::encode(record)?,
    };
    if bytes.len() > capacity_bytes {
        return Err(EncodeError::NoRoom {
            needed: bytes.len(),
            capacity: capacity_bytes,
        });
    }
    Ok(bytes)
}

impl fmt::Display for ItemRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} ({})",
            self.type_of_usage, self.primary_id, self.model
        )?;
        if let Some(set) = self.set {
            write!(f, ", part {} of {}", set.part_no, set.parts)?;
        }
        if let Some(owner) = &self.owner_isil {
            write!(f, ", owner {owner}")?;
        }
        if let Some(title) = &self.title {
            write!(f, ", title {title:?}")?;
        }
        if let Some(shelf) = &self.shelf_location {
            write!(f, ", shelf {shelf:?}")?;
        }
        for field in &self.extra {
            write!(f, ", {}: {}", field.name, field.value)?;
        }
        match self.crc_ok {
            Some(true) => f.write_str(", CRC ok")?,
            Some(false) => f.write_str(", CRC WRONG (suspect)")?,
            None => {}
        }
        for warning in &self.warnings {
            write!(f, "; warning: {warning}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TagData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagData::Decoded(record) => record.fmt(f),
            TagData::Blank => f.write_str("blank"),
            TagData::Unreadable { reason } => write!(f, "unreadable: {reason}"),
        }
    }
}

impl fmt::Display for LibraryTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tag {}", uid_hex(&self.uid))?;
        if let Some(afi) = self.afi {
            write!(f, " AFI 0x{afi:02X}")?;
        }
        if let Some(dsfid) = self.dsfid {
            write!(f, " DSFID 0x{dsfid:02X}")?;
        }
        if let Some(eas) = self.eas {
            write!(f, " EAS {}", if eas { "on" } else { "off" })?;
        }
        write!(f, ": {}", self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIBDANRFID: &str = "11010131313232333334340000000000000000513e4445373035000000000000";

    #[test]
    fn uid_text() {
        let uid = parse_uid("E0:04:01:00:12:34:56:78").expect("valid");
        assert_eq!(uid[0], 0x78);
        assert_eq!(uid[7], 0xE0);
        assert_eq!(uid_hex(&uid), "E004010012345678");
        assert_eq!(parse_uid("E00401"), None);
        assert_eq!(parse_uid("E00401001234567G"), None);
    }

    #[test]
    fn blank_and_empty() {
        assert_eq!(decode_memory(&[0; 112], Some(0)), TagData::Blank);
        assert_eq!(decode_memory(&[0xFF; 112], None), TagData::Blank);
        assert!(matches!(
            decode_memory(&[], None),
            TagData::Unreadable { .. }
        ));
        assert!(matches!(
            decode_memory(&[0x42; 112], None),
            TagData::Unreadable { .. }
        ));
    }

    #[test]
    fn auto_detects_the_model() {
        let mut memory = parse_hex(LIBDANRFID).expect("hex");
        memory.resize(112, 0);
        for dsfid in [None, Some(0x00), Some(0x3E), Some(0x06)] {
            let TagData::Decoded(record) = decode_memory(&memory, dsfid) else {
                panic!("{dsfid:?}")
            };
            assert_eq!(record.model, DataModel::Iso28560_3);
            assert_eq!(record.primary_id, "11223344");
            assert_eq!(record.warnings.len(), usize::from(dsfid == Some(0x06)));
        }
        let record = ItemRecord::new(DataModel::Iso28560_2, TypeOfUsage::Circulating, "0815");
        let image = encode_item(&record, DataModel::Iso28560_2, 112).expect("valid");
        for dsfid in [None, Some(0x06)] {
            assert_eq!(
                decode_memory(&image, dsfid),
                TagData::Decoded(record.clone())
            );
        }
    }

    #[test]
    fn capacity_is_checked() {
        let mut record = ItemRecord::new(DataModel::Iso28560_2, TypeOfUsage::Circulating, "1");
        record.title = Some("x".repeat(200));
        assert!(matches!(
            encode_item(&record, DataModel::Iso28560_2, 112),
            Err(EncodeError::NoRoom { .. })
        ));
        let short = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::Circulating, "1");
        assert!(matches!(
            encode_item(&short, DataModel::Iso28560_3, 16),
            Err(EncodeError::NoRoom { .. })
        ));
    }

    #[test]
    fn summary_and_json() {
        let mut memory = parse_hex(LIBDANRFID).expect("hex");
        memory.resize(112, 0);
        let tag = LibraryTag {
            uid: parse_uid("E004010012345678").expect("valid"),
            afi: Some(0xC2),
            dsfid: Some(0),
            eas: Some(true),
            data: decode_memory(&memory, Some(0)),
        };
        let text = tag.to_string();
        assert!(text.contains("E004010012345678"), "{text}");
        assert!(text.contains("\"11223344\""), "{text}");
        assert!(text.contains("owner DE-705"), "{text}");
        let json = serde_json::to_value(&tag).expect("serialises");
        assert_eq!(json["uid"], "E004010012345678");
        assert_eq!(json["data"]["kind"], "decoded");
        assert_eq!(json["data"]["primary_id"], "11223344");
        assert_eq!(json["data"]["type_of_usage"], "circulating");
        let back: LibraryTag = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, tag);
    }

    proptest! {
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), dsfid in proptest::option::of(any::<u8>())) {
            let data = decode_memory(&bytes, dsfid);
            let _ = data.to_string();
            let _ = serde_json::to_string(&data);
        }
    }
}
