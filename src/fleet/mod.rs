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
