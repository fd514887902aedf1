//! `selfcheck lobby`: the lobby screen. The library's day, live from the fleet's MQTT topics:
//! today's loans and returns beside the same weekday last week, loans per hour, the branches,
//! the languages, the offline share, the most borrowed titles, a ticker of titles borrowed a
//! while ago and a wall of kiosks.
//!
//! - [`model`]: the pure view model, fed one message at a time.
//! - [`feed`]: the MQTT subscription.
//! - [`settings`]: the `lobby` section of the settings.
//! - [`sample`]: a plausible day, for screenshots and benchmarks.
//! - `run` (with the window): the screen itself, and its history in `lobby.db`.

pub mod feed;
pub mod model;
#[cfg(feature = "gui")]
pub mod run;
pub mod sample;
pub mod settings;

pub use model::{Figures, Lobby, Tile, TileState};
pub use settings::{LanguagePlan, LobbySettings};

/// `selfcheck lobby`'s options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LobbyArgs {
    /// Only this branch (default: lobby.site, else the whole fleet)
    #[arg(long)]
    pub site: Option<String>,
    /// Broker (default: telemetry.broker): embedded, mqtt://HOST[:PORT], mqtts://HOST[:PORT]
    #[arg(long)]
    pub broker: Option<String>,
    /// A window instead of the full screen
    #[arg(long)]
    pub windowed: bool,
}
