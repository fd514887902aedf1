use std::time::Duration;

use super::*;

const MORNING: &str = include_str!("../testdata/morning.stream");

fn start() -> DateTime<Utc> {
    "2026-12-08T08:00:00Z".parse().expect("time")
}

fn at(secs: i64) -> DateTime<Utc> {
    start() + chrono::Duration::seconds(secs)
}

fn rome() -> Zone {
    Zone::Named(chrono_tz::Europe::Rome)
}

fn lobby(site: Option<&str>) -> Lobby {
    Lobby::new(
        "selfcheck/v1",
        site,
        rome(),
        Duration::from_secs(300),
        start(),
    )
}

/// Replay the recorded lines up to `until` seconds; the outcome of each message.
fn replay(lobby: &mut Lobby, until: i64) -> Vec<(i64, Result<(), Ignored>)> {
    let mut out = Vec::new();
    for line in MORNING.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        let secs: i64 = parts.next().and_then(|s| s.parse().ok()).expect("seconds");
        let topic = parts.next().expect("topic");
        let payload = parts.next().unwrap_or("");
        if secs > until {
            break;
        }
        lobby.tick(at(secs));
        out.push((secs, lobby.ingest(topic, payload.as_bytes(), at(secs))));
    }
    out
}

#[test]
fn the_morning_replays_into_the_screens_figures() {
    let mut l = lobby(None);
    l.set_connected(true);
    let outcomes = replay(&mut l, i64::MAX);
    let ignored: Vec<Ignored> = outcomes.iter().filter_map(|(_, o)| o.err()).collect();
    assert_eq!(
        ignored,
        [
            Ignored::OtherDay,  // b7-k2's metrics of yesterday
            Ignored::Topic,     // a command topic
            Ignored::Topic,     // another prefix
            Ignored::Duplicate, // b7-k1-101 again
            Ignored::OtherDay,  // a loan of yesterday, delivered late
            Ignored::Payload,   // cut JSON
            Ignored::Payload,   // "lost" is no state
        ]
    );
    let f = l.figures(at(3606));
    // The latest metrics of each terminal of today: b7-k1 (14, 5, 1) and c2-k1 (20, 5, 0).
    assert_eq!((f.loans, f.returns, f.renewals), (34, 10, 1));
    assert_eq!(f.day.to_string(), "2026-12-08");
    assert_eq!(f.last_week, None);
    assert_eq!(f.branches, [("c2".to_string(), 25), ("b7".to_string(), 20)]);
    let langs: Vec<(&str, u32)> = f
        .languages
        .iter()
        .map(|(l, s)| (l.as_str(), (s * 1000.0).round() as u32))
        .collect();
    assert_eq!(langs, [("zh_CN", 400), ("en", 311), ("it", 289)]);
    assert_eq!(f.offline_share.map(|s| (s * 45.0).round()), Some(4.0));
    // 09:00 to 10:00 in Rome: four loans (one copy dropped, a return and a refusal not
    // loans); 10:00: two.
    let mut hours = vec![0; 24];
    hours[9] = 4;
    hours[10] = 2;
    assert_eq!(f.hours, hours);
    assert_eq!(f.hour_now, 10);
    // Three loans of the same title (its spacing cleaned); two of the other are too few.
    assert_eq!(f.top_titles, [("Il nome della rosa".to_string(), 3)]);
    // Titles that came five minutes ago or more, the latest first; the one lent a few
    // seconds ago waits.
    assert_eq!(
        f.ticker,
        ["三体", "Il nome della rosa", "三体", "Il nome della rosa"]
    );
    assert_eq!(
        f.wall,
        [
            Tile {
                site: "b7".into(),
                name: "Ground floor".into(),
                state: TileState::Offline,
                queue_depth: 2
            },
            Tile {
                site: "b7".into(),
                name: "b7-k2".into(),
                state: TileState::OutOfOrder,
                queue_depth: 0
            },
            Tile {
                site: "c2".into(),
                name: "c2-k1".into(),
                state: TileState::Online,
                queue_depth: 0
            },
        ]
    );
    assert_eq!(f.wall_counts(), [1, 1, 1, 0]);
    assert_eq!(f.queued(), 2);
    assert!(f.connected);
    assert_eq!(f.as_of, Some(at(3606)));
}

#[test]
fn a_title_waits_five_minutes_and_never_names_the_kiosk() {
    let mut l = lobby(None);
    replay(&mut l, 90);
    assert!(l.figures(at(300)).ticker.is_empty(), "nothing is ripe yet");
    assert_eq!(l.figures(at(301)).ticker, ["Il nome della rosa"]);
    let f = l.figures(at(391));
    assert_eq!(f.ticker.len(), 4);
    for title in &f.ticker {
        assert!(
            !title.contains("b7") && !title.contains("c2") && !title.contains("Ground"),
            "{title}"
        );
    }
    // A delay under five minutes in the settings is five minutes.
    let mut hasty = Lobby::new(
        "selfcheck/v1",
        None,
        rome(),
        Duration::from_secs(10),
        start(),
    );
    assert_eq!(hasty.ticker_delay(), chrono::Duration::minutes(5));
    replay(&mut hasty, 1);
    assert!(hasty.figures(at(60)).ticker.is_empty());
}

#[test]
fn one_site_shows_only_its_own() {
    let mut l = lobby(Some("b7"));
    let outcomes = replay(&mut l, i64::MAX);
    assert!(outcomes.contains(&(0, Err(Ignored::OtherSite))));
    let f = l.figures(at(3606));
    assert_eq!((f.loans, f.returns, f.renewals), (14, 5, 1));
    assert_eq!(f.branches, [("b7".to_string(), 20)]);
    assert!(f.wall.iter().all(|t| t.site == "b7"));
    assert_eq!(f.ticker, ["Il nome della rosa", "Il nome della rosa"]);
}

#[test]
fn a_new_day_hands_over_the_old_one_and_starts_empty() {
    let mut l = lobby(None);
    replay(&mut l, i64::MAX);
    // 23:59:59 in Rome is still the same day.
    assert_eq!(l.tick("2026-12-08T22:59:59Z".parse().expect("t")), None);
    let (day, record) = l
        .tick("2026-12-08T23:00:00Z".parse().expect("t"))
        .expect("a new day");
    assert_eq!(day.to_string(), "2026-12-08");
    assert_eq!((record.loans, record.returns, record.renewals), (34, 10, 1));
    assert_eq!(record.hours[9], 4);
    assert_eq!(record.titles[0], ("Il nome della rosa".to_string(), 3));
    let f = l.figures("2026-12-08T23:00:01Z".parse().expect("t"));
    assert_eq!(f.day.to_string(), "2026-12-09");
    assert_eq!(
        (f.loans, f.returns),
        (0, 0),
        "yesterday's metrics no longer count"
    );
    assert!(f.hours.iter().all(|h| *h == 0));
    assert!(f.top_titles.is_empty() && f.ticker.is_empty());
    assert_eq!(f.wall.len(), 3, "the kiosks stay on the wall");

    // After a restart the day comes back: totals from the retained metrics, the chart and
    // the titles from the history, last week from the history too.
    let mut again = lobby(None);
    again.restore(&record);
    again.set_last_week(Some(DayRecord {
        loans: 30,
        returns: 12,
        ..DayRecord::default()
    }));
    replay(&mut again, 0);
    let f = again.figures(at(10));
    assert_eq!(
        (f.loans, f.returns),
        (30, 9),
        "the first metrics of the stream"
    );
    assert_eq!(f.hours[9], 4);
    assert_eq!(f.top_titles, [("Il nome della rosa".to_string(), 3)]);
    assert_eq!(f.last_week, Some((30, 12)));
    // A lost connection keeps the figures and tells since when.
    again.set_connected(false);
    let f = again.figures(at(20));
    assert!(!f.connected);
    assert_eq!(f.as_of, Some(at(0)));
    assert_eq!(f.loans, 30);
}

#[test]
fn outside_bytes_never_panic() {
    let mut l = lobby(None);
    let topics = [
        "selfcheck/v1/b7/k/state",
        "selfcheck/v1/b7/k/info",
        "selfcheck/v1/b7/k/health",
        "selfcheck/v1/b7/k/metrics",
        "selfcheck/v1/b7/k/event",
    ];
    let payloads: [&[u8]; 7] = [
        b"",
        b"\xff\xfe",
        b"{}",
        b"null",
        b"{\"day\":\"2026-13-45\"}",
        b"{\"id\":\"1\",\"action\":\"checkout\",\"outcome\":\"ok\",\"offline\":false,\"media_type\":\"book\",\"language\":\"en\",\"title\":\"x\",\"time\":\"not a time\"}",
        b"[1,2,3]",
    ];
    for topic in topics {
        for payload in payloads {
            let _ = l.ingest(topic, payload, at(1));
        }
    }
    let f = l.figures(at(2));
    assert_eq!(f.loans, 0);
    // An event without a readable time counts at the time it came.
    assert_eq!(f.hours[9], 1);
}
