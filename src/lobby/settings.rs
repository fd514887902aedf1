//! `[lobby]`: what the lobby screen shows and in which language.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Problem;
use crate::kiosk::Language;

/// The shortest delay before a borrowed title may appear in the ticker: long enough that no
/// one can tie it to the person who just left the kiosk.
pub const TICKER_DELAY_MIN_SECS: u32 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LobbySettings {
    /// The branch to show (`telemetry.site` codes); absent: the whole fleet.
    pub site: Option<String>,
    /// `rotate` (every language of `terminal.languages` in turn) or one of `en`, `it`,
    /// `zh_CN`.
    pub language: String,
    /// Seconds each language stays on screen when rotating.
    pub rotate_secs: u32,
    /// Seconds a borrowed title waits before the ticker shows it (at least 300).
    pub ticker_delay_secs: u32,
}

impl Default for LobbySettings {
    fn default() -> Self {
        Self {
            site: None,
            language: "rotate".into(),
            rotate_secs: 20,
            ticker_delay_secs: TICKER_DELAY_MIN_SECS,
        }
    }
}

/// Which languages the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguagePlan {
    Fixed(Language),
    Rotate {
        languages: Vec<Language>,
        every: Duration,
    },
}

impl LanguagePlan {
    /// The language on screen `elapsed` after the start.
    pub fn at(&self, elapsed: Duration) -> Language {
        match self {
            LanguagePlan::Fixed(l) => *l,
            LanguagePlan::Rotate { languages, every } => {
                let turn = elapsed.as_secs() / every.as_secs().max(1);
                languages
                    .get((turn % languages.len().max(1) as u64) as usize)
                    .copied()
                    .unwrap_or(Language::English)
            }
        }
    }
}

impl LobbySettings {
    pub fn problems(&self, out: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        if let Some(site) = &self.site
            && let Err(message) = crate::fleet::settings::check_topic_level(site)
        {
            bad("lobby.site", message);
        }
        if self.language != "rotate" && Language::from_code(&self.language).is_none() {
            bad(
                "lobby.language",
                format!(
                    "\"{}\" is not rotate, en, it or zh_CN",
                    self.language.escape_debug()
                ),
            );
        }
        if !(5..=3600).contains(&self.rotate_secs) {
            bad(
                "lobby.rotate_secs",
                format!("{} is out of range (5 to 3600 seconds)", self.rotate_secs),
            );
        }
        if !(TICKER_DELAY_MIN_SECS..=86_400).contains(&self.ticker_delay_secs) {
            bad(
                "lobby.ticker_delay_secs",
                format!(
                    "{} is out of range ({TICKER_DELAY_MIN_SECS} to 86400 seconds): a title \
                     shown sooner could be tied to the person who just borrowed it",
                    self.ticker_delay_secs
                ),
            );
        }
    }

    /// The languages to show; `terminal_languages` are the site's (validated) languages.
    pub fn plan(&self, terminal_languages: &[String]) -> LanguagePlan {
        if let Some(l) = Language::from_code(&self.language) {
            return LanguagePlan::Fixed(l);
        }
        let mut languages: Vec<Language> = terminal_languages
            .iter()
            .filter_map(|c| Language::from_code(c))
            .collect();
        if languages.is_empty() {
            languages = Language::ALL.to_vec();
        }
        if languages.len() == 1 {
            return LanguagePlan::Fixed(languages[0]);
        }
        LanguagePlan::Rotate {
            languages,
            every: Duration::from_secs(u64::from(self.rotate_secs.max(1))),
        }
    }

    pub fn ticker_delay(&self) -> Duration {
        Duration::from_secs(u64::from(self.ticker_delay_secs.max(TICKER_DELAY_MIN_SECS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &LobbySettings) -> Vec<String> {
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        assert!(keys(&LobbySettings::default()).is_empty());
        let s = LobbySettings {
            site: Some("b/7".into()),
            language: "fr".into(),
            rotate_secs: 1,
            ticker_delay_secs: 10,
        };
        assert_eq!(
            keys(&s),
            [
                "lobby.site",
                "lobby.language",
                "lobby.rotate_secs",
                "lobby.ticker_delay_secs"
            ]
        );
    }

    #[test]
    fn languages_rotate_or_stay() {
        let s = LobbySettings::default();
        let plan = s.plan(&["it".into(), "zh_CN".into()]);
        assert_eq!(plan.at(Duration::from_secs(0)), Language::Italian);
        assert_eq!(plan.at(Duration::from_secs(19)), Language::Italian);
        assert_eq!(plan.at(Duration::from_secs(20)), Language::Chinese);
        assert_eq!(plan.at(Duration::from_secs(40)), Language::Italian);
        let fixed = LobbySettings {
            language: "zh_CN".into(),
            ..LobbySettings::default()
        };
        assert_eq!(
            fixed.plan(&["en".into(), "it".into()]),
            LanguagePlan::Fixed(Language::Chinese)
        );
        assert_eq!(
            s.plan(&["en".into()]),
            LanguagePlan::Fixed(Language::English)
        );
    }

    #[test]
    fn config_check_reads_the_section() {
        use crate::config::{ConfigError, Settings};
        let path = std::path::Path::new("lobby.toml");
        let s =
            Settings::parse("[lobby]\nsite = \"b7\"\nlanguage = \"it\"\n", path).expect("valid");
        assert_eq!(s.lobby.site.as_deref(), Some("b7"));
        assert_eq!(s.lobby.plan(&[]), LanguagePlan::Fixed(Language::Italian));
        match Settings::parse("[lobby]\nlanguage = \"fr\"\nticker_delay_secs = 60\n", path) {
            Err(ConfigError::Invalid { problems, .. }) => assert_eq!(
                problems.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
                ["lobby.language", "lobby.ticker_delay_secs"]
            ),
            other => panic!("expected problems, got {other:?}"),
        }
        assert!(matches!(
            Settings::parse("[lobby]\nspeed = 3\n", path),
            Err(ConfigError::Parse { .. })
        ));
    }
}
