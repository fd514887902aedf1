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
use crate::kiosk::{Effect, Event, Kiosk, KioskConfig, ScreenModel};
use crate::sip2::client::Sip2Handle;
use crate::sip2::demo_ils::{ServerConfig, ServerHandle};
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
    pub ils: Sip2Handle,
    /// The demo ILS when the settings ask for it (`ils.server = "demo"`), serving on loopback
    /// inside the kiosk.
    pub demo_ils: Option<ServerHandle>,
    pub first_model: ScreenModel,
}

/// Start the ILS link: the configured server, or a demo ILS started here on a free loopback
/// port.
async fn start_ils(settings: &Settings) -> Result<(Sip2Handle, Option<ServerHandle>)> {
    let mut demo = None;
    let addr = if settings.ils.is_demo() {
        let (_ils, handle) = crate::tools::demo_ils::start(
            None,
            "127.0.0.1:0",
            ServerConfig {
                institution: settings.terminal.institution.clone(),
                library_name: settings.terminal.library_name.clone(),
                ..ServerConfig::default()
            },
        )
        .await?;
        let addr = handle.local_addr().to_string();
        tracing::info!(%addr, "demo ILS started inside the kiosk");
        demo = Some(handle);
        addr
    } else {
        settings.ils.server.clone()
    };
    let config = crate::tools::sip2::client_config(settings, &addr).map_err(anyhow::Error::msg)?;
    let client = Sip2Handle::spawn(config).context("cannot start the SIP2 client")?;
    Ok((client, demo))
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

    let (ils, demo_ils) = runtime.block_on(start_ils(settings))?;

    let mut kiosk = Kiosk::new(KioskConfig::from_settings(settings));
    let first_model = kiosk.model();
    let (events, mut rx) = mpsc::channel::<Event>(EVENT_QUEUE);
    runtime.spawn(async move {
        while let Some(event) = rx.recv().await {
            for effect in kiosk.handle(event) {
                match effect {
                    Effect::Show(model) => show(model),
                }
            }
        }
    });
    // The screen shows whether the ILS answers; the client's heartbeat keeps that current.
    let mut link = ils.link();
    let link_events = events.clone();
    runtime.spawn(async move {
        loop {
            let online = link.borrow_and_update().is_online();
            telemetry.publish(&TelemetryEvent::LinkChanged { online });
            if link_events
                .send(Event::LinkChanged { online })
                .await
                .is_err()
            {
                break;
            }
            if link.changed().await.is_err() {
                break;
            }
        }
    });
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
        ils,
        demo_ils,
        first_model,
    })
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
