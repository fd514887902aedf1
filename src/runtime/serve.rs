//! The window's kiosk loop: events from the UI, the pad polled, the link watched (the sync
//! runs when it comes back), the scanner read on its own thread. A reader that keeps failing,
//! or a link that stays down with offline lending off, puts the kiosk out of order with the
//! reason; it comes back into service by itself once they work again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::mpsc;

use super::Runner;
use super::fleet::{Obeyed, Telemetry};
use super::shell::Shell;
use crate::kiosk::{Event, Fault, Kiosk, ScreenModel, TagKind, TagSeen};

/// How often the pad is read for tags put on or taken off.
const PAD_POLL: Duration = Duration::from_millis(300);

/// Failed pad reads in a row before the kiosk says it is out of order (about a second).
const READER_FAILURES: u32 = 3;

/// How long the library system may be unreachable, with offline lending off, before the
/// kiosk says it is out of order (the link is often down for a moment at start).
const LINK_GRACE: Duration = Duration::from_secs(10);

/// Opens staff mode when a staff card is presented (from the pad loop or the scanner thread).
pub type StaffCardHook = Arc<dyn Fn() + Send + Sync>;

/// What the pad loop does besides telling the core: staff cards go to staff mode.
pub struct PadWatch {
    /// The staff cards, which open staff mode instead of a patron session.
    pub staff: crate::config::Staff,
    /// Called (on the runtime) when a staff card is put on the pad.
    pub on_staff_card: StaffCardHook,
    /// The reader could not be opened at start: the kiosk stays out of order with this.
    pub reader_fault: Option<Fault>,
    /// Lending and returning go on while the library system is unreachable.
    pub offline_enabled: bool,
    /// How long journal rows are kept.
    pub retention: super::Retention,
}

/// How long the scanner thread waits for a code before it looks whether the kiosk still runs.
const SCAN_WAIT: Duration = Duration::from_millis(500);

/// Read the scanner on its own thread (its drivers block): staff cards open staff mode,
/// every other code goes to the core, which decides whether it is a card or an item label.
pub fn spawn_scanner(
    mut scanner: Box<dyn crate::scan::Scanner + Send>,
    events: mpsc::Sender<Event>,
    staff: crate::config::Staff,
    on_staff_card: StaffCardHook,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("selfcheck-scan".into())
        .spawn(move || {
            while !events.is_closed() {
                match scanner.next_code(SCAN_WAIT) {
                    Ok(Some(code)) => {
                        if staff.has_card(&code) {
                            on_staff_card();
                        } else if let Err(e) = events.try_send(Event::Scan(code)) {
                            tracing::warn!("scan dropped, the kiosk core is busy: {e}");
                        }
                    }
                    Ok(None) => {}
                    Err(e) if e.is_bad_scan() => tracing::info!("bad scan ignored: {e}"),
                    Err(e) => {
                        tracing::error!("the barcode scanner stopped: {e}");
                        break;
                    }
                }
            }
        })
}

impl PadWatch {
    fn is_staff(&self, tag: &TagSeen) -> bool {
        matches!(&tag.kind, TagKind::PatronCard { patron_id }
            if self.staff.has_card(patron_id))
    }
}

/// Why the kiosk cannot serve, from the reader and from the link; the core hears the first
/// of them whenever it changes.
#[derive(Default)]
struct Faults {
    /// Out of order by the fleet's command, until it says in service.
    staff: Option<Fault>,
    fixed: Option<Fault>,
    reader_failures: u32,
    reader: Option<Fault>,
    offline_since: Option<tokio::time::Instant>,
    link: Option<Fault>,
    told: Option<Fault>,
}

impl Faults {
    fn pad_read(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.reader_failures = 0;
                self.reader = None;
            }
            Err(e) => {
                self.reader_failures = self.reader_failures.saturating_add(1);
                if self.reader_failures >= READER_FAILURES {
                    self.reader = Some(Fault::reader(format!("RFID reader: {e}")));
                }
            }
        }
    }

    fn link(&mut self, online: bool, offline_enabled: bool) {
        if online || offline_enabled {
            self.offline_since = None;
            self.link = None;
            return;
        }
        let since = *self
            .offline_since
            .get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() >= LINK_GRACE {
            self.link = Some(Fault::link(
                "ILS link: the library system cannot be reached and offline lending is off",
            ));
        }
    }

    /// The fault to tell the core, when it differs from the one it was told last.
    fn changed(&mut self) -> Option<Option<Fault>> {
        let now = self
            .staff
            .clone()
            .or_else(|| self.fixed.clone())
            .or_else(|| self.reader.clone())
            .or_else(|| self.link.clone());
        if now == self.told {
            return None;
        }
        match &now {
            Some(fault) => tracing::error!("out of order: {}", fault.reason),
            None => tracing::info!("back in service"),
        }
        self.told = now.clone();
        Some(now)
    }
}

/// The kiosk core and its shell on the runtime: events from the UI, the pad polled, the link
/// watched (the sync runs when it comes back). A reader that keeps failing, or a link that
/// stays down with offline lending off, puts the kiosk out of order with the reason; it comes
/// back into service by itself once they work again.
pub async fn serve_kiosk(
    kiosk: Kiosk,
    shell: Shell,
    mut rx: mpsc::Receiver<Event>,
    show: impl Fn(ScreenModel) + Send + 'static,
    watch: PadWatch,
    telemetry: Telemetry,
) {
    let Telemetry {
        fleet,
        mut commands,
        probes,
        on_restart,
    } = telemetry;
    let mut runner = Runner::new(kiosk, shell, Box::new(super::ShowOnly(show)))
        .with_retention(watch.retention)
        .with_fleet(fleet, probes);
    let mut poll = tokio::time::interval(PAD_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut faults = Faults {
        fixed: watch.reader_fault.clone(),
        told: watch.reader_fault.clone(),
        ..Faults::default()
    };
    let mut staff_on_pad = false;
    loop {
        let step = tokio::select! {
            event = rx.recv() => match event {
                Some(event) => runner.feed(event).await,
                None => break,
            },
            _ = poll.tick() => {
                poll_once(&mut runner, &watch, &mut faults, &mut staff_on_pad).await
            }
            Some(request) = commands.recv() => {
                obey(&mut runner, &mut faults, request, on_restart.as_ref()).await
            }
        };
        if let Err(e) = step {
            tracing::warn!("kiosk step failed: {e:#}");
        }
    }
    runner.fleet().shutdown().await;
}

/// Carry out a fleet command and answer it.
async fn obey(
    runner: &mut Runner,
    faults: &mut Faults,
    request: crate::fleet::CommandRequest,
    on_restart: &(dyn Fn() + Send + Sync),
) -> Result<()> {
    let crate::fleet::CommandRequest { command, reply } = request;
    match super::fleet::obey(runner, &command) {
        Obeyed::Reply(answer) => {
            let _ = reply.send(answer);
        }
        Obeyed::Service(reason) => {
            faults.staff = reason.map(Fault::staff);
            if let Some(fault) = faults.changed() {
                runner.feed(Event::OutOfOrder(fault)).await?;
            }
            let _ = reply.send(Ok(super::fleet::service_reply(runner)));
        }
        Obeyed::Restart => {
            let _ = reply.send(Ok("restarting".into()));
            // Time for the reply to leave before the window closes.
            tokio::time::sleep(super::fleet::REPLY_GRACE).await;
            on_restart();
        }
    }
    Ok(())
}

/// One look at the link and the pad.
async fn poll_once(
    runner: &mut Runner,
    watch: &PadWatch,
    faults: &mut Faults,
    staff_on_pad: &mut bool,
) -> Result<()> {
    runner.check_link().await?;
    faults.link(runner.online, watch.offline_enabled);
    let tags = match runner.shell.read_pad().await {
        Ok(mut tags) => {
            faults.pad_read(Ok(()));
            let before = tags.len();
            tags.retain(|t| !watch.is_staff(t));
            let staff_now = tags.len() != before;
            if staff_now && !*staff_on_pad {
                (watch.on_staff_card)();
            }
            *staff_on_pad = staff_now;
            Some(tags)
        }
        Err(e) => {
            faults.pad_read(Err(e.to_string()));
            None
        }
    };
    if let Some(fault) = faults.changed() {
        runner.feed(Event::OutOfOrder(fault)).await?;
    }
    if let Some(tags) = tags {
        runner.feed(Event::Pad(tags)).await?;
    }
    // The patron card reader, once a round: a card newly put down identifies its patron, a
    // staff card opens staff mode.
    match runner.shell.poll_card().await {
        Ok(Some(id)) if watch.staff.has_card(&id) => {
            (watch.on_staff_card)();
            Ok(())
        }
        Ok(Some(id)) => runner.feed(Event::Patron(id)).await,
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::debug!("{e}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk::FaultKind;

    #[test]
    fn a_failing_reader_is_out_of_order_after_three_reads_and_back_after_one() {
        let mut f = Faults::default();
        f.pad_read(Err("no answer".into()));
        f.pad_read(Err("no answer".into()));
        assert_eq!(f.changed(), None, "two failures are a hiccup");
        f.pad_read(Err("no answer".into()));
        assert_eq!(
            f.changed(),
            Some(Some(Fault::reader("RFID reader: no answer")))
        );
        assert_eq!(f.changed(), None, "told once");
        f.pad_read(Ok(()));
        assert_eq!(f.changed(), Some(None));
    }

    #[test]
    fn a_reader_missing_at_start_is_never_cleared_by_reads() {
        let mut f = Faults {
            fixed: Some(Fault::reader("RFID reader: /dev/spidev0.0: no such file")),
            told: Some(Fault::reader("RFID reader: /dev/spidev0.0: no such file")),
            ..Faults::default()
        };
        f.pad_read(Ok(()));
        f.link(true, true);
        assert_eq!(f.changed(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_down_is_a_fault_only_without_offline_lending_and_after_a_grace() {
        let mut f = Faults::default();
        f.link(false, true);
        assert_eq!(f.changed(), None, "offline lending on: the kiosk serves");
        f.link(false, false);
        assert_eq!(f.changed(), None, "not yet");
        tokio::time::advance(LINK_GRACE).await;
        f.link(false, false);
        let told = f.changed().expect("a change");
        assert!(
            told.is_some_and(|f| f.kind == FaultKind::Link && f.reason.starts_with("ILS link"))
        );
        f.link(true, false);
        assert_eq!(f.changed(), Some(None));
    }

    #[test]
    fn scanned_codes_go_to_the_core_and_staff_cards_to_staff_mode() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use crate::scan::{ScanError, sim::sim_scanner};

        let (handle, scanner) = sim_scanner(8);
        let (events, mut rx) = mpsc::channel(8);
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = opened.clone();
        let thread = spawn_scanner(
            Box::new(scanner),
            events,
            crate::config::Staff {
                cards: vec!["29990000000001".into()],
                ..crate::config::Staff::default()
            },
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .expect("thread");
        handle.scan("31000000000094").expect("scan");
        handle
            .fail(ScanError::NotPrintable {
                position: 0,
                byte: 0x07,
            })
            .expect("bad scan");
        handle.scan(" 29990000000001").expect("staff card");
        handle.scan("21000000000021").expect("scan");
        assert_eq!(
            rx.blocking_recv(),
            Some(Event::Scan("31000000000094".into()))
        );
        assert_eq!(
            rx.blocking_recv(),
            Some(Event::Scan("21000000000021".into())),
            "a bad scan is skipped, the staff card is not a patron"
        );
        assert_eq!(opened.load(Ordering::SeqCst), 1);
        // The kiosk stops: the thread ends by itself.
        drop(rx);
        thread.join().expect("scanner thread ends");
    }
}
