//! The status page: the link, the reader and the queue at a glance.

use super::*;

impl StaffMode {
    pub(super) fn refresh_status(&self) {
        let ctx = &self.inner.ctx;
        let link = ctx.sip2.link().borrow().clone();
        let line = describe_link(&link, &ctx.settings, SystemTime::now());
        let printer = ctx.printer.lock().map(|p| p.clone()).unwrap_or_default();
        self.with_window(|w| {
            let staff = w.global::<StaffAdapter>();
            staff.set_link_ok(line.ok());
            staff.set_link_text(link_text(&staff, &line));
            staff.set_has_printer(printer.address.is_some());
            staff.set_printer_text(printer.address.clone().unwrap_or_default().into());
            staff.set_printer_problem(printer_problem(printer.problem).into());
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
}

/// The printer's problem as the status page names it ("" when it printed).
pub fn printer_problem(problem: Option<crate::receipt::PrinterProblem>) -> &'static str {
    use crate::receipt::PrinterProblem;
    match problem {
        None => "",
        Some(PrinterProblem::PaperOut) => "paper-out",
        Some(PrinterProblem::CoverOpen) => "cover-open",
        Some(PrinterProblem::Error) => "error",
        Some(PrinterProblem::Offline) => "offline",
        Some(PrinterProblem::Unreachable) => "unreachable",
    }
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
pub(in crate::ui) fn link_text(staff: &StaffAdapter<'_>, line: &LinkLine) -> SharedString {
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
