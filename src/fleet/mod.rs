//! Telemetry: circulation events and health published for the fleet and the lobby screen.
//!
//! The port is [`Telemetry`]; this module has the adapter that writes events to the log
//! (used when `[telemetry] enabled = false`, the default). The MQTT adapter comes with the
//! fleet work.

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
