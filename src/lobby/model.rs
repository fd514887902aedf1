//! The lobby's view model: fed the fleet's MQTT messages one by one (topic, payload, the time
//! it came), it keeps the day's figures and tells what the screen shows. Pure: no broker, no
//! clock, no window, so a recorded stream replays into the same figures every time.
//!
//! Where each figure comes from:
//! - the day's loans, returns and renewals, the branches, the languages and the offline share:
//!   the retained `metrics` of each terminal (for today, in `terminal.time_zone`), so a lobby
//!   that starts or reconnects mid-day shows the full day at once;
//! - loans per hour, the most borrowed titles and the ticker: the `event`s, which are not
//!   retained; the runner keeps the hours and titles of the day in `lobby.db` so a restart
//!   does not empty the chart;
//! - the wall of kiosks: `state`, `info` (where the kiosk stands) and `health` (its queue).
//!
//! The ticker holds a borrowed title back until [`Lobby::ticker_delay`] after it reached the
//! lobby (never less than five minutes) and never says which kiosk lent it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::config::time_zone::Zone;
use crate::fleet::payload::{DayCounts, EventMessage, Metrics, Outcome, State};
use crate::fleet::topics::{self, Kind};
use crate::store::journal::Action;
use crate::store::lobby::{DayRecord, TITLES_KEPT};

/// A title is among the most borrowed only with at least this many loans today.
pub const TOP_MIN_LOANS: u64 = 3;
/// How many most borrowed titles the screen shows.
pub const TOP_TITLES: usize = 5;
/// How many titles the ticker shows at once.
pub const TICKER_LEN: usize = 6;
/// How many branches get a bar.
pub const BRANCHES: usize = 8;
/// Event ids remembered to drop a redelivered copy (QoS 1 may deliver one twice).
const SEEN_MAX: usize = 100_000;
/// Distinct titles counted in a day; past it new titles are not counted.
const TITLES_MAX: usize = 50_000;
/// Titles waiting for the ticker taken in any one second: at a busy hour most loans never
/// reach the ticker, and its memory stays small.
const PENDING_PER_SECOND: usize = 2;

/// Why a message changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not a terminal topic under the prefix.
    Topic,
    /// A terminal of another site than the one shown.
    OtherSite,
    /// A payload that does not read.
    Payload,
    /// An event already counted (a redelivered copy).
    Duplicate,
    /// An event or a count of another day.
    OtherDay,
}

/// A kiosk on the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TileState {
    Online,
    OutOfOrder,
    Offline,
    /// No `state` seen yet.
    #[default]
    Unknown,
}

impl TileState {
    pub fn as_str(self) -> &'static str {
        match self {
            TileState::Online => "online",
            TileState::OutOfOrder => "out-of-order",
            TileState::Offline => "offline",
            TileState::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Terminal {
    state: TileState,
    location: Option<String>,
    queue_depth: u64,
    metrics: Option<(NaiveDate, DayCounts)>,
}

/// What `info` tells the lobby (the rest is for other readers).
#[derive(Debug, Deserialize)]
struct InfoSeen {
    #[serde(default)]
    location: String,
}

/// What `health` tells the lobby.
#[derive(Debug, Deserialize)]
struct HealthSeen {
    #[serde(default)]
    queue_depth: u64,
}

/// One kiosk as the wall shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub site: String,
    /// Where it stands (its `info` location), or its terminal id.
    pub name: String,
    pub state: TileState,
    pub queue_depth: u64,
}

/// Everything the screen shows, at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub day: NaiveDate,
    pub loans: u64,
    pub returns: u64,
    pub renewals: u64,
    /// Loans and returns of the same weekday last week, when the lobby kept that day.
    pub last_week: Option<(u64, u64)>,
    /// Loans per local hour, 24 entries.
    pub hours: Vec<u64>,
    /// The local hour now (the chart marks it).
    pub hour_now: u32,
    /// Circulation (loans, returns, renewals) per site, the busiest first.
    pub branches: Vec<(String, u64)>,
    /// Share (0 to 1) of the day's actions by session language, the largest first.
    pub languages: Vec<(String, f32)>,
    /// Share (0 to 1) of the day's actions done while the library system was unreachable.
    pub offline_share: Option<f32>,
    /// Titles with at least [`TOP_MIN_LOANS`] loans today, the most borrowed first.
    pub top_titles: Vec<(String, u64)>,
    /// Titles borrowed at least the ticker delay ago, the latest first.
    pub ticker: Vec<String>,
    pub wall: Vec<Tile>,
    /// Whether the feed is connected to the broker now.
    pub connected: bool,
    /// When the last message came (the "figures as of" time when the broker is lost).
    pub as_of: Option<DateTime<Utc>>,
}

impl Figures {
    /// How many kiosks are in each state.
    pub fn wall_counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for t in &self.wall {
            counts[t.state as usize] += 1;
        }
        counts
    }

    /// Offline actions waiting at all kiosks.
    pub fn queued(&self) -> u64 {
        self.wall.iter().map(|t| t.queue_depth).sum()
    }
}

/// The lobby's day.
#[derive(Debug)]
pub struct Lobby {
    prefix: String,
    site: Option<String>,
    zone: Zone,
    ticker_delay: chrono::Duration,
    day: NaiveDate,
    terminals: BTreeMap<(String, String), Terminal>,
    hours: [u64; 24],
    titles: HashMap<String, u64>,
    /// Borrowed titles waiting for the ticker, by the time they came.
    pending: VecDeque<(DateTime<Utc>, String)>,
    /// Titles the ticker shows, the latest last.
    ticker: VecDeque<String>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    last_message: Option<DateTime<Utc>>,
    connected: bool,
    last_week: Option<DayRecord>,
}

impl Lobby {
    /// A lobby for the topics under `prefix`, of one site or (`None`) all; "today" and the
    /// hours in `zone`; the day is the one `now` falls on.
    pub fn new(
        prefix: &str,
        site: Option<&str>,
        zone: Zone,
        ticker_delay: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Lobby {
        Lobby {
            prefix: prefix.to_string(),
            site: site.map(str::to_string),
            zone,
            ticker_delay: chrono::Duration::from_std(ticker_delay)
                .unwrap_or(chrono::Duration::minutes(5))
                .max(chrono::Duration::minutes(5)),
            day: zone.day(now),
            terminals: BTreeMap::new(),
            hours: [0; 24],
            titles: HashMap::new(),
            pending: VecDeque::new(),
            ticker: VecDeque::new(),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            last_message: None,
            connected: false,
            last_week: None,
        }
    }

    /// The day the figures are for.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn ticker_delay(&self) -> chrono::Duration {
        self.ticker_delay
    }

    pub fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
    }

    /// The same weekday last week, as the lobby kept it.
    pub fn set_last_week(&mut self, record: Option<DayRecord>) {
        self.last_week = record;
    }

    /// Take back today's hours and titles kept before a restart.
    pub fn restore(&mut self, record: &DayRecord) {
        for (slot, n) in self.hours.iter_mut().zip(&record.hours) {
            *slot = (*slot).max(*n);
        }
        for (title, n) in &record.titles {
            let slot = self.titles.entry(title.clone()).or_default();
            *slot = (*slot).max(*n);
        }
    }

    /// Move on to a new day when `now` is past midnight (in the zone). Returns the day that
    /// ended and its record, for the history, when it did.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<(NaiveDate, DayRecord)> {
        self.mature(now);
        let today = self.zone.day(now);
        if today == self.day {
            return None;
        }
        let ended = (self.day, self.record());
        self.day = today;
        self.hours = [0; 24];
        self.titles.clear();
        self.pending.clear();
        self.ticker.clear();
        self.seen.clear();
        self.seen_order.clear();
        self.last_week = None;
        Some(ended)
    }

    /// Today so far, for the history.
    pub fn record(&self) -> DayRecord {
        let (loans, returns, renewals) = self.totals();
        let mut titles: Vec<(String, u64)> =
            self.titles.iter().map(|(t, n)| (t.clone(), *n)).collect();
        titles.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        titles.truncate(TITLES_KEPT);
        DayRecord {
            loans,
            returns,
            renewals,
            hours: self.hours.to_vec(),
            titles,
        }
    }

    /// Take one message of the fleet, as it came at `now`.
    pub fn ingest(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), Ignored> {
        let origin = topics::parse(&self.prefix, topic).ok_or(Ignored::Topic)?;
        if self.site.as_deref().is_some_and(|s| s != origin.site) {
            return Err(Ignored::OtherSite);
        }
        self.last_message = Some(now);
        let key = (origin.site, origin.terminal);
        match origin.kind {
            Kind::State => {
                let text = std::str::from_utf8(payload).map_err(|_| Ignored::Payload)?;
                let state = match State::parse(text).ok_or(Ignored::Payload)? {
                    State::Online => TileState::Online,
                    State::OutOfOrder => TileState::OutOfOrder,
                    State::Offline => TileState::Offline,
                };
                self.terminals.entry(key).or_default().state = state;
            }
            Kind::Info => {
                let info: InfoSeen =
                    serde_json::from_slice(payload).map_err(|_| Ignored::Payload)?;
                let location = clean(&info.location, 40);
                self.terminals.entry(key).or_default().location =
                    (!location.is_empty()).then_some(location);
            }
            Kind::Health => {
                let health: HealthSeen =
                    serde_json::from_slice(payload).map_err(|_| Ignored::Payload)?;
                self.terminals.entry(key).or_default().queue_depth = health.queue_depth;
            }
            Kind::Metrics => {
                let metrics: Metrics =
                    serde_json::from_slice(payload).map_err(|_| Ignored::Payload)?;
                let day = metrics
                    .day
                    .parse::<NaiveDate>()
                    .map_err(|_| Ignored::Payload)?;
                self.terminals.entry(key).or_default().metrics = Some((day, metrics.counts));
                if day != self.day {
                    return Err(Ignored::OtherDay);
                }
            }
            Kind::Event => {
                let message: EventMessage =
                    serde_json::from_slice(payload).map_err(|_| Ignored::Payload)?;
                self.event(message, now)?;
            }
        }
        Ok(())
    }

    fn event(&mut self, message: EventMessage, now: DateTime<Utc>) -> Result<(), Ignored> {
        let event = message.event;
        let at = DateTime::parse_from_rfc3339(&event.time)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        let local = local_time(self.zone, at);
        if local.date() != self.day {
            return Err(Ignored::OtherDay);
        }
        if !self.seen.insert(message.id.clone()) {
            return Err(Ignored::Duplicate);
        }
        self.seen_order.push_back(message.id);
        if self.seen_order.len() > SEEN_MAX
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        if event.action != Action::Checkout || event.outcome != Outcome::Ok {
            return Ok(());
        }
        use chrono::Timelike;
        self.hours[local.hour() as usize % 24] += 1;
        let Some(title) = event.title.as_deref().map(|t| clean(t, 120)) else {
            return Ok(());
        };
        if title.is_empty() {
            return Ok(());
        }
        if let Some(n) = self.titles.get_mut(&title) {
            *n += 1;
        } else if self.titles.len() < TITLES_MAX {
            self.titles.insert(title.clone(), 1);
        }
        let second = now.timestamp();
        let same_second = self
            .pending
            .iter()
            .rev()
            .take_while(|(t, _)| t.timestamp() == second)
            .count();
        if same_second < PENDING_PER_SECOND {
            self.pending.push_back((now, title));
        }
        Ok(())
    }

    /// Move the titles that waited long enough into the ticker.
    fn mature(&mut self, now: DateTime<Utc>) {
        let ripe = now - self.ticker_delay;
        while self.pending.front().is_some_and(|(t, _)| *t <= ripe) {
            if let Some((_, title)) = self.pending.pop_front() {
                self.ticker.push_back(title);
                if self.ticker.len() > TICKER_LEN {
                    self.ticker.pop_front();
                }
            }
        }
    }

    fn todays(&self) -> impl Iterator<Item = (&(String, String), &DayCounts)> {
        self.terminals
            .iter()
            .filter_map(move |(k, t)| match &t.metrics {
                Some((day, counts)) if *day == self.day => Some((k, counts)),
                _ => None,
            })
    }

    fn totals(&self) -> (u64, u64, u64) {
        self.todays().fold((0, 0, 0), |(l, r, n), (_, c)| {
            (l + c.all.loans, r + c.all.returns, n + c.all.renewals)
        })
    }

    /// What the screen shows at `now` (which also lets ripe titles into the ticker).
    pub fn figures(&mut self, now: DateTime<Utc>) -> Figures {
        use chrono::Timelike;
        self.mature(now);
        let (loans, returns, renewals) = self.totals();
        let mut branches: BTreeMap<&str, u64> = BTreeMap::new();
        let mut languages: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut done, mut offline) = (0u64, 0u64);
        for ((site, _), c) in self.todays() {
            let all = c.all.loans + c.all.returns + c.all.renewals;
            *branches.entry(site).or_default() += all;
            for (lang, n) in &c.by_language {
                *languages.entry(lang).or_default() += n;
            }
            done += all;
            offline += c.offline.loans + c.offline.returns + c.offline.renewals;
        }
        let mut branches: Vec<(String, u64)> = branches
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        branches.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        branches.truncate(BRANCHES);
        let spoken: u64 = languages.values().sum();
        let mut languages: Vec<(String, f32)> = languages
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| (l.to_string(), n as f32 / spoken as f32))
            .collect();
        languages.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut top_titles: Vec<(String, u64)> = self
            .titles
            .iter()
            .filter(|(_, n)| **n >= TOP_MIN_LOANS)
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        top_titles.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top_titles.truncate(TOP_TITLES);
        let wall = self
            .terminals
            .iter()
            .map(|((site, id), t)| Tile {
                site: site.clone(),
                name: t.location.clone().unwrap_or_else(|| id.clone()),
                state: t.state,
                queue_depth: t.queue_depth,
            })
            .collect();
        Figures {
            day: self.day,
            loans,
            returns,
            renewals,
            last_week: self.last_week.as_ref().map(|r| (r.loans, r.returns)),
            hours: self.hours.to_vec(),
            hour_now: local_time(self.zone, now).hour(),
            branches,
            languages,
            offline_share: (done > 0).then(|| offline as f32 / done as f32),
            top_titles,
            ticker: self.ticker.iter().rev().cloned().collect(),
            wall,
            connected: self.connected,
            as_of: self.last_message,
        }
    }
}

/// `at` on the zone's clock.
pub fn local_time(zone: Zone, at: DateTime<Utc>) -> NaiveDateTime {
    match zone {
        Zone::Local => at.with_timezone(&chrono::Local).naive_local(),
        Zone::Named(tz) => at.with_timezone(&tz).naive_local(),
    }
}

/// A text from the broker fit for the screen: one line, no control characters, at most
/// `max` characters.
fn clean(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests;
