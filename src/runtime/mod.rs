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

/// What orders an ILS request: its item (or "" for requests of no item).
fn request_key(request: &crate::kiosk::IlsRequest) -> String {
    use crate::kiosk::IlsRequest;
    match request {
        IlsRequest::Checkout { item_id, .. }
        | IlsRequest::Checkin { item_id, .. }
        | IlsRequest::Renew { item_id, .. } => item_id.clone(),
        IlsRequest::Patron { .. } | IlsRequest::RenewAll { .. } | IlsRequest::Abandon { .. } => {
            String::new()
        }
    }
}

/// An ILS request's answer with its `req` and ordering key.
type FlightResult = (
    u64,
    String,
    Result<(crate::kiosk::IlsAnswer, Exchange), shell::ShellError>,
);

/// The work of one input while its ILS requests go side by side.
#[derive(Default)]
struct SideBySide {
    queue: std::collections::VecDeque<Event>,
    /// Requests not sent yet: over the sessions' number, or their item has one out.
    waiting: std::collections::VecDeque<(u64, crate::kiosk::IlsRequest)>,
    flying: tokio::task::JoinSet<FlightResult>,
    /// Keys (items) with a request out.
    busy: std::collections::BTreeSet<String>,
}

/// Start the waiting requests whose item has none in flight, oldest first, up to `capacity`
/// in flight; a request of an item already out stays behind, and so does every later one of
/// that item.
fn launch(shell: &Shell, work: &mut SideBySide, capacity: usize) {
    let mut held = std::collections::BTreeSet::new();
    let mut kept = std::collections::VecDeque::new();
    while let Some((req, request)) = work.waiting.pop_front() {
        let key = request_key(&request);
        if work.flying.len() >= capacity || work.busy.contains(&key) || held.contains(&key) {
            held.insert(key);
            kept.push_back((req, request));
            continue;
        }
        work.busy.insert(key.clone());
        let task = shell.ils_task(request);
        work.flying.spawn(async move { (req, key, task.await) });
    }
    work.waiting = kept;
}

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

    /// Feed an event and carry out everything that follows from it. With several SIP2
    /// sessions the ILS requests of different items go side by side (see
    /// [`feed_side_by_side`](Self::feed_side_by_side)); with one, one after another.
    pub async fn feed(&mut self, event: Event) -> Result<()> {
        if self.shell.sip2.sessions() > 1 {
            return self.feed_side_by_side(event).await;
        }
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

    /// [`feed`](Self::feed) with the ILS requests in flight side by side, as many as there are
    /// sessions: the checkouts of a stack wait for the ILS together rather than each for the
    /// one before. An item has at most one request in flight, and its requests leave in the
    /// order the core made them (requests of no item, such as a patron lookup, wait for each
    /// other the same way). Answers are handed to the core as they come; the pad's security
    /// writes for the items answered go on while the others are still out.
    async fn feed_side_by_side(&mut self, event: Event) -> Result<()> {
        let mut work = SideBySide::default();
        work.queue.push_back(event);
        self.settle(&mut work).await
    }

    /// Carry out the queued events and the answers already in, launching the ILS requests
    /// they make; returns when only answers still out are left to wait for.
    async fn advance(&mut self, work: &mut SideBySide) -> Result<()> {
        let capacity = self.shell.sip2.sessions();
        loop {
            while let Some(event) = work.queue.pop_front() {
                for effect in self.kiosk.handle(event) {
                    match effect {
                        Effect::Show(model) => self.show(&model),
                        Effect::Ils { req, request } => work.waiting.push_back((req, request)),
                        other => {
                            let (next, exchange) = self.shell.run(other).await?;
                            if let Some(x) = exchange {
                                self.exchange(&x);
                            }
                            if let Some(e) = next {
                                work.queue.push_back(e);
                            }
                        }
                    }
                }
                // Off they go before the next event's pad work.
                launch(&self.shell, work, capacity);
            }
            launch(&self.shell, work, capacity);
            match work.flying.try_join_next() {
                Some(done) => self.answered(work, done)?,
                None => return Ok(()),
            }
        }
    }

    /// [`advance`](Self::advance) until every request is answered and carried out.
    async fn settle(&mut self, work: &mut SideBySide) -> Result<()> {
        loop {
            self.advance(work).await?;
            let Some(done) = work.flying.join_next().await else {
                // Nothing out, so nothing can be held back either.
                debug_assert!(work.waiting.is_empty());
                return Ok(());
            };
            self.answered(work, done)?;
        }
    }

    fn answered(
        &mut self,
        work: &mut SideBySide,
        done: Result<FlightResult, tokio::task::JoinError>,
    ) -> Result<()> {
        let (req, key, result) = done.context("an ILS request task failed")?;
        work.busy.remove(&key);
        let (answer, exchange) = result?;
        self.exchange(&exchange);
        work.queue.push_back(Event::Ils { req, answer });
        Ok(())
    }

    /// [`poll_pad`](Self::poll_pad) with several sessions: the core hears of each tag as soon
    /// as it is decoded, so an item's checkout is out while the next tags are read, and the
    /// pad's security writes of the items answered go between two reads.
    async fn poll_pad_side_by_side(&mut self) -> Result<()> {
        let (present, new) = self.shell.pad_inventory().await?;
        let mut work = SideBySide::default();
        if new.is_empty() {
            work.queue
                .push_back(Event::Pad(self.shell.pad_tags(&present)));
        }
        for uid in new {
            self.shell.read_one(uid).await?;
            work.queue
                .push_back(Event::Pad(self.shell.pad_tags(&present)));
            self.advance(&mut work).await?;
        }
        self.settle(&mut work).await
    }

    /// Read the pad and tell the core what is on it.
    pub async fn poll_pad(&mut self) -> Result<()> {
        if self.shell.sip2.sessions() > 1 {
            return self.poll_pad_side_by_side().await;
        }
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
