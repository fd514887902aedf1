//! `[counter]`: the bookstore partner counter's rules, stock, item ids and export.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::config::{Problem, Role, Settings};
use crate::counter::ids::{IdCheckDigit, IdRange};
use crate::counter::money::{Cents, is_currency_code};

/// Most books a quota may allow, so a typo (`2000` for `20`) is caught.
const MAX_QUOTA: u32 = 1000;

/// SIP2 64 fields the codec reads into named values: a tier cannot be looked up in them.
const STANDARD_64_FIELDS: &[&str] = &[
    "AO", "AA", "AE", "BZ", "CA", "CB", "BL", "CQ", "BH", "BV", "CC", "AS", "AT", "AU", "AV", "BU",
    "CD", "BD", "BE", "BF", "AF", "AG", "AY", "AZ",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterSettings {
    /// The bookstore's stock file (CSV: isbn, title, author, publisher, year, price,
    /// currency), reread when it changes. Unset: the bookseller types every book's data.
    pub stock_file: Option<PathBuf>,
    /// ISO 4217 code of the prices and caps; a stock row in another currency is refused.
    pub currency: String,
    /// This counter's item numbers, `START-END` (see `id_check_digit`). Required in counter
    /// mode.
    pub id_range: Option<String>,
    /// Check digit appended to the numbers of `id_range`: `none` or `luhn`.
    pub id_check_digit: IdCheckDigit,
    /// The ranges of the site's other counters (same check digit), so counter books on loan
    /// at the ILS count toward `quota_at_once` wherever they were lent.
    pub site_id_ranges: Vec<String>,
    /// Program an RFID tag for each book. `false` (a counter without a writer, labelling
    /// books instead) is refused by the settings check: this counter cannot print labels yet.
    pub program_tags: bool,
    /// Counter books a patron may have on loan at once; unset: no limit.
    pub quota_at_once: Option<u32>,
    /// Counter loans per calendar month; unset: no limit.
    pub quota_per_month: Option<u32>,
    /// Counter loans per calendar year; unset: no limit.
    pub quota_per_year: Option<u32>,
    /// Highest price of one book, in `currency`; unset: no cap.
    pub price_cap: Option<Cents>,
    /// Highest total of one patron's counter books in a calendar month; unset: no cap.
    pub price_cap_per_month: Option<Cents>,
    /// Refuse patrons the ILS blocks (charge privileges denied, card lost, not valid).
    pub refuse_blocked: bool,
    /// Refuse patrons whose fines exceed this amount (in `currency`); unset: no limit.
    pub max_fine: Option<Cents>,
    /// Refuse patrons with overdue items.
    pub no_overdue: bool,
    /// ISBN-13 prefixes the library does not buy this way (hyphens allowed), e.g. "978-88-08".
    pub excluded_isbn_prefixes: Vec<String>,
    /// Words in a title that exclude the book (case does not matter), e.g. "exam preparation".
    pub excluded_title_keywords: Vec<String>,
    /// Refuse an ISBN this counter bought within so many days; 0: no such rule.
    pub same_isbn_days: u32,
    /// The SIP2 patron-information (64) field holding the patron's category in the library's
    /// own record (e.g. "PC", or a site extension); its values pick a tier.
    pub tier_field: Option<String>,
    /// Trust tiers: patrons whose `tier_field` holds one of `values` get the tier's limits.
    pub tiers: Vec<Tier>,
    /// The partner bookstore: its name (invoices, MARC 952 $e) and a short code (file names).
    pub bookstore_name: String,
    pub bookstore_code: String,
    /// Holdings field in the MARC export: "952" (Koha) or "852" (MARC 21 holdings).
    pub holdings: HoldingsFormat,
    /// Branch code owning the books (952 $a / 852 $a). Required in counter mode.
    pub home_branch: String,
    /// Branch code holding them (952 $b); unset: the home branch.
    pub holding_branch: Option<String>,
    /// Item type code (952 $y).
    pub item_type: String,
    /// Days a counter loan counts toward `quota_at_once` from this counter's own records
    /// while the ILS may not know it yet (until the export is imported and the loan synced).
    pub pending_max_days: u32,
    /// The booksellers who may log in at the counter, each with their own PIN (recorded with
    /// each purchase they confirm). Empty: the staff PIN (`staff.pin_hash`) logs in as
    /// "staff".
    pub booksellers: Vec<Bookseller>,
}

/// A bookseller of the partner bookstore.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bookseller {
    /// As recorded with the purchases (a first name or a staff code; no more is needed).
    pub name: String,
    /// Argon2 hash of their PIN in PHC form (`selfcheck config hash-pin` makes one).
    pub pin_hash: String,
}

impl Default for CounterSettings {
    fn default() -> Self {
        CounterSettings {
            stock_file: None,
            currency: "EUR".into(),
            id_range: None,
            id_check_digit: IdCheckDigit::None,
            site_id_ranges: Vec::new(),
            program_tags: true,
            quota_at_once: None,
            quota_per_month: None,
            quota_per_year: None,
            price_cap: None,
            price_cap_per_month: None,
            refuse_blocked: true,
            max_fine: Some(Cents(0)),
            no_overdue: true,
            excluded_isbn_prefixes: Vec::new(),
            excluded_title_keywords: Vec::new(),
            same_isbn_days: 30,
            tier_field: None,
            tiers: Vec::new(),
            bookstore_name: String::new(),
            bookstore_code: String::new(),
            holdings: HoldingsFormat::Koha952,
            home_branch: String::new(),
            holding_branch: None,
            item_type: "BK".into(),
            pending_max_days: 14,
            booksellers: Vec::new(),
        }
    }
}

/// A trust tier: limits that replace the counter's own for the patrons it names. A limit the
/// tier leaves unset stays the counter's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    /// Values of `counter.tier_field` that put a patron in this tier.
    pub values: Vec<String>,
    pub quota_at_once: Option<u32>,
    pub quota_per_month: Option<u32>,
    pub quota_per_year: Option<u32>,
    pub price_cap: Option<Cents>,
    pub price_cap_per_month: Option<Cents>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldingsFormat {
    #[serde(rename = "952")]
    Koha952,
    #[serde(rename = "852")]
    Marc852,
}

/// The limits in force for one patron: the counter's, with a tier's in their place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub quota_at_once: Option<u32>,
    pub quota_per_month: Option<u32>,
    pub quota_per_year: Option<u32>,
    pub price_cap: Option<Cents>,
    pub price_cap_per_month: Option<Cents>,
}

impl CounterSettings {
    /// The tier a patron's `tier_field` value puts them in, if any.
    pub fn tier_of(&self, value: Option<&str>) -> Option<&Tier> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.tiers
            .iter()
            .find(|t| t.values.iter().any(|v| v.trim() == value))
    }

    /// The limits for a patron in `tier` (or in none).
    pub fn limits(&self, tier: Option<&Tier>) -> Limits {
        let base = Limits {
            quota_at_once: self.quota_at_once,
            quota_per_month: self.quota_per_month,
            quota_per_year: self.quota_per_year,
            price_cap: self.price_cap,
            price_cap_per_month: self.price_cap_per_month,
        };
        let Some(t) = tier else { return base };
        Limits {
            quota_at_once: t.quota_at_once.or(base.quota_at_once),
            quota_per_month: t.quota_per_month.or(base.quota_per_month),
            quota_per_year: t.quota_per_year.or(base.quota_per_year),
            price_cap: t.price_cap.or(base.price_cap),
            price_cap_per_month: t.price_cap_per_month.or(base.price_cap_per_month),
        }
    }

    /// This counter's range; `None` when unset or invalid (validation reports which).
    pub fn range(&self) -> Option<IdRange> {
        IdRange::parse(self.id_range.as_deref()?, self.id_check_digit).ok()
    }

    /// Every counter range of the site: this counter's and `site_id_ranges`.
    pub fn site_ranges(&self) -> Vec<IdRange> {
        self.range()
            .into_iter()
            .chain(
                self.site_id_ranges
                    .iter()
                    .filter_map(|r| IdRange::parse(r, self.id_check_digit).ok()),
            )
            .collect()
    }

    /// The first day whose purchases still need their patron id: the start of the year when
    /// a yearly quota may apply, else of the month when a monthly limit may, else the window
    /// of `pending_max_days`. Older purchases keep no patron id.
    pub fn patron_retention_start(&self, today: NaiveDate) -> NaiveDate {
        let all_limits = std::iter::once(self.limits(None))
            .chain(self.tiers.iter().map(|t| self.limits(Some(t))))
            .collect::<Vec<_>>();
        let pending = today
            .checked_sub_days(Days::new(u64::from(self.pending_max_days)))
            .unwrap_or(NaiveDate::MIN);
        let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let month = today.with_day(1).unwrap_or(today);
        let start = if all_limits.iter().any(|l| l.quota_per_year.is_some()) {
            year
        } else if all_limits
            .iter()
            .any(|l| l.quota_per_month.is_some() || l.price_cap_per_month.is_some())
        {
            month
        } else {
            pending
        };
        start.min(pending)
    }

    /// ISBN-13 digits of each excluded prefix.
    pub fn excluded_prefix_digits(&self) -> Vec<(String, String)> {
        self.excluded_isbn_prefixes
            .iter()
            .map(|p| {
                let digits: String = p.chars().filter(|c| c.is_ascii_digit()).collect();
                (p.clone(), digits)
            })
            .collect()
    }

    /// Every invalid value, with its dotted key.
    pub fn problems(&self, settings: &Settings, out: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        let counter_mode = settings.terminal.role == Role::Counter;

        if !is_currency_code(&self.currency) {
            bad(
                "counter.currency",
                format!(
                    "\"{}\" is not an ISO 4217 code (three capital letters, e.g. EUR)",
                    self.currency
                ),
            );
        }
        match &self.id_range {
            Some(text) => {
                if let Err(message) = IdRange::parse(text, self.id_check_digit) {
                    bad("counter.id_range", message);
                }
            }
            None if counter_mode => bad(
                "counter.id_range",
                "required when terminal.role = \"counter\": the range of item ids assigned to \
                 this counter, e.g. \"3199000000000-3199000009999\""
                    .into(),
            ),
            None => {}
        }
        let own = self.range();
        for text in &self.site_id_ranges {
            match IdRange::parse(text, self.id_check_digit) {
                Err(message) => bad("counter.site_id_ranges", message),
                Ok(other) => {
                    if let Some(own) = own
                        && other.width == own.width
                        && other.start <= own.end
                        && own.start <= other.end
                        && other != own
                    {
                        bad(
                            "counter.site_id_ranges",
                            format!("{other} overlaps counter.id_range {own}"),
                        );
                    }
                }
            }
        }
        if let Some(path) = &self.stock_file
            && !path.is_file()
        {
            bad(
                "counter.stock_file",
                format!("{} does not exist or is not a file", path.display()),
            );
        }
        let quota = |key: &str, value: Option<u32>, bad: &mut dyn FnMut(&str, String)| {
            if let Some(v) = value
                && v > MAX_QUOTA
            {
                bad(key, format!("{v} is more than {MAX_QUOTA}"));
            }
        };
        quota("counter.quota_at_once", self.quota_at_once, &mut bad);
        quota("counter.quota_per_month", self.quota_per_month, &mut bad);
        quota("counter.quota_per_year", self.quota_per_year, &mut bad);

        for prefix in &self.excluded_isbn_prefixes {
            let shape_ok = prefix
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' '));
            let digits: String = prefix.chars().filter(|c| c.is_ascii_digit()).collect();
            if !shape_ok
                || !(3..=13).contains(&digits.len())
                || !(digits.starts_with("978") || digits.starts_with("979"))
            {
                bad(
                    "counter.excluded_isbn_prefixes",
                    format!(
                        "\"{prefix}\" is not an ISBN-13 prefix (3 to 13 digits starting 978 or \
                         979, hyphens allowed, e.g. \"978-88-08\")"
                    ),
                );
            }
        }
        if self
            .excluded_title_keywords
            .iter()
            .any(|k| k.trim().is_empty())
        {
            bad(
                "counter.excluded_title_keywords",
                "an empty keyword would exclude every book".into(),
            );
        }
        if self.same_isbn_days > 3650 {
            bad(
                "counter.same_isbn_days",
                format!("{} is more than 3650 days", self.same_isbn_days),
            );
        }
        if !(1..=365).contains(&self.pending_max_days) {
            bad(
                "counter.pending_max_days",
                format!("{} is out of range (1 to 365 days)", self.pending_max_days),
            );
        }

        match &self.tier_field {
            Some(field) => {
                let shape = field.len() == 2
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !shape {
                    bad(
                        "counter.tier_field",
                        format!(
                            "\"{field}\" is not a SIP2 field code (two capital letters or digits, e.g. PC)"
                        ),
                    );
                } else if STANDARD_64_FIELDS.contains(&field.as_str()) {
                    bad(
                        "counter.tier_field",
                        format!(
                            "{field} is a standard SIP2 field with its own meaning, not a patron category"
                        ),
                    );
                }
            }
            None if !self.tiers.is_empty() => bad(
                "counter.tier_field",
                "tiers are set but no tier_field says which SIP2 field holds the patron's category"
                    .into(),
            ),
            None => {}
        }
        let mut names = BTreeSet::new();
        let mut values = BTreeSet::new();
        for (i, tier) in self.tiers.iter().enumerate() {
            let key = format!("counter.tiers[{i}]");
            if tier.name.trim().is_empty() {
                bad(&format!("{key}.name"), "must not be empty".into());
            } else if !names.insert(tier.name.trim().to_owned()) {
                bad(
                    &format!("{key}.name"),
                    format!("\"{}\" is used twice", tier.name),
                );
            }
            if tier.values.is_empty() {
                bad(&format!("{key}.values"), "name at least one value".into());
            }
            for value in &tier.values {
                if value.trim().is_empty() {
                    bad(&format!("{key}.values"), "a value must not be empty".into());
                } else if !values.insert(value.trim().to_owned()) {
                    bad(
                        &format!("{key}.values"),
                        format!("\"{value}\" already belongs to another tier"),
                    );
                }
            }
            quota(
                &format!("{key}.quota_at_once"),
                tier.quota_at_once,
                &mut bad,
            );
            quota(
                &format!("{key}.quota_per_month"),
                tier.quota_per_month,
                &mut bad,
            );
            quota(
                &format!("{key}.quota_per_year"),
                tier.quota_per_year,
                &mut bad,
            );
        }

        let mut seller_names = BTreeSet::new();
        for (i, seller) in self.booksellers.iter().enumerate() {
            let key = format!("counter.booksellers[{i}]");
            let name = seller.name.trim();
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                bad(
                    &format!("{key}.name"),
                    "must be 1 to 64 printable characters".into(),
                );
            } else if !seller_names.insert(name.to_owned()) {
                bad(&format!("{key}.name"), format!("\"{name}\" is used twice"));
            }
            if argon2::password_hash::phc::PasswordHash::new(&seller.pin_hash).is_err() {
                bad(
                    &format!("{key}.pin_hash"),
                    "is not a PHC hash string; make one with `selfcheck config hash-pin`".into(),
                );
            }
        }

        if !self.program_tags {
            bad(
                "counter.program_tags",
                "false is not supported: this counter cannot print barcode labels, so every \
                 book needs its RFID tag programmed (an RFID writer on the counter)"
                    .into(),
            );
        }

        let code_ok = |c: &str| {
            (1..=32).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        };
        if !self.bookstore_code.is_empty() && !code_ok(&self.bookstore_code) {
            bad(
                "counter.bookstore_code",
                format!(
                    "\"{}\" must be 1 to 32 letters, digits, '-' or '_' (it names the invoice files)",
                    self.bookstore_code
                ),
            );
        }
        if counter_mode {
            for (key, value) in [
                ("counter.bookstore_name", &self.bookstore_name),
                ("counter.bookstore_code", &self.bookstore_code),
                ("counter.home_branch", &self.home_branch),
                ("counter.item_type", &self.item_type),
            ] {
                if value.trim().is_empty() {
                    bad(key, "required when terminal.role = \"counter\"".into());
                }
            }
            if self.booksellers.is_empty() && settings.staff.pin_hash.is_empty() {
                bad(
                    "counter.booksellers",
                    "required when terminal.role = \"counter\" and no staff.pin_hash is set: \
                     who may log in at the counter"
                        .into(),
                );
            }
            if self.program_tags && settings.rfid.owner_isil.is_none() {
                bad(
                    "rfid.owner_isil",
                    "required when the counter programs tags (counter.program_tags): the owner \
                     library written on each book's tag"
                        .into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn problems(text: &str) -> Vec<String> {
        match Settings::parse(text, Path::new("t.toml")) {
            Ok(_) => Vec::new(),
            Err(crate::config::ConfigError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    const COUNTER: &str = r#"
        [terminal]
        role = "counter"
        [rfid]
        owner_isil = "IT-FI0001"
        [counter]
        id_range = "3199000000000-3199000009999"
        id_check_digit = "luhn"
        bookstore_name = "Libreria Dante"
        bookstore_code = "dante"
        home_branch = "MAIN"
        booksellers = [{ name = "anna", pin_hash = "$argon2id$v=19$m=19456,t=2,p=1$c3qrMqoeEuGjxIZEwAe1Lg$5XbZX/1tP487xFyWSTESpsEDoXPChHD8XLla4y7bY14" }]
    "#;

    #[test]
    fn a_counter_needs_its_range_and_partner() {
        assert!(problems(COUNTER).is_empty());
        assert_eq!(
            problems("[terminal]\nrole = \"counter\"\n"),
            [
                "counter.id_range",
                "counter.bookstore_name",
                "counter.bookstore_code",
                "counter.home_branch",
                "counter.booksellers",
                "rfid.owner_isil"
            ]
        );
        // The staff PIN may log in instead of a list of booksellers.
        let staff = format!(
            "[staff]\npin_hash = \"{}\"\n{}",
            crate::config::hash_pin("9753").expect("hash"),
            COUNTER.split("booksellers").next().unwrap_or_default()
        );
        assert!(problems(&staff).iter().all(|k| k != "counter.booksellers"));
        assert!(problems("[terminal]\nrole = \"kiosk\"\n").is_empty());
        let s = Settings::parse(COUNTER, Path::new("t.toml")).expect("valid");
        assert_eq!(s.terminal.role, Role::Counter);
        assert_eq!(s.counter.range().map(|r| r.count()), Some(10_000));
        assert_eq!(Settings::default().terminal.role, Role::Kiosk);
    }

    #[test]
    fn each_value_is_checked() {
        let with = |extra: &str| problems(&format!("{COUNTER}{extra}\n"));
        assert_eq!(with("currency = \"euro\""), ["counter.currency"]);
        assert_eq!(
            with("site_id_ranges = [\"1-22\", \"3199000005000-3199000015000\"]"),
            ["counter.site_id_ranges", "counter.site_id_ranges"]
        );
        assert_eq!(
            with("stock_file = \"/nonexistent/stock.csv\""),
            ["counter.stock_file"]
        );
        assert_eq!(with("quota_per_month = 5000"), ["counter.quota_per_month"]);
        assert_eq!(
            with("excluded_isbn_prefixes = [\"978-88\", \"88-08\", \"97x\"]"),
            [
                "counter.excluded_isbn_prefixes",
                "counter.excluded_isbn_prefixes"
            ]
        );
        assert_eq!(
            with("excluded_title_keywords = [\" \"]"),
            ["counter.excluded_title_keywords"]
        );
        assert_eq!(with("pending_max_days = 0"), ["counter.pending_max_days"]);
        assert_eq!(
            problems(&COUNTER.replace("}]", "}, { name = \"anna\", pin_hash = \"2468\" }]")),
            [
                "counter.booksellers[1].name",
                "counter.booksellers[1].pin_hash"
            ]
        );
        assert_eq!(
            problems(&COUNTER.replace("\"dante\"", "\"a/b\"")),
            ["counter.bookstore_code"]
        );
        assert_eq!(with("tier_field = \"BV\""), ["counter.tier_field"]);
        assert_eq!(with("tier_field = \"patron type\""), ["counter.tier_field"]);
        assert_eq!(
            with("[[counter.tiers]]\nname = \"gold\"\nvalues = [\"G\"]"),
            ["counter.tier_field"]
        );
        assert_eq!(
            with(
                "tier_field = \"PC\"\n[[counter.tiers]]\nname = \"a\"\nvalues = [\"X\"]\n\
                 [[counter.tiers]]\nname = \"a\"\nvalues = [\"X\"]\nquota_at_once = 2000"
            ),
            [
                "counter.tiers[1].name",
                "counter.tiers[1].values",
                "counter.tiers[1].quota_at_once"
            ]
        );
        let err = Settings::parse(&format!("{COUNTER}price_cap = -3\n"), Path::new("t.toml"))
            .expect_err("negative")
            .to_string();
        assert!(err.contains("not an amount"), "{err}");
        assert_eq!(
            problems(&format!("{COUNTER}program_tags = false\n").replace("owner_isil", "#")),
            ["counter.program_tags"]
        );
    }

    #[test]
    fn tiers_replace_only_what_they_set() {
        let s = Settings::parse(
            &format!(
                "{COUNTER}quota_at_once = 2\nquota_per_month = 4\nprice_cap = 30\n\
                 tier_field = \"PC\"\n[[counter.tiers]]\nname = \"trusted\"\n\
                 values = [\"ST\", \"AD\"]\nquota_at_once = 5\n"
            ),
            Path::new("t.toml"),
        )
        .expect("valid");
        let c = &s.counter;
        let tier = c.tier_of(Some(" AD "));
        assert_eq!(tier.map(|t| t.name.as_str()), Some("trusted"));
        let l = c.limits(tier);
        assert_eq!(l.quota_at_once, Some(5));
        assert_eq!(l.quota_per_month, Some(4));
        assert_eq!(l.price_cap, Some(Cents(3000)));
        assert!(c.tier_of(Some("JU")).is_none());
        assert!(c.tier_of(None).is_none());
        assert_eq!(c.limits(None).quota_at_once, Some(2));
    }

    #[test]
    fn patron_ids_are_kept_only_for_the_quota_window() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let today = day(2026, 5, 20);
        let mut c = CounterSettings::default();
        assert_eq!(c.patron_retention_start(today), day(2026, 5, 6));
        c.price_cap_per_month = Some(Cents(100));
        assert_eq!(c.patron_retention_start(today), day(2026, 5, 1));
        c.tiers.push(Tier {
            name: "t".into(),
            values: vec!["X".into()],
            quota_per_year: Some(3),
            ..Tier::default()
        });
        assert_eq!(c.patron_retention_start(today), day(2026, 1, 1));
        // Early in the month the pending window reaches further back than the month.
        c.tiers.clear();
        assert_eq!(c.patron_retention_start(day(2026, 5, 2)), day(2026, 4, 18));
    }

    #[test]
    fn shown_settings_parse_back() {
        let s = Settings::parse(
            &format!("{COUNTER}price_cap = 12.5\nquota_at_once = 3\n"),
            Path::new("t.toml"),
        )
        .expect("valid");
        let text = toml::to_string(&s).expect("serialize");
        assert_eq!(
            Settings::parse(&text, Path::new("t.toml")).expect("back"),
            s
        );
    }
}
