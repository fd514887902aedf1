//! The settings page: the common keys edited with the settings file's own validation.

use super::*;

impl StaffMode {
    pub(super) fn reset_editor(&self, settings: Settings, status: &str) {
        *self.inner.editor.borrow_mut() = Editor::new(settings);
        self.inner.fields.set_vec(self.field_rows());
        self.with_window(|w| {
            let adapter = w.global::<SettingsAdapter>();
            adapter.set_dirty(false);
            adapter.set_status(status.into());
        });
    }

    pub(super) fn field_rows(&self) -> Vec<SettingField> {
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
    pub(super) fn show_fields(&self) {
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

    pub(super) fn edit(&self, key: &str, value: &str) {
        self.touch();
        self.inner.editor.borrow_mut().edit(key, value);
        self.show_fields();
    }

    pub(super) fn save(&self) {
        self.touch();
        let files = &self.inner.ctx.settings_files;
        let target = files.local.clone();
        let new_file = !target.exists();
        let result = self.inner.editor.borrow().save(files);
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

    pub(super) fn revert(&self) {
        self.touch();
        let fallback = self.inner.editor.borrow().saved.clone();
        let (settings, problem) = match self.inner.ctx.settings_files.load() {
            Ok(s) => (s, None),
            Err(e) => (fallback, Some(e.to_string())),
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
}
