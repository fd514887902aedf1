//! Commands from the fleet: `{prefix}/{site}/{terminal}/cmd/{name}` with a JSON body (or none),
//! read sans-IO. Who may send them is the broker's ACL; the kiosk refuses what does not read
//! and never acts on a retained command (it would run again at every reconnect).

use serde::Deserialize;
use tokio::sync::oneshot;

/// The longest command body read; anything longer is refused unread.
pub const MAX_BODY: usize = 64 * 1024;

/// A command the kiosk's runtime carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetCommand {
    /// Send the offline queue to the library system now.
    Sync,
    /// Put the kiosk out of order with this reason on its screen.
    OutOfOrder { reason: String },
    /// Back into service (after `out-of-order`).
    InService,
    /// Restart the kiosk (as staff mode's Restart does).
    Restart,
}

impl FleetCommand {
    pub fn name(&self) -> &'static str {
        match self {
            FleetCommand::Sync => "sync",
            FleetCommand::OutOfOrder { .. } => "out-of-order",
            FleetCommand::InService => "in-service",
            FleetCommand::Restart => "restart",
        }
    }
}

/// What a command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Runtime(FleetCommand),
    /// A TOML fragment of settings to validate and save, applied at the next restart.
    Settings {
        toml: String,
    },
}

/// A command as received: its `id` (echoed in the reply) and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: Option<String>,
    pub command: Command,
}

/// Why a command was refused unread: the reply says it, with the request's id when it had one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub id: Option<String>,
    pub message: String,
}

/// The names the kiosk obeys.
pub const NAMES: &[&str] = &["sync", "out-of-order", "in-service", "restart", "settings"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    id: Option<serde_json::Value>,
    reason: Option<String>,
    toml: Option<String>,
}

/// Read the command `name` with `body` (JSON object, or empty for a command without
/// arguments).
pub fn parse(name: &str, body: &[u8]) -> Result<Request, CommandError> {
    let refuse = |id: Option<String>, message: String| CommandError { id, message };
    if body.len() > MAX_BODY {
        return Err(refuse(
            None,
            format!("the body is {} bytes, more than {MAX_BODY}", body.len()),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| refuse(None, "the body is not UTF-8".into()))?
        .trim();
    let parsed = if text.is_empty() {
        Body {
            id: None,
            reason: None,
            toml: None,
        }
    } else {
        // The id first, so that even a body with a wrong field is answered with it.
        let id = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("id").and_then(id_text));
        serde_json::from_str::<Body>(text).map_err(|e| {
            refuse(
                id,
                format!("the body is not a JSON object this command reads: {e}"),
            )
        })?
    };
    let id = match &parsed.id {
        None => None,
        Some(v) => Some(id_text(v).ok_or_else(|| {
            refuse(
                None,
                "\"id\" must be a string or a number of at most 64 characters".into(),
            )
        })?),
    };
    let no_args = |parsed: &Body| parsed.reason.is_none() && parsed.toml.is_none();
    let command = match name {
        "sync" | "in-service" | "restart" if !no_args(&parsed) => {
            return Err(refuse(id, format!("\"{name}\" takes no arguments")));
        }
        "sync" => Command::Runtime(FleetCommand::Sync),
        "in-service" => Command::Runtime(FleetCommand::InService),
        "restart" => Command::Runtime(FleetCommand::Restart),
        "out-of-order" => {
            if parsed.toml.is_some() {
                return Err(refuse(id, "\"out-of-order\" takes only a reason".into()));
            }
            let reason = parsed
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("out of order (fleet command)");
            Command::Runtime(FleetCommand::OutOfOrder {
                reason: reason.chars().take(200).collect(),
            })
        }
        "settings" => match (parsed.toml, parsed.reason) {
            (Some(toml), None) => Command::Settings { toml },
            _ => {
                return Err(refuse(
                    id,
                    "\"settings\" takes {\"toml\": \"...\"} and nothing else".into(),
                ));
            }
        },
        other => {
            return Err(refuse(
                id,
                format!(
                    "unknown command \"{}\" (known: {})",
                    other.chars().take(64).collect::<String>(),
                    NAMES.join(", ")
                ),
            ));
        }
    };
    Ok(Request { id, command })
}

fn id_text(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (text.chars().count() <= 64).then_some(text)
}

/// A command handed to the runtime, and where its answer goes: `Ok(message)` when done,
/// `Err(reason)` when refused. Dropping `reply` answers "the kiosk did not answer".
#[derive(Debug)]
pub struct CommandRequest {
    pub command: FleetCommand,
    pub reply: oneshot::Sender<Result<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(name: &str, body: &str) -> Request {
        parse(name, body.as_bytes()).expect(name)
    }

    fn err(name: &str, body: &str) -> CommandError {
        parse(name, body.as_bytes()).expect_err(name)
    }

    #[test]
    fn every_command_reads() {
        assert_eq!(
            ok("sync", ""),
            Request {
                id: None,
                command: Command::Runtime(FleetCommand::Sync)
            }
        );
        assert_eq!(ok("restart", "{\"id\": 7}").id.as_deref(), Some("7"));
        assert_eq!(
            ok("in-service", "{\"id\": \"a1\"}").command,
            Command::Runtime(FleetCommand::InService)
        );
        assert_eq!(
            ok("out-of-order", "{\"reason\": \" printer jam \"}").command,
            Command::Runtime(FleetCommand::OutOfOrder {
                reason: "printer jam".into()
            })
        );
        assert!(matches!(
            ok("out-of-order", "").command,
            Command::Runtime(FleetCommand::OutOfOrder { .. })
        ));
        assert_eq!(
            ok("settings", "{\"toml\": \"[terminal]\\nid = \\\"k\\\"\"}").command,
            Command::Settings {
                toml: "[terminal]\nid = \"k\"".into()
            }
        );
    }

    #[test]
    fn what_does_not_read_is_refused_with_the_id() {
        assert!(err("reboot", "").message.contains("unknown command"));
        assert!(err("sync", "{").message.contains("not a JSON object"));
        assert!(err("sync", "[1]").message.contains("not a JSON object"));
        let e = err("sync", "{\"id\": \"x9\", \"force\": true}");
        assert_eq!(e.id.as_deref(), Some("x9"));
        assert_eq!(
            err("sync", "{\"reason\": \"r\"}").message,
            "\"sync\" takes no arguments"
        );
        assert!(err("settings", "{}").message.contains("toml"));
        assert!(err("sync", "{\"id\": [1]}").message.contains("\"id\""));
        assert!(
            err("sync", &format!("{{\"id\": \"{}\"}}", "x".repeat(65)))
                .message
                .contains("\"id\"")
        );
        assert!(parse("sync", &[0xff, 0xfe]).is_err());
        assert!(parse("settings", &vec![b' '; MAX_BODY + 1]).is_err());
    }

    proptest! {
        #[test]
        fn junk_never_panics(name in "\\PC{0,20}", body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&name, &body);
        }

        #[test]
        fn json_junk_never_panics(name in prop::sample::select(NAMES), body in "\\{\\PC{0,80}\\}") {
            let _ = parse(name, body.as_bytes());
        }
    }
}
