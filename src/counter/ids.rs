//! Library item ids from a counter's assigned range (`counter.id_range`).
//!
//! A range is two numbers of the same number of digits, `start-end`; ids keep that width
//! (leading zeros included). Where the site prints a check digit, the range holds the numbers
//! before it and the check digit is appended: `3199000000000-3199000009999` with `luhn` gives
//! the 14-digit Codabar labels libraries use. Allocation itself is durable and lives in
//! `store::counter`; this module only does the arithmetic.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scan::symbology::luhn_check_digit;

/// Digits a range may have: ids must fit the store's 64-bit serials.
pub const MAX_WIDTH: usize = 18;

/// The check digit the site prints after the number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdCheckDigit {
    #[default]
    None,
    /// Mod 10 with doubling (Luhn), as on library Codabar labels.
    Luhn,
}

impl IdCheckDigit {
    /// The id for a number: the number itself, or with its check digit appended.
    fn complete(self, number: &str) -> Option<String> {
        match self {
            IdCheckDigit::None => Some(number.to_owned()),
            IdCheckDigit::Luhn => luhn_check_digit(number).map(|c| format!("{number}{c}")),
        }
    }

    /// The number inside an id, if its check digit (where there is one) holds.
    fn number_of(self, id: &str) -> Option<&str> {
        match self {
            IdCheckDigit::None => Some(id),
            IdCheckDigit::Luhn => {
                let (number, _) = id.split_at_checked(id.len().checked_sub(1)?)?;
                (self.complete(number)?.as_str() == id).then_some(number)
            }
        }
    }
}

/// A counter's range of item numbers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub start: u64,
    pub end: u64,
    /// Digits of every number in the range (before any check digit).
    pub width: usize,
    pub check: IdCheckDigit,
}

impl IdRange {
    /// Parse `start-end` (spaces around the numbers allowed).
    pub fn parse(text: &str, check: IdCheckDigit) -> Result<IdRange, String> {
        let shape = || {
            format!(
                "\"{text}\" is not a range: expected START-END, two numbers of the same number \
                 of digits (at most {MAX_WIDTH}), e.g. 3199000000000-3199000009999"
            )
        };
        let (a, b) = text.split_once('-').ok_or_else(shape)?;
        let (a, b) = (a.trim(), b.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) || a.len() != b.len() || a.len() > MAX_WIDTH {
            return Err(shape());
        }
        let start: u64 = a.parse().map_err(|_| shape())?;
        let end: u64 = b.parse().map_err(|_| shape())?;
        if start > end {
            return Err(format!("\"{text}\": the start is after the end"));
        }
        Ok(IdRange {
            start,
            end,
            width: a.len(),
            check,
        })
    }

    /// How many ids the range holds.
    pub fn count(&self) -> u64 {
        self.end - self.start + 1
    }

    /// The id of a number of the range; `None` outside it.
    pub fn id_of(&self, number: u64) -> Option<String> {
        if !(self.start..=self.end).contains(&number) {
            return None;
        }
        self.check
            .complete(&format!("{number:0width$}", width = self.width))
    }

    /// The number of an id of this range; `None` for ids of other shapes or outside it.
    pub fn number_of(&self, id: &str) -> Option<u64> {
        let number = self.check.number_of(id.trim())?;
        if number.len() != self.width || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = number.parse().ok()?;
        (self.start..=self.end).contains(&n).then_some(n)
    }

    pub fn contains_id(&self, id: &str) -> bool {
        self.number_of(id).is_some()
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0w$}-{:0w$}", self.start, self.end, w = self.width)
    }
}

/// The id after `id`, for programming tags in batches: the number (before any check digit)
/// plus one, the same width, with its check digit. `None` when `id` is not all digits, its
/// check digit is wrong, or it has no successor of the same width.
pub fn next_item_id(id: &str, check: IdCheckDigit) -> Option<String> {
    let number = check.number_of(id.trim())?;
    if number.is_empty() || number.len() > MAX_WIDTH || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let next = number.parse::<u64>().ok()?.checked_add(1)?;
    let text = format!("{next:0width$}", width = number.len());
    if text.len() != number.len() {
        return None;
    }
    check.complete(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_range() {
        let r = IdRange::parse("31990000000000-31990000009999", IdCheckDigit::None).expect("ok");
        assert_eq!(r.count(), 10_000);
        assert_eq!(r.id_of(r.start).as_deref(), Some("31990000000000"));
        assert_eq!(r.id_of(r.end).as_deref(), Some("31990000009999"));
        assert_eq!(r.id_of(r.end + 1), None);
        assert_eq!(r.number_of("31990000000042"), Some(31_990_000_000_042));
        assert_eq!(r.number_of("31990000010000"), None);
        assert_eq!(r.number_of("3199000000004"), None);
        assert_eq!(r.to_string(), "31990000000000-31990000009999");
        let zeros = IdRange::parse("0001-0100", IdCheckDigit::None).expect("ok");
        assert_eq!(zeros.id_of(7).as_deref(), Some("0007"));
    }

    #[test]
    fn luhn_range_gives_library_labels() {
        let r = IdRange::parse("3199000000000-3199000009999", IdCheckDigit::Luhn).expect("ok");
        let id = r.id_of(r.start).expect("in range");
        assert_eq!(id.len(), 14);
        let label = crate::scan::classify(&id).expect("label");
        assert!(label.valid, "{id}");
        assert!(matches!(
            label.kind,
            crate::scan::BarcodeKind::LibraryItem { .. }
        ));
        assert_eq!(r.number_of(&id), Some(r.start));
        let mut wrong = id.clone();
        let last = wrong.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        wrong.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
        assert_eq!(r.number_of(&wrong), None);
    }

    #[test]
    fn bad_ranges() {
        for bad in [
            "",
            "123",
            "12-345",
            "a1-b2",
            "200-100",
            "-1-5",
            "1234567890123456789-1234567890123456790",
        ] {
            assert!(IdRange::parse(bad, IdCheckDigit::None).is_err(), "{bad}");
        }
        assert!(IdRange::parse(" 100 - 200 ", IdCheckDigit::None).is_ok());
    }

    #[test]
    fn next_ids() {
        assert_eq!(
            next_item_id("31990000000009", IdCheckDigit::None).as_deref(),
            Some("31990000000010")
        );
        assert_eq!(next_item_id("999", IdCheckDigit::None), None);
        assert_eq!(next_item_id("A12", IdCheckDigit::None), None);
        let first = IdRange::parse("3199000000000-3199000000009", IdCheckDigit::Luhn)
            .expect("ok")
            .id_of(3_199_000_000_000)
            .expect("id");
        let second = next_item_id(&first, IdCheckDigit::Luhn).expect("next");
        assert!(crate::scan::classify(&second).is_ok_and(|c| c.valid));
        assert_eq!(next_item_id("31990000000001", IdCheckDigit::Luhn), None);
    }

    proptest! {
        #[test]
        fn ids_and_numbers_agree(start in 0u64..1_000_000, extra in 0u64..1000, pick in 0u64..1000, luhn: bool) {
            let check = if luhn { IdCheckDigit::Luhn } else { IdCheckDigit::None };
            let text = format!("{start:07}-{:07}", start + extra);
            let r = IdRange::parse(&text, check).expect("valid");
            let n = start + pick % (extra + 1);
            let id = r.id_of(n).expect("inside");
            prop_assert_eq!(r.number_of(&id), Some(n));
        }
    }
}
