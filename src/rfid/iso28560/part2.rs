//! ISO 28560-2: ISO 28560-1 data elements encoded by the rules of ISO/IEC 15962 (DSFID 0x06;
//! the Chinese WH/T 43 and GB/T 35660.2 tags use the same encoding).
//!
//! Each element is a precursor byte (bit 7: an offset byte follows; bits 6-4: compaction;
//! bits 3-0: relative OID, 15 meaning "a further byte holds OID - 15"), the optional offset
//! byte (count of pad bytes after the data), the optional OID byte, a length byte and the
//! compacted data. A 0x00 precursor ends the data set.
//!
//! Checked against the worked examples of ISO 28560-2:2014 annexes C and D (as published in
//! GOST R ISO 28560-2-2014) and the Helsinki city library decoder used on real tags.

use crate::rfid::iso28560::oid;
use crate::rfid::tag::{
    DataModel, EncodeError, ExtraField, FieldValue, ItemRecord, SetInfo, TypeOfUsage,
};

/// The DSFID of ISO 28560-2 data.
pub const DSFID: u8 = 0x06;

/// ISO/IEC 15962 compaction schemes (precursor bits 6-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compaction {
    ApplicationDefined = 0,
    Integer = 1,
    Numeric = 2,
    FiveBit = 3,
    SixBit = 4,
    SevenBit = 5,
    Octet = 6,
    Utf8 = 7,
}

impl Compaction {
    fn from_bits(bits: u8) -> Compaction {
        match bits & 0x07 {
            0 => Compaction::ApplicationDefined,
            1 => Compaction::Integer,
            2 => Compaction::Numeric,
            3 => Compaction::FiveBit,
            4 => Compaction::SixBit,
            5 => Compaction::SevenBit,
            6 => Compaction::Octet,
            _ => Compaction::Utf8,
        }
    }
}

/// One data element as found in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub oid: u8,
    pub compaction: Compaction,
    pub data: Vec<u8>,
}

/// Whether memory starts like ISO 28560-2 data: a primary item identifier element that fits.
pub fn looks_like(bytes: &[u8]) -> bool {
    let Some(&precursor) = bytes.first() else {
        return false;
    };
    if precursor & 0x0F != oid::PRIMARY_ITEM_ID {
        return false;
    }
    let len_at = if precursor & 0x80 != 0 { 2 } else { 1 };
    matches!(bytes.get(len_at), Some(&len) if len > 0 && usize::from(len) + len_at < bytes.len())
}

/// Split memory into elements. Stops at a 0x00 precursor, at the end of memory, or at an
/// element that runs past the end (noted in `warnings`).
pub fn elements(bytes: &[u8], warnings: &mut Vec<String>) -> Vec<Element> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((&precursor, after)) = rest.split_first() {
        if precursor == 0 {
            break;
        }
        rest = after;
        let Some((offset, relative, header_len)) = header(precursor, rest) else {
            warnings.push("memory ends inside an element header".into());
            break;
        };
        rest = rest.get(header_len..).unwrap_or(&[]);
        let offset = usize::from(offset);
        let Some((&len, after)) = rest.split_first() else {
            warnings.push("memory ends inside an element header".into());
            break;
        };
        rest = after;
        let len = usize::from(len);
        let Some(data) = rest.get(..len) else {
            warnings.push(format!(
                "{} runs past the end of memory",
                oid::name(relative)
            ));
            break;
        };
        out.push(Element {
            oid: relative,
            compaction: Compaction::from_bits(precursor >> 4),
            data: data.to_vec(),
        });
        rest = rest.get(len + offset..).unwrap_or(&[]);
    }
    out
}

/// The offset, relative OID and header byte count after a precursor, or `None` when `rest` ends
/// first.
fn header(precursor: u8, rest: &[u8]) -> Option<(u8, u8, usize)> {
    let has_offset = precursor & 0x80 != 0;
    let extended = precursor & 0x0F == 0x0F;
    let len = usize::from(has_offset) + usize::from(extended);
    let (offset, relative) = match (has_offset, extended, rest.get(..len)?) {
        (true, true, &[a, b]) => {
            // The offset byte comes first; an OID byte naming no ISO 28560-1 element next to
            // one that does means the encoder wrote them the other way round.
            let defined = |ext: u8| ext <= oid::LAST - 15;
            if !defined(b) && defined(a) {
                (b, a.saturating_add(15))
            } else {
                (a, b.saturating_add(15))
            }
        }
        (true, false, &[a]) => (a, precursor & 0x0F),
        (false, true, &[b]) => (0, b.saturating_add(15)),
        _ => (0, precursor & 0x0F),
    };
    Some((offset, relative, len))
}

/// Where the data set ends (the index of its 0x00 terminator), if `bytes` hold all of it.
pub fn data_set_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    loop {
        let precursor = *bytes.get(i)?;
        if precursor == 0 {
            return Some(i);
        }
        i += 1;
        let (offset, _, header_len) = header(precursor, bytes.get(i..)?)?;
        i += header_len;
        let offset = usize::from(offset);
        let len = usize::from(*bytes.get(i)?);
        i += 1 + len + offset;
    }
}

/// Decode ISO 28560-2 memory into a record.
pub fn decode(bytes: &[u8]) -> Result<ItemRecord, String> {
    let mut warnings = Vec::new();
    let elements = elements(bytes, &mut warnings);
    let Some(first) = elements.first() else {
        return Err("no ISO 28560-2 data elements".into());
    };
    if first.oid != oid::PRIMARY_ITEM_ID {
        return Err(format!(
            "ISO 28560-2 data starts with {}, not the primary item identifier",
            oid::name(first.oid)
        ));
    }
    let primary_id = text_of(first, &mut warnings);
    let mut record = ItemRecord::new(
        DataModel::Iso28560_2,
        TypeOfUsage::NoInformation,
        primary_id,
    );
    let mut announced: Option<Vec<u8>> = None;
    let mut present = Vec::new();
    for element in elements.iter().skip(1) {
        present.push(element.oid);
        match element.oid {
            oid::PRIMARY_ITEM_ID => {
                warnings.push("a second primary item identifier was ignored".into())
            }
            oid::CONTENT_PARAMETER => announced = Some(bitmap_oids(&element.data)),
            oid::OWNER_LIBRARY => {
                record.owner_isil = Some(if element.compaction == Compaction::ApplicationDefined {
                    isil::decode(&element.data)
                } else {
                    text_of(element, &mut warnings)
                })
            }
            oid::SET_INFORMATION => {
                let text = text_of(element, &mut warnings);
                match parse_set(&text, &mut warnings) {
                    Some(set) => record.set = Some(set).filter(|s| s.parts > 1 || s.part_no > 1),
                    None => warnings.push(format!("set information {text:?} not understood")),
                }
            }
            oid::TYPE_OF_USAGE => match (element.compaction, element.data.as_slice()) {
                (Compaction::ApplicationDefined | Compaction::Integer, &[byte]) => {
                    record.type_of_usage = TypeOfUsage::from_class(byte >> 4);
                    if byte & 0x0F != 0 {
                        record.extra.push(ExtraField {
                            oid: Some(oid::TYPE_OF_USAGE),
                            block_id: None,
                            name: "type of usage qualifier".into(),
                            value: FieldValue::Text(format!("{}", byte & 0x0F)),
                        });
                    }
                }
                _ => warnings.push("type of usage is not one byte".into()),
            },
            oid::SHELF_LOCATION => record.shelf_location = Some(text_of(element, &mut warnings)),
            oid::TITLE => record.title = Some(text_of(element, &mut warnings)),
            other => {
                let value = if element.compaction == Compaction::ApplicationDefined {
                    FieldValue::Bytes(element.data.clone())
                } else {
                    FieldValue::Text(text_of(element, &mut warnings))
                };
                record.extra.push(ExtraField {
                    oid: Some(other),
                    block_id: None,
                    name: oid::name(other).into(),
                    value,
                });
            }
        }
    }
    if let Some(announced) = announced {
        for oid in announced.iter().filter(|o| !present.contains(o)) {
            warnings.push(format!(
                "content parameter announces {} but it is missing",
                oid::name(*oid)
            ));
        }
    }
    record.warnings = warnings;
    Ok(record)
}

/// The OIDs a content parameter bitmap announces: bit 7 of the first byte is OID 3.
fn bitmap_oids(data: &[u8]) -> Vec<u8> {
    let mut oids = Vec::new();
    for (i, byte) in data.iter().enumerate() {
        for bit in 0..8u8 {
            if byte & (0x80 >> bit) != 0 {
                let oid = i
                    .saturating_mul(8)
                    .saturating_add(usize::from(bit))
                    .saturating_add(3);
                oids.push(u8::try_from(oid).unwrap_or(u8::MAX));
            }
        }
    }
    oids
}

fn bitmap_for(oids: &[u8]) -> Vec<u8> {
    let max = oids.iter().copied().max().unwrap_or(3);
    let mut bitmap = vec![0u8; usize::from(max.saturating_sub(3)) / 8 + 1];
    for &oid in oids.iter().filter(|&&o| o >= 3) {
        let i = usize::from(oid - 3);
        if let Some(byte) = bitmap.get_mut(i / 8) {
            *byte |= 0x80 >> (i % 8);
        }
    }
    bitmap
}

/// Set information as text: the number of parts in the set, then the part number, both in the
/// same number of digits ("1203": part 3 of 12). An odd length is an integer-compacted string
/// that lost its leading zero; a total below the part number is the two written the other way
/// round, which some encoders do (noted in `warnings`).
fn parse_set(text: &str, warnings: &mut Vec<String>) -> Option<SetInfo> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = if text.len().is_multiple_of(2) {
        text.to_string()
    } else {
        format!("0{text}")
    };
    let (first, second) = padded.split_at(padded.len() / 2);
    let first: u8 = first.parse().ok()?;
    let second: u8 = second.parse().ok()?;
    if first == 0 || second == 0 {
        return None;
    }
    if first >= second {
        Some(SetInfo {
            parts: first,
            part_no: second,
        })
    } else {
        warnings.push(format!(
            "set information {text:?} read as part {first} of {second}"
        ));
        Some(SetInfo {
            parts: second,
            part_no: first,
        })
    }
}

/// The total first, so the string never starts with 0 and integer compaction applies.
fn format_set(set: SetInfo) -> String {
    let width = set.parts.to_string().len();
    format!("{:0width$}{:0width$}", set.parts, set.part_no)
}

/// The element's data as text, whatever the compaction.
fn text_of(element: &Element, warnings: &mut Vec<String>) -> String {
    let data = &element.data;
    match element.compaction {
        Compaction::Integer => match data.len() {
            0 => String::new(),
            1..=16 => data
                .iter()
                .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
                .to_string(),
            _ => {
                warnings.push(format!("{} integer too long", oid::name(element.oid)));
                crate::rfid::tag::hex(data)
            }
        },
        Compaction::Numeric => {
            let mut out = String::new();
            for nibble in data.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
                match nibble {
                    0..=9 => out.push(char::from(b'0' + nibble)),
                    0x0F => {}
                    _ => warnings.push(format!("{}: bad numeric digit", oid::name(element.oid))),
                }
            }
            out
        }
        Compaction::FiveBit => unpack(data, 5, &[0], |v| char::from(0x40 + v)),
        Compaction::SixBit => unpack(data, 6, &[0, SIX_BIT_PAD], |v| {
            char::from(if v < 0x20 { 0x40 + v } else { v })
        }),
        Compaction::SevenBit => {
            let text = unpack(data, 7, &[0], char::from);
            text.trim_end_matches('\0').to_string()
        }
        Compaction::Octet => data.iter().map(|&b| char::from(b)).collect(),
        Compaction::Utf8 => match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(_) => {
                warnings.push(format!("{} is not valid UTF-8", oid::name(element.oid)));
                String::from_utf8_lossy(data).into_owned()
            }
        },
        Compaction::ApplicationDefined => {
            if data.iter().all(|b| (0x20..0x7F).contains(b)) {
                data.iter().map(|&b| char::from(b)).collect()
            } else {
                crate::rfid::tag::hex(data)
            }
        }
    }
}

/// ISO/IEC 15962 pads 6-bit data with the leading bits of the code for a space (100000): the
/// standard's example "QA268.L55" ends in 0xD6.
const SIX_BIT_PAD: u8 = 0b10_0000;

/// Read `bits`-wide values, most significant bit first; trailing pad bits are dropped. A final
/// value in `pads` that, with the bits after it, is shorter than a byte is padding (this
/// encoder never ends a string with a character whose code is a pad value).
fn unpack(data: &[u8], bits: u32, pads: &[u8], map: impl Fn(u8) -> char) -> String {
    let bits = u64::from(bits);
    let total = data.len() as u64 * 8;
    let count = total / bits;
    let mut values: Vec<u8> = (0..count)
        .map(|i| read_bits(data, i * bits, bits as u32))
        .collect();
    let rest = total - count * bits;
    if values.last().is_some_and(|v| pads.contains(v)) && rest + bits < 8 {
        values.pop();
    }
    values.into_iter().map(map).collect()
}

fn read_bits(data: &[u8], start: u64, bits: u32) -> u8 {
    let mut value = 0u8;
    for k in 0..u64::from(bits) {
        let pos = start + k;
        let byte = usize::try_from(pos / 8)
            .ok()
            .and_then(|i| data.get(i))
            .copied()
            .unwrap_or(0);
        let bit = (byte >> (7 - (pos % 8))) & 1;
        value = (value << 1) | bit;
    }
    value
}

/// Pack `bits`-wide values, then fill the last byte with the leading bits of `pad`.
fn pack(values: &[u8], bits: u32, pad: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut filled = 0;
    for &v in values {
        acc = (acc << bits) | u32::from(v);
        filled += bits;
        while filled >= 8 {
            filled -= 8;
            out.push((acc >> filled) as u8);
        }
    }
    if filled > 0 {
        let pad_bits = 8 - filled;
        let pad = if pad_bits <= bits {
            u32::from(pad) >> (bits - pad_bits)
        } else {
            u32::from(pad) << (pad_bits - bits)
        };
        out.push(((acc << pad_bits) | pad) as u8);
    }
    out
}

/// The smallest valid compaction of `text`, or why there is none.
pub fn compact(field: &'static str, text: &str) -> Result<(Compaction, Vec<u8>), EncodeError> {
    if text.chars().any(|c| c.is_control()) {
        return Err(EncodeError::BadCharacters {
            field,
            value: text.to_string(),
        });
    }
    let mut options: Vec<(Compaction, Vec<u8>)> = Vec::new();
    let bytes = text.as_bytes();
    let digits = !text.is_empty() && bytes.iter().all(u8::is_ascii_digit);
    if digits
        && (text.len() == 1 || !text.starts_with('0'))
        && text.len() <= 38
        && let Ok(n) = text.parse::<u128>()
    {
        let be = n.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count().min(15);
        options.push((Compaction::Integer, be.get(skip..).unwrap_or(&be).to_vec()));
    }
    // Numeric compaction (scheme 2) is never written: its packing could not be checked
    // against the standard, and digits with a leading zero fit 6-bit compaction.
    let n = bytes.len() as u32;
    let ends_at = text.ends_with('@');
    if !text.is_empty()
        && !ends_at
        && bytes.iter().all(|b| (0x40..=0x5F).contains(b))
        && pad_bits(n, 5) < 5
    {
        let values: Vec<u8> = bytes.iter().map(|b| b - 0x40).collect();
        options.push((Compaction::FiveBit, pack(&values, 5, 0)));
    }
    // 0x21..=0x27 are control and reserved codes in the ISO/IEC 15962 6-bit table; leave them
    // to 7-bit. Six pad bits would read as a trailing space, so such lengths go elsewhere too.
    if !text.is_empty()
        && !ends_at
        && !text.ends_with(' ')
        && pad_bits(n, 6) < 6
        && bytes
            .iter()
            .all(|b| (0x20..=0x5F).contains(b) && !(0x21..=0x27).contains(b))
    {
        let values: Vec<u8> = bytes
            .iter()
            .map(|&b| if b >= 0x40 { b - 0x40 } else { b })
            .collect();
        options.push((Compaction::SixBit, pack(&values, 6, SIX_BIT_PAD)));
    }
    if text.is_ascii() && pad_bits(n, 7) < 7 && !text.ends_with('\0') {
        options.push((Compaction::SevenBit, pack(bytes, 7, 0)));
    }
    if text.chars().all(|c| u32::from(c) <= 0xFF) {
        options.push((
            Compaction::Octet,
            text.chars().map(|c| u32::from(c) as u8).collect(),
        ));
    } else {
        options.push((Compaction::Utf8, bytes.to_vec()));
    }
    // Earlier schemes win ties: they are the ones ISO/IEC 15962 prefers.
    let best = options
        .into_iter()
        .enumerate()
        .min_by_key(|(i, (_, data))| (data.len(), *i))
        .map(|(_, option)| option)
        .unwrap_or((Compaction::Octet, Vec::new()));
    Ok(best)
}

fn pad_bits(chars: u32, bits: u32) -> u32 {
    (8 - (chars * bits) % 8) % 8
}

fn push_element(
    out: &mut Vec<u8>,
    field: &'static str,
    oid: u8,
    compaction: Compaction,
    data: &[u8],
) -> Result<(), EncodeError> {
    let len = u8::try_from(data.len()).map_err(|_| EncodeError::TooLong {
        field,
        len: data.len(),
        max: 255,
    })?;
    let compaction_bits = (compaction as u8) << 4;
    if oid < 15 {
        out.push(compaction_bits | oid);
    } else {
        out.push(compaction_bits | 0x0F);
        out.push(oid - 15);
    }
    out.push(len);
    out.extend_from_slice(data);
    Ok(())
}

/// Encode `record` as an ISO 28560-2 data set ending with a 0x00 terminator.
pub fn encode(record: &ItemRecord) -> Result<Vec<u8>, EncodeError> {
    if record.primary_id.is_empty() {
        return Err(EncodeError::EmptyPrimaryId);
    }
    let usage = record.type_of_usage;
    if !usage.is_canonical() {
        return Err(EncodeError::Unsupported {
            field: format!("type of usage {usage:?}"),
        });
    }
    // (oid, compaction, data) in OID order after the primary item identifier.
    let mut items: Vec<(&'static str, u8, Compaction, Vec<u8>)> = Vec::new();
    if let Some(isil) = &record.owner_isil {
        items.push((
            "owner library ISIL",
            oid::OWNER_LIBRARY,
            Compaction::ApplicationDefined,
            isil::encode(isil)?,
        ));
    }
    if let Some(set) = record.set {
        if set.parts == 0
            || set.part_no == 0
            || set.part_no > set.parts
            || (set.parts == 1 && set.part_no == 1)
        {
            return Err(EncodeError::BadSet {
                parts: set.parts,
                part_no: set.part_no,
            });
        }
        let (c, data) = compact("set information", &format_set(set))?;
        items.push(("set information", oid::SET_INFORMATION, c, data));
    }
    let mut qualifier = 0u8;
    let mut extras: Vec<&ExtraField> = Vec::new();
    for field in &record.extra {
        match field.oid {
            Some(oid::TYPE_OF_USAGE) => {
                qualifier = match &field.value {
                    FieldValue::Text(t) => t.parse::<u8>().ok().filter(|q| (1..16).contains(q)),
                    FieldValue::Bytes(_) => None,
                }
                .ok_or_else(|| EncodeError::Unsupported {
                    field: field.name.clone(),
                })?;
            }
            Some(o)
                if (7..=oid::LAST).contains(&o) && o != oid::TITLE && field.block_id.is_none() =>
            {
                extras.push(field)
            }
            _ => {
                return Err(EncodeError::Unsupported {
                    field: field.name.clone(),
                });
            }
        }
    }
    if usage != TypeOfUsage::NoInformation || qualifier != 0 {
        items.push((
            "type of usage",
            oid::TYPE_OF_USAGE,
            Compaction::ApplicationDefined,
            vec![(usage.class() << 4) | qualifier],
        ));
    }
    if let Some(shelf) = &record.shelf_location {
        let (c, data) = compact("shelf location", shelf)?;
        items.push(("shelf location", oid::SHELF_LOCATION, c, data));
    }
    if let Some(title) = &record.title {
        let (c, data) = compact("title", title)?;
        items.push(("title", oid::TITLE, c, data));
    }
    for field in extras {
        let oid = field.oid.unwrap_or(0);
        let (c, data) = match &field.value {
            FieldValue::Text(t) => compact("data element", t)?,
            FieldValue::Bytes(b) => (Compaction::ApplicationDefined, b.clone()),
        };
        items.push(("data element", oid, c, data));
    }
    items.sort_by_key(|item| item.1);
    if items.windows(2).any(|w| w[0].1 == w[1].1) {
        return Err(EncodeError::Unsupported {
            field: "a data element given twice".into(),
        });
    }
    let mut out = Vec::new();
    let (c, data) = compact("primary item identifier", &record.primary_id)?;
    push_element(
        &mut out,
        "primary item identifier",
        oid::PRIMARY_ITEM_ID,
        c,
        &data,
    )?;
    if !items.is_empty() {
        let oids: Vec<u8> = items.iter().map(|item| item.1).collect();
        push_element(
            &mut out,
            "content parameter",
            oid::CONTENT_PARAMETER,
            Compaction::ApplicationDefined,
            &bitmap_for(&oids),
        )?;
    }
    for (field, oid, c, data) in &items {
        push_element(&mut out, field, *oid, *c, data)?;
    }
    out.push(0);
    Ok(out)
}

/// The ISIL compaction of ISO 28560-2 (application-defined compaction of the owner library):
/// 5-bit upper- and lower-case sets and a 4-bit numeric set, with latch and shift codes.
pub mod isil {
    use crate::rfid::tag::EncodeError;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Set {
        Upper,
        Lower,
        Digit,
    }

    fn width(set: Set) -> u32 {
        if set == Set::Digit { 4 } else { 5 }
    }

    fn char_of(set: Set, v: u8) -> Option<char> {
        match (set, v) {
            (Set::Upper | Set::Lower, 0) | (Set::Digit, 10) => Some('-'),
            (Set::Upper, 1..=26) => Some(char::from(b'A' + v - 1)),
            (Set::Lower, 1..=26) => Some(char::from(b'a' + v - 1)),
            (Set::Upper, 27) | (Set::Digit, 11) => Some(':'),
            (Set::Lower, 27) => Some('/'),
            (Set::Digit, 0..=9) => Some(char::from(b'0' + v)),
            _ => None,
        }
    }

    /// (latch, shift) targets of a control value in `set`.
    fn control(set: Set, v: u8) -> Option<(Set, bool)> {
        match (set, v) {
            (Set::Upper, 28) => Some((Set::Lower, false)),
            (Set::Upper, 29) => Some((Set::Lower, true)),
            (Set::Lower, 28) => Some((Set::Upper, false)),
            (Set::Lower, 29) => Some((Set::Upper, true)),
            (Set::Upper | Set::Lower, 30) => Some((Set::Digit, false)),
            (Set::Upper | Set::Lower, 31) => Some((Set::Digit, true)),
            (Set::Digit, 12) => Some((Set::Upper, false)),
            (Set::Digit, 13) => Some((Set::Upper, true)),
            (Set::Digit, 14) => Some((Set::Lower, false)),
            (Set::Digit, 15) => Some((Set::Lower, true)),
            _ => None,
        }
    }

    fn code_in(set: Set, c: char) -> Option<u8> {
        (0..32u8).find(|&v| (set != Set::Digit || v < 16) && char_of(set, v) == Some(c))
    }

    fn control_code(from: Set, to: Set, shift: bool) -> u8 {
        (0..32u8)
            .find(|&v| control(from, v) == Some((to, shift)))
            .unwrap_or(0)
    }

    pub fn decode(data: &[u8]) -> String {
        let total = data.len() as u64 * 8;
        let mut pos = 0u64;
        let mut latched = Set::Upper;
        let mut shifted: Option<Set> = None;
        let mut out = String::new();
        loop {
            let set = shifted.take().unwrap_or(latched);
            let w = width(set);
            if pos + u64::from(w) > total {
                break;
            }
            let v = super::read_bits(data, pos, w);
            pos += u64::from(w);
            if let Some(c) = char_of(set, v) {
                out.push(c);
            } else if let Some((target, shift)) = control(set, v) {
                if shift {
                    shifted = Some(target);
                } else {
                    latched = target;
                }
            }
        }
        // Zero padding from other encoders reads as trailing hyphens, never valid in an ISIL.
        out.trim_end_matches('-').to_string()
    }

    fn set_of(c: char) -> Option<Set> {
        if c.is_ascii_uppercase() || c == ':' {
            Some(Set::Upper)
        } else if c.is_ascii_lowercase() || c == '/' {
            Some(Set::Lower)
        } else if c.is_ascii_digit() {
            Some(Set::Digit)
        } else {
            None
        }
    }

    pub fn encode(isil: &str) -> Result<Vec<u8>, EncodeError> {
        let bad = || EncodeError::BadCharacters {
            field: "owner library ISIL",
            value: isil.to_string(),
        };
        if isil.is_empty() || isil.len() > 16 || isil.ends_with('-') {
            return Err(bad());
        }
        let chars: Vec<char> = isil.chars().collect();
        let mut bits: Vec<(u8, u32)> = Vec::new();
        let mut latched = Set::Upper;
        for (i, &c) in chars.iter().enumerate() {
            if c != '-' && !c.is_ascii_alphanumeric() && c != ':' && c != '/' {
                return Err(bad());
            }
            if code_in(latched, c).is_none() {
                let target = set_of(c).ok_or_else(bad)?;
                let next_same = chars.get(i + 1).is_some_and(|&n| {
                    code_in(target, n).is_some() && code_in(latched, n).is_none()
                });
                if next_same {
                    bits.push((control_code(latched, target, false), width(latched)));
                    latched = target;
                } else {
                    bits.push((control_code(latched, target, true), width(latched)));
                    bits.push((code_in(target, c).ok_or_else(bad)?, width(target)));
                    continue;
                }
            }
            bits.push((code_in(latched, c).ok_or_else(bad)?, width(latched)));
        }
        let mut out = Vec::new();
        let mut acc: u64 = 0;
        let mut filled = 0u32;
        for (v, w) in bits {
            acc = (acc << w) | u64::from(v);
            filled += w;
            while filled >= 8 {
                filled -= 8;
                out.push((acc >> filled) as u8);
            }
        }
        if filled > 0 {
            // Pad with ones: a lone shift code, which a decoder drops.
            let pad = 8 - filled;
            out.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integer_primary_id_from_the_standard_example() {
        // Precursor 0x91: offset byte present, integer compaction, OID 1; no pad bytes.
        let bytes = [0x91, 0x00, 0x05, 0x1C, 0xBE, 0x99, 0x1A, 0x14, 0x00];
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.primary_id, "123456789012");
        assert!(looks_like(&bytes));
        assert_eq!(data_set_end(&bytes), Some(8));
        assert_eq!(data_set_end(&bytes[..8]), None);
        // Encoded without the offset byte.
        let encoded = encode(&record).expect("encodes");
        assert_eq!(encoded, [0x11, 0x05, 0x1C, 0xBE, 0x99, 0x1A, 0x14, 0x00]);
    }

    /// The worked example of ISO 28560-2:2014 annex D (tables D.5 and D.6): primary item
    /// identifier with an offset byte, content parameter announcing OIDs 3, 4 and 6, set
    /// information "1203" in integer compaction and shelf location "QA268.L55" in 6-bit.
    const ANNEX_D: [u8; 27] = [
        0x91, 0x00, 0x05, 0x1C, 0xBE, 0x99, 0x1A, 0x14, // primary item identifier
        0x02, 0x01, 0xD0, // content parameter
        0x14, 0x02, 0x04, 0xB3, // set information
        0x46, 0x07, 0x44, 0x1C, 0xB6, 0xE2, 0xE3, 0x35, 0xD6, // shelf location
        0x00, 0x00, 0x00, // terminator, then unused memory
    ];

    #[test]
    fn standard_example_decodes() {
        let record = decode(&ANNEX_D).expect("decodes");
        assert_eq!(record.primary_id, "123456789012");
        assert_eq!(
            record.set,
            Some(SetInfo {
                parts: 12,
                part_no: 3
            })
        );
        assert_eq!(record.shelf_location.as_deref(), Some("QA268.L55"));
        // The example announces an owner library that this excerpt does not hold.
        assert_eq!(record.warnings.len(), 1, "{:?}", record.warnings);
        assert!(record.warnings[0].contains("owner library"));
        assert!(looks_like(&ANNEX_D));
        assert_eq!(data_set_end(&ANNEX_D), Some(24));
        let mut warnings = Vec::new();
        let oids: Vec<u8> = elements(&ANNEX_D, &mut warnings)
            .iter()
            .map(|e| e.oid)
            .collect();
        assert_eq!(oids, [1, 2, 4, 6]);
        assert_eq!(bitmap_oids(&[0xD0]), [3, 4, 6]);
    }

    #[test]
    fn standard_example_encodes() {
        let mut record = ItemRecord::new(
            DataModel::Iso28560_2,
            TypeOfUsage::NoInformation,
            "123456789012",
        );
        record.set = Some(SetInfo {
            parts: 12,
            part_no: 3,
        });
        record.shelf_location = Some("QA268.L55".into());
        let bytes = encode(&record).expect("encodes");
        let mut expected = vec![0x11, 0x05, 0x1C, 0xBE, 0x99, 0x1A, 0x14];
        // Without an owner library the content parameter announces OIDs 4 and 6 only.
        expected.extend_from_slice(&[0x02, 0x01, 0x50]);
        expected.extend_from_slice(ANNEX_D.get(11..25).expect("in range"));
        assert_eq!(bytes, expected);
        assert_eq!(decode(&bytes).expect("decodes"), record);
    }

    #[test]
    fn set_information_orders() {
        let mut warnings = Vec::new();
        let set = |parts, part_no| Some(SetInfo { parts, part_no });
        assert_eq!(parse_set("1203", &mut warnings), set(12, 3));
        assert_eq!(parse_set("32", &mut warnings), set(3, 2));
        // "0302" in integer compaction reads back as 302.
        assert_eq!(parse_set("302", &mut warnings), set(3, 2));
        assert!(warnings.is_empty());
        assert_eq!(parse_set("0102", &mut warnings), set(2, 1));
        assert_eq!(warnings.len(), 1);
        assert_eq!(parse_set("0003", &mut warnings), None);
        assert_eq!(parse_set("1a", &mut warnings), None);
        assert_eq!(
            format_set(SetInfo {
                parts: 12,
                part_no: 3
            }),
            "1203"
        );
        assert_eq!(
            format_set(SetInfo {
                parts: 3,
                part_no: 2
            }),
            "32"
        );
        assert_eq!(
            format_set(SetInfo {
                parts: 100,
                part_no: 7
            }),
            "100007"
        );
    }

    #[test]
    fn extended_oid_with_offset_byte() {
        // Title (OID 17) in octet compaction, one pad byte: precursor, offset, OID - 15, length.
        let bytes = [
            0x11, 0x01, 0x07, 0xEF, 0x01, 0x02, 0x02, b'H', b'i', 0xAA, 0x00,
        ];
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.title.as_deref(), Some("Hi"));
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
        assert_eq!(data_set_end(&bytes), Some(10));
        // The header bytes the other way round are recognised when the offset could not be an
        // OID byte (here 20 pad bytes); small values of both stay ambiguous and read in order.
        let mut swapped = vec![0x11, 0x01, 0x07, 0xEF, 0x02, 0x14, 0x02, b'H', b'i'];
        swapped.extend_from_slice(&[0xAA; 20]);
        swapped.push(0x00);
        assert_eq!(
            decode(&swapped).expect("decodes").title.as_deref(),
            Some("Hi")
        );
        assert_eq!(data_set_end(&swapped), Some(29));
    }

    #[test]
    fn six_bit_padding() {
        // One pad bit pair (standard example), four pad bits, and decoders' zero padding.
        let (c, data) = compact("t", "QA268.L55").expect("ok");
        assert_eq!(c, Compaction::SixBit);
        assert_eq!(data, [0x44, 0x1C, 0xB6, 0xE2, 0xE3, 0x35, 0xD6]);
        assert_eq!(
            compact("t", "AB").expect("ok"),
            (Compaction::SixBit, vec![0x04, 0x28])
        );
        let text = |data: &[u8]| {
            let element = Element {
                oid: 6,
                compaction: Compaction::SixBit,
                data: data.to_vec(),
            };
            text_of(&element, &mut Vec::new())
        };
        assert_eq!(text(&[0x04, 0x20]), "AB");
        // Three characters and six pad bits, as space or as zeros.
        assert_eq!(text(&[0x04, 0x2B, 0xA0]), "AB.");
        assert_eq!(text(&[0x04, 0x2B, 0x80]), "AB.");
        // Three characters are never written in 6-bit (the pad would read as a space).
        assert_ne!(compact("t", "AB.").expect("ok").0, Compaction::SixBit);
        assert_ne!(compact("t", "ABCD ").expect("ok").0, Compaction::SixBit);
    }

    #[test]
    fn isil_standard_examples() {
        // ISO 28560-2:2014 annex C.6: latch lower, shift numeric, padding with ones.
        assert_eq!(
            isil::encode("DE-Heu1").expect("valid"),
            [0x21, 0x40, 0x8E, 0x16, 0xBF, 0x1F]
        );
        assert_eq!(
            isil::decode(&[0x21, 0x40, 0x8E, 0x16, 0xBF, 0x1F]),
            "DE-Heu1"
        );
        // Latch numeric, the hyphen inside the numeric set.
        let ch = [0x1A, 0x01, 0xE0, 0x00, 0x13, 0x4A, 0x1F];
        assert_eq!(isil::encode("CH-000134-1").expect("valid"), ch);
        assert_eq!(isil::decode(&ch), "CH-000134-1");
    }

    #[test]
    fn numeric_compaction_is_read_not_written() {
        let element = Element {
            oid: 1,
            compaction: Compaction::Numeric,
            data: vec![0x01, 0x2F],
        };
        let mut warnings = Vec::new();
        assert_eq!(text_of(&element, &mut warnings), "012");
        assert!(warnings.is_empty());
    }

    #[test]
    fn compaction_choice() {
        assert_eq!(
            compact("t", "0123").expect("ok"),
            (Compaction::SixBit, vec![0xC3, 0x1C, 0xB3])
        );
        assert_eq!(compact("t", "012").expect("ok").0, Compaction::SevenBit);
        assert_eq!(
            compact("t", "255").expect("ok"),
            (Compaction::Integer, vec![0xFF])
        );
        assert_eq!(compact("t", "ABCDEFGH").expect("ok").0, Compaction::FiveBit);
        assert_eq!(compact("t", "AB-12").expect("ok").0, Compaction::SixBit);
        assert_eq!(compact("t", "abc").expect("ok").0, Compaction::SevenBit);
        assert_eq!(compact("t", "Søren").expect("ok").0, Compaction::Octet);
        assert_eq!(compact("t", "图书馆").expect("ok").0, Compaction::Utf8);
        assert!(compact("t", "a\nb").is_err());
    }

    #[test]
    fn isil_compaction() {
        for isil in [
            "US-InU-Mu",
            "FI-He",
            "DK-710100",
            "CN-110000-1",
            "GB-UkOxU:a/b",
        ] {
            let data = isil::encode(isil).expect("valid ISIL");
            assert_eq!(isil::decode(&data), isil, "{data:02X?}");
        }
        // "FI-He": F I - (shift lower) e? no: H upper, e lower.
        assert!(isil::encode("FI He").is_err());
    }

    #[test]
    fn full_record() {
        let mut record = ItemRecord::new(
            DataModel::Iso28560_2,
            TypeOfUsage::Circulating,
            "31234001234567",
        );
        record.owner_isil = Some("FI-He".into());
        record.set = Some(SetInfo {
            parts: 3,
            part_no: 2,
        });
        record.title = Some("Seitsemän veljestä".into());
        record.shelf_location = Some("84.2 KIV".into());
        record.extra.push(ExtraField {
            oid: Some(26),
            block_id: None,
            name: oid::name(26).into(),
            value: FieldValue::Text("x".into()),
        });
        let bytes = encode(&record).expect("encodes");
        assert_eq!(bytes[0] & 0x0F, 1);
        assert_eq!(bytes.last(), Some(&0));
        // OID 26 goes through the extension byte.
        assert!(bytes.windows(2).any(|w| w == [0x5F, 11]));
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(decoded, record);
    }

    #[test]
    fn content_parameter_mismatch_is_a_warning() {
        // Primary id "1", content parameter announcing OID 3, nothing else.
        let bytes = [0x11, 0x01, 0x01, 0x02, 0x01, 0x80, 0x00];
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.warnings.len(), 1);
    }

    #[test]
    fn truncated_element_is_a_warning() {
        let bytes = [0x11, 0x01, 0x07, 0x66, 0x05, b'a'];
        let record = decode(&bytes).expect("decodes");
        assert_eq!(record.primary_id, "7");
        assert!(!record.warnings.is_empty());
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof!["[0-9]{1,20}", "[A-Z]{1,20}", "[ -~]{1,30}", "\\PC{1,20}",]
    }

    proptest! {
        #[test]
        fn compaction_round_trip(s in text()) {
            let (c, data) = compact("t", &s).expect("printable");
            let mut warnings = Vec::new();
            let element = Element { oid: 17, compaction: c, data };
            prop_assert_eq!(text_of(&element, &mut warnings), s);
            prop_assert!(warnings.is_empty());
        }

        #[test]
        fn isil_round_trip(s in "[A-Z]{2}-[A-Za-z0-9:/]{1,12}") {
            prop_assert_eq!(isil::decode(&isil::encode(&s).expect("valid")), s);
        }

        #[test]
        fn record_round_trip(
            id in text(),
            class in 0u8..16,
            owner in proptest::option::of("[A-Z]{2}-[A-Za-z0-9]{1,10}"),
            set in proptest::option::of((2u8..=99, 1u8..=99)),
            title in proptest::option::of(text()),
            shelf in proptest::option::of(text()),
            extra in proptest::collection::btree_map(7u8..=26, text(), 0..4),
        ) {
            let mut record = ItemRecord::new(DataModel::Iso28560_2, TypeOfUsage::from_class(class), id);
            record.owner_isil = owner;
            record.set = set.map(|(parts, n)| SetInfo { parts, part_no: n.min(parts) });
            record.title = title;
            record.shelf_location = shelf;
            for (oid, value) in extra.into_iter().filter(|(o, _)| *o != oid::TITLE) {
                record.extra.push(ExtraField { oid: Some(oid), block_id: None, name: oid::name(oid).into(), value: FieldValue::Text(value) });
            }
            let bytes = encode(&record).expect("valid record");
            prop_assert_eq!(decode(&bytes).expect("decodes"), record);
        }

        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
            let _ = looks_like(&bytes);
            let _ = isil::decode(&bytes);
        }
    }
}
