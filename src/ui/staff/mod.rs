//! Staff mode: the controller behind the staff views (PIN, status, settings, reader
//! diagnostics, SIP2 test, offline queue).
//!
//! Everything here runs on the UI thread. Slow or blocking work (argon2, the pad, SQLite, SIP2)
//! goes to the tokio runtime, and its result comes back through `slint::spawn_local`, which
//! only awaits the task's `JoinHandle` (no tokio timer or socket is polled outside the runtime).
//!
//! While staff mode is active (PIN screen included) the patron core must not move the screen:
//! the bridge checks [`StaffMode::active_flag`] before it writes a screen model.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use slint::{ComponentHandle, Model, ModelRc, SharedString, Timer, TimerMode, VecModel};
use tokio::sync::mpsc;

use super::{
    AppWindow, DiagnosticsAdapter, FieldKind, KioskAdapter, NameValue, QueueAdapter, QueueRow,
    SettingField, SettingsAdapter, StaffAdapter, TagRow,
};
use crate::config::Settings;
use crate::kiosk::Event;
use crate::rfid::reader::SharedReader;
use crate::rfid::{LibraryTag, TagData};
use crate::sip2::client::{LinkState, Sip2Handle};
use crate::sip2::{Message, ScStatus, SipDateTime};
use crate::store::StoreHandle;
use crate::store::journal::{self, Entry, State};

mod editor;
mod pin;
mod queue;
mod reader;
mod settings_page;
mod sip2_test;
mod status;
#[cfg(test)]
mod tests;

use editor::Kind;
pub use editor::{Editor, SaveError, apply_field, field_value};
pub use pin::{PinGuard, PinOutcome};
pub use queue::{mask_patron, queue_row};
pub use reader::tag_row;
use reader::{PadError, lock_reader};
pub(in crate::ui) use sip2_test::status_text;
pub use sip2_test::{StatusAnswer, describe_status_answer};
pub(in crate::ui) use status::link_text;
pub use status::{LinkLine, LinkNow, Server, describe_link, queue_counts};

/// Exit status asking the service manager for a fresh start (staff pressed "Restart"). The
/// systemd unit restarts the kiosk on it (`RestartForceExitStatus=`).
pub const RESTART_EXIT_CODE: i32 = crate::runtime::RESTART_EXIT_CODE as i32;
/// The Slint version the UI is built with (pinned exactly in Cargo.toml).
pub const SLINT_VERSION: &str = "1.18.1";

const MAX_WRONG_PINS: u32 = 5;
const PIN_LOCKOUT: Duration = Duration::from_secs(60);
const PAGE_REFRESH: Duration = Duration::from_secs(2);
const READER_POLL: Duration = Duration::from_millis(500);
const QUEUE_ROWS: usize = 200;

/// What staff mode needs from the running kiosk. Every part is a cheap clone.
#[derive(Clone)]
pub struct StaffContext {
    /// The settings in force (changes saved in staff mode apply after a restart).
    pub settings: Settings,
    /// Where the settings came from; staff changes go to its terminal file (`local`).
    pub settings_files: crate::config::layers::Layers,
    pub data_dir: PathBuf,
    /// The board file's name, for the versions list.
    pub board: String,
    pub store: StoreHandle,
    pub sip2: Sip2Handle,
    pub reader: SharedReader,
    pub runtime: tokio::runtime::Handle,
    /// The kiosk core's events, to end a patron session.
    pub events: mpsc::Sender<Event>,
    /// The receipt printer as the last print found it.
    pub printer: std::sync::Arc<std::sync::Mutex<crate::runtime::receipts::PrinterState>>,
}

/// Why staff ended the event loop; the caller acts on it once `run()` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitRequest {
    /// Exit with [`RESTART_EXIT_CODE`] so the service manager starts the kiosk again.
    Restart,
    /// Exit normally.
    Quit,
}

/// A staff card was presented: open the staff pages from any thread (the pad and the scanner
/// are read on the runtime). Does nothing once the window is gone.
pub fn card_presented(window: &slint::Weak<AppWindow>) {
    let queued =
        window.upgrade_in_event_loop(|w| w.global::<StaffAdapter>().invoke_card_presented());
    if queued.is_err() {
        tracing::debug!("staff card ignored: the UI event loop has ended");
    }
}

/// Staff mode on one window. Cheap to clone; UI thread only.
#[derive(Clone)]
pub struct StaffMode {
    inner: Rc<Inner>,
}

struct Inner {
    window: slint::Weak<AppWindow>,
    ctx: StaffContext,
    active: Arc<AtomicBool>,
    exit: Cell<Option<ExitRequest>>,
    idle: Timer,
    page_timer: Timer,
    reader_timer: Timer,
    pins: RefCell<PinGuard>,
    pin_busy: Cell<bool>,
    editor: RefCell<Editor>,
    fields: Rc<VecModel<SettingField>>,
    status_busy: Cell<bool>,
    queue_busy: Cell<bool>,
    reader_busy: Cell<bool>,
    sip2_busy: Cell<bool>,
    syncing: Cell<bool>,
    resolving: Cell<bool>,
}

/// Install staff mode's handlers on the staff adapters and on the hidden staff button.
pub fn connect(window: &AppWindow, ctx: StaffContext) -> StaffMode {
    let fields = Rc::new(VecModel::default());
    let editor = Editor::new(ctx.settings.clone());
    let inner = Rc::new(Inner {
        window: window.as_weak(),
        ctx,
        active: Arc::new(AtomicBool::new(false)),
        exit: Cell::new(None),
        idle: Timer::default(),
        page_timer: Timer::default(),
        reader_timer: Timer::default(),
        pins: RefCell::new(PinGuard::default()),
        pin_busy: Cell::new(false),
        editor: RefCell::new(editor),
        fields,
        status_busy: Cell::new(false),
        queue_busy: Cell::new(false),
        reader_busy: Cell::new(false),
        sip2_busy: Cell::new(false),
        syncing: Cell::new(false),
        resolving: Cell::new(false),
    });
    let mode = StaffMode { inner };
    window
        .global::<SettingsAdapter>()
        .set_fields(ModelRc::from(mode.inner.fields.clone()));
    mode.install(window);
    mode
}

impl StaffMode {
    fn install(&self, window: &AppWindow) {
        let m = self.clone();
        window
            .global::<KioskAdapter>()
            .on_staff(move || m.open_pin());

        let staff = window.global::<StaffAdapter>();
        let m = self.clone();
        staff.on_submit_pin(move |pin| m.submit_pin(pin.as_str()));
        let m = self.clone();
        staff.on_card_presented(move || m.open_with_card());
        let m = self.clone();
        staff.on_open_page(move |page| m.open_page(page.as_str()));
        let m = self.clone();
        staff.on_leave(move || m.leave());
        let m = self.clone();
        staff.on_restart(move || m.quit(ExitRequest::Restart));
        let m = self.clone();
        staff.on_exit_app(move || m.quit(ExitRequest::Quit));

        let settings = window.global::<SettingsAdapter>();
        let m = self.clone();
        settings.on_edit(move |key, value| m.edit(key.as_str(), value.as_str()));
        let m = self.clone();
        settings.on_save(move || m.save());
        let m = self.clone();
        settings.on_revert(move || m.revert());

        let diagnostics = window.global::<DiagnosticsAdapter>();
        let m = self.clone();
        diagnostics.on_set_live(move |on| m.set_live(on));
        let m = self.clone();
        diagnostics.on_sip2_test(move || m.sip2_test());

        let queue = window.global::<QueueAdapter>();
        let m = self.clone();
        queue.on_sync_now(move || m.sync_now());
        let m = self.clone();
        queue.on_resend_conflict(move |id| m.resolve_conflict(id, true));
        let m = self.clone();
        queue.on_drop_conflict(move |id| m.resolve_conflict(id, false));
    }

    /// Restart the staff idle timer (the bridge calls this on every touch).
    pub fn touch(&self) {
        if self.is_active() {
            self.inner.idle.restart();
        }
    }

    /// Staff mode is up (the PIN screen or the staff pages).
    pub fn is_active(&self) -> bool {
        self.inner.active.load(Ordering::Relaxed)
    }

    /// The same as [`is_active`](Self::is_active), readable from any thread (the bridge checks
    /// it before writing a screen model).
    pub fn active_flag(&self) -> Arc<AtomicBool> {
        self.inner.active.clone()
    }

    /// What staff asked for when the event loop ended ("Restart" or "Exit"), if anything.
    pub fn exit_request(&self) -> Option<ExitRequest> {
        self.inner.exit.get()
    }

    /// A staff card was presented: straight to the staff pages, no PIN.
    pub fn open_with_card(&self) {
        if !self.is_active() {
            self.begin();
        }
        self.touch();
        self.enter();
    }

    fn with_window(&self, f: impl FnOnce(&AppWindow)) {
        if let Some(window) = self.inner.window.upgrade() {
            f(&window);
        }
    }

    /// Tell the core to end whatever patron session is on (it answers with its welcome model).
    fn cancel_patron(&self) {
        if let Err(e) = self.inner.ctx.events.try_send(Event::Cancel) {
            tracing::warn!("cannot tell the kiosk core to end the session: {e}");
        }
    }

    /// Staff mode starts: the patron session ends, the look is the standard one and the idle
    /// timer runs.
    fn begin(&self) {
        self.inner.active.store(true, Ordering::Relaxed);
        self.cancel_patron();
        self.with_window(super::bridge::standard_look);
        let weak = Rc::downgrade(&self.inner);
        let timeout = Duration::from_secs(u64::from(self.inner.ctx.settings.staff.timeout_secs));
        self.inner
            .idle
            .start(TimerMode::SingleShot, timeout, move || {
                if let Some(inner) = weak.upgrade() {
                    tracing::info!("staff mode timed out");
                    StaffMode { inner }.leave();
                }
            });
    }

    /// The hidden staff button: the PIN screen.
    fn open_pin(&self) {
        self.begin();
        let no_pin = self.inner.ctx.settings.staff.pin_hash.is_empty();
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_pin(SharedString::new());
            staff.set_pin_error(if no_pin {
                staff.invoke_no_pin()
            } else {
                SharedString::new()
            });
            w.global::<KioskAdapter>().set_screen("staff-pin".into());
        });
    }

    fn submit_pin(&self, pin: &str) {
        self.touch();
        if self.inner.pin_busy.get() || !self.is_active() {
            return;
        }
        let hash = self.inner.ctx.settings.staff.pin_hash.clone();
        let locked = self.inner.pins.borrow().locked_for(Instant::now());
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_pin(SharedString::new());
            if hash.is_empty() {
                staff.set_pin_error(staff.invoke_no_pin());
            } else if let Some(left) = locked {
                staff.set_pin_error(staff.invoke_pin_locked(whole_seconds(left)));
            }
        });
        if hash.is_empty() || locked.is_some() {
            return;
        }
        self.set_pin_busy(true);
        let pin = pin.to_string();
        let job = self
            .inner
            .ctx
            .runtime
            .spawn_blocking(move || crate::config::verify_pin(&pin, &hash));
        let m = self.clone();
        self.on_ui(async move {
            let ok = job.await.unwrap_or(false);
            m.set_pin_busy(false);
            if !m.is_active() {
                return;
            }
            if ok {
                m.inner.pins.borrow_mut().succeeded();
                m.enter();
                return;
            }
            let outcome = m.inner.pins.borrow_mut().failed(Instant::now());
            m.with_window(|w| {
                let staff = w.global::<StaffAdapter>();
                staff.set_pin_error(match outcome {
                    PinOutcome::TriesLeft(n) => staff.invoke_wrong_pin(n as i32),
                    PinOutcome::Locked(d) => staff.invoke_pin_locked(whole_seconds(d)),
                });
            });
        });
    }

    /// Run a future on the UI thread (it may only await runtime `JoinHandle`s).
    fn on_ui(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        if let Err(e) = slint::spawn_local(fut) {
            tracing::warn!("staff mode cannot wait for a background job: {e}");
        }
    }

    /// Into the staff pages (after the PIN or a staff card).
    fn set_pin_busy(&self, busy: bool) {
        self.inner.pin_busy.set(busy);
        self.with_window(|w| w.global::<StaffAdapter>().set_pin_busy(busy));
    }

    fn enter(&self) {
        self.set_pin_busy(false);
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_pin(SharedString::new());
            staff.set_pin_error(SharedString::new());
            staff.set_terminal_id(self.inner.ctx.settings.terminal.id.as_str().into());
            staff.set_versions(crate::ui::rows(versions(
                &staff.invoke_board(),
                &self.inner.ctx.board,
            )));
            w.global::<KioskAdapter>().set_screen("staff".into());
            w.global::<DiagnosticsAdapter>()
                .set_tags(crate::ui::rows(Vec::new()));
            w.global::<DiagnosticsAdapter>()
                .set_sip2_result(SharedString::new());
            w.global::<QueueAdapter>().set_result(SharedString::new());
        });
        let saved = self.inner.editor.borrow().saved.clone();
        self.reset_editor(saved, "");
        let weak = Rc::downgrade(&self.inner);
        self.inner
            .page_timer
            .start(TimerMode::Repeated, PAGE_REFRESH, move || {
                if let Some(inner) = weak.upgrade() {
                    StaffMode { inner }.refresh_page();
                }
            });
        self.open_page("status");
    }

    fn page(&self) -> String {
        self.inner
            .window
            .upgrade()
            .map(|w| w.global::<StaffAdapter>().get_page().to_string())
            .unwrap_or_default()
    }

    fn open_page(&self, page: &str) {
        self.touch();
        self.with_window(|w| w.global::<StaffAdapter>().set_page(page.into()));
        if page == "reader" {
            let live = self
                .inner
                .window
                .upgrade()
                .is_some_and(|w| w.global::<DiagnosticsAdapter>().get_live());
            self.set_live(live);
        } else {
            self.inner.reader_timer.stop();
        }
        self.refresh_page();
    }

    fn refresh_page(&self) {
        if !self.is_active() {
            return;
        }
        match self.page().as_str() {
            "status" => self.refresh_status(),
            "queue" => self.refresh_queue(),
            _ => {}
        }
    }

    /// Back to the patron screens.
    fn leave(&self) {
        let inner = &self.inner;
        inner.active.store(false, Ordering::Relaxed);
        inner.idle.stop();
        inner.page_timer.stop();
        inner.reader_timer.stop();
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_pin(SharedString::new());
            staff.set_pin_error(SharedString::new());
            staff.set_page("status".into());
            w.global::<DiagnosticsAdapter>()
                .set_tags(crate::ui::rows(Vec::new()));
            w.global::<KioskAdapter>().set_screen("welcome".into());
        });
        // The core answers with its welcome model, so the patron screens are fresh.
        self.cancel_patron();
    }

    fn quit(&self, request: ExitRequest) {
        tracing::info!(?request, "staff ends the kiosk");
        self.inner.exit.set(Some(request));
        self.leave();
        if let Err(e) = slint::quit_event_loop() {
            tracing::warn!("cannot end the UI event loop: {e}");
        }
    }
}

fn clamp_i32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

fn whole_seconds(d: Duration) -> i32 {
    clamp_i32(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// The versions list; `board_label` names the board file in the UI's language.
pub(super) fn versions(board_label: &str, board: &str) -> Vec<NameValue> {
    [
        ("selfcheck", env!("CARGO_PKG_VERSION")),
        ("Slint", SLINT_VERSION),
        (board_label, board),
    ]
    .into_iter()
    .map(|(name, value)| NameValue {
        name: name.into(),
        value: value.into(),
    })
    .collect()
}
