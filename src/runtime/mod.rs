//! The kiosk's runtime: the core ([`crate::kiosk`]) and its [`shell::Shell`] run to
//! quiescence after each input, the link to the library system watched (the sync runs in the
//! background when it comes back), acknowledged journal rows purged. The window
//! ([`serve`]) and the headless driver ([`headless`]) both drive a [`Runner`].

pub mod fleet;
pub mod headless;
pub mod link;
pub mod receipts;
pub mod serve;
pub mod shell;

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;
use tokio::sync::watch;

use crate::fleet::{FleetHandle, KioskState};
use crate::kiosk::{Effect, Event, Kiosk, ScreenModel};
use shell::{Exchange, Shell};

/// What orders an ILS request: its item (or "" for requests of no item).
fn request_key(request: &crate::kiosk::IlsRequest) -> String {
    use crate::kiosk::IlsRequest;
    match request {
        IlsRequest::Checkout { item_id, .. }
        | IlsRequest::Checkin { item_id, .. }
        | IlsRequest::Renew { item_id, .. }
        | IlsRequest::CancelHold { item_id, .. }
        | IlsRequest::MoveHold { item_id, .. } => item_id.clone(),
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
    /// How long journal rows are kept.
    retention: Retention,
    /// The day of the last purge of acknowledged journal rows (`None`: not yet).
    purged_on: Option<chrono::NaiveDate>,
    /// When to try again a sync that left rows open while the link stayed up.
    retry_sync_at: Option<tokio::time::Instant>,
    /// The background round of the e-mail outbox, and when the next is due.
    mail: Option<tokio::task::JoinHandle<Option<crate::receipt::Delivery>>>,
    next_mail_at: tokio::time::Instant,
    /// The fleet's publisher (a disabled one publishes nothing).
    fleet: FleetHandle,
    /// The printer and clock as last probed, for the fleet's health.
    probes: Option<watch::Receiver<fleet::Probes>>,
    /// The journal's queue depth and conflicts, and when they were counted.
    counts: (u64, u64),
    counted_at: Option<tokio::time::Instant>,
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
            retention: Retention::from_settings(&crate::config::Offline::default()),
            purged_on: None,
            retry_sync_at: None,
            mail: None,
            next_mail_at: tokio::time::Instant::now(),
            fleet: FleetHandle::disabled(crate::fleet::TelemetrySettings::default().outbox_max).0,
            probes: None,
            counts: (0, 0),
            counted_at: None,
            services: crate::kiosk::IlsServices::default(),
            clock_told: None,
            ils_date_seen: None,
            ntp_read_at: None,
            ntp_pinned: false,
        }
    }

    /// Report to the fleet through `fleet` (its circulation events too), with the printer and
    /// clock from `probes`.
    pub fn with_fleet(
        mut self,
        fleet: FleetHandle,
        probes: Option<watch::Receiver<fleet::Probes>>,
    ) -> Runner {
        self.shell.fleet = fleet.clone();
        self.fleet = fleet;
        self.probes = probes;
        self
    }

    /// The publisher the runner reports to.
    pub fn fleet(&self) -> &FleetHandle {
        &self.fleet
    }

    /// Tell the publisher whether the kiosk serves and how it is; the journal is counted
    /// again after circulation and every [`fleet::COUNT_EVERY`].
    pub async fn report(&mut self) {
        if !self.fleet.is_enabled() {
            return;
        }
        self.fleet.set_state(match self.kiosk.fault() {
            Some(f) => KioskState::OutOfOrder {
                reason: f.reason.clone(),
            },
            None => KioskState::Online,
        });
        if self
            .counted_at
            .is_none_or(|at| at.elapsed() >= fleet::COUNT_EVERY)
        {
            if let Some(counts) = fleet::journal_counts(&self.shell.store).await {
                self.counts = counts;
            }
            self.counted_at = Some(tokio::time::Instant::now());
        }
        let probes = self
            .probes
            .as_ref()
            .map(|p| p.borrow().clone())
            .unwrap_or_default();
        self.fleet
            .set_health(fleet::health(self, &probes, self.counts));
    }

    /// Keep journal rows this long (they are purged after each sync and once a day).
    pub fn with_retention(mut self, retention: Retention) -> Runner {
        self.retention = retention;
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
                if let Some(e) = self.carry_out(effect).await? {
                    queue.push_back(e);
                }
            }
        }
        self.after_input().await;
        Ok(())
    }

    /// Carry out one effect other than a screen (and, side by side, other than an ILS
    /// request); the event it gives back, if any.
    async fn carry_out(&mut self, effect: Effect) -> Result<Option<Event>> {
        if let Effect::CheckToken { req, token } = &effect {
            let (outcome, note) = self.shell.check_token(token).await;
            self.sink.note(note);
            return Ok(Some(Event::Token { req: *req, outcome }));
        }
        self.shell.language = self.kiosk.language();
        let (next, exchange) = self.shell.run(effect).await?;
        if let Some(x) = exchange {
            // The queue or the conflicts may have changed.
            self.counted_at = None;
            self.exchange(&x);
        }
        if let Some(Event::ReceiptDone {
            state: crate::kiosk::ReceiptState::Queued,
            ..
        }) = &next
        {
            // A mail just queued goes now rather than at the next round.
            self.next_mail_at = tokio::time::Instant::now();
            self.pump_mail();
        }
        Ok(next)
    }

    /// After each input: the session's receipt lines go with the session, and the fleet
    /// hears how the kiosk is.
    async fn after_input(&mut self) {
        if !self.kiosk.in_session() {
            // The receipt lines were the session's: nothing of it stays.
            self.shell.print_lines.clear();
        }
        self.report().await;
    }

    /// Start a round of the e-mail outbox in the background when one is due and none runs.
    pub fn pump_mail(&mut self) {
        if !self.shell.receipts.has_mailer()
            || self.mail.as_ref().is_some_and(|t| !t.is_finished())
            || tokio::time::Instant::now() < self.next_mail_at
        {
            return;
        }
        self.next_mail_at = tokio::time::Instant::now() + receipts::MAIL_ROUND;
        let service = self.shell.receipts.clone();
        let store = self.shell.store.clone();
        self.mail = Some(tokio::spawn(async move { service.send_due(&store).await }));
    }

    /// Wait for the background mail round, then send whatever is queued, for at most
    /// `timeout`; reported as a `mail` note. Nothing without a mail server.
    pub async fn drain_mail(&mut self, timeout: Duration) -> Result<()> {
        if !self.shell.receipts.has_mailer() {
            return Ok(());
        }
        // The round running in the background counts too: its mail went in this run.
        let mut sent = 0;
        if let Some(task) = self.mail.take()
            && let Ok(Ok(Some(round))) = tokio::time::timeout(timeout, task).await
        {
            sent = round.sent;
        }
        if let Some(mut delivery) = self.shell.receipts.drain(&self.shell.store, timeout).await {
            delivery.sent += sent;
            self.sink
                .note(json!({"kind": "mail", "delivery": delivery}));
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
        self.settle(&mut work).await?;
        self.after_input().await;
        Ok(())
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
                            if let Some(e) = self.carry_out(other).await? {
                                work.queue.push_back(e);
                            }
                        }
                    }
                }
                // Off they go before the next event's pad work, counted in the session's
                // language.
                self.shell.language = self.kiosk.language();
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
        // The queue or the conflicts may have changed.
        self.counted_at = None;
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
        self.settle(&mut work).await?;
        self.after_input().await;
        Ok(())
    }

    /// Read the pad and tell the core what is on it.
    pub async fn poll_pad(&mut self) -> Result<()> {
        if self.shell.sip2.sessions() > 1 {
            self.poll_pad_side_by_side().await?;
        } else {
            let tags = self.shell.read_pad().await?;
            self.feed(Event::Pad(tags)).await?;
        }
        self.poll_card().await
    }

    /// Poll the patron card reader: a card newly put on it identifies its patron. A card that
    /// gives no patron id is noted (without patron data) and changes nothing.
    pub async fn poll_card(&mut self) -> Result<()> {
        match self.shell.poll_card().await {
            Ok(Some(patron)) => self.feed(Event::Patron(patron)).await,
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::debug!("{e}");
                self.sink
                    .note(json!({"kind": "card", "used": false, "error": e}));
                Ok(())
            }
        }
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
        self.pump_mail();
        if self.purged_on != Some(chrono::Local::now().date_naive()) {
            self.purge().await?;
        }
        self.report().await;
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
        self.counted_at = None;
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
        self.counted_at = None;
        self.sink.sync(&report);
        self.purge().await
    }

    /// Delete acknowledged journal rows past the retention (the kiosk keeps no reading
    /// history), conflicts nobody resolved in time, with a warning (staff can no longer put
    /// those right from the kiosk's records), and cached patrons not seen online for
    /// `offline.patron_cache_days`, with their PIN verifiers.
    pub async fn purge(&mut self) -> Result<()> {
        let Retention {
            journal_days,
            conflict_max_days,
        } = self.retention;
        let patron_days = self.shell.config.patron_cache_days;
        let (purged, stale, patrons) = self
            .shell
            .store
            .call(move |c| {
                Ok((
                    crate::store::journal::purge_older_than(c, journal_days)?,
                    crate::store::journal::purge_stale_conflicts(c, conflict_max_days)?,
                    crate::store::cache::purge_patrons_older_than(c, patron_days)?,
                ))
            })
            .await?;
        self.purged_on = Some(chrono::Local::now().date_naive());
        if stale > 0 {
            tracing::warn!(
                conflicts = stale,
                days = conflict_max_days,
                "conflicts nobody resolved within offline.conflict_max_days were purged: \
                 the library system may still differ from what patrons did at this kiosk"
            );
        }
        if purged > 0 || stale > 0 || patrons > 0 {
            self.sink.note(
                json!({"kind": "purge", "rows": purged, "stale_conflicts": stale,
                    "cached_patrons": patrons}),
            );
        }
        Ok(())
    }
}

/// How long the journal keeps its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days an acknowledged row (resolved conflicts included) is kept.
    pub journal_days: u32,
    /// Days a conflict nobody resolved is kept.
    pub conflict_max_days: u32,
}

impl Retention {
    pub fn from_settings(offline: &crate::config::Offline) -> Retention {
        Retention {
            journal_days: offline.journal_retention_days,
            conflict_max_days: offline.conflict_max_days,
        }
    }
}
