//! `selfcheck sync`: the offline queue on the command line — its state, a replay now, and the
//! conflicts staff settle (resent once their cause is put right at the desk, or dropped once
//! handled at the library system).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{ArgGroup, Args, Subcommand};

use crate::config::Settings;
use crate::runtime::link::{self, LinkOptions};
use crate::store::journal::Conflict;
use crate::store::{self, StoreHandle};
use crate::sync::{self, ResolveOutcome, Resolved};

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Counts of the journal by state, and the conflicts staff must look at
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Replay queued actions and settle unsure ones now
    Run {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// The conflicts staff must settle, with the patron id to put them right at the desk
    Conflicts {
        /// Machine-readable output: {"conflicts": [...]}
        #[arg(long)]
        json: bool,
        /// The resolved ones the journal still keeps too, with how and when
        #[arg(long)]
        all: bool,
    },
    /// Settle one conflict: send it again now, or drop it (handled at the library system)
    Resolve(ResolveArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).args(["resend", "drop"])))]
pub struct ResolveArgs {
    /// The conflict's id (`sync conflicts` lists them)
    pub id: i64,
    /// Send it again now: its cause has been put right at the desk
    #[arg(long)]
    pub resend: bool,
    /// Staff handled it at the library system: send nothing
    #[arg(long)]
    pub drop: bool,
    /// A note kept with the resolution (a reason, a desk reference)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

/// How long a command waits for the ILS to answer its first connection.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

pub fn run(settings: &Settings, data_dir: &Path, cmd: SyncCommand) -> Result<ExitCode> {
    let db = data_dir.join(store::DB_FILE);
    let store = StoreHandle::spawn(store::open(&db)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cmd {
            SyncCommand::Status { json } => status(&store, json).await,
            SyncCommand::Run { json } => replay(settings, &store, json).await,
            SyncCommand::Conflicts { json, all } => {
                let list = sync::conflicts(&store, all).await?;
                if json {
                    println!("{}", serde_json::to_string(&list)?);
                } else if list.conflicts.is_empty() {
                    println!("no {}conflicts", if all { "" } else { "open " });
                } else {
                    for c in &list.conflicts {
                        println!("{}", conflict_line(c));
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            SyncCommand::Resolve(args) => resolve(settings, &store, args).await,
        }
    })
}

async fn status(store: &StoreHandle, json: bool) -> Result<ExitCode> {
    let status = sync::status(store).await?;
    if json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        for (state, n) in &status.counts {
            println!("{state:>9}: {n}");
        }
        for c in &status.conflicts {
            println!(
                "conflict #{} {} item {} patron {}: {}",
                c.id,
                c.action.as_str(),
                c.item_id.as_deref().unwrap_or("-"),
                c.patron_id.as_deref().unwrap_or("-"),
                c.message.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The link to the ILS in the settings, once it is up (or [`CONNECT_WAIT`] has passed: the
/// first request then says why it is not).
async fn connect(settings: &Settings) -> Result<link::IlsLink> {
    let link = link::connect_ils(
        settings,
        LinkOptions {
            fast_reconnect: true,
            gated: false,
        },
    )
    .await?;
    let mut rx = link.sip2.link();
    let _ = tokio::time::timeout(CONNECT_WAIT, async {
        while !rx.borrow_and_update().is_online() {
            if rx.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    Ok(link)
}

async fn replay(settings: &Settings, store: &StoreHandle, json: bool) -> Result<ExitCode> {
    let link = connect(settings).await?;
    let started = std::time::Instant::now();
    let report = sync::run(&link.sip2, store, |done, total| {
        if !json && total >= 100 && (done % 100 == 0 || done == total) {
            eprint!("\rsync: {done}/{total}");
        }
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!();
        println!(
            "done {}, already done {}, conflicts {}, remaining {} ({:.1?}){}",
            report.done,
            report.already_done,
            report.conflicts,
            report.remaining,
            started.elapsed(),
            report
                .stopped
                .as_deref()
                .map(|s| format!("; stopped: {s}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Settle one conflict. Exit status 0 once it is settled; 1 when it stays a conflict (the ILS
/// refused the resend again, or did not answer).
async fn resolve(settings: &Settings, store: &StoreHandle, args: ResolveArgs) -> Result<ExitCode> {
    let note = args.note.filter(|n| !n.trim().is_empty());
    let report = if args.resend {
        let link = connect(settings).await?;
        sync::resend(&link.sip2, store, args.id, note).await?
    } else {
        // A drop sends nothing: no link needed.
        sync::drop_conflict(store, args.id, note).await?
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", resolved_line(&report));
    }
    Ok(if report.resolved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One conflict for a person: what, which item and patron, since when, why, and how it was
/// settled.
pub fn conflict_line(c: &Conflict) -> String {
    let mut line = format!(
        "#{} {} item {} patron {} ({} ago{}): {}",
        c.id,
        c.action.as_str(),
        c.item.as_deref().unwrap_or("-"),
        c.patron.as_deref().unwrap_or("-"),
        age_text(c.age_secs),
        if c.offline { ", offline" } else { "" },
        c.reason.as_deref().unwrap_or("no reason given")
    );
    if let Some(how) = c.resolution {
        line.push_str(&format!(
            " -- {} {}",
            how.as_str(),
            c.resolved_at.as_deref().unwrap_or("")
        ));
        if let Some(note) = &c.note {
            line.push_str(&format!(": {note}"));
        }
    }
    line
}

fn resolved_line(r: &Resolved) -> String {
    let said = r
        .message
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    match r.outcome {
        ResolveOutcome::Resent => format!("conflict #{}: sent again, and done{said}", r.id),
        ResolveOutcome::Dropped => format!("conflict #{}: dropped", r.id),
        ResolveOutcome::RefusedAgain => format!(
            "conflict #{}: refused again by the library system{said}; it stays a conflict",
            r.id
        ),
        ResolveOutcome::NoAnswer if r.maybe_sent => format!(
            "conflict #{}: no answer from the library system{said}; it stays a conflict, and \
             the library system may have applied it: check at the desk before sending it again",
            r.id
        ),
        ResolveOutcome::NoAnswer => format!(
            "conflict #{}: the library system cannot be reached{said}; nothing was sent, it \
             stays a conflict",
            r.id
        ),
    }
}

/// A duration in seconds, roughly: "40 s", "12 min", "5 h", "3 d".
fn age_text(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_roughly() {
        assert_eq!(age_text(0), "0 s");
        assert_eq!(age_text(59), "59 s");
        assert_eq!(age_text(61), "1 min");
        assert_eq!(age_text(3 * 3600 + 5), "3 h");
        assert_eq!(age_text(40 * 86_400), "40 d");
    }
}
