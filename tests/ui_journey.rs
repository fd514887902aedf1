//! A patron's whole visit through the real window and the real kiosk behind it: the kiosk
//! core, the demo library system over SIP2, the simulated pad and the journal, all started the
//! way `selfcheck run` starts them. The test touches the screen only by accessible labels:
//! welcome -> identify (card number on the keypad) -> PIN keypad -> pad with items put on from
//! the demo drawer -> summary -> goodbye -> welcome; then a second patron returns the books and
//! walks away, and the idle timeout takes the kiosk back to welcome with nothing of them left on
//! screen; a third borrows with the phone the demo drawer shows.
//! One test function per file: Slint's testing platform is process-wide.
#![cfg(feature = "gui")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementHandle;
use selfcheck::board::Board;
use selfcheck::config::Settings;
use selfcheck::kiosk::{Event, ItemState, Screen, ScreenModel};
use selfcheck::sip2::demo_ils::sample::demo_cards;
use selfcheck::ui::{
    AppWindow, DemoAdapter, KioskAdapter, PadAdapter, PinAdapter, bridge, demo_pad, install_helpers,
};
use slint::{ComponentHandle, Model};

type Models = Arc<Mutex<Vec<ScreenModel>>>;

fn labelled(window: &AppWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(window, label).collect()
}

fn press(window: &AppWindow, label: &str) {
    let found = labelled(window, label);
    assert!(
        !found.is_empty(),
        "nothing labelled {label:?} on {:?}",
        view(window)
    );
    found[0].invoke_accessible_default_action();
}

fn view(window: &AppWindow) -> String {
    window.global::<KioskAdapter>().get_screen().to_string()
}

fn type_digits(window: &AppWindow, digits: &str) {
    for d in digits.chars() {
        press(window, &d.to_string());
    }
}

/// Touch a row of the demo drawer. The drawer scrolls, and rows scrolled out of sight are not
/// found by label, so this goes through the row's callback, which is what its touch calls.
fn toggle(window: &AppWindow, label: &str) {
    let demo = window.global::<DemoAdapter>();
    let index = demo
        .get_tags()
        .iter()
        .position(|t| t.label == label)
        .unwrap_or_else(|| panic!("no demo tag {label:?}"));
    let on_pad = demo.get_tags().row_data(index).map(|t| t.on_pad);
    demo.invoke_toggle(index as i32);
    let now = demo.get_tags().row_data(index).map(|t| t.on_pad);
    assert_ne!(on_pad, now, "{label} moved");
}

/// Write the core's models into the window until one satisfies `until`. The deadline only
/// turns a hang into a failure; nothing here measures time.
fn pump(window: &AppWindow, models: &Models, what: &str, until: impl Fn(&ScreenModel) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    loop {
        // One model at a time: the ones after the match stay queued for the next step.
        let next = {
            let mut queue = models.lock().expect("models");
            (!queue.is_empty()).then(|| queue.remove(0))
        };
        if let Some(model) = next {
            bridge::write_model(window, &model);
            if until(&model) {
                return;
            }
            last = Some(model);
            continue;
        }
        assert!(
            Instant::now() < deadline,
            "waited in vain for {what}; the last screen: {last:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_patron_borrows_through_the_window_and_the_next_one_times_out() {
    i_slint_backend_testing::init_no_event_loop();
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("selfcheck=warn")
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings::default();
    let board = Board::load("sim").expect("sim board");
    let window = AppWindow::new().expect("window");
    install_helpers(&window);

    let models: Models = Arc::default();
    let sink = models.clone();
    let core = selfcheck::app::start_core(
        &settings,
        &board,
        dir.path(),
        move |m| sink.lock().expect("models").push(m),
        std::sync::Arc::new(|| {}),
    )
    .expect("core");
    bridge::write_model(&window, &core.first_model);
    bridge::connect(&window, core.events.clone());
    assert!(core.simulated);
    let phone = selfcheck::phone::demo::kiosk_settings(&settings);
    assert!(selfcheck::phone::demo::takes_demo_codes(&phone));
    demo_pad::connect(
        &window,
        core.pad.clone(),
        Some(demo_pad::DemoPhones {
            events: core.events.clone(),
            issuer: phone.issuer.clone(),
        }),
    );
    pump(&window, &models, "the link", |m| m.online);

    // Welcome -> identify.
    assert_eq!(view(&window), "welcome");
    press(&window, "Borrow");
    pump(&window, &models, "identify", |m| {
        matches!(m.screen, Screen::Identify { .. })
    });
    assert_eq!(labelled(&window, "Identify").len(), 1);

    // The card number on the keypad, then the PIN on the PIN keypad.
    let (card, name, pin) = demo_cards()
        .into_iter()
        .find(|(_, name, _)| name.contains("Giulia"))
        .expect("a demo patron");
    type_digits(&window, &card);
    press(&window, "OK");
    pump(&window, &models, "the PIN screen", |m| {
        matches!(m.screen, Screen::Pin { .. })
    });
    assert_eq!(view(&window), "pin");
    type_digits(&window, "9999");
    press(&window, "OK");
    pump(&window, &models, "a wrong PIN", |m| {
        matches!(m.screen, Screen::Pin { .. }) && m.notice.is_some()
    });
    assert_eq!(view(&window), "pin");
    let error = window.global::<PinAdapter>().get_error();
    assert!(error.starts_with("Wrong PIN"), "{error}");
    type_digits(&window, pin);
    press(&window, "OK");
    pump(&window, &models, "the pad", |m| m.screen == Screen::Borrow);
    assert_eq!(view(&window), "pad");
    assert_eq!(
        window.global::<PadAdapter>().get_patron_name().as_str(),
        name
    );

    // Two books on the pad from the demo drawer.
    press(&window, "Demo pad");
    toggle(&window, "I promessi sposi");
    toggle(&window, "Pride and Prejudice");
    pump(&window, &models, "both items lent", |m| {
        m.items.len() == 2 && m.items.iter().all(|i| i.state == ItemState::Done)
    });
    press(&window, "Close");
    let items = window.global::<PadAdapter>().get_items();
    assert_eq!(items.row_count(), 2);
    for row in items.iter() {
        assert!(!row.due.is_empty(), "{} shows its due date", row.title);
        assert_eq!(labelled(&window, &row.title).len(), 1, "{}", row.title);
    }

    // Done -> summary -> goodbye -> welcome.
    press(&window, "Done");
    pump(&window, &models, "the summary", |m| {
        matches!(m.screen, Screen::Summary { .. })
    });
    assert_eq!(labelled(&window, "Summary").len(), 1);
    assert_eq!(labelled(&window, "2 items borrowed").len(), 1);
    press(&window, "Finish");
    pump(&window, &models, "the end of the session", |m| {
        m.screen == Screen::Welcome
    });
    assert_eq!(view(&window), "goodbye");
    assert_eq!(labelled(&window, "Goodbye").len(), 1);
    assert!(bridge::shows_no_patron(&window), "the patron is forgotten");
    i_slint_backend_testing::mock_elapsed_time(bridge::GOODBYE + Duration::from_millis(100));
    assert_eq!(view(&window), "welcome");

    // The next patron returns both books, then walks away: the idle clock ends the session.
    // The books stay where they are on the pad, so nothing the kiosk reads from it later
    // counts as a touch.
    press(&window, "Return");
    pump(&window, &models, "return mode", |m| {
        m.screen == Screen::Return
    });
    pump(&window, &models, "both items returned", |m| {
        m.items.len() == 2 && m.items.iter().all(|i| i.state == ItemState::Done)
    });
    // The kiosk's own clock ticks too, so the jump lands at the start of the warning, leaving
    // the whole warning (seconds) for a slow machine to get through the next steps.
    let terminal = &settings.terminal;
    core.events.try_send(Event::Touch).expect("touch");
    core.events
        .try_send(Event::Idle(Duration::from_secs(u64::from(
            terminal.idle_timeout_secs - terminal.idle_warning_secs + 1,
        ))))
        .expect("tick");
    pump(&window, &models, "the idle warning", |m| {
        m.idle_warning.is_some()
    });
    assert!(window.global::<KioskAdapter>().get_idle_seconds_left() > 0);
    assert_eq!(labelled(&window, "Are you still there?").len(), 1);
    core.events
        .try_send(Event::Idle(Duration::from_secs(u64::from(
            terminal.idle_warning_secs,
        ))))
        .expect("tick");
    pump(&window, &models, "the timeout", |m| {
        m.screen == Screen::Welcome
    });
    assert_eq!(view(&window), "welcome", "no goodbye after a timeout");
    assert!(bridge::shows_no_patron(&window), "the patron is forgotten");
    assert_eq!(window.global::<KioskAdapter>().get_idle_seconds_left(), 0);

    // A third patron borrows with the phone: the drawer's phone shows the kiosk a fresh code
    // signed by the demo key, the kiosk checks it offline and asks no PIN.
    press(&window, "Demo pad");
    press(&window, &demo_pad::phone_label(name));
    pump(&window, &models, "the phone login", |m| {
        m.screen == Screen::Borrow || m.notice.is_some()
    });
    assert_eq!(view(&window), "pad");
    assert_eq!(
        window.global::<PadAdapter>().get_patron_name().as_str(),
        name
    );
    press(&window, "Close");
    core.events.try_send(Event::Cancel).expect("cancel");
    pump(&window, &models, "welcome", |m| m.screen == Screen::Welcome);

    // While staff mode is up, the patron side's models do not take the screen away.
    window
        .global::<KioskAdapter>()
        .set_screen("staff-pin".into());
    bridge::write_model(&window, &core.first_model);
    assert_eq!(view(&window), "staff-pin");
    core.shutdown();
}
