//! The terminal's time zone (`terminal.time_zone`): which calendar day "today" is for the
//! daily statistics and the fleet's metrics. A kiosk's system clock is often left in UTC while
//! the library closes its day at local midnight, so the zone is a setting of its own.

use chrono::{DateTime, NaiveDate, Utc};

/// A validated time zone: the system's local zone, or an IANA zone by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Local,
    Named(chrono_tz::Tz),
}

impl Zone {
    /// The zone named by the setting: `None` (or empty) is the system's local zone.
    pub fn from_setting(name: Option<&str>) -> Result<Zone, String> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => Ok(Zone::Local),
            Some(name) => name.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
                format!("\"{name}\" is not an IANA time zone name (e.g. \"Europe/Rome\")")
            }),
        }
    }

    /// The calendar day in this zone at the instant `at`.
    pub fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        match self {
            Zone::Local => at.with_timezone(&chrono::Local).date_naive(),
            Zone::Named(tz) => at.with_timezone(tz).date_naive(),
        }
    }

    /// Today in this zone.
    pub fn today(&self) -> NaiveDate {
        self.day(Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(Zone::from_setting(None), Ok(Zone::Local));
        assert_eq!(Zone::from_setting(Some(" ")), Ok(Zone::Local));
        assert_eq!(
            Zone::from_setting(Some("Europe/Rome")),
            Ok(Zone::Named(chrono_tz::Europe::Rome))
        );
        let err = Zone::from_setting(Some("Mars/Olympus")).expect_err("unknown");
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn the_day_turns_at_local_midnight() {
        let rome = Zone::Named(chrono_tz::Europe::Rome);
        let shanghai = Zone::Named(chrono_tz::Asia::Shanghai);
        let at = "2026-03-10T23:30:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        assert_eq!(rome.day(at).to_string(), "2026-03-11");
        let at = "2026-03-10T15:59:59Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        assert_eq!(shanghai.day(at).to_string(), "2026-03-10");
        let at = "2026-03-10T16:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        assert_eq!(shanghai.day(at).to_string(), "2026-03-11");
    }
}
