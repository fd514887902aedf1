//! The counter without a window: `selfcheck run --headless` with `terminal.role = "counter"`.
//!
//! JSON lines in (one command per line, each run to quiescence before the next is read),
//! JSON lines out: every screen (`{"kind": "screen", "model": ...}`, the counter's model),
//! every exchange with the ILS or the journal, every sync.
//!
//! Commands (`"cmd"` field):
//! - `login {name?, pin}` (a bookseller of `counter.booksellers`; no name: the staff PIN),
//!   `logout`
//! - `identify {patron}`, `pin {pin}`, `card {patron, uid?}` (a patron card on the pad)
//! - `scan {code}`: a barcode (the patron's card on the patron screen, else a book's ISBN,
//!   with or without its EAN-5 add-on); `isbn {code}`: an ISBN typed (ISBN-10 or -13)
//! - `book {title, author?, publisher?, year?, price, currency?}`: the book's data typed
//! - `place_blank {uid?}`: a blank tag on the pad; `lift {uid}`, `clear_pad`,
//!   `fail_writes {n}`
//! - `confirm`, `undo {item?}`, `cancel`, `done` (the patron leaves)
//! - `cut`, `restore`, `sync` (runs it and waits), `wait_sync`

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::runner::CounterRunner;
use super::session::{Counter, Event, Screen, SessionConfig, TypedBook};
use super::shell::{CounterShell, CounterShellConfig};
use crate::config::Settings;
use crate::rfid::Iso15693Reader;
use crate::rfid::reader::SharedReader;
use crate::rfid::sim::SimPad;
use crate::rfid::tag::{ItemRecord, TypeOfUsage, parse_uid};
use crate::runtime::headless::{parse_line, wait_link};
use crate::runtime::link::{LinkOptions, connect_ils};
use crate::runtime::{JsonLines, Sink};
use crate::store::StoreHandle;

#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Command {
    Login {
        #[serde(default)]
        name: String,
        pin: String,
    },
    Logout,
    Identify {
        patron: String,
    },
    Pin {
        pin: String,
    },
    Card {
        patron: String,
        uid: Option<String>,
    },
    Scan {
        code: String,
    },
    Isbn {
        code: String,
    },
    Book(TypedBook),
    PlaceBlank {
        uid: Option<String>,
    },
    Lift {
        uid: String,
    },
    ClearPad,
    FailWrites {
        n: u32,
    },
    Confirm,
    Undo {
        item: Option<String>,
    },
    Cancel,
    Done,
    Cut,
    Restore,
    Sync,
    WaitSync,
}

/// Run the headless counter over `input`, writing JSON lines to `out`.
pub async fn drive(
    settings: Settings,
    store: StoreHandle,
    mut input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> Result<()> {
    let link = connect_ils(
        &settings,
        LinkOptions {
            fast_reconnect: true,
            gated: true,
        },
    )
    .await?;
    let pad = SimPad::new();
    let reader: SharedReader = Arc::new(Mutex::new(Box::new(Iso15693Reader::new(pad.clone()))));
    let sink: Sink = Box::new(JsonLines(out));
    let shell = CounterShell::new(
        link.sip2.clone(),
        store,
        reader,
        CounterShellConfig::from_settings(&settings),
    );
    let core = Counter::new(SessionConfig::from_settings(&settings));
    let mut runner = CounterRunner::new(
        core,
        shell,
        sink,
        crate::sync::Policy::from_settings(&settings),
    );
    wait_link(&runner.shell.sip2, true, Duration::from_secs(5)).await;
    runner.start().await?;

    let mut blanks = 0u32;
    let mut line = String::new();
    loop {
        line.clear();
        let n = tokio::task::block_in_place(|| input.read_line(&mut line))?;
        if n == 0 {
            break;
        }
        let Some(cmd) = parse_line::<Command>(&line, &mut runner.sink) else {
            continue;
        };
        runner.check_link().await?;
        match cmd {
            Command::Login { name, pin } => runner.feed(Event::Login { name, pin }).await?,
            Command::Logout => runner.feed(Event::Logout).await?,
            Command::Identify { patron } => runner.feed(Event::Patron(patron)).await?,
            Command::Pin { pin } => runner.feed(Event::Pin(pin)).await?,
            Command::Card { patron, uid } => {
                let uid = uid.unwrap_or_else(|| crate::rfid::sim::uid_for(&patron, 0));
                let parsed = parse_uid(&uid).context("a UID is 16 hex digits")?;
                let record = ItemRecord::new(
                    crate::rfid::DataModel::Iso28560_3,
                    TypeOfUsage::PatronCard,
                    patron,
                );
                pad.place(crate::rfid::sim::SimTag::item(
                    parsed,
                    &record,
                    crate::rfid::DataModel::Iso28560_3,
                )?);
                runner.poll_pad().await?;
            }
            Command::Scan { code } => {
                let event = if runner.core.model().screen == Screen::Patron {
                    Event::Patron(code)
                } else {
                    Event::Isbn(code)
                };
                runner.feed(event).await?;
            }
            Command::Isbn { code } => runner.feed(Event::Isbn(code)).await?,
            Command::Book(typed) => runner.feed(Event::Typed(typed)).await?,
            Command::PlaceBlank { uid } => {
                let uid = match uid {
                    Some(u) => u,
                    None => {
                        blanks += 1;
                        format!("E0040150{blanks:08X}")
                    }
                };
                let parsed = parse_uid(&uid).context("a UID is 16 hex digits")?;
                pad.place_blank(parsed);
                runner.poll_pad().await?;
            }
            Command::Lift { uid } => {
                if let Some(u) = parse_uid(&uid) {
                    pad.lift(&u);
                }
                runner.poll_pad().await?;
            }
            Command::ClearPad => {
                pad.clear();
                runner.poll_pad().await?;
            }
            Command::FailWrites { n } => pad.fail_writes(n),
            Command::Confirm => runner.feed(Event::Confirm).await?,
            Command::Undo { item } => runner.feed(Event::Undo(item)).await?,
            Command::Cancel => runner.feed(Event::Cancel).await?,
            Command::Done => runner.feed(Event::Done).await?,
            Command::Cut => {
                link.gate
                    .as_ref()
                    .context("this link has no switch to cut it with")?
                    .cut();
                wait_link(&runner.shell.sip2, false, Duration::from_secs(5)).await;
            }
            Command::Restore => {
                link.gate
                    .as_ref()
                    .context("this link has no switch to cut it with")?
                    .restore();
                wait_link(&runner.shell.sip2, true, Duration::from_secs(10)).await;
            }
            Command::Sync => runner.sync_now().await?,
            Command::WaitSync => runner.finish_sync().await?,
        }
        runner.check_link().await?;
    }
    runner.finish_sync().await?;
    drop(runner);
    if let Some((_, server)) = link.demo {
        server.shutdown().await;
    }
    Ok(())
}
