//! Logging with `tracing`: a readable, coloured format on a terminal; under systemd (stderr not
//! a terminal) plain lines without timestamps or colour, since journald stamps each line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `level` is a filter such as `info` or
/// `selfcheck=debug,warn`; `RUST_LOG` wins when set.
pub fn init(level: &str) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|e| format!("invalid log level \"{level}\": {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder
            .without_time()
            .with_ansi(false)
            .with_target(false)
            .try_init()
    };
    result.map_err(|e| format!("cannot install the logger: {e}"))
}
