//! The queue page: the offline queue and its conflicts, and the sync on demand.

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
