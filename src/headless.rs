//! The kiosk without a window: `selfcheck run --headless --events FILE|-`.
//!
//! JSON lines in (one command per line), JSON lines out (every screen-model change, every
//! exchange with the ILS, every sync). Commands are handled one after another and each runs to
//! quiescence (all its effects carried out) before the next line is read, so a script's output
//! is deterministic. The ILS link goes through an in-process TCP [`Relay`] that `cut` switches
//! off (closing live connections, refusing new ones) and `restore` switches on: the SIP2 client
//! sees a real broken link and the kiosk takes its real offline path.
//!
//! Commands (`"cmd"` field):
//! - `start` `{activity: borrow|return|account}`, `done`, `cancel`, `touch`,
//!   `language {code}`, `renew {item}`, `renew_all`
//! - `identify {patron}` (typed or scanned number), `card {patron}` (a patron card tag on the
//!   pad), `pin {pin}`, `scan {code}` (a barcode: a patron card identifies; an item label
//!   while borrowing or returning is lent or returned like a tag)
//! - `place {item, uid?, owner?, parts?, part?, usage?, title?}`: an item tag built with the
//!   ISO 28560-3 encoder, for any item id; `lift {uid | item}`; `clear_pad`
//! - `lift_during_write {item | uid, frames}`: the tag leaves the pad after `frames` more
//!   frames (a patron taking a book mid-write); `fail_writes {n}`
//! - `advance {secs}`: the idle clock
//! - `cut`, `restore` (waits for the link; the sync starts in the background), `sync` (runs
//!   it and waits), `wait_sync` (waits for the background sync)
//! - `wait_link {online, secs?}`

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::Settings;
use crate::kiosk::{Activity, Effect, Event, Kiosk, KioskConfig, Language, Rules, ScreenModel};
use crate::rfid::sim::SimPad;
use crate::rfid::tag::{ItemRecord, SetInfo, TypeOfUsage, parse_uid, uid_hex};
use crate::rfid::{DataModel, Iso15693Reader};
use crate::shell::{Exchange, SharedReader, Shell, ShellConfig};
use crate::sip2::client::Sip2Handle;
use crate::sip2::demo_ils::{DemoIls, ServerConfig, ServerHandle};
use crate::store::{self, StoreHandle};

/// A TCP relay that can be switched off: the way to cut the ILS link in-process.
#[derive(Clone)]
pub struct Relay {
    pub addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Relay {
    /// Listen on loopback and forward every connection to `upstream`.
    pub async fn start(upstream: String) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let relay = Relay {
            addr,
            up: up.clone(),
            cut: cut.clone(),
        };
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_rx = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Ok(relay)
    }

    /// Close every connection and refuse new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The ILS the kiosk talks to: the demo ILS in-process (`ils.server = "demo"`) or the one in
/// the settings, through a relay.
pub struct IlsLink {
    pub sip2: Sip2Handle,
    pub relay: Relay,
    /// The in-process demo ILS, when it is the demo.
    pub demo: Option<(DemoIls, ServerHandle)>,
}

/// Start the demo ILS when the settings say `demo`, the relay, and the SIP2 client.
pub async fn connect_ils(settings: &Settings, fast_reconnect: bool) -> Result<IlsLink> {
    let (upstream, demo) = if settings.ils.is_demo() {
        let ils = DemoIls::open(None).context("cannot open the demo ILS")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = ils
            .serve(
                listener,
                ServerConfig {
                    institution: settings.terminal.institution.clone(),
                    library_name: settings.terminal.library_name.clone(),
                    ..ServerConfig::default()
                },
            )
            .await
            .context("cannot start the demo ILS")?;
        (server.local_addr().to_string(), Some((ils, server)))
    } else {
        (settings.ils.server.clone(), None)
    };
    let relay = Relay::start(upstream).await?;
    let mut cfg = crate::tools::sip2::client_config(settings, &relay.addr.to_string())
        .map_err(anyhow::Error::msg)?;
    if fast_reconnect {
        cfg.reconnect_min = Duration::from_millis(50);
        cfg.reconnect_max = Duration::from_millis(300);
    }
    let sip2 = Sip2Handle::spawn(cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(IlsLink { sip2, relay, demo })
}

/// Where the runner reports what happens: the UI bridge, or the headless JSON lines.
pub trait Output: Send {
    fn screen(&mut self, model: &ScreenModel);
    fn exchange(&mut self, _exchange: &Exchange) {}
    fn sync(&mut self, _report: &crate::sync::Report) {}
    /// Anything else worth a line (headless only).
    fn note(&mut self, _value: serde_json::Value) {}
}

/// JSON lines, one object per line.
pub struct JsonLines<W: Write + Send>(pub W);

impl<W: Write + Send> JsonLines<W> {
    fn line(&mut self, v: serde_json::Value) {
        let _ = writeln!(self.0, "{v}");
        let _ = self.0.flush();
    }
}

impl<W: Write + Send> Output for JsonLines<W> {
    fn screen(&mut self, model: &ScreenModel) {
        self.line(json!({"kind": "screen", "model": model}));
    }
    fn exchange(&mut self, e: &Exchange) {
        self.line(json!({"kind": "ils", "exchange": e}));
    }
    fn sync(&mut self, r: &crate::sync::Report) {
        self.line(json!({"kind": "sync", "report": r}));
    }
    fn note(&mut self, v: serde_json::Value) {
        self.line(v);
    }
}

/// Screen models to a callback (the window).
pub struct ShowOnly<F: FnMut(ScreenModel) + Send>(pub F);

impl<F: FnMut(ScreenModel) + Send> Output for ShowOnly<F> {
    fn screen(&mut self, model: &ScreenModel) {
        (self.0)(model.clone());
    }
}

pub type Sink = Box<dyn Output>;

/// The sync running in its own task while the kiosk goes on serving patrons.
struct BackgroundSync {
    task: tokio::task::JoinHandle<Result<crate::sync::Report, crate::sync::SyncError>>,
    progress: watch::Receiver<(u64, u64)>,
}

/// The core and its shell, run to quiescence after each input.
pub struct Runner {
    pub kiosk: Kiosk,
    pub shell: Shell,
    pub online: bool,
    sink: Sink,
    sync: Option<BackgroundSync>,
    /// Days an acknowledged journal row is kept.
    retention_days: u32,
    /// The day of the last purge of acknowledged journal rows (`None`: not yet).
    purged_on: Option<chrono::NaiveDate>,
    /// When to try again a sync that left rows open while the link stayed up.
    retry_sync_at: Option<tokio::time::Instant>,
}

/// How long rows a sync could not settle wait before the next try while the link stays up.
const SYNC_RETRY: Duration = Duration::from_secs(300);

impl Runner {
    pub fn new(kiosk: Kiosk, shell: Shell, sink: Sink) -> Runner {
        Runner {
            kiosk,
            shell,
            online: false,
            sink,
            sync: None,
            retention_days: crate::config::Offline::default().journal_retention_days,
            purged_on: None,
            retry_sync_at: None,
        }
    }

    /// Keep acknowledged journal rows this many days (they are purged after each sync and
    /// once a day).
    pub fn with_retention(mut self, days: u32) -> Runner {
        self.retention_days = days;
        self
    }

    fn show(&mut self, model: &ScreenModel) {
        self.sink.screen(model);
    }

    fn exchange(&mut self, e: &Exchange) {
        self.sink.exchange(e);
    }

    /// Feed an event and carry out everything that follows from it.
    pub async fn feed(&mut self, event: Event) -> Result<()> {
        let mut queue = std::collections::VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            for effect in self.kiosk.handle(event) {
                if let Effect::Show(model) = &effect {
                    self.show(model);
                    continue;
                }
                let (next, exchange) = self.shell.run(effect).await?;
                if let Some(x) = exchange {
                    self.exchange(&x);
                }
                if let Some(e) = next {
                    queue.push_back(e);
                }
            }
        }
        Ok(())
    }

    /// Read the pad and tell the core what is on it.
    pub async fn poll_pad(&mut self) -> Result<()> {
        let tags = self.shell.read_pad().await?;
        self.feed(Event::Pad(tags)).await
    }

    /// Tell the core about the link if it changed (on the way up the sync starts in the
    /// background), pass on the background sync's progress and end, and purge acknowledged
    /// journal rows once a day. Called between inputs and on a timer.
    pub async fn check_link(&mut self) -> Result<()> {
        let online = self.shell.sip2.link().borrow().is_online();
        if online != self.online {
            self.online = online;
            if online {
                self.start_sync();
            }
            self.feed(Event::LinkChanged { online }).await?;
        }
        if online
            && self.sync.is_none()
            && self
                .retry_sync_at
                .is_some_and(|at| tokio::time::Instant::now() >= at)
        {
            self.start_sync();
        }
        self.check_sync().await?;
        if self.purged_on != Some(chrono::Local::now().date_naive()) {
            self.purge().await?;
        }
        Ok(())
    }

    /// Start the sync in its own task unless one is running. Patrons go on being served;
    /// the rows of their requests in flight are left to the kiosk.
    pub fn start_sync(&mut self) {
        if self.sync.as_ref().is_some_and(|s| !s.task.is_finished()) {
            return;
        }
        self.retry_sync_at = None;
        let (tx, progress) = watch::channel((0, 0));
        let sip2 = self.shell.sip2.clone();
        let store = self.shell.store.clone();
        let in_flight = self.shell.in_flight.clone();
        let task = tokio::spawn(async move {
            crate::sync::run_beside(&sip2, &store, &in_flight, |done, total| {
                tx.send_replace((done, total));
            })
            .await
        });
        self.sync = Some(BackgroundSync { task, progress });
    }

    /// Whether a background sync is running.
    pub fn syncing(&self) -> bool {
        self.sync.is_some()
    }

    /// Tell the core how the background sync is doing; when it has ended, report it and
    /// purge.
    async fn check_sync(&mut self) -> Result<()> {
        let Some(sync) = self.sync.as_mut() else {
            return Ok(());
        };
        if sync.task.is_finished() {
            let Some(sync) = self.sync.take() else {
                return Ok(());
            };
            return self.end_sync(sync).await;
        }
        if sync.progress.has_changed().unwrap_or(false) {
            let (done, total) = *sync.progress.borrow_and_update();
            self.feed(Event::SyncProgress { done, total }).await?;
        }
        Ok(())
    }

    async fn end_sync(&mut self, sync: BackgroundSync) -> Result<()> {
        let report = sync.task.await.context("the sync task failed")??;
        if report.remaining > 0 {
            self.retry_sync_at = Some(tokio::time::Instant::now() + SYNC_RETRY);
        }
        self.sink.sync(&report);
        self.feed(Event::SyncEnded).await?;
        self.purge().await
    }

    /// Wait for the background sync, if one is running, and report it.
    pub async fn finish_sync(&mut self) -> Result<()> {
        match self.sync.take() {
            Some(sync) => self.end_sync(sync).await,
            None => Ok(()),
        }
    }

    /// Run the sync now and wait for it (a background one first finishes).
    pub async fn sync(&mut self) -> Result<()> {
        self.finish_sync().await?;
        let report = crate::sync::run_beside(
            &self.shell.sip2,
            &self.shell.store,
            &self.shell.in_flight,
            |_, _| {},
        )
        .await?;
        self.sink.sync(&report);
        self.purge().await
    }

    /// Delete acknowledged journal rows past the retention: the kiosk keeps no reading
    /// history.
    pub async fn purge(&mut self) -> Result<()> {
        let days = self.retention_days;
        let purged = self
            .shell
            .store
            .call(move |c| crate::store::journal::purge_older_than(c, days))
            .await?;
        self.purged_on = Some(chrono::Local::now().date_naive());
        if purged > 0 {
            self.sink.note(json!({"kind": "purge", "rows": purged}));
        }
        Ok(())
    }
}

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
    Pin {
        pin: String,
    },
    Scan {
        code: String,
    },
    Place {
        item: String,
        uid: Option<String>,
        owner: Option<String>,
        parts: Option<u8>,
        part: Option<u8>,
        usage: Option<TypeOfUsage>,
        title: Option<String>,
        /// The tag leaves the pad after answering this many frames once the kiosk has read
        /// it: a patron taking the book during its security write.
        lift_during_write: Option<u32>,
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
}

/// A stable UID for an item (and part) when the script gives none: NXP SLIX prefix plus a
/// hash of the id.
pub fn uid_for(item: &str, part: u8) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in item.bytes().chain([part]) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("E00401{:010X}", h & 0xFF_FFFF_FFFF)
}

/// Run the headless kiosk over `input`, writing JSON lines to `out`.
pub fn run(
    settings: Settings,
    data_dir: &std::path::Path,
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> Result<()> {
    let db = data_dir.join(store::DB_FILE);
    let store = StoreHandle::spawn(store::open(&db)?).context("cannot start the store thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(drive(settings, store, input, out))
}

async fn drive(
    settings: Settings,
    store: StoreHandle,
    mut input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> Result<()> {
    let link = connect_ils(&settings, true).await?;
    let pad = SimPad::new();
    let reader: SharedReader = Arc::new(Mutex::new(Box::new(Iso15693Reader::new(pad.clone()))));
    let sink: Sink = Box::new(JsonLines(out));
    let shell = Shell::new(
        link.sip2.clone(),
        store.clone(),
        reader,
        ShellConfig::from_settings(&settings),
    );
    let mut kiosk_cfg = KioskConfig::from_settings(&settings);
    if kiosk_cfg.languages.is_empty() {
        kiosk_cfg.languages = vec![Language::English];
    }
    let kiosk = Kiosk::with_rules(kiosk_cfg, Rules::from_settings(&settings));
    let mut runner =
        Runner::new(kiosk, shell, sink).with_retention(settings.offline.journal_retention_days);
    // Purge acknowledged rows past their retention, then wait (briefly) for the link: the
    // sync settles in the background whatever a previous run left open.
    runner.purge().await?;
    wait_link(&runner.shell.sip2, true, Duration::from_secs(5)).await;
    runner.check_link().await?;
    let first = runner.kiosk.model();
    runner.sink.screen(&first);

    let mut line = String::new();
    loop {
        line.clear();
        let n = tokio::task::block_in_place(|| input.read_line(&mut line))?;
        if n == 0 {
            break;
        }
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let cmd: Command = match serde_json::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                runner
                    .sink
                    .note(json!({"kind": "error", "line": text, "error": e.to_string()}));
                continue;
            }
        };
        runner.check_link().await?;
        command(&mut runner, &pad, &link, cmd).await?;
        runner.check_link().await?;
    }
    // Every sync started runs to its end before the driver stops.
    runner.finish_sync().await?;
    drop(runner);
    if let Some((_, server)) = link.demo {
        server.shutdown().await;
    }
    Ok(())
}

async fn wait_link(sip2: &Sip2Handle, online: bool, max: Duration) -> bool {
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
        Command::Pin { pin } => runner.feed(Event::Pin(pin)).await?,
        Command::Scan { code } => match crate::scan::classify(&code) {
            Ok(_) => runner.feed(Event::Scan(code)).await?,
            Err(e) => {
                runner.sink.note(
                    json!({"kind": "scan", "code": code, "used": false, "error": e.to_string()}),
                );
            }
        },
        Command::Place {
            item,
            uid,
            owner,
            parts,
            part,
            usage,
            title,
            lift_during_write,
        } => {
            let uid = uid.unwrap_or_else(|| uid_for(&item, part.unwrap_or(0)));
            let parsed = parse_uid(&uid).context("a UID is 16 hex digits")?;
            let mut record = ItemRecord::new(
                DataModel::Iso28560_3,
                usage.unwrap_or(TypeOfUsage::Circulating),
                item,
            );
            record.owner_isil = owner;
            record.title = title;
            if let Some(parts) = parts.filter(|p| *p > 1) {
                record.set = Some(SetInfo {
                    parts,
                    part_no: part.unwrap_or(1),
                });
            }
            pad.place(crate::rfid::sim::SimTag::item(
                parsed,
                &record,
                DataModel::Iso28560_3,
            )?);
            let tags = runner.shell.read_pad().await?;
            if let Some(frames) = lift_during_write {
                pad.lift_after_frames(&parsed, frames);
            }
            runner.feed(Event::Pad(tags)).await?;
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
            link.relay.cut();
            wait_link(&runner.shell.sip2, false, Duration::from_secs(5)).await;
        }
        Command::Restore => {
            link.relay.restore();
            wait_link(&runner.shell.sip2, true, Duration::from_secs(10)).await;
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
    }
    Ok(())
}
