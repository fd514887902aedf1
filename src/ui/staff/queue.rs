//! The queue page: the offline queue and its conflicts, the sync on demand, and a conflict
//! resent or dropped with a touch (what `selfcheck sync resolve` does).

use super::*;

impl StaffMode {
    pub(super) fn refresh_queue(&self) {
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
                        .set_rows(crate::ui::rows(entries.iter().map(queue_row).collect()));
                }),
                Ok(Err(e)) => tracing::warn!("cannot read the journal: {e}"),
                Err(e) => tracing::warn!("journal read failed: {e}"),
            }
        });
    }

    pub(super) fn sync_now(&self) {
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
            let outcome = outcome(job.await);
            if let Ok(report) = &outcome {
                tracing::info!(?report, "staff ran the sync");
            }
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

impl StaffMode {
    /// Resend (`resend`) or drop conflict `id`, then show what happened and the queue again.
    pub(super) fn resolve_conflict(&self, id: i32, resend: bool) {
        self.touch();
        if self.inner.resolving.replace(true) {
            return;
        }
        self.with_window(|w| w.global::<QueueAdapter>().set_resolving(true));
        let sip2 = self.inner.ctx.sip2.clone();
        let store = self.inner.ctx.store.clone();
        let id = i64::from(id);
        let job = self.inner.ctx.runtime.spawn(async move {
            if resend {
                crate::sync::resend(&sip2, &store, id, None).await
            } else {
                crate::sync::drop_conflict(&store, id, None).await
            }
        });
        let m = self.clone();
        self.on_ui(async move {
            let outcome = outcome(job.await);
            m.inner.resolving.set(false);
            m.with_window(|w| {
                let queue = w.global::<QueueAdapter>();
                queue.set_resolving(false);
                queue.set_result(match outcome {
                    Ok(r) => queue.invoke_resolve_report(
                        r.outcome.as_str().into(),
                        r.message.unwrap_or_default().into(),
                    ),
                    Err(e) => {
                        tracing::warn!("cannot resolve conflict {id}: {e}");
                        queue.invoke_resolve_report("failed".into(), e.into())
                    }
                });
            });
            m.refresh_queue();
        });
    }
}

/// A background job's result, or why there is none, in words.
fn outcome<T, E: std::fmt::Display>(
    joined: Result<Result<T, E>, tokio::task::JoinError>,
) -> Result<T, String> {
    match joined {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
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
/// keys ("checkout", "queued", ...), which the view words in the UI's language. The patron id
/// is masked, except on a conflict: staff need it to put the loan right at the desk.
pub fn queue_row(e: &Entry) -> QueueRow {
    let conflict = e.state == State::Conflict;
    let when = SipDateTime::parse(e.transaction_at.trim()).map_or_else(
        || e.transaction_at.trim().to_string(),
        |d| d.datetime.format("%Y-%m-%d %H:%M").to_string(),
    );
    QueueRow {
        id: clamp_i32(e.id),
        when: when.into(),
        action: e.action.as_str().into(),
        item: e.item_id.clone().unwrap_or_default().into(),
        patron: e
            .patron_id
            .as_deref()
            .map(|p| {
                if conflict {
                    p.trim().into()
                } else {
                    mask_patron(p)
                }
            })
            .unwrap_or_default()
            .into(),
        state: e.state.as_str().into(),
        detail: e.message.clone().unwrap_or_default().into(),
        conflict,
    }
}
