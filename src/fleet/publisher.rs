//! The publisher: an actor on the tokio runtime that keeps the kiosk's retained topics
//! current, sends the outbox's circulation events, publishes the day's figures and answers the
//! fleet's commands. The kiosk talks to it through a cloneable [`FleetHandle`] whose methods
//! never block and never fail: state and health are the latest values (a `watch`), events go
//! through the SQLite outbox and [`FleetHandle::notify`] only wakes the actor.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::broker::{BrokerError, BrokerHandle};
use super::command::{self, Command, CommandRequest, FleetCommand};
use super::link::{INFLIGHT, Link, LinkEvent, LinkOptions};
use super::payload::{CommandReply, Health, HealthReport, Info, Metrics, State, now_stamp};
use super::settings::{BrokerAddr, TelemetrySettings};
use super::topics::{Kind, Topics};
use crate::config::Settings;
use crate::config::time_zone::Zone;
use crate::store::{self, StoreHandle};

/// Outbox rows published and awaiting their PUBACK at one time (below rumqttc's window, which
/// the retained topics and replies share).
const EVENT_WINDOW: usize = (INFLIGHT as usize) / 2;
/// How often the actor looks at the clock, the disk and the outbox.
const TICK: Duration = Duration::from_secs(1);
/// How often health's disk and outbox figures are read again.
const HEALTH_REFRESH: Duration = Duration::from_secs(30);
/// A change of free disk space worth a new health report.
const DISK_STEP: u64 = 64 * 1024 * 1024;
/// The shortest time between two metrics published because new events came (the lobby's
/// figures follow the day live without a message per loan).
const METRICS_MIN_GAP: Duration = Duration::from_secs(5);
/// How long the runtime has to answer a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Commands waiting for the runtime.
const COMMAND_QUEUE: usize = 8;
/// Command ids remembered, so that a QoS 1 copy of a command is not obeyed twice.
const SEEN_IDS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("telemetry.broker: {0}")]
    Broker(String),
    #[error("cannot connect to the MQTT broker: {0}")]
    Link(String),
    #[error(transparent)]
    Embedded(#[from] BrokerError),
}

/// Whether the kiosk serves patrons (what the `state` topic says while it runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskState {
    Online,
    OutOfOrder { reason: String },
}

/// What the publisher needs to know about the kiosk.
#[derive(Debug, Clone)]
pub struct FleetSetup {
    pub telemetry: TelemetrySettings,
    /// The MQTT client id and topic level ([`super::terminal_id`]).
    pub terminal_id: String,
    pub info: Info,
    /// Whose calendar day the metrics count.
    pub zone: Zone,
    /// The data directory, whose free space health reports; `None`: not reported.
    pub data_dir: Option<PathBuf>,
    /// The settings a `settings` command writes (into their terminal file); `None`: the
    /// command is refused.
    pub settings_files: Option<crate::config::layers::Layers>,
}

impl FleetSetup {
    /// The setup of a kiosk from its settings: `board` names the board file, `settings_files`
    /// where its settings came from (changes go where staff mode saves them).
    pub fn from_settings(
        settings: &Settings,
        board: &str,
        data_dir: &std::path::Path,
        settings_files: crate::config::layers::Layers,
    ) -> FleetSetup {
        let terminal_id = super::terminal_id(&settings.terminal.id);
        FleetSetup {
            info: Info {
                terminal: terminal_id.clone(),
                site: settings.telemetry.site.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                board: board.into(),
                languages: settings.terminal.languages.clone(),
                location: settings.terminal.location.clone(),
                library_name: settings.terminal.library_name.clone(),
                simulated: false,
                started_at: now_stamp(),
            },
            telemetry: settings.telemetry.clone(),
            terminal_id,
            zone: settings.terminal.zone(),
            data_dir: Some(data_dir.to_path_buf()),
            settings_files: Some(settings_files),
        }
    }
}

/// The kiosk's side of the publisher. Cheap to clone; the actor publishes `offline` and ends
/// when the last clone is dropped or [`FleetHandle::shutdown`] is called.
#[derive(Clone)]
pub struct FleetHandle {
    shared: Arc<Shared>,
}

struct Shared {
    enabled: bool,
    outbox_max: u32,
    state: watch::Sender<KioskState>,
    health: watch::Sender<Health>,
    outbox: Arc<Notify>,
    stop: Mutex<Option<oneshot::Sender<oneshot::Sender<()>>>>,
    /// Keeps the commands channel of a disabled handle open, so the runtime's receiver waits
    /// rather than ends.
    _idle_commands: Option<mpsc::Sender<CommandRequest>>,
    _broker: Option<BrokerHandle>,
}

/// The commands the runtime must carry out, each with its reply channel.
pub type FleetCommands = mpsc::Receiver<CommandRequest>;

impl FleetHandle {
    /// A handle that publishes nothing (`telemetry.enabled = false`).
    pub fn disabled(outbox_max: u32) -> (FleetHandle, FleetCommands) {
        let (tx, rx) = mpsc::channel(1);
        let shared = Shared {
            enabled: false,
            outbox_max,
            state: watch::channel(KioskState::Online).0,
            health: watch::channel(Health::default()).0,
            outbox: Arc::new(Notify::new()),
            stop: Mutex::new(None),
            _idle_commands: Some(tx),
            _broker: None,
        };
        (
            FleetHandle {
                shared: Arc::new(shared),
            },
            rx,
        )
    }

    /// Start publishing on `runtime`: the embedded broker first when `broker = "embedded"`
    /// (unless one already listens there), then the connection, which retries by itself.
    /// With telemetry off, a [`FleetHandle::disabled`] one.
    pub fn start(
        setup: FleetSetup,
        store: StoreHandle,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(FleetHandle, FleetCommands), FleetError> {
        let tel = &setup.telemetry;
        if !tel.enabled {
            return Ok(FleetHandle::disabled(tel.outbox_max));
        }
        let broker = tel.broker_addr().map_err(FleetError::Broker)?;
        let outbox_max = tel.outbox_max;
        let embedded = match broker {
            BrokerAddr::Embedded => start_or_share_embedded(tel)?,
            BrokerAddr::Remote { .. } => None,
        };
        let topics = Topics::new(&tel.topic_prefix, &tel.site, &setup.terminal_id);
        let options = LinkOptions {
            client_id: setup.terminal_id.clone(),
            broker,
            user: tel.user.clone(),
            password: tel.password.clone(),
            ca_file: tel.ca_file.clone(),
            keep_alive: Duration::from_secs(u64::from(tel.keep_alive_secs)),
            will: Some((topics.of(Kind::State), State::Offline.as_str().into())),
        };
        let _guard = runtime.enter();
        let (link, link_events) = Link::open(&options).map_err(FleetError::Link)?;
        let (state, state_rx) = watch::channel(KioskState::Online);
        let (health, health_rx) = watch::channel(Health::default());
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (replies, replies_rx) = mpsc::channel(COMMAND_QUEUE);
        let (stop, stop_rx) = oneshot::channel();
        let outbox = Arc::new(Notify::new());
        let day = setup.zone.today();
        let actor = Actor {
            link,
            topics,
            store,
            setup,
            started: Instant::now(),
            connected: false,
            commands,
            replies,
            outbox: outbox.clone(),
            in_flight: HashSet::new(),
            cursor: 0,
            outbox_more: true,
            state_dirty: true,
            health_dirty: true,
            health_read: None,
            last_health: None,
            metrics_at: None,
            metrics_changed: false,
            metrics_day: day,
            seen_ids: VecDeque::new(),
        };
        runtime.spawn(actor.run(link_events, state_rx, health_rx, replies_rx, stop_rx));
        let shared = Shared {
            enabled: true,
            outbox_max,
            state,
            health,
            outbox,
            stop: Mutex::new(Some(stop)),
            _idle_commands: None,
            _broker: embedded,
        };
        Ok((
            FleetHandle {
                shared: Arc::new(shared),
            },
            commands_rx,
        ))
    }

    /// Whether anything is published: when not, the kiosk need not fill the outbox.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled
    }

    /// `telemetry.outbox_max`, for [`crate::store::fleet::enqueue_event`].
    pub fn outbox_max(&self) -> u32 {
        self.shared.outbox_max
    }

    /// The kiosk serves patrons, or is out of order and why.
    pub fn set_state(&self, state: KioskState) {
        self.shared.state.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// The runtime's view of the kiosk's health; published when it changed.
    pub fn set_health(&self, health: Health) {
        self.shared.health.send_if_modified(|h| {
            let changed = *h != health;
            *h = health;
            changed
        });
    }

    /// An event was written to the outbox: publish it now.
    pub fn notify(&self) {
        self.shared.outbox.notify_one();
    }

    /// Publish `offline`, leave the broker and end the actor; waits at most two seconds.
    pub async fn shutdown(&self) {
        let stop = self
            .shared
            .stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(stop) = stop {
            let (done, finished) = oneshot::channel();
            if stop.send(done).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), finished).await;
            }
        }
    }
}

/// `broker = "embedded"`: start it on loopback, or use the one already there (`selfcheck
/// broker` run as a service of its own).
fn start_or_share_embedded(tel: &TelemetrySettings) -> Result<Option<BrokerHandle>, FleetError> {
    match super::broker::start_embedded(super::settings::EMBEDDED_ADDR, tel.login()) {
        Ok(handle) => Ok(Some(handle)),
        Err(BrokerError::Listen { addr, source })
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            tracing::info!(%addr, "an MQTT broker already listens there: the kiosk uses it");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The part of a health report whose change is worth publishing.
#[derive(Debug, Clone, PartialEq)]
struct HealthKey {
    health: Health,
    reason: Option<String>,
    disk_step: Option<u64>,
    dropped: u64,
}

struct Actor {
    link: Link,
    topics: Topics,
    store: StoreHandle,
    setup: FleetSetup,
    started: Instant,
    connected: bool,
    commands: mpsc::Sender<CommandRequest>,
    replies: mpsc::Sender<(String, CommandReply)>,
    outbox: Arc<Notify>,
    /// Outbox rows published on this connection and not yet acknowledged.
    in_flight: HashSet<i64>,
    /// The newest row published on this connection.
    cursor: i64,
    outbox_more: bool,
    state_dirty: bool,
    health_dirty: bool,
    /// When disk and outbox were last read for health.
    health_read: Option<Instant>,
    last_health: Option<HealthKey>,
    metrics_at: Option<Instant>,
    /// Events were counted since the last metrics.
    metrics_changed: bool,
    metrics_day: NaiveDate,
    seen_ids: VecDeque<String>,
}

impl Actor {
    async fn run(
        mut self,
        mut link_events: mpsc::Receiver<LinkEvent>,
        mut state: watch::Receiver<KioskState>,
        mut health: watch::Receiver<Health>,
        mut replies: mpsc::Receiver<(String, CommandReply)>,
        mut stop: oneshot::Receiver<oneshot::Sender<()>>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outbox = self.outbox.clone();
        let done = loop {
            tokio::select! {
                event = link_events.recv() => match event {
                    Some(event) => self.on_link(event).await,
                    None => break None,
                },
                changed = state.changed() => {
                    if changed.is_err() {
                        break None;
                    }
                    self.state_dirty = true;
                    self.health_dirty = true;
                }
                changed = health.changed() => {
                    if changed.is_err() {
                        break None;
                    }
                    self.health_dirty = true;
                }
                _ = outbox.notified() => {
                    self.outbox_more = true;
                    self.metrics_changed = true;
                }
                Some((name, reply)) = replies.recv() => self.reply(&name, &reply),
                _ = tick.tick() => self.on_tick(),
                asked = &mut stop => break asked.ok(),
            }
            if self.connected {
                let state = state.borrow().clone();
                let health = health.borrow().clone();
                self.flush(&state, &health).await;
            }
        };
        self.close().await;
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    async fn on_link(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Connected => {
                tracing::info!(terminal = %self.setup.terminal_id, "connected to the MQTT broker");
                self.connected = true;
                self.in_flight.clear();
                self.cursor = 0;
                self.outbox_more = true;
                self.state_dirty = true;
                self.health_dirty = true;
                self.last_health = None;
                self.metrics_at = None;
                self.link.subscribe(&self.topics.commands());
                match serde_json::to_vec(&self.setup.info) {
                    Ok(info) => {
                        self.link
                            .publish(&self.topics.of(Kind::Info), info, true, None);
                    }
                    Err(e) => tracing::warn!("info not serialisable: {e}"),
                }
            }
            LinkEvent::Disconnected(reason) => {
                if self.connected {
                    tracing::warn!("lost the MQTT broker: {reason}");
                } else {
                    tracing::debug!("MQTT broker not reachable: {reason}");
                }
                self.connected = false;
                self.in_flight.clear();
            }
            LinkEvent::Acked(row) => {
                self.in_flight.remove(&row);
                self.outbox_more = true;
                if let Err(e) = self
                    .store
                    .call(move |c| store::fleet::delete_event(c, row))
                    .await
                {
                    tracing::warn!("cannot clear an acknowledged event: {e}");
                }
            }
            LinkEvent::Message {
                topic,
                payload,
                retain,
            } => self.on_command(&topic, &payload, retain),
        }
    }

    fn on_tick(&mut self) {
        // Rows left behind by a full rumqttc queue are retried.
        self.outbox_more = true;
        if self
            .health_read
            .is_none_or(|at| at.elapsed() >= HEALTH_REFRESH)
        {
            self.health_dirty = true;
        }
    }

    async fn flush(&mut self, state: &KioskState, health: &Health) {
        if self.state_dirty {
            let word = match state {
                KioskState::Online => State::Online,
                KioskState::OutOfOrder { .. } => State::OutOfOrder,
            };
            if self.link.publish(
                &self.topics.of(Kind::State),
                word.as_str().into(),
                true,
                None,
            ) {
                self.state_dirty = false;
            }
        }
        if self.health_dirty {
            self.publish_health(state, health).await;
        }
        if self.outbox_more {
            self.publish_outbox().await;
        }
        self.publish_metrics_when_due().await;
    }

    async fn publish_health(&mut self, state: &KioskState, health: &Health) {
        let status = match self.store.call(|c| store::fleet::outbox_status(c)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot read the outbox for health: {e}");
                store::fleet::OutboxStatus::default()
            }
        };
        let disk = self.setup.data_dir.as_deref().and_then(disk_free);
        self.health_read = Some(Instant::now());
        self.health_dirty = false;
        let reason = match state {
            KioskState::OutOfOrder { reason } => Some(reason.clone()),
            KioskState::Online => None,
        };
        let key = HealthKey {
            health: health.clone(),
            reason: reason.clone(),
            disk_step: disk.map(|d| d / DISK_STEP),
            dropped: status.dropped,
        };
        if self.last_health.as_ref() == Some(&key) {
            return;
        }
        let report = HealthReport {
            health: health.clone(),
            out_of_order_reason: reason,
            disk_free_bytes: disk,
            uptime_secs: self.started.elapsed().as_secs(),
            outbox_pending: status.pending,
            outbox_dropped: status.dropped,
            time: now_stamp(),
        };
        let Ok(payload) = serde_json::to_vec(&report) else {
            return;
        };
        if self
            .link
            .publish(&self.topics.of(Kind::Health), payload, true, None)
        {
            self.last_health = Some(key);
        } else {
            self.health_dirty = true;
        }
    }

    async fn publish_outbox(&mut self) {
        let free = EVENT_WINDOW.saturating_sub(self.in_flight.len());
        if free == 0 {
            return;
        }
        let after = self.cursor;
        let due = match self
            .store
            .call(move |c| store::fleet::due_events(c, after, free))
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("cannot read the telemetry outbox: {e}");
                return;
            }
        };
        self.outbox_more = due.len() == free;
        let topic = self.topics.of(Kind::Event);
        for row in due {
            let Ok(payload) = serde_json::to_vec(&row.message) else {
                continue;
            };
            if !self.link.publish(&topic, payload, false, Some(row.row)) {
                self.outbox_more = true;
                return;
            }
            self.cursor = row.row;
            self.in_flight.insert(row.row);
        }
    }

    async fn publish_metrics_when_due(&mut self) {
        let today = self.setup.zone.today();
        let interval = Duration::from_secs(u64::from(self.setup.telemetry.metrics_interval_secs));
        if today != self.metrics_day {
            // The closing figures of the day that ended, then the new day's.
            let ended = self.metrics_day;
            self.metrics_day = today;
            self.publish_metrics(ended).await;
            self.metrics_at = None;
        }
        let wait = if self.metrics_changed {
            METRICS_MIN_GAP.min(interval)
        } else {
            interval
        };
        if self.metrics_at.is_some_and(|at| at.elapsed() < wait) {
            return;
        }
        self.metrics_changed = false;
        if self.publish_metrics(today).await {
            self.metrics_at = Some(Instant::now());
        }
    }

    async fn publish_metrics(&mut self, day: NaiveDate) -> bool {
        let counts = match self
            .store
            .call(move |c| store::stats::day_counts(c, day))
            .await
        {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!("cannot read the day's statistics: {e}");
                return false;
            }
        };
        let metrics = Metrics {
            day: day.to_string(),
            counts,
            time: now_stamp(),
        };
        match serde_json::to_vec(&metrics) {
            Ok(payload) => self
                .link
                .publish(&self.topics.of(Kind::Metrics), payload, true, None),
            Err(_) => false,
        }
    }

    fn on_command(&mut self, topic: &str, payload: &[u8], retain: bool) {
        let Some(name) = self.topics.command_name(topic).map(str::to_string) else {
            return;
        };
        let refuse = |actor: &Actor, id: Option<String>, message: String, errors: Vec<String>| {
            tracing::warn!(command = %name, "fleet command refused: {message}");
            actor.reply(
                &name,
                &CommandReply {
                    id,
                    command: name.clone(),
                    ok: false,
                    message,
                    errors,
                },
            );
        };
        if retain {
            // Obeyed, it would run again at every reconnect.
            refuse(
                self,
                None,
                "a retained command is not obeyed: publish commands without the retain flag".into(),
                Vec::new(),
            );
            return;
        }
        let request = match command::parse(&name, payload) {
            Ok(request) => request,
            Err(e) => return refuse(self, e.id, e.message, Vec::new()),
        };
        if let Some(id) = &request.id {
            if self.seen_ids.contains(id) {
                tracing::info!(command = %name, %id, "fleet command delivered again: already obeyed");
                return;
            }
            if self.seen_ids.len() >= SEEN_IDS {
                self.seen_ids.pop_front();
            }
            self.seen_ids.push_back(id.clone());
        }
        let id = request.id.clone();
        match request.command {
            Command::Settings { toml } => {
                let Some(files) = self.setup.settings_files.clone() else {
                    return refuse(
                        self,
                        id,
                        "this terminal has no settings file".into(),
                        Vec::new(),
                    );
                };
                let keys = fragment_keys(&toml);
                tracing::info!(command = %name, id = ?id, keys = %keys.join(", "), "fleet command: saving settings");
                let replies = self.replies.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = match crate::config::file::write_fragment(&files, &toml) {
                        Ok(_) => {
                            tracing::info!(file = %files.local.display(), "fleet settings saved; they apply at the next restart");
                            CommandReply {
                                id,
                                command: name.clone(),
                                ok: true,
                                message: format!(
                                    "saved ({}); applies at the next restart",
                                    keys.join(", ")
                                ),
                                errors: Vec::new(),
                            }
                        }
                        Err(errors) => {
                            tracing::warn!(problems = errors.len(), "fleet settings refused");
                            CommandReply {
                                id,
                                command: name.clone(),
                                ok: false,
                                message: format!("refused: {} problem(s)", errors.len()),
                                errors,
                            }
                        }
                    };
                    let _ = replies.blocking_send((name, reply));
                });
            }
            Command::Runtime(command) => self.hand_to_runtime(name, id, command),
        }
    }

    fn hand_to_runtime(&mut self, name: String, id: Option<String>, command: FleetCommand) {
        let (reply, answer) = oneshot::channel();
        let described = match &command {
            FleetCommand::OutOfOrder { reason } => format!("{name} ({reason})"),
            _ => name.clone(),
        };
        if let Err(e) = self.commands.try_send(CommandRequest { command, reply }) {
            let message = match e {
                mpsc::error::TrySendError::Full(_) => "the kiosk is busy with other commands",
                mpsc::error::TrySendError::Closed(_) => "this terminal takes no commands",
            };
            tracing::warn!(command = %name, "fleet command not handed over: {message}");
            self.reply(
                &name,
                &CommandReply {
                    id,
                    command: name.clone(),
                    ok: false,
                    message: message.into(),
                    errors: Vec::new(),
                },
            );
            return;
        }
        tracing::info!(command = %described, id = ?id, "fleet command received");
        let replies = self.replies.clone();
        tokio::spawn(async move {
            let (ok, message) = match tokio::time::timeout(COMMAND_TIMEOUT, answer).await {
                Ok(Ok(Ok(message))) => (true, message),
                Ok(Ok(Err(reason))) => (false, reason),
                Ok(Err(_)) | Err(_) => (false, "the kiosk did not answer".to_string()),
            };
            if ok {
                tracing::info!(command = %described, "fleet command obeyed: {message}");
            } else {
                tracing::warn!(command = %described, "fleet command not carried out: {message}");
            }
            let reply = CommandReply {
                id,
                command: name.clone(),
                ok,
                message,
                errors: Vec::new(),
            };
            let _ = replies.send((name, reply)).await;
        });
    }

    fn reply(&self, name: &str, reply: &CommandReply) {
        let Ok(payload) = serde_json::to_vec(reply) else {
            return;
        };
        if !self
            .link
            .publish(&self.topics.reply(name), payload, false, None)
        {
            tracing::warn!(command = %name, "the reply could not be sent: not connected");
        }
    }

    /// Say `offline` and leave; the last will is for the kiosk that cannot.
    async fn close(mut self) {
        if self.connected {
            let today = self.setup.zone.today();
            self.publish_metrics(today).await;
        }
        if self.connected
            && self.link.publish(
                &self.topics.of(Kind::State),
                State::Offline.as_str().into(),
                true,
                None,
            )
        {
            self.link.disconnect();
            // Let the event loop send both before the link is dropped.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tracing::info!("fleet telemetry stopped");
    }
}

/// The `section.key` names a settings fragment sets (never their values: some are secrets).
fn fragment_keys(fragment: &str) -> Vec<String> {
    let Ok(doc) = fragment.parse::<toml_edit::DocumentMut>() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for (section, item) in doc.iter() {
        match item.as_table_like() {
            Some(table) => keys.extend(table.iter().map(|(k, _)| format!("{section}.{k}"))),
            None => keys.push(section.to_string()),
        }
    }
    keys
}

/// Free bytes for unprivileged users on the file system holding `dir`.
#[cfg(target_os = "linux")]
fn disk_free(dir: &std::path::Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::useless_conversion)] // the field types differ between targets
    Some(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
}

#[cfg(not(target_os = "linux"))]
fn disk_free(_dir: &std::path::Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_keys_name_no_values() {
        assert_eq!(
            fragment_keys("[ils]\npassword = \"s3cret\"\n[terminal]\nid = \"k\"\n"),
            ["ils.password", "terminal.id"]
        );
        assert!(fragment_keys("[x").is_empty());
    }

    #[test]
    fn the_data_dir_has_free_space() {
        let dir = tempfile::tempdir().expect("tmp");
        if cfg!(target_os = "linux") {
            assert!(disk_free(dir.path()).is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn a_disabled_handle_takes_everything_and_does_nothing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (fleet, mut commands) = FleetHandle::disabled(100);
        assert!(!fleet.is_enabled());
        fleet.set_state(KioskState::OutOfOrder { reason: "x".into() });
        fleet.set_health(Health::default());
        fleet.notify();
        rt.block_on(async {
            fleet.shutdown().await;
            let waited = tokio::time::timeout(Duration::from_millis(50), commands.recv()).await;
            assert!(waited.is_err(), "no command, and the channel stays open");
        });
    }
}
