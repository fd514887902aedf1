//! Writing the settings file: staff mode's editor (and the fleet's settings command) set the
//! keys that changed, keeping the file's other keys, its comments and its layout, and replace
//! the file atomically, readable by its owner only (it holds the SIP2 password).

use std::path::{Path, PathBuf};

use super::Settings;

/// Set in the settings file at `path` (created when missing) every key whose value in
/// `candidate` differs from `saved`, check that the result parses and validates, and write it.
/// Returns the settings now in the file.
pub fn write_changes(
    path: &Path,
    candidate: &Settings,
    saved: &Settings,
) -> Result<Settings, String> {
    let text = settings_text(path, candidate, saved)?;
    let written = Settings::parse(&text, path).map_err(|e| e.to_string())?;
    write_private(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(written)
}

/// The settings file's text with every key whose value in `candidate` differs from `saved`
/// set; the file's other keys, its comments and its layout stay as they are. A new file starts
/// from the built-in defaults, so it also keeps what the settings in force changed from them
/// (the staff PIN hash...).
pub fn settings_text(
    path: &Path,
    candidate: &Settings,
    saved: &Settings,
) -> Result<String, String> {
    let (mut file, base) = match std::fs::read_to_string(path) {
        Ok(text) => (
            text.parse::<toml_edit::DocumentMut>()
                .map_err(|e| format!("{}: {}", path.display(), e.message()))?,
            saved.clone(),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (toml_edit::DocumentMut::new(), Settings::default())
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let new = toml::Table::try_from(candidate).map_err(|e| e.to_string())?;
    let old = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
    for (section, values) in &new {
        let Some(values) = values.as_table() else {
            continue;
        };
        for (name, value) in values {
            if old.get(section).and_then(|t| t.get(name)) == Some(value) {
                continue;
            }
            let table = file
                .entry(section)
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
            let Some(table) = table.as_table_like_mut() else {
                return Err(format!("[{section}] in {} is not a table", path.display()));
            };
            let value = edit_value(value)?;
            match table.get_mut(name).and_then(|item| item.as_value_mut()) {
                // In place: the comment after the value stays.
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
    }
    Ok(file.to_string())
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
