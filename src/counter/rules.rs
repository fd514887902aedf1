//! Whether a patron may take a new book home from the counter: the eligibility rules.
//!
//! Pure: the patron's standing at the ILS, their counter-loan history, the book, this
//! counter's last purchase of the same ISBN, the settings and today's date go in; an approval
//! with the patron's tier applied, or the first refusal, comes out. Each refusal names its
//! rule by a stable code (for the screens' translations) and by the settings key that sets it
//! (for staff). The tier comes only from the library's own patron record
//! ([`Standing::tier_value`]); nothing else about the patron is scored.

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::counter::ids::IdRange;
use crate::counter::money::Cents;
use crate::counter::settings::{CounterSettings, Limits};
use crate::sip2::PatronInformationResponse;

/// Why the ILS blocks a patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    ChargePrivilegesDenied,
    CardReportedLost,
    NotValidPatron,
}

/// The patron's standing as the ILS gave it (SIP2 64).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub blocks: Vec<Block>,
    /// Items overdue; `None` when the ILS did not say.
    pub overdue_items: Option<u32>,
    /// Fines owed; `None` when the ILS's amount could not be read.
    pub fines: Option<Cents>,
    /// The value of `counter.tier_field` in the patron's record.
    pub tier_value: Option<String>,
}

impl Standing {
    /// Read a patron information answer; `tier_field` is `counter.tier_field`.
    pub fn from_patron_information(
        r: &PatronInformationResponse,
        tier_field: Option<&str>,
    ) -> Self {
        let mut blocks = Vec::new();
        if r.patron_status.charge_privileges_denied {
            blocks.push(Block::ChargePrivilegesDenied);
        }
        if r.patron_status.card_reported_lost {
            blocks.push(Block::CardReportedLost);
        }
        if r.valid_patron == Some(false) {
            blocks.push(Block::NotValidPatron);
        }
        let listed = u32::try_from(r.overdue_items.len()).unwrap_or(u32::MAX);
        let overdue_items = match r.overdue_items_count {
            Some(n) => Some(u32::from(n).max(listed)),
            None if listed > 0 => Some(listed),
            None if r.patron_status.too_many_items_overdue => Some(1),
            None => None,
        }
        .map(|n| {
            if r.patron_status.too_many_items_overdue {
                n.max(1)
            } else {
                n
            }
        });
        let fines = match r.fee_amount.as_deref().map(str::trim) {
            None | Some("") => Some(Cents(0)),
            Some(amount) => match amount.strip_prefix('-') {
                // A negative balance is a credit: nothing is owed.
                Some(credit) => Cents::parse(credit).map(|_| Cents(0)),
                None => Cents::parse(amount),
            },
        };
        let tier_value = tier_field.and_then(|code| {
            r.extra
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, v)| v.trim().to_owned())
        });
        Standing {
            blocks,
            overdue_items,
            fines,
            tier_value,
        }
    }
}

/// The patron's counter loans so far (counter loans only, not their other loans).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// Counter books on loan now.
    pub out_now: u32,
    /// Counter loans this calendar month and year (today's included).
    pub this_month: u32,
    pub this_year: u32,
    /// What those of this month cost.
    pub spent_this_month: Cents,
}

impl History {
    /// Counter books on loan now: the ones the ILS lists as charged to the patron (AU of a 64
    /// asked with the charged-items summary) that carry an id of the site's counter ranges,
    /// together with this counter's recent loans the ILS may not know yet (`local_recent`:
    /// item ids), each counted once.
    pub fn out_now_from(
        ils_charged: &[String],
        ranges: &[IdRange],
        local_recent: &[String],
    ) -> u32 {
        let mut ids: Vec<&str> = ils_charged
            .iter()
            .map(|s| s.trim())
            .filter(|id| ranges.iter().any(|r| r.contains_id(id)))
            .chain(local_recent.iter().map(|s| s.trim()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        u32::try_from(ids.len()).unwrap_or(u32::MAX)
    }
}

/// The book on the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    pub isbn13: String,
    pub title: String,
    pub price: Cents,
    pub currency: String,
}

/// Yes: the tier the patron is in (by name) and the limits that applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub tier: Option<String>,
    pub limits: Limits,
}

/// No, and which rule said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    Blocked {
        block: Block,
    },
    Overdue {
        count: Option<u32>,
    },
    MaxFine {
        limit: Cents,
        owed: Option<Cents>,
    },
    Currency {
        expected: String,
        found: String,
    },
    ExcludedIsbnPrefix {
        prefix: String,
    },
    ExcludedTitleKeyword {
        keyword: String,
    },
    PriceCap {
        limit: Cents,
        price: Cents,
    },
    SameIsbn {
        days: u32,
        #[serde(serialize_with = "as_text")]
        last: NaiveDate,
    },
    QuotaAtOnce {
        limit: u32,
        used: u32,
    },
    QuotaPerMonth {
        limit: u32,
        used: u32,
    },
    QuotaPerYear {
        limit: u32,
        used: u32,
    },
    PriceCapPerMonth {
        limit: Cents,
        spent: Cents,
        price: Cents,
    },
}

fn as_text<S: serde::Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(date)
}

impl Refusal {
    /// Stable code of the rule, for the screens' translations.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Blocked { .. } => "blocked",
            Refusal::Overdue { .. } => "overdue",
            Refusal::MaxFine { .. } => "max_fine",
            Refusal::Currency { .. } => "currency",
            Refusal::ExcludedIsbnPrefix { .. } => "excluded_isbn_prefix",
            Refusal::ExcludedTitleKeyword { .. } => "excluded_title_keyword",
            Refusal::PriceCap { .. } => "price_cap",
            Refusal::SameIsbn { .. } => "same_isbn",
            Refusal::QuotaAtOnce { .. } => "quota_at_once",
            Refusal::QuotaPerMonth { .. } => "quota_per_month",
            Refusal::QuotaPerYear { .. } => "quota_per_year",
            Refusal::PriceCapPerMonth { .. } => "price_cap_per_month",
        }
    }

    /// The settings key of the rule (a tier's limit replaces the value, not the key).
    pub fn key(&self) -> &'static str {
        match self {
            Refusal::Blocked { .. } => "counter.refuse_blocked",
            Refusal::Overdue { .. } => "counter.no_overdue",
            Refusal::MaxFine { .. } => "counter.max_fine",
            Refusal::Currency { .. } => "counter.currency",
            Refusal::ExcludedIsbnPrefix { .. } => "counter.excluded_isbn_prefixes",
            Refusal::ExcludedTitleKeyword { .. } => "counter.excluded_title_keywords",
            Refusal::PriceCap { .. } => "counter.price_cap",
            Refusal::SameIsbn { .. } => "counter.same_isbn_days",
            Refusal::QuotaAtOnce { .. } => "counter.quota_at_once",
            Refusal::QuotaPerMonth { .. } => "counter.quota_per_month",
            Refusal::QuotaPerYear { .. } => "counter.quota_per_year",
            Refusal::PriceCapPerMonth { .. } => "counter.price_cap_per_month",
        }
    }
}

impl fmt::Display for Refusal {
    /// English words for staff and logs; the screens translate by [`Refusal::code`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Blocked { block } => {
                let why = match block {
                    Block::ChargePrivilegesDenied => "may not borrow (charge privileges denied)",
                    Block::CardReportedLost => "card is reported lost",
                    Block::NotValidPatron => "is not a valid patron",
                };
                write!(f, "the library says the patron {why}")
            }
            Refusal::Overdue { count: Some(n) } => write!(f, "the patron has {n} overdue item(s)"),
            Refusal::Overdue { count: None } => {
                f.write_str("the library did not say whether the patron has overdue items")
            }
            Refusal::MaxFine {
                limit,
                owed: Some(owed),
            } => {
                write!(f, "the patron owes {owed} in fines, more than {limit}")
            }
            Refusal::MaxFine { owed: None, .. } => {
                f.write_str("the library's fines amount for the patron cannot be read")
            }
            Refusal::Currency { expected, found } => {
                write!(
                    f,
                    "the book is priced in {found}, the counter buys in {expected}"
                )
            }
            Refusal::ExcludedIsbnPrefix { prefix } => {
                write!(
                    f,
                    "books with ISBNs starting {prefix} are not bought this way"
                )
            }
            Refusal::ExcludedTitleKeyword { keyword } => {
                write!(
                    f,
                    "books with \"{keyword}\" in the title are not bought this way"
                )
            }
            Refusal::PriceCap { limit, price } => {
                write!(f, "the book costs {price}, more than the cap of {limit}")
            }
            Refusal::SameIsbn { days, last } => write!(
                f,
                "this counter bought the same ISBN on {last}, within {days} days"
            ),
            Refusal::QuotaAtOnce { limit, used } => write!(
                f,
                "the patron has {used} counter book(s) on loan; at most {limit} at once"
            ),
            Refusal::QuotaPerMonth { limit, used } => write!(
                f,
                "the patron took {used} counter book(s) this month; at most {limit}"
            ),
            Refusal::QuotaPerYear { limit, used } => write!(
                f,
                "the patron took {used} counter book(s) this year; at most {limit}"
            ),
            Refusal::PriceCapPerMonth {
                limit,
                spent,
                price,
            } => write!(
                f,
                "this book ({price}) would bring the month's counter books to more than {limit} \
                 (spent so far: {spent})"
            ),
        }
    }
}

/// Decide. The rules run in a fixed order (standing, the book, then the patron's quotas) and
/// the first that refuses is the answer. Every limit is inclusive: a patron at the limit
/// already has all they may have.
pub fn decide(
    standing: &Standing,
    history: &History,
    book: &Book,
    last_same_isbn: Option<NaiveDate>,
    settings: &CounterSettings,
    today: NaiveDate,
) -> Result<Approval, Refusal> {
    let tier = settings.tier_of(standing.tier_value.as_deref());
    let limits = settings.limits(tier);

    if settings.refuse_blocked
        && let Some(&block) = standing.blocks.first()
    {
        return Err(Refusal::Blocked { block });
    }
    if settings.no_overdue && standing.overdue_items != Some(0) {
        return Err(Refusal::Overdue {
            count: standing.overdue_items,
        });
    }
    if let Some(limit) = settings.max_fine
        && standing.fines.is_none_or(|owed| owed > limit)
    {
        return Err(Refusal::MaxFine {
            limit,
            owed: standing.fines,
        });
    }

    if book.currency.trim() != settings.currency {
        return Err(Refusal::Currency {
            expected: settings.currency.clone(),
            found: book.currency.clone(),
        });
    }
    if let Some((prefix, _)) = settings
        .excluded_prefix_digits()
        .into_iter()
        .find(|(_, digits)| book.isbn13.starts_with(digits.as_str()))
    {
        return Err(Refusal::ExcludedIsbnPrefix { prefix });
    }
    let title = book.title.to_lowercase();
    if let Some(keyword) = settings
        .excluded_title_keywords
        .iter()
        .find(|k| title.contains(&k.trim().to_lowercase()))
    {
        return Err(Refusal::ExcludedTitleKeyword {
            keyword: keyword.trim().to_owned(),
        });
    }
    if let Some(limit) = limits.price_cap
        && book.price > limit
    {
        return Err(Refusal::PriceCap {
            limit,
            price: book.price,
        });
    }
    if settings.same_isbn_days > 0
        && let Some(last) = last_same_isbn
        && (today - last).num_days() < i64::from(settings.same_isbn_days)
    {
        return Err(Refusal::SameIsbn {
            days: settings.same_isbn_days,
            last,
        });
    }

    type Quota = (Option<u32>, u32, fn(u32, u32) -> Refusal);
    let quotas: [Quota; 3] = [
        (limits.quota_at_once, history.out_now, |limit, used| {
            Refusal::QuotaAtOnce { limit, used }
        }),
        (limits.quota_per_month, history.this_month, |limit, used| {
            Refusal::QuotaPerMonth { limit, used }
        }),
        (limits.quota_per_year, history.this_year, |limit, used| {
            Refusal::QuotaPerYear { limit, used }
        }),
    ];
    for (limit, used, refusal) in quotas {
        if let Some(limit) = limit
            && used >= limit
        {
            return Err(refusal(limit, used));
        }
    }
    if let Some(limit) = limits.price_cap_per_month
        && history.spent_this_month.saturating_add(book.price) > limit
    {
        return Err(Refusal::PriceCapPerMonth {
            limit,
            spent: history.spent_this_month,
            price: book.price,
        });
    }
    Ok(Approval {
        tier: tier.map(|t| t.name.clone()),
        limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::ids::IdCheckDigit;
    use crate::counter::settings::Tier;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 20).expect("date")
    }

    fn good() -> Standing {
        Standing {
            blocks: Vec::new(),
            overdue_items: Some(0),
            fines: Some(Cents(0)),
            tier_value: None,
        }
    }

    fn book() -> Book {
        Book {
            isbn13: "9788845292613".into(),
            title: "Il nome della rosa".into(),
            price: Cents(1400),
            currency: "EUR".into(),
        }
    }

    fn check(
        standing: &Standing,
        history: &History,
        book: &Book,
        s: &CounterSettings,
    ) -> Result<Approval, Refusal> {
        decide(standing, history, book, None, s, today())
    }

    fn refusal(r: Result<Approval, Refusal>) -> Refusal {
        r.expect_err("refused")
    }

    #[test]
    fn a_patron_in_good_standing_gets_the_book() {
        let approval = check(
            &good(),
            &History::default(),
            &book(),
            &CounterSettings::default(),
        )
        .expect("approved");
        assert_eq!(approval.tier, None);
        assert_eq!(approval.limits, Limits::default());
    }

    #[test]
    fn blocked_patrons() {
        let s = CounterSettings::default();
        for block in [
            Block::ChargePrivilegesDenied,
            Block::CardReportedLost,
            Block::NotValidPatron,
        ] {
            let standing = Standing {
                blocks: vec![block],
                ..good()
            };
            let r = refusal(check(&standing, &History::default(), &book(), &s));
            assert_eq!(r, Refusal::Blocked { block });
            assert_eq!((r.code(), r.key()), ("blocked", "counter.refuse_blocked"));
        }
        let off = CounterSettings {
            refuse_blocked: false,
            ..s
        };
        let standing = Standing {
            blocks: vec![Block::CardReportedLost],
            ..good()
        };
        assert!(check(&standing, &History::default(), &book(), &off).is_ok());
    }

    #[test]
    fn overdue_items() {
        let s = CounterSettings::default();
        let standing = Standing {
            overdue_items: Some(1),
            ..good()
        };
        let r = refusal(check(&standing, &History::default(), &book(), &s));
        assert_eq!(r, Refusal::Overdue { count: Some(1) });
        assert_eq!(r.key(), "counter.no_overdue");
        // Not knowing is not good enough.
        let unknown = Standing {
            overdue_items: None,
            ..good()
        };
        assert_eq!(
            refusal(check(&unknown, &History::default(), &book(), &s)),
            Refusal::Overdue { count: None }
        );
        let off = CounterSettings {
            no_overdue: false,
            ..s
        };
        assert!(check(&standing, &History::default(), &book(), &off).is_ok());
    }

    #[test]
    fn fines_at_and_past_the_limit() {
        let s = CounterSettings {
            max_fine: Some(Cents(500)),
            ..CounterSettings::default()
        };
        let owing = |c| Standing {
            fines: Some(Cents(c)),
            ..good()
        };
        assert!(check(&owing(500), &History::default(), &book(), &s).is_ok());
        let r = refusal(check(&owing(501), &History::default(), &book(), &s));
        assert_eq!(
            r,
            Refusal::MaxFine {
                limit: Cents(500),
                owed: Some(Cents(501))
            }
        );
        assert_eq!(r.key(), "counter.max_fine");
        let unreadable = Standing {
            fines: None,
            ..good()
        };
        assert_eq!(
            refusal(check(&unreadable, &History::default(), &book(), &s)).code(),
            "max_fine"
        );
        // The default allows no fines at all.
        let strict = CounterSettings::default();
        assert_eq!(
            refusal(check(&owing(1), &History::default(), &book(), &strict)).code(),
            "max_fine"
        );
        let off = CounterSettings {
            max_fine: None,
            ..strict
        };
        assert!(check(&owing(100_000), &History::default(), &book(), &off).is_ok());
    }

    #[test]
    fn book_in_another_currency() {
        let s = CounterSettings::default();
        let chf = Book {
            currency: "CHF".into(),
            ..book()
        };
        let r = refusal(check(&good(), &History::default(), &chf, &s));
        assert_eq!(
            r,
            Refusal::Currency {
                expected: "EUR".into(),
                found: "CHF".into()
            }
        );
        assert_eq!(r.key(), "counter.currency");
    }

    #[test]
    fn excluded_kinds() {
        let s = CounterSettings {
            excluded_isbn_prefixes: vec!["978-88-452".into()],
            excluded_title_keywords: vec!["Exam Preparation".into()],
            ..CounterSettings::default()
        };
        let r = refusal(check(&good(), &History::default(), &book(), &s));
        assert_eq!(
            r,
            Refusal::ExcludedIsbnPrefix {
                prefix: "978-88-452".into()
            }
        );
        assert_eq!(r.key(), "counter.excluded_isbn_prefixes");
        let exam = Book {
            isbn13: "9780306406157".into(),
            title: "IELTS: exam preparation in 30 days".into(),
            ..book()
        };
        let r = refusal(check(&good(), &History::default(), &exam, &s));
        assert_eq!(
            r,
            Refusal::ExcludedTitleKeyword {
                keyword: "Exam Preparation".into()
            }
        );
        assert_eq!(r.key(), "counter.excluded_title_keywords");
        let other = Book {
            isbn13: "9780306406157".into(),
            ..book()
        };
        assert!(check(&good(), &History::default(), &other, &s).is_ok());
    }

    #[test]
    fn price_cap_at_and_past_the_limit() {
        let s = CounterSettings {
            price_cap: Some(Cents(1400)),
            ..CounterSettings::default()
        };
        assert!(check(&good(), &History::default(), &book(), &s).is_ok());
        let dearer = Book {
            price: Cents(1401),
            ..book()
        };
        let r = refusal(check(&good(), &History::default(), &dearer, &s));
        assert_eq!(
            r,
            Refusal::PriceCap {
                limit: Cents(1400),
                price: Cents(1401)
            }
        );
        assert_eq!(r.key(), "counter.price_cap");
    }

    #[test]
    fn same_isbn_within_the_days() {
        let s = CounterSettings {
            same_isbn_days: 30,
            ..CounterSettings::default()
        };
        let on = |days_ago: u64| {
            decide(
                &good(),
                &History::default(),
                &book(),
                today().checked_sub_days(chrono::Days::new(days_ago)),
                &s,
                today(),
            )
        };
        assert!(on(30).is_ok());
        let r = refusal(on(29));
        assert_eq!(r.code(), "same_isbn");
        assert_eq!(r.key(), "counter.same_isbn_days");
        assert_eq!(refusal(on(0)).code(), "same_isbn");
        let off = CounterSettings {
            same_isbn_days: 0,
            ..s
        };
        assert!(
            decide(
                &good(),
                &History::default(),
                &book(),
                Some(today()),
                &off,
                today()
            )
            .is_ok()
        );
    }

    #[test]
    fn quotas_at_and_past_their_limits() {
        let s = CounterSettings {
            quota_at_once: Some(2),
            quota_per_month: Some(4),
            quota_per_year: Some(10),
            ..CounterSettings::default()
        };
        let h = |out_now, this_month, this_year| History {
            out_now,
            this_month,
            this_year,
            spent_this_month: Cents(0),
        };
        assert!(check(&good(), &h(1, 3, 9), &book(), &s).is_ok());
        let r = refusal(check(&good(), &h(2, 3, 9), &book(), &s));
        assert_eq!(r, Refusal::QuotaAtOnce { limit: 2, used: 2 });
        assert_eq!(r.key(), "counter.quota_at_once");
        let r = refusal(check(&good(), &h(1, 4, 9), &book(), &s));
        assert_eq!(r, Refusal::QuotaPerMonth { limit: 4, used: 4 });
        assert_eq!(r.key(), "counter.quota_per_month");
        let r = refusal(check(&good(), &h(1, 3, 11), &book(), &s));
        assert_eq!(
            r,
            Refusal::QuotaPerYear {
                limit: 10,
                used: 11
            }
        );
        assert_eq!(r.key(), "counter.quota_per_year");
        // Unset means no limit.
        assert!(
            check(
                &good(),
                &h(500, 500, 500),
                &book(),
                &CounterSettings::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn monthly_price_cap_at_and_past_the_limit() {
        let s = CounterSettings {
            price_cap_per_month: Some(Cents(5000)),
            ..CounterSettings::default()
        };
        let spent = |c| History {
            spent_this_month: Cents(c),
            ..History::default()
        };
        assert!(check(&good(), &spent(3600), &book(), &s).is_ok());
        let r = refusal(check(&good(), &spent(3601), &book(), &s));
        assert_eq!(
            r,
            Refusal::PriceCapPerMonth {
                limit: Cents(5000),
                spent: Cents(3601),
                price: Cents(1400)
            }
        );
        assert_eq!(r.key(), "counter.price_cap_per_month");
    }

    #[test]
    fn tiers_override_quotas_and_caps() {
        let s = CounterSettings {
            quota_at_once: Some(1),
            price_cap: Some(Cents(1000)),
            tier_field: Some("PC".into()),
            tiers: vec![Tier {
                name: "trusted".into(),
                values: vec!["ST".into()],
                quota_at_once: Some(3),
                price_cap: Some(Cents(2000)),
                ..Tier::default()
            }],
            ..CounterSettings::default()
        };
        let one_out = History {
            out_now: 1,
            ..History::default()
        };
        let plain = refusal(check(&good(), &one_out, &book(), &s));
        assert_eq!(plain.code(), "price_cap");
        let trusted = Standing {
            tier_value: Some("ST".into()),
            ..good()
        };
        let approval = check(&trusted, &one_out, &book(), &s).expect("tier allows it");
        assert_eq!(approval.tier.as_deref(), Some("trusted"));
        assert_eq!(approval.limits.quota_at_once, Some(3));
        let three_out = History {
            out_now: 3,
            ..History::default()
        };
        assert_eq!(
            refusal(check(&trusted, &three_out, &book(), &s)),
            Refusal::QuotaAtOnce { limit: 3, used: 3 }
        );
        // A tier with a quota of zero keeps its patrons from the counter.
        let mut closed = s.clone();
        closed.tiers[0].quota_at_once = Some(0);
        assert_eq!(
            refusal(check(&trusted, &History::default(), &book(), &closed)),
            Refusal::QuotaAtOnce { limit: 0, used: 0 }
        );
    }

    #[test]
    fn standing_from_a_patron_information_answer() {
        let mut r = PatronInformationResponse {
            overdue_items_count: Some(0),
            extra: vec![("PC".into(), " ST ".into())],
            ..PatronInformationResponse::default()
        };
        let s = Standing::from_patron_information(&r, Some("PC"));
        assert_eq!(
            s,
            Standing {
                tier_value: Some("ST".into()),
                ..good()
            }
        );

        r.patron_status.charge_privileges_denied = true;
        r.patron_status.card_reported_lost = true;
        r.valid_patron = Some(false);
        r.fee_amount = Some("12.50".into());
        r.overdue_items = vec!["3100".into(), "3101".into()];
        let s = Standing::from_patron_information(&r, None);
        assert_eq!(
            s.blocks,
            [
                Block::ChargePrivilegesDenied,
                Block::CardReportedLost,
                Block::NotValidPatron
            ]
        );
        assert_eq!(s.overdue_items, Some(2));
        assert_eq!(s.fines, Some(Cents(1250)));
        assert_eq!(s.tier_value, None);

        r.fee_amount = Some("-3.00".into());
        assert_eq!(
            Standing::from_patron_information(&r, None).fines,
            Some(Cents(0))
        );
        r.fee_amount = Some("12,50 EUR".into());
        assert_eq!(Standing::from_patron_information(&r, None).fines, None);
        let unknown = PatronInformationResponse::default();
        assert_eq!(
            Standing::from_patron_information(&unknown, None).overdue_items,
            None
        );
    }

    #[test]
    fn loans_out_now_across_the_site() {
        let own = IdRange::parse("3199000000000-3199000009999", IdCheckDigit::Luhn).expect("r");
        let other = IdRange::parse("3199100000000-3199100009999", IdCheckDigit::Luhn).expect("r");
        let a = own.id_of(own.start).expect("id");
        let b = other.id_of(other.start + 5).expect("id");
        let recent = own.id_of(own.start + 1).expect("id");
        let charged = vec![a.clone(), b.clone(), "31234000012345".into()];
        assert_eq!(
            History::out_now_from(&charged, &[own, other], &[a.clone(), recent]),
            3
        );
        assert_eq!(History::out_now_from(&charged, &[own], &[]), 1);
    }
}
