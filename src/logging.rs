//! Logging with `tracing`: a readable, coloured format on a terminal; under systemd, straight
//! into the journal (with each line's priority, so `journalctl -p warning` finds the problems);
//! otherwise plain lines without timestamps or colour.

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where systemd says the service's standard error goes: `DEVICE:INODE` of the journal stream.
const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// The name the kiosk's lines carry in the journal (`journalctl -t selfcheck`).
const SYSLOG_IDENTIFIER: &str = "selfcheck";

/// Where the log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Standard error is a terminal: the human format, with colour and time.
    Terminal,
    /// Standard error is systemd's journal stream: the journal's own protocol.
    Journal,
    /// Anything else (a pipe, a file): plain lines.
    Plain,
}

/// Decide where the log goes. `journal_stream` is `$JOURNAL_STREAM`; `stderr` the device and
/// inode of standard error. systemd sets the variable for a service whose output goes to the
/// journal, and a child process inherits it even when its own standard error goes elsewhere,
/// so it counts only when it names the very stream standard error is.
pub fn destination(
    stderr_is_terminal: bool,
    journal_stream: Option<&str>,
    stderr: Option<(u64, u64)>,
) -> Destination {
    if stderr_is_terminal {
        return Destination::Terminal;
    }
    let named = journal_stream.and_then(|value| {
        let (device, inode) = value.trim().split_once(':')?;
        let number = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u64>().ok())
                .flatten()
        };
        Some((number(device)?, number(inode)?))
    });
    match (named, stderr) {
        (Some(named), Some(actual)) if named == actual => Destination::Journal,
        _ => Destination::Plain,
    }
}

/// The device and inode of standard error, to compare with `$JOURNAL_STREAM`.
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Install the global subscriber. `level` is a filter such as `info` or
/// `selfcheck=debug,warn`; `RUST_LOG` wins when set. A journal that cannot be reached never
/// stops the kiosk: the lines then go to standard error as plain text.
pub fn init(level: &str) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env),
        _ => EnvFilter::try_new(level),
    }
    .map_err(|e| format!("invalid log level \"{level}\": {e}"))?;
    let installed = |result: Result<(), tracing_subscriber::util::TryInitError>| {
        result.map_err(|e| format!("cannot install the logger: {e}"))
    };
    let target = destination(
        std::io::stderr().is_terminal(),
        std::env::var(JOURNAL_STREAM).ok().as_deref(),
        stderr_identity(),
    );
    let plain = || {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .without_time()
            .with_ansi(false)
            .with_target(false)
    };
    match target {
        Destination::Terminal => installed(
            tracing_subscriber::registry()
                .with(filter)
                .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
                .try_init(),
        ),
        Destination::Journal => match tracing_journald::layer() {
            Ok(journal) => installed(
                tracing_subscriber::registry()
                    .with(filter)
                    .with(
                        journal
                            .with_syslog_identifier(SYSLOG_IDENTIFIER.into())
                            .with_priority_mappings(priorities()),
                    )
                    .try_init(),
            ),
            Err(e) => {
                installed(
                    tracing_subscriber::registry()
                        .with(filter)
                        .with(plain())
                        .try_init(),
                )?;
                tracing::warn!("cannot write to the journal ({e}); logging to standard error");
                Ok(())
            }
        },
        Destination::Plain => installed(
            tracing_subscriber::registry()
                .with(filter)
                .with(plain())
                .try_init(),
        ),
    }
}

/// journald's priorities for tracing's levels: info is routine (the crate's default makes it
/// "notice", which journalctl shows in bold as if it mattered).
fn priorities() -> tracing_journald::PriorityMappings {
    use tracing_journald::{Priority, PriorityMappings};
    PriorityMappings {
        info: Priority::Informational,
        debug: Priority::Debug,
        ..PriorityMappings::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_gets_the_human_format_whatever_the_environment() {
        assert_eq!(
            destination(true, Some("8:1234"), Some((8, 1234))),
            Destination::Terminal
        );
        assert_eq!(destination(true, None, None), Destination::Terminal);
    }

    #[test]
    fn the_journal_only_when_the_stream_is_standard_error() {
        assert_eq!(
            destination(false, Some("8:1234"), Some((8, 1234))),
            Destination::Journal
        );
        // A child of the service whose standard error was redirected.
        assert_eq!(
            destination(false, Some("8:1234"), Some((8, 99))),
            Destination::Plain
        );
        assert_eq!(
            destination(false, None, Some((8, 1234))),
            Destination::Plain
        );
        assert_eq!(destination(false, Some("8:1234"), None), Destination::Plain);
    }

    #[test]
    fn a_garbled_journal_stream_is_not_the_journal() {
        for junk in [
            "", ":", "8:", ":1234", "8-1234", "x:y", "8:1234:5", "-1:3", "+8:1234",
        ] {
            assert_eq!(
                destination(false, Some(junk), Some((8, 1234))),
                Destination::Plain,
                "{junk:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_journal_stream_text_is_safe(text in "\\PC*", device: u64, inode: u64) {
            // Never a panic; the journal only for text that names this very stream.
            if destination(false, Some(&text), Some((device, inode))) == Destination::Journal {
                let (d, i) = text.trim().split_once(':').expect("DEVICE:INODE");
                proptest::prop_assert_eq!(d.parse::<u64>().ok(), Some(device));
                proptest::prop_assert_eq!(i.parse::<u64>().ok(), Some(inode));
            }
        }

        #[test]
        fn the_stream_systemd_names_is_recognised(device: u64, inode: u64) {
            let named = format!("{device}:{inode}");
            proptest::prop_assert_eq!(
                destination(false, Some(&named), Some((device, inode))),
                Destination::Journal
            );
        }
    }

    #[test]
    fn standard_error_has_an_identity() {
        assert!(stderr_identity().is_some());
    }
}
