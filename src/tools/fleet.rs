//! `selfcheck fleet status | simulate` and `selfcheck broker`: the fleet seen from the command
//! line, synthetic circulation for demos and load tests, and the embedded MQTT broker.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

use crate::config::Settings;
use crate::fleet::payload::{Component, EventPayload, Health, MediaKind, Outcome};
use crate::fleet::topics::{self, Kind};
use crate::fleet::{
    BrokerAddr, FleetHandle, FleetSetup, KioskState, Link, LinkEvent, LinkOptions,
    TelemetrySettings,
};
use crate::store::journal::Action;
use crate::store::{self, StoreHandle};

#[derive(Debug, Subcommand)]
pub enum FleetTool {
    /// Every terminal the broker knows of: state, health and the day's figures
    Status(StatusArgs),
    /// Synthetic circulation from simulated terminals (marked simulated in their info)
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this site (branch code)
    #[arg(long)]
    pub site: Option<String>,
    /// Seconds to listen for the retained topics
    #[arg(long, default_value_t = 2.0)]
    pub wait: f64,
    /// Broker (default: telemetry.broker): embedded, mqtt://HOST[:PORT], mqtts://HOST[:PORT]
    #[arg(long)]
    pub broker: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// How many terminals, each with its own MQTT client id
    #[arg(long, default_value_t = 3)]
    pub terminals: u32,
    /// Circulation events per second, over all the terminals
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Site of the simulated terminals (default: telemetry.site)
    #[arg(long)]
    pub site: Option<String>,
    /// Stop after this many seconds (default: at Ctrl-C)
    #[arg(long)]
    pub duration: Option<f64>,
    /// Broker (default: telemetry.broker)
    #[arg(long)]
    pub broker: Option<String>,
}

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Address to listen on (loopback by default; 0.0.0.0:1883 for the whole network)
    #[arg(long, default_value = crate::fleet::broker::DEFAULT_LISTEN)]
    pub listen: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetToolError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach the MQTT broker {broker}: {reason}")]
    Unreachable { broker: String, reason: String },
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error(transparent)]
    Broker(#[from] crate::fleet::broker::BrokerError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The telemetry settings with a `--broker` and `--site` from the command line, checked.
fn telemetry(
    settings: &Settings,
    broker: Option<&str>,
    site: Option<&str>,
) -> Result<TelemetrySettings, FleetToolError> {
    let mut t = settings.telemetry.clone();
    if let Some(b) = broker {
        t.broker = b.into();
        if !BrokerAddr::parse(b).is_ok_and(|a| a.is_tls()) {
            t.ca_file = None;
        }
    }
    if let Some(s) = site {
        t.site = s.into();
    }
    t.enabled = true;
    let mut problems = Vec::new();
    t.problems(&settings.terminal.id, &mut problems);
    if let Some(p) = problems.first() {
        return Err(FleetToolError::Usage(p.to_string()));
    }
    Ok(t)
}

fn runtime() -> Result<tokio::runtime::Runtime, FleetToolError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn run(settings: &Settings, tool: &FleetTool) -> Result<(), FleetToolError> {
    match tool {
        FleetTool::Status(args) => {
            let report = status(settings, args)?;
            if args.json {
                println!("{}", super::report::json(&report));
            } else {
                print!("{}", status_text(&report));
            }
            Ok(())
        }
        FleetTool::Simulate(args) => simulate(settings, args),
    }
}

/// One terminal as the broker's retained topics show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TerminalStatus {
    pub site: String,
    pub terminal: String,
    pub state: Option<String>,
    pub info: Option<Value>,
    pub health: Option<Value>,
    pub metrics: Option<Value>,
}

/// Listen to the retained topics of the fleet (or one site) for `--wait` seconds.
pub fn status(
    settings: &Settings,
    args: &StatusArgs,
) -> Result<Vec<TerminalStatus>, FleetToolError> {
    let tel = telemetry(settings, args.broker.as_deref(), None)?;
    let broker = tel.broker.clone();
    let wait = Duration::from_secs_f64(args.wait.clamp(0.2, 60.0));
    let options = LinkOptions {
        client_id: format!("selfcheck-status-{}", std::process::id()),
        broker: tel.broker_addr().map_err(FleetToolError::Usage)?,
        user: tel.user.clone(),
        password: tel.password.clone(),
        ca_file: tel.ca_file.clone(),
        keep_alive: Duration::from_secs(30),
        will: None,
    };
    let prefix = tel.topic_prefix.clone();
    let site = args.site.clone();
    runtime()?.block_on(async move {
        let (link, mut events) = Link::open(&options).map_err(FleetToolError::Usage)?;
        let mut seen: BTreeMap<(String, String), TerminalStatus> = BTreeMap::new();
        let mut connected_at: Option<Instant> = None;
        let started = Instant::now();
        let mut last_error = String::from("no answer");
        loop {
            let deadline = match connected_at {
                Some(at) => at + wait,
                None => started + wait + Duration::from_secs(3),
            };
            let event = tokio::select! {
                event = events.recv() => event,
                _ = tokio::time::sleep_until(deadline.into()) => break,
            };
            match event {
                Some(LinkEvent::Connected) => {
                    for kind in [Kind::State, Kind::Info, Kind::Health, Kind::Metrics] {
                        link.subscribe(&topics::fleet_filter(&prefix, site.as_deref(), kind));
                    }
                    connected_at = Some(Instant::now());
                }
                Some(LinkEvent::Message { topic, payload, .. }) => {
                    let Some(origin) = topics::parse(&prefix, &topic) else {
                        continue;
                    };
                    let entry = seen
                        .entry((origin.site.clone(), origin.terminal.clone()))
                        .or_insert_with(|| TerminalStatus {
                            site: origin.site.clone(),
                            terminal: origin.terminal.clone(),
                            ..TerminalStatus::default()
                        });
                    let json = || serde_json::from_slice::<Value>(&payload).ok();
                    match origin.kind {
                        Kind::State => {
                            entry.state = Some(String::from_utf8_lossy(&payload).trim().into())
                        }
                        Kind::Info => entry.info = json(),
                        Kind::Health => entry.health = json(),
                        Kind::Metrics => entry.metrics = json(),
                        Kind::Event => {}
                    }
                }
                Some(LinkEvent::Disconnected(reason)) => last_error = reason,
                Some(LinkEvent::Acked(_)) => {}
                None => break,
            }
        }
        link.disconnect();
        if connected_at.is_none() {
            return Err(FleetToolError::Unreachable {
                broker,
                reason: last_error,
            });
        }
        Ok(seen.into_values().collect())
    })
}

/// One line a terminal: where, state, the link and queue, today's figures.
pub fn status_text(terminals: &[TerminalStatus]) -> String {
    if terminals.is_empty() {
        return "no terminal seen\n".into();
    }
    let field = |v: &Option<Value>, key: &str| -> String {
        v.as_ref()
            .and_then(|v| v.get(key))
            .map(|x| match x {
                Value::String(s) => s.clone(),
                Value::Bool(true) => "yes".into(),
                Value::Bool(false) => "no".into(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "-".into())
    };
    let mut out = String::new();
    for t in terminals {
        let simulated = t
            .info
            .as_ref()
            .and_then(|i| i.get("simulated"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        out.push_str(&format!(
            "{}/{}  {}{}  ils online: {}  queue: {}  conflicts: {}  today: {} loans, {} returns, {} renewals, {} refusals  version: {}\n",
            t.site,
            t.terminal,
            t.state.as_deref().unwrap_or("-"),
            if simulated { " (simulated)" } else { "" },
            field(&t.health, "ils_online"),
            field(&t.health, "queue_depth"),
            field(&t.health, "conflicts"),
            field(&t.metrics, "loans"),
            field(&t.metrics, "returns"),
            field(&t.metrics, "renewals"),
            field(&t.metrics, "refusals"),
            field(&t.info, "version"),
        ));
    }
    out
}

/// A small deterministic generator: the simulation needs variety, not secrecy.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A plausible circulation action: mostly loans and returns, a few renewals and refusals,
/// titles from the demo catalogue in the session language of their script most of the time.
fn synthetic_event(dice: &mut Dice) -> EventPayload {
    use crate::sip2::demo_ils::sample::ITEMS;
    let item = &ITEMS[dice.below(ITEMS.len())];
    let action = match dice.below(100) {
        0..=54 => Action::Checkout,
        55..=89 => Action::Checkin,
        _ => Action::Renew,
    };
    let native = if item.title.chars().any(|c| c > '\u{2e80}') {
        "zh_CN"
    } else if item.call_number.starts_with("853") || item.title.starts_with("Il ") {
        "it"
    } else {
        "en"
    };
    let language = if dice.chance(80) {
        native
    } else {
        ["en", "it", "zh_CN"][dice.below(3)]
    };
    let media = crate::sip2::MediaType::from_code(item.media);
    EventPayload::now(
        action,
        if dice.chance(6) {
            Outcome::Refused
        } else {
            Outcome::Ok
        },
        dice.chance(4),
        MediaKind::from(Some(&media)),
        language,
        Some(item.title),
    )
}

/// One simulated terminal: its publisher and its own in-memory store.
struct Simulated {
    fleet: FleetHandle,
    store: StoreHandle,
}

pub fn simulate(settings: &Settings, args: &SimulateArgs) -> Result<(), FleetToolError> {
    if !(1..=500).contains(&args.terminals) {
        return Err(FleetToolError::Usage("--terminals is 1 to 500".into()));
    }
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        return Err(FleetToolError::Usage(
            "--rate is more than 0 and at most 10000 events a second".into(),
        ));
    }
    let tel = telemetry(settings, args.broker.as_deref(), args.site.as_deref())?;
    let runtime = runtime()?;
    let zone = settings.terminal.zone();
    let mut terminals = Vec::new();
    for n in 1..=args.terminals {
        let id = format!("sim-{}-{n:03}", tel.site);
        let mut sim_settings = settings.clone();
        sim_settings.terminal.id = id.clone();
        sim_settings.telemetry = tel.clone();
        let mut setup = FleetSetup::from_settings(
            &sim_settings,
            "simulated",
            std::path::Path::new("."),
            crate::config::layers::Layers::single(std::path::Path::new(".")),
        );
        setup.info.simulated = true;
        setup.info.location = format!("SIM-{n:03}");
        setup.data_dir = None;
        setup.settings_files = None;
        let store = StoreHandle::spawn(store::open_in_memory()?)?;
        let (fleet, commands) = FleetHandle::start(setup, store.clone(), runtime.handle())?;
        fleet.set_state(KioskState::Online);
        fleet.set_health(Health {
            ils_online: true,
            reader: Component::Ok,
            printer: if n % 3 == 0 {
                Component::Absent
            } else {
                Component::Ok
            },
            queue_depth: 0,
            conflicts: 0,
            clock_synced: Some(true),
        });
        runtime.spawn(answer_commands(fleet.clone(), commands));
        terminals.push(Simulated { fleet, store });
    }
    println!(
        "simulating {} terminals at {} events/s on {} (site {})",
        args.terminals, args.rate, tel.broker, tel.site
    );
    std::io::stdout().flush().ok();

    let period = Duration::from_secs_f64(1.0 / args.rate);
    let duration = args
        .duration
        .map(|d| Duration::from_secs_f64(d.clamp(0.0, 1e7)));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let outbox_max = tel.outbox_max;
    let sent = runtime.block_on(async {
        let mut dice = Dice(seed);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let mut sent = 0u64;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            if duration.is_some_and(|d| started.elapsed() >= d) {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut ctrl_c => break,
            }
            let t = &terminals[dice.below(terminals.len())];
            let event = synthetic_event(&mut dice);
            let day = zone.today();
            let written = t
                .store
                .call(move |c| {
                    store::stats::record(c, day, &store::stats::StatKey::of(&event))?;
                    store::fleet::enqueue_event(c, &event, outbox_max)
                })
                .await;
            match written {
                Ok(_) => {
                    t.fleet.notify();
                    sent += 1;
                }
                Err(e) => tracing::warn!("simulated event not written: {e}"),
            }
        }
        // Let the outboxes drain before saying goodbye.
        let drain_until = Instant::now() + Duration::from_secs(5);
        for t in &terminals {
            while Instant::now() < drain_until {
                match t.store.call(|c| store::fleet::outbox_status(c)).await {
                    Ok(s) if s.pending > 0 => tokio::time::sleep(Duration::from_millis(50)).await,
                    _ => break,
                }
            }
        }
        for t in &terminals {
            t.fleet.shutdown().await;
        }
        sent
    });
    println!("{sent} events from {} simulated terminals", args.terminals);
    Ok(())
}

/// A simulated terminal answers the fleet's commands as a kiosk would, without a kiosk.
pub async fn answer_commands(fleet: FleetHandle, mut commands: crate::fleet::FleetCommands) {
    use crate::fleet::FleetCommand;
    while let Some(request) = commands.recv().await {
        let answer = match request.command {
            FleetCommand::Sync => Ok("nothing queued (simulated terminal)".to_string()),
            FleetCommand::OutOfOrder { reason } => {
                fleet.set_state(KioskState::OutOfOrder { reason });
                Ok("out of order".to_string())
            }
            FleetCommand::InService => {
                fleet.set_state(KioskState::Online);
                Ok("in service".to_string())
            }
            FleetCommand::Restart => Err("a simulated terminal does not restart".to_string()),
        };
        let _ = request.reply.send(answer);
    }
}

/// `selfcheck broker`: the embedded broker until Ctrl-C. With `telemetry.user` set, clients
/// must log in with it and `telemetry.password`.
pub fn broker(settings: &Settings, args: &BrokerArgs) -> Result<(), FleetToolError> {
    let handle = crate::fleet::broker::start_embedded(&args.listen, settings.telemetry.login())?;
    println!("MQTT broker listening on {}", handle.local_addr());
    std::io::stdout().flush().ok();
    runtime()?.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_events_vary_and_name_no_one() {
        let mut dice = Dice(42);
        let events: Vec<_> = (0..300).map(|_| synthetic_event(&mut dice)).collect();
        for action in [Action::Checkout, Action::Checkin, Action::Renew] {
            assert!(events.iter().any(|e| e.action == action), "{action:?}");
        }
        for lang in ["en", "it", "zh_CN"] {
            assert!(events.iter().any(|e| e.language == lang), "{lang}");
        }
        assert!(events.iter().any(|e| e.outcome == Outcome::Refused));
        assert!(events.iter().all(|e| e.title.is_some()));
    }

    #[test]
    fn the_status_text_has_a_line_a_terminal() {
        let t = TerminalStatus {
            site: "b7".into(),
            terminal: "k3".into(),
            state: Some("online".into()),
            info: Some(serde_json::json!({"version": "0.1.0", "simulated": true})),
            health: Some(serde_json::json!({"ils_online": true, "queue_depth": 2, "conflicts": 0})),
            metrics: Some(
                serde_json::json!({"loans": 5, "returns": 1, "renewals": 0, "refusals": 1}),
            ),
        };
        let text = status_text(&[t]);
        assert!(
            text.starts_with("b7/k3  online (simulated)  ils online: yes  queue: 2"),
            "{text}"
        );
        assert!(text.contains("5 loans, 1 returns"), "{text}");
        assert_eq!(status_text(&[]), "no terminal seen\n");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let s = Settings::default();
        let args = |terminals, rate| SimulateArgs {
            terminals,
            rate,
            site: None,
            duration: Some(0.0),
            broker: None,
        };
        assert!(simulate(&s, &args(0, 1.0)).is_err());
        assert!(simulate(&s, &args(1, 0.0)).is_err());
        assert!(telemetry(&s, Some("http://x"), None).is_err());
        assert!(telemetry(&s, None, Some("a/b")).is_err());
    }
}
