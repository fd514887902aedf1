//! The reader page: the tags on the pad, live, with their AFI and EAS.

use super::*;

impl StaffMode {
    pub(super) fn set_live(&self, on: bool) {
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

    pub(super) fn read_pad(&self) {
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
                        diagnostics.set_tags(crate::ui::rows(tags.iter().map(tag_row).collect()));
                    }
                    Err(e) => {
                        diagnostics.set_reader_text(e.text(&diagnostics));
                        diagnostics.set_tags(crate::ui::rows(Vec::new()));
                    }
                }
            });
        });
    }
}

/// Why the pad could not be read.
#[derive(Debug)]
pub(super) enum PadError {
    /// A thread panicked while it held the reader (our words, translated in the UI).
    Blocked,
    /// The reader's or the runtime's own error text.
    Failed(String),
}

impl PadError {
    pub(super) fn failed(e: impl std::fmt::Display) -> Self {
        PadError::Failed(e.to_string())
    }

    pub(super) fn text(&self, diagnostics: &DiagnosticsAdapter<'_>) -> SharedString {
        match self {
            PadError::Blocked => diagnostics.invoke_reader_blocked(),
            PadError::Failed(e) => e.into(),
        }
    }
}

pub(super) fn lock_reader(
    reader: &SharedReader,
) -> Result<std::sync::MutexGuard<'_, Box<dyn crate::rfid::TagReader + Send>>, PadError> {
    reader.lock().map_err(|_| PadError::Blocked)
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
