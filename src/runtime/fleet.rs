//! The kiosk in the fleet: the publisher started from `[telemetry]`, the health the runner
//! reports to it (link, reader, printer, queue, conflicts, clock) and the fleet's commands
//! carried out on the runner. Publishing never blocks or fails the kiosk: a publisher that
//! cannot start is logged and the kiosk serves without one.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;

use super::Runner;
use crate::board::PrinterBoard;
use crate::config::Settings;
use crate::config::layers::Layers;
use crate::fleet::{Component, FleetCommand, FleetCommands, FleetHandle, FleetSetup, Health};
use crate::kiosk::FaultKind;
use crate::store::StoreHandle;
use crate::store::journal::State;

/// How often the printer and the clock's synchronisation are asked (each may take seconds).
const PROBE_EVERY: Duration = Duration::from_secs(60);

/// How long a reply to `restart` is given to leave before the kiosk stops.
pub const REPLY_GRACE: Duration = Duration::from_millis(500);

/// How often the journal's queue and conflicts are counted again when nothing happened.
pub const COUNT_EVERY: Duration = Duration::from_secs(30);

/// What the slow probes found: the printer and the system clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    pub printer: Component,
    pub clock_synced: Option<bool>,
}

impl Default for Probes {
    fn default() -> Self {
        Probes {
            printer: Component::Absent,
            clock_synced: None,
        }
    }
}

/// The publisher of a kiosk and the commands it hears. With telemetry off, or when the
/// publisher cannot start (the reason is logged), a handle that publishes nothing.
pub fn start(
    settings: &Settings,
    board: &str,
    data_dir: &Path,
    layers: Layers,
    store: &StoreHandle,
    runtime: &tokio::runtime::Handle,
) -> (FleetHandle, FleetCommands) {
    let outbox_max = settings.telemetry.outbox_max;
    if !settings.telemetry.enabled {
        return FleetHandle::disabled(outbox_max);
    }
    let setup = FleetSetup::from_settings(settings, board, data_dir, layers);
    let terminal = setup.terminal_id.clone();
    match FleetHandle::start(setup, store.clone(), runtime) {
        Ok(started) => {
            tracing::info!(
                %terminal,
                broker = %settings.telemetry.broker,
                site = %settings.telemetry.site,
                "fleet telemetry on"
            );
            started
        }
        Err(e) => {
            tracing::error!("fleet telemetry off: {e}");
            FleetHandle::disabled(outbox_max)
        }
    }
}

/// Ask the printer and the clock now and every minute, on blocking threads; the runner reads
/// the latest answers. Ends when the receiver is dropped.
pub fn spawn_probes(
    settings: &Settings,
    printer: PrinterBoard,
    runtime: &tokio::runtime::Handle,
) -> watch::Receiver<Probes> {
    let (tx, rx) = watch::channel(Probes::default());
    let receipt = settings.receipt.clone();
    runtime.spawn(async move {
        let mut every = tokio::time::interval(PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let (receipt, printer) = (receipt.clone(), printer.clone());
            let probed = tokio::task::spawn_blocking(move || Probes {
                printer: printer_component(&receipt, &printer),
                clock_synced: clock_synced(),
            })
            .await;
            let Ok(probes) = probed else { return };
            tx.send_if_modified(|p| {
                let changed = *p != probes;
                *p = probes;
                changed
            });
            if tx.is_closed() {
                return;
            }
        }
    });
    rx
}

/// The receipt printer as health reports it: absent, answering, or with a problem.
fn printer_component(receipt: &crate::receipt::ReceiptSettings, board: &PrinterBoard) -> Component {
    match crate::receipt::printer::ReceiptPrinter::from_settings(receipt, board) {
        Ok(None) => Component::Absent,
        Ok(Some(mut printer)) => match printer.health().problem {
            None => Component::Ok,
            Some(_) => Component::Fault,
        },
        Err(e) => {
            tracing::debug!("receipt printer not usable: {e}");
            Component::Fault
        }
    }
}

/// Whether the system clock is synchronised (NTP); `None` when it cannot be told.
fn clock_synced() -> Option<bool> {
    match crate::clock::system_ntp_state() {
        crate::clock::NtpState::Synchronised { .. } => Some(true),
        crate::clock::NtpState::Unsynchronised { .. } => Some(false),
        crate::clock::NtpState::Unknown { .. } => None,
    }
}

/// The queue waiting for the sync and the conflicts waiting for staff, from the journal.
pub async fn journal_counts(store: &StoreHandle) -> Option<(u64, u64)> {
    let counts = store.call(|c| crate::store::journal::counts(c)).await;
    match counts {
        Ok(counts) => {
            let n = |states: &[State]| -> u64 {
                counts
                    .iter()
                    .filter(|(s, _)| states.iter().any(|st| st.as_str() == s))
                    .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
                    .sum()
            };
            Some((n(&[State::Pending, State::Queued]), n(&[State::Conflict])))
        }
        Err(e) => {
            tracing::warn!("cannot count the journal for the fleet: {e}");
            None
        }
    }
}

/// What the runner does with a command that does not change whether the kiosk serves.
pub enum Obeyed {
    /// Answer with this and carry on.
    Reply(Result<String, String>),
    /// Put the kiosk out of order with the staff's reason (`None`: back in service).
    Service(Option<String>),
    /// Answer, then exit for the service manager to start the kiosk again.
    Restart,
}

/// Carry out `command` on the runner, as far as it can alone.
pub fn obey(runner: &mut Runner, command: &FleetCommand) -> Obeyed {
    match command {
        FleetCommand::Sync => {
            if !runner.online {
                return Obeyed::Reply(Err(
                    "the library system cannot be reached: the queue waits for it".into(),
                ));
            }
            let running = runner.syncing();
            runner.start_sync();
            Obeyed::Reply(Ok(if running {
                "a sync is already running".into()
            } else {
                "sync started".into()
            }))
        }
        FleetCommand::OutOfOrder { reason } => Obeyed::Service(Some(reason.clone())),
        FleetCommand::InService => Obeyed::Service(None),
        FleetCommand::Restart => Obeyed::Restart,
    }
}

/// The health the runner reports, from what it knows.
pub fn health(runner: &Runner, probes: &Probes, counts: (u64, u64)) -> Health {
    let reader = match runner.kiosk.fault() {
        Some(f) if f.kind == FaultKind::Reader => Component::Fault,
        _ => Component::Ok,
    };
    Health {
        ils_online: runner.online,
        reader,
        printer: probes.printer,
        queue_depth: counts.0,
        conflicts: counts.1,
        clock_synced: probes.clock_synced,
    }
}

/// The answer to `out-of-order` and `in-service`: whether the kiosk serves now.
pub fn service_reply(runner: &Runner) -> String {
    match runner.kiosk.fault() {
        Some(f) if f.kind == FaultKind::Staff => format!("out of order: {}", f.reason),
        Some(f) => format!("out of order ({}): {}", f.kind.as_str(), f.reason),
        None => "in service".into(),
    }
}

/// What the runtime needs to take part in the fleet.
pub struct Telemetry {
    pub fleet: FleetHandle,
    pub commands: FleetCommands,
    pub probes: Option<watch::Receiver<Probes>>,
    /// Called when the fleet asks for a restart (after the reply): the window closes and the
    /// kiosk exits with [`super::RESTART_EXIT_CODE`].
    pub on_restart: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl Telemetry {
    /// No fleet: nothing published, no command heard.
    pub fn disabled() -> Telemetry {
        let (fleet, commands) =
            FleetHandle::disabled(crate::fleet::TelemetrySettings::default().outbox_max);
        Telemetry {
            fleet,
            commands,
            probes: None,
            on_restart: std::sync::Arc::new(|| {}),
        }
    }
}
