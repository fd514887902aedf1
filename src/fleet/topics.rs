//! The topic tree, built in one place from the prefix, the site and the terminal:
//!
//! ```text
//! {prefix}/{site}/{terminal}/state          retained: online | out-of-order | offline (last will)
//! {prefix}/{site}/{terminal}/info           retained JSON
//! {prefix}/{site}/{terminal}/health         retained JSON, on change
//! {prefix}/{site}/{terminal}/metrics        retained JSON, every interval, at a new day, and
//!                                           within 5 s of new events
//! {prefix}/{site}/{terminal}/event          JSON, QoS 1, one per circulation action
//! {prefix}/{site}/{terminal}/cmd/{name}     JSON commands to the kiosk
//! {prefix}/{site}/{terminal}/cmd/{name}/reply
//! ```

/// What a terminal publishes about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    State,
    Info,
    Health,
    Metrics,
    Event,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::State,
        Kind::Info,
        Kind::Health,
        Kind::Metrics,
        Kind::Event,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::State => "state",
            Kind::Info => "info",
            Kind::Health => "health",
            Kind::Metrics => "metrics",
            Kind::Event => "event",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The topics of one terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
}

impl Topics {
    /// `prefix`, `site` and `terminal` are validated settings (no wildcards, no '/').
    pub fn new(prefix: &str, site: &str, terminal: &str) -> Topics {
        Topics {
            base: format!("{prefix}/{site}/{terminal}"),
        }
    }

    pub fn of(&self, kind: Kind) -> String {
        format!("{}/{}", self.base, kind.as_str())
    }

    /// The filter the kiosk subscribes to for its commands.
    pub fn commands(&self) -> String {
        format!("{}/cmd/+", self.base)
    }

    pub fn command(&self, name: &str) -> String {
        format!("{}/cmd/{name}", self.base)
    }

    pub fn reply(&self, name: &str) -> String {
        format!("{}/cmd/{name}/reply", self.base)
    }

    /// The command's name when `topic` is one of this terminal's command topics.
    pub fn command_name<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic
            .strip_prefix(self.base.as_str())?
            .strip_prefix("/cmd/")
            .filter(|name| !name.is_empty() && !name.contains('/'))
    }
}

/// The filter for one kind of topic of every terminal, of one site or of all.
pub fn fleet_filter(prefix: &str, site: Option<&str>, kind: Kind) -> String {
    format!("{prefix}/{}/+/{}", site.unwrap_or("+"), kind.as_str())
}

/// Where a fleet topic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub site: String,
    pub terminal: String,
    pub kind: Kind,
}

/// Read `{prefix}/{site}/{terminal}/{kind}`; `None` for anything else.
pub fn parse(prefix: &str, topic: &str) -> Option<Origin> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut levels = rest.split('/');
    let (site, terminal, kind) = (levels.next()?, levels.next()?, levels.next()?);
    if levels.next().is_some() || site.is_empty() || terminal.is_empty() {
        return None;
    }
    Some(Origin {
        site: site.into(),
        terminal: terminal.into(),
        kind: Kind::parse(kind)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree() {
        let t = Topics::new("selfcheck/v1", "b7", "k3");
        assert_eq!(t.of(Kind::State), "selfcheck/v1/b7/k3/state");
        assert_eq!(t.of(Kind::Event), "selfcheck/v1/b7/k3/event");
        assert_eq!(t.commands(), "selfcheck/v1/b7/k3/cmd/+");
        assert_eq!(t.reply("sync"), "selfcheck/v1/b7/k3/cmd/sync/reply");
        assert_eq!(t.command_name("selfcheck/v1/b7/k3/cmd/sync"), Some("sync"));
        assert_eq!(t.command_name("selfcheck/v1/b7/k3/cmd/sync/reply"), None);
        assert_eq!(t.command_name("selfcheck/v1/b7/k30/cmd/sync"), None);
        assert_eq!(t.command_name("selfcheck/v1/b7/k3/cmd/"), None);
        assert_eq!(
            fleet_filter("selfcheck/v1", None, Kind::Health),
            "selfcheck/v1/+/+/health"
        );
        assert_eq!(
            fleet_filter("selfcheck/v1", Some("b7"), Kind::State),
            "selfcheck/v1/b7/+/state"
        );
    }

    #[test]
    fn parsing_topics() {
        let t = Topics::new("selfcheck/v1", "b7", "k3");
        for kind in Kind::ALL {
            assert_eq!(
                parse("selfcheck/v1", &t.of(kind)),
                Some(Origin {
                    site: "b7".into(),
                    terminal: "k3".into(),
                    kind
                })
            );
        }
        assert_eq!(parse("selfcheck/v1", "selfcheck/v1/b7/k3/cmd/sync"), None);
        assert_eq!(parse("selfcheck/v1", "selfcheck/v1/b7/k3/other"), None);
        assert_eq!(parse("selfcheck/v1", "selfcheck/v2/b7/k3/state"), None);
        assert_eq!(parse("selfcheck/v1", "selfcheck/v1//k3/state"), None);
        assert_eq!(parse("selfcheck/v1", "selfcheck/v1/b7/k3/state/x"), None);
    }
}
