//! Telling systemd how the kiosk is doing (`Type=notify`, the sd_notify protocol): `READY=1`
//! once the kiosk is up, a `STATUS=` line for `systemctl status`, and `WATCHDOG=1` keep-alives
//! for `WatchdogSec=`, sent only while both the UI event loop and the tokio runtime keep
//! checking in, so that a hang in either one gets the kiosk killed and restarted.
//!
//! Outside systemd (no `NOTIFY_SOCKET`) nothing is sent and no thread is started.
//!
//! Wiring, in `selfcheck run`:
//! ```ignore
//! let notifier = service::Notifier::from_env();
//! let watchdog = service::Watchdog::start(&notifier, service::watchdog_period())?;
//! core.runtime.spawn(service::beat_runtime(watchdog.runtime()));
//! let _ui_beats = service::beat_ui(watchdog.ui()); // keep it alive while the window runs
//! notifier.ready("in service");
//! window.run()?;
//! notifier.stopping();
//! ```

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// The variable systemd sets to the socket it hears notifications on.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Where notifications go: a socket path, or a name in Linux's abstract namespace (`@name`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Address {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl Address {
    fn parse(value: &std::ffi::OsStr) -> Option<Address> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = value.as_bytes();
        match bytes.split_first() {
            None => None,
            Some((b'@', name)) => Some(Address::Abstract(name.to_vec())),
            Some(_) => Some(Address::Path(PathBuf::from(value))),
        }
    }

    fn socket_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Address::Path(path) => SocketAddr::from_pathname(path),
            Address::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)
            }
        }
    }
}

/// Sends notifications to the service manager, when there is one. Cheap to clone; clones
/// share the last status line (which the watchdog puts back after a stall is over).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    address: Option<Address>,
    status: Arc<Mutex<Option<String>>>,
}

impl Notifier {
    /// The service manager named by `$NOTIFY_SOCKET`, or none.
    pub fn from_env() -> Notifier {
        match std::env::var_os(NOTIFY_SOCKET) {
            Some(value) => Notifier::for_socket(&value),
            None => Notifier::default(),
        }
    }

    /// Notifications to the socket `address` names (a path, or `@name`); empty: none.
    pub fn for_socket(address: &std::ffi::OsStr) -> Notifier {
        Notifier {
            address: Address::parse(address),
            status: Arc::default(),
        }
    }

    /// Whether a service manager listens.
    pub fn is_enabled(&self) -> bool {
        self.address.is_some()
    }

    /// The kiosk is up: `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        self.remember(status);
        self.log_failure(
            "ready",
            self.send(&[NotifyState::Ready, NotifyState::Status(status)]),
        );
    }

    /// A new status line for `systemctl status` (one line; no patron data).
    pub fn status(&self, status: &str) {
        self.remember(status);
        self.log_failure("status", self.send(&[NotifyState::Status(status)]));
    }

    /// The kiosk is shutting down on purpose.
    pub fn stopping(&self) {
        self.log_failure(
            "stopping",
            self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]),
        );
    }

    fn remember(&self, status: &str) {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = Some(status.to_string());
    }

    fn last_status(&self) -> Option<String> {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn log_failure(&self, what: &str, result: io::Result<()>) {
        if let Err(e) = result {
            tracing::warn!("cannot tell the service manager \"{what}\": {e}");
        }
    }

    /// One datagram with one `KEY=VALUE` line per state; nothing without a service manager.
    fn send(&self, states: &[NotifyState]) -> io::Result<()> {
        let Some(address) = &self.address else {
            return Ok(());
        };
        let message: String = states
            .iter()
            .map(|state| format!("{}\n", one_line(&state.to_string())))
            .collect();
        let socket = UnixDatagram::unbound()?;
        // Never wait on a service manager that does not read: a lost keep-alive is better
        // than a watchdog thread stuck in send.
        socket.set_nonblocking(true)?;
        let sent = socket.send_to_addr(message.as_bytes(), &address.socket_addr()?)?;
        if sent == message.len() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification was cut short",
            ))
        }
    }
}

/// A newline inside a value would start a new assignment of the protocol.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// `WatchdogSec=` as systemd passes it (`$WATCHDOG_USEC`, for this process), or `None`.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|period| !period.is_zero())
}

/// The two sides that must keep checking in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The window's event loop (Slint, on the main thread).
    Ui,
    /// The tokio runtime behind it (the kiosk core, the library system link).
    Runtime,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Ui => 0,
            Side::Runtime => 1,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Side::Ui => "the UI event loop",
            Side::Runtime => "the runtime",
        }
    }
}

struct Shared {
    started: Instant,
    /// Milliseconds since `started` of each side's last beat, plus one; zero: never.
    beats: [AtomicU64; 2],
    /// How often each side should beat.
    interval: Duration,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// One side's check-in. Cheap to clone and to call; does nothing without a watchdog.
#[derive(Clone)]
pub struct Heartbeat {
    shared: Option<Arc<Shared>>,
    side: Side,
}

impl Heartbeat {
    /// "Still alive": call it from the side's own tick, at least every [`Heartbeat::interval`].
    pub fn beat(&self) {
        if let Some(shared) = &self.shared {
            let now = shared.now_ms().saturating_add(1);
            shared.beats[self.side.index()].store(now, Ordering::Relaxed);
        }
    }

    /// How often to beat; `None` when there is no watchdog to beat for.
    pub fn interval(&self) -> Option<Duration> {
        self.shared.as_ref().map(|s| s.interval)
    }

    pub fn side(&self) -> Side {
        self.side
    }
}

/// The watchdog thread: sends `WATCHDOG=1` every quarter period while both sides have checked
/// in within the last half period. Stops when dropped.
pub struct Watchdog {
    shared: Option<Arc<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Start the watchdog thread for `period` (`WatchdogSec=`) when a service manager listens
    /// and a period is set; otherwise a watchdog that does nothing.
    pub fn start(notifier: &Notifier, period: Option<Duration>) -> io::Result<Watchdog> {
        let period = match period {
            Some(p) if notifier.is_enabled() && !p.is_zero() => p,
            _ => {
                return Ok(Watchdog {
                    shared: None,
                    thread: None,
                });
            }
        };
        let shared = Arc::new(Shared {
            started: Instant::now(),
            beats: [AtomicU64::new(0), AtomicU64::new(0)],
            interval: period / 8,
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let for_thread = shared.clone();
        let notifier = notifier.clone();
        let thread = std::thread::Builder::new()
            .name("selfcheck-watchdog".into())
            .spawn(move || keep_alive(&for_thread, &notifier, period))?;
        tracing::debug!(?period, "watchdog started");
        Ok(Watchdog {
            shared: Some(shared),
            thread: Some(thread),
        })
    }

    /// The UI event loop's check-in.
    pub fn ui(&self) -> Heartbeat {
        self.heartbeat(Side::Ui)
    }

    /// The runtime's check-in.
    pub fn runtime(&self) -> Heartbeat {
        self.heartbeat(Side::Runtime)
    }

    /// Whether keep-alives are being sent (a service manager with `WatchdogSec=`).
    pub fn is_running(&self) -> bool {
        self.thread.is_some()
    }

    fn heartbeat(&self, side: Side) -> Heartbeat {
        Heartbeat {
            shared: self.shared.clone(),
            side,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            *shared.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
            shared.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Which sides have not checked in within `window` of `now` (all in the milliseconds of
/// [`Shared::now_ms`]; a beat of zero is "never").
fn stalled(now: u64, beats: [u64; 2], window: u64) -> Vec<Side> {
    [Side::Ui, Side::Runtime]
        .into_iter()
        .filter(|side| {
            let last = beats[side.index()];
            last == 0 || now.saturating_add(1).saturating_sub(last) > window
        })
        .collect()
}

fn keep_alive(shared: &Shared, notifier: &Notifier, period: Duration) {
    let tick = period / 4;
    let window = u64::try_from((period / 2).as_millis()).unwrap_or(u64::MAX);
    let mut reported: Vec<Side> = Vec::new();
    let mut sending_failed = false;
    let mut stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        stop = shared
            .wake
            .wait_timeout(stop, tick)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if *stop {
            return;
        }
        let beats = [
            shared.beats[0].load(Ordering::Relaxed),
            shared.beats[1].load(Ordering::Relaxed),
        ];
        let silent = stalled(shared.now_ms(), beats, window);
        // Before the first beat of both sides the kiosk is still starting up, which
        // TimeoutStartSec= covers; a side that beat once and went silent has hung.
        let started = beats.iter().all(|&b| b != 0);
        if silent.is_empty() {
            match notifier.send(&[NotifyState::Watchdog]) {
                Ok(()) => sending_failed = false,
                Err(e) if !sending_failed => {
                    sending_failed = true;
                    tracing::warn!("cannot send the watchdog keep-alive: {e}");
                }
                Err(_) => {}
            }
            if !reported.is_empty() {
                tracing::info!("watchdog: every side checks in again");
                if let Some(status) = notifier.last_status() {
                    let _ = notifier.send(&[NotifyState::Status(&status)]);
                }
                reported.clear();
            }
        } else if started && silent != reported {
            let names: Vec<&str> = silent.iter().map(|s| s.describe()).collect();
            let text = format!("not responding: {}", names.join(" and "));
            tracing::error!("watchdog: {text}; the service manager will restart the kiosk");
            let _ = notifier.send(&[NotifyState::Status(&text)]);
            reported = silent;
        }
    }
}

/// Beat for the runtime from a task on it, for as long as the runtime runs. Returns at once
/// when there is no watchdog.
pub async fn beat_runtime(heartbeat: Heartbeat) {
    let Some(interval) = heartbeat.interval() else {
        return;
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        heartbeat.beat();
    }
}

/// Beat for the UI from a timer on the Slint event loop. Keep the timer while the window runs;
/// without a watchdog it is never started.
#[cfg(feature = "gui")]
pub fn beat_ui(heartbeat: Heartbeat) -> slint::Timer {
    let timer = slint::Timer::default();
    if let Some(interval) = heartbeat.interval() {
        heartbeat.beat();
        timer.start(slint::TimerMode::Repeated, interval, move || {
            heartbeat.beat()
        });
    }
    timer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake service manager: a datagram socket bound in a temporary directory.
    struct FakeManager {
        _dir: tempfile::TempDir,
        path: PathBuf,
        socket: UnixDatagram,
    }

    impl FakeManager {
        fn new() -> FakeManager {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("notify");
            let socket = UnixDatagram::bind(&path).expect("bind");
            FakeManager {
                _dir: dir,
                path,
                socket,
            }
        }

        fn notifier(&self) -> Notifier {
            Notifier::for_socket(self.path.as_os_str())
        }

        /// The next datagram, or `None` after `wait` of silence.
        fn next(&self, wait: Duration) -> Option<String> {
            self.socket.set_read_timeout(Some(wait)).expect("timeout");
            let mut buf = [0u8; 4096];
            match self.socket.recv(&mut buf) {
                Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    None
                }
                Err(e) => panic!("recv: {e}"),
            }
        }

        /// Wait for `count` keep-alives; the other messages seen meanwhile are returned.
        fn keep_alives(&self, count: usize) -> Vec<String> {
            let mut others = Vec::new();
            let mut seen = 0;
            while seen < count {
                let message = self
                    .next(Duration::from_secs(20))
                    .expect("a keep-alive within 20 s");
                if message == "WATCHDOG=1\n" {
                    seen += 1;
                } else {
                    others.push(message);
                }
            }
            others
        }

        /// Read until `quiet` passes without a message; the messages read.
        fn until_quiet(&self, quiet: Duration, most: usize) -> Vec<String> {
            let mut messages = Vec::new();
            while let Some(message) = self.next(quiet) {
                messages.push(message);
                assert!(messages.len() <= most, "never quiet: {messages:?}");
            }
            messages
        }
    }

    /// Beats the chosen sides every few milliseconds on a thread of its own.
    struct Beater {
        sides: Arc<Mutex<Vec<Heartbeat>>>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Beater {
        fn new(hearts: Vec<Heartbeat>) -> Beater {
            let sides = Arc::new(Mutex::new(hearts));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s, st) = (sides.clone(), stop.clone());
            let thread = std::thread::spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    for heart in s.lock().expect("lock").iter() {
                        heart.beat();
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
            Beater {
                sides,
                stop,
                thread: Some(thread),
            }
        }

        fn only(&self, hearts: Vec<Heartbeat>) {
            *self.sides.lock().expect("lock") = hearts;
        }
    }

    impl Drop for Beater {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    const PERIOD: Duration = Duration::from_millis(400);

    #[test]
    fn ready_and_status_arrive_as_lines_of_one_datagram() {
        let manager = FakeManager::new();
        let notifier = manager.notifier();
        assert!(notifier.is_enabled());
        notifier.ready("in service");
        assert_eq!(
            manager.next(Duration::from_secs(10)).as_deref(),
            Some("READY=1\nSTATUS=in service\n")
        );
        notifier.status("out of order: reader\nSTOPPING=1");
        assert_eq!(
            manager.next(Duration::from_secs(10)).as_deref(),
            Some("STATUS=out of order: reader STOPPING=1\n")
        );
        notifier.stopping();
        assert_eq!(
            manager.next(Duration::from_secs(10)).as_deref(),
            Some("STOPPING=1\nSTATUS=stopping\n")
        );
    }

    #[test]
    fn keep_alives_arrive_while_both_sides_beat() {
        let manager = FakeManager::new();
        let watchdog = Watchdog::start(&manager.notifier(), Some(PERIOD)).expect("start");
        assert!(watchdog.is_running());
        let _beater = Beater::new(vec![watchdog.ui(), watchdog.runtime()]);
        let others = manager.keep_alives(3);
        assert!(others.is_empty(), "{others:?}");
    }

    #[test]
    fn no_keep_alive_before_both_sides_have_beaten() {
        let manager = FakeManager::new();
        let watchdog = Watchdog::start(&manager.notifier(), Some(PERIOD)).expect("start");
        let beater = Beater::new(vec![watchdog.ui()]);
        // Several periods of the UI alone: nothing at all (the kiosk is still starting).
        assert_eq!(manager.next(PERIOD * 3), None);
        beater.only(vec![watchdog.ui(), watchdog.runtime()]);
        manager.keep_alives(1);
    }

    fn keep_alives_stop_when(stalled_side: Side) {
        let manager = FakeManager::new();
        let notifier = manager.notifier();
        notifier.status("in service");
        assert!(manager.next(Duration::from_secs(10)).is_some());
        let watchdog = Watchdog::start(&notifier, Some(PERIOD)).expect("start");
        let beater = Beater::new(vec![watchdog.ui(), watchdog.runtime()]);
        manager.keep_alives(2);

        let alive = match stalled_side {
            Side::Ui => watchdog.runtime(),
            Side::Runtime => watchdog.ui(),
        };
        beater.only(vec![alive.clone()]);
        // The keep-alives already due drain out, then the stall is reported, then silence:
        // systemd would now kill the kiosk after WatchdogSec.
        let after = manager.until_quiet(PERIOD * 3, 10);
        let expected = format!("STATUS=not responding: {}\n", stalled_side.describe());
        let report = after
            .iter()
            .position(|m| *m == expected)
            .unwrap_or_else(|| panic!("no stall report in {after:?}"));
        assert!(
            after[report + 1..].is_empty(),
            "messages after the stall report: {after:?}"
        );
        assert!(
            after[..report].iter().all(|m| m == "WATCHDOG=1\n"),
            "{after:?}"
        );

        // Back: keep-alives again, and the kiosk's own status line is put back.
        beater.only(vec![watchdog.ui(), watchdog.runtime()]);
        let back: Vec<Option<String>> = (0..2)
            .map(|_| manager.next(Duration::from_secs(20)))
            .collect();
        assert_eq!(
            back,
            [
                Some("WATCHDOG=1\n".to_string()),
                Some("STATUS=in service\n".to_string())
            ]
        );
    }

    #[test]
    fn keep_alives_stop_when_the_ui_stops_beating() {
        keep_alives_stop_when(Side::Ui);
    }

    #[test]
    fn keep_alives_stop_when_the_runtime_stops_beating() {
        keep_alives_stop_when(Side::Runtime);
    }

    #[test]
    fn nothing_happens_without_a_service_manager() {
        let notifier = Notifier::default();
        assert!(!notifier.is_enabled());
        notifier.ready("in service");
        notifier.stopping();
        let watchdog = Watchdog::start(&notifier, Some(PERIOD)).expect("start");
        assert!(!watchdog.is_running());
        let heart = watchdog.ui();
        assert_eq!(heart.interval(), None);
        heart.beat();
        assert!(!Notifier::for_socket(std::ffi::OsStr::new("")).is_enabled());
    }

    #[test]
    fn no_watchdog_without_a_period() {
        let manager = FakeManager::new();
        for period in [None, Some(Duration::ZERO)] {
            let watchdog = Watchdog::start(&manager.notifier(), period).expect("start");
            assert!(!watchdog.is_running());
        }
    }

    #[test]
    fn the_socket_address_may_be_abstract() {
        assert_eq!(
            Address::parse(std::ffi::OsStr::new("@selfcheck/notify")),
            Some(Address::Abstract(b"selfcheck/notify".to_vec()))
        );
        assert_eq!(
            Address::parse(std::ffi::OsStr::new("/run/systemd/notify")),
            Some(Address::Path("/run/systemd/notify".into()))
        );
        let name = format!("selfcheck-test-{}", std::process::id());
        let listener = {
            use std::os::linux::net::SocketAddrExt;
            let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
            UnixDatagram::bind_addr(&addr).expect("bind abstract")
        };
        Notifier::for_socket(std::ffi::OsStr::new(&format!("@{name}"))).ready("up");
        listener
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("ready");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up\n");
    }

    #[test]
    fn stall_arithmetic() {
        // Beats are stored plus one; a window of 100 ms.
        assert_eq!(stalled(1000, [950, 990], 100), vec![]);
        assert_eq!(stalled(1000, [850, 990], 100), vec![Side::Ui]);
        assert_eq!(stalled(1000, [950, 0], 100), vec![Side::Runtime]);
        assert_eq!(stalled(1000, [0, 0], 100), vec![Side::Ui, Side::Runtime]);
    }

    /// The real environment, as systemd sets it, read by a child process: this test runs the
    /// test binary again, for [`child_under_a_service_manager`] only, with `NOTIFY_SOCKET` and
    /// `WATCHDOG_USEC` pointing at a fake manager.
    #[test]
    fn the_environment_names_the_socket_and_the_period() {
        let manager = FakeManager::new();
        let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "service::tests::child_under_a_service_manager",
                "--ignored",
                "--nocapture",
            ])
            .env(NOTIFY_SOCKET, &manager.path)
            .env("WATCHDOG_USEC", PERIOD.as_micros().to_string())
            .env_remove("WATCHDOG_PID")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run the child");
        let first = manager.next(Duration::from_secs(60));
        let keep_alive = first
            .as_deref()
            .filter(|m| *m == "READY=1\nSTATUS=child\n")
            .and_then(|_| manager.next(Duration::from_secs(60)));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(first.as_deref(), Some("READY=1\nSTATUS=child\n"));
        assert_eq!(keep_alive.as_deref(), Some("WATCHDOG=1\n"));
    }

    #[test]
    #[ignore = "run by the_environment_names_the_socket_and_the_period in a child process"]
    fn child_under_a_service_manager() {
        let notifier = Notifier::from_env();
        let period = watchdog_period();
        if !notifier.is_enabled() || period.is_none() {
            return;
        }
        let watchdog = Watchdog::start(&notifier, period).expect("start");
        notifier.ready("child");
        let _beater = Beater::new(vec![watchdog.ui(), watchdog.runtime()]);
        // The parent kills this process once it has heard what it waits for.
        std::thread::sleep(Duration::from_secs(60));
    }
}
