//! Fleet telemetry: the kiosk's state, health, daily figures and circulation events published
//! over MQTT for the library's lobby screens and its fleet tools, and the few commands it takes
//! from the fleet. Never a patron id, a patron name, an item id or a PIN.
//!
//! - [`topics`]: the topic tree, built in one place.
//! - [`payload`]: what is published (JSON schemas in `docs/fleet/schema/`).
//! - [`publisher`]: the actor and the kiosk's [`FleetHandle`]; circulation events reach it
//!   through the SQLite outbox ([`crate::store::fleet`]), so none is lost to a dead broker or
//!   a killed kiosk.
//! - [`command`]: the fleet's commands, read sans-IO.
//! - [`broker`]: the embedded MQTT broker.
//! - [`settings`]: `[telemetry]` and the terminal id.
//!
//! The older [`Telemetry`] port below writes the kiosk's start to the log; it goes once the
//! runtime publishes through a [`FleetHandle`].

pub mod broker;
pub mod command;
pub mod link;
pub mod payload;
pub mod publisher;
pub mod settings;
pub mod topics;

pub use command::{CommandRequest, FleetCommand};
pub use link::{Link, LinkEvent, LinkOptions};
pub use payload::{Component, EventPayload, Health, MediaKind, Outcome};
pub use publisher::{FleetCommands, FleetError, FleetHandle, FleetSetup, KioskState};
pub use settings::{BrokerAddr, TelemetrySettings, terminal_id};

use serde::Serialize;

/// Something worth counting or watching. Never carries a patron id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started { terminal: String, version: String },
    LinkChanged { online: bool },
    Circulation { action: String, offline: bool },
    ReaderFault { message: String },
}

/// Where telemetry goes. Publishing never blocks the kiosk and never fails it: an adapter
/// that cannot deliver drops the event and says so in the log.
pub trait Telemetry: Send + Sync {
    fn publish(&self, event: &Event);
}

/// Writes every event to the log at debug level.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogTelemetry;

impl Telemetry for LogTelemetry {
    fn publish(&self, event: &Event) {
        match serde_json::to_string(event) {
            Ok(json) => tracing::debug!(target: "selfcheck::telemetry", "{json}"),
            Err(e) => tracing::warn!("telemetry event not serialisable: {e}"),
        }
    }
}

/// Keeps the events in memory: for tests and the headless driver.
#[derive(Debug, Default)]
pub struct MemoryTelemetry {
    events: std::sync::Mutex<Vec<Event>>,
}

impl MemoryTelemetry {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Telemetry for MemoryTelemetry {
    fn publish(&self, event: &Event) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_without_patron_data() {
        let json = serde_json::to_string(&Event::Circulation {
            action: "checkout".into(),
            offline: true,
        })
        .expect("json");
        assert_eq!(
            json,
            r#"{"event":"circulation","action":"checkout","offline":true}"#
        );
    }

    #[test]
    fn memory_adapter_keeps_order() {
        let t = MemoryTelemetry::default();
        t.publish(&Event::LinkChanged { online: false });
        t.publish(&Event::LinkChanged { online: true });
        assert_eq!(
            t.events(),
            [
                Event::LinkChanged { online: false },
                Event::LinkChanged { online: true }
            ]
        );
    }
}
