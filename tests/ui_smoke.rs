//! The window comes up on the welcome screen, found the way a patron (or a screen reader)
//! finds things: by accessible label. One test function per file: Slint's testing platform is
//! process-wide.
#![cfg(feature = "gui")]

use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use selfcheck::kiosk::{Activity, Event, Kiosk, KioskConfig, Language, Screen};
use selfcheck::ui::{AppWindow, bridge};

fn labelled(window: &AppWindow, label: &str) -> Vec<ElementHandle> {
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
}
