//! Amounts of money in cents, and ISO 4217 currency codes.
//!
//! Prices come from a bookstore's file, caps from the settings and fines from the ILS: all
//! are read strictly into whole cents, so a cap is never passed by a rounding error and an
//! amount that cannot be read is an error rather than zero.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in cents (hundredths of the currency unit). Never negative when parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cents(pub i64);

impl Cents {
    /// Read a decimal amount: `12`, `12.5`, `12.50`, `0.75`, with `.` or `,` as the decimal
    /// mark, at most two decimals; surrounding spaces are allowed. `None` for anything else
    /// (signs, thousands separators, currency symbols, more decimals).
    pub fn parse(text: &str) -> Option<Cents> {
        let text = text.trim();
        let (whole, frac) = match text.find(['.', ',']) {
            Some(i) => (text.get(..i)?, text.get(i + 1..)?),
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 {
            return None;
        }
        if text.contains(['.', ',']) && frac.is_empty() {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        whole.checked_mul(100)?.checked_add(frac).map(Cents)
    }

    pub fn saturating_add(self, other: Cents) -> Cents {
        Cents(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Cents {
    /// `12.50`: the form MARC 365 $b, the invoice and the screens use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Settings write amounts as TOML numbers (`30`, `12.5`) or strings (`"12.50"`).
impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        let bad = |shown: String| {
            serde::de::Error::custom(format!(
                "{shown} is not an amount (zero or more, at most two decimals, e.g. 25 or 12.50)"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Int(n) if n >= 0 => n
                .checked_mul(100)
                .map(Cents)
                .ok_or_else(|| bad(n.to_string())),
            Raw::Int(n) => Err(bad(n.to_string())),
            Raw::Float(x) => {
                let cents = (x * 100.0).round();
                let exact = ((cents / 100.0) - x).abs() < 1e-9;
                if x.is_finite() && x >= 0.0 && exact && cents < 9.0e15 {
                    Ok(Cents(cents as i64))
                } else {
                    Err(bad(x.to_string()))
                }
            }
            Raw::Text(t) => Cents::parse(&t).ok_or_else(|| bad(format!("\"{t}\""))),
        }
    }
}

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ISO 4217 alphabetic code: three upper-case ASCII letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_amounts() {
        assert_eq!(Cents::parse("12.50"), Some(Cents(1250)));
        assert_eq!(Cents::parse(" 12,5 "), Some(Cents(1250)));
        assert_eq!(Cents::parse("7"), Some(Cents(700)));
        assert_eq!(Cents::parse("0.07"), Some(Cents(7)));
        for bad in [
            "",
            ".5",
            "12.",
            "12.505",
            "-1",
            "+1",
            "1 000",
            "1.000,00",
            "€12",
            "12 EUR",
            "x",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(Cents::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Cents(1250).to_string(), "12.50");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Holder {
        cap: Cents,
    }

    #[test]
    fn settings_amounts() {
        let read = |t: &str| toml::from_str::<Holder>(t).map(|h| h.cap);
        assert_eq!(read("cap = 30").ok(), Some(Cents(3000)));
        assert_eq!(read("cap = 12.5").ok(), Some(Cents(1250)));
        assert_eq!(read("cap = \"12.50\"").ok(), Some(Cents(1250)));
        for bad in [
            "cap = -1",
            "cap = 1.005",
            "cap = \"abc\"",
            "cap = nan",
            "cap = -0.5",
        ] {
            let err = read(bad).expect_err(bad).to_string();
            assert!(err.contains("not an amount"), "{bad}: {err}");
        }
        let shown = toml::to_string(&Holder { cap: Cents(1250) }).expect("serialize");
        assert_eq!(read(&shown).ok(), Some(Cents(1250)));
    }

    #[test]
    fn currency_codes() {
        assert!(is_currency_code("EUR"));
        assert!(!is_currency_code("eur"));
        assert!(!is_currency_code("EURO"));
        assert!(!is_currency_code("€"));
    }

    proptest! {
        #[test]
        fn display_parses_back(cents in 0i64..10_000_000_000) {
            prop_assert_eq!(Cents::parse(&Cents(cents).to_string()), Some(Cents(cents)));
        }

        #[test]
        fn junk_never_panics(s in "\\PC{0,24}") {
            if let Some(c) = Cents::parse(&s) {
                prop_assert!(c.0 >= 0);
            }
        }
    }
}
