//! Daily statistics of circulation: counts by action, outcome, offline or not, media type and
//! session language, in the `daily_stats (day, kind, count)` table. Nothing about the patron
//! or the item: the kiosk keeps no reading history.
//!
//! The kiosk calls [`record`] in the same store call as the journal's answer; the fleet
//! publishes [`day_counts`]. A key is stored as the kind `circulation/ACTION/OUTCOME/MODE/
//! MEDIA/LANGUAGE`, beside the simple kinds [`super::count_event`] writes.

use chrono::NaiveDate;

use super::StoreError;
use crate::fleet::payload::{DayCounts, EventPayload, MediaKind, Outcome, Tally};
use crate::store::journal::Action;

const PREFIX: &str = "circulation";

/// What one circulation action is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatKey {
    pub action: Action,
    pub outcome: Outcome,
    pub offline: bool,
    pub media_type: MediaKind,
    /// The session's language code (`en`, `it`, `zh_CN`).
    pub language: String,
}

impl StatKey {
    /// The key an event is counted under.
    pub fn of(event: &EventPayload) -> StatKey {
        StatKey {
            action: event.action,
            outcome: event.outcome,
            offline: event.offline,
            media_type: event.media_type,
            language: event.language.clone(),
        }
    }

    fn kind(&self) -> String {
        // A language code never holds '/', but one that did must not shift the fields.
        let language: String = self
            .language
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            .take(16)
            .collect();
        format!(
            "{PREFIX}/{}/{}/{}/{}/{}",
            self.action.as_str(),
            self.outcome.as_str(),
            if self.offline { "offline" } else { "online" },
            self.media_type.as_str(),
            if language.is_empty() {
                "unknown"
            } else {
                &language
            }
        )
    }

    fn parse(kind: &str) -> Option<StatKey> {
        let mut parts = kind.strip_prefix(PREFIX)?.strip_prefix('/')?.split('/');
        let key = StatKey {
            action: Action::parse(parts.next()?)?,
            outcome: Outcome::parse(parts.next()?)?,
            offline: match parts.next()? {
                "offline" => true,
                "online" => false,
                _ => return None,
            },
            media_type: MediaKind::parse(parts.next()?)?,
            language: parts.next()?.to_string(),
        };
        parts.next().is_none().then_some(key)
    }
}

/// Count one action on `day` (the terminal's calendar day: `terminal.time_zone`).
pub fn record(
    conn: &rusqlite::Connection,
    day: NaiveDate,
    key: &StatKey,
) -> Result<(), StoreError> {
    super::count_event(conn, &day.to_string(), &key.kind())
}

/// The day's totals, as the `metrics` payload carries them.
pub fn day_counts(conn: &rusqlite::Connection, day: NaiveDate) -> Result<DayCounts, StoreError> {
    let mut counts = DayCounts::default();
    for (kind, n) in super::day_counts(conn, &day.to_string())? {
        let Some(key) = StatKey::parse(&kind) else {
            continue;
        };
        let n = u64::try_from(n).unwrap_or(0);
        add(&mut counts.all, &key, n);
        if key.offline {
            add(&mut counts.offline, &key, n);
        }
        if key.outcome == Outcome::Ok {
            *counts
                .by_media_type
                .entry(key.media_type.as_str().to_string())
                .or_default() += n;
            *counts.by_language.entry(key.language).or_default() += n;
        }
    }
    Ok(counts)
}

fn add(tally: &mut Tally, key: &StatKey, n: u64) {
    let slot = match (key.outcome, key.action) {
        (Outcome::Refused, _) => &mut tally.refusals,
        (Outcome::Ok, Action::Checkout) => &mut tally.loans,
        (Outcome::Ok, Action::Checkin) => &mut tally.returns,
        (Outcome::Ok, Action::Renew) => &mut tally.renewals,
        // Deliveries are hold changes, not circulation: the tally has no place for them.
        (Outcome::Ok, Action::Deliver) => return,
    };
    *slot += n;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(
        action: Action,
        outcome: Outcome,
        offline: bool,
        media: MediaKind,
        lang: &str,
    ) -> StatKey {
        StatKey {
            action,
            outcome,
            offline,
            media_type: media,
            language: lang.into(),
        }
    }

    #[test]
    fn keys_read_back() {
        let k = key(
            Action::Renew,
            Outcome::Refused,
            true,
            MediaKind::BookWithCd,
            "zh_CN",
        );
        assert_eq!(
            k.kind(),
            "circulation/renew/refused/offline/book_with_cd/zh_CN"
        );
        assert_eq!(StatKey::parse(&k.kind()), Some(k));
        assert_eq!(StatKey::parse("checkout"), None);
        assert_eq!(
            StatKey::parse("circulation/renew/ok/online/book/it/x"),
            None
        );
        let odd = key(
            Action::Checkout,
            Outcome::Ok,
            false,
            MediaKind::Book,
            "a/b c",
        );
        assert_eq!(
            StatKey::parse(&odd.kind()).map(|k| k.language),
            Some("abc".into())
        );
    }

    #[test]
    fn a_day_adds_up() {
        let conn = crate::store::open_in_memory().expect("open");
        let day = NaiveDate::from_ymd_opt(2026, 3, 11).expect("day");
        let next = day.succ_opt().expect("next");
        let book_it = key(Action::Checkout, Outcome::Ok, false, MediaKind::Book, "it");
        for _ in 0..3 {
            record(&conn, day, &book_it).expect("record");
        }
        record(
            &conn,
            day,
            &key(Action::Checkout, Outcome::Ok, true, MediaKind::Cd, "en"),
        )
        .expect("r");
        record(
            &conn,
            day,
            &key(
                Action::Checkin,
                Outcome::Ok,
                false,
                MediaKind::Book,
                "zh_CN",
            ),
        )
        .expect("r");
        record(
            &conn,
            day,
            &key(Action::Renew, Outcome::Ok, true, MediaKind::Book, "it"),
        )
        .expect("r");
        record(
            &conn,
            day,
            &key(
                Action::Checkout,
                Outcome::Refused,
                true,
                MediaKind::Book,
                "it",
            ),
        )
        .expect("r");
        record(&conn, next, &book_it).expect("other day");
        super::super::count_event(&conn, &day.to_string(), "checkout").expect("plain kind");

        let counts = day_counts(&conn, day).expect("counts");
        assert_eq!(
            counts.all,
            Tally {
                loans: 4,
                returns: 1,
                renewals: 1,
                refusals: 1
            }
        );
        assert_eq!(
            counts.offline,
            Tally {
                loans: 1,
                returns: 0,
                renewals: 1,
                refusals: 1
            }
        );
        assert_eq!(counts.by_media_type.get("book"), Some(&5));
        assert_eq!(counts.by_media_type.get("cd"), Some(&1));
        assert_eq!(counts.by_language.get("it"), Some(&4));
        assert_eq!(counts.by_language.get("en"), Some(&1));
        assert_eq!(counts.by_language.get("zh_CN"), Some(&1));
        assert_eq!(day_counts(&conn, next).expect("next").all.loans, 1);
    }
}
