//! The kiosk without a window: `selfcheck run --headless --events FILE|-` (a counter's
//! settings, `terminal.role = "counter"`, run [`crate::counter::headless`] instead).
//!
//! JSON lines in (one command per line), JSON lines out (every screen-model change, every
//! exchange with the ILS, every sync). Commands are handled one after another and each runs to
//! quiescence (all its effects carried out) before the next line is read, so a script's output
//! is deterministic. The SIP2 client's link has a [`LinkGate`] that `cut` switches off
//! (the live connection breaks, new ones are refused) and `restore` switches on: the client
//! sees a broken link and the kiosk takes its real offline path. The gate belongs to this
//! driver; the window's kiosk has none.
//!
//! Commands (`"cmd"` field):
//! - `start` `{activity: borrow|return|account}`, `done`, `cancel`, `touch`,
//!   `language {code}`, `renew {item}`, `renew_all`
//! - `identify {patron}` (typed or scanned number), `card {patron, uid?}` (an ISO 15693
//!   patron card tag on the pad), `card14443 {uid, patron? | memory?}` (an ISO 14443A patron
//!   card on the card reader: `patron` is stored where `[patron_card]` reads it, `memory` is
//!   the card's bytes in hex from block 0; the rule makes the patron id), `lift_card`,
//!   `pin {pin}`, `scan {code}` (a barcode: a patron card identifies; an item label
//!   while borrowing or returning is lent or returned like a tag; a phone code `SC1:...` on
//!   the welcome or identify screen identifies the patron once it is checked, with a
//!   `{"kind": "phone", "outcome": "accepted"|"refused", "code", ...}` line)
//! - `place {item, uid?, owner?, parts?, part?, usage?, title?}`: an item tag built with the
//!   ISO 28560-3 encoder, for any item id; `lift {uid | item}`; `clear_pad`
//! - `place_stack {items: [{item, uid?, owner?, parts?, part?, usage?, title?}, ...]}`: every
//!   tag on the pad at once, as a patron puts down a stack, then one read of the pad; the
//!   command ends when every item of the stack is settled
//! - `lift_during_write {item | uid, frames}`: the tag leaves the pad after `frames` more
//!   frames (a patron taking a book mid-write); `fail_writes {n}`
//! - `advance {secs}`: the idle clock
//! - `cut`, `restore` (waits for the link; the sync starts in the background), `sync` (runs
//!   it and waits), `wait_sync` (waits for the background sync)
//! - `wait_link {online, secs?}`
//! - `receipt {kind: print|email|none, address?}` on the summary (print then email gives
//!   both; `address` only where typed addresses are allowed)
//! - `hold_cancel {item}`, `hold_pickup {item, location}`, `deliver {item, confirm?}` (home
//!   delivery: the fee and masked address are shown, then confirmed unless `confirm` is
//!   false), `confirm_delivery {yes}`
//!
//! At the end of its input the driver waits for the background sync and then, at most
//! [`MAIL_DRAIN`], for the e-mail outbox to be sent.
//!
//! With `[telemetry] enabled` the driver publishes to the fleet and carries out the fleet's
//! commands between input lines (each reported as a `fleet_command` line); `restart` ends it
//! with [`crate::app::Ended::Restart`].
//! - `ntp {synchronised}`: what the system says about NTP from now on, instead of the
//!   machine's own state (the clock is trusted with NTP, or once an ILS date agreed)

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;

use super::fleet::Obeyed;
use super::link::{IlsLink, LinkOptions, connect_ils};
use super::receipts::ReceiptService;
use super::shell::{Shell, ShellConfig};
use super::{JsonLines, Runner, Sink};
use crate::app::Ended;
use crate::board::PrinterBoard;
use crate::clock::ClockState;
use crate::config::Settings;
use crate::kiosk::{Activity, Event, Kiosk, KioskConfig, Language, ReceiptKind, Rules};
use crate::phone::PhoneGate;
use crate::rfid::card::CardUid;
use crate::rfid::reader::{SharedReader, WithCardReader};
use crate::rfid::sim::{SimPad, uid_for};
use crate::rfid::tag::{ItemRecord, SetInfo, TypeOfUsage, parse_hex, parse_uid, uid_hex};
use crate::rfid::{DataModel, Iso15693Reader};
use crate::sip2::client::{LinkGate, Sip2Handle};
use crate::store::{self, StoreHandle};

#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Command {
    Start {
        activity: Activity,
    },
    Done,
    Cancel,
    Touch,
    Language {
        code: String,
    },
    Renew {
        item: String,
    },
    RenewAll,
    Identify {
        patron: String,
    },
    Card {
        patron: String,
        uid: Option<String>,
    },
    /// An ISO 14443A patron card on the card reader: its UID, and its memory either as the
    /// site rule stores `patron` or as raw hex bytes from block (or page) 0.
    #[serde(rename = "card14443")]
    Card14443 {
        uid: String,
        patron: Option<String>,
        memory: Option<String>,
    },
    LiftCard,
    Pin {
        pin: String,
    },
    Scan {
        code: String,
    },
    Place {
        #[serde(flatten)]
        tag: ItemTag,
        /// The tag leaves the pad after answering this many frames once the kiosk has read
        /// it: a patron taking the book during its security write.
        lift_during_write: Option<u32>,
    },
    PlaceStack {
        items: Vec<ItemTag>,
    },
    Lift {
        uid: Option<String>,
        item: Option<String>,
        part: Option<u8>,
    },
    ClearPad,
    LiftDuringWrite {
        uid: Option<String>,
        item: Option<String>,
        frames: u32,
    },
    FailWrites {
        n: u32,
    },
    Advance {
        secs: u64,
    },
    Cut,
    Restore,
    Sync,
    /// Wait for the background sync (started when the link comes back) to end.
    WaitSync,
    WaitLink {
        online: bool,
        secs: Option<u64>,
    },
    Receipt {
        kind: ReceiptChoice,
        address: Option<String>,
    },
    HoldCancel {
        item: String,
    },
    HoldPickup {
        item: String,
        location: String,
    },
    Deliver {
        item: String,
        confirm: Option<bool>,
    },
    ConfirmDelivery {
        yes: bool,
    },
    /// What the system says about NTP from now on (the machine's own state is read no more).
    Ntp {
        synchronised: bool,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReceiptChoice {
    Print,
    Email,
    None,
}

/// Longest wait at the end of the input for the e-mail outbox to be sent.
pub const MAIL_DRAIN: Duration = Duration::from_secs(30);

/// An item tag to put on the pad (`place`, `place_stack`).
#[derive(Debug, Deserialize)]
struct ItemTag {
    item: String,
    uid: Option<String>,
    owner: Option<String>,
    parts: Option<u8>,
    part: Option<u8>,
    usage: Option<TypeOfUsage>,
    title: Option<String>,
}

impl ItemTag {
    /// Puts the tag, built with the ISO 28560-3 encoder, on the pad; returns its UID.
    fn place_on(self, pad: &SimPad) -> Result<crate::rfid::tag::Uid> {
        let uid = self
            .uid
            .unwrap_or_else(|| uid_for(&self.item, self.part.unwrap_or(0)));
        let parsed = parse_uid(&uid).context("a UID is 16 hex digits")?;
        let mut record = ItemRecord::new(
            DataModel::Iso28560_3,
            self.usage.unwrap_or(TypeOfUsage::Circulating),
            self.item,
        );
        record.owner_isil = self.owner;
        record.title = self.title;
        if let Some(parts) = self.parts.filter(|p| *p > 1) {
            record.set = Some(SetInfo {
                parts,
                part_no: self.part.unwrap_or(1),
            });
        }
        pad.place(crate::rfid::sim::SimTag::item(
            parsed,
            &record,
            DataModel::Iso28560_3,
        )?);
        Ok(parsed)
    }
}

/// Run the headless kiosk over `input`, writing JSON lines to `out`.
pub fn run(
    settings: Settings,
    data_dir: &std::path::Path,
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> Result<()> {
    let layers = crate::config::layers::Layers::new(None, data_dir);
    run_kiosk(settings, layers, data_dir, input, out).map(|_| ())
}

/// [`run`] with the settings read from `layers` (where the fleet's `settings` command
/// writes). With `[telemetry] enabled` it publishes to the fleet and obeys its commands between
/// input lines; it ends at the end of the input, or when the fleet asks for a restart.
pub fn run_kiosk(
    settings: Settings,
    layers: crate::config::layers::Layers,
    data_dir: &std::path::Path,
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> Result<Ended> {
    let db = data_dir.join(store::DB_FILE);
    let store = StoreHandle::spawn(store::open(&db)?).context("cannot start the store thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if settings.terminal.role == crate::config::Role::Counter {
        return runtime
            .block_on(crate::counter::headless::drive(settings, store, input, out))
            .map(|()| Ended::Closed);
    }
    let (fleet, commands) =
        super::fleet::start(&settings, "sim", data_dir, layers, &store, runtime.handle());
    let probes = fleet.is_enabled().then(|| {
        super::fleet::spawn_probes(
            &settings,
            crate::board::PrinterBoard::default(),
            runtime.handle(),
        )
    });
    let ended = runtime.block_on(drive(
        settings,
        store,
        input,
        out,
        fleet.clone(),
        commands,
        probes,
    ));
    runtime.block_on(fleet.shutdown());
    ended
}

/// Input lines read on a thread of their own, so that fleet commands are heard while the
/// driver waits for the next line.
fn read_lines(
    mut input: Box<dyn BufRead + Send>,
) -> tokio::sync::mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let spawned = std::thread::Builder::new()
        .name("selfcheck-input".into())
        .spawn(move || {
            loop {
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) => return,
                    Ok(_) => {
                        if tx.blocking_send(Ok(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the input thread: {e}");
    }
    rx
}

/// How often the headless kiosk with telemetry looks at its link between input lines.
const FLEET_TICK: Duration = Duration::from_secs(1);

async fn drive(
    settings: Settings,
    store: StoreHandle,
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
    fleet: crate::fleet::FleetHandle,
    mut commands: crate::fleet::FleetCommands,
    probes: Option<tokio::sync::watch::Receiver<super::fleet::Probes>>,
) -> Result<Ended> {
    let link = connect_ils(
        &settings,
        LinkOptions {
            fast_reconnect: true,
            gated: true,
        },
    )
    .await?;
    let pad = SimPad::new();
    let reader: SharedReader = Arc::new(Mutex::new(Box::new(WithCardReader::new(
        Iso15693Reader::new(pad.clone()),
        pad.clone(),
    ))));
    let sink: Sink = Box::new(JsonLines(out));
    let mut shell = Shell::new(
        link.sip2.clone(),
        store.clone(),
        reader,
        ShellConfig::from_settings(&settings),
    )
    .with_phone(
        PhoneGate::from_settings(&settings),
        ClockState::from_system(&settings.terminal),
    );
    // No board here: only `[receipt] printer` names a printer.
    shell.receipts = ReceiptService::from_settings(&settings, &PrinterBoard::default());
    let mut kiosk_cfg = KioskConfig::from_settings(&settings);
    if kiosk_cfg.languages.is_empty() {
        kiosk_cfg.languages = vec![Language::English];
    }
    let rules =
        Rules::from_settings(&settings).with_printer(&settings, shell.receipts.has_printer());
    let kiosk = Kiosk::with_rules(kiosk_cfg, rules);
    let telemetry = fleet.is_enabled();
    let mut runner = Runner::new(kiosk, shell, sink)
        .with_retention(super::Retention::from_settings(&settings.offline))
        .with_fleet(fleet, probes);
    // Purge acknowledged rows past their retention, then wait (briefly) for the link: the
    // sync settles in the background whatever a previous run left open.
    runner.purge().await?;
    wait_link(&runner.shell.sip2, true, Duration::from_secs(5)).await;
    runner.check_link().await?;
    let first = runner.kiosk.model();
    runner.sink.screen(&first);

    let mut lines = read_lines(input);
    let mut tick = tokio::time::interval(FLEET_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ended = Ended::Closed;
    loop {
        let line = tokio::select! {
            line = lines.recv() => match line {
                Some(line) => line?,
                None => break,
            },
            Some(request) = commands.recv() => {
                if obey(&mut runner, request).await? {
                    ended = Ended::Restart;
                    break;
                }
                continue;
            }
            _ = tick.tick(), if telemetry => {
                runner.check_link().await?;
                continue;
            }
        };
        let Some(cmd) = parse_line::<Command>(&line, &mut runner.sink) else {
            continue;
        };
        runner.check_link().await?;
        command(&mut runner, &pad, &link, cmd).await?;
        runner.check_link().await?;
    }
    // Every sync started runs to its end before the driver stops, and the mail goes.
    runner.finish_sync().await?;
    runner.drain_mail(MAIL_DRAIN).await?;
    drop(runner);
    if let Some((_, server)) = link.demo {
        server.shutdown().await;
    }
    Ok(ended)
}

/// Carry out a fleet command, answer it and say so in the output; true: restart.
async fn obey(runner: &mut Runner, request: crate::fleet::CommandRequest) -> Result<bool> {
    let crate::fleet::CommandRequest { command, reply } = request;
    let name = command.name();
    let (answer, restart) = match super::fleet::obey(runner, &command) {
        Obeyed::Reply(answer) => (answer, false),
        Obeyed::Service(reason) => {
            runner
                .feed(Event::OutOfOrder(reason.map(crate::kiosk::Fault::staff)))
                .await?;
            (Ok(super::fleet::service_reply(runner)), false)
        }
        Obeyed::Restart => (Ok("restarting".to_string()), true),
    };
    runner.sink.note(json!({
        "kind": "fleet_command",
        "command": name,
        "ok": answer.is_ok(),
        "message": answer.as_ref().unwrap_or_else(|e| e),
    }));
    let _ = reply.send(answer);
    if restart {
        tokio::time::sleep(super::fleet::REPLY_GRACE).await;
    }
    Ok(restart)
}

/// Wait up to `max` for the link to be up (`online`) or down; whether it came to that.
/// One input line as a command: `None` for a blank or `#` comment line, and for a line that is
/// not a command, which is reported as an `error` line and skipped.
pub(crate) fn parse_line<C: serde::de::DeserializeOwned>(line: &str, sink: &mut Sink) -> Option<C> {
    let text = line.trim();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    match serde_json::from_str(text) {
        Ok(c) => Some(c),
        Err(e) => {
            sink.note(json!({"kind": "error", "line": text, "error": e.to_string()}));
            None
        }
    }
}

pub(crate) async fn wait_link(sip2: &Sip2Handle, online: bool, max: Duration) -> bool {
    let mut rx = sip2.link();
    let wait = async {
        loop {
            if rx.borrow_and_update().is_online() == online {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(max, wait).await.is_ok()
}

fn find_uid(
    pad: &SimPad,
    uid: Option<&str>,
    item: Option<&str>,
    part: Option<u8>,
) -> Option<String> {
    if let Some(u) = uid {
        return Some(u.to_string());
    }
    let item = item?;
    match part {
        Some(p) => Some(uid_for(item, p)),
        None => pad
            .tags()
            .iter()
            .map(|t| uid_hex(&t.uid))
            .find(|u| (0..=255u8).any(|p| *u == uid_for(item, p))),
    }
}

async fn command(runner: &mut Runner, pad: &SimPad, link: &IlsLink, cmd: Command) -> Result<()> {
    match cmd {
        Command::Start { activity } => runner.feed(Event::Start(activity)).await?,
        Command::Done => runner.feed(Event::Done).await?,
        Command::Cancel => runner.feed(Event::Cancel).await?,
        Command::Touch => runner.feed(Event::Touch).await?,
        Command::Language { code } => {
            if let Some(l) = Language::from_code(&code) {
                runner.feed(Event::ChooseLanguage(l)).await?;
            }
        }
        Command::Renew { item } => runner.feed(Event::Renew(item)).await?,
        Command::RenewAll => runner.feed(Event::RenewAll).await?,
        Command::Identify { patron } => runner.feed(Event::Patron(patron)).await?,
        Command::Card { patron, uid } => {
            let uid = uid.unwrap_or_else(|| uid_for(&patron, 0));
            let parsed = parse_uid(&uid).context("a UID is 16 hex digits")?;
            let record = ItemRecord::new(DataModel::Iso28560_3, TypeOfUsage::PatronCard, patron);
            pad.place(crate::rfid::sim::SimTag::item(
                parsed,
                &record,
                DataModel::Iso28560_3,
            )?);
            runner.poll_pad().await?;
        }
        Command::Card14443 {
            uid,
            patron,
            memory,
        } => {
            let uid = CardUid::parse(&uid).context("a card UID is 8, 14 or 20 hex digits")?;
            let memory = match (patron, memory) {
                (Some(patron), None) => runner.shell.config.patron_card.card_memory(&patron)?,
                (None, Some(hex)) => parse_hex(&hex).context("memory is hex bytes")?,
                (None, None) => Vec::new(),
                (Some(_), Some(_)) => anyhow::bail!("card14443 takes patron or memory, not both"),
            };
            pad.place_card(uid, memory);
            runner.poll_pad().await?;
        }
        Command::LiftCard => {
            pad.lift_card();
            runner.poll_pad().await?;
        }
        Command::Pin { pin } => runner.feed(Event::Pin(pin)).await?,
        Command::Scan { code } => match crate::scan::classify(&code) {
            Ok(_) => runner.feed(Event::Scan(code)).await?,
            // A phone code the scanner layer cannot take (too long) is still refused on the
            // screen with its reason.
            Err(_) if crate::phone::looks_like_token(&code) => {
                runner.feed(Event::Scan(code)).await?;
            }
            Err(e) => {
                runner.sink.note(
                    json!({"kind": "scan", "code": code, "used": false, "error": e.to_string()}),
                );
            }
        },
        Command::Place {
            tag,
            lift_during_write,
        } => {
            let parsed = tag.place_on(pad)?;
            let tags = runner.shell.read_pad().await?;
            if let Some(frames) = lift_during_write {
                pad.lift_after_frames(&parsed, frames);
            }
            runner.feed(Event::Pad(tags)).await?;
        }
        Command::PlaceStack { items } => {
            for tag in items {
                tag.place_on(pad)?;
            }
            runner.poll_pad().await?;
        }
        Command::Lift { uid, item, part } => {
            if let Some(u) =
                find_uid(pad, uid.as_deref(), item.as_deref(), part).and_then(|u| parse_uid(&u))
            {
                pad.lift(&u);
            }
            runner.poll_pad().await?;
        }
        Command::ClearPad => {
            pad.clear();
            runner.poll_pad().await?;
        }
        Command::LiftDuringWrite { uid, item, frames } => {
            if let Some(u) =
                find_uid(pad, uid.as_deref(), item.as_deref(), None).and_then(|u| parse_uid(&u))
            {
                pad.lift_after_frames(&u, frames);
            }
        }
        Command::FailWrites { n } => pad.fail_writes(n),
        Command::Advance { secs } => {
            runner.feed(Event::Idle(Duration::from_secs(secs))).await?;
        }
        Command::Cut => {
            gate(link)?.cut();
            wait_link(&runner.shell.sip2, false, Duration::from_secs(5)).await;
        }
        Command::Restore => {
            gate(link)?.restore();
            wait_link(&runner.shell.sip2, true, Duration::from_secs(10)).await;
        }
        Command::Ntp { synchronised } => {
            let source = "the headless driver";
            runner
                .pin_ntp(if synchronised {
                    crate::clock::NtpState::Synchronised { source }
                } else {
                    crate::clock::NtpState::Unsynchronised { source }
                })
                .await?;
        }
        Command::Sync => runner.sync().await?,
        Command::WaitSync => runner.finish_sync().await?,
        Command::WaitLink { online, secs } => {
            wait_link(
                &runner.shell.sip2,
                online,
                Duration::from_secs(secs.unwrap_or(10)),
            )
            .await;
        }
        Command::Receipt { kind, address } => {
            let kind = match kind {
                ReceiptChoice::Print => Some(ReceiptKind::Print),
                ReceiptChoice::Email => Some(ReceiptKind::Email),
                ReceiptChoice::None => None,
            };
            runner.feed(Event::Receipt { kind, address }).await?;
        }
        Command::HoldCancel { item } => runner.feed(Event::CancelHold(item)).await?,
        Command::HoldPickup { item, location } => {
            runner.feed(Event::MoveHold { item, location }).await?;
        }
        Command::Deliver { item, confirm } => {
            runner.feed(Event::Deliver(item)).await?;
            if confirm.unwrap_or(true) {
                runner.feed(Event::ConfirmDelivery(true)).await?;
            }
        }
        Command::ConfirmDelivery { yes } => runner.feed(Event::ConfirmDelivery(yes)).await?,
    }
    Ok(())
}

fn gate(link: &IlsLink) -> Result<&LinkGate> {
    link.gate
        .as_ref()
        .context("this link has no switch to cut it with")
}
