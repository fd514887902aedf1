//! Writing the terminal's settings file (the data directory's layer, see [`super::layers`]):
//! staff mode's editor sets the keys that changed, the fleet's `settings` command the keys of
//! a TOML fragment, keeping the file's other keys, its comments and its layout, and replaces
//! the file atomically, readable by its owner only (it holds the SIP2 password). The site's
//! settings file under it is never written.

use std::path::{Path, PathBuf};

use super::Settings;
use super::layers::Layers;

/// Set in the terminal's settings file (`layers.local`, created when missing) every key whose
/// value in `candidate` differs from `saved` (the settings in force), check that the settings
/// in force with that file parse and validate, and write it. Returns the settings now in force.
pub fn write_changes(
    layers: &Layers,
    candidate: &Settings,
    saved: &Settings,
) -> Result<Settings, String> {
    let path = &layers.local;
    let defaults = Settings::default();
    let (file, base) = match read_document(path)? {
        Some(file) => (file, saved),
        // Over a site's file, a new terminal file holds only what changed from the settings
        // in force.
        None if layers.base.is_some() => (toml_edit::DocumentMut::new(), saved),
        // Alone, it starts from the built-in defaults, so it also keeps what the settings in
        // force changed from them (the staff PIN hash...).
        None => (toml_edit::DocumentMut::new(), &defaults),
    };
    let text = changes_text(file, base, candidate, path)?;
    let written = layers.with_local(Some(&text)).map_err(|e| e.to_string())?;
    write_private(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(written)
}

/// `file` with every key whose value in `candidate` differs from `base` set; the file's other
/// keys, its comments and its layout stay as they are.
fn changes_text(
    mut file: toml_edit::DocumentMut,
    base: &Settings,
    candidate: &Settings,
    path: &Path,
) -> Result<String, String> {
    let new = toml::Table::try_from(candidate).map_err(|e| e.to_string())?;
    let old = toml::Table::try_from(base).map_err(|e| e.to_string())?;
    for (section, values) in &new {
        let Some(values) = values.as_table() else {
            continue;
        };
        for (name, value) in values {
            if old.get(section).and_then(|t| t.get(name)) == Some(value) {
                continue;
            }
            let table = section_table(&mut file, section, path)?;
            set_value(table, name, edit_value(value)?);
        }
    }
    Ok(file.to_string())
}

/// Set in the terminal's settings file (`layers.local`, created when missing) every key of
/// `fragment`, a TOML text of `[section]`s, keeping the file's other keys, its comments and its
/// layout; validate the settings in force with it exactly as `config check` does and write it
/// only when they are valid. Returns the settings now in force, or every problem, one line each.
pub fn write_fragment(layers: &Layers, fragment: &str) -> Result<Settings, Vec<String>> {
    let path = &layers.local;
    let changes = fragment
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| vec![format!("the settings fragment: {}", e.message().trim())])?;
    let mut file = read_document(path)
        .map_err(|e| vec![e])?
        .unwrap_or_default();
    for (section, values) in changes.iter() {
        let Some(values) = values.as_table_like() else {
            return Err(vec![format!(
                "{section}: settings go in sections, e.g. [terminal] id = \"...\""
            )]);
        };
        let table = section_table(&mut file, section, path).map_err(|e| vec![e])?;
        for (name, item) in values.iter() {
            match item.as_value() {
                Some(value) => set_value(table, name, value.clone()),
                None => {
                    table.insert(name, item.clone());
                }
            }
        }
    }
    let text = file.to_string();
    let written = layers.with_local(Some(&text)).map_err(|e| match e {
        super::ConfigError::Invalid { problems, .. } => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => vec![other.to_string()],
    })?;
    write_private(path, &text).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    Ok(written)
}

/// The settings file at `path` as an editable document; `None` when there is no file yet.
fn read_document(path: &Path) -> Result<Option<toml_edit::DocumentMut>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse::<toml_edit::DocumentMut>()
            .map(Some)
            .map_err(|e| format!("{}: {}", path.display(), e.message().trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The `[section]` table of `file`, created when missing.
fn section_table<'a>(
    file: &'a mut toml_edit::DocumentMut,
    section: &str,
    path: &Path,
) -> Result<&'a mut dyn toml_edit::TableLike, String> {
    file.entry(section)
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| format!("[{section}] in {} is not a table", path.display()))
}

/// Set `name` to `value`; a value already there is replaced in place, so the comment after it
/// stays.
fn set_value(table: &mut dyn toml_edit::TableLike, name: &str, value: toml_edit::Value) {
    match table.get_mut(name).and_then(|item| item.as_value_mut()) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(name, toml_edit::Item::Value(value));
        }
    }
}

/// A settings value (a string, number, flag or list) as an editable TOML value.
fn edit_value(value: &toml::Value) -> Result<toml_edit::Value, String> {
    value
        .to_string()
        .parse::<toml_edit::Value>()
        .map_err(|e| format!("cannot write {value}: {e}"))
}

/// Replace `path` with `text` through a temporary file, mode 0600 (it holds the SIP2 password).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".new");
    let tmp = PathBuf::from(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_sets_its_keys_and_keeps_the_rest() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# the lobby kiosk\n[terminal]\nid = \"b7-k3\" # its name\nidle_timeout_secs = 90\n",
        )
        .expect("write");
        let saved = write_fragment(
            &Layers::single(&path),
            "[terminal]\nidle_timeout_secs = 120\n[telemetry]\nsite = \"b7\"\n",
        )
        .expect("valid");
        assert_eq!(saved.terminal.idle_timeout_secs, 120);
        assert_eq!(saved.terminal.id, "b7-k3");
        assert_eq!(saved.telemetry.site, "b7");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("# the lobby kiosk\n"), "{text}");
        assert!(text.contains("idle_timeout_secs = 120"), "{text}");
        assert!(text.contains("\"b7-k3\" # its name"), "{text}");
    }

    #[test]
    fn a_bad_fragment_is_refused_with_every_problem_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.toml");
        let errors = write_fragment(
            &Layers::single(&path),
            "[terminal]\nidle_timeout_secs = 1\npin_attempts = 0\n",
        )
        .expect_err("invalid");
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("terminal.idle_timeout_secs"),
            "{errors:?}"
        );
        assert!(!path.exists());
        let errors =
            write_fragment(&Layers::single(&path), "[terminal]\nporrt = 1\n").expect_err("unknown");
        assert!(errors[0].contains("porrt"), "{errors:?}");
        let errors =
            write_fragment(&Layers::single(&path), "id = \"x\"\n").expect_err("no section");
        assert!(errors[0].contains("sections"), "{errors:?}");
        let errors = write_fragment(&Layers::single(&path), "[terminal\n").expect_err("syntax");
        assert!(errors[0].contains("fragment"), "{errors:?}");
        assert!(!path.exists());
    }

    #[test]
    fn changes_go_to_the_terminal_file_and_never_to_the_site_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let site = dir.path().join("site.toml");
        let site_text = "# the site's file\n[terminal]\nid = \"b7-k3\"\nidle_timeout_secs = 90\n";
        std::fs::write(&site, site_text).expect("write");
        let layers = Layers::new(Some(site.clone()), dir.path());
        let saved = layers.load().expect("load");
        let mut candidate = saved.clone();
        candidate.terminal.idle_timeout_secs = 150;
        let now = write_changes(&layers, &candidate, &saved).expect("saved");
        assert_eq!(now.terminal.idle_timeout_secs, 150);
        assert_eq!(now.terminal.id, "b7-k3");
        assert_eq!(std::fs::read_to_string(&site).expect("read"), site_text);
        let local = std::fs::read_to_string(&layers.local).expect("read");
        assert_eq!(
            local.trim(),
            "[terminal]\nidle_timeout_secs = 150",
            "only the change"
        );
        assert_eq!(layers.load().expect("reload"), now);

        let now = write_fragment(&layers, "[terminal]\nlibrary_name = \"Nord\"\n").expect("ok");
        assert_eq!(now.terminal.library_name, "Nord");
        assert_eq!(now.terminal.idle_timeout_secs, 150);
        assert_eq!(std::fs::read_to_string(&site).expect("read"), site_text);
        let errors = write_fragment(&layers, "[terminal]\nidle_warning_secs = 500\n")
            .expect_err("the merged settings are checked");
        assert!(errors[0].contains("idle_warning_secs"), "{errors:?}");
        assert_eq!(layers.load().expect("unchanged"), now);
    }
}
