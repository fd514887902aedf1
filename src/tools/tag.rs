//! `selfcheck tag ...`: decode a tag memory dump, encode an item's memory image, list the tags
//! on the configured reader, program a tag.

use serde::Serialize;

use crate::config::check_isil;
use crate::rfid::program::{ProgramError, Programming, pick_tag, program_tag};
use crate::rfid::reader::{Security, SecurityConfig, TagReader};
use crate::rfid::tag::{
    DataModel, ItemRecord, LibraryTag, SetInfo, TagData, TypeOfUsage, Uid, decode_memory,
    dsfid_for, encode_item, hex, parse_hex,
};

pub use crate::rfid::program::{DEFAULT_CAPACITY, Written};

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

/// Parse `--model 28560-3|28560-2|auto` (`auto` writes ISO 28560-3, as `rfid.data_model`).
pub fn parse_model(text: &str) -> Result<DataModel, TagToolError> {
    match text {
        "28560-3" | "danish" | "auto" => Ok(DataModel::Iso28560_3),
        "28560-2" | "15962" => Ok(DataModel::Iso28560_2),
        other => Err(TagToolError::Input(format!(
            "--model \"{other}\": use 28560-3, 28560-2 or auto"
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

/// How `tag write` marks the tag besides its data.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// The site's security marking (`[rfid]`); the tag is left secured, as for the shelf.
    pub security: SecurityConfig,
    /// Attempts at the security write (`rfid.security_retries`).
    pub security_attempts: u8,
    /// Write this AFI instead of the site's "secured" value.
    pub afi: Option<u8>,
    /// Lock the data blocks for good.
    pub lock: bool,
}

/// Program the one tag on the pad (or the one named by `uid`) with an item's data and arm
/// its security, reading each step back.
pub fn write(
    reader: &mut dyn TagReader,
    uid: Option<Uid>,
    spec: &ItemSpec,
    options: &WriteOptions,
) -> Result<Written, TagToolError> {
    let record = record(spec)?;
    let reader_error = |e: ProgramError| match e {
        ProgramError::Encode(e) => TagToolError::Encode(e.to_string()),
        other => TagToolError::Reader(other.to_string()),
    };
    let uid = pick_tag(reader, uid).map_err(reader_error)?;
    let security_config = match options.afi {
        Some(afi) => SecurityConfig {
            afi_secured: afi,
            use_afi: true,
            ..options.security
        },
        None => options.security,
    };
    let programming = Programming {
        record: &record,
        security: Security::Secured,
        security_config,
        security_attempts: options.security_attempts,
        lock: options.lock,
        capacity: DEFAULT_CAPACITY,
    };
    program_tag(reader, &uid, &programming).map_err(reader_error)
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
            &options(None, false),
        )
        .expect("write");
        assert!(written.is_verified());
        let tags = scan(&mut reader).expect("scan");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].afi, Some(SecurityConfig::default().afi_secured));
    }

    fn options(afi: Option<u8>, lock: bool) -> WriteOptions {
        WriteOptions {
            security: SecurityConfig::default(),
            security_attempts: 1,
            afi,
            lock,
        }
    }

    #[test]
    fn chosen_afi_model_and_lock() {
        let pad = SimPad::new();
        let uid = [9, 8, 7, 6, 5, 4, 4, 0xE0];
        pad.place_blank(uid);
        let mut reader = Iso15693Reader::new(pad.clone());
        let written = write(
            &mut reader,
            None,
            &spec(DataModel::Iso28560_2),
            &options(Some(0x9A), true),
        )
        .expect("write");
        assert!(written.is_verified(), "{written:?}");
        let tag = pad.tag(&uid).expect("on pad");
        assert_eq!(tag.afi, 0x9A);
        assert_eq!(tag.dsfid, dsfid_for(DataModel::Iso28560_2));
        assert!(tag.locked.first().copied().unwrap_or(false));
        assert_eq!(parse_model("auto").expect("auto"), DataModel::Iso28560_3);
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
            &options(None, false),
        )
        .expect_err("two tags");
        assert!(err.to_string().contains("2 tags"), "{err}");
    }
}
