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
use crate::rfid::{LibraryTag, TagData};
use crate::shell::SharedReader;
use crate::sip2::client::{LinkState, Sip2Handle};
use crate::sip2::{Message, ScStatus, SipDateTime};
use crate::store::StoreHandle;
use crate::store::journal::{self, Entry, State};

mod editor;
use editor::Kind;
pub use editor::{Editor, SaveError, apply_field, field_value};

/// Exit status asking the service manager for a fresh start (staff pressed "Restart"). The
/// systemd unit restarts the kiosk on it (`RestartForceExitStatus=`).
pub const RESTART_EXIT_CODE: i32 = crate::app::RESTART_EXIT_CODE as i32;
/// The Slint version the UI is built with (pinned exactly in Cargo.toml).
pub const SLINT_VERSION: &str = "1.18.1";
/// The settings file created in the data directory when the kiosk ran on built-in defaults.
pub const SETTINGS_FILE: &str = "config.toml";

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
    /// The settings file in use; `None` when the kiosk runs on the built-in defaults.
    pub settings_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// The board file's name, for the versions list.
    pub board: String,
    pub store: StoreHandle,
    pub sip2: Sip2Handle,
    pub reader: SharedReader,
    pub runtime: tokio::runtime::Handle,
    /// The kiosk core's events, to end a patron session.
    pub events: mpsc::Sender<Event>,
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
    settings_path: RefCell<Option<PathBuf>>,
    fields: Rc<VecModel<SettingField>>,
    status_busy: Cell<bool>,
    queue_busy: Cell<bool>,
    reader_busy: Cell<bool>,
    sip2_busy: Cell<bool>,
    syncing: Cell<bool>,
}

/// Install staff mode's handlers on the staff adapters and on the hidden staff button.
pub fn connect(window: &AppWindow, ctx: StaffContext) -> StaffMode {
    let fields = Rc::new(VecModel::default());
    let editor = Editor::new(ctx.settings.clone());
    let inner = Rc::new(Inner {
        window: window.as_weak(),
        settings_path: RefCell::new(ctx.settings_path.clone()),
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

        let m = self.clone();
        window
            .global::<QueueAdapter>()
            .on_sync_now(move || m.sync_now());
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
            staff.set_versions(super::rows(versions(
                &staff.invoke_board(),
                &self.inner.ctx.board,
            )));
            w.global::<KioskAdapter>().set_screen("staff".into());
            w.global::<DiagnosticsAdapter>()
                .set_tags(super::rows(Vec::new()));
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
                .set_tags(super::rows(Vec::new()));
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

    // ---- status page ----

    fn refresh_status(&self) {
        let ctx = &self.inner.ctx;
        let link = ctx.sip2.link().borrow().clone();
        let line = describe_link(&link, &ctx.settings, SystemTime::now());
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_link_ok(line.ok());
            staff.set_link_text(link_text(&staff, &line));
        });
        if self.inner.status_busy.replace(true) {
            return;
        }
        let store = ctx.store.clone();
        let reader = ctx.reader.clone();
        let job = ctx.runtime.spawn(async move {
            let counts = store.call(|c| journal::counts(c)).await;
            let pad = tokio::task::spawn_blocking(move || {
                lock_reader(&reader)?
                    .inventory()
                    .map(|uids| uids.len())
                    .map_err(PadError::failed)
            })
            .await
            .unwrap_or_else(|e| Err(PadError::failed(e)));
            (counts, pad)
        });
        let m = self.clone();
        self.on_ui(async move {
            let result = job.await;
            m.inner.status_busy.set(false);
            let Ok((counts, pad)) = result else {
                return;
            };
            let board = m.inner.ctx.board.clone();
            m.with_window(|w| {
                let staff = w.global::<StaffAdapter>();
                match counts {
                    Ok(counts) => {
                        let (waiting, conflicts) = queue_counts(&counts);
                        staff.set_queue_length(clamp_i32(waiting));
                        staff.set_conflicts(clamp_i32(conflicts));
                    }
                    Err(e) => tracing::warn!("cannot read the journal: {e}"),
                }
                match pad {
                    Ok(n) => {
                        staff.set_reader_ok(true);
                        staff.set_reader_text(staff.invoke_tags_on_pad(board.into(), clamp_i32(n)));
                    }
                    Err(e) => {
                        staff.set_reader_ok(false);
                        let e = e.text(&w.global::<DiagnosticsAdapter>());
                        staff.set_reader_text(format!("{board}: {e}").into());
                    }
                }
            });
        });
    }

    // ---- settings page ----

    fn reset_editor(&self, settings: Settings, status: &str) {
        *self.inner.editor.borrow_mut() = Editor::new(settings);
        self.inner.fields.set_vec(self.field_rows());
        self.with_window(|w| {
            let adapter = w.global::<SettingsAdapter>();
            adapter.set_dirty(false);
            adapter.set_status(status.into());
        });
    }

    fn field_rows(&self) -> Vec<SettingField> {
        let editor = self.inner.editor.borrow();
        let (errors, _) = editor.problems();
        editor
            .views()
            .into_iter()
            .map(|v| SettingField {
                error: errors.get(v.key).cloned().unwrap_or_default().into(),
                key: v.key.into(),
                value: v.value.into(),
                kind: match v.kind {
                    Kind::Text => FieldKind::Text,
                    Kind::Secret => FieldKind::Secret,
                    Kind::Number => FieldKind::Number,
                    Kind::Toggle => FieldKind::Toggle,
                },
            })
            .collect()
    }

    /// Update only the rows that changed, so a field being typed in keeps its focus.
    fn show_fields(&self) {
        let rows = self.field_rows();
        let fields = &self.inner.fields;
        if fields.row_count() != rows.len() {
            fields.set_vec(rows);
        } else {
            for (i, row) in rows.into_iter().enumerate() {
                if fields.row_data(i).as_ref() != Some(&row) {
                    fields.set_row_data(i, row);
                }
            }
        }
        let editor = self.inner.editor.borrow();
        let (_, others) = editor.problems();
        let dirty = editor.is_dirty();
        self.with_window(|w| {
            let adapter = w.global::<SettingsAdapter>();
            adapter.set_dirty(dirty);
            adapter.set_status(others.join("; ").into());
        });
    }

    fn edit(&self, key: &str, value: &str) {
        self.touch();
        self.inner.editor.borrow_mut().edit(key, value);
        self.show_fields();
    }

    fn save(&self) {
        self.touch();
        let path = self.inner.settings_path.borrow().clone();
        let (target, new_file) = match path {
            Some(p) => (p, false),
            None => (self.inner.ctx.data_dir.join(SETTINGS_FILE), true),
        };
        let result = self.inner.editor.borrow().save(&target);
        let Some(window) = self.inner.window.upgrade() else {
            return;
        };
        let adapter = window.global::<SettingsAdapter>();
        match result {
            Ok(saved) => {
                let shown: SharedString = target.display().to_string().into();
                let status = if new_file {
                    adapter.invoke_saved_new(shown)
                } else {
                    adapter.invoke_saved(shown)
                };
                tracing::info!("staff saved the settings to {}", target.display());
                *self.inner.settings_path.borrow_mut() = Some(target);
                self.reset_editor(saved, &status);
            }
            Err(SaveError::Problems(n, others)) => {
                self.show_fields();
                let mut status = adapter.invoke_problems(clamp_i32(n)).to_string();
                for o in others {
                    status.push(' ');
                    status.push_str(&o);
                }
                adapter.set_status(status.into());
            }
            Err(SaveError::Io(reason)) => {
                tracing::warn!("cannot save the settings: {reason}");
                adapter.set_status(adapter.invoke_not_saved(reason.into()));
            }
        }
    }

    fn revert(&self) {
        self.touch();
        let path = self.inner.settings_path.borrow().clone();
        let fallback = self.inner.editor.borrow().saved.clone();
        let (settings, problem) = match path.filter(|p| p.exists()) {
            Some(p) => match Settings::load(&p) {
                Ok(s) => (s, None),
                Err(e) => (fallback, Some(e.to_string())),
            },
            None => (fallback, None),
        };
        let status = self
            .inner
            .window
            .upgrade()
            .map(|w| {
                let adapter = w.global::<SettingsAdapter>();
                match problem {
                    Some(p) => adapter.invoke_not_saved(p.into()).to_string(),
                    None => adapter.invoke_reverted().to_string(),
                }
            })
            .unwrap_or_default();
        self.reset_editor(settings, &status);
    }

    // ---- reader page ----

    fn set_live(&self, on: bool) {
        self.touch();
        self.with_window(|w| w.global::<DiagnosticsAdapter>().set_live(on));
        if !on || self.page() != "reader" {
            self.inner.reader_timer.stop();
            return;
        }
        let weak = Rc::downgrade(&self.inner);
        self.inner
            .reader_timer
            .start(TimerMode::Repeated, READER_POLL, move || {
                if let Some(inner) = weak.upgrade() {
                    StaffMode { inner }.read_pad();
                }
            });
        self.read_pad();
    }

    fn read_pad(&self) {
        if !self.is_active() || self.inner.reader_busy.replace(true) {
            return;
        }
        let reader = self.inner.ctx.reader.clone();
        let job = self.inner.ctx.runtime.spawn_blocking(move || {
            let started = Instant::now();
            let tags = lock_reader(&reader)?.read_all().map_err(PadError::failed)?;
            Ok::<_, PadError>((tags, started.elapsed()))
        });
        let m = self.clone();
        self.on_ui(async move {
            let result = job.await.unwrap_or_else(|e| Err(PadError::failed(e)));
            m.inner.reader_busy.set(false);
            if !m.is_active() {
                return;
            }
            m.with_window(|w| {
                let diagnostics = w.global::<DiagnosticsAdapter>();
                match result {
                    Ok((tags, took)) => {
                        diagnostics.set_reader_text(
                            diagnostics.invoke_tags_read(
                                clamp_i32(tags.len()),
                                clamp_i32(took.as_millis()),
                            ),
                        );
                        diagnostics.set_tags(super::rows(tags.iter().map(tag_row).collect()));
                    }
                    Err(e) => {
                        diagnostics.set_reader_text(e.text(&diagnostics));
                        diagnostics.set_tags(super::rows(Vec::new()));
                    }
                }
            });
        });
    }

    // ---- SIP2 page ----

    fn sip2_test(&self) {
        self.touch();
        if self.inner.sip2_busy.replace(true) {
            return;
        }
        self.with_window(|w| w.global::<DiagnosticsAdapter>().set_sip2_busy(true));
        let sip2 = self.inner.ctx.sip2.clone();
        let job = self.inner.ctx.runtime.spawn(async move {
            let started = Instant::now();
            let answer = sip2
                .request(Message::ScStatus(ScStatus {
                    max_print_width: 40,
                    protocol_version: "2.00".into(),
                    ..ScStatus::default()
                }))
                .await;
            (answer, started.elapsed())
        });
        let m = self.clone();
        self.on_ui(async move {
            let outcome = match job.await {
                Ok((Ok(answer), took)) => Ok(describe_status_answer(&answer, took)),
                Ok((Err(e), _)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            m.inner.sip2_busy.set(false);
            m.with_window(|w| {
                let diagnostics = w.global::<DiagnosticsAdapter>();
                diagnostics.set_sip2_busy(false);
                let (ok, text) = match &outcome {
                    Ok(answer) => (answer.ok(), status_text(&diagnostics, answer)),
                    Err(e) => (false, e.into()),
                };
                diagnostics.set_sip2_ok(ok);
                diagnostics.set_sip2_result(text);
            });
        });
    }

    // ---- queue page ----

    fn refresh_queue(&self) {
        if self.inner.queue_busy.replace(true) {
            return;
        }
        let store = self.inner.ctx.store.clone();
        let job = self.inner.ctx.runtime.spawn(async move {
            store
                .call(|c| {
                    let mut rows = journal::open_entries(c, QUEUE_ROWS)?;
                    rows.extend(journal::entries_in(c, State::Conflict)?);
                    Ok(rows)
                })
                .await
        });
        let m = self.clone();
        self.on_ui(async move {
            let result = job.await;
            m.inner.queue_busy.set(false);
            match result {
                Ok(Ok(entries)) => m.with_window(|w| {
                    w.global::<QueueAdapter>()
                        .set_rows(super::rows(entries.iter().map(queue_row).collect()));
                }),
                Ok(Err(e)) => tracing::warn!("cannot read the journal: {e}"),
                Err(e) => tracing::warn!("journal read failed: {e}"),
            }
        });
    }

    fn sync_now(&self) {
        self.touch();
        if self.inner.syncing.replace(true) {
            return;
        }
        self.with_window(|w| w.global::<QueueAdapter>().set_syncing(true));
        let sip2 = self.inner.ctx.sip2.clone();
        let store = self.inner.ctx.store.clone();
        let job = self
            .inner
            .ctx
            .runtime
            .spawn(async move { crate::sync::run(&sip2, &store, |_, _| {}).await });
        let m = self.clone();
        self.on_ui(async move {
            let outcome = match job.await {
                Ok(Ok(report)) => {
                    tracing::info!(?report, "staff ran the sync");
                    Ok(report)
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            m.inner.syncing.set(false);
            m.with_window(|w| {
                let queue = w.global::<QueueAdapter>();
                queue.set_syncing(false);
                queue.set_result(match outcome {
                    Ok(crate::sync::Report {
                        stopped: Some(reason),
                        ..
                    }) => queue.invoke_sync_stopped(reason.into()),
                    Ok(r) => queue.invoke_sync_report(
                        clamp_i32(r.done),
                        clamp_i32(r.already_done),
                        clamp_i32(r.conflicts),
                        clamp_i32(r.remaining),
                    ),
                    Err(e) => {
                        tracing::warn!("sync failed: {e}");
                        queue.invoke_sync_stopped(e.into())
                    }
                });
            });
            m.refresh_queue();
        });
    }
}

fn clamp_i32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

fn whole_seconds(d: Duration) -> i32 {
    clamp_i32(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// Why the pad could not be read.
#[derive(Debug)]
enum PadError {
    /// A thread panicked while it held the reader (our words, translated in the UI).
    Blocked,
    /// The reader's or the runtime's own error text.
    Failed(String),
}

impl PadError {
    fn failed(e: impl std::fmt::Display) -> Self {
        PadError::Failed(e.to_string())
    }

    fn text(&self, diagnostics: &DiagnosticsAdapter<'_>) -> SharedString {
        match self {
            PadError::Blocked => diagnostics.invoke_reader_blocked(),
            PadError::Failed(e) => e.into(),
        }
    }
}

fn lock_reader(
    reader: &SharedReader,
) -> Result<std::sync::MutexGuard<'_, Box<dyn crate::rfid::TagReader + Send>>, PadError> {
    reader.lock().map_err(|_| PadError::Blocked)
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

/// Waiting rows (pending and queued) and conflicts from the journal's counts by state.
pub fn queue_counts(counts: &[(String, i64)]) -> (i64, i64) {
    let of = |state: State| {
        counts
            .iter()
            .filter(|(s, _)| s == state.as_str())
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    (of(State::Pending) + of(State::Queued), of(State::Conflict))
}

/// Where the SIP2 link goes, as the status page names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// The in-process demo ILS.
    Demo,
    /// `host:port` over TLS.
    Tls(String),
    /// `host:port` over plain TCP.
    PlainTcp(String),
}

/// What the SIP2 link is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkNow {
    /// Logged in to the library with this name (its institution id when it gave none).
    Connected(String),
    Connecting,
    /// Down for `secs` seconds; `reason` is the connection's own error text.
    Offline {
        secs: u64,
        reason: String,
    },
}

/// The status page's link line as facts; [`link_text`] words it in the UI's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLine {
    pub server: Server,
    pub now: LinkNow,
}

impl LinkLine {
    /// The link is up.
    pub fn ok(&self) -> bool {
        matches!(self.now, LinkNow::Connected(_))
    }
}

/// The link as the status page shows it.
pub fn describe_link(link: &LinkState, settings: &Settings, now: SystemTime) -> LinkLine {
    let server = if settings.ils.is_demo() {
        Server::Demo
    } else if settings.ils.tls {
        Server::Tls(settings.ils.server.clone())
    } else {
        Server::PlainTcp(settings.ils.server.clone())
    };
    let now = match link {
        LinkState::Online { acs } => LinkNow::Connected(
            acs.library_name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&acs.institution_id)
                .to_string(),
        ),
        LinkState::Connecting => LinkNow::Connecting,
        LinkState::Offline { since, reason } => LinkNow::Offline {
            secs: now.duration_since(*since).unwrap_or_default().as_secs(),
            reason: reason.clone(),
        },
    };
    LinkLine { server, now }
}

/// The link line in the UI's language.
pub(super) fn link_text(staff: &StaffAdapter<'_>, line: &LinkLine) -> SharedString {
    let server = match &line.server {
        Server::Demo => staff.invoke_demo_server(),
        Server::Tls(address) => staff.invoke_tls_server(address.into()),
        Server::PlainTcp(address) => staff.invoke_plain_server(address.into()),
    };
    match &line.now {
        LinkNow::Connected(library) => staff.invoke_link_connected(server, library.into()),
        LinkNow::Connecting => staff.invoke_link_connecting(server),
        LinkNow::Offline { secs, reason } => {
            staff.invoke_link_down(server, clamp_i32(*secs), reason.into())
        }
    }
}

/// What the ILS answered to the SIP2 test's SC status (99), and how fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusAnswer {
    /// ACS status (98), as it should be.
    Acs {
        ms: u128,
        online: bool,
        checkout: bool,
        checkin: bool,
        renewal: bool,
        institution: String,
    },
    /// Another message, by its two-digit code.
    Unexpected { id: &'static str, ms: u128 },
}

impl StatusAnswer {
    /// The ILS answered 98 and is online.
    pub fn ok(&self) -> bool {
        matches!(self, StatusAnswer::Acs { online: true, .. })
    }
}

/// The answer to the SIP2 test's SC status (99) for staff.
pub fn describe_status_answer(answer: &Message, took: Duration) -> StatusAnswer {
    let ms = took.as_millis();
    match answer {
        Message::AcsStatus(acs) => StatusAnswer::Acs {
            ms,
            online: acs.online_status,
            checkout: acs.checkout_ok,
            checkin: acs.checkin_ok,
            renewal: acs.acs_renewal_policy,
            institution: acs.institution_id.clone(),
        },
        other => StatusAnswer::Unexpected { id: other.id(), ms },
    }
}

/// The SIP2 test's answer in the UI's language.
pub(super) fn status_text(
    diagnostics: &DiagnosticsAdapter<'_>,
    answer: &StatusAnswer,
) -> SharedString {
    match answer {
        StatusAnswer::Acs {
            ms,
            online,
            checkout,
            checkin,
            renewal,
            institution,
        } => diagnostics.invoke_status_answer(
            clamp_i32(*ms),
            *online,
            *checkout,
            *checkin,
            *renewal,
            institution.into(),
        ),
        StatusAnswer::Unexpected { id, ms } => {
            diagnostics.invoke_unexpected_answer((*id).into(), clamp_i32(*ms))
        }
    }
}

/// One tag on the pad, decoded, as a row of the reader page. The EAS bit and the kind of data
/// go as keys ("on", "blank", ...) that the view words in the UI's language.
pub fn tag_row(tag: &LibraryTag) -> TagRow {
    let (item, data, model) = match &tag.data {
        TagData::Decoded(r) => (r.primary_id.clone(), "decoded", r.model.to_string()),
        TagData::Blank => (String::new(), "blank", String::new()),
        TagData::Unreadable { reason } => (reason.clone(), "unreadable", String::new()),
    };
    TagRow {
        uid: crate::rfid::tag::uid_hex(&tag.uid).into(),
        item_id: item.into(),
        afi: tag
            .afi
            .map_or_else(|| "–".to_string(), |a| format!("{a:02X}"))
            .into(),
        eas: match tag.eas {
            Some(true) => "on",
            Some(false) => "off",
            None => "",
        }
        .into(),
        data: data.into(),
        model: model.into(),
    }
}

/// A patron id with all but its last four characters hidden.
pub fn mask_patron(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let tail: String = if chars.len() > 4 {
        chars[chars.len() - 4..].iter().collect()
    } else {
        String::new()
    };
    format!("••••{tail}")
}

/// A journal row as the queue page shows it; the action and the state go as the journal's
/// keys ("checkout", "queued", ...), which the view words in the UI's language.
pub fn queue_row(e: &Entry) -> QueueRow {
    let when = SipDateTime::parse(e.transaction_at.trim()).map_or_else(
        || e.transaction_at.trim().to_string(),
        |d| d.datetime.format("%Y-%m-%d %H:%M").to_string(),
    );
    QueueRow {
        when: when.into(),
        action: e.action.as_str().into(),
        item: e.item_id.clone().unwrap_or_default().into(),
        patron: e
            .patron_id
            .as_deref()
            .map(mask_patron)
            .unwrap_or_default()
            .into(),
        state: e.state.as_str().into(),
        detail: e.message.clone().unwrap_or_default().into(),
        conflict: e.state == State::Conflict,
    }
}

// ---- PIN attempts ----

/// Wrong staff PINs in a row, and the lockout after too many.
#[derive(Debug, Default)]
pub struct PinGuard {
    wrong: u32,
    locked_until: Option<Instant>,
}

/// What a wrong PIN leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    TriesLeft(u32),
    Locked(Duration),
}

impl PinGuard {
    /// How long PIN entry stays locked, if it is.
    pub fn locked_for(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    pub fn failed(&mut self, now: Instant) -> PinOutcome {
        if self.locked_until.is_some() && self.locked_for(now).is_none() {
            self.locked_until = None;
        }
        self.wrong += 1;
        if self.wrong >= MAX_WRONG_PINS {
            self.wrong = 0;
            self.locked_until = Some(now + PIN_LOCKOUT);
            return PinOutcome::Locked(PIN_LOCKOUT);
        }
        PinOutcome::TriesLeft(MAX_WRONG_PINS - self.wrong)
    }

    pub fn succeeded(&mut self) {
        *self = PinGuard::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_last_four() {
        assert_eq!(mask_patron("21000000004821"), "••••4821");
        assert_eq!(mask_patron(" 12345 "), "••••2345");
        assert_eq!(mask_patron("4821"), "••••");
        assert_eq!(mask_patron("王芳12345"), "••••2345");
        assert_eq!(mask_patron(""), "");
    }

    #[test]
    fn staff_cards() {
        let mut s = Settings::default();
        assert!(!s.staff.has_card("S-1"));
        s.staff.cards = vec!["S-1".into(), "E004015012345678".into()];
        assert!(s.staff.has_card("S-1"));
        assert!(s.staff.has_card(" E004015012345678\n"));
        assert!(!s.staff.has_card("S-2"));
        assert!(!s.staff.has_card(""));
    }

    #[test]
    fn pin_lockout_after_five_wrong() {
        let mut g = PinGuard::default();
        let t0 = Instant::now();
        for left in (1..5).rev() {
            assert_eq!(g.failed(t0), PinOutcome::TriesLeft(left));
        }
        assert_eq!(g.failed(t0), PinOutcome::Locked(PIN_LOCKOUT));
        assert_eq!(g.locked_for(t0), Some(PIN_LOCKOUT));
        let later = t0 + PIN_LOCKOUT;
        assert_eq!(g.locked_for(later), None);
        assert_eq!(g.failed(later), PinOutcome::TriesLeft(4));
        g.succeeded();
        assert_eq!(g.failed(later), PinOutcome::TriesLeft(4));
    }

    #[test]
    fn queue_counts_by_state() {
        let counts = [
            ("pending".to_string(), 1),
            ("queued".to_string(), 4),
            ("conflict".to_string(), 2),
            ("done".to_string(), 9),
        ];
        assert_eq!(queue_counts(&counts), (5, 2));
        assert_eq!(queue_counts(&[]), (0, 0));
    }

    #[test]
    fn link_lines_for_staff() {
        let mut s = Settings::default();
        let acs = crate::sip2::AcsStatus {
            online_status: true,
            institution_id: "DEMO".into(),
            ..Default::default()
        };
        let online = LinkState::Online {
            acs: Box::new(acs.clone()),
        };
        let now = SystemTime::now();
        let line = describe_link(&online, &s, now);
        assert!(line.ok());
        assert_eq!(
            line,
            LinkLine {
                server: Server::Demo,
                now: LinkNow::Connected("DEMO".into()),
            }
        );
        s.ils.server = "ils.example.org:6001".into();
        s.ils.tls = true;
        let offline = LinkState::Offline {
            since: now - Duration::from_secs(90),
            reason: "connection refused".into(),
        };
        let line = describe_link(&offline, &s, now);
        assert!(!line.ok());
        assert_eq!(
            line,
            LinkLine {
                server: Server::Tls("ils.example.org:6001".into()),
                now: LinkNow::Offline {
                    secs: 90,
                    reason: "connection refused".into(),
                },
            }
        );
        s.ils.tls = false;
        let line = describe_link(&LinkState::Connecting, &s, now);
        assert!(!line.ok());
        assert_eq!(line.server, Server::PlainTcp("ils.example.org:6001".into()));
        assert_eq!(line.now, LinkNow::Connecting);

        let answer = describe_status_answer(&Message::AcsStatus(acs), Duration::from_millis(42));
        assert!(answer.ok());
        assert_eq!(
            answer,
            StatusAnswer::Acs {
                ms: 42,
                online: true,
                checkout: false,
                checkin: false,
                renewal: false,
                institution: "DEMO".into(),
            }
        );
        let answer = describe_status_answer(
            &Message::ScStatus(ScStatus::default()),
            Duration::from_millis(3),
        );
        assert!(!answer.ok());
        assert_eq!(answer, StatusAnswer::Unexpected { id: "99", ms: 3 });
    }

    #[test]
    fn tag_rows() {
        let uid = crate::rfid::tag::parse_uid("E004015000000001").expect("uid");
        let record = crate::rfid::ItemRecord::new(
            crate::rfid::DataModel::Iso28560_2,
            crate::rfid::TypeOfUsage::Circulating,
            "CN-2024-000871",
        );
        let row = tag_row(&LibraryTag {
            uid,
            afi: Some(0xC2),
            dsfid: Some(0x06),
            eas: Some(false),
            data: TagData::Decoded(record),
        });
        assert_eq!(row.uid, "E004015000000001");
        assert_eq!(row.item_id, "CN-2024-000871");
        assert_eq!(row.afi, "C2");
        assert_eq!(row.eas, "off");
        assert_eq!(row.data, "decoded");
        assert_eq!(row.model, "ISO 28560-2");
        let blank = tag_row(&LibraryTag {
            uid,
            afi: None,
            dsfid: None,
            eas: None,
            data: TagData::Blank,
        });
        assert_eq!((blank.afi.as_str(), blank.eas.as_str()), ("–", ""));
        assert_eq!((blank.data.as_str(), blank.model.as_str()), ("blank", ""));
        let unreadable = tag_row(&LibraryTag {
            uid,
            afi: Some(0x07),
            dsfid: None,
            eas: Some(true),
            data: TagData::Unreadable {
                reason: "CRC error".into(),
            },
        });
        assert_eq!(unreadable.eas, "on");
        assert_eq!(unreadable.item_id, "CRC error");
        assert_eq!(unreadable.data, "unreadable");
    }

    #[test]
    fn whole_seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(59_001)), 60);
        assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
    }
}
