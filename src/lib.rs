//! selfcheck: the application inside a library's self-service kiosk and RFID terminal.
//!
//! Ports and adapters around a pure core: `kiosk` is the session state machine (no I/O);
//! `rfid`, `scan`, `sip2`, `store` and `fleet` are the ports with their adapters, `drivers`
//! the reader chips behind them; `ui` renders the core's screen model; `app` wires them for
//! `selfcheck run`.

pub mod app;
pub mod board;
pub mod clock;
pub mod config;
pub mod counter;
pub mod display;
pub mod drivers;
pub mod fleet;
pub mod hw;
pub mod kiosk;
pub mod lobby;
pub mod logging;
pub mod phone;
pub mod receipt;
pub mod rfid;
pub mod runtime;
pub mod scan;
pub mod service;
pub mod sip2;
pub mod store;
pub mod sync;
pub mod tls;
pub mod tools;
#[cfg(feature = "gui")]
pub mod ui;
