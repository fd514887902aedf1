//! The screen of a kiosk without X or Wayland (Slint's KMS backend): which way it is turned,
//! which output it draws on, and the console's screen blanking, which is kept off while the
//! kiosk is in service.
//!
//! Slint's KMS backend reads `SLINT_KMS_ROTATION` and `SLINT_DRM_OUTPUT` when it creates the
//! window, so [`apply_env`] must run before that, and before the kiosk starts any thread.
//! Under X or Wayland the desktop's own display settings turn and pick the screen, and its own
//! screen saver blanks it; these settings then change nothing.
//!
//! Blanking on Raspberry Pi OS Bookworm: the kernel's console blanking has been off by default
//! since Linux 4.12 (`/sys/module/kernel/parameters/consoleblank` reads 0), unless the boot
//! line sets `consoleblank=N`. While the kiosk draws it holds the display (DRM master), and
//! the console cannot blank it then; but between a stop and the next start the console shows,
//! and blanks if the boot line says so. [`keep_screen_on`] therefore turns the console's
//! blanking off (the escape `setterm --blank 0 --powerdown 0` writes) on the console,
//! `/dev/tty1`, and puts the previous interval back when the kiosk stops. The sysfs value is
//! read-only; the escape is the one way to change it at run time.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Problem;

/// `[display]` in the settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplaySettings {
    /// Degrees the picture is turned, clockwise: 0, 90, 180 or 270 (a panel mounted on its
    /// side or upside down).
    pub rotation: u16,
    /// The output to draw on, as the kernel names its connector (`HDMI-A-1`, `HDMI-A-2`,
    /// `DSI-1` for the official touch display); absent: the first one with a screen.
    pub output: Option<String>,
    /// Let the console blank the screen after its idle time. Off (the default): blanking is
    /// turned off while the kiosk runs.
    pub blanking: bool,
}

/// The rotations Slint's KMS backend accepts.
pub const ROTATIONS: [u16; 4] = [0, 90, 180, 270];

/// The variables Slint's KMS backend reads.
pub const ROTATION_ENV: &str = "SLINT_KMS_ROTATION";
pub const OUTPUT_ENV: &str = "SLINT_DRM_OUTPUT";

/// The console whose blanking the kiosk turns off.
pub const CONSOLE: &str = "/dev/tty1";

/// The kernel's console blanking interval in seconds (0: off).
const CONSOLE_BLANK: &str = "/sys/module/kernel/parameters/consoleblank";

impl DisplaySettings {
    /// Every invalid value, named by its dotted key.
    pub fn problems(&self, out: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        if !ROTATIONS.contains(&self.rotation) {
            bad(
                "display.rotation",
                format!("{} is not 0, 90, 180 or 270", self.rotation),
            );
        }
        if let Some(output) = &self.output
            && let Err(message) = check_output(output)
        {
            bad("display.output", message);
        }
    }

    /// The environment Slint's KMS backend should see for these settings.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![(ROTATION_ENV, self.rotation.to_string())];
        if let Some(output) = &self.output {
            env.push((OUTPUT_ENV, output.clone()));
        }
        env
    }
}

/// A connector name as the kernel's DRM makes it: the kind, a hyphen and a number
/// (`HDMI-A-1`, `DSI-1`, `DP-2`, `Composite-1`).
fn check_output(name: &str) -> Result<(), String> {
    let shape = name.rsplit_once('-').is_some_and(|(kind, number)| {
        !kind.is_empty()
            && kind
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
    });
    if shape {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not an output name like HDMI-A-1 or DSI-1 \
             (`modetest -c` or /sys/class/drm/card*-NAME lists them)"
        ))
    }
}

/// Why the display settings could not be put into effect.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error(
        "the display settings must be applied before the kiosk starts its threads \
         ({threads} are running)"
    )]
    Threads { threads: usize },
    #[error("cannot count this process's threads: {0}")]
    Count(std::io::Error),
}

/// Put `settings` into the environment Slint's KMS backend reads when it creates the window.
///
/// Changing the environment is safe only while no other thread can read it at the same time,
/// so this checks that the calling thread is the process's only one, and refuses otherwise.
pub fn apply_env(settings: &DisplaySettings) -> Result<(), DisplayError> {
    let threads = std::fs::read_dir("/proc/self/task")
        .map_err(DisplayError::Count)?
        .count();
    if threads != 1 {
        return Err(DisplayError::Threads { threads });
    }
    for (key, value) in settings.env() {
        set_env_single_threaded(key, &value);
    }
    tracing::debug!(env = ?settings.env(), "display settings");
    Ok(())
}

#[allow(unsafe_code)]
fn set_env_single_threaded(key: &str, value: &str) {
    // SAFETY: `apply_env` has just seen that this thread is the process's only one, so no
    // other thread reads or writes the environment while it changes.
    unsafe { std::env::set_var(key, value) };
}

/// Keeps the console from blanking the screen while it lives; puts the previous blanking
/// interval back when dropped.
#[derive(Debug)]
pub struct ScreenKeptOn {
    console: std::path::PathBuf,
    previous_minutes: u64,
}

impl Drop for ScreenKeptOn {
    fn drop(&mut self) {
        let escape = blank_after(self.previous_minutes);
        if let Err(e) = write_console(&self.console, escape.as_bytes()) {
            tracing::debug!(
                "cannot put the console's blanking back on {}: {e}",
                self.console.display()
            );
        }
    }
}

/// The Linux console escapes for "blank after `minutes`" (0: never).
fn blank_after(minutes: u64) -> String {
    format!("\x1b[9;{minutes}]")
}

/// Turn the console's blanking off while the kiosk is in service (unless `display.blanking`
/// allows it). Problems are logged, never fatal: the kiosk runs with a blanking screen rather
/// than not at all.
pub fn keep_screen_on(settings: &DisplaySettings) -> Option<ScreenKeptOn> {
    keep_console_on(settings, Path::new(CONSOLE), Path::new(CONSOLE_BLANK))
}

fn keep_console_on(
    settings: &DisplaySettings,
    console: &Path,
    blank_setting: &Path,
) -> Option<ScreenKeptOn> {
    if settings.blanking {
        return None;
    }
    let seconds = match std::fs::read_to_string(blank_setting) {
        Ok(text) => text.trim().parse::<u64>().ok(),
        Err(e) => {
            tracing::debug!("cannot read {}: {e}", blank_setting.display());
            None
        }
    };
    if seconds == Some(0) {
        // Nothing blanks: nothing to turn off, nothing to put back.
        return None;
    }
    // Blanking off, and the VESA power-down after it as well.
    let escape = format!("{}\x1b[14;0]", blank_after(0));
    match write_console(console, escape.as_bytes()) {
        Ok(()) => {
            tracing::info!(
                "console blanking turned off on {} while in service",
                console.display()
            );
            Some(ScreenKeptOn {
                console: console.to_path_buf(),
                previous_minutes: seconds.map_or(0, |s| s.div_ceil(60)),
            })
        }
        Err(e) => {
            tracing::warn!(
                "the console blanks the screen{} and the kiosk cannot turn that off on {}: {e}; \
                 add consoleblank=0 to the kernel command line (/boot/firmware/cmdline.txt)",
                seconds.map(|s| format!(" after {s} s")).unwrap_or_default(),
                console.display()
            );
            None
        }
    }
}

fn write_console(console: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tty = std::fs::OpenOptions::new().append(true).open(console)?;
    tty.write_all(bytes)?;
    tty.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn keys(text: &str) -> Vec<String> {
        match Settings::parse(text, Path::new("test.toml")) {
            Err(crate::config::ConfigError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            Ok(_) => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_defaults_turn_nothing_and_keep_the_screen_on() {
        let d = DisplaySettings::default();
        assert_eq!(d.env(), [(ROTATION_ENV, "0".to_string())]);
        assert!(!d.blanking);
        let s = Settings::parse("", Path::new("test.toml")).expect("valid");
        assert_eq!(s.display, d);
    }

    #[test]
    fn rotation_and_output_go_to_slints_variables() {
        let s = Settings::parse(
            "[display]\nrotation = 270\noutput = \"DSI-1\"\nblanking = true\n",
            Path::new("test.toml"),
        )
        .expect("valid");
        assert_eq!(
            s.display.env(),
            [
                (ROTATION_ENV, "270".to_string()),
                (OUTPUT_ENV, "DSI-1".to_string())
            ]
        );
        assert!(s.display.blanking);
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(keys("[display]\nrotation = 45\n"), ["display.rotation"]);
        for output in [
            "", "HDMI", "HDMI A 1", "list", "-1", "HDMI--1", "HDMI-A-", "DSI-1\n",
        ] {
            assert_eq!(
                keys(&format!("[display]\noutput = {output:?}\n")),
                ["display.output"],
                "{output:?}"
            );
        }
        for output in [
            "HDMI-A-1",
            "HDMI-A-2",
            "DSI-1",
            "DP-2",
            "Composite-1",
            "eDP-1",
        ] {
            assert!(
                keys(&format!("[display]\noutput = {output:?}\n")).is_empty(),
                "{output}"
            );
        }
        assert!(
            Settings::parse("[display]\nrotate = 90\n", Path::new("t.toml"))
                .expect_err("unknown key")
                .to_string()
                .contains("rotate")
        );
    }

    #[test]
    fn the_environment_is_left_alone_while_other_threads_run() {
        // The test harness runs this on a thread of its own, beside the main one.
        match apply_env(&DisplaySettings::default()) {
            Err(DisplayError::Threads { threads }) => assert!(threads > 1),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// A fake console (an empty file) and the kernel's blanking setting at `seconds`.
    struct FakeConsole {
        dir: tempfile::TempDir,
        console: std::path::PathBuf,
        setting: std::path::PathBuf,
    }

    impl FakeConsole {
        fn blanking_after(seconds: &str) -> FakeConsole {
            let dir = tempfile::tempdir().expect("temp dir");
            let console = dir.path().join("tty1");
            std::fs::write(&console, b"").expect("console");
            let setting = dir.path().join("consoleblank");
            std::fs::write(&setting, format!("{seconds}\n")).expect("setting");
            FakeConsole {
                dir,
                console,
                setting,
            }
        }

        fn keep_on(&self, settings: &DisplaySettings) -> Option<ScreenKeptOn> {
            keep_console_on(settings, &self.console, &self.setting)
        }

        fn written(&self) -> Vec<u8> {
            std::fs::read(&self.console).expect("read")
        }
    }

    #[test]
    fn blanking_is_turned_off_and_put_back() {
        let fake = FakeConsole::blanking_after("600");
        let kept = fake.keep_on(&DisplaySettings::default()).expect("kept on");
        assert_eq!(fake.written(), b"\x1b[9;0]\x1b[14;0]");
        drop(kept);
        assert_eq!(fake.written(), b"\x1b[9;0]\x1b[14;0]\x1b[9;10]");
    }

    #[test]
    fn nothing_is_written_when_nothing_blanks() {
        let fake = FakeConsole::blanking_after("0");
        assert!(fake.keep_on(&DisplaySettings::default()).is_none());
        assert!(fake.written().is_empty());
    }

    #[test]
    fn a_console_out_of_reach_is_not_fatal() {
        let fake = FakeConsole::blanking_after("600");
        let missing = fake.dir.path().join("no-such-tty");
        assert!(keep_console_on(&DisplaySettings::default(), &missing, &fake.setting).is_none());
        // An unreadable setting: try anyway, and put back "never" afterwards.
        let unreadable = fake.dir.path().join("missing");
        let kept = keep_console_on(&DisplaySettings::default(), &fake.console, &unreadable)
            .expect("kept on");
        drop(kept);
        assert_eq!(fake.written(), b"\x1b[9;0]\x1b[14;0]\x1b[9;0]");
    }

    #[test]
    fn settings_allow_blanking_to_leave_the_console_alone() {
        let fake = FakeConsole::blanking_after("600");
        let allowed = DisplaySettings {
            blanking: true,
            ..DisplaySettings::default()
        };
        assert!(fake.keep_on(&allowed).is_none());
        assert!(fake.written().is_empty());
    }
}
