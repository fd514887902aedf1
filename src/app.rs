//! `selfcheck run`: wires the ports to their adapters and starts the threads.
//!
//! Slint owns the main thread. The tokio runtime runs on its own worker threads and hosts the
//! kiosk core as a task fed by a bounded event channel; the store owns its own thread.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use crate::board::Board;
use crate::config::Settings;
use crate::fleet::{Event as TelemetryEvent, LogTelemetry, Telemetry};
use crate::kiosk::{Event, Kiosk, KioskConfig, Rules, ScreenModel};
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
}

/// Start the store, the runtime and the kiosk core. `show` receives every new screen model
/// (the UI bridge, or the headless driver's writer).
pub fn start_core(
    settings: &Settings,
    data_dir: &Path,
    show: impl Fn(ScreenModel) + Send + 'static,
) -> Result<Core> {
    let db = data_dir.join(store::DB_FILE);
    let store = StoreHandle::spawn(store::open(&db)?).context("cannot start the store thread")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("selfcheck-rt")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let telemetry = LogTelemetry;
    telemetry.publish(&TelemetryEvent::Started {
        terminal: settings.terminal.id.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
    });

    let kiosk = Kiosk::with_rules(
        KioskConfig::from_settings(settings),
        Rules::from_settings(settings),
    );
    let first_model = kiosk.model();
    let (events, rx) = mpsc::channel::<Event>(EVENT_QUEUE);
    runtime.spawn(serve_kiosk(
        settings.clone(),
        store.clone(),
        kiosk,
        rx,
        show,
    ));
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
    })
}

/// How often the pad is read for tags put on or taken off.
const PAD_POLL: Duration = Duration::from_millis(300);

/// The kiosk core and its shell on the runtime: events from the UI, the pad polled, the link
/// watched (the sync runs when it comes back).
async fn serve_kiosk(
    settings: Settings,
    store: StoreHandle,
    kiosk: Kiosk,
    mut rx: mpsc::Receiver<Event>,
    show: impl Fn(ScreenModel) + Send + 'static,
) {
    let link = match crate::headless::connect_ils(&settings, false).await {
        Ok(link) => link,
        Err(e) => {
            tracing::error!("cannot start the library system link: {e:#}");
            return;
        }
    };
    // The simulated pad until the board's reader adapters are wired here.
    let pad = crate::rfid::sim::SimPad::new();
    let reader: crate::shell::SharedReader = std::sync::Arc::new(std::sync::Mutex::new(Box::new(
        crate::rfid::Iso15693Reader::new(pad),
    )));
    let shell = crate::shell::Shell::new(
        link.sip2.clone(),
        store,
        reader,
        crate::shell::ShellConfig::from_settings(&settings),
    );
    let mut runner =
        crate::headless::Runner::new(kiosk, shell, Box::new(crate::headless::ShowOnly(show)));
    let mut poll = tokio::time::interval(PAD_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = tokio::select! {
            event = rx.recv() => match event {
                Some(event) => runner.feed(event).await,
                None => break,
            },
            _ = poll.tick() => match runner.check_link().await {
                Ok(()) => runner.poll_pad().await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = step {
            tracing::warn!("kiosk step failed: {e:#}");
        }
    }
    if let Some((_, server)) = link.demo {
        server.shutdown().await;
    }
}

/// Run the kiosk with its window until the window is closed.
#[cfg(feature = "gui")]
pub fn run(settings: Settings, board: Board, data_dir: &Path, fullscreen: bool) -> Result<()> {
    use slint::ComponentHandle;

    use crate::ui::{AppWindow, KioskAdapter, bridge};

    tracing::debug!(?board, "board");
    let window = AppWindow::new().context("cannot open the kiosk window")?;
    window
        .global::<KioskAdapter>()
        .set_library_name(settings.terminal.library_name.clone().into());
    let ui = bridge::Bridge::new(&window);
    let core = start_core(&settings, data_dir, move |model| ui.show(model))?;
    bridge::write_model(&window, &core.first_model);
    bridge::connect(&window, core.events.clone());
    if fullscreen {
        window.window().set_fullscreen(true);
    }
    window.run().context("the UI event loop failed")?;
    drop(core.events);
    core.runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

#[cfg(not(feature = "gui"))]
pub fn run(_settings: Settings, _board: Board, _data_dir: &Path, _fullscreen: bool) -> Result<()> {
    anyhow::bail!("this build has no window (built without the `gui` feature)")
}
