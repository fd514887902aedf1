//! Dates and money the way each screen language writes them. Pure functions over small
//! hand-written tables: the kiosk shows a few languages, not every locale on earth.

use chrono::{Datelike, NaiveDate};

use crate::kiosk::Language;

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_IT: [&str; 12] = [
    "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
];

/// A due date: `28 Nov 2026`, `28 nov 2026`, `2026年11月28日`.
pub fn date(d: NaiveDate, language: Language) -> String {
    let month = d.month0() as usize;
    match language {
        Language::English => format!("{} {} {}", d.day(), MONTHS_EN[month], d.year()),
        Language::Italian => format!("{} {} {}", d.day(), MONTHS_IT[month], d.year()),
        Language::Chinese => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

/// A whole number with the language's thousands separator: `12,345`, `12.345`.
pub fn count(n: u64, language: Language) -> String {
    match language {
        Language::Italian => group_thousands(n, '.'),
        Language::English | Language::Chinese => group_thousands(n, ','),
    }
}

/// An amount in minor units (cents, fen) of an ISO 4217 currency: `€1.50`, `1,50 €`,
/// `¥1.50`. Unknown codes are written with the code itself (`CHF 1.50`, `1,50 CHF`).
pub fn money(minor_units: i64, currency: &str, language: Language) -> String {
    let code = currency.trim().to_ascii_uppercase();
    let (symbol, decimals) = currency_info(&code, language);
    let negative = minor_units < 0;
    let abs = minor_units.unsigned_abs();
    let scale = 10u64.pow(decimals);
    let (int_sep, dec_sep) = match language {
        Language::Italian => ('.', ','),
        Language::English | Language::Chinese => (',', '.'),
    };
    let mut number = group_thousands(abs / scale, int_sep);
    if decimals > 0 {
        number.push(dec_sep);
        number.push_str(&format!(
            "{:0width$}",
            abs % scale,
            width = decimals as usize
        ));
    }
    let sign = if negative { "-" } else { "" };
    match language {
        Language::Italian => format!("{sign}{number} {symbol}"),
        Language::English | Language::Chinese => {
            // A letter code needs a space before the number; a symbol does not.
            let gap = if symbol.chars().all(|c| c.is_ascii_alphabetic()) {
                " "
            } else {
                ""
            };
            format!("{sign}{symbol}{gap}{number}")
        }
    }
}

fn currency_info(code: &str, language: Language) -> (String, u32) {
    let symbol = match code {
        "EUR" => "€",
        "GBP" => "£",
        // Renminbi: ¥ is what a Chinese reader expects; elsewhere say which yuan it is.
        "CNY" if language == Language::Chinese => "¥",
        "CNY" => "CN¥",
        "JPY" => "JP¥",
        "USD" if language == Language::English => "$",
        "USD" => "US$",
        other => other,
    };
    let decimals = if code == "JPY" { 0 } else { 2 };
    (symbol.to_string(), decimals)
}

fn group_thousands(mut n: u64, sep: char) -> String {
    let mut groups = Vec::new();
    loop {
        if n < 1000 {
            groups.push(n.to_string());
            break;
        }
        groups.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join(&sep.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn dates_per_language() {
        assert_eq!(date(d(2026, 11, 28), Language::English), "28 Nov 2026");
        assert_eq!(date(d(2026, 11, 28), Language::Italian), "28 nov 2026");
        assert_eq!(date(d(2026, 11, 28), Language::Chinese), "2026年11月28日");
        assert_eq!(date(d(2027, 1, 3), Language::English), "3 Jan 2027");
        assert_eq!(date(d(2027, 6, 1), Language::Italian), "1 giu 2027");
        assert_eq!(date(d(2027, 6, 1), Language::Chinese), "2027年6月1日");
    }

    #[test]
    fn money_per_language() {
        assert_eq!(money(150, "EUR", Language::English), "€1.50");
        assert_eq!(money(150, "EUR", Language::Italian), "1,50 €");
        assert_eq!(money(150, "EUR", Language::Chinese), "€1.50");
        assert_eq!(money(150, "CNY", Language::Chinese), "¥1.50");
        assert_eq!(money(150, "cny", Language::English), "CN¥1.50");
        assert_eq!(money(150, "CNY", Language::Italian), "1,50 CN¥");
        assert_eq!(money(2000, "USD", Language::English), "$20.00");
        assert_eq!(money(2000, "GBP", Language::Italian), "20,00 £");
    }

    #[test]
    fn money_thousands_negative_and_unknown() {
        assert_eq!(
            money(123_456_789, "EUR", Language::English),
            "€1,234,567.89"
        );
        assert_eq!(
            money(123_456_789, "EUR", Language::Italian),
            "1.234.567,89 €"
        );
        assert_eq!(money(-5, "EUR", Language::English), "-€0.05");
        assert_eq!(money(-5, "EUR", Language::Italian), "-0,05 €");
        assert_eq!(money(150, "CHF", Language::English), "CHF 1.50");
        assert_eq!(money(150, "CHF", Language::Italian), "1,50 CHF");
        assert_eq!(money(1500, "JPY", Language::English), "JP¥1,500");
        assert_eq!(money(0, "EUR", Language::Chinese), "€0.00");
        assert!(money(i64::MIN, "EUR", Language::English).starts_with("-€92,233,720"));
    }
}
