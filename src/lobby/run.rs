//! The lobby screen's window: the feed drained into the view model a few times a second, the
//! figures written to the screen every second, the language turned as the settings say, and
//! the day kept in `lobby.db` every minute and at midnight.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use slint::ComponentHandle;

use super::feed::{self, FeedEvent, FeedOptions};
use super::{LanguagePlan, LobbyArgs, model::Lobby};
use crate::config::Settings;
use crate::config::time_zone::Zone;
use crate::kiosk::Language;
use crate::store::lobby::{self as history_db, DayRecord};
use crate::ui::LobbyWindow;

/// How often the feed is drained.
const STEP: Duration = Duration::from_millis(250);
/// Messages taken in one step, so a flood cannot freeze the screen.
const PER_STEP: usize = 20_000;
/// How often the screen is redrawn with new figures.
const REDRAW: Duration = Duration::from_secs(1);
/// How often today's figures are written to the history.
const SAVE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot open the lobby window: {0}")]
    Window(#[from] slint::PlatformError),
    #[error("cannot start the lobby's network thread: {0}")]
    Io(#[from] std::io::Error),
}

/// The lobby's days in `lobby.db`; without a writable data directory the screen runs with no
/// history and says so in the log.
struct History {
    conn: Option<rusqlite::Connection>,
}

impl History {
    fn open(data_dir: &Path) -> History {
        let path = data_dir.join(history_db::DB_FILE);
        match history_db::open(&path) {
            Ok(conn) => History { conn: Some(conn) },
            Err(e) => {
                tracing::warn!("the lobby keeps no history: {e}");
                History { conn: None }
            }
        }
    }

    fn save(&self, day: NaiveDate, record: &DayRecord) {
        if let Some(conn) = &self.conn
            && let Err(e) = history_db::save_day(conn, day, record)
        {
            tracing::warn!("cannot keep the lobby's day {day}: {e}");
        }
    }

    fn load(&self, day: NaiveDate) -> Option<DayRecord> {
        let conn = self.conn.as_ref()?;
        history_db::load_day(conn, day)
            .map_err(|e| tracing::warn!("cannot read the lobby's day {day}: {e}"))
            .ok()
            .flatten()
    }

    /// Today's hours and titles from before a restart, and the same weekday last week.
    fn begin_day(&self, lobby: &mut Lobby) {
        let day = lobby.day();
        if let Some(record) = self.load(day) {
            lobby.restore(&record);
        }
        lobby.set_last_week(self.load(day - chrono::Duration::days(7)));
    }
}

struct Screen {
    lobby: Lobby,
    feed: mpsc::Receiver<FeedEvent>,
    history: History,
    plan: LanguagePlan,
    zone: Zone,
    library_name: String,
    started: Instant,
    language: Option<Language>,
    saved: Instant,
    drawn: Option<Instant>,
}

impl Screen {
    fn step(&mut self, window: &LobbyWindow) {
        let mut changed = false;
        let events: Vec<FeedEvent> = self.feed.try_iter().take(PER_STEP).collect();
        for event in events {
            changed = true;
            match event {
                FeedEvent::Connected => self.lobby.set_connected(true),
                FeedEvent::Disconnected(_) => self.lobby.set_connected(false),
                FeedEvent::Message { topic, payload, at } => {
                    self.roll(at);
                    let _ = self.lobby.ingest(&topic, &payload, at);
                }
            }
        }
        let now = Utc::now();
        self.roll(now);
        if self.saved.elapsed() >= SAVE {
            self.history.save(self.lobby.day(), &self.lobby.record());
            self.saved = Instant::now();
        }
        let language = self.plan.at(self.started.elapsed());
        if self.language != Some(language) {
            crate::ui::select_language(language.code());
            self.language = Some(language);
            changed = true;
        }
        if changed || self.drawn.is_none_or(|d| d.elapsed() >= REDRAW) {
            let figures = self.lobby.figures(now);
            crate::ui::lobby::show(
                window,
                &figures,
                &self.library_name,
                self.zone,
                language,
                now,
            );
            self.drawn = Some(Instant::now());
        }
    }

    /// At midnight: keep the day that ended, start the new one.
    fn roll(&mut self, now: chrono::DateTime<Utc>) {
        if let Some((day, record)) = self.lobby.tick(now) {
            tracing::info!(%day, loans = record.loans, returns = record.returns, "lobby day ended");
            self.history.save(day, &record);
            self.history.begin_day(&mut self.lobby);
        }
    }
}

/// Run the lobby screen until its window closes.
pub fn run(settings: &Settings, data_dir: &Path, args: &LobbyArgs) -> Result<(), LobbyError> {
    let options =
        FeedOptions::from_settings(settings, args.broker.as_deref(), args.site.as_deref())
            .map_err(LobbyError::Usage)?;
    tracing::info!(
        broker = ?options.link.broker,
        site = options.site.as_deref().unwrap_or("(all)"),
        "lobby starting"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lobby-feed")
        .enable_all()
        .build()?;
    let zone = settings.terminal.zone();
    let history = History::open(data_dir);
    let mut lobby = Lobby::new(
        &options.prefix,
        options.site.as_deref(),
        zone,
        settings.lobby.ticker_delay(),
        Utc::now(),
    );
    history.begin_day(&mut lobby);
    let feed = feed::start(options, runtime.handle()).map_err(LobbyError::Usage)?;

    let window = LobbyWindow::new()?;
    if !args.windowed {
        window.window().set_fullscreen(true);
    }
    let screen = Rc::new(RefCell::new(Screen {
        lobby,
        feed,
        history,
        plan: settings.lobby.plan(&settings.terminal.languages),
        zone,
        library_name: settings.terminal.library_name.clone(),
        started: Instant::now(),
        language: None,
        saved: Instant::now(),
        drawn: None,
    }));
    screen.borrow_mut().step(&window);
    let timer = slint::Timer::default();
    {
        let screen = screen.clone();
        let weak = window.as_weak();
        timer.start(slint::TimerMode::Repeated, STEP, move || {
            if let Some(window) = weak.upgrade() {
                screen.borrow_mut().step(&window);
            }
        });
    }
    window.run()?;
    timer.stop();
    let screen = screen.borrow();
    screen
        .history
        .save(screen.lobby.day(), &screen.lobby.record());
    drop(runtime);
    Ok(())
}
