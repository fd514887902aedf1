//! ISO 28560-3 (the Danish data model): a fixed basic block of 34 bytes (32 on small tags),
//! followed by optional extension blocks.
//!
//! The decoder accepts the variants met in the field: both nibble orders of the version/usage
//! byte, the set bytes swapped, every 4-byte block byte-reversed by the reader, 32- or 34-byte
//! basic blocks, and a wrong CRC (the data is still shown, marked as suspect).

use crc::{CRC_16_IBM_3740, Crc};

use crate::rfid::tag::{
    DataModel, EncodeError, ExtraField, FieldValue, ItemRecord, SetInfo, TypeOfUsage,
};

/// CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740).
const CCITT_FALSE: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// The data model version this encoder writes.
pub const VERSION: u8 = 1;
/// Bytes of the full basic block, and of the short form on 32-byte tags.
pub const BASIC_LEN: usize = 34;
pub const SHORT_LEN: usize = 32;
const ID_RANGE: std::ops::Range<usize> = 3..19;
const CRC_AT: usize = 19;
const OWNER_AT: usize = 21;

/// Extension block ids.
pub mod block_id {
    pub const LIBRARY: u16 = 1;
    pub const ACQUISITION: u16 = 2;
    pub const LIBRARY_SUPPLEMENT: u16 = 3;
    pub const TITLE: u16 = 4;
    pub const INTERLIBRARY_LOAN: u16 = 5;
}

fn block_name(id: u16) -> String {
    match id {
        block_id::LIBRARY => "library extension".into(),
        block_id::ACQUISITION => "acquisition extension".into(),
        block_id::LIBRARY_SUPPLEMENT => "library supplement extension".into(),
        block_id::TITLE => "title extension".into(),
        block_id::INTERLIBRARY_LOAN => "interlibrary loan extension".into(),
        other => format!("extension block {other}"),
    }
}

/// CRC-16/CCITT-FALSE over a basic block: bytes 0-18 then 21 onward, and two 0x00 for the
/// 32-byte form so the input is always 32 bytes.
pub fn basic_block_crc(block: &[u8]) -> u16 {
    let mut digest = CCITT_FALSE.digest();
    digest.update(block.get(..CRC_AT).unwrap_or(block));
    digest.update(block.get(OWNER_AT..).unwrap_or(&[]));
    if block.len() == SHORT_LEN {
        digest.update(&[0, 0]);
    }
    digest.finalize()
}

/// CRC-16/CCITT-FALSE of arbitrary bytes (exposed for the check value).
pub fn crc_ccitt_false(bytes: &[u8]) -> u16 {
    CCITT_FALSE.checksum(bytes)
}

/// Whether `bytes` read as blocks of 4 reversed each (how some readers hand memory back).
fn reverse_blocks(bytes: &[u8]) -> Vec<u8> {
    bytes
        .chunks(4)
        .flat_map(|chunk| chunk.iter().rev().copied())
        .collect()
}

struct Candidate {
    bytes: Vec<u8>,
    len: usize,
    reversed: bool,
}

impl Candidate {
    fn block(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }

    fn crc_ok(&self) -> bool {
        let block = self.block();
        let stored = block
            .get(CRC_AT..CRC_AT + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]));
        stored == Some(basic_block_crc(block))
    }

    fn plausible(&self) -> bool {
        let Some(&first) = self.bytes.first() else {
            return false;
        };
        let id = text_field(self.bytes.get(ID_RANGE).unwrap_or(&[]));
        (first >> 4 == VERSION || first & 0x0F == VERSION)
            && !id.is_empty()
            && id.chars().all(|c| !c.is_control())
    }
}

/// Bytes up to the first 0x00, as text: ASCII as is, anything else read as Latin-1.
fn text_field(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes
        .get(..end)
        .unwrap_or(&[])
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

/// Decode a basic block (and extension blocks) from tag memory.
pub fn decode(bytes: &[u8]) -> Result<ItemRecord, String> {
    if bytes.len() < SHORT_LEN {
        return Err(format!(
            "ISO 28560-3 needs at least {SHORT_LEN} bytes, memory has {}",
            bytes.len()
        ));
    }
    let forms = |data: Vec<u8>, reversed: bool| {
        let mut out = Vec::with_capacity(2);
        if data.len() >= BASIC_LEN {
            out.push(Candidate {
                bytes: data.clone(),
                len: BASIC_LEN,
                reversed,
            });
        }
        out.push(Candidate {
            bytes: data,
            len: SHORT_LEN,
            reversed,
        });
        out
    };
    let mut candidates = forms(bytes.to_vec(), false);
    // Byte-reversed blocks are only considered when the memory as read has no good CRC.
    if !candidates.iter().any(Candidate::crc_ok) {
        candidates.extend(forms(reverse_blocks(bytes), true));
    }
    let chosen = match candidates.iter().position(Candidate::crc_ok) {
        Some(i) => i,
        None => candidates
            .iter()
            .position(Candidate::plausible)
            .ok_or_else(|| {
                "not an ISO 28560-3 basic block (bad CRC, no version 1 byte)".to_string()
            })?,
    };
    let candidate = candidates.swap_remove(chosen);
    Ok(record_from(&candidate))
}

fn record_from(candidate: &Candidate) -> ItemRecord {
    let block = candidate.block();
    let byte = |i: usize| block.get(i).copied().unwrap_or(0);
    let mut warnings = Vec::new();
    if candidate.reversed {
        warnings.push("memory read with each 4-byte block reversed".to_string());
    }
    let first = byte(0);
    let usage_class = if first >> 4 == VERSION {
        first & 0x0F
    } else if first & 0x0F == VERSION {
        if first >> 4 != VERSION {
            warnings.push("version and type of usage nibbles swapped".to_string());
        }
        first >> 4
    } else {
        warnings.push(format!("unknown data model version in byte 0x{first:02X}"));
        first & 0x0F
    };
    let (mut parts, mut part_no) = (byte(1), byte(2));
    if part_no > parts && parts != 0 {
        warnings.push("set bytes swapped (part number before total)".to_string());
        std::mem::swap(&mut parts, &mut part_no);
    }
    let set = if parts == 0 || part_no == 0 {
        warnings.push(format!("invalid set information {part_no} of {parts}"));
        None
    } else if parts == 1 && part_no == 1 {
        None
    } else {
        Some(SetInfo { parts, part_no })
    };
    let primary_id = text_field(block.get(ID_RANGE).unwrap_or(&[]));
    if !primary_id.is_ascii() {
        warnings.push("primary item identifier is not ASCII".to_string());
    }
    let owner = text_field(block.get(OWNER_AT..).unwrap_or(&[]));
    let owner_isil = (!owner.is_empty()).then(|| isil_with_hyphen(&owner));
    let crc_ok = candidate.crc_ok();
    let mut record = ItemRecord::new(
        DataModel::Iso28560_3,
        TypeOfUsage::from_class(usage_class),
        primary_id,
    );
    record.set = set;
    record.owner_isil = owner_isil;
    record.crc_ok = Some(crc_ok);
    if candidate.len == BASIC_LEN {
        decode_extensions(
            candidate.bytes.get(BASIC_LEN..).unwrap_or(&[]),
            &mut record.extra,
            &mut warnings,
        );
    }
    record.warnings = warnings;
    record
}

/// ISO 28560-3 stores the ISIL without its hyphen; the country code is the first two letters.
fn isil_with_hyphen(stored: &str) -> String {
    let mut chars = stored.chars();
    let prefix: String = chars.by_ref().take(2).collect();
    let rest: String = chars.collect();
    if stored.contains('-') || rest.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphabetic()) {
        stored.to_string()
    } else {
        format!("{prefix}-{rest}")
    }
}

fn decode_extensions(mut rest: &[u8], extra: &mut Vec<ExtraField>, warnings: &mut Vec<String>) {
    while let Some(&len) = rest.first() {
        let len = usize::from(len);
        if len == 0 {
            return;
        }
        if len < 4 {
            warnings.push(format!(
                "extension block length {len} too short; ignored from here"
            ));
            return;
        }
        let Some(block) = rest.get(..len) else {
            warnings.push("extension block runs past the end of memory".to_string());
            return;
        };
        if block.iter().fold(0u8, |acc, b| acc ^ b) != 0 {
            warnings.push("extension block XOR check failed".to_string());
        }
        let id = u16::from_le_bytes([
            block.get(1).copied().unwrap_or(0),
            block.get(2).copied().unwrap_or(0),
        ]);
        let payload = block.get(4..).unwrap_or(&[]).to_vec();
        extra.push(ExtraField {
            oid: None,
            block_id: Some(id),
            name: block_name(id),
            value: FieldValue::Bytes(payload),
        });
        rest = rest.get(len..).unwrap_or(&[]);
    }
}

/// Encode `record` as a basic block: 34 bytes, or 32 when `capacity` is under 34 bytes;
/// extension blocks (from `extra` fields with a block id) follow the 34-byte form.
pub fn encode(record: &ItemRecord, capacity: usize) -> Result<Vec<u8>, EncodeError> {
    let len = if capacity >= BASIC_LEN {
        BASIC_LEN
    } else {
        SHORT_LEN
    };
    let mut out = vec![0u8; len];
    let usage = record.type_of_usage;
    if !usage.is_canonical() {
        return Err(EncodeError::Unsupported {
            field: format!("type of usage {usage:?}"),
        });
    }
    out[0] = (VERSION << 4) | usage.class();
    let (parts, part_no) = match record.set {
        None => (1, 1),
        Some(SetInfo { parts, part_no }) => {
            if parts == 0 || part_no == 0 || part_no > parts {
                return Err(EncodeError::BadSet { parts, part_no });
            }
            (parts, part_no)
        }
    };
    out[1] = parts;
    out[2] = part_no;
    let id = &record.primary_id;
    if id.is_empty() {
        return Err(EncodeError::EmptyPrimaryId);
    }
    check_text("primary item identifier", id)?;
    if id.len() > ID_RANGE.len() {
        return Err(EncodeError::TooLong {
            field: "primary item identifier",
            len: id.len(),
            max: ID_RANGE.len(),
        });
    }
    out[ID_RANGE.start..ID_RANGE.start + id.len()].copy_from_slice(id.as_bytes());
    if let Some(isil) = &record.owner_isil {
        let stored = isil_without_hyphen(isil)?;
        let max = len - OWNER_AT;
        if stored.len() > max {
            return Err(EncodeError::TooLong {
                field: "owner library ISIL",
                len: stored.len(),
                max,
            });
        }
        out[OWNER_AT..OWNER_AT + stored.len()].copy_from_slice(stored.as_bytes());
    }
    for (field, value) in [
        ("title", &record.title),
        ("shelf location", &record.shelf_location),
    ] {
        if value.is_some() {
            return Err(EncodeError::Unsupported {
                field: field.to_string(),
            });
        }
    }
    let crc = basic_block_crc(&out).to_le_bytes();
    out[CRC_AT..CRC_AT + 2].copy_from_slice(&crc);
    let mut extensions = Vec::new();
    for field in &record.extra {
        let Some(id) = field.block_id.filter(|&id| id != 0) else {
            return Err(EncodeError::Unsupported {
                field: field.name.clone(),
            });
        };
        let payload = match &field.value {
            FieldValue::Bytes(b) => b.clone(),
            FieldValue::Text(t) => t.as_bytes().to_vec(),
        };
        let total = payload.len() + 4;
        let block_len = u8::try_from(total).map_err(|_| EncodeError::TooLong {
            field: "extension block",
            len: total,
            max: 255,
        })?;
        let id = id.to_le_bytes();
        let mut block = vec![block_len, id[0], id[1], 0];
        block.extend_from_slice(&payload);
        block[3] = block.iter().fold(0u8, |acc, b| acc ^ b);
        extensions.extend_from_slice(&block);
    }
    if !extensions.is_empty() {
        if len != BASIC_LEN {
            return Err(EncodeError::NoRoom {
                needed: BASIC_LEN + extensions.len() + 1,
                capacity,
            });
        }
        out.extend_from_slice(&extensions);
        out.push(0);
    }
    Ok(out)
}

fn check_text(field: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        Ok(())
    } else {
        Err(EncodeError::BadCharacters {
            field,
            value: value.to_string(),
        })
    }
}

fn isil_without_hyphen(isil: &str) -> Result<String, EncodeError> {
    let bad = || EncodeError::BadCharacters {
        field: "owner library ISIL",
        value: isil.to_string(),
    };
    check_text("owner library ISIL", isil)?;
    let (prefix, rest) = isil.split_once('-').ok_or_else(bad)?;
    if prefix.len() != 2
        || !prefix.bytes().all(|b| b.is_ascii_alphabetic())
        || rest.is_empty()
        || rest.contains('-')
    {
        return Err(bad());
    }
    Ok(format!("{prefix}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::tag::parse_hex;
    use proptest::prelude::*;

    const LIBDANRFID: &str = "11010131313232333334340000000000000000513e4445373035000000000000";

    #[test]
    fn crc_check_value() {
        assert_eq!(crc_ccitt_false(b"RFID tag data model"), 0x1AEE);
    }

    #[test]
    fn libdanrfid_vector() {
        let bytes = parse_hex(LIBDANRFID).expect("hex");
        assert_eq!(bytes.len(), 32);
        assert_eq!(basic_block_crc(&bytes), 0x3E51);
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.type_of_usage, TypeOfUsage::Circulating);
        assert_eq!(record.primary_id, "11223344");
        assert_eq!(record.set, None);
        assert_eq!(record.owner_isil.as_deref(), Some("DE-705"));
        assert_eq!(record.crc_ok, Some(true));
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
        // Re-encoded in the 32-byte form it is the same bytes.
        assert_eq!(encode(&record, 32).expect("encodes"), bytes);
    }

    #[test]
    fn vector_inside_larger_memory_and_reversed_blocks() {
        let mut bytes = parse_hex(LIBDANRFID).expect("hex");
        bytes.resize(112, 0);
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.primary_id, "11223344");
        assert_eq!(record.crc_ok, Some(true));
        let reversed = reverse_blocks(&bytes);
        let record = decode(&reversed).expect("decodes");
        assert_eq!(record.primary_id, "11223344");
        assert_eq!(record.crc_ok, Some(true));
        assert!(record.warnings.iter().any(|w| w.contains("reversed")));
    }

    #[test]
    fn wrong_crc_still_shown_as_suspect() {
        let mut bytes = parse_hex(LIBDANRFID).expect("hex");
        bytes[19] ^= 0xFF;
        let record = decode(&bytes).expect("still decodes");
        assert_eq!(record.primary_id, "11223344");
        assert_eq!(record.crc_ok, Some(false));
        assert!(record.is_suspect());
    }

    #[test]
    fn swapped_nibbles_and_set_bytes() {
        let mut record = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::PatronCard, "P123");
        record.set = Some(SetInfo {
            parts: 3,
            part_no: 2,
        });
        let mut bytes = encode(&record, 112).expect("encodes");
        assert_eq!(bytes[0], 0x18);
        bytes[0] = 0x81;
        bytes.swap(1, 2);
        let crc = basic_block_crc(&bytes[..34]).to_le_bytes();
        bytes[19..21].copy_from_slice(&crc);
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(decoded.type_of_usage, TypeOfUsage::PatronCard);
        assert_eq!(
            decoded.set,
            Some(SetInfo {
                parts: 3,
                part_no: 2
            })
        );
        assert_eq!(decoded.warnings.len(), 2);
    }

    #[test]
    fn extension_blocks() {
        let mut record = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::Circulating, "5001");
        record.owner_isil = Some("DK-710100".into());
        record.extra.push(ExtraField {
            oid: None,
            block_id: Some(block_id::TITLE),
            name: block_name(block_id::TITLE),
            value: FieldValue::Bytes(b"Kongens Fald".to_vec()),
        });
        let bytes = encode(&record, 112).expect("encodes");
        assert_eq!(bytes[34], 16);
        assert_eq!(&bytes[35..37], &[4, 0]);
        assert_eq!(bytes[34..50].iter().fold(0u8, |a, b| a ^ b), 0);
        assert_eq!(bytes.last(), Some(&0));
        let mut decoded = decode(&bytes).expect("decodes");
        decoded.crc_ok = None;
        assert_eq!(decoded, record);
        let mut broken = bytes.clone();
        broken[40] ^= 1;
        assert!(
            decode(&broken)
                .expect("decodes")
                .warnings
                .iter()
                .any(|w| w.contains("XOR"))
        );
    }

    #[test]
    fn strict_encoding() {
        let ok = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::Circulating, "1");
        let mut r = ok.clone();
        r.primary_id = "12345678901234567".into();
        assert!(matches!(encode(&r, 34), Err(EncodeError::TooLong { .. })));
        r.primary_id = String::new();
        assert_eq!(encode(&r, 34), Err(EncodeError::EmptyPrimaryId));
        let mut r = ok.clone();
        r.owner_isil = Some("DK710100".into());
        assert!(matches!(
            encode(&r, 34),
            Err(EncodeError::BadCharacters { .. })
        ));
        r.owner_isil = Some("DK-1234567890".into());
        assert!(matches!(encode(&r, 32), Err(EncodeError::TooLong { .. })));
        assert!(encode(&r, 34).is_ok());
        let mut r = ok.clone();
        r.set = Some(SetInfo {
            parts: 2,
            part_no: 3,
        });
        assert!(matches!(encode(&r, 34), Err(EncodeError::BadSet { .. })));
        let mut r = ok;
        r.primary_id = "Ø1".into();
        assert!(matches!(
            encode(&r, 34),
            Err(EncodeError::BadCharacters { .. })
        ));
    }

    fn usage() -> impl Strategy<Value = TypeOfUsage> {
        (0u8..16).prop_map(TypeOfUsage::from_class)
    }

    proptest! {
        #[test]
        fn round_trip(
            usage in usage(),
            id in "[0-9A-Za-z]{1,16}",
            set in proptest::option::of((2u8..=255, 1u8..=255)),
            owner in proptest::option::of("[A-Z]{2}-[0-9a-zA-Z]{1,9}"),
            capacity in prop_oneof![Just(32usize), Just(34), Just(112)],
        ) {
            let mut record = ItemRecord::new(DataModel::Iso28560_3, usage, id);
            record.set = set.map(|(parts, n)| SetInfo { parts, part_no: n.min(parts) });
            record.owner_isil = owner;
            let bytes = encode(&record, capacity).expect("valid record");
            let mut decoded = decode(&bytes).expect("decodes");
            prop_assert_eq!(decoded.crc_ok, Some(true));
            decoded.crc_ok = None;
            prop_assert_eq!(decoded, record);
        }

        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            let _ = decode(&bytes);
        }
    }
}
