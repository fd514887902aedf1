//! Character sets an ILS may speak SIP2 in.
//!
//! "Latin-1" here is true ISO-8859-1 (every byte is the code point of the same number), not the
//! WHATWG label that browsers map to windows-1252: a SIP2 server configured for ISO-8859-1
//! (Perl's `latin1`, Java's `ISO-8859-1`) sends bytes 0x80-0x9F as C1 controls, and windows-1252
//! would turn them into letters such as "€" that the server never meant, and could not encode
//! them back.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The character set of field values on the wire. The framing (ids, `|`, digits) is ASCII in all
/// of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    #[default]
    Utf8,
    /// IBM code page 850 (DOS Western Europe), the default of many older 3M-era installations.
    Cp850,
    /// GB18030, the Chinese national standard; it covers all of Unicode.
    Gb18030,
    /// ISO-8859-1.
    Latin1,
}

/// A charset name that [`Charset::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown character set {0:?} (expected utf-8, cp850, gb18030 or latin-1)")]
pub struct UnknownCharset(pub String);

impl FromStr for Charset {
    type Err = UnknownCharset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase().replace('_', "-");
        match name.as_str() {
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "cp850" | "cp-850" | "ibm850" | "ibm-850" | "850" => Ok(Charset::Cp850),
            "gb18030" | "gb-18030" => Ok(Charset::Gb18030),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Ok(Charset::Latin1),
            _ => Err(UnknownCharset(s.to_owned())),
        }
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Charset::Utf8 => "utf-8",
            Charset::Cp850 => "cp850",
            Charset::Gb18030 => "gb18030",
            Charset::Latin1 => "iso-8859-1",
        })
    }
}

impl Charset {
    /// Every supported charset.
    pub const ALL: [Charset; 4] = [
        Charset::Utf8,
        Charset::Cp850,
        Charset::Gb18030,
        Charset::Latin1,
    ];

    /// Appends `text` in this charset to `out`. Characters the charset cannot represent become
    /// `?`; the return value counts them so the caller can log that text was lost.
    pub fn encode_into(self, text: &str, out: &mut Vec<u8>) -> usize {
        match self {
            Charset::Utf8 => {
                out.extend_from_slice(text.as_bytes());
                0
            }
            Charset::Latin1 => {
                let mut replaced = 0;
                out.extend(text.chars().map(|c| {
                    u8::try_from(u32::from(c)).unwrap_or_else(|_| {
                        replaced += 1;
                        b'?'
                    })
                }));
                replaced
            }
            Charset::Cp850 => {
                let mut replaced = 0;
                out.extend(text.chars().map(|c| {
                    if c.is_ascii() {
                        c as u8
                    } else {
                        match oem_cp::code_table::ENCODING_TABLE_CP850.get(&c) {
                            Some(b) => *b,
                            None => {
                                replaced += 1;
                                b'?'
                            }
                        }
                    }
                }));
                replaced
            }
            Charset::Gb18030 => {
                if text.is_ascii() {
                    out.extend_from_slice(text.as_bytes());
                    return 0;
                }
                // GB18030 maps every Unicode scalar value, so nothing is ever replaced.
                let (bytes, _, _) = encoding_rs::GB18030.encode(text);
                out.extend_from_slice(&bytes);
                0
            }
        }
    }

    /// Decodes bytes in this charset. Bytes that are not valid in it become U+FFFD; the flag
    /// says whether that happened.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> (Cow<'a, str>, bool) {
        if self == Charset::Utf8 || bytes.is_ascii() {
            // ASCII is the same in all four; valid UTF-8 needs no copy.
            if let Ok(s) = std::str::from_utf8(bytes) {
                return (Cow::Borrowed(s), false);
            }
        }
        match self {
            Charset::Utf8 => (String::from_utf8_lossy(bytes), true),
            Charset::Latin1 => (bytes.iter().map(|&b| char::from(b)).collect(), false),
            Charset::Cp850 => (
                bytes
                    .iter()
                    .map(|&b| match b.checked_sub(0x80) {
                        None => char::from(b),
                        Some(high) => oem_cp::code_table::DECODING_TABLE_CP850
                            .get(usize::from(high))
                            .copied()
                            .unwrap_or(char::REPLACEMENT_CHARACTER),
                    })
                    .collect(),
                false,
            ),
            Charset::Gb18030 => {
                let (text, lossy) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
                (text, lossy)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_display() {
        for (name, cs) in [
            ("utf-8", Charset::Utf8),
            ("UTF8", Charset::Utf8),
            ("cp850", Charset::Cp850),
            ("GB18030", Charset::Gb18030),
            ("latin-1", Charset::Latin1),
            ("iso-8859-1", Charset::Latin1),
            ("ISO_8859-1", Charset::Latin1),
        ] {
            assert_eq!(name.parse::<Charset>(), Ok(cs), "{name}");
            assert_eq!(cs.to_string().parse::<Charset>(), Ok(cs));
        }
        assert!("ebcdic".parse::<Charset>().is_err());
    }

    #[test]
    fn known_bytes_per_charset() {
        let mut out = Vec::new();
        assert_eq!(Charset::Cp850.encode_into("Müller é", &mut out), 0);
        assert_eq!(out, b"M\x81ller \x82");
        out.clear();
        assert_eq!(Charset::Latin1.encode_into("Müller é", &mut out), 0);
        assert_eq!(out, b"M\xfcller \xe9");
        out.clear();
        assert_eq!(Charset::Gb18030.encode_into("中文", &mut out), 0);
        assert_eq!(out, b"\xd6\xd0\xce\xc4");
        out.clear();
        assert_eq!(Charset::Utf8.encode_into("中", &mut out), 0);
        assert_eq!(out, "中".as_bytes());
        assert_eq!(Charset::Cp850.decode(b"M\x81ller").0, "Müller");
        assert_eq!(Charset::Latin1.decode(b"\x80\xe9").0, "\u{80}é");
        assert_eq!(Charset::Gb18030.decode(b"\xd6\xd0\xce\xc4").0, "中文");
    }

    #[test]
    fn unrepresentable_characters_are_counted() {
        let mut out = Vec::new();
        assert_eq!(Charset::Latin1.encode_into("a中b€", &mut out), 2);
        assert_eq!(out, b"a?b?");
        out.clear();
        assert_eq!(Charset::Cp850.encode_into("中文x", &mut out), 2);
        assert_eq!(out, b"??x");
    }

    #[test]
    fn invalid_bytes_are_flagged() {
        let (text, lossy) = Charset::Utf8.decode(b"a\xffb");
        assert!(lossy);
        assert_eq!(text, "a\u{fffd}b");
        assert!(!Charset::Latin1.decode(b"a\xffb").1);
    }
}
