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
    /// What the ILS's ACS status allows, as last told to the core.
    services: crate::kiosk::IlsServices,
    /// The clock state last told to the core (`None`: not yet), the last ILS date compared,
    /// and when the system's NTP state was last read.
    clock_told: Option<bool>,
    ils_date_seen: Option<crate::sip2::SipDateTime>,
    ntp_read_at: Option<tokio::time::Instant>,
    /// The NTP state was set by the headless driver: not read from the system.
    ntp_pinned: bool,
}

/// How often the system's NTP state is read again while the clock is not trusted.
const NTP_REREAD: Duration = Duration::from_secs(60);

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
            services: crate::kiosk::IlsServices::default(),
            clock_told: None,
            ils_date_seen: None,
            ntp_read_at: None,
            ntp_pinned: false,
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
        self.check_acs().await?;
        self.check_clock().await?;
        self.check_sync().await?;
        if self.purged_on != Some(chrono::Local::now().date_naive()) {
            self.purge().await?;
        }
        Ok(())
    }

    /// Tell the core what the ILS's latest ACS status (98) allows, and compare its date with
    /// the local clock.
    async fn check_acs(&mut self) -> Result<()> {
        let acs = match &*self.shell.sip2.link().borrow() {
            crate::sip2::client::LinkState::Online { acs } => Some(acs.as_ref().clone()),
            _ => None,
        };
        let Some(acs) = acs else {
            return Ok(());
        };
        let services = crate::kiosk::IlsServices {
            checkout: acs.checkout_ok,
            checkin: acs.checkin_ok,
        };
        if services != self.services {
            self.services = services;
            tracing::info!(
                "the ILS's status allows checkout: {}, checkin: {}",
                services.checkout,
                services.checkin
            );
            self.feed(Event::IlsServices(services)).await?;
        }
        if let Some(date) = acs.date_time_sync
            && self.ils_date_seen.as_ref() != Some(&date)
        {
            let check = self.shell.clock.observe_ils_date_now(&date);
            if !matches!(check, crate::clock::IlsDateCheck::Agreed { .. }) {
                tracing::warn!("clock: {}", self.shell.clock.reason());
            }
            self.ils_date_seen = Some(date);
        }
        Ok(())
    }

    /// Read the system's NTP state when due (at start, then every minute while the clock is
    /// not trusted) and tell the core when whether the clock is right changes.
    async fn check_clock(&mut self) -> Result<()> {
        let due = self
            .ntp_read_at
            .is_none_or(|at| at.elapsed() >= NTP_REREAD && !self.shell.clock.is_synchronised());
        if due && self.shell.config.clock_check && !self.ntp_pinned {
            self.ntp_read_at = Some(tokio::time::Instant::now());
            let state = tokio::task::spawn_blocking(crate::clock::system_ntp_state)
                .await
                .context("the NTP check failed")?;
            self.shell.clock.set_system(state);
        }
        self.tell_clock().await
    }

    /// Set the system's NTP state from outside (the headless driver's `ntp` command) and
    /// stop reading it from the system.
    pub async fn pin_ntp(&mut self, state: crate::clock::NtpState) -> Result<()> {
        self.ntp_pinned = true;
        self.shell.clock.set_system(state);
        self.tell_clock().await
    }

    /// Tell the core whether the clock is right, when that changed.
    pub async fn tell_clock(&mut self) -> Result<()> {
        let synchronised = self.shell.clock.is_synchronised();
        if self.clock_told != Some(synchronised) {
            if self.clock_told.is_some() || !synchronised {
                tracing::info!(
                    "clock {}: {}",
                    if synchronised {
                        "trusted"
                    } else {
                        "not trusted"
                    },
                    self.shell.clock.reason()
                );
            }
            self.clock_told = Some(synchronised);
            self.feed(Event::Clock { synchronised }).await?;
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

    /// Delete acknowledged journal rows past the retention (the kiosk keeps no reading
    /// history) and cached patrons not seen online for `offline.patron_cache_days`, with their
    /// PIN verifiers.
    pub async fn purge(&mut self) -> Result<()> {
        let days = self.retention_days;
        let patron_days = self.shell.config.patron_cache_days;
        let (purged, patrons) = self
            .shell
            .store
            .call(move |c| {
                Ok((
                    crate::store::journal::purge_older_than(c, days)?,
                    crate::store::cache::purge_patrons_older_than(c, patron_days)?,
                ))
            })
            .await?;
        self.purged_on = Some(chrono::Local::now().date_naive());
        if purged > 0 || patrons > 0 {
            self.sink
                .note(json!({"kind": "purge", "rows": purged, "cached_patrons": patrons}));
        }
        Ok(())
    }
}
