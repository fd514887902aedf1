//! `selfcheck tag ...`: decode a tag memory dump, encode an item's memory image, list the tags
//! on the configured reader, program a tag.

use serde::Serialize;

use crate::config::check_isil;
use crate::rfid::reader::{Security, SecurityConfig, TagReader, WriteOutcome};
use crate::rfid::tag::{
    DataModel, ItemRecord, LibraryTag, SetInfo, TagData, TypeOfUsage, Uid, decode_memory,
    dsfid_for, encode_item, hex, parse_hex, uid_hex,
};

/// Bytes of user memory of the smallest common library tag (ICODE SLIX: 28 blocks of 4).
pub const DEFAULT_CAPACITY: usize = 112;

#[derive(Debug, thiserror::Error)]
pub enum TagToolError {
    #[error("{0}")]
    Input(String),
    #[error("cannot encode: {0}")]
    Encode(String),
    #[error("reader: {0}")]
    Reader(String),
}

/// Decode a memory dump given as hex (spaces and colons allowed).
pub fn decode(hex_dump: &str, dsfid: Option<u8>) -> Result<TagData, TagToolError> {
    let bytes = parse_hex(hex_dump).ok_or_else(|| {
        TagToolError::Input(
            "the dump is not hex (expected pairs of 0-9/A-F, spaces or colons between)".into(),
        )
    })?;
    Ok(decode_memory(&bytes, dsfid))
}

/// What to write on an item's tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    pub id: String,
    pub owner: String,
    /// (part number, parts in set)
    pub parts: Option<(u8, u8)>,
    pub model: DataModel,
}

/// Parse `--parts N/M` (part N of M).
pub fn parse_parts(text: &str) -> Result<(u8, u8), TagToolError> {
    let bad = || {
        TagToolError::Input(format!(
            "--parts \"{text}\": expected PART/TOTAL, e.g. 1/3, with 1 <= PART <= TOTAL <= 255"
        ))
    };
    let (n, m) = text.split_once('/').ok_or_else(bad)?;
    let n: u8 = n.trim().parse().map_err(|_| bad())?;
    let m: u8 = m.trim().parse().map_err(|_| bad())?;
    if n == 0 || n > m {
        return Err(bad());
    }
    Ok((n, m))
}

/// Parse `--model 28560-3|28560-2`.
pub fn parse_model(text: &str) -> Result<DataModel, TagToolError> {
    match text {
        "28560-3" | "danish" => Ok(DataModel::Iso28560_3),
        "28560-2" | "15962" => Ok(DataModel::Iso28560_2),
        other => Err(TagToolError::Input(format!(
            "--model \"{other}\": use 28560-3 or 28560-2"
        ))),
    }
}

/// The record for an item, checked strictly: what we write must be valid.
pub fn record(spec: &ItemSpec) -> Result<ItemRecord, TagToolError> {
    let id = spec.id.trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(TagToolError::Input(format!(
            "--id \"{}\": an item id is printable ASCII without spaces",
            spec.id
        )));
    }
    check_isil(&spec.owner).map_err(|m| TagToolError::Input(format!("--owner: {m}")))?;
    let mut record = ItemRecord::new(spec.model, TypeOfUsage::Circulating, id);
    record.owner_isil = Some(spec.owner.clone());
    record.set = spec
        .parts
        .map(|(part_no, parts)| SetInfo { parts, part_no });
    Ok(record)
}

/// A memory image ready to write.
#[derive(Debug, Serialize)]
pub struct Image {
    pub model: DataModel,
    pub dsfid: String,
    pub bytes: usize,
    pub memory: String,
    /// The image read back through our own decoder.
    pub decoded: TagData,
}

pub fn encode(spec: &ItemSpec, capacity: usize) -> Result<Image, TagToolError> {
    let record = record(spec)?;
    let bytes = encode_item(&record, spec.model, capacity)
        .map_err(|e| TagToolError::Encode(e.to_string()))?;
    let dsfid = dsfid_for(spec.model);
    Ok(Image {
        model: spec.model,
        dsfid: format!("0x{dsfid:02X}"),
        bytes: bytes.len(),
        memory: hex(&bytes),
        decoded: decode_memory(&bytes, Some(dsfid)),
    })
}

/// Every tag on the reader, decoded.
pub fn scan(reader: &mut dyn TagReader) -> Result<Vec<LibraryTag>, TagToolError> {
    reader
        .read_all()
        .map_err(|e| TagToolError::Reader(e.to_string()))
}

/// What programming a tag did.
#[derive(Debug, Serialize)]
pub struct Written {
    pub uid: String,
    pub data: WriteOutcome,
    pub security: WriteOutcome,
    pub tag: Option<LibraryTag>,
}

/// Program the one tag on the pad (or the one named by `uid`) with an item's data and arm
/// its security, reading both back.
pub fn write(
    reader: &mut dyn TagReader,
    uid: Option<Uid>,
    spec: &ItemSpec,
    security: &SecurityConfig,
) -> Result<Written, TagToolError> {
    let record = record(spec)?;
    let uids = reader
        .inventory()
        .map_err(|e| TagToolError::Reader(e.to_string()))?;
    let uid = match (uid, uids.as_slice()) {
        (Some(u), _) if uids.contains(&u) => u,
        (Some(u), _) => {
            return Err(TagToolError::Reader(format!(
                "tag {} is not on the pad",
                uid_hex(&u)
            )));
        }
        (None, [one]) => *one,
        (None, []) => return Err(TagToolError::Reader("no tag on the pad".into())),
        (None, many) => {
            return Err(TagToolError::Reader(format!(
                "{} tags on the pad: leave only the one to program, or name it with --uid",
                many.len()
            )));
        }
    };
    let bytes = encode_item(&record, spec.model, DEFAULT_CAPACITY)
        .map_err(|e| TagToolError::Encode(e.to_string()))?;
    let data = reader
        .write_data(&uid, &bytes)
        .map_err(|e| TagToolError::Reader(e.to_string()))?;
    let security = if data.is_verified() {
        reader
            .set_security(&uid, Security::Secured, security)
            .map_err(|e| TagToolError::Reader(e.to_string()))?
    } else {
        WriteOutcome::NotVerified {
            reason: "data not written, security left as it was".into(),
        }
    };
    let tag = reader.read_tag(&uid).ok();
    Ok(Written {
        uid: uid_hex(&uid),
        data,
        security,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfid::reader::Iso15693Reader;
    use crate::rfid::sim::SimPad;

    fn spec(model: DataModel) -> ItemSpec {
        ItemSpec {
            id: "31234000012345".into(),
            owner: "IT-RM0001".into(),
            parts: Some((1, 3)),
            model,
        }
    }

    #[test]
    fn decode_the_public_vector() {
        let data = decode(
            "11010131313232333334340000000000000000513e4445373035000000000000",
            None,
        )
        .expect("hex");
        match data {
            TagData::Decoded(r) => {
                assert_eq!(r.primary_id, "11223344");
                assert_eq!(r.crc_ok, Some(true));
            }
            other => panic!("{other:?}"),
        }
        assert!(decode("zz", None).is_err());
    }

    #[test]
    fn encode_round_trips_both_models() {
        for model in [DataModel::Iso28560_3, DataModel::Iso28560_2] {
            let image = encode(&spec(model), DEFAULT_CAPACITY).expect("encode");
            match image.decoded {
                TagData::Decoded(r) => {
                    assert_eq!(r.primary_id, "31234000012345");
                    assert_eq!(
                        r.set,
                        Some(SetInfo {
                            parts: 3,
                            part_no: 1
                        })
                    );
                }
                other => panic!("{model:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn strict_inputs() {
        assert_eq!(parse_parts("2/3").expect("parts"), (2, 3));
        for bad in ["0/3", "4/3", "x", "1/", "1/300"] {
            assert!(parse_parts(bad).is_err(), "{bad}");
        }
        assert!(parse_model("28560-4").is_err());
        let mut s = spec(DataModel::Iso28560_3);
        s.owner = "RM0001".into();
        assert!(encode(&s, DEFAULT_CAPACITY).is_err());
        let mut s = spec(DataModel::Iso28560_3);
        s.id = "with space".into();
        assert!(encode(&s, DEFAULT_CAPACITY).is_err());
    }

    #[test]
    fn program_a_blank_tag_on_the_sim_pad() {
        let pad = SimPad::new();
        pad.place_blank([9, 8, 7, 6, 5, 4, 4, 0xE0]);
        let mut reader = Iso15693Reader::new(pad.clone());
        let written = write(
            &mut reader,
            None,
            &spec(DataModel::Iso28560_3),
            &SecurityConfig::default(),
        )
        .expect("write");
        assert!(written.data.is_verified());
        assert!(written.security.is_verified());
        let tags = scan(&mut reader).expect("scan");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].afi, Some(SecurityConfig::default().afi_secured));
    }

    #[test]
    fn refuses_to_guess_which_tag() {
        let pad = SimPad::new();
        pad.place_blank([1, 0, 0, 0, 0, 0, 4, 0xE0]);
        pad.place_blank([2, 0, 0, 0, 0, 0, 4, 0xE0]);
        let mut reader = Iso15693Reader::new(pad);
        let err = write(
            &mut reader,
            None,
            &spec(DataModel::Iso28560_3),
            &SecurityConfig::default(),
        )
        .expect_err("two tags");
        assert!(err.to_string().contains("2 tags"), "{err}");
    }
}
