//! The kiosk's runtime: the core ([`crate::kiosk`]) and its [`shell::Shell`] run to
//! quiescence after each input, the link to the library system watched (the sync runs in the
//! background when it comes back), acknowledged journal rows purged. The window
//! ([`serve`]) and the headless driver ([`headless`]) both drive a [`Runner`].

pub mod headless;
pub mod link;
pub mod serve;
pub mod shell;

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;
use tokio::sync::watch;

use crate::kiosk::{Effect, Event, Kiosk, ScreenModel};
use shell::{Exchange, Shell};

/// The exit status that asks the service manager for a fresh start (the systemd unit has
/// `RestartForceExitStatus=75`; 75 is EX_TEMPFAIL).
pub const RESTART_EXIT_CODE: u8 = 75;

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
                if let Effect::CheckToken { req, token } = &effect {
                    let (outcome, note) = self.shell.check_token(token).await;
                    self.sink.note(note);
                    queue.push_back(Event::Token { req: *req, outcome });
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
                self.shell.observe_link_date();
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
