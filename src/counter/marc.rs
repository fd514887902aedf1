//! MARC 21 bibliographic records: ISO 2709 (`.mrc`) and MARCXML, written and read.
//!
//! Our own small codec rather than the `marc` crate: that crate builds ISO 2709 and MARCXML
//! well, but its reader slices records by the lengths they claim and unwraps their text as
//! UTF-8, so a damaged file makes it panic. The demo ILS imports files it is handed, and every
//! reader of outside bytes here must refuse junk plainly (and is fuzzed), so the reading half
//! had to be ours; writing with the same types keeps one model of a record.
//!
//! Sans-IO: records in, bytes out, and back. [`purchase_record`] makes the record of one
//! counter purchase in the shape acquisitions imports (Koha's staged MARC import, Evergreen's
//! Vandelay, FOLIO's data import) read.

use std::fmt::Write as _;

use crate::counter::money::Cents;
use crate::counter::settings::HoldingsFormat;

const RECORD_TERMINATOR: u8 = 0x1D;
const FIELD_TERMINATOR: u8 = 0x1E;
const SUBFIELD_DELIMITER: u8 = 0x1F;
const LEADER_LEN: usize = 24;
const MAX_FIELD_LEN: usize = 9_999;
const MAX_RECORD_LEN: usize = 99_999;

/// The MARCXML namespace.
pub const MARCXML_NS: &str = "http://www.loc.gov/MARC21/slim";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 24 characters; the record length (0-4) and base address (12-16) are set when encoding.
    pub leader: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// 001-009: a value without indicators or subfields.
    Control { tag: String, value: String },
    Data {
        tag: String,
        ind1: char,
        ind2: char,
        subfields: Vec<Subfield>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subfield {
    pub code: char,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarcError {
    #[error("the leader must be 24 ASCII characters")]
    Leader,
    #[error("tag {0:?} is not three letters or digits")]
    Tag(String),
    #[error("field {tag}: indicator or subfield code {found:?} is not a printable ASCII character")]
    Code { tag: String, found: char },
    #[error("field {tag}: the text holds a control character")]
    ControlCharacter { tag: String },
    #[error("field {tag} is {len} bytes long, more than ISO 2709 allows ({MAX_FIELD_LEN})")]
    FieldTooLong { tag: String, len: usize },
    #[error("the record is {0} bytes long, more than ISO 2709 allows ({MAX_RECORD_LEN})")]
    RecordTooLong(usize),
    #[error("not an ISO 2709 record: {0}")]
    Malformed(String),
}

impl Field {
    pub fn tag(&self) -> &str {
        match self {
            Field::Control { tag, .. } | Field::Data { tag, .. } => tag,
        }
    }

    fn control(tag: &str, value: impl Into<String>) -> Field {
        Field::Control {
            tag: tag.into(),
            value: value.into(),
        }
    }

    /// A data field of the subfields with text; `None` when none has any.
    fn data(tag: &str, ind1: char, ind2: char, subfields: &[(char, &str)]) -> Option<Field> {
        let subfields: Vec<Subfield> = subfields
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|&(code, v)| Subfield {
                code,
                value: v.trim().to_owned(),
            })
            .collect();
        (!subfields.is_empty()).then(|| Field::Data {
            tag: tag.into(),
            ind1,
            ind2,
            subfields,
        })
    }
}

impl Record {
    /// The fields with this tag.
    pub fn fields_of<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.tag() == tag)
    }

    /// The first value of subfield `code` of the first `tag` field that has one.
    pub fn subfield(&self, tag: &str, code: char) -> Option<&str> {
        self.fields.iter().find_map(|f| match f {
            Field::Data {
                tag: t, subfields, ..
            } if t == tag => subfields
                .iter()
                .find(|s| s.code == code)
                .map(|s| s.value.as_str()),
            _ => None,
        })
    }
}

fn is_control_tag(tag: &str) -> bool {
    tag.starts_with("00")
}

fn check_tag(tag: &str) -> Result<(), MarcError> {
    if tag.len() == 3 && tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(MarcError::Tag(tag.into()))
    }
}

fn check_text(tag: &str, text: &str) -> Result<(), MarcError> {
    if text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
    {
        Err(MarcError::ControlCharacter { tag: tag.into() })
    } else {
        Ok(())
    }
}

fn check_code(tag: &str, c: char) -> Result<u8, MarcError> {
    match u8::try_from(c) {
        Ok(b) if b == b' ' || b.is_ascii_graphic() => Ok(b),
        _ => Err(MarcError::Code {
            tag: tag.into(),
            found: c,
        }),
    }
}

/// One record in ISO 2709, UTF-8.
pub fn encode(record: &Record) -> Result<Vec<u8>, MarcError> {
    let mut leader = record.leader.as_bytes().to_vec();
    if leader.len() != LEADER_LEN || !leader.is_ascii() {
        return Err(MarcError::Leader);
    }
    let mut directory = Vec::new();
    let mut data = Vec::new();
    for field in &record.fields {
        let tag = field.tag();
        check_tag(tag)?;
        let start = data.len();
        match field {
            Field::Control { value, .. } => {
                check_text(tag, value)?;
                data.extend_from_slice(value.as_bytes());
            }
            Field::Data {
                ind1,
                ind2,
                subfields,
                ..
            } => {
                data.push(check_code(tag, *ind1)?);
                data.push(check_code(tag, *ind2)?);
                for s in subfields {
                    check_text(tag, &s.value)?;
                    data.push(SUBFIELD_DELIMITER);
                    data.push(check_code(tag, s.code)?);
                    data.extend_from_slice(s.value.as_bytes());
                }
            }
        }
        data.push(FIELD_TERMINATOR);
        let len = data.len() - start;
        if len > MAX_FIELD_LEN {
            return Err(MarcError::FieldTooLong {
                tag: tag.into(),
                len,
            });
        }
        write!(DirectoryWriter(&mut directory), "{tag}{len:04}{start:05}")
            .map_err(|_| MarcError::RecordTooLong(start))?;
    }
    directory.push(FIELD_TERMINATOR);
    let base = LEADER_LEN + directory.len();
    let total = base + data.len() + 1;
    if total > MAX_RECORD_LEN {
        return Err(MarcError::RecordTooLong(total));
    }
    leader.splice(0..5, format!("{total:05}").into_bytes());
    leader.splice(12..17, format!("{base:05}").into_bytes());
    let mut out = leader;
    out.extend_from_slice(&directory);
    out.extend_from_slice(&data);
    out.push(RECORD_TERMINATOR);
    Ok(out)
}

/// `write!` into a byte buffer.
struct DirectoryWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for DirectoryWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Several records, one after the other (a `.mrc` file).
pub fn encode_all(records: &[Record]) -> Result<Vec<u8>, MarcError> {
    let mut out = Vec::new();
    for r in records {
        out.extend(encode(r)?);
    }
    Ok(out)
}

fn decimal(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// One ISO 2709 record (with or without its record terminator). The directory says where the
/// fields are; every length and offset is checked against the bytes there are. Text that is
/// not UTF-8 is read with replacement characters.
pub fn decode(bytes: &[u8]) -> Result<Record, MarcError> {
    let bad = |why: &str| MarcError::Malformed(why.into());
    let leader = bytes
        .get(..LEADER_LEN)
        .ok_or_else(|| bad("shorter than a leader"))?;
    if !leader.is_ascii() {
        return Err(bad("the leader is not ASCII"));
    }
    let claimed = leader
        .get(0..5)
        .and_then(decimal)
        .ok_or_else(|| bad("no record length"))?;
    let base = leader
        .get(12..17)
        .and_then(decimal)
        .ok_or_else(|| bad("no base address"))?;
    let record = bytes
        .get(..claimed.min(bytes.len()))
        .ok_or_else(|| bad("record length"))?;
    if base <= LEADER_LEN || base > record.len() {
        return Err(bad("the base address is outside the record"));
    }
    let directory = record
        .get(LEADER_LEN..base - 1)
        .ok_or_else(|| bad("directory"))?;
    if record.get(base - 1) != Some(&FIELD_TERMINATOR) || directory.len() % 12 != 0 {
        return Err(bad(
            "the directory does not end where the base address says",
        ));
    }
    let data = record.get(base..).unwrap_or_default();
    let mut fields = Vec::with_capacity(directory.len() / 12);
    for entry in directory.chunks_exact(12) {
        let (tag, rest) = entry.split_at(3);
        let tag = std::str::from_utf8(tag)
            .ok()
            .filter(|t| t.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| bad("a directory entry has no tag"))?
            .to_owned();
        let (len, start) = rest.split_at(4);
        let (len, start) = decimal(len)
            .zip(decimal(start))
            .ok_or_else(|| bad("a directory entry has no length or position"))?;
        let body = start
            .checked_add(len)
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| MarcError::Malformed(format!("field {tag} lies outside the record")))?;
        let body = body.strip_suffix(&[FIELD_TERMINATOR]).unwrap_or(body);
        fields.push(decode_field(tag, body)?);
    }
    Ok(Record {
        leader: String::from_utf8_lossy(leader).into_owned(),
        fields,
    })
}

fn decode_field(tag: String, body: &[u8]) -> Result<Field, MarcError> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if is_control_tag(&tag) {
        return Ok(Field::Control {
            value: text(body),
            tag,
        });
    }
    let (indicators, rest) = body
        .split_at_checked(2)
        .ok_or_else(|| MarcError::Malformed(format!("field {tag} has no indicators")))?;
    let ind = |i: usize| char::from(indicators.get(i).copied().unwrap_or(b' '));
    let subfields = rest
        .split(|&b| b == SUBFIELD_DELIMITER)
        .skip(1)
        .filter_map(|chunk| {
            let (&code, value) = chunk.split_first()?;
            Some(Subfield {
                code: char::from(code),
                value: text(value),
            })
        })
        .collect();
    Ok(Field::Data {
        ind1: ind(0),
        ind2: ind(1),
        subfields,
        tag,
    })
}

/// Every record of a `.mrc` file, each decoded on its own, so one damaged record does not
/// hide the others. Line breaks between records (some tools add them) are skipped.
pub fn decode_all(bytes: &[u8]) -> Vec<Result<Record, MarcError>> {
    bytes
        .split(|&b| b == RECORD_TERMINATOR)
        .map(|chunk| chunk.trim_ascii_start())
        .filter(|chunk| !chunk.is_empty())
        .map(decode)
        .collect()
}

fn xml_escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// A MARCXML collection of the records. The leaders carry the lengths of the ISO 2709 form,
/// so both files describe the same records byte for byte.
pub fn to_marcxml(records: &[Record]) -> Result<String, MarcError> {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"{MARCXML_NS}\">\n"
    );
    for record in records {
        let encoded = encode(record)?;
        let leader = String::from_utf8_lossy(encoded.get(..LEADER_LEN).unwrap_or_default());
        out.push_str("  <record>\n    <leader>");
        xml_escape(&mut out, &leader);
        out.push_str("</leader>\n");
        for field in &record.fields {
            match field {
                Field::Control { tag, value } => {
                    out.push_str("    <controlfield tag=\"");
                    xml_escape(&mut out, tag);
                    out.push_str("\">");
                    xml_escape(&mut out, value);
                    out.push_str("</controlfield>\n");
                }
                Field::Data {
                    tag,
                    ind1,
                    ind2,
                    subfields,
                } => {
                    out.push_str("    <datafield tag=\"");
                    xml_escape(&mut out, tag);
                    out.push_str("\" ind1=\"");
                    xml_escape(&mut out, &ind1.to_string());
                    out.push_str("\" ind2=\"");
                    xml_escape(&mut out, &ind2.to_string());
                    out.push_str("\">\n");
                    for s in subfields {
                        out.push_str("      <subfield code=\"");
                        xml_escape(&mut out, &s.code.to_string());
                        out.push_str("\">");
                        xml_escape(&mut out, &s.value);
                        out.push_str("</subfield>\n");
                    }
                    out.push_str("    </datafield>\n");
                }
            }
        }
        out.push_str("  </record>\n");
    }
    out.push_str("</collection>\n");
    Ok(out)
}

/// What a purchase record says about the book and the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseData<'a> {
    pub item_id: &'a str,
    pub isbn13: &'a str,
    pub title: &'a str,
    pub author: &'a str,
    pub publisher: &'a str,
    pub year: &'a str,
    pub price: Cents,
    pub currency: &'a str,
    /// The day it was bought (`YYYY-MM-DD`) and when (`YYYYMMDDhhmmss`, for 005).
    pub day: &'a str,
    pub stamp: &'a str,
    pub bookstore_name: &'a str,
}

/// Where the holdings go and what they say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingsOptions<'a> {
    pub format: HoldingsFormat,
    pub home_branch: &'a str,
    pub holding_branch: &'a str,
    pub item_type: &'a str,
    /// The owner library's code for 003 (its ISIL), if known.
    pub organization: Option<&'a str>,
}

/// Text from a bookstore's file made safe for MARC: control characters (which would end a
/// field early) become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The 40 characters of 008 for a book: date entered, a single known date (or none),
/// language undetermined, cataloguing source "other".
fn field_008(day: &str, year: &str) -> String {
    let entered: String = day
        .chars()
        .filter(char::is_ascii_digit)
        .skip(2)
        .take(6)
        .collect();
    let entered = format!("{entered:0<6}");
    let (kind, date1) = if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
        ('s', year.to_owned())
    } else {
        ('n', "uuuu".to_owned())
    };
    // 18-34 hold the book's own codes: "|", not coded.
    format!("{entered}{kind}{date1}    xx {}und d", "|".repeat(17))
}

/// The bibliographic record of one purchase with its holdings.
pub fn purchase_record(p: &PurchaseData<'_>, h: &HoldingsOptions<'_>) -> Record {
    let [
        item_id,
        isbn,
        title,
        author,
        publisher,
        year,
        currency,
        bookstore,
    ] = [
        p.item_id,
        p.isbn13,
        p.title,
        p.author,
        p.publisher,
        p.year,
        p.currency,
        p.bookstore_name,
    ]
    .map(clean);
    let price = p.price.to_string();
    let stamp: String = p
        .stamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let mut fields = vec![Field::control("001", item_id.clone())];
    if let Some(org) = h.organization.map(clean).filter(|o| !o.is_empty()) {
        fields.push(Field::control("003", org));
    }
    fields.push(Field::control("005", format!("{stamp:0<14}.0")));
    fields.push(Field::control("008", field_008(p.day, &year)));
    let terms = format!("{currency} {price}");
    let optional = [
        Field::data("020", ' ', ' ', &[('a', &isbn), ('c', &terms)]),
        Field::data("100", '1', ' ', &[('a', &author)]),
        Field::data(
            "245",
            if author.is_empty() { '0' } else { '1' },
            '0',
            &[('a', &title)],
        ),
        Field::data("264", ' ', '1', &[('b', &publisher), ('c', &year)]),
        Field::data("365", ' ', ' ', &[('b', &price), ('c', &currency)]),
        match h.format {
            HoldingsFormat::Koha952 => Field::data(
                "952",
                ' ',
                ' ',
                &[
                    ('a', &clean(h.home_branch)),
                    ('b', &clean(h.holding_branch)),
                    ('d', &clean(p.day)),
                    ('e', &bookstore),
                    ('g', &price),
                    ('p', &item_id),
                    ('y', &clean(h.item_type)),
                ],
            ),
            HoldingsFormat::Marc852 => Field::data(
                "852",
                ' ',
                ' ',
                &[('a', &clean(h.home_branch)), ('p', &item_id)],
            ),
        },
    ];
    fields.extend(optional.into_iter().flatten());
    Record {
        // New record, language material, monograph, Unicode, minimal level.
        leader: "00000nam a22000007  4500".into(),
        fields,
    }
}

/// The copy a record describes, as a library system importing it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedItem {
    pub barcode: String,
    pub title: String,
    pub author: String,
    pub isbn: String,
    pub item_type: String,
    pub home_branch: String,
    pub call_number: String,
}

/// The copies of a record: one per 952 (Koha) or 852 field with a barcode ($p).
pub fn items_of(record: &Record) -> Vec<ImportedItem> {
    let title = record
        .subfield("245", 'a')
        .unwrap_or_default()
        .trim_end_matches([' ', '/', ':', '.', ';'])
        .to_owned();
    let author = record.subfield("100", 'a').unwrap_or_default().to_owned();
    let isbn = record.subfield("020", 'a').unwrap_or_default().to_owned();
    record
        .fields
        .iter()
        .filter_map(|f| match f {
            Field::Data { tag, subfields, .. } if tag == "952" || tag == "852" => {
                let get = |code: char| {
                    subfields
                        .iter()
                        .find(|s| s.code == code)
                        .map(|s| s.value.trim().to_owned())
                        .unwrap_or_default()
                };
                let barcode = get('p');
                if barcode.is_empty() {
                    return None;
                }
                let koha = tag == "952";
                Some(ImportedItem {
                    barcode,
                    title: title.clone(),
                    author: author.clone(),
                    isbn: isbn.clone(),
                    item_type: if koha { get('y') } else { String::new() },
                    home_branch: get('a'),
                    call_number: get(if koha { 'o' } else { 'h' }),
                })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A purchase as the counter records one (shared with the demo ILS's import tests).
    pub(crate) fn purchase() -> PurchaseData<'static> {
        PurchaseData {
            item_id: "31990000000007",
            isbn13: "9788845292613",
            title: "Il nome della rosa",
            author: "Eco, Umberto",
            publisher: "Bompiani",
            year: "2020",
            price: Cents(1400),
            currency: "EUR",
            day: "2026-05-20",
            stamp: "20260520103000",
            bookstore_name: "Libreria Dante & Figli",
        }
    }

    fn koha() -> HoldingsOptions<'static> {
        HoldingsOptions {
            format: HoldingsFormat::Koha952,
            home_branch: "MAIN",
            holding_branch: "MAIN",
            item_type: "BK",
            organization: Some("IT-FI0001"),
        }
    }

    #[test]
    fn purchase_record_fields() {
        let r = purchase_record(&purchase(), &koha());
        assert_eq!(r.subfield("020", 'a'), Some("9788845292613"));
        assert_eq!(r.subfield("020", 'c'), Some("EUR 14.00"));
        assert_eq!(r.subfield("100", 'a'), Some("Eco, Umberto"));
        assert_eq!(r.subfield("245", 'a'), Some("Il nome della rosa"));
        assert_eq!(r.subfield("264", 'b'), Some("Bompiani"));
        assert_eq!(r.subfield("264", 'c'), Some("2020"));
        assert_eq!(r.subfield("365", 'b'), Some("14.00"));
        assert_eq!(r.subfield("365", 'c'), Some("EUR"));
        for (code, value) in [
            ('a', "MAIN"),
            ('b', "MAIN"),
            ('d', "2026-05-20"),
            ('e', "Libreria Dante & Figli"),
            ('g', "14.00"),
            ('p', "31990000000007"),
            ('y', "BK"),
        ] {
            assert_eq!(r.subfield("952", code), Some(value), "952 ${code}");
        }
        let f008 = r.fields_of("008").next();
        match f008 {
            Some(Field::Control { value, .. }) => {
                assert_eq!(value.chars().count(), 40, "{value:?}");
                assert!(value.starts_with("260520s2020"), "{value:?}");
                assert_eq!(value.get(35..38), Some("und"));
            }
            other => panic!("{other:?}"),
        }
        let bytes = encode(&r).expect("encode");
        assert_eq!(bytes.get(9), Some(&b'a'), "Unicode");
        assert_eq!(bytes.last(), Some(&RECORD_TERMINATOR));
        let len: usize = std::str::from_utf8(&bytes[..5])
            .expect("ascii")
            .parse()
            .expect("len");
        assert_eq!(len, bytes.len());
        let back = decode(&bytes).expect("decode");
        assert_eq!(back.fields, r.fields);

        let plain = purchase_record(
            &PurchaseData {
                author: "",
                publisher: "",
                year: "",
                ..purchase()
            },
            &HoldingsOptions {
                format: HoldingsFormat::Marc852,
                organization: None,
                ..koha()
            },
        );
        assert!(plain.fields_of("100").next().is_none());
        assert!(plain.fields_of("264").next().is_none());
        assert!(plain.fields_of("952").next().is_none());
        assert!(plain.fields_of("003").next().is_none());
        assert_eq!(plain.subfield("852", 'p'), Some("31990000000007"));
        assert_eq!(plain.subfield("852", 'a'), Some("MAIN"));
        assert!(matches!(
            plain.fields_of("245").next(),
            Some(Field::Data { ind1: '0', .. })
        ));
    }

    #[test]
    fn hand_made_record_matches_the_standard_layout() {
        let r = Record {
            leader: "00000nam a22000007  4500".into(),
            fields: vec![
                Field::control("001", "X1"),
                Field::data("245", '1', '0', &[('a', "Tí")]).expect("field"),
            ],
        };
        let bytes = encode(&r).expect("encode");
        // Leader, two directory entries and their terminator, then the fields.
        let expected = b"00061nam a22000497  4500\
            001000300000\
            245000800003\x1e\
            X1\x1e\
            10\x1faT\xc3\xad\x1e\x1d";
        assert_eq!(bytes, expected.to_vec());
        assert_eq!(
            decode(&bytes).expect("decode"),
            Record {
                leader: "00061nam a22000497  4500".into(),
                ..r
            }
        );
    }

    #[test]
    fn encoding_refuses_what_iso_2709_cannot_hold() {
        let with = |fields| Record {
            leader: "00000nam a22000007  4500".into(),
            fields,
        };
        let field = |value: &str| Field::Data {
            tag: "245".into(),
            ind1: ' ',
            ind2: ' ',
            subfields: vec![Subfield {
                code: 'a',
                value: value.into(),
            }],
        };
        assert!(matches!(
            encode(&with(vec![field("a\u{1e}b")])),
            Err(MarcError::ControlCharacter { .. })
        ));
        assert!(matches!(
            encode(&with(vec![field(&"x".repeat(10_000))])),
            Err(MarcError::FieldTooLong { .. })
        ));
        assert!(matches!(
            encode(&with(vec![Field::control("1", "x")])),
            Err(MarcError::Tag(_))
        ));
        assert!(matches!(
            encode(&Record {
                leader: "short".into(),
                fields: vec![]
            }),
            Err(MarcError::Leader)
        ));
        // Control characters in a bookstore's data are made spaces, not written.
        let odd = purchase_record(
            &PurchaseData {
                title: "Line\nbreak\u{1d}",
                ..purchase()
            },
            &koha(),
        );
        assert_eq!(odd.subfield("245", 'a'), Some("Line break"));
    }

    #[test]
    fn a_file_with_a_damaged_record_still_gives_the_others() {
        let good = encode(&purchase_record(&purchase(), &koha())).expect("encode");
        let mut file = good.clone();
        file.extend_from_slice(b"\n00100nam junk\x1d\n");
        file.extend_from_slice(&good);
        let records = decode_all(&file);
        assert_eq!(records.len(), 3);
        assert!(records[0].is_ok() && records[2].is_ok());
        assert!(records[1].is_err());
        let items = items_of(records[2].as_ref().expect("ok"));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].barcode, "31990000000007");
        assert_eq!(items[0].title, "Il nome della rosa");
        assert_eq!(items[0].home_branch, "MAIN");
    }

    #[test]
    fn marcxml_escapes_and_names_the_namespace() {
        let xml = to_marcxml(&[purchase_record(&purchase(), &koha())]).expect("xml");
        assert!(xml.contains("<collection xmlns=\"http://www.loc.gov/MARC21/slim\">"));
        assert!(xml.contains("<subfield code=\"e\">Libreria Dante &amp; Figli</subfield>"));
        assert!(xml.contains("<datafield tag=\"952\" ind1=\" \" ind2=\" \">"));
        assert!(xml.contains("<leader>0"));
    }

    fn text() -> impl Strategy<Value = String> {
        "[^\\p{Cc}\u{FFFE}\u{FFFF}]{0,40}"
    }

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![
            ("00[1-9]", text()).prop_map(|(tag, value)| Field::Control { tag, value }),
            (
                "[0-9][1-9][0-9]",
                "[ 0-9a-z]",
                "[ 0-9a-z]",
                proptest::collection::vec(("[a-z0-9]", text()), 0..6)
            )
                .prop_map(|(tag, i1, i2, subs)| Field::Data {
                    tag,
                    ind1: i1.chars().next().unwrap_or(' '),
                    ind2: i2.chars().next().unwrap_or(' '),
                    subfields: subs
                        .into_iter()
                        .map(|(c, value)| Subfield {
                            code: c.chars().next().unwrap_or('a'),
                            value
                        })
                        .collect(),
                }),
        ]
    }

    proptest! {
        #[test]
        fn decode_reads_back_what_encode_wrote(fields in proptest::collection::vec(field(), 0..12)) {
            let r = Record { leader: "00000nam a22000007  4500".into(), fields };
            let bytes = encode(&r).expect("valid record");
            let back = decode(&bytes).expect("decodes");
            prop_assert_eq!(&back.fields, &r.fields);
            prop_assert_eq!(encode(&back).expect("again"), bytes);
        }

        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_all(&bytes);
            let _ = decode(&bytes);
        }

        #[test]
        fn damaged_records_never_panic(cut in 0usize..400, flip in 0usize..400, byte: u8) {
            let mut bytes = encode(&purchase_record(&purchase(), &koha())).expect("encode");
            if let Some(b) = bytes.get_mut(flip) {
                *b = byte;
            }
            bytes.truncate(cut);
            for r in decode_all(&bytes).into_iter().flatten() {
                let _ = items_of(&r);
            }
        }
    }
}
