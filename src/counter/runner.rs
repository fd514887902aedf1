//! The counter's runtime: its core ([`super::session`]) and shell ([`super::shell`]) run to
//! quiescence after each input, and the queue of counter loans sent to the library system in
//! the background (after each loan, when the link comes back, and again later while the ILS
//! does not know some item yet). The window and the headless driver both drive a
//! [`CounterRunner`].

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::session::{Counter, Effect, Event};
use super::shell::CounterShell;
use crate::runtime::Sink;
use crate::sync::{Policy, Report, SyncError};

/// How long queued rows wait before the next sync while the link stays up.
const SYNC_RETRY: Duration = Duration::from_secs(300);

pub struct CounterRunner {
    pub core: Counter,
    pub shell: CounterShell,
    pub sink: Sink,
    policy: Policy,
    sync: Option<tokio::task::JoinHandle<Result<Report, SyncError>>>,
    retry_at: Option<tokio::time::Instant>,
    online: bool,
}

impl CounterRunner {
    pub fn new(core: Counter, shell: CounterShell, sink: Sink, policy: Policy) -> CounterRunner {
        CounterRunner {
            core,
            shell,
            sink,
            policy,
            sync: None,
            retry_at: None,
            online: false,
        }
    }

    /// Show the screen as it is.
    pub fn show(&mut self) {
        let model = self.core.model();
        self.sink.note(json!({"kind": "screen", "model": model}));
    }

    /// Journal the loans a crash left unwritten; then the queue goes out.
    pub async fn start(&mut self) -> Result<()> {
        let recovered = self.shell.recover().await?;
        if !recovered.is_empty() {
            self.sink
                .note(json!({"kind": "recovered", "journal": recovered}));
        }
        self.check_link().await?;
        self.show();
        Ok(())
    }

    /// Feed an event and carry out everything that follows from it.
    pub async fn feed(&mut self, event: Event) -> Result<()> {
        let mut queue = VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            for effect in self.core.handle(event) {
                if let Effect::Show(model) = &effect {
                    self.sink.note(json!({"kind": "screen", "model": model}));
                    continue;
                }
                let lends = matches!(effect, Effect::Record(_));
                if matches!(effect, Effect::Undo { .. }) {
                    // The loan's row must not be on its way to the ILS while it is taken back.
                    self.finish_sync().await?;
                }
                let (next, exchange) = self.shell.run(effect).await?;
                if let Some(x) = exchange {
                    self.sink.exchange(&x);
                }
                if lends && matches!(next, Some(Event::Recorded(Ok(_)))) {
                    self.start_sync();
                }
                if let Some(e) = next {
                    queue.push_back(e);
                }
            }
        }
        Ok(())
    }

    /// Read the pad: a patron card identifies the patron, a blank tag is the next book's.
    pub async fn poll_pad(&mut self) -> Result<()> {
        let view = self.shell.read_pad().await?;
        let model = self.core.model();
        if let Some(card) = view.patron_card
            && model.screen == super::session::Screen::Patron
        {
            self.feed(Event::Patron(card)).await?;
        }
        if self.core.model().blank_tag != view.blank {
            self.feed(Event::Blank(view.blank)).await?;
        }
        Ok(())
    }

    /// Start a sync in the background unless one runs or the link is down.
    pub fn start_sync(&mut self) {
        if self.sync.as_ref().is_some_and(|s| !s.is_finished())
            || !self.shell.sip2.link().borrow().is_online()
        {
            return;
        }
        self.retry_at = None;
        let sip2 = self.shell.sip2.clone();
        let store = self.shell.store.clone();
        let in_flight = self.shell.in_flight.clone();
        let policy = self.policy;
        self.sync = Some(tokio::spawn(async move {
            crate::sync::run_with(&sip2, &store, &in_flight, policy, |_, _| {}).await
        }));
    }

    /// Between inputs and on a timer: start the sync when the link comes back or a retry is
    /// due, and report a finished one.
    pub async fn check_link(&mut self) -> Result<()> {
        let online = self.shell.sip2.link().borrow().is_online();
        if online != self.online {
            self.online = online;
            self.sink.note(json!({"kind": "link", "online": online}));
            if online {
                self.start_sync();
            }
        }
        if online
            && self.sync.is_none()
            && self
                .retry_at
                .is_some_and(|at| tokio::time::Instant::now() >= at)
        {
            self.start_sync();
        }
        if self.sync.as_ref().is_some_and(|s| s.is_finished()) {
            self.finish_sync().await?;
        }
        Ok(())
    }

    /// Wait for the background sync, if one runs, and report it.
    pub async fn finish_sync(&mut self) -> Result<()> {
        let Some(task) = self.sync.take() else {
            return Ok(());
        };
        let report = task.await.context("the sync task failed")??;
        self.ended(&report);
        Ok(())
    }

    /// Run the sync now and wait for it.
    pub async fn sync_now(&mut self) -> Result<()> {
        self.finish_sync().await?;
        let report = crate::sync::run_with(
            &self.shell.sip2,
            &self.shell.store,
            &self.shell.in_flight,
            self.policy,
            |_, _| {},
        )
        .await?;
        self.ended(&report);
        Ok(())
    }

    fn ended(&mut self, report: &Report) {
        if report.remaining > 0 {
            self.retry_at = Some(tokio::time::Instant::now() + SYNC_RETRY);
        }
        self.sink.sync(report);
    }
}
