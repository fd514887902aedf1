//! What a scanned string is (library card, ISBN, EAN-13 or a free identifier) and whether
//! its check digit holds.
//!
//! A scanner hands over text, not the symbology it decoded, so the kind is read from the
//! shape of the text: `SC1:` starts a phone token (a QR code from the library's app), 14
//! digits starting with 2 or 3 are a library Codabar card, 13 digits an EAN-13 (an ISBN-13
//! under 978/979), 10 characters an ISBN-10, anything else a free identifier. A check that fails does not change the kind: the result says which check
//! failed and callers decide whether to accept the code anyway (a library whose own
//! numbering happens to look like an ISBN-10 can still use `normalized`).

use std::fmt;

use serde::{Serialize, Serializer};

/// Longer than this is not a label but keys held down or two scans run together. Phone
/// tokens have their own bound, [`crate::phone::MAX_TOKEN_LEN`].
pub const MAX_LEN: usize = 48;
/// Shorter free identifiers are stray keystrokes, not labels.
pub const MIN_ID_LEN: usize = 3;

const CODE39_CHARS: &[u8; 43] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";

/// A classified scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Barcode {
    /// The text exactly as scanned.
    pub raw: String,
    pub kind: BarcodeKind,
    /// Canonical form: digits only for numeric codes (ISBN-10 may end in `X`), no Codabar
    /// start/stop characters, no Code 39 check character; free identifiers trimmed only.
    pub normalized: String,
    /// `problem.is_none()`, kept as a field so the JSON says it plainly.
    pub valid: bool,
    pub problem: Option<BarcodeError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BarcodeKind {
    /// 14-digit library card starting with 2.
    LibraryPatron {
        institution: String,
        serial: String,
    },
    /// 14-digit library item label starting with 3.
    LibraryItem {
        institution: String,
        serial: String,
    },
    /// EAN-13 under the 978/979 book prefixes (979-0 is music, see `Ismn`).
    Isbn13,
    Isbn10,
    /// EAN-13 under 979-0: printed music.
    Ismn,
    /// Any other EAN-13 (or UPC-A with its leading zero).
    Ean13,
    /// Free identifier within the Code 39 character set; `mod43` when its check character
    /// was verified and removed.
    Code39 {
        mod43: bool,
    },
    /// Free identifier of printable ASCII outside the Code 39 set (Code 128 and the like).
    Code128Id,
    /// A phone token (`SC1:`, a QR code from the library's app); `kid` is its key id when
    /// it decodes. Only `crate::phone::verify` says whether it is accepted.
    PhoneToken {
        kid: Option<String>,
    },
}

/// Why a scan is not a usable code, or which of its checks failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("nothing was scanned")]
    Empty,
    #[error("code is {len} characters long, at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("code is {len} characters long, at least {min} are needed")]
    TooShort { len: usize, min: usize },
    #[error("character {position} ({found:?}) is not printable ASCII")]
    NotPrintable { position: usize, found: char },
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: char, expected: char },
    #[error("Code 39 check character is {found:?}, expected {expected:?}")]
    CheckCharacter { found: char, expected: char },
    #[error("{0:?} is not a valid ISBN")]
    NotIsbn(String),
    #[error("ISBN {0} starts with 979 and has no ISBN-10 form")]
    NoIsbn10(String),
    #[error("not a readable phone token ({code}: {detail})")]
    PhoneToken { code: &'static str, detail: String },
}

impl Serialize for BarcodeError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Site-specific reading rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The site prints Code 39 labels with a mod-43 check character (and the scanner passes
    /// it through): the last character of a Code 39 identifier is checked and removed.
    pub code39_mod43: bool,
}

/// Classify with default options (no Code 39 check character).
pub fn classify(raw: &str) -> Result<Barcode, BarcodeError> {
    classify_with(raw, Options::default())
}

pub fn classify_with(raw: &str, options: Options) -> Result<Barcode, BarcodeError> {
    let trimmed = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    if crate::phone::looks_like_token(trimmed) {
        return phone_token(raw, trimmed, trimmed.chars().count());
    }
    let text = scanned_text(raw)?;
    let (kind, normalized, problem) = match numeric_code(text) {
        Some(code) => code,
        None => free_id(text, options)?,
    };
    Ok(Barcode {
        raw: raw.to_owned(),
        kind,
        normalized,
        valid: problem.is_none(),
        problem,
    })
}

/// The scanned text without the surrounding whitespace (and Enter) scanners add, if it can
/// be a code at all: not empty, not too long, printable ASCII only.
fn scanned_text(raw: &str) -> Result<&str, BarcodeError> {
    let text = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Err(BarcodeError::Empty);
    }
    let len = text.chars().count();
    if len > MAX_LEN {
        return Err(BarcodeError::TooLong { len, max: MAX_LEN });
    }
    if let Some((i, found)) = text.chars().enumerate().find(|(_, c)| !is_printable(*c)) {
        return Err(BarcodeError::NotPrintable {
            position: i + 1,
            found,
        });
    }
    Ok(text)
}

type Parts = (BarcodeKind, String, Option<BarcodeError>);

/// A phone token's shape: its length bound and whether it decodes; its signature and times
/// are the verifier's business.
fn phone_token(raw: &str, text: &str, len: usize) -> Result<Barcode, BarcodeError> {
    let max = crate::phone::MAX_TOKEN_LEN;
    if len > max {
        return Err(BarcodeError::TooLong { len, max });
    }
    let (kid, problem) = match crate::phone::decode(text) {
        Ok(parts) => (Some(parts.kid_text()), None),
        Err(refusal) => (
            None,
            Some(BarcodeError::PhoneToken {
                code: refusal.code(),
                detail: refusal.detail(),
            }),
        ),
    };
    Ok(Barcode {
        raw: raw.to_owned(),
        kind: BarcodeKind::PhoneToken { kid },
        // Spaces inside are base45 characters: only the ends are trimmed.
        normalized: text.to_ascii_uppercase(),
        valid: problem.is_none(),
        problem,
    })
}

/// Recognises the numeric shapes; `None` means "treat as a free identifier".
fn numeric_code(text: &str) -> Option<Parts> {
    // Printed human-readable forms carry spaces and hyphens; the digits are what count.
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = strip_codabar_start_stop(&compact).unwrap_or(&compact);
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());

    if all_digits && digits.len() == 14 && matches!(digits.as_bytes().first(), Some(b'2' | b'3')) {
        return Some(library(digits));
    }
    if digits.len() != compact.len() {
        // Start/stop characters around anything but a library number: not ours to guess.
        return None;
    }
    if all_digits && compact.len() == 13 {
        let kind = if compact.starts_with("9790") {
            BarcodeKind::Ismn
        } else if compact.starts_with("978") || compact.starts_with("979") {
            BarcodeKind::Isbn13
        } else {
            BarcodeKind::Ean13
        };
        let problem = verify(&compact, ean13_check_digit);
        return Some((kind, compact, problem));
    }
    if compact.len() == 10 {
        let (body, last) = compact.split_at(9);
        if body.bytes().all(|b| b.is_ascii_digit())
            && matches!(last.as_bytes(), [b'0'..=b'9' | b'X' | b'x'])
        {
            let normalized = compact.to_ascii_uppercase();
            let problem = verify(&normalized, isbn10_check_digit);
            return Some((BarcodeKind::Isbn10, normalized, problem));
        }
    }
    None
}

fn strip_codabar_start_stop(s: &str) -> Option<&str> {
    let is_start_stop = |b: u8| matches!(b.to_ascii_uppercase(), b'A'..=b'D');
    match s.as_bytes() {
        [first, .., last] if is_start_stop(*first) && is_start_stop(*last) => s.get(1..s.len() - 1),
        _ => None,
    }
}

fn library(digits: &str) -> Parts {
    let institution = digits.get(1..5).unwrap_or_default().to_owned();
    let serial = digits.get(5..13).unwrap_or_default().to_owned();
    let kind = if digits.starts_with('2') {
        BarcodeKind::LibraryPatron {
            institution,
            serial,
        }
    } else {
        BarcodeKind::LibraryItem {
            institution,
            serial,
        }
    };
    let problem = verify(digits, luhn_check_digit);
    (kind, digits.to_owned(), problem)
}

/// Compares the last character of `code` with the one `check` computes from the rest.
fn verify(code: &str, check: fn(&str) -> Option<char>) -> Option<BarcodeError> {
    let (payload, last) = code.split_at(code.len().saturating_sub(1));
    let found = last.chars().next()?;
    match check(payload) {
        Some(expected) if expected == found => None,
        Some(expected) => Some(BarcodeError::CheckDigit { found, expected }),
        // Unreachable for the shapes classified above; fail closed all the same.
        None => Some(BarcodeError::CheckDigit {
            found,
            expected: '?',
        }),
    }
}

fn free_id(text: &str, options: Options) -> Result<Parts, BarcodeError> {
    let len = text.len();
    if len < MIN_ID_LEN {
        return Err(BarcodeError::TooShort {
            len,
            min: MIN_ID_LEN,
        });
    }
    if !text.bytes().all(|b| CODE39_CHARS.contains(&b)) {
        return Ok((BarcodeKind::Code128Id, text.to_owned(), None));
    }
    if !options.code39_mod43 {
        return Ok((BarcodeKind::Code39 { mod43: false }, text.to_owned(), None));
    }
    let (payload, last) = text.split_at(len - 1);
    let found = last.chars().next().unwrap_or(' ');
    let problem = match code39_check_char(payload) {
        Some(expected) if expected == found => None,
        Some(expected) => Some(BarcodeError::CheckCharacter { found, expected }),
        None => Some(BarcodeError::TooShort {
            len,
            min: MIN_ID_LEN,
        }),
    };
    Ok((
        BarcodeKind::Code39 { mod43: true },
        payload.to_owned(),
        problem,
    ))
}

fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~')
}

fn digit_values(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn digit_char(d: u32) -> char {
    char::from_digit(d % 10, 10).unwrap_or('0')
}

/// Mod-10 check digit of library Codabar (Luhn, as used by Gaylord, Dynix/Ameritech, Sirsi
/// and III labels): from the right, every other payload digit is doubled (9 taken off when
/// the double passes 9), all are summed, and the check digit brings the sum to a multiple
/// of 10. For the 13-digit library payload that doubles positions 1, 3, ..., 13.
/// `None` unless `payload` is a non-empty string of digits.
pub fn luhn_check_digit(payload: &str) -> Option<char> {
    let digits = digit_values(payload).filter(|d| !d.is_empty())?;
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                (2 * d) % 10 + (2 * d) / 10
            } else {
                d
            }
        })
        .sum();
    Some(digit_char(10 - sum % 10))
}

/// EAN-13 check digit of a 12-digit payload: weights 1, 3, 1, ... from the left.
pub fn ean13_check_digit(payload: &str) -> Option<char> {
    let digits = digit_values(payload).filter(|d| d.len() == 12)?;
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 0 { d } else { 3 * d })
        .sum();
    Some(digit_char(10 - sum % 10))
}

/// ISBN-10 check character of a 9-digit payload: weights 10 down to 2, mod 11, 10 is `X`.
pub fn isbn10_check_digit(payload: &str) -> Option<char> {
    let digits = digit_values(payload).filter(|d| d.len() == 9)?;
    let sum: u32 = digits.iter().zip((2..=10).rev()).map(|(&d, w)| d * w).sum();
    match (11 - sum % 11) % 11 {
        10 => Some('X'),
        d => Some(digit_char(d)),
    }
}

/// Code 39 mod-43 check character; `None` if `payload` is empty or leaves the Code 39 set.
pub fn code39_check_char(payload: &str) -> Option<char> {
    if payload.is_empty() {
        return None;
    }
    let sum = payload.bytes().try_fold(0usize, |sum, b| {
        CODE39_CHARS.iter().position(|&c| c == b).map(|v| sum + v)
    })?;
    CODE39_CHARS.get(sum % 43).map(|&b| char::from(b))
}

/// ISBN-13 (978 prefix) of a valid ISBN-10, hyphens and spaces allowed.
pub fn isbn10_to_13(isbn10: &str) -> Result<String, BarcodeError> {
    let code = valid_isbn(isbn10, &BarcodeKind::Isbn10)?;
    let payload = format!("978{}", code.get(..9).unwrap_or_default());
    let check = ean13_check_digit(&payload).ok_or_else(|| BarcodeError::NotIsbn(code.clone()))?;
    Ok(format!("{payload}{check}"))
}

/// ISBN-10 of a valid 978 ISBN-13; 979 numbers have none.
pub fn isbn13_to_10(isbn13: &str) -> Result<String, BarcodeError> {
    let code = valid_isbn(isbn13, &BarcodeKind::Isbn13)?;
    let payload = match code.strip_prefix("978") {
        Some(rest) => rest.get(..9).unwrap_or_default().to_owned(),
        None => return Err(BarcodeError::NoIsbn10(code)),
    };
    let check = isbn10_check_digit(&payload).ok_or_else(|| BarcodeError::NotIsbn(code.clone()))?;
    Ok(format!("{payload}{check}"))
}

fn valid_isbn(text: &str, want: &BarcodeKind) -> Result<String, BarcodeError> {
    let not_isbn = || BarcodeError::NotIsbn(text.to_owned());
    let code = classify(text).map_err(|_| not_isbn())?;
    if &code.kind != want {
        return Err(not_isbn());
    }
    match code.problem {
        Some(problem) => Err(problem),
        None => Ok(code.normalized),
    }
}

impl Barcode {
    /// The ISBN-13 of a valid book number, whichever form was scanned.
    pub fn isbn13(&self) -> Option<String> {
        match (&self.kind, self.valid) {
            (BarcodeKind::Isbn13, true) => Some(self.normalized.clone()),
            (BarcodeKind::Isbn10, true) => isbn10_to_13(&self.normalized).ok(),
            _ => None,
        }
    }
}

/// A book's number as a bookseller enters it: its ISBN-13, and the EAN-5 add-on (the price
/// code printed beside the main symbol) when the scanner passed it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookNumber {
    pub isbn13: String,
    pub addon: Option<String>,
}

/// Read a book's ISBN as scanned or typed at a counter: an EAN-13 under 978/979 with or
/// without its EAN-5 add-on (scanners append the 5 digits directly or after a separator), or
/// an ISBN-10 typed by hand (final `X` allowed). Hyphens, spaces, `+` and `|` between the
/// digits are ignored. Strict: a wrong check digit or any other shape is an error.
pub fn book_number(raw: &str) -> Result<BookNumber, BarcodeError> {
    let text = scanned_text(raw)?;
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '-' | '+' | '|'))
        .collect();
    let not_isbn = || BarcodeError::NotIsbn(text.to_owned());
    if compact.len() == 10 {
        let isbn13 = isbn10_to_13(&compact).map_err(|e| match e {
            BarcodeError::CheckDigit { .. } => e,
            _ => not_isbn(),
        })?;
        return Ok(BookNumber {
            isbn13,
            addon: None,
        });
    }
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_isbn());
    }
    let (main, addon) = match compact.len() {
        13 => (compact.as_str(), None),
        18 => compact
            .split_at_checked(13)
            .map(|(m, a)| (m, Some(a.to_owned())))
            .ok_or_else(not_isbn)?,
        _ => return Err(not_isbn()),
    };
    if !(main.starts_with("978") || main.starts_with("979")) || main.starts_with("9790") {
        return Err(not_isbn());
    }
    if let Some(problem) = verify(main, ean13_check_digit) {
        return Err(problem);
    }
    Ok(BookNumber {
        isbn13: main.to_owned(),
        addon,
    })
}

impl fmt::Display for BarcodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LibraryPatron { .. } => "library patron card",
            Self::LibraryItem { .. } => "library item label",
            Self::Isbn13 => "ISBN-13",
            Self::Isbn10 => "ISBN-10",
            Self::Ismn => "ISMN (printed music)",
            Self::Ean13 => "EAN-13 product code",
            Self::Code39 { .. } => "identifier (Code 39 characters)",
            Self::Code128Id => "identifier (Code 128 characters)",
            Self::PhoneToken { .. } => "phone token",
        })
    }
}

/// One or two lines for `selfcheck barcode check CODE`.
pub fn describe(code: &Barcode) -> String {
    if let BarcodeKind::PhoneToken { kid } = &code.kind {
        return match (&code.problem, kid) {
            (Some(problem), _) => format!("phone token\nNOT VALID: {problem}"),
            (None, kid) => format!(
                "phone token, key id {}\nreadable; its signature and times are checked by \
                 `selfcheck token verify`",
                kid.as_deref().unwrap_or("?")
            ),
        };
    }
    let mut out = format!("{} {}", code.kind, code.normalized);
    match &code.kind {
        BarcodeKind::LibraryPatron {
            institution,
            serial,
        }
        | BarcodeKind::LibraryItem {
            institution,
            serial,
        } => {
            out += &format!(" (institution {institution}, number {serial})");
        }
        BarcodeKind::Isbn13 if code.valid => match isbn13_to_10(&code.normalized) {
            Ok(isbn10) => out += &format!(" (ISBN-10 {isbn10})"),
            Err(_) => out += " (no ISBN-10 form)",
        },
        BarcodeKind::Isbn10 => {
            if let Some(isbn13) = code.isbn13() {
                out += &format!(" (ISBN-13 {isbn13})");
            }
        }
        _ => {}
    }
    match &code.problem {
        Some(problem) => out += &format!("\nNOT VALID: {problem}"),
        None if matches!(
            code.kind,
            BarcodeKind::Code39 { mod43: false } | BarcodeKind::Code128Id
        ) =>
        {
            out += "\nno check digit to verify"
        }
        None => out += "\nvalid: check digit correct",
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(s: &str) -> BarcodeKind {
        classify(s)
            .map(|c| c.kind)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn problem(s: &str) -> Option<BarcodeError> {
        classify(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).problem
    }

    #[test]
    fn library_cards_published_examples() {
        // Dynix / Ameritech Library Services worked example: 3 3191 00010586 4.
        assert_eq!(luhn_check_digit("3319100010586"), Some('4'));
        // JerseyCat (New Jersey State Library) worked example: 3 0234 00051786 -> 1.
        assert_eq!(luhn_check_digit("3023400051786"), Some('1'));
        let item = classify("33191000105864").unwrap_or_else(|e| panic!("{e}"));
        assert!(item.valid);
        assert_eq!(
            item.kind,
            BarcodeKind::LibraryItem {
                institution: "3191".into(),
                serial: "00010586".into()
            }
        );
        // The Codabar library label shown on Wikipedia, start/stop characters included.
        let labelled = classify("A31117013206375B").unwrap_or_else(|e| panic!("{e}"));
        assert!(labelled.valid);
        assert_eq!(labelled.normalized, "31117013206375");
        assert_eq!(problem("a30234000517861d"), None);
        assert_eq!(problem("3 0234 00051786 1"), None);
    }

    #[test]
    fn library_card_wrong_check_digit_is_explained() {
        let code = classify("33191000105867").unwrap_or_else(|e| panic!("{e}"));
        assert!(!code.valid);
        let message = code.problem.map(|p| p.to_string());
        assert_eq!(message.as_deref(), Some("check digit is 7, expected 4"));
        // A published "example" number whose last digit is not its Luhn digit.
        assert_eq!(
            problem("35555000012349"),
            Some(BarcodeError::CheckDigit {
                found: '9',
                expected: '6'
            })
        );
    }

    #[test]
    fn patron_card() {
        let patron_payload = "2023400051786";
        let check = luhn_check_digit(patron_payload).unwrap_or('?');
        let code = classify(&format!("{patron_payload}{check}")).unwrap_or_else(|e| panic!("{e}"));
        assert!(code.valid);
        assert_eq!(
            code.kind,
            BarcodeKind::LibraryPatron {
                institution: "0234".into(),
                serial: "00051786".into()
            }
        );
    }

    #[test]
    fn isbns_published_examples() {
        // Wikipedia ISBN article examples.
        assert_eq!(kind("978-0-306-40615-7"), BarcodeKind::Isbn13);
        assert_eq!(problem("978-0-306-40615-7"), None);
        assert_eq!(problem("978-3-16-148410-0"), None);
        assert_eq!(problem("0-306-40615-2"), None);
        assert_eq!(kind("0-306-40615-2"), BarcodeKind::Isbn10);
        assert_eq!(problem("99921-58-10-7"), None);
        assert_eq!(problem("0-8044-2957-X"), None);
        assert_eq!(problem("080442957x"), None);
        assert_eq!(
            classify("080442957x").map(|c| c.normalized),
            Ok("080442957X".into())
        );
        assert_eq!(kind("979-10-90636-07-1"), BarcodeKind::Isbn13);
        assert_eq!(problem("979-10-90636-07-1"), None);
        assert_eq!(kind("9790230671187"), BarcodeKind::Ismn);
        assert_eq!(
            problem("978-0-306-40615-8"),
            Some(BarcodeError::CheckDigit {
                found: '8',
                expected: '7'
            })
        );
        assert_eq!(
            problem("0-306-40615-X"),
            Some(BarcodeError::CheckDigit {
                found: 'X',
                expected: '2'
            })
        );
    }

    #[test]
    fn isbn_conversion() {
        assert_eq!(isbn10_to_13("0-306-40615-2"), Ok("9780306406157".into()));
        assert_eq!(isbn13_to_10("978-0-306-40615-7"), Ok("0306406152".into()));
        assert_eq!(isbn13_to_10("9780804429573"), Ok("080442957X".into()));
        assert_eq!(
            isbn13_to_10("979-10-90636-07-1"),
            Err(BarcodeError::NoIsbn10("9791090636071".into()))
        );
        assert!(matches!(
            isbn10_to_13("0-306-40615-3"),
            Err(BarcodeError::CheckDigit { .. })
        ));
        assert!(matches!(
            isbn10_to_13("4006381333931"),
            Err(BarcodeError::NotIsbn(_))
        ));
        assert!(matches!(
            isbn13_to_10("4006381333931"),
            Err(BarcodeError::NotIsbn(_))
        ));
    }

    #[test]
    fn ean13_published_examples() {
        // Wikipedia EAN-13 example and the GS1 sample number.
        assert_eq!(kind("4006381333931"), BarcodeKind::Ean13);
        assert_eq!(problem("4006381333931"), None);
        assert_eq!(problem("5901234123457"), None);
        // UPC-A 036000241457 read as EAN-13.
        assert_eq!(problem("0036000241457"), None);
        assert_eq!(
            problem("5901234123458"),
            Some(BarcodeError::CheckDigit {
                found: '8',
                expected: '7'
            })
        );
    }

    #[test]
    fn code39_mod43_published_examples() {
        // Worth Data and Sysmex manual examples.
        assert_eq!(code39_check_char("123XYZ"), Some('M'));
        assert_eq!(code39_check_char("258-416"), Some('J'));
        assert_eq!(code39_check_char("abc"), None);
        let on = Options { code39_mod43: true };
        let code = classify_with("258-416J", on).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (code.kind, code.normalized.as_str(), code.valid),
            (BarcodeKind::Code39 { mod43: true }, "258-416", true)
        );
        let bad = classify_with("123XYZN", on).map(|c| c.problem);
        assert_eq!(
            bad,
            Ok(Some(BarcodeError::CheckCharacter {
                found: 'N',
                expected: 'M'
            }))
        );
        // Without the option the same text is a plain identifier.
        assert_eq!(
            classify("123XYZN").map(|c| c.normalized),
            Ok("123XYZN".into())
        );
    }

    #[test]
    fn free_identifiers() {
        assert_eq!(kind("ITEM-0042"), BarcodeKind::Code39 { mod43: false });
        assert_eq!(kind("item_0042"), BarcodeKind::Code128Id);
        assert_eq!(kind("12345678"), BarcodeKind::Code39 { mod43: false });
        // 14 digits not starting with 2 or 3, and start/stop around other content.
        assert_eq!(kind("12345678901234"), BarcodeKind::Code39 { mod43: false });
        assert_eq!(kind("A1234B"), BarcodeKind::Code39 { mod43: false });
        assert_eq!(
            classify("  ITEM 7\r\n").map(|c| c.normalized),
            Ok("ITEM 7".into())
        );
    }

    #[test]
    fn junk_is_refused_plainly() {
        assert_eq!(classify(" \r\n"), Err(BarcodeError::Empty));
        assert_eq!(
            classify("ab"),
            Err(BarcodeError::TooShort {
                len: 2,
                min: MIN_ID_LEN
            })
        );
        assert_eq!(
            classify("12\u{7}45"),
            Err(BarcodeError::NotPrintable {
                position: 3,
                found: '\u{7}'
            })
        );
        assert!(matches!(
            classify("978é"),
            Err(BarcodeError::NotPrintable { position: 4, .. })
        ));
        let long = "9".repeat(MAX_LEN + 1);
        assert_eq!(
            classify(&long),
            Err(BarcodeError::TooLong {
                len: 49,
                max: MAX_LEN
            })
        );
        let message = classify("12\u{7}45").err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("character 3 ('\\u{7}') is not printable ASCII")
        );
    }

    #[test]
    fn json_and_description() {
        let code = classify("978-0-306-40615-8").unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_value(&code).unwrap_or_default();
        assert_eq!(json["kind"]["type"], "isbn13");
        assert_eq!(json["normalized"], "9780306406158");
        assert_eq!(json["valid"], false);
        assert_eq!(json["problem"], "check digit is 8, expected 7");
        assert_eq!(
            describe(&code),
            "ISBN-13 9780306406158\nNOT VALID: check digit is 8, expected 7"
        );
        let card = classify("A33191000105864B").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            describe(&card),
            "library item label 33191000105864 (institution 3191, number 00010586)\n\
             valid: check digit correct"
        );
        let isbn = classify("0-306-40615-2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            describe(&isbn),
            "ISBN-10 0306406152 (ISBN-13 9780306406157)\nvalid: check digit correct"
        );
        let id = classify("item_0042").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            describe(&id),
            "identifier (Code 128 characters) item_0042\nno check digit to verify"
        );
    }

    #[test]
    fn phone_tokens_are_their_own_kind() {
        let token = crate::phone::testing::token(3, "23191000123457");
        let code = classify(&format!("{token}\r\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            code.kind,
            BarcodeKind::PhoneToken {
                kid: Some("k1".into())
            }
        );
        assert!(code.valid);
        assert_eq!(code.normalized, token, "inner spaces kept");
        assert!(describe(&code).starts_with("phone token, key id k1\n"));
        let json = serde_json::to_value(&code).unwrap_or_default();
        assert_eq!(json["kind"]["type"], "phone_token");

        let lower = classify(&token.to_ascii_lowercase()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lower.normalized, token);
        let cut = classify(&token[..100]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cut.valid);
        assert!(
            describe(&cut).contains("NOT VALID: not a readable phone token (truncated"),
            "{}",
            describe(&cut)
        );
        let long = format!("SC1:{}", "0".repeat(crate::phone::MAX_TOKEN_LEN));
        assert!(matches!(
            classify(&long),
            Err(BarcodeError::TooLong { max: 311, .. })
        ));
    }

    #[test]
    fn book_numbers_at_a_counter() {
        let isbn = |s: &str| book_number(s).map(|b| (b.isbn13, b.addon));
        let plain = Ok(("9780306406157".to_string(), None));
        assert_eq!(isbn("9780306406157"), plain);
        assert_eq!(isbn(" 978-0-306-40615-7\r\n"), plain);
        assert_eq!(isbn("0-306-40615-2"), plain);
        assert_eq!(isbn("080442957x"), Ok(("9780804429573".to_string(), None)));
        let with_price = Ok(("9780306406157".to_string(), Some("51299".to_string())));
        assert_eq!(isbn("978030640615751299"), with_price);
        assert_eq!(isbn("9780306406157 51299"), with_price);
        assert_eq!(isbn("9780306406157+51299"), with_price);
        assert_eq!(isbn("978-0-306-40615-7|51299"), with_price);
        assert_eq!(
            isbn("979-10-90636-07-1"),
            Ok(("9791090636071".to_string(), None))
        );
        assert!(matches!(
            isbn("9780306406158"),
            Err(BarcodeError::CheckDigit {
                found: '8',
                expected: '7'
            })
        ));
        assert!(matches!(
            isbn("978030640615851299"),
            Err(BarcodeError::CheckDigit { .. })
        ));
        assert!(matches!(
            isbn("0-306-40615-3"),
            Err(BarcodeError::CheckDigit { .. })
        ));
        for other in [
            "4006381333931",
            "9790230671187",
            "97803064061575129",
            "978030640615",
            "ISBN 9780306406157",
            "33191000105864",
        ] {
            assert!(
                matches!(isbn(other), Err(BarcodeError::NotIsbn(_))),
                "{other}"
            );
        }
        assert_eq!(isbn(""), Err(BarcodeError::Empty));
    }

    fn with_check(payload: &str, check: fn(&str) -> Option<char>) -> String {
        format!("{payload}{}", check(payload).unwrap_or('?'))
    }

    /// Changes the digit at `pos` to a different digit.
    fn bump(code: &str, pos: usize, by: u32) -> String {
        code.chars()
            .enumerate()
            .map(|(i, c)| match c.to_digit(10) {
                Some(d) if i == pos => digit_char(d + by),
                _ => c,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn ean13_check_digit_catches_single_digit_changes(
            payload in "[0-9]{12}", pos in 0usize..13, by in 1u32..10,
        ) {
            let code = with_check(&payload, ean13_check_digit);
            prop_assert!(classify(&code).map(|c| c.valid).unwrap_or(false));
            prop_assert!(!classify(&bump(&code, pos, by)).map(|c| c.valid).unwrap_or(true));
        }

        #[test]
        fn library_check_digit_catches_single_digit_changes(
            payload in "[23][0-9]{12}", pos in 1usize..14, by in 1u32..10,
        ) {
            let code = with_check(&payload, luhn_check_digit);
            prop_assert!(classify(&code).map(|c| c.valid).unwrap_or(false));
            prop_assert!(!classify(&bump(&code, pos, by)).map(|c| c.valid).unwrap_or(true));
        }

        #[test]
        fn isbn10_check_digit_catches_single_digit_changes(
            payload in "[0-9]{9}", pos in 0usize..9, by in 1u32..10,
        ) {
            let code = with_check(&payload, isbn10_check_digit);
            prop_assert!(classify(&code).map(|c| c.valid).unwrap_or(false));
            prop_assert!(!classify(&bump(&code, pos, by)).map(|c| c.valid).unwrap_or(true));
        }

        #[test]
        fn isbn_10_13_round_trip(payload in "[0-9]{9}") {
            let isbn10 = with_check(&payload, isbn10_check_digit);
            let isbn13 = isbn10_to_13(&isbn10);
            prop_assert!(isbn13.as_ref().is_ok_and(|s| s.starts_with("978")));
            prop_assert_eq!(isbn13.and_then(|s| isbn13_to_10(&s)), Ok(isbn10));
        }

        #[test]
        fn book_number_never_panics_and_yields_valid_isbns(s in "[0-9Xx |+-]{0,24}") {
            if let Ok(book) = book_number(&s) {
                prop_assert!(classify(&book.isbn13).is_ok_and(|c| c.valid && c.kind == BarcodeKind::Isbn13));
                prop_assert!(book.addon.is_none_or(|a| a.len() == 5));
            }
        }

        #[test]
        fn classify_never_panics(s in "\\PC{0,80}") {
            if let Ok(code) = classify_with(&s, Options { code39_mod43: true }) {
                prop_assert_eq!(code.valid, code.problem.is_none());
                let _ = describe(&code);
            }
        }

        #[test]
        fn classify_never_panics_on_barcode_like_text(s in "[0-9A-Dax -]{0,20}") {
            if let Ok(code) = classify(&s) {
                prop_assert!(code.normalized.len() <= MAX_LEN);
                let _ = describe(&code);
            }
        }
    }
}
