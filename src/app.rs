//! `selfcheck run`: wires the ports to their adapters and starts the threads.
//!
//! Slint owns the main thread. The tokio runtime runs on its own worker threads and hosts the
//! kiosk core as a task fed by a bounded event channel; the store owns its own thread.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::board::{Board, RfidReaderKind};
use crate::config::Settings;
use crate::config::layers::Layers;
use crate::fleet::FleetHandle;
use crate::kiosk::{Event, Fault, Kiosk, KioskConfig, Rules, ScreenModel};
use crate::rfid::reader::SharedReader;
use crate::rfid::sim::SimPad;
use crate::runtime::link::LinkOptions;
use crate::runtime::serve::{PadWatch, StaffCardHook, serve_kiosk, spawn_scanner};
use crate::runtime::shell::{Shell, ShellConfig};
use crate::sip2::client::Sip2Handle;
use crate::sip2::demo_ils::ServerHandle;
use crate::store::{self, StoreHandle};

/// Room for bursts of touches and tags; a full channel drops the touch with a log line
/// rather than freezing the UI.
const EVENT_QUEUE: usize = 64;

/// How often the core hears that time passed, for the idle timeout.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Everything running behind the window.
pub struct Core {
    pub runtime: tokio::runtime::Runtime,
    pub events: mpsc::Sender<Event>,
    pub store: StoreHandle,
    pub first_model: ScreenModel,
    /// The SIP2 client the kiosk uses (staff mode's round-trip test and status).
    pub sip2: Sip2Handle,
    /// The item reader the kiosk polls (staff mode's diagnostics share it).
    pub reader: SharedReader,
    /// The simulated pad, which the `sim` board reads; the demo drawer moves tags on it.
    pub pad: SimPad,
    /// Whether the board's reader is the simulated pad.
    pub simulated: bool,
    /// How the receipt printer did at its last print (staff mode's status).
    pub printer_state: Arc<Mutex<crate::runtime::receipts::PrinterState>>,
    /// The fleet's publisher (disabled with telemetry off).
    pub fleet: FleetHandle,
    /// The fleet asked for a restart.
    restart: Arc<AtomicBool>,
    demo_ils: Option<ServerHandle>,
}

impl Core {
    /// Whether the fleet asked for a restart.
    pub fn restart_requested(&self) -> bool {
        self.restart.load(Ordering::SeqCst)
    }

    /// Stop the kiosk core, the fleet's publisher (it says `offline`) and the in-process demo
    /// ILS, waiting a little for each.
    pub fn shutdown(self) {
        drop(self.events);
        self.runtime.block_on(self.fleet.shutdown());
        if let Some(server) = self.demo_ils {
            self.runtime.block_on(server.shutdown());
        }
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

/// Start the store, the runtime, the library system link, the board's reader and the kiosk
/// core. `show` receives every new screen model (the UI bridge, or a test's collector);
/// `on_staff_card` hears a staff card put on the pad.
///
/// A reader that cannot be opened does not stop the kiosk: it comes up out of order with
/// the reason on screen, so staff can see what is wrong from the kiosk itself.
pub fn start_core(
    settings: &Settings,
    board: &Board,
    data_dir: &Path,
    show: impl Fn(ScreenModel) + Send + 'static,
    on_staff_card: StaffCardHook,
) -> Result<Core> {
    start_core_with(
        settings,
        Layers::new(None, data_dir),
        board,
        data_dir,
        show,
        on_staff_card,
    )
}

/// [`start_core`] for settings read from `layers`, where the fleet's `settings` command writes.
pub fn start_core_with(
    settings: &Settings,
    layers: Layers,
    board: &Board,
    data_dir: &Path,
    show: impl Fn(ScreenModel) + Send + 'static,
    on_staff_card: StaffCardHook,
) -> Result<Core> {
    let db = data_dir.join(store::DB_FILE);
    let store = StoreHandle::spawn(store::open(&db)?).context("cannot start the store thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("selfcheck-rt")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let (fleet, commands) = crate::runtime::fleet::start(
        settings,
        &board.name,
        data_dir,
        layers,
        &store,
        runtime.handle(),
    );
    let probes = fleet.is_enabled().then(|| {
        crate::runtime::fleet::spawn_probes(settings, board.printer.clone(), runtime.handle())
    });
    let restart = Arc::new(AtomicBool::new(false));
    let asked = restart.clone();
    let telemetry = crate::runtime::fleet::Telemetry {
        fleet: fleet.clone(),
        commands,
        probes,
        on_restart: Arc::new(move || {
            asked.store(true, Ordering::SeqCst);
            #[cfg(feature = "gui")]
            if let Err(e) = slint::quit_event_loop() {
                tracing::warn!("cannot close the window for the restart: {e}");
            }
        }),
    };

    let link = runtime
        .block_on(crate::runtime::link::connect_ils(
            settings,
            LinkOptions::default(),
        ))
        .context("cannot start the library system link")?;
    let pad = SimPad::new();
    let simulated = board.rfid.reader == RfidReaderKind::Sim;
    let (reader, reader_fault) = match crate::hw::open_tag_reader(board, &pad) {
        Ok(reader) => (reader, None),
        Err(e) => {
            tracing::error!("{e}");
            // Nothing is ever on this pad: the kiosk stays out of order until restarted.
            let idle: Box<dyn crate::rfid::reader::TagReader + Send> =
                Box::new(crate::rfid::Iso15693Reader::new(SimPad::new()));
            (idle, Some(Fault::reader(e.to_string())))
        }
    };
    let reader: SharedReader = Arc::new(Mutex::new(reader));

    let receipts =
        crate::runtime::receipts::ReceiptService::from_settings(settings, &board.printer);
    let mut kiosk = Kiosk::with_rules(
        KioskConfig::from_settings(settings),
        Rules::from_settings(settings).with_printer(settings, receipts.has_printer()),
    );
    if reader_fault.is_some() {
        // The effects are only the new screen, which `first_model` below carries.
        let _ = kiosk.handle(Event::OutOfOrder(reader_fault.clone()));
    }
    let first_model = kiosk.model();
    let mut shell = Shell::new(
        link.sip2.clone(),
        store.clone(),
        reader.clone(),
        ShellConfig::from_settings(settings),
    )
    .with_phone(
        crate::phone::PhoneGate::from_settings(settings),
        crate::clock::ClockState::from_system(&settings.terminal),
    );
    let printer_state = receipts.printer_state.clone();
    shell.receipts = receipts;
    let (events, rx) = mpsc::channel::<Event>(EVENT_QUEUE);
    match crate::hw::open_scanner(board) {
        Ok(Some(scanner)) => {
            let staff = settings.staff.clone();
            spawn_scanner(scanner, events.clone(), staff, on_staff_card.clone())
                .context("cannot start the scanner thread")?;
        }
        Ok(None) => {}
        // Cards and items on the pad still work: a missing scanner is for the staff to fix.
        Err(e) => tracing::error!("{e}"),
    }
    let watch = PadWatch {
        staff: settings.staff.clone(),
        on_staff_card,
        reader_fault: reader_fault.clone(),
        offline_enabled: settings.offline.enabled,
        retention: crate::runtime::Retention::from_settings(&settings.offline),
    };
    runtime.spawn(serve_kiosk(kiosk, shell, rx, show, watch, telemetry));
    let ticks = events.clone();
    runtime.spawn(async move {
        let mut interval = tokio::time::interval(IDLE_TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            if ticks.send(Event::Idle(IDLE_TICK)).await.is_err() {
                break;
            }
        }
    });
    Ok(Core {
        runtime,
        events,
        store,
        first_model,
        sip2: link.sip2,
        reader,
        pad,
        simulated,
        printer_state,
        fleet,
        restart,
        demo_ils: link.demo.map(|(_, server)| server),
    })
}

/// When the process started: `main` sets it first thing, for the cold-start figure.
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// For `scripts/bench-ui`: with this set to N, `run` renders its first frame, prints how long
/// after the start that was, and closes the window N milliseconds later.
pub const BENCH_EXIT_ENV: &str = "SELFCHECK_BENCH_EXIT_MS";

/// How `selfcheck run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The window was closed, or staff chose Exit.
    Closed,
    /// Staff chose Restart: exit with [`crate::runtime::RESTART_EXIT_CODE`] for the service manager.
    Restart,
}

/// Run the kiosk with its window until the window is closed. `settings_files` says where the
/// settings came from; staff mode's editor saves into its terminal file.
///
/// Under systemd (`Type=notify`) it reports ready once the window's event loop runs, and, with
/// `WatchdogSec=`, keeps the watchdog fed only while both the event loop and the runtime check
/// in, so a hung screen or a hung core gets the kiosk restarted.
#[cfg(feature = "gui")]
pub fn run(
    settings: Settings,
    settings_files: crate::config::layers::Layers,
    board: Board,
    data_dir: &Path,
    fullscreen: bool,
) -> Result<Ended> {
    use slint::ComponentHandle;

    use crate::ui::staff::{self, ExitRequest, StaffContext};
    use crate::ui::{AppWindow, KioskAdapter, bridge};

    tracing::debug!(?board, "board");
    let window = AppWindow::new().context("cannot open the kiosk window")?;
    crate::ui::install_helpers(&window);
    bridge::set_sounds(crate::ui::sound::Sounds::open());
    window
        .global::<KioskAdapter>()
        .set_library_name(settings.terminal.library_name.clone().into());
    let ui = bridge::Bridge::new(&window);
    let for_cards = window.as_weak();
    let core = start_core_with(
        &settings,
        settings_files.clone(),
        &board,
        data_dir,
        move |model| ui.show(model),
        Arc::new(move || staff::card_presented(&for_cards)),
    )?;
    bridge::write_model(&window, &core.first_model);
    let staff = staff::connect(
        &window,
        StaffContext {
            settings: settings.clone(),
            settings_files,
            data_dir: data_dir.to_path_buf(),
            board: board.name.clone(),
            store: core.store.clone(),
            sip2: core.sip2.clone(),
            reader: core.reader.clone(),
            runtime: core.runtime.handle().clone(),
            events: core.events.clone(),
            printer: core.printer_state.clone(),
        },
    );
    // The demo patrons' phones in the demo drawer, when the kiosk takes the demo's codes.
    let phone = crate::phone::demo::kiosk_settings(&settings);
    let demo_phones =
        crate::phone::demo::takes_demo_codes(&phone).then(|| crate::ui::demo_pad::DemoPhones {
            events: core.events.clone(),
            issuer: phone.issuer.clone(),
        });
    let toucher = staff.clone();
    let for_typed = window.as_weak();
    bridge::connect_with(
        &window,
        core.events.clone(),
        move || toucher.touch(),
        move |number| {
            let staff_card = settings.staff.has_card(number);
            if staff_card {
                staff::card_presented(&for_typed);
            }
            staff_card
        },
    );
    if core.simulated {
        crate::ui::demo_pad::connect(&window, core.pad.clone(), demo_phones);
    }
    if fullscreen {
        window.window().set_fullscreen(true);
        window.global::<crate::ui::Theme>().set_hide_pointer(true);
    }
    if let Some(ms) = std::env::var(BENCH_EXIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        bench_first_frame(&window, Duration::from_millis(ms));
    }
    let notifier = crate::service::Notifier::from_env();
    let watchdog = crate::service::Watchdog::start(&notifier, crate::service::watchdog_period())
        .context("cannot start the watchdog thread")?;
    core.runtime
        .spawn(crate::service::beat_runtime(watchdog.runtime()));
    let _ui_beat = crate::service::beat_ui(watchdog.ui());
    let ready = notifier.clone();
    slint::Timer::single_shot(Duration::ZERO, move || ready.ready("in service"));
    window.run().context("the UI event loop failed")?;
    notifier.stopping();
    drop(watchdog);
    let fleet_restart = core.restart_requested();
    core.shutdown();
    Ok(match staff.exit_request() {
        Some(ExitRequest::Restart) => Ended::Restart,
        _ if fleet_restart => Ended::Restart,
        Some(ExitRequest::Quit) | None => Ended::Closed,
    })
}

/// How long the bench waits for the platform to give the window its on-screen size.
#[cfg(feature = "gui")]
const BENCH_SIZE_WAIT: Duration = Duration::from_secs(3);

/// Once the platform has given the window its on-screen size (the event loop runs before the
/// window exists, at a provisional size): render a frame of the window as it is, print the
/// time since the process started, and close the window after `linger`.
#[cfg(feature = "gui")]
fn bench_first_frame(window: &crate::ui::AppWindow, linger: Duration) {
    use std::cell::Cell;
    use std::rc::Rc;

    use slint::ComponentHandle;

    let weak = window.as_weak();
    // The provisional size, as the first tick finds it.
    let mut first_size = None;
    let waiting_since = std::time::Instant::now();
    let poll = Rc::new(slint::Timer::default());
    let done = Rc::new(Cell::new(false));
    let keep = poll.clone();
    poll.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(1),
        move || {
            let Some(window) = weak.upgrade() else {
                return;
            };
            let size = window.window().size();
            let sized = *first_size.get_or_insert(size) != size;
            if done.get() || (!sized && waiting_since.elapsed() < BENCH_SIZE_WAIT) {
                return;
            }
            done.set(true);
            keep.stop();
            match window.window().take_snapshot() {
                Ok(frame) => {
                    let since = STARTED.get().map(|t| t.elapsed()).unwrap_or_default();
                    println!(
                        "first frame {}x{} after {:.1} ms",
                        frame.width(),
                        frame.height(),
                        since.as_secs_f64() * 1000.0
                    );
                }
                Err(e) => eprintln!("no frame: {e}"),
            }
            slint::Timer::single_shot(linger, || {
                if let Err(e) = slint::quit_event_loop() {
                    tracing::warn!("cannot close the window: {e}");
                }
            });
        },
    );
}

#[cfg(not(feature = "gui"))]
pub fn run(
    _settings: Settings,
    _settings_files: crate::config::layers::Layers,
    _board: Board,
    _data_dir: &Path,
    _fullscreen: bool,
) -> Result<Ended> {
    anyhow::bail!("this build has no window (built without the `gui` feature)")
}
