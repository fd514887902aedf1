//! The window comes up on the welcome screen, found the way a patron (or a screen reader)
//! finds things: by accessible label. One test function per file: Slint's testing platform is
//! process-wide.
#![cfg(feature = "gui")]

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use selfcheck::kiosk::{Activity, Event, Kiosk, KioskConfig, Language, Screen};
use selfcheck::ui::{AppWindow, bridge};

fn labelled(window: &impl slint::ComponentHandle, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(window, label).collect()
}

#[test]
fn welcome_screen_by_label_and_touches_reach_the_core() {
    i_slint_backend_testing::init_no_event_loop();
    let window = AppWindow::new().expect("window");
    let mut kiosk = Kiosk::new(KioskConfig {
        languages: vec![Language::English, Language::Italian, Language::Chinese],
        idle_timeout: Duration::from_secs(60),
    });
    bridge::write_model(&window, &kiosk.model());
    let (events, mut rx) = tokio::sync::mpsc::channel(8);
    bridge::connect(&window, events);

    assert_eq!(labelled(&window, "Welcome").len(), 1, "welcome view");
    for label in [
        "Borrow",
        "Return",
        "My account",
        "English",
        "Italiano",
        "中文",
    ] {
        assert_eq!(labelled(&window, label).len(), 1, "{label}");
    }

    // A touch on Borrow reaches the core as an event...
    labelled(&window, "Borrow")[0].invoke_accessible_default_action();
    let event = rx.try_recv().expect("an event");
    assert_eq!(event, Event::Start(Activity::Borrow));
    // ...and the core's answer, written back, changes the screen.
    for effect in kiosk.handle(event) {
        let selfcheck::kiosk::Effect::Show(model) = effect else {
            continue;
        };
        assert_eq!(
            model.screen,
            Screen::Identify {
                activity: Activity::Borrow
            }
        );
        bridge::write_model(&window, &model);
    }
    assert!(labelled(&window, "Welcome").is_empty());
    assert_eq!(labelled(&window, "Identify").len(), 1);

    // The language buttons switch every label to Italian.
    labelled(&window, "Italiano")[0].invoke_accessible_default_action();
    let event = rx.try_recv().expect("language event");
    assert_eq!(event, Event::ChooseLanguage(Language::Italian));
    for effect in kiosk.handle(event) {
        let selfcheck::kiosk::Effect::Show(model) = effect else {
            continue;
        };
        bridge::write_model(&window, &model);
    }
    assert_eq!(labelled(&window, "Annulla").len(), 1, "Cancel in Italian");
    assert_eq!(labelled(&window, "Identificazione").len(), 1);
    let italiano = &labelled(&window, "Italiano")[0];
    assert_eq!(italiano.accessible_checked(), Some(true));

    // Cancel ends the session: welcome again, back in the default language.
    labelled(&window, "Annulla")[0].invoke_accessible_default_action();
    let event = rx.try_recv().expect("cancel event");
    assert_eq!(event, Event::Cancel);
    for effect in kiosk.handle(event) {
        let selfcheck::kiosk::Effect::Show(model) = effect else {
            continue;
        };
        bridge::write_model(&window, &model);
    }
    assert_eq!(labelled(&window, "Borrow").len(), 1);

    lobby_screen_by_label_in_three_languages();
}

/// The lobby screen over a recorded morning of two branches: its figures found by accessible
/// label, in English, Italian and Chinese, live and after the broker is lost.
fn lobby_screen_by_label_in_three_languages() {
    use chrono::{DateTime, Utc};
    use selfcheck::config::time_zone::Zone;
    use selfcheck::lobby::Lobby;
    use selfcheck::ui::{LobbyWindow, lobby, select_language};

    const MORNING: &str = include_str!("../src/lobby/testdata/morning.stream");
    let start: DateTime<Utc> = "2026-12-08T08:00:00Z".parse().expect("time");
    let zone = Zone::Named(chrono_tz::Europe::Rome);
    let mut model = Lobby::new("selfcheck/v1", None, zone, Duration::from_secs(300), start);
    model.set_connected(true);
    let mut last = start;
    for line in MORNING
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut parts = line.splitn(3, ' ');
        let secs: i64 = parts.next().and_then(|s| s.parse().ok()).expect("seconds");
        let (topic, payload) = (parts.next().expect("topic"), parts.next().unwrap_or(""));
        last = start + chrono::Duration::seconds(secs);
        let _ = model.ingest(topic, payload.as_bytes(), last);
    }
    let window = LobbyWindow::new().expect("lobby window");
    let cases = [
        (
            Language::English,
            [
                "Loans today: 34",
                "Returns today: 10",
                "Ground floor: offline queue 2",
                "Live",
            ],
            "1 online · 1 out of order · 1 offline · 2 queued",
            "Just borrowed: 三体  ·  Il nome della rosa  ·  三体  ·  Il nome della rosa",
            "Figures as of 10:00",
        ),
        (
            Language::Italian,
            [
                "Prestiti oggi: 34",
                "Restituzioni oggi: 10",
                "Ground floor: offline in coda 2",
                "In diretta",
            ],
            "1 online · 1 fuori servizio · 1 offline · 2 in coda",
            "Appena presi in prestito: 三体  ·  Il nome della rosa  ·  三体  ·  Il nome della rosa",
            "Dati delle 10:00",
        ),
        (
            Language::Chinese,
            [
                "今日借出: 34",
                "今日归还: 10",
                "Ground floor: 离线 排队 2",
                "实时",
            ],
            "1 台在线 · 1 台暂停服务 · 1 台离线 · 2 条排队",
            "刚刚借出: 三体  ·  Il nome della rosa  ·  三体  ·  Il nome della rosa",
            "数据截至 10:00",
        ),
    ];
    for (language, labels, wall, ticker, as_of) in cases {
        select_language(language.code());
        model.set_connected(true);
        let figures = model.figures(last);
        lobby::show(&window, &figures, "Biblioteca", zone, language, last);
        for label in labels.iter().chain([&wall, &ticker]) {
            assert!(
                !labelled(&window, label).is_empty(),
                "{}: {label}",
                language.code()
            );
        }
        for label in [
            "Il nome della rosa: 3",
            "c2: 25",
            "b7: 20",
            "9: 4",
            "10: 2",
            "中文: 40%",
        ] {
            assert!(!labelled(&window, label).is_empty(), "{label}");
        }
        // Two loans of a title are not enough for the most borrowed.
        assert!(labelled(&window, "三体: 2").is_empty());
        // The broker lost: the same figures, and since when.
        model.set_connected(false);
        let figures = model.figures(last + chrono::Duration::minutes(3));
        lobby::show(&window, &figures, "Biblioteca", zone, language, last);
        assert!(!labelled(&window, as_of).is_empty(), "{as_of}");
        assert!(!labelled(&window, labels[0]).is_empty());
    }
    select_language("en");
}
