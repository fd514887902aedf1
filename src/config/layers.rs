//! The settings in force are two files: the site's settings file (the package's conffile,
//! `/etc/selfcheck/config.toml`, or `--config`) and, over it, the terminal's own changes in its
//! data directory (`config.toml` there), which staff mode and the fleet's `settings` command
//! write. The conffile is never written by the kiosk, so a package upgrade never stops at
//! dpkg's conffile prompt, and a site's new defaults still reach every key a terminal did not
//! change.
//!
//! The overlay is merged key by key (tables within tables too): a key in the data directory's
//! file wins. The merged settings are validated as one, exactly as `config check` validates a
//! file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{ConfigError, Settings, parse_message};

/// The name of the terminal's own settings file in its data directory.
pub const LOCAL_FILE: &str = "config.toml";

/// Where the settings come from: an optional base file and the terminal's own file over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// The site's settings file; `None`: the built-in defaults.
    pub base: Option<PathBuf>,
    /// The terminal's own changes (may not exist yet); every write goes here.
    pub local: PathBuf,
}

impl Layers {
    /// The settings file `base` (if any) with the data directory's file over it. A base that
    /// is the data directory's file itself is one layer, not two.
    pub fn new(base: Option<PathBuf>, data_dir: &Path) -> Layers {
        let local = data_dir.join(LOCAL_FILE);
        let base = base.filter(|b| !same_file(b, &local));
        Layers { base, local }
    }

    /// One file, read and written as it is (tools and tests that name a single file).
    pub fn single(path: &Path) -> Layers {
        Layers {
            base: None,
            local: path.to_path_buf(),
        }
    }

    /// The settings in force: the base with the terminal's own file over it, validated.
    pub fn load(&self) -> Result<Settings, ConfigError> {
        let local = match std::fs::read_to_string(&self.local) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: self.local.clone(),
                    source,
                });
            }
        };
        self.with_local(local.as_deref())
    }

    /// The settings in force if the terminal's own file held `local` (`None`: no file), for
    /// validating a change before it is written.
    pub fn with_local(&self, local: Option<&str>) -> Result<Settings, ConfigError> {
        let Some(base) = &self.base else {
            return match local {
                Some(text) => Settings::parse(text, &self.local),
                None => Ok(Settings::default()),
            };
        };
        let base_text = std::fs::read_to_string(base).map_err(|source| ConfigError::Read {
            path: base.clone(),
            source,
        })?;
        let Some(local) = local else {
            return Settings::parse(&base_text, base);
        };
        let mut merged = table(&base_text, base)?;
        merge(&mut merged, table(local, &self.local)?);
        let named = self.merged_name();
        let text = toml::to_string(&merged).map_err(|e| ConfigError::Parse {
            path: named.clone(),
            message: e.to_string(),
        })?;
        Settings::parse(&text, &named)
    }

    /// Whether the terminal has changes of its own over the base.
    pub fn has_local_changes(&self) -> bool {
        self.base.is_some() && self.local.is_file()
    }

    /// How errors name the merged settings: "BASE + LOCAL".
    fn merged_name(&self) -> PathBuf {
        match &self.base {
            Some(base) => PathBuf::from(format!("{} + {}", base.display(), self.local.display())),
            None => self.local.clone(),
        }
    }
}

impl fmt::Display for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.base, self.local.is_file()) {
            (Some(base), true) => write!(
                f,
                "{} with this terminal's changes in {}",
                base.display(),
                self.local.display()
            ),
            (Some(base), false) => write!(f, "{}", base.display()),
            (None, true) => write!(f, "{}", self.local.display()),
            (None, false) => f.write_str("built-in defaults (demo)"),
        }
    }
}

fn table(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: parse_message(&e),
    })
}

/// `over`'s keys into `into`; tables merge key by key, anything else is replaced.
fn merge(into: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge(mine, theirs),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn the_terminal_file_wins_key_by_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = dir.path().join("site.toml");
        write(
            &base,
            "[terminal]\nid = \"b7-k1\"\nidle_timeout_secs = 90\n[receipt.email]\nfrom = \"a@example.org\"\n",
        );
        let layers = Layers::new(Some(base.clone()), dir.path());
        assert_eq!(layers.load().expect("base only").terminal.id, "b7-k1");
        assert!(!layers.has_local_changes());
        write(
            &layers.local,
            "[terminal]\nidle_timeout_secs = 120\n[receipt.email]\nuser = \"kiosk\"\npassword = \"pw\"\n",
        );
        let s = layers.load().expect("merged");
        assert_eq!(s.terminal.id, "b7-k1", "the base's key stays");
        assert_eq!(s.terminal.idle_timeout_secs, 120, "the terminal's key wins");
        assert_eq!(s.receipt.email.from, "a@example.org");
        assert_eq!(s.receipt.email.user, "kiosk");
        assert!(layers.has_local_changes());
        assert!(layers.to_string().contains("this terminal's changes"));
    }

    #[test]
    fn the_merged_settings_are_validated_as_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = dir.path().join("site.toml");
        write(&base, "[terminal]\nidle_timeout_secs = 90\n");
        let layers = Layers::new(Some(base), dir.path());
        let err = layers
            .with_local(Some("[terminal]\nidle_warning_secs = 200\n"))
            .expect_err("a warning longer than the timeout");
        let text = err.to_string();
        assert!(text.contains("site.toml + "), "{text}");
        assert!(text.contains("idle_warning_secs"), "{text}");
        let err = layers
            .with_local(Some("[terminal\n"))
            .expect_err("broken local file");
        assert!(err.to_string().contains(LOCAL_FILE), "{err}");
        let err = layers
            .with_local(Some("[terminal]\nno_such_key = 1\n"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("no_such_key"), "{err}");
    }

    #[test]
    fn one_file_is_one_layer() {
        let dir = tempfile::tempdir().expect("tmp");
        let local = dir.path().join(LOCAL_FILE);
        write(&local, "[terminal]\nid = \"solo\"\n");
        let layers = Layers::new(Some(local.clone()), dir.path());
        assert_eq!(layers.base, None);
        assert_eq!(layers.load().expect("load").terminal.id, "solo");
        let none = Layers::new(None, &dir.path().join("empty"));
        assert_eq!(none.load().expect("defaults"), Settings::default());
        assert_eq!(none.to_string(), "built-in defaults (demo)");
    }
}
