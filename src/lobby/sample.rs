//! A plausible day of a fleet, as the lobby would receive it: retained state, info, health
//! and metrics of every terminal and the circulation events since opening. For the
//! screenshots and the benchmarks; deterministic, from a seed.

use chrono::{DateTime, Duration, Utc};

use crate::fleet::payload::{DayCounts, EventMessage, EventPayload, MediaKind, Metrics, Outcome};
use crate::fleet::topics::{Kind, Topics};
use crate::store::journal::Action;

/// Branch codes of the sample fleet.
pub const SITES: [&str; 5] = ["centrale", "porto", "parco", "stazione", "ragazzi"];

/// One message as the lobby's subscription receives it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: DateTime<Utc>,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// A small deterministic generator (xorshift): variety, not secrecy.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed | 1)
    }

    pub fn roll(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.roll() % n.max(1) as u64) as usize
    }
}

/// How busy each hour of an opening day is (09:00 to 19:00), relative.
const HOURLY: [u64; 24] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 9, 12, 10, 6, 7, 10, 13, 11, 7, 3, 0, 0, 0, 0,
];

/// The day's messages for `terminals` kiosks, from the opening to `now`, `events` loans,
/// returns and renewals spread over the opening hours as a library sees them. `local_hour_of`
/// tells the local hour of an instant (the screen's time zone).
pub fn day(
    prefix: &str,
    terminals: usize,
    events: usize,
    now: DateTime<Utc>,
    zone: crate::config::time_zone::Zone,
) -> Vec<Received> {
    use chrono::Timelike;
    let titles: Vec<&str> = crate::sip2::demo_ils::sample::ITEMS
        .iter()
        .map(|i| i.title)
        .collect();
    let mut dice = Dice::new(0x5eed_1ab5);
    let local_now = super::model::local_time(zone, now);
    let midnight = now - Duration::seconds(i64::from(local_now.num_seconds_from_midnight()));
    let day = local_now.date().to_string();
    let names: Vec<(Topics, String, String)> = (0..terminals)
        .map(|n| {
            let site = SITES[n % SITES.len()];
            let id = format!("{site}-k{}", n / SITES.len() + 1);
            let location = match n / SITES.len() {
                0 => "Ingresso".to_string(),
                1 => "Primo piano".to_string(),
                k => format!("Sala {k}"),
            };
            (Topics::new(prefix, site, &id), id, location)
        })
        .collect();
    let mut out = Vec::new();
    let mut counts = vec![DayCounts::default(); terminals];
    let retained = |out: &mut Vec<Received>, topic: String, payload: String| {
        out.push(Received {
            at: now - Duration::hours(12),
            topic,
            payload: payload.into_bytes(),
        })
    };
    for (n, (topics, id, location)) in names.iter().enumerate() {
        let state = match n % 23 {
            7 => "out-of-order",
            15 => "offline",
            _ => "online",
        };
        retained(&mut out, topics.of(Kind::State), state.into());
        retained(
            &mut out,
            topics.of(Kind::Info),
            serde_json::json!({
                "terminal": id, "site": SITES[n % SITES.len()], "version": env!("CARGO_PKG_VERSION"),
                "board": "rpi4-pn5180", "languages": ["it", "en", "zh_CN"], "location": location,
                "library_name": "Biblioteca civica", "simulated": true,
                "started_at": (now - Duration::hours(7)).to_rfc3339(),
            })
            .to_string(),
        );
        let queue = if state == "online" && n % 9 == 4 {
            3
        } else {
            0
        };
        retained(
            &mut out,
            topics.of(Kind::Health),
            serde_json::json!({
                "ils_online": queue == 0, "reader": "ok", "printer": "ok", "queue_depth": queue,
                "conflicts": 0, "clock_synced": true, "out_of_order_reason": null,
                "disk_free_bytes": 8_000_000_000u64, "uptime_secs": 25_200, "outbox_pending": 0,
                "outbox_dropped": 0, "time": now.to_rfc3339(),
            })
            .to_string(),
        );
    }
    // Spread the events over the opening hours up to now, by the day's profile.
    let open_hours: Vec<u32> = (0..24)
        .filter(|h| HOURLY[*h as usize] > 0 && *h <= local_now.hour())
        .collect();
    let weight: u64 = open_hours.iter().map(|h| HOURLY[*h as usize]).sum();
    let mut seq = 0u64;
    for hour in open_hours {
        let share = events as u64 * HOURLY[hour as usize] / weight.max(1);
        let hour_start = midnight + Duration::hours(i64::from(hour));
        let span = if hour == local_now.hour() {
            (now - hour_start).num_seconds().max(1)
        } else {
            3600
        };
        let mut times: Vec<i64> = (0..share)
            .map(|_| dice.below(span as usize) as i64)
            .collect();
        times.sort_unstable();
        for offset in times {
            let at = hour_start + Duration::seconds(offset);
            let n = dice.below(terminals.max(1));
            // A few titles are the day's favourites.
            let title = if dice.below(4) == 0 {
                titles[dice.below(4) * 5 % titles.len()]
            } else {
                titles[dice.below(titles.len())]
            };
            let action = match dice.below(100) {
                0..=54 => Action::Checkout,
                55..=91 => Action::Checkin,
                _ => Action::Renew,
            };
            let language = match dice.below(20) {
                0..=10 => "it",
                11..=15 => "en",
                _ => "zh_CN",
            };
            let offline = dice.below(40) == 0;
            let c = &mut counts[n];
            let tally = |t: &mut crate::fleet::payload::Tally| match action {
                Action::Checkout => t.loans += 1,
                Action::Checkin => t.returns += 1,
                Action::Renew => t.renewals += 1,
                // Not drawn above: deliveries are no circulation figure.
                Action::Deliver => {}
            };
            tally(&mut c.all);
            if offline {
                tally(&mut c.offline);
            }
            *c.by_language.entry(language.into()).or_default() += 1;
            *c.by_media_type.entry("book".into()).or_default() += 1;
            seq += 1;
            let message = EventMessage {
                id: format!("{}-{seq}", names[n].1),
                event: EventPayload {
                    action,
                    outcome: Outcome::Ok,
                    offline,
                    media_type: MediaKind::Book,
                    language: language.into(),
                    title: Some(title.into()),
                    time: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                },
            };
            out.push(Received {
                at: at + Duration::milliseconds(300),
                topic: names[n].0.of(Kind::Event),
                payload: serde_json::to_vec(&message).unwrap_or_default(),
            });
        }
    }
    for (n, (topics, _, _)) in names.iter().enumerate() {
        let metrics = Metrics {
            day: day.clone(),
            counts: counts[n].clone(),
            time: now.to_rfc3339(),
        };
        out.push(Received {
            at: now,
            topic: topics.of(Kind::Metrics),
            payload: serde_json::to_vec(&metrics).unwrap_or_default(),
        });
    }
    out
}

/// A lobby fed [`day`] up to `now`.
pub fn lobby(
    terminals: usize,
    events: usize,
    now: DateTime<Utc>,
    zone: crate::config::time_zone::Zone,
) -> super::model::Lobby {
    let prefix = crate::fleet::TelemetrySettings::default().topic_prefix;
    let mut lobby = super::model::Lobby::new(
        &prefix,
        None,
        zone,
        std::time::Duration::from_secs(300),
        now - Duration::hours(12),
    );
    lobby.set_connected(true);
    for m in day(&prefix, terminals, events, now, zone) {
        lobby.tick(m.at);
        let _ = lobby.ingest(&m.topic, &m.payload, m.at);
    }
    lobby.set_last_week(Some(crate::store::lobby::DayRecord {
        loans: (events as u64) * 48 / 100,
        returns: (events as u64) * 39 / 100,
        ..Default::default()
    }));
    lobby
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_day_adds_up() {
        let zone = crate::config::time_zone::Zone::Named(chrono_tz::Europe::Rome);
        let now: DateTime<Utc> = "2026-12-08T14:40:00Z".parse().expect("time");
        let mut lobby = lobby(12, 1200, now, zone);
        let f = lobby.figures(now);
        let events = f.loans + f.returns + f.renewals;
        assert!((1000..=1200).contains(&events), "{events}");
        assert_eq!(
            f.hours.iter().sum::<u64>(),
            f.loans,
            "every loan in its hour"
        );
        assert_eq!(f.hours[..9].iter().sum::<u64>(), 0, "closed before nine");
        assert_eq!(f.wall.len(), 12);
        assert!(!f.top_titles.is_empty() && f.ticker.len() == super::super::model::TICKER_LEN);
        assert_eq!(f.branches.len(), SITES.len());
    }
}
