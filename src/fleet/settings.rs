//! `[telemetry]`: where the kiosk publishes its state, health, metrics and circulation events,
//! and under which names. The terminal id doubles as the MQTT client id, so two kiosks left at
//! the default id get one derived from their machine id instead of knocking each other off the
//! broker.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Problem;

/// Where the embedded broker listens, and where `broker = "embedded"` connects.
pub const EMBEDDED_ADDR: &str = "127.0.0.1:1883";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    pub enabled: bool,
    /// `embedded` (the broker inside the kiosk, on loopback), `mqtt://HOST[:PORT]`,
    /// `mqtts://HOST[:PORT]`, or `HOST:PORT` (plain MQTT).
    pub broker: String,
    /// MQTT user name; empty: none is sent.
    pub user: String,
    pub password: String,
    /// PEM file of the CA that signed the broker's certificate (mqtts); the system roots when
    /// absent.
    pub ca_file: Option<PathBuf>,
    /// The branch's code: the second level of every topic.
    pub site: String,
    /// First levels of every topic; the version in it changes when the payloads do.
    pub topic_prefix: String,
    /// Circulation events kept while the broker cannot be reached; past it the oldest go.
    pub outbox_max: u32,
    /// Seconds between two publications of the day's figures.
    pub metrics_interval_secs: u32,
    /// MQTT keep-alive: a kiosk whose network silently died shows offline after about 1.5x it.
    pub keep_alive_secs: u32,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            broker: "embedded".into(),
            user: String::new(),
            password: String::new(),
            ca_file: None,
            site: "main".into(),
            topic_prefix: "selfcheck/v1".into(),
            outbox_max: 10_000,
            metrics_interval_secs: 60,
            keep_alive_secs: 30,
        }
    }
}

/// The broker a `broker` setting names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerAddr {
    /// The broker inside the kiosk (started by the kiosk, on [`EMBEDDED_ADDR`]).
    Embedded,
    Remote {
        host: String,
        port: u16,
        tls: bool,
    },
}

impl BrokerAddr {
    /// Read `embedded`, `mqtt://HOST[:PORT]`, `mqtts://HOST[:PORT]` or `HOST:PORT`.
    pub fn parse(value: &str) -> Result<BrokerAddr, String> {
        let value = value.trim();
        if value == "embedded" {
            return Ok(BrokerAddr::Embedded);
        }
        let (rest, tls, default_port) = if let Some(rest) = value.strip_prefix("mqtts://") {
            (rest, true, Some(8883))
        } else if let Some(rest) = value.strip_prefix("mqtt://") {
            (rest, false, Some(1883))
        } else if value.contains("://") {
            return Err(format!(
                "\"{value}\" is not embedded, mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
            ));
        } else {
            (value, false, None)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) || rest.contains(char::is_whitespace) {
            return Err(format!(
                "\"{value}\" must be HOST[:PORT] only (no path, user or spaces)"
            ));
        }
        let (host, port) = split_host_port(rest);
        let port = match (port, default_port) {
            (Some(p), _) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                format!("\"{p}\" is not a port number (1 to 65535) in \"{value}\"")
            })?,
            (None, Some(d)) => d,
            (None, None) => {
                return Err(format!(
                    "\"{value}\" is not embedded, mqtt://HOST[:PORT], mqtts://HOST[:PORT] or HOST:PORT"
                ));
            }
        };
        if host.is_empty() {
            return Err(format!("\"{value}\" has no host"));
        }
        Ok(BrokerAddr::Remote {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// Host and port to connect to.
    pub fn host_port(&self) -> (String, u16) {
        match self {
            BrokerAddr::Embedded => ("127.0.0.1".into(), 1883),
            BrokerAddr::Remote { host, port, .. } => (host.clone(), *port),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, BrokerAddr::Remote { tls: true, .. })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (rest, None),
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (text, None),
    }
}

impl TelemetrySettings {
    /// The broker named by `broker` (validated: see [`TelemetrySettings::problems`]).
    pub fn broker_addr(&self) -> Result<BrokerAddr, String> {
        BrokerAddr::parse(&self.broker)
    }

    /// The user name and password clients log in with, when a user is set.
    pub fn login(&self) -> Option<(&str, &str)> {
        (!self.user.is_empty()).then_some((self.user.as_str(), self.password.as_str()))
    }

    /// Every invalid value, named by its dotted key. `terminal_id` is checked too when
    /// telemetry is on: it is the MQTT client id and a topic level.
    pub fn problems(&self, terminal_id: &str, out: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        let broker = self.broker_addr();
        if let Err(message) = &broker {
            bad("telemetry.broker", message.clone());
        }
        if self.user.is_empty() && !self.password.is_empty() {
            bad(
                "telemetry.user",
                "missing: a password is given but no user".into(),
            );
        }
        if let Some(ca) = &self.ca_file {
            if !matches!(&broker, Ok(b) if b.is_tls()) {
                bad(
                    "telemetry.ca_file",
                    "is set but telemetry.broker is not an mqtts:// address".into(),
                );
            } else if !ca.is_file() {
                bad(
                    "telemetry.ca_file",
                    format!("{} does not exist or is not a file", ca.display()),
                );
            }
        }
        if let Err(message) = check_topic_level(&self.site) {
            bad("telemetry.site", message);
        }
        if self.topic_prefix.is_empty()
            || self
                .topic_prefix
                .split('/')
                .any(|level| check_topic_level(level).is_err())
        {
            bad(
                "telemetry.topic_prefix",
                format!(
                    "\"{}\" must be topic levels separated by '/', none empty, with no MQTT \
                     wildcards ('#', '+') or spaces",
                    self.topic_prefix
                ),
            );
        }
        if !(100..=1_000_000).contains(&self.outbox_max) {
            bad(
                "telemetry.outbox_max",
                format!(
                    "{} is out of range (100 to 1000000 events)",
                    self.outbox_max
                ),
            );
        }
        if !(5..=3600).contains(&self.metrics_interval_secs) {
            bad(
                "telemetry.metrics_interval_secs",
                format!(
                    "{} is out of range (5 to 3600 seconds)",
                    self.metrics_interval_secs
                ),
            );
        }
        if !(5..=600).contains(&self.keep_alive_secs) {
            bad(
                "telemetry.keep_alive_secs",
                format!(
                    "{} is out of range (5 to 600 seconds)",
                    self.keep_alive_secs
                ),
            );
        }
        if self.enabled
            && let Err(message) = check_topic_level(terminal_id)
        {
            bad(
                "terminal.id",
                format!("{message} (it is an MQTT topic level)"),
            );
        }
    }
}

/// One MQTT topic level we build: not empty, no wildcard, no separator, no spaces.
pub(crate) fn check_topic_level(level: &str) -> Result<(), String> {
    if level.is_empty() {
        return Err("must not be empty".into());
    }
    if level.contains(['/', '#', '+'])
        || level.contains(char::is_whitespace)
        || level.contains('\0')
    {
        return Err(format!(
            "\"{level}\" must not contain '/', '#', '+' or spaces"
        ));
    }
    Ok(())
}

/// The terminal id in the fleet: `terminal.id` as set, or, when a site left it at the default,
/// one derived from this machine's id (`/etc/machine-id`), so that every kiosk is its own MQTT
/// client. The machine id itself is never published (systemd asks applications to hash it).
pub fn terminal_id(configured: &str) -> String {
    if configured != crate::config::Terminal::default().id {
        return configured.to_string();
    }
    let machine_id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(Path::new(p)).ok());
    match machine_id.as_deref().and_then(derived_id) {
        Some(id) => id,
        None => {
            tracing::warn!(
                "terminal.id is the default \"{configured}\" and this machine has no machine id: \
                 set terminal.id so no two kiosks share an MQTT client id"
            );
            configured.to_string()
        }
    }
}

/// `kiosk-` and 10 hex digits of a hash of the machine id.
fn derived_id(machine_id: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let machine_id = machine_id.trim();
    if machine_id.is_empty() {
        return None;
    }
    let digest = Sha256::digest(format!("selfcheck terminal id\n{machine_id}").as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Some(format!("kiosk-{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_keys(t: &TelemetrySettings, terminal: &str) -> Vec<String> {
        let mut out = Vec::new();
        t.problems(terminal, &mut out);
        out.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn broker_forms() {
        let remote = |host: &str, port, tls| BrokerAddr::Remote {
            host: host.into(),
            port,
            tls,
        };
        assert_eq!(BrokerAddr::parse("embedded"), Ok(BrokerAddr::Embedded));
        assert_eq!(
            BrokerAddr::parse("mqtt://broker.lib"),
            Ok(remote("broker.lib", 1883, false))
        );
        assert_eq!(
            BrokerAddr::parse("mqtts://broker.lib"),
            Ok(remote("broker.lib", 8883, true))
        );
        assert_eq!(
            BrokerAddr::parse("mqtts://broker.lib:9883/"),
            Ok(remote("broker.lib", 9883, true))
        );
        assert_eq!(
            BrokerAddr::parse("broker.lib:1884"),
            Ok(remote("broker.lib", 1884, false))
        );
        assert_eq!(
            BrokerAddr::parse("mqtt://[::1]:1883"),
            Ok(remote("::1", 1883, false))
        );
        for bad in [
            "broker.lib",
            "http://broker.lib",
            "mqtt://",
            "mqtt://h:0",
            "mqtt://h:99999",
            "mqtt://u@h",
            "mqtt://h/x",
            "",
        ] {
            assert!(BrokerAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(problem_keys(&TelemetrySettings::default(), "kiosk-01").is_empty());
    }

    #[test]
    fn each_key_is_checked() {
        let t = TelemetrySettings {
            enabled: true,
            broker: "mqtt://h".into(),
            password: "x".into(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            site: "a/b".into(),
            topic_prefix: "selfcheck//v1".into(),
            outbox_max: 5,
            metrics_interval_secs: 1,
            keep_alive_secs: 1,
            ..TelemetrySettings::default()
        };
        assert_eq!(
            problem_keys(&t, "k+1"),
            [
                "telemetry.user",
                "telemetry.ca_file",
                "telemetry.site",
                "telemetry.topic_prefix",
                "telemetry.outbox_max",
                "telemetry.metrics_interval_secs",
                "telemetry.keep_alive_secs",
                "terminal.id",
            ]
        );
        let t = TelemetrySettings {
            broker: "mqtts://h".into(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TelemetrySettings::default()
        };
        let mut out = Vec::new();
        t.problems("k1", &mut out);
        assert!(out[0].message.contains("does not exist"), "{out:?}");
    }

    #[test]
    fn terminal_ids() {
        assert_eq!(terminal_id("branch7-k3"), "branch7-k3");
        let a = derived_id("0123456789abcdef0123456789abcdef\n").expect("id");
        let b = derived_id("fedcba9876543210fedcba9876543210").expect("id");
        assert_ne!(a, b);
        assert!(a.starts_with("kiosk-") && a.len() == 16, "{a}");
        assert!(
            !a.contains("0123456789"),
            "the machine id is not shown: {a}"
        );
        assert_eq!(derived_id("  "), None);
        let derived = terminal_id("kiosk-01");
        assert!(check_topic_level(&derived).is_ok(), "{derived}");
    }
}
