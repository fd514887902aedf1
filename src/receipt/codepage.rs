//! The single-byte code pages receipt printers print Latin text in.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// IBM PC437 (US): no accented capitals, no euro.
    Cp437,
    /// IBM PC850 (Western Europe).
    Cp850,
    /// IBM PC858: PC850 with the euro sign; Italian, English and most of Western Europe.
    Cp858,
    /// Windows-1252.
    Cp1252,
}

impl CodePage {
    /// The `ESC t n` number Epson's TM printers give this table. Other vendors number their
    /// tables differently (`[receipt] code_page_table`).
    pub fn epson_table(self) -> u8 {
        match self {
            CodePage::Cp437 => 0,
            CodePage::Cp850 => 2,
            CodePage::Cp858 => 19,
            CodePage::Cp1252 => 16,
        }
    }

    /// `text` in this code page, or `None` when a character has no byte in it.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        if text.is_ascii() {
            return Some(text.as_bytes().to_vec());
        }
        match self {
            CodePage::Cp1252 => {
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
                (!unmappable).then(|| bytes.into_owned())
            }
            table => text
                .chars()
                .map(|c| {
                    if c.is_ascii() {
                        Some(c as u8)
                    } else {
                        table.oem_encoding()?.get(&c).copied()
                    }
                })
                .collect(),
        }
    }

    /// Bytes printed in this code page, as text (tests and diagnostics read receipts back).
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            CodePage::Cp1252 => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            table => bytes
                .iter()
                .map(|&b| match b.checked_sub(0x80) {
                    None => char::from(b),
                    Some(high) => table
                        .oem_decoding()
                        .and_then(|t| t.get(usize::from(high)).copied())
                        .unwrap_or(char::REPLACEMENT_CHARACTER),
                })
                .collect(),
        }
    }

    fn oem_encoding(self) -> Option<&'static oem_cp::OEMCPHashMap<char, u8>> {
        use oem_cp::code_table as t;
        match self {
            CodePage::Cp437 => Some(&t::ENCODING_TABLE_CP437),
            CodePage::Cp850 => Some(&t::ENCODING_TABLE_CP850),
            CodePage::Cp858 => Some(&t::ENCODING_TABLE_CP858),
            CodePage::Cp1252 => None,
        }
    }

    fn oem_decoding(self) -> Option<&'static [char; 128]> {
        use oem_cp::code_table as t;
        match self {
            CodePage::Cp437 => Some(&t::DECODING_TABLE_CP437),
            CodePage::Cp850 => Some(&t::DECODING_TABLE_CP850),
            CodePage::Cp858 => Some(&t::DECODING_TABLE_CP858),
            CodePage::Cp1252 => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [CodePage; 4] = [
        CodePage::Cp437,
        CodePage::Cp850,
        CodePage::Cp858,
        CodePage::Cp1252,
    ];

    #[test]
    fn italian_accents_and_the_euro() {
        let text = "Città è già più perché €";
        let cp858 = CodePage::Cp858.encode(text).expect("PC858 has them all");
        assert_eq!(&cp858[4..6], b"\x85 ", "à is 0x85 in PC858");
        assert_eq!(cp858.last(), Some(&0xD5), "€ is 0xD5 in PC858");
        assert_eq!(CodePage::Cp858.decode(&cp858), text);
        let cp1252 = CodePage::Cp1252.encode(text).expect("1252 has them all");
        assert_eq!(cp1252.last(), Some(&0x80), "€ is 0x80 in Windows-1252");
        assert_eq!(CodePage::Cp1252.decode(&cp1252), text);
        assert_eq!(CodePage::Cp850.encode("€"), None, "PC850 has no euro");
        assert_eq!(CodePage::Cp437.encode("È"), None);
    }

    #[test]
    fn chinese_is_in_none_of_them() {
        for cp in ALL {
            assert_eq!(cp.encode("三体"), None, "{cp:?}");
            assert_eq!(cp.encode("Hello").as_deref(), Some(&b"Hello"[..]));
        }
    }

    proptest! {
        #[test]
        fn what_encodes_decodes_back(text in "[ -~àèéìòùÀÈÉÌÒÙçÇ€£äöüß]{0,40}") {
            for cp in ALL {
                if let Some(bytes) = cp.encode(&text) {
                    prop_assert_eq!(cp.decode(&bytes), text.clone());
                }
            }
        }

        #[test]
        fn any_bytes_decode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for cp in ALL {
                let _ = cp.decode(&bytes);
            }
        }
    }
}
