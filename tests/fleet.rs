//! Fleet telemetry against a real Mosquitto (started here on a free loopback port) and
//! against the embedded broker: the topic tree and payloads checked against the published
//! schemas, no patron data anywhere, the last will after kill -9, the outbox across a broker
//! restart (none lost, none doubled), and the command round trip.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use selfcheck::config::Settings;
use selfcheck::fleet::payload::{Component, EventPayload, Health, MediaKind, Outcome};
use selfcheck::fleet::{FleetCommands, FleetHandle, FleetSetup};
use selfcheck::store::journal::Action;
use selfcheck::store::{self, StoreHandle};

const PREFIX: &str = "selfcheck/v1";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Debian's Mosquitto on a loopback port with a generated config, killed when dropped.
struct Mosquitto {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Mosquitto {
    /// `None` (with a note) when the binary is missing and the run does not require it.
    fn start(dir: &Path) -> Option<Mosquitto> {
        let Some(binary) = find_binary("mosquitto") else {
            if std::env::var_os("SELFCHECK_REQUIRE_MOSQUITTO").is_some() {
                panic!("mosquitto is required (SELFCHECK_REQUIRE_MOSQUITTO) but not installed");
            }
            println!("SKIPPED: mosquitto is not installed (scripts/setup-debian installs it)");
            return None;
        };
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {}/\nautosave_interval 1\nlog_dest none\n",
                dir.display()
            ),
        )
        .expect("config");
        let mut m = Mosquitto {
            child: None,
            port,
            dir: dir.to_path_buf(),
            binary,
        };
        m.spawn();
        Some(m)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < until, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop as a service manager does (SIGTERM: it saves its persistence file).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Mosquitto of the test's own in a fresh directory, or `None` (skipped) without one.
fn mosquitto() -> Option<(tempfile::TempDir, Mosquitto)> {
    let dir = tempfile::tempdir().expect("tmp");
    let broker = Mosquitto::start(dir.path())?;
    Some((dir, broker))
}

/// A message seen by a [`Watcher`].
#[derive(Debug, Clone)]
struct Seen {
    topic: String,
    payload: Vec<u8>,
}

impl Seen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("JSON payload")
    }
}

/// An MQTT client of the test's own (rumqttc), subscribed to `filter`, that reconnects by
/// itself; with `persistent`, the broker keeps its QoS 1 messages while it is away.
struct Watcher {
    seen: Arc<Mutex<Vec<Seen>>>,
    client: rumqttc::AsyncClient,
    _runtime: tokio::runtime::Runtime,
}

impl Watcher {
    fn start(port: u16, id: &str, filter: &str, persistent: bool) -> Watcher {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        options.set_clean_session(!persistent);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (sink, sub, filter) = (seen.clone(), client.clone(), filter.to_string());
        let (ready_tx, ready) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        let _ = sub.try_subscribe(filter.clone(), rumqttc::QoS::AtLeastOnce);
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        sink.lock().expect("lock").push(Seen {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                        });
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        ready
            .recv_timeout(Duration::from_secs(10))
            .expect("watcher subscribed");
        Watcher {
            seen,
            client,
            _runtime: runtime,
        }
    }

    fn all(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn on(&self, topic: &str) -> Vec<Seen> {
        self.all()
            .into_iter()
            .filter(|s| s.topic == topic)
            .collect()
    }

    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&[Seen]) -> bool) {
        let until = Instant::now() + timeout;
        while !done(&self.all()) {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}: {:#?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn publish(&self, topic: &str, payload: &str, retain: bool) {
        self.client
            .try_publish(
                topic,
                rumqttc::QoS::AtLeastOnce,
                retain,
                payload.as_bytes().to_vec(),
            )
            .expect("publish");
    }
}

/// A kiosk's publisher over a database in `dir`, as the runtime will run it.
struct Kiosk {
    fleet: FleetHandle,
    commands: Option<FleetCommands>,
    store: StoreHandle,
    settings: Settings,
    runtime: tokio::runtime::Runtime,
}

fn kiosk_settings(broker: &str, site: &str, id: &str) -> Settings {
    let mut s = Settings::default();
    s.terminal.id = id.into();
    s.terminal.library_name = "Biblioteca Civica".into();
    s.terminal.time_zone = Some("Europe/Rome".into());
    s.ils.password = "ils-secret-pw".into();
    s.telemetry.enabled = true;
    s.telemetry.broker = broker.into();
    s.telemetry.site = site.into();
    s.telemetry.metrics_interval_secs = 5;
    s
}

impl Kiosk {
    fn start(settings: Settings, dir: &Path) -> Kiosk {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let store =
            StoreHandle::spawn(store::open(&dir.join(store::DB_FILE)).expect("db")).expect("store");
        let setup = FleetSetup::from_settings(
            &settings,
            "sim",
            dir,
            selfcheck::config::layers::Layers::single(&dir.join("config.toml")),
        );
        let (fleet, commands) =
            FleetHandle::start(setup, store.clone(), runtime.handle()).expect("fleet");
        fleet.set_health(Health {
            ils_online: true,
            reader: Component::Ok,
            printer: Component::Absent,
            queue_depth: 2,
            conflicts: 1,
            clock_synced: Some(true),
        });
        Kiosk {
            fleet,
            commands: Some(commands),
            store,
            settings,
            runtime,
        }
    }

    fn topic(&self, kind: &str) -> String {
        format!(
            "{PREFIX}/{}/{}/{kind}",
            self.settings.telemetry.site, self.settings.terminal.id
        )
    }

    /// What the runtime does for each circulation answer: count it and queue its event in
    /// one store call.
    fn circulate(&self, n: usize) {
        let zone = self.settings.terminal.zone();
        let max = self.fleet.outbox_max();
        for i in 0..n {
            let event = EventPayload::now(
                [Action::Checkout, Action::Checkin, Action::Renew][i % 3],
                if i % 7 == 6 {
                    Outcome::Refused
                } else {
                    Outcome::Ok
                },
                i % 5 == 4,
                [MediaKind::Book, MediaKind::Cd][i % 2],
                ["it", "en", "zh_CN"][i % 3],
                Some(["Il nome della rosa", "三体", "Moby-Dick"][i % 3]),
            );
            self.runtime
                .block_on(self.store.call(move |c| {
                    let tx = c.transaction()?;
                    store::stats::record(&tx, zone.today(), &store::stats::StatKey::of(&event))?;
                    store::fleet::enqueue_event(&tx, &event, max)?;
                    tx.commit()?;
                    Ok(())
                }))
                .expect("circulation written");
            self.fleet.notify();
        }
    }

    fn outbox_pending(&self) -> u64 {
        self.runtime
            .block_on(self.store.call(|c| store::fleet::outbox_status(c)))
            .expect("status")
            .pending
    }

    fn wait_outbox_empty(&self, timeout: Duration) {
        let until = Instant::now() + timeout;
        while self.outbox_pending() > 0 {
            assert!(
                Instant::now() < until,
                "outbox not emptied: {}",
                self.outbox_pending()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Answer the runtime's commands as a simulated terminal does.
    fn answer_commands(&mut self) {
        let commands = self.commands.take().expect("commands");
        self.runtime.spawn(selfcheck::tools::fleet::answer_commands(
            self.fleet.clone(),
            commands,
        ));
    }
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/fleet/schema")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).expect("schema file");
    let value: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&value)
        .expect("valid schema")
}

fn assert_valid(name: &str, value: &serde_json::Value) {
    let validator = schema(name);
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{name} payload {value} against its schema: {errors:?}"
    );
}

/// Patron ids, names and PINs and item ids of the demo library, and the settings' secrets:
/// none may appear in any payload.
fn forbidden() -> Vec<String> {
    let mut words = vec!["ils-secret-pw".to_string()];
    for (card, name, pin) in selfcheck::sip2::demo_ils::sample::demo_cards() {
        words.push(card);
        words.push(name.to_string());
        words.push(format!("\"{pin}\""));
    }
    for (item, _, _) in selfcheck::sip2::demo_ils::sample::demo_items() {
        words.push(item);
    }
    words
}

fn assert_no_patron_data(seen: &[Seen]) {
    let forbidden = forbidden();
    for s in seen {
        let text = s.text();
        for word in &forbidden {
            assert!(
                !text.contains(word.as_str()),
                "{word} in {}: {text}",
                s.topic
            );
        }
    }
}

/// Every kind of payload the kiosk publishes, checked against its schema.
fn check_tree(watcher: &Watcher, kiosk: &Kiosk, events: usize) {
    watcher.wait_for("the whole topic tree", Duration::from_secs(20), |seen| {
        let on = |t: &str| seen.iter().filter(|s| s.topic == t).count();
        on(&kiosk.topic("state")) > 0
            && on(&kiosk.topic("info")) > 0
            // The health the kiosk set (a report made before it was set may come first).
            && seen
                .iter()
                .any(|s| s.topic == kiosk.topic("health") && s.json()["queue_depth"] == 2)
            && on(&kiosk.topic("event")) >= events
            && seen.iter().any(|s| {
                s.topic == kiosk.topic("metrics") && s.json()["loans"].as_u64().unwrap_or(0) > 0
            })
    });
    for s in watcher.all() {
        let kind = s.topic.rsplit('/').next().unwrap_or("");
        match kind {
            "state" => assert_valid("state", &serde_json::Value::String(s.text())),
            "info" | "health" | "metrics" | "event" => assert_valid(kind, &s.json()),
            "reply" => assert_valid("command-reply", &s.json()),
            _ => {}
        }
    }
    let info = watcher.on(&kiosk.topic("info"))[0].json();
    assert_eq!(info["terminal"], kiosk.settings.terminal.id.as_str());
    assert_eq!(info["library_name"], "Biblioteca Civica");
    assert_eq!(info["simulated"], false);
    let health = watcher
        .on(&kiosk.topic("health"))
        .last()
        .expect("health")
        .json();
    assert_eq!(health["queue_depth"], 2);
    assert_eq!(health["printer"], "absent");
    assert!(
        health["disk_free_bytes"].as_u64().is_some_and(|b| b > 0),
        "{health}"
    );
    assert_no_patron_data(&watcher.all());
}

#[test]
fn mosquitto_topics_and_payloads_follow_the_schemas() {
    let Some((_dir, broker)) = mosquitto() else {
        return;
    };
    let watcher = Watcher::start(broker.port, "test-tree", &format!("{PREFIX}/#"), false);
    let data = tempfile::tempdir().expect("tmp");
    let kiosk = Kiosk::start(kiosk_settings(&broker.url(), "b7", "k3"), data.path());
    kiosk.circulate(6);
    check_tree(&watcher, &kiosk, 6);
    let events = watcher.on(&kiosk.topic("event"));
    assert_eq!(events[0].json()["title"], "Il nome della rosa");
    assert_eq!(events[1].json()["action"], "checkin");

    // mosquitto_sub, an independent client, reads the same retained tree.
    if let Some(sub) = find_binary("mosquitto_sub") {
        let out = Command::new(sub)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &broker.port.to_string(),
                "-v",
                "-W",
                "3",
            ])
            .args([
                "-t",
                &kiosk.topic("state"),
                "-t",
                &kiosk.topic("info"),
                "-C",
                "2",
            ])
            .output()
            .expect("mosquitto_sub");
        let text = common::text(&out.stdout);
        assert!(
            text.contains(&format!("{} online", kiosk.topic("state"))),
            "{text}"
        );
        assert!(
            text.contains("\"library_name\":\"Biblioteca Civica\""),
            "{text}"
        );
    }

    // A kiosk that closes says so.
    kiosk.runtime.block_on(kiosk.fleet.shutdown());
    watcher.wait_for("offline", Duration::from_secs(10), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"offline")
    });
}

/// `selfcheck fleet simulate` as the child to kill.
fn simulate(broker: &str, site: &str) -> Child {
    common::selfcheck()
        .args(["fleet", "simulate", "--broker", broker, "--site", site])
        .args(["--terminals", "2", "--rate", "4", "--duration", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulate")
}

fn last_will_after_kill_9(port: u16, broker: &str, site: &str) {
    let watcher = Watcher::start(
        port,
        &format!("test-will-{site}"),
        &format!("{PREFIX}/{site}/#"),
        false,
    );
    let mut child = simulate(broker, site);
    let state = format!("{PREFIX}/{site}/sim-{site}-001/state");
    let info = format!("{PREFIX}/{site}/sim-{site}-001/info");
    watcher.wait_for(
        "a simulated terminal online with events",
        Duration::from_secs(20),
        |seen| {
            seen.iter()
                .any(|s| s.topic == state && s.payload == b"online")
                && seen.iter().any(|s| s.topic.ends_with("/event"))
        },
    );
    assert_eq!(watcher.on(&info)[0].json()["simulated"], true);
    child.kill().expect("kill -9");
    let _ = child.wait();
    watcher.wait_for("the last will", Duration::from_secs(15), |seen| {
        seen.iter()
            .any(|s| s.topic == state && s.payload == b"offline")
    });
    assert_no_patron_data(&watcher.all());
}

#[test]
fn mosquitto_publishes_the_last_will_after_kill_9() {
    let Some((_dir, broker)) = mosquitto() else {
        return;
    };
    last_will_after_kill_9(broker.port, &broker.url(), "lw");
    // The retained offline is what a newcomer reads.
    if let Some(sub) = find_binary("mosquitto_sub") {
        let out = Command::new(sub)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &broker.port.to_string(),
                "-C",
                "1",
                "-W",
                "3",
            ])
            .args(["-t", &format!("{PREFIX}/lw/sim-lw-001/state")])
            .output()
            .expect("mosquitto_sub");
        assert_eq!(common::text(&out.stdout).trim(), "offline");
    }
}

#[test]
fn mosquitto_restart_loses_no_event_and_doubles_none_by_id() {
    let Some((_dir, mut broker)) = mosquitto() else {
        return;
    };
    let watcher = Watcher::start(
        broker.port,
        "test-restart",
        &format!("{PREFIX}/+/+/event"),
        true,
    );
    let data = tempfile::tempdir().expect("tmp");
    let kiosk = Kiosk::start(kiosk_settings(&broker.url(), "b2", "k1"), data.path());
    kiosk.circulate(15);
    kiosk.wait_outbox_empty(Duration::from_secs(20));
    // The broker stops mid-session: events made meanwhile wait in the outbox.
    kiosk.circulate(5);
    broker.stop();
    kiosk.circulate(15);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        kiosk.outbox_pending() >= 15,
        "kept while the broker is away"
    );
    broker.spawn();
    kiosk.circulate(10);
    kiosk.wait_outbox_empty(Duration::from_secs(60));
    watcher.wait_for("every event", Duration::from_secs(30), |seen| {
        let mut ids: Vec<String> = seen.iter().map(|s| s.json()["id"].to_string()).collect();
        ids.sort();
        ids.dedup();
        ids.len() >= 45
    });
    std::thread::sleep(Duration::from_secs(1));
    let seen = watcher.all();
    let mut ids: Vec<String> = seen.iter().map(|s| s.json()["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        45,
        "none lost, none doubled once deduplicated by id"
    );
    // QoS 1 itself may deliver a copy: an event the broker took just before it stopped, whose
    // PUBACK it never sent, is sent again on the next connection. Readers drop it by id (above);
    // the count says how often that happened.
    eprintln!("{} copies of 45 events", seen.len());
}

#[test]
fn events_written_before_a_crash_are_sent_when_the_kiosk_comes_back() {
    let Some((_dir, broker)) = mosquitto() else {
        return;
    };
    let data = tempfile::tempdir().expect("tmp");
    // A kiosk whose broker is unreachable writes events, then dies without a goodbye.
    let nowhere = format!("mqtt://127.0.0.1:{}", free_port());
    let dead = Kiosk::start(kiosk_settings(&nowhere, "b3", "k1"), data.path());
    dead.circulate(12);
    let Kiosk { runtime, .. } = dead;
    runtime.shutdown_background();

    let watcher = Watcher::start(
        broker.port,
        "test-crash",
        &format!("{PREFIX}/b3/+/event"),
        false,
    );
    let kiosk = Kiosk::start(kiosk_settings(&broker.url(), "b3", "k1"), data.path());
    kiosk.wait_outbox_empty(Duration::from_secs(20));
    watcher.wait_for("the 12 events", Duration::from_secs(10), |seen| {
        seen.len() >= 12
    });
    assert_eq!(watcher.all().len(), 12);
}

/// The reply (checked against its schema) to the command with `id` sent on `topic`.
fn reply_to(watcher: &Watcher, topic: &str, id: &str) -> serde_json::Value {
    let topic = format!("{topic}/reply");
    watcher.wait_for(
        &format!("the reply on {topic}"),
        Duration::from_secs(15),
        |seen| {
            seen.iter()
                .any(|s| s.topic == topic && s.json()["id"] == id)
        },
    );
    let reply = watcher
        .on(&topic)
        .into_iter()
        .map(|s| s.json())
        .find(|r| r["id"] == id)
        .expect("reply");
    assert_valid("command-reply", &reply);
    reply
}

fn command_round_trip(port: u16, broker: &str, site: &str) {
    let watcher = Watcher::start(
        port,
        &format!("test-cmd-{site}"),
        &format!("{PREFIX}/{site}/#"),
        false,
    );
    let data = tempfile::tempdir().expect("tmp");
    let mut kiosk = Kiosk::start(kiosk_settings(broker, site, "k9"), data.path());
    kiosk.answer_commands();
    watcher.wait_for("online", Duration::from_secs(20), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"online")
    });
    let cmd = |name: &str| format!("{}/{name}", kiosk.topic("cmd"));
    let reply_of = |name: &str, id: &str| reply_to(&watcher, &cmd(name), id);

    watcher.publish(&cmd("sync"), r#"{"id": "c1"}"#, false);
    let r = reply_of("sync", "c1");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["message"], "nothing queued (simulated terminal)");

    watcher.publish(
        &cmd("out-of-order"),
        r#"{"id": "c2", "reason": "printer jam"}"#,
        false,
    );
    assert_eq!(reply_of("out-of-order", "c2")["ok"], true);
    watcher.wait_for("out of order", Duration::from_secs(10), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"out-of-order")
    });
    watcher.wait_for("the reason in health", Duration::from_secs(10), |seen| {
        seen.iter().any(|s| {
            s.topic == kiosk.topic("health") && s.json()["out_of_order_reason"] == "printer jam"
        })
    });
    watcher.publish(&cmd("in-service"), r#"{"id": "c3"}"#, false);
    assert_eq!(reply_of("in-service", "c3")["ok"], true);

    // Settings: saved like staff mode saves, applied at restart; bad ones refused with every
    // problem and nothing written.
    let good = serde_json::json!({"id": "c4", "toml": "[terminal]\nidle_timeout_secs = 90\n"});
    watcher.publish(&cmd("settings"), &good.to_string(), false);
    let r = reply_of("settings", "c4");
    assert_eq!(r["ok"], true, "{r}");
    let saved = Settings::load(&data.path().join("config.toml")).expect("saved settings");
    assert_eq!(saved.terminal.idle_timeout_secs, 90);
    let bad = serde_json::json!({"id": "c5", "toml": "[terminal]\npin_attempts = 0\n[ils]\nserver = \"nohost\"\n"});
    watcher.publish(&cmd("settings"), &bad.to_string(), false);
    let r = reply_of("settings", "c5");
    assert_eq!(r["ok"], false, "{r}");
    let errors: Vec<String> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("terminal.pin_attempts")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("ils.server")),
        "{errors:?}"
    );
    let still = Settings::load(&data.path().join("config.toml")).expect("unchanged");
    assert_eq!(still.terminal.pin_attempts, 3);

    watcher.publish(&cmd("reboot"), r#"{"id": "c6"}"#, false);
    let r = reply_of("reboot", "c6");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown command")),
        "{r}"
    );
    watcher.publish(&cmd("sync"), r#"{"id": "c7", "bogus": 1}"#, false);
    assert_eq!(reply_of("sync", "c7")["ok"], false);
    watcher.publish(&cmd("sync"), "not json", false);
    let topic = format!("{}/reply", cmd("sync"));
    watcher.wait_for("the reply to bad JSON", Duration::from_secs(10), |seen| {
        seen.iter()
            .any(|s| s.topic == topic && s.json()["id"].is_null())
    });
    assert_no_patron_data(&watcher.all());
}

#[test]
fn mosquitto_command_round_trip() {
    let Some((_dir, broker)) = mosquitto() else {
        return;
    };
    command_round_trip(broker.port, &broker.url(), "b5");
    // mosquitto_pub, an independent client, sends a command and mosquitto_sub reads the reply.
    let (Some(publisher), Some(sub)) = (find_binary("mosquitto_pub"), find_binary("mosquitto_sub"))
    else {
        return;
    };
    let data = tempfile::tempdir().expect("tmp");
    let mut kiosk = Kiosk::start(kiosk_settings(&broker.url(), "b6", "k1"), data.path());
    kiosk.answer_commands();
    let port = broker.port.to_string();
    let reply = format!("{}/sync/reply", kiosk.topic("cmd"));
    let reader = Command::new(sub)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-C",
            "1",
            "-W",
            "20",
            "-t",
            &reply,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    let mut reader = reader;
    let deadline = Instant::now() + Duration::from_secs(20);
    // The first command may come before the kiosk subscribed; a repeated id is obeyed once.
    while reader.try_wait().expect("reader").is_none() && Instant::now() < deadline {
        let status = Command::new(&publisher)
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1"])
            .args([
                "-t",
                &format!("{}/sync", kiosk.topic("cmd")),
                "-m",
                r#"{"id":"p1"}"#,
            ])
            .status()
            .expect("mosquitto_pub");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = reader.wait_with_output().expect("reply");
    let text = common::text(&out.stdout);
    let r: serde_json::Value = serde_json::from_str(text.trim()).expect("reply JSON");
    assert_eq!(r["id"], "p1");
    assert_eq!(r["ok"], true);
}

#[test]
fn embedded_broker_carries_the_tree_the_last_will_and_commands() {
    let handle = selfcheck::fleet::broker::start_embedded("127.0.0.1:0", None).expect("broker");
    let port = handle.local_addr().port();
    let url = format!("mqtt://127.0.0.1:{port}");

    let watcher = Watcher::start(port, "test-embedded", &format!("{PREFIX}/e1/#"), false);
    let data = tempfile::tempdir().expect("tmp");
    let kiosk = Kiosk::start(kiosk_settings(&url, "e1", "k1"), data.path());
    kiosk.circulate(4);
    check_tree(&watcher, &kiosk, 4);
    // A newcomer reads the retained state.
    let late = Watcher::start(port, "test-embedded-late", &kiosk.topic("state"), false);
    late.wait_for("the retained state", Duration::from_secs(10), |seen| {
        seen.iter().any(|s| s.payload == b"online")
    });

    last_will_after_kill_9(port, &url, "e2");
    command_round_trip(port, &url, "e3");
}

#[test]
fn the_broker_command_serves_clients() {
    let port = free_port();
    let mut child = common::selfcheck()
        .args(["broker", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("selfcheck broker");
    let server = common::Server {
        port: {
            use std::io::BufRead;
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("banner");
            assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
            port
        },
        child,
    };
    let watcher = Watcher::start(
        server.port,
        "test-broker-cmd",
        &format!("{PREFIX}/#"),
        false,
    );
    let out = common::selfcheck()
        .args([
            "fleet",
            "simulate",
            "--broker",
            &format!("mqtt://127.0.0.1:{port}"),
        ])
        .args([
            "--site",
            "s1",
            "--terminals",
            "2",
            "--rate",
            "20",
            "--duration",
            "1",
        ])
        .output()
        .expect("simulate");
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let said = common::text(&out.stdout);
    let sent: usize = said
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("count of events");
    watcher.wait_for("every simulated event", Duration::from_secs(10), |seen| {
        seen.iter().filter(|s| s.topic.ends_with("/event")).count() >= sent
    });
    let status = common::selfcheck()
        .args(["fleet", "status", "--json", "--site", "s1", "--broker"])
        .arg(format!("mqtt://127.0.0.1:{port}"))
        .output()
        .expect("status");
    assert!(status.status.success(), "{}", common::text(&status.stderr));
    let terminals: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    let terminals = terminals.as_array().expect("array");
    assert_eq!(terminals.len(), 2, "{terminals:?}");
    assert!(
        terminals
            .iter()
            .all(|t| t["state"] == "offline" && t["info"]["simulated"] == true)
    );
    let loans: u64 = terminals
        .iter()
        .map(|t| t["metrics"]["loans"].as_u64().unwrap_or(0))
        .sum();
    assert!(loans > 0, "{terminals:?}");
}

/// `selfcheck run --headless` as a child process with telemetry on, its input kept open (so it
/// runs until killed or told to restart) and its JSON lines collected.
struct HeadlessKiosk {
    child: Child,
    input: Option<std::process::ChildStdin>,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
    data: PathBuf,
    topic_base: String,
    _dir: tempfile::TempDir,
}

impl HeadlessKiosk {
    /// `id`: the terminal id to set, `None` to leave it at its default.
    fn start(broker: &str, site: &str, id: Option<&str>) -> HeadlessKiosk {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tmp");
        let data = dir.path().join("data");
        let config = dir.path().join("site.toml");
        let id_line = id.map(|id| format!("id = \"{id}\"\n")).unwrap_or_default();
        std::fs::write(
            &config,
            format!(
                "[terminal]\n{id_line}library_name = \"Biblioteca Civica\"\n\
                 time_zone = \"Europe/Rome\"\n\n[telemetry]\nenabled = true\n\
                 broker = \"{broker}\"\nsite = \"{site}\"\nmetrics_interval_secs = 5\n"
            ),
        )
        .expect("settings");
        let mut child = common::selfcheck()
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["run", "--headless", "--events", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("selfcheck run --headless");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (sink, out) = (lines.clone(), child.stdout.take().expect("stdout"));
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(value) = serde_json::from_str(&line) {
                    sink.lock().expect("lines").push(value);
                }
            }
        });
        let input = child.stdin.take();
        let terminal = id.map_or_else(
            || selfcheck::fleet::terminal_id(&selfcheck::config::Terminal::default().id),
            str::to_string,
        );
        HeadlessKiosk {
            child,
            input,
            lines,
            data,
            topic_base: format!("{PREFIX}/{site}/{terminal}"),
            _dir: dir,
        }
    }

    fn topic(&self, kind: &str) -> String {
        format!("{}/{kind}", self.topic_base)
    }

    fn send(&mut self, commands: &[serde_json::Value]) {
        use std::io::Write;
        let input = self.input.as_mut().expect("input open");
        for c in commands {
            writeln!(input, "{c}").expect("write a command");
        }
        input.flush().expect("flush");
    }

    fn wait_line(&self, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
        let until = Instant::now() + Duration::from_secs(30);
        while !self.lines.lock().expect("lines").iter().any(&done) {
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}: {:#?}",
                self.lines.lock().expect("lines")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until `n` circulation exchanges with this outcome were reported.
    fn wait_exchanges(&self, request: &str, outcome: &str, n: usize) {
        let count = |lines: &[serde_json::Value]| {
            lines
                .iter()
                .filter(|l| {
                    l["kind"] == "ils"
                        && l["exchange"]["request"] == request
                        && l["exchange"]["outcome"] == outcome
                })
                .count()
        };
        let until = Instant::now() + Duration::from_secs(30);
        while count(&self.lines.lock().expect("lines")) < n {
            assert!(
                Instant::now() < until,
                "timed out waiting for {n} {request} {outcome}: {:#?}",
                self.lines.lock().expect("lines")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HeadlessKiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Demo patron Anna (no loans, PIN 0000) and demo shelf books.
fn anna() -> String {
    common::circulation::patron(8)
}

/// A session at the kiosk: the pad cleared, `activity` started (in Italian, Anna's card and
/// PIN when she borrows), `items` put on the pad, done, and done on the summary.
fn session(kiosk: &mut HeadlessKiosk, activity: &str, items: &[u32]) {
    let mut commands = vec![
        serde_json::json!({"cmd": "clear_pad"}),
        serde_json::json!({"cmd": "start", "activity": activity}),
        serde_json::json!({"cmd": "language", "code": "it"}),
    ];
    if activity == "borrow" {
        commands.extend(common::circulation::identify(&anna(), "0000"));
    }
    commands.extend(
        items
            .iter()
            .map(|n| common::circulation::place(&common::circulation::item(*n))),
    );
    commands.push(serde_json::json!({"cmd": "done"}));
    commands.push(serde_json::json!({"cmd": "done"}));
    kiosk.send(&commands);
}

fn borrow(kiosk: &mut HeadlessKiosk, items: &[u32]) {
    session(kiosk, "borrow", items);
}

fn give_back(kiosk: &mut HeadlessKiosk, items: &[u32]) {
    session(kiosk, "return", items);
}

/// The ids of the circulation events seen, each once.
fn event_ids(seen: &[Seen]) -> Vec<String> {
    let mut ids: Vec<String> = seen
        .iter()
        .filter(|s| s.topic.ends_with("/event"))
        .map(|s| s.json()["id"].to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A headless kiosk session with telemetry to Mosquitto: the whole topic tree after real
/// loans (online and offline) and returns, every payload against its schema and free of patron
/// data; the broker stopped mid-session (the events made meanwhile arrive once each when it is
/// back); then the last will after kill -9.
#[test]
fn mosquitto_headless_kiosk_session_publishes_and_survives_the_broker() {
    let Some((_dir, mut broker)) = mosquitto() else {
        return;
    };
    let watcher = Watcher::start(broker.port, "test-headless", &format!("{PREFIX}/#"), false);
    let events = Watcher::start(
        broker.port,
        "test-headless-events",
        &format!("{PREFIX}/+/+/event"),
        true,
    );
    let mut kiosk = HeadlessKiosk::start(&broker.url(), "h1", Some("hk1"));
    watcher.wait_for("online", Duration::from_secs(20), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"online")
    });
    borrow(&mut kiosk, &[1, 3]);
    kiosk.wait_exchanges("checkout", "ok", 2);
    give_back(&mut kiosk, &[1]);
    kiosk.wait_exchanges("checkin", "ok", 1);
    // Offline: the loan is queued and published as offline.
    kiosk.send(&[serde_json::json!({"cmd": "cut"})]);
    borrow(&mut kiosk, &[4]);
    kiosk.wait_exchanges("checkout", "queued", 1);
    kiosk.send(&[serde_json::json!({"cmd": "restore"})]);

    watcher.wait_for(
        "four events and the metrics",
        Duration::from_secs(30),
        |seen| {
            let on = |t: &str| seen.iter().filter(|s| s.topic == t).count();
            on(&kiosk.topic("event")) >= 4
                && on(&kiosk.topic("info")) > 0
                && on(&kiosk.topic("health")) > 0
                && seen.iter().any(|s| {
                    s.topic == kiosk.topic("metrics") && s.json()["loans"].as_u64() == Some(3)
                })
        },
    );
    for s in watcher.all() {
        let kind = s.topic.rsplit('/').next().unwrap_or("");
        match kind {
            "state" => assert_valid("state", &serde_json::Value::String(s.text())),
            "info" | "health" | "metrics" | "event" => assert_valid(kind, &s.json()),
            _ => {}
        }
    }
    let published: Vec<serde_json::Value> = watcher
        .on(&kiosk.topic("event"))
        .iter()
        .map(Seen::json)
        .collect();
    let actions: Vec<(&str, bool)> = published
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["offline"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("checkout", false),
            ("checkout", false),
            ("checkin", false),
            ("checkout", true)
        ],
        "{published:#?}"
    );
    assert!(published.iter().all(|e| e["outcome"] == "ok"));
    assert_eq!(published[0]["language"], "it", "the session's language");
    assert!(
        published[0]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{published:#?}"
    );
    let metrics = watcher
        .on(&kiosk.topic("metrics"))
        .last()
        .expect("metrics")
        .json();
    assert_eq!(metrics["returns"], 1, "{metrics}");
    assert_eq!(metrics["offline"]["loans"], 1, "{metrics}");
    assert_eq!(metrics["by_language"]["it"], 4, "{metrics}");
    let info = watcher.on(&kiosk.topic("info"))[0].json();
    assert_eq!(info["terminal"], "hk1");
    assert_eq!(info["simulated"], false);
    let health = watcher
        .on(&kiosk.topic("health"))
        .last()
        .expect("health")
        .json();
    assert_eq!(health["ils_online"], true, "{health}");

    // The broker stops mid-session: the return made meanwhile waits in the outbox and is
    // delivered, once, when it is back.
    watcher.wait_for("the events delivered", Duration::from_secs(10), |_| {
        event_ids(&events.all()).len() >= 4
    });
    broker.stop();
    give_back(&mut kiosk, &[3]);
    kiosk.wait_exchanges("checkin", "ok", 2);
    broker.spawn();
    events.wait_for("the fifth event", Duration::from_secs(60), |seen| {
        event_ids(seen).len() >= 5
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(event_ids(&events.all()).len(), 5, "none lost, none doubled");

    let late = Watcher::start(
        broker.port,
        "test-headless-late",
        &format!("{PREFIX}/h1/#"),
        false,
    );
    late.wait_for("online again", Duration::from_secs(30), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"online")
    });
    kiosk.child.kill().expect("kill -9");
    let _ = kiosk.child.wait();
    late.wait_for("the last will", Duration::from_secs(30), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"offline")
    });
    assert_no_patron_data(&watcher.all());
    assert_no_patron_data(&events.all());
    assert_no_patron_data(&late.all());
}

/// The fleet's commands obeyed by a headless kiosk: sync, out of order and back (on its screen
/// and its state), settings saved into the terminal's own file or refused with every problem,
/// and restart (exit status 75). The terminal id left at its default is this machine's own.
#[test]
fn mosquitto_commands_reach_the_headless_kiosk() {
    let Some((_dir, broker)) = mosquitto() else {
        return;
    };
    let watcher = Watcher::start(
        broker.port,
        "test-headless-cmd",
        &format!("{PREFIX}/#"),
        false,
    );
    let mut kiosk = HeadlessKiosk::start(&broker.url(), "h2", None);
    if Path::new("/etc/machine-id").is_file() {
        assert_ne!(kiosk.topic_base, format!("{PREFIX}/h2/kiosk-01"));
    }
    watcher.wait_for("online", Duration::from_secs(20), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"online")
    });
    let cmd = |name: &str| format!("{}/{name}", kiosk.topic("cmd"));
    let reply_of = |name: &str, id: &str| reply_to(&watcher, &cmd(name), id);

    watcher.publish(&cmd("sync"), r#"{"id": "s1"}"#, false);
    assert_eq!(reply_of("sync", "s1")["ok"], true);

    watcher.publish(
        &cmd("out-of-order"),
        r#"{"id": "s2", "reason": "inventory"}"#,
        false,
    );
    let r = reply_of("out-of-order", "s2");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["message"], "out of order: inventory");
    watcher.wait_for("out of order", Duration::from_secs(10), |seen| {
        seen.iter()
            .any(|s| s.topic == kiosk.topic("state") && s.payload == b"out-of-order")
    });
    kiosk.wait_line("the out-of-order screen", |l| {
        l["kind"] == "screen"
            && l["model"]["screen"] == "out_of_order"
            && l["model"]["fault"] == "staff"
            && l["model"]["reason"] == "inventory"
    });
    watcher.publish(&cmd("in-service"), r#"{"id": "s3"}"#, false);
    assert_eq!(reply_of("in-service", "s3")["message"], "in service");
    watcher.wait_for("online again", Duration::from_secs(10), |seen| {
        seen.iter()
            .rfind(|s| s.topic == kiosk.topic("state"))
            .is_some_and(|s| s.payload == b"online")
    });

    let good = serde_json::json!({"id": "s4", "toml": "[terminal]\nidle_timeout_secs = 90\n"});
    watcher.publish(&cmd("settings"), &good.to_string(), false);
    let r = reply_of("settings", "s4");
    assert_eq!(r["ok"], true, "{r}");
    let local = std::fs::read_to_string(kiosk.data.join("config.toml")).expect("terminal file");
    assert!(local.contains("idle_timeout_secs = 90"), "{local}");
    let bad = serde_json::json!({"id": "s5", "toml": "[terminal]\npin_attempts = 0\n"});
    watcher.publish(&cmd("settings"), &bad.to_string(), false);
    let r = reply_of("settings", "s5");
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["errors"].as_array().is_some_and(|e| e.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.starts_with("terminal.pin_attempts")))),
        "{r}"
    );
    let after = std::fs::read_to_string(kiosk.data.join("config.toml")).expect("terminal file");
    assert_eq!(after, local, "nothing written");

    watcher.publish(&cmd("restart"), r#"{"id": "s6"}"#, false);
    assert_eq!(reply_of("restart", "s6")["ok"], true);
    let until = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = kiosk.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < until,
            "the kiosk did not exit for its restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(75));
    kiosk.wait_line("the commands in the output", |l| {
        l["kind"] == "fleet_command" && l["command"] == "restart"
    });
    watcher.wait_for(
        "offline after the restart",
        Duration::from_secs(10),
        |seen| {
            seen.iter()
                .rfind(|s| s.topic == kiosk.topic("state"))
                .is_some_and(|s| s.payload == b"offline")
        },
    );
    assert_no_patron_data(&watcher.all());
}

/// Every circulation answer is counted in the daily statistics the metrics are made of: loans
/// and returns online, a renewal and a loan made offline, each in its session's language;
/// with telemetry off the outbox stays empty.
#[test]
fn circulation_is_counted_in_the_daily_statistics() {
    use common::circulation::{identify, item, patron, place};
    use serde_json::json;
    let site = common::circulation::Site::new();
    let mut commands = vec![
        json!({"cmd": "start", "activity": "borrow"}),
        json!({"cmd": "language", "code": "zh_CN"}),
    ];
    commands.extend(identify(&patron(8), "0000"));
    commands.extend([place(&item(1)), place(&item(3))]);
    commands.extend([json!({"cmd": "done"}), json!({"cmd": "done"})]);
    commands.extend([
        json!({"cmd": "clear_pad"}),
        json!({"cmd": "start", "activity": "return"}),
        place(&item(1)),
        json!({"cmd": "done"}),
        json!({"cmd": "done"}),
        json!({"cmd": "clear_pad"}),
        json!({"cmd": "start", "activity": "account"}),
    ]);
    commands.extend(identify(&patron(8), "0000"));
    commands.extend([
        json!({"cmd": "renew", "item": item(3)}),
        json!({"cmd": "cancel"}),
        json!({"cmd": "cut"}),
        json!({"cmd": "start", "activity": "borrow"}),
    ]);
    commands.extend(identify(&patron(8), "0000"));
    commands.extend([place(&item(4)), json!({"cmd": "done"})]);
    let out = site.run(&commands);
    let outcomes: Vec<(String, String)> = out
        .iter()
        .filter(|l| l["kind"] == "ils")
        .map(|l| {
            (
                l["exchange"]["request"].as_str().unwrap_or("").to_string(),
                l["exchange"]["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .filter(|(request, _)| request != "patron")
        .collect();
    let renewed = outcomes
        .iter()
        .find(|(r, _)| r == "renew")
        .map(|(_, o)| o.clone())
        .expect("a renewal answered");
    let conn = store::open(&site.dir.path().join(store::DB_FILE)).expect("db");
    let today = site.settings.terminal.zone().today();
    let counts = store::stats::day_counts(&conn, today).expect("counts");
    assert_eq!(counts.all.loans, 3, "{outcomes:?} {counts:?}");
    assert_eq!(counts.all.returns, 1, "{counts:?}");
    assert_eq!(
        (counts.all.renewals, counts.all.refusals),
        if renewed == "ok" { (1, 0) } else { (0, 1) },
        "{outcomes:?} {counts:?}"
    );
    assert_eq!(counts.offline.loans, 1, "{counts:?}");
    // The first session's two loans were in Chinese; each session starts in the default.
    assert_eq!(counts.by_language.get("zh_CN"), Some(&2), "{counts:?}");
    assert_eq!(
        counts.by_language.values().sum::<u64>(),
        4 + u64::from(renewed == "ok")
    );
    assert_eq!(
        counts.by_media_type.values().sum::<u64>(),
        4 + u64::from(renewed == "ok")
    );
    assert_eq!(
        store::fleet::outbox_status(&conn).expect("outbox").pending,
        0,
        "telemetry off: no outbox"
    );
}

/// The window's kiosk core (without its window) in the fleet: it publishes its state and info,
/// goes out of order on the fleet's command (its screen says so), asks for the restart the
/// fleet wants, and says offline when it stops.
#[test]
fn the_window_core_publishes_and_obeys_the_fleet() {
    let handle = selfcheck::fleet::broker::start_embedded("127.0.0.1:0", None).expect("broker");
    let port = handle.local_addr().port();
    let watcher = Watcher::start(port, "test-core", &format!("{PREFIX}/w1/#"), false);
    let data = tempfile::tempdir().expect("tmp");
    let settings = kiosk_settings(&format!("mqtt://127.0.0.1:{port}"), "w1", "wk1");
    let screens: Arc<Mutex<Vec<selfcheck::kiosk::ScreenModel>>> = Arc::default();
    let sink = screens.clone();
    let core = selfcheck::app::start_core_with(
        &settings,
        selfcheck::config::layers::Layers::new(None, data.path()),
        &selfcheck::board::Board::load("sim").expect("sim board"),
        data.path(),
        move |m| sink.lock().expect("screens").push(m),
        Arc::new(|| {}),
    )
    .expect("core");
    let topic = |kind: &str| format!("{PREFIX}/w1/wk1/{kind}");
    watcher.wait_for("online and info", Duration::from_secs(20), |seen| {
        seen.iter()
            .any(|s| s.topic == topic("state") && s.payload == b"online")
            && seen.iter().any(|s| s.topic == topic("info"))
    });
    assert_eq!(watcher.on(&topic("info"))[0].json()["board"], "sim");
    watcher.publish(
        &topic("cmd/out-of-order"),
        r#"{"id": "w1", "reason": "cleaning"}"#,
        false,
    );
    assert_eq!(
        reply_to(&watcher, &topic("cmd/out-of-order"), "w1")["ok"],
        true
    );
    watcher.wait_for("out of order", Duration::from_secs(10), |seen| {
        seen.iter()
            .any(|s| s.topic == topic("state") && s.payload == b"out-of-order")
    });
    assert!(screens.lock().expect("screens").iter().any(|m| matches!(
        &m.screen,
        selfcheck::kiosk::Screen::OutOfOrder { reason, .. } if reason == "cleaning"
    )));
    watcher.publish(&topic("cmd/restart"), r#"{"id": "w2"}"#, false);
    assert_eq!(reply_to(&watcher, &topic("cmd/restart"), "w2")["ok"], true);
    let until = Instant::now() + Duration::from_secs(10);
    while !core.restart_requested() {
        assert!(Instant::now() < until, "no restart asked");
        std::thread::sleep(Duration::from_millis(50));
    }
    core.shutdown();
    watcher.wait_for("offline", Duration::from_secs(10), |seen| {
        seen.iter()
            .rfind(|s| s.topic == topic("state"))
            .is_some_and(|s| s.payload == b"offline")
    });
}
