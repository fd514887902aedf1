//! The kiosk core: the patron session as a pure state machine. Events come in (a touch, a
//! tag, a barcode, the clock, the link), effects come out (what the screen shows, what to ask
//! the ILS); nothing here does I/O, so every path is tested without threads or hardware.

use std::time::Duration;

use serde::Serialize;

/// A language the screens are offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "it")]
    Italian,
    #[serde(rename = "zh_CN")]
    Chinese,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::English, Language::Italian, Language::Chinese];

    /// The gettext / settings code (`en`, `it`, `zh_CN`).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Italian => "it",
            Language::Chinese => "zh_CN",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's own name, as shown on its button.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Italian => "Italiano",
            Language::Chinese => "中文",
        }
    }
}

/// Which screen is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    /// Attract screen: borrow, return, account, language.
    Welcome,
    /// Waiting for a patron card (tag or barcode) for the chosen activity.
    Identify { activity: Activity },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Borrow,
    Return,
    Account,
}

/// Everything the screen shows; the UI renders it and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenModel {
    #[serde(flatten)]
    pub screen: Screen,
    pub language: Language,
    pub languages: Vec<Language>,
    pub online: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The patron pressed one of the welcome screen's activities.
    Start(Activity),
    Cancel,
    ChooseLanguage(Language),
    LinkChanged {
        online: bool,
    },
    /// Time passed with nothing happening (from the UI's timer or the headless clock).
    Idle(Duration),
    /// Any touch: restarts the idle clock.
    Touch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Show(ScreenModel),
}

/// Settings the core needs, copied out of [`crate::config::Settings`].
#[derive(Debug, Clone, PartialEq)]
pub struct KioskConfig {
    pub languages: Vec<Language>,
    pub idle_timeout: Duration,
}

impl KioskConfig {
    pub fn from_settings(s: &crate::config::Settings) -> KioskConfig {
        let mut languages: Vec<Language> = s
            .terminal
            .languages
            .iter()
            .filter_map(|c| Language::from_code(c))
            .collect();
        if languages.is_empty() {
            languages.push(Language::English);
        }
        KioskConfig {
            languages,
            idle_timeout: Duration::from_secs(u64::from(s.terminal.idle_timeout_secs)),
        }
    }
}

pub struct Kiosk {
    config: KioskConfig,
    screen: Screen,
    language: Language,
    online: bool,
    idle: Duration,
}

impl Kiosk {
    pub fn new(config: KioskConfig) -> Kiosk {
        let language = config
            .languages
            .first()
            .copied()
            .unwrap_or(Language::English);
        Kiosk {
            config,
            screen: Screen::Welcome,
            language,
            online: false,
            idle: Duration::ZERO,
        }
    }

    pub fn model(&self) -> ScreenModel {
        ScreenModel {
            screen: self.screen.clone(),
            language: self.language,
            languages: self.config.languages.clone(),
            online: self.online,
        }
    }

    /// Feed one event; returns what must happen as a result.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let before = self.model();
        match event {
            Event::Start(activity) => {
                self.idle = Duration::ZERO;
                if self.screen == Screen::Welcome {
                    self.screen = Screen::Identify { activity };
                }
            }
            Event::Cancel => self.end_session(),
            Event::ChooseLanguage(language) => {
                self.idle = Duration::ZERO;
                if self.config.languages.contains(&language) {
                    self.language = language;
                }
            }
            Event::LinkChanged { online } => self.online = online,
            Event::Touch => self.idle = Duration::ZERO,
            Event::Idle(elapsed) => {
                self.idle = self.idle.saturating_add(elapsed);
                if self.screen != Screen::Welcome && self.idle >= self.config.idle_timeout {
                    self.end_session();
                }
            }
        }
        let after = self.model();
        if after == before {
            Vec::new()
        } else {
            vec![Effect::Show(after)]
        }
    }

    /// Back to the welcome screen in the default language: the next patron starts afresh.
    fn end_session(&mut self) {
        self.screen = Screen::Welcome;
        self.language = self
            .config
            .languages
            .first()
            .copied()
            .unwrap_or(Language::English);
        self.idle = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk() -> Kiosk {
        Kiosk::new(KioskConfig {
            languages: vec![Language::Italian, Language::English, Language::Chinese],
            idle_timeout: Duration::from_secs(60),
        })
    }

    fn shown(effects: Vec<Effect>) -> ScreenModel {
        match effects.as_slice() {
            [Effect::Show(m)] => m.clone(),
            other => panic!("expected one Show, got {other:?}"),
        }
    }

    #[test]
    fn starts_on_welcome_in_the_first_language() {
        let k = kiosk();
        assert_eq!(k.model().screen, Screen::Welcome);
        assert_eq!(k.model().language, Language::Italian);
    }

    #[test]
    fn activity_then_cancel() {
        let mut k = kiosk();
        let m = shown(k.handle(Event::Start(Activity::Borrow)));
        assert_eq!(
            m.screen,
            Screen::Identify {
                activity: Activity::Borrow
            }
        );
        let m = shown(k.handle(Event::Cancel));
        assert_eq!(m.screen, Screen::Welcome);
    }

    #[test]
    fn language_switch_and_reset_at_session_end() {
        let mut k = kiosk();
        assert_eq!(
            shown(k.handle(Event::ChooseLanguage(Language::Chinese))).language,
            Language::Chinese
        );
        k.handle(Event::Start(Activity::Return));
        let m = shown(k.handle(Event::Cancel));
        assert_eq!(m.language, Language::Italian);
    }

    #[test]
    fn language_not_offered_is_ignored() {
        let mut k = Kiosk::new(KioskConfig {
            languages: vec![Language::English],
            idle_timeout: Duration::from_secs(60),
        });
        assert!(
            k.handle(Event::ChooseLanguage(Language::Chinese))
                .is_empty()
        );
        assert_eq!(k.model().language, Language::English);
    }

    #[test]
    fn idle_timeout_returns_to_welcome() {
        let mut k = kiosk();
        k.handle(Event::ChooseLanguage(Language::English));
        k.handle(Event::Start(Activity::Account));
        assert!(k.handle(Event::Idle(Duration::from_secs(59))).is_empty());
        let m = shown(k.handle(Event::Idle(Duration::from_secs(1))));
        assert_eq!(m.screen, Screen::Welcome);
        assert_eq!(m.language, Language::Italian);
    }

    #[test]
    fn a_touch_restarts_the_idle_clock() {
        let mut k = kiosk();
        k.handle(Event::Start(Activity::Borrow));
        k.handle(Event::Idle(Duration::from_secs(50)));
        k.handle(Event::Touch);
        assert!(k.handle(Event::Idle(Duration::from_secs(50))).is_empty());
        assert_eq!(
            k.model().screen,
            Screen::Identify {
                activity: Activity::Borrow
            }
        );
    }

    #[test]
    fn link_state_is_shown() {
        let mut k = kiosk();
        assert!(shown(k.handle(Event::LinkChanged { online: true })).online);
        assert!(k.handle(Event::LinkChanged { online: true }).is_empty());
    }

    #[test]
    fn languages_from_settings() {
        let mut s = crate::config::Settings::default();
        s.terminal.languages = vec!["zh_CN".into(), "en".into()];
        let c = KioskConfig::from_settings(&s);
        assert_eq!(c.languages, [Language::Chinese, Language::English]);
    }
}
