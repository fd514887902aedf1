//! The only writer into the UI. The core (on the tokio thread) hands it screen models; it
//! queues them onto Slint's event loop. UI callbacks go the other way only as `try_send` on
//! the core's bounded event channel, so a busy core never freezes the screen.

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use tokio::sync::mpsc;

use super::{AppWindow, KioskAdapter, LanguageOption};
use crate::kiosk::{Activity, Event, Language, Screen, ScreenModel};

/// Cloneable, `Send`: the core keeps one to show screens.
#[derive(Clone)]
pub struct Bridge {
    window: slint::Weak<AppWindow>,
}

impl Bridge {
    pub fn new(window: &AppWindow) -> Bridge {
        Bridge {
            window: window.as_weak(),
        }
    }

    /// Show a screen model. Safe from any thread; a closed window is not an error.
    pub fn show(&self, model: ScreenModel) {
        let queued = self.window.upgrade_in_event_loop(move |window| {
            write_model(&window, &model);
        });
        if queued.is_err() {
            tracing::debug!("screen update dropped: the UI event loop has ended");
        }
    }
}

/// Write a screen model into the adapter (on the UI thread).
pub fn write_model(window: &AppWindow, model: &ScreenModel) {
    let adapter = window.global::<KioskAdapter>();
    super::select_language(model.language.code());
    let (screen, activity) = match &model.screen {
        Screen::Welcome => ("welcome", None),
        Screen::Identify { activity } => ("identify", Some(*activity)),
        // The views for the session screens come with the UI rework; until then they show
        // the identify view with their activity.
        Screen::Pin { activity, .. }
        | Screen::Checking { activity }
        | Screen::Summary { activity }
        | Screen::Refused { activity } => ("identify", Some(*activity)),
        Screen::Borrow => ("identify", Some(Activity::Borrow)),
        Screen::Return => ("identify", Some(Activity::Return)),
        Screen::Account => ("identify", Some(Activity::Account)),
        Screen::OutOfOrder { .. } => ("welcome", None),
    };
    adapter.set_screen(screen.into());
    if let Some(activity) = activity {
        adapter.set_activity(activity_name(activity).into());
    }
    adapter.set_online(model.online);
    let languages: Vec<LanguageOption> = model
        .languages
        .iter()
        .map(|l| LanguageOption {
            code: l.code().into(),
            name: l.native_name().into(),
            selected: *l == model.language,
        })
        .collect();
    adapter.set_languages(ModelRc::from(Rc::new(VecModel::from(languages))));
}

fn activity_name(a: Activity) -> &'static str {
    match a {
        Activity::Borrow => "borrow",
        Activity::Return => "return",
        Activity::Account => "account",
    }
}

fn activity_from(name: &str) -> Option<Activity> {
    match name {
        "borrow" => Some(Activity::Borrow),
        "return" => Some(Activity::Return),
        "account" => Some(Activity::Account),
        _ => None,
    }
}

/// Route the adapter's callbacks into the core's event channel.
pub fn connect(window: &AppWindow, events: mpsc::Sender<Event>) {
    let adapter = window.global::<KioskAdapter>();
    let send = move |event: Event| {
        if let Err(e) = events.try_send(event) {
            tracing::warn!("touch dropped, the kiosk core is busy: {e}");
        }
    };
    let s = send.clone();
    adapter.on_start(move |name: SharedString| {
        if let Some(activity) = activity_from(&name) {
            s(Event::Start(activity));
        }
    });
    let s = send.clone();
    adapter.on_cancel(move || s(Event::Cancel));
    let s = send.clone();
    adapter.on_choose_language(move |code: SharedString| {
        if let Some(language) = Language::from_code(&code) {
            s(Event::ChooseLanguage(language));
        }
    });
    adapter.on_touched(move || send(Event::Touch));
}
