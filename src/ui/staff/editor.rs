//! The settings page's editor: the common keys as text, read back with the same validation
//! as the settings file, and saved into that file (mode 0600: it holds the SIP2 password).

use std::collections::BTreeMap;

use crate::config::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Secret,
    Number,
    Toggle,
}

/// The keys the settings page edits, in the order shown.
const FIELDS: &[(&str, Kind)] = &[
    ("ils.server", Kind::Text),
    ("ils.tls", Kind::Toggle),
    ("ils.user", Kind::Text),
    ("ils.password", Kind::Secret),
    ("terminal.location", Kind::Text),
    ("terminal.institution", Kind::Text),
    ("rfid.afi_secured", Kind::Text),
    ("rfid.afi_on_loan", Kind::Text),
    ("terminal.languages", Kind::Text),
    ("terminal.idle_timeout_secs", Kind::Number),
];

pub(super) struct FieldView {
    pub key: &'static str,
    pub value: String,
    pub kind: Kind,
}

/// A field's value as the settings page shows it. Secrets are never shown.
pub fn field_value(s: &Settings, key: &str) -> String {
    match key {
        "ils.server" => s.ils.server.clone(),
        "ils.tls" => s.ils.tls.to_string(),
        "ils.user" => s.ils.user.clone(),
        "terminal.location" => s.terminal.location.clone(),
        "terminal.institution" => s.terminal.institution.clone(),
        "rfid.afi_secured" => format!("{:02X}", s.rfid.afi_secured),
        "rfid.afi_on_loan" => format!("{:02X}", s.rfid.afi_on_loan),
        "terminal.languages" => s.terminal.languages.join(", "),
        "terminal.idle_timeout_secs" => s.terminal.idle_timeout_secs.to_string(),
        _ => String::new(),
    }
}

/// Put a value typed on the settings page into `s`; the error says why it cannot be read.
/// An empty password keeps the one already set (the page never shows it).
pub fn apply_field(s: &mut Settings, key: &str, value: &str) -> Result<(), String> {
    let text = value.trim();
    match key {
        "ils.server" => s.ils.server = text.to_string(),
        "ils.tls" => {
            s.ils.tls = text
                .parse()
                .map_err(|_| format!("\"{text}\" is not true or false"))?
        }
        "ils.user" => s.ils.user = text.to_string(),
        "ils.password" => {
            if !value.is_empty() {
                s.ils.password = value.to_string();
            }
        }
        "terminal.location" => s.terminal.location = text.to_string(),
        "terminal.institution" => s.terminal.institution = text.to_string(),
        "rfid.afi_secured" => s.rfid.afi_secured = parse_hex_byte(text)?,
        "rfid.afi_on_loan" => s.rfid.afi_on_loan = parse_hex_byte(text)?,
        "terminal.languages" => {
            s.terminal.languages = text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        }
        "terminal.idle_timeout_secs" => {
            s.terminal.idle_timeout_secs = text
                .parse()
                .map_err(|_| format!("\"{text}\" is not a whole number of seconds"))?
        }
        _ => return Err(format!("{key} cannot be edited here")),
    }
    Ok(())
}

fn parse_hex_byte(text: &str) -> Result<u8, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if (1..=2).contains(&digits.len())
        && let Ok(b) = u8::from_str_radix(digits, 16)
    {
        return Ok(b);
    }
    Err(format!("\"{text}\" is not a hex byte (00 to FF)"))
}

/// Why the settings were not saved.
#[derive(Debug, PartialEq, Eq)]
pub enum SaveError {
    /// This many problems; the ones not tied to a field on the page, as text.
    Problems(usize, Vec<String>),
    Io(String),
}

/// The settings page's edits over the settings file's content.
#[derive(Debug, Clone)]
pub struct Editor {
    /// What the file holds (or the settings in force when there is no file).
    pub saved: Settings,
    candidate: Settings,
    /// Values that could not be read, by key: what was typed and why.
    unread: BTreeMap<String, (String, String)>,
    /// Keys edited since the last save.
    touched: Vec<&'static str>,
}

impl Editor {
    pub fn new(saved: Settings) -> Editor {
        Editor {
            candidate: saved.clone(),
            saved,
            unread: BTreeMap::new(),
            touched: Vec::new(),
        }
    }

    pub fn candidate(&self) -> &Settings {
        &self.candidate
    }

    pub fn edit(&mut self, key: &str, value: &str) {
        let Some(&(known, _)) = FIELDS.iter().find(|(k, _)| *k == key) else {
            tracing::warn!("settings page edited an unknown key {key}");
            return;
        };
        if !self.touched.contains(&known) {
            self.touched.push(known);
        }
        match apply_field(&mut self.candidate, key, value) {
            Ok(()) => {
                self.unread.remove(key);
            }
            Err(e) => {
                self.unread.insert(key.to_string(), (value.to_string(), e));
            }
        }
    }

    pub fn is_dirty(&self) -> bool {
        !self.unread.is_empty() || self.candidate != self.saved
    }

    /// Problems by field key, and those of keys not on the page (as "key: message").
    pub fn problems(&self) -> (BTreeMap<String, String>, Vec<String>) {
        let mut by_key: BTreeMap<String, String> = self
            .unread
            .iter()
            .map(|(k, (_, e))| (k.clone(), e.clone()))
            .collect();
        let mut others = Vec::new();
        for p in self.candidate.problems() {
            if self.unread.contains_key(&p.key) {
                continue;
            }
            if FIELDS.iter().any(|(k, _)| *k == p.key) {
                let entry = by_key.entry(p.key.clone()).or_default();
                if !entry.is_empty() {
                    entry.push_str("; ");
                }
                entry.push_str(&p.message);
            } else {
                others.push(p.to_string());
            }
        }
        (by_key, others)
    }

    pub(super) fn views(&self) -> Vec<FieldView> {
        FIELDS
            .iter()
            .map(|&(key, kind)| FieldView {
                key,
                value: match self.unread.get(key) {
                    Some(_) if kind == Kind::Secret => String::new(),
                    Some((typed, _)) => typed.clone(),
                    None => field_value(&self.candidate, key),
                },
                kind,
            })
            .collect()
    }

    /// Write the edited keys into the settings file at `path` (created when missing),
    /// readable by its owner only. Returns the settings now in the file.
    pub fn save(&self, files: &crate::config::layers::Layers) -> Result<Settings, SaveError> {
        let (by_key, others) = self.problems();
        let count = by_key.len() + others.len();
        if count > 0 {
            return Err(SaveError::Problems(count, others));
        }
        crate::config::file::write_changes(files, &self.candidate, &self.saved)
            .map_err(SaveError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layers::Layers;

    #[test]
    fn field_values_round_trip() {
        let s = Settings::default();
        let mut t = Settings::default();
        for (key, _) in FIELDS {
            if *key != "ils.password" {
                apply_field(&mut t, key, &field_value(&s, key)).expect(key);
            }
        }
        assert_eq!(s, t);
    }

    #[test]
    fn fields_that_do_not_parse() {
        let mut s = Settings::default();
        assert!(apply_field(&mut s, "rfid.afi_secured", "0x07").is_ok());
        assert_eq!(s.rfid.afi_secured, 7);
        assert!(apply_field(&mut s, "rfid.afi_secured", "c2").is_ok());
        assert_eq!(s.rfid.afi_secured, 0xC2);
        for bad in ["", "100", "G1", "0x"] {
            assert!(
                apply_field(&mut s, "rfid.afi_on_loan", bad).is_err(),
                "{bad}"
            );
        }
        assert!(apply_field(&mut s, "terminal.idle_timeout_secs", "soon").is_err());
        assert!(apply_field(&mut s, "ils.tls", "yes").is_err());
        assert!(apply_field(&mut s, "staff.pin_hash", "x").is_err());
        apply_field(&mut s, "terminal.languages", "it,  en zh_CN").expect("languages");
        assert_eq!(s.terminal.languages, ["it", "en", "zh_CN"]);
    }

    #[test]
    fn the_password_is_never_shown_and_empty_keeps_it() {
        let mut s = Settings::default();
        s.ils.user = "kiosk".into();
        s.ils.password = "s3cret".into();
        assert_eq!(field_value(&s, "ils.password"), "");
        apply_field(&mut s, "ils.password", "").expect("keep");
        assert_eq!(s.ils.password, "s3cret");
        let mut e = Editor::new(s);
        e.edit("ils.password", "new one");
        assert!(e.views().iter().all(|v| !v.value.contains("new one")));
    }

    #[test]
    fn editor_reports_problems_by_key() {
        let mut e = Editor::new(Settings::default());
        assert!(!e.is_dirty());
        e.edit("ils.server", "ils.example.org");
        e.edit("rfid.afi_secured", "zz");
        e.edit("terminal.idle_timeout_secs", "12");
        assert!(e.is_dirty());
        let (by_key, others) = e.problems();
        assert!(by_key["ils.server"].contains("HOST:PORT"), "{by_key:?}");
        assert!(by_key["rfid.afi_secured"].contains("hex"), "{by_key:?}");
        // 12 s is in range, but shorter than the idle warning: not a field on the page.
        assert_eq!(others.len(), 1, "{others:?}");
        assert!(others[0].starts_with("terminal.idle_warning_secs"));
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        assert_eq!(
            e.save(&Layers::single(&path)),
            Err(SaveError::Problems(3, others.clone()))
        );
        assert!(!path.exists());
    }

    #[test]
    fn saving_writes_only_the_edited_keys_privately() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "# site file\n[ils]\nuser = \"kiosk\"\npassword = \"pw\"\nserver = \"ils:6001\"\n[offline]\nmax_items_per_patron = 3\n")
            .expect("write");
        let saved = Settings::load(&path).expect("load");
        let mut e = Editor::new(saved);
        e.edit("terminal.location", "B7-LOBBY");
        e.edit("rfid.afi_on_loan", "0x9A");
        let written = e.save(&Layers::single(&path)).expect("saved");
        let back = Settings::load(&path).expect("parses back");
        assert_eq!(written, back);
        assert_eq!(back.terminal.location, "B7-LOBBY");
        assert_eq!(back.rfid.afi_on_loan, 0x9A);
        assert_eq!(back.ils.password, "pw");
        assert_eq!(back.offline.max_items_per_patron, 3);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("idle_timeout_secs"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn saving_keeps_the_files_comments_and_layout() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        let before = "# Branch 7, lobby kiosk: installed by the IT team.\n\
                      [ils]\n\
                      server = \"ils:6001\" # the branch's SIP2 port\n\
                      user = \"kiosk\"\n\
                      password = \"pw\"\n\
                      \n\
                      # Offline lending is allowed at this branch.\n\
                      [offline]\n\
                      max_items_per_patron = 3\n";
        std::fs::write(&path, before).expect("write");
        let mut e = Editor::new(Settings::load(&path).expect("load"));
        e.edit("ils.server", "ils.example.org:6011");
        e.edit("terminal.location", "B7-LOBBY");
        e.save(&Layers::single(&path)).expect("saved");
        let text = std::fs::read_to_string(&path).expect("read");
        let expected = before.replace("ils:6001", "ils.example.org:6011")
            + "\n[terminal]\nlocation = \"B7-LOBBY\"\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_new_file_keeps_what_the_settings_in_force_changed() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("etc").join("c.toml");
        let mut s = Settings::default();
        s.staff.pin_hash = crate::config::hash_pin("4711").expect("hash");
        s.staff.cards = vec!["S-1".into()];
        let mut e = Editor::new(s.clone());
        e.edit("terminal.location", "B7-LOBBY");
        let written = e.save(&Layers::single(&path)).expect("saved");
        let back = Settings::load(&path).expect("parses back");
        assert_eq!(written, back);
        assert_eq!(back.staff, s.staff);
        assert_eq!(back.terminal.location, "B7-LOBBY");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("[telemetry]"), "only what differs: {text}");
    }
}
