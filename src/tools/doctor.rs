//! `selfcheck doctor [--json]`: what a technician checks on a terminal, one line each with
//! what to do about it. The exit status is non-zero when something the kiosk needs is wrong;
//! advisory checks (audio, the clock, the display on the simulated board) are reported but
//! do not fail the run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::board::{Board, Hal, PatronCardReaderKind, PrinterKind, RfidReaderKind, ScannerKind};
use crate::clock::ClockState;
use crate::config::Settings;
use crate::rfid::card::CardMemoryRead;
use crate::rfid::sim::SimPad;
use crate::sip2::{Message, SipDateTime};

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// One JSON document on standard output instead of one line per check
    #[arg(long)]
    pub json: bool,
}

/// What the doctor examines: the settings file in effect (none: the built-in demo settings),
/// the board, and the data directory (or why it could not be made).
#[derive(Debug, Clone)]
pub struct Env {
    pub settings: Option<PathBuf>,
    pub board: String,
    pub data_dir: Result<PathBuf, String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when it is not ok (empty when it is).
    pub fix: String,
    /// A failed advisory check does not make the run fail.
    pub advisory: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether every check the kiosk needs passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: String::new(),
            advisory: false,
        }
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: fix.into(),
            advisory: false,
        }
    }

    fn advisory(mut self) -> Self {
        self.advisory = true;
        self
    }
}

/// Bounds of the ILS and broker checks, whatever the settings allow a running kiosk.
const LINK_TIMEOUT_SECS: u32 = 5;
/// Less free space than this in the data directory fails the disk check.
const MIN_FREE_BYTES: u64 = 100 * 1024 * 1024;

/// `selfcheck doctor`: run the checks, print them, and say by the exit status whether the
/// kiosk can run.
pub fn main(args: &DoctorArgs, env: &Env) -> ExitCode {
    let report = run(env);
    if args.json {
        println!("{}", super::report::json(&report));
    } else {
        print!("{}", text(&report));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every check, in the order a technician works through them.
pub fn run(env: &Env) -> Report {
    let mut checks = Vec::new();
    let board = match Board::load(&env.board) {
        Ok(board) => {
            let detail = if board.description.is_empty() {
                board.name.clone()
            } else {
                format!("{}: {}", board.name, board.description)
            };
            checks.push(Check::pass("board", detail));
            Some(board)
        }
        Err(e) => {
            checks.push(Check::fail(
                "board",
                e.to_string(),
                "correct the board file (hw/boards/*.toml are examples) or give a built-in board with --board",
            ));
            None
        }
    };
    if let Some(board) = &board {
        checks.extend(device_checks(board));
        checks.extend(reader_checks(board));
        checks.push(display_check(board));
    }
    checks.push(audio_check());

    let (settings_check, settings) = settings_check(env.settings.as_deref());
    let (ils_check, ils_date) = match &settings {
        Some(settings) => ils_check(settings),
        None => (
            Check::fail(
                "ils",
                "not tried: the settings are not valid",
                "fix the settings first",
            ),
            None,
        ),
    };
    let terminal = settings
        .as_ref()
        .map(|s| s.terminal.clone())
        .unwrap_or_default();
    checks.push(clock_check(
        ClockState::from_system(&terminal),
        ils_date.as_ref(),
    ));
    checks.push(disk_check(&env.data_dir));
    checks.push(settings_check);
    checks.push(ils_check);
    if let Some(settings) = &settings {
        checks.push(broker_check(settings));
    }
    Report {
        ok: checks.iter().all(|c| c.ok || c.advisory),
        checks,
    }
}

/// One line per check: `ok` or `FAIL`, the name, what was found and, for a failure, the fix.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let status = match (c.ok, c.advisory) {
            (true, _) => "ok  ",
            (false, false) => "FAIL",
            (false, true) => "FAIL (advisory)",
        };
        out.push_str(&format!("{status} {}: {}", c.name, c.detail));
        if !c.ok && !c.fix.is_empty() {
            out.push_str(&format!(" -- fix: {}", c.fix));
        }
        out.push('\n');
    }
    out.push_str(if report.ok {
        "the kiosk has what it needs\n"
    } else {
        "the kiosk cannot run as it is: fix the FAIL lines above\n"
    });
    out
}

/// What a device is, for the fix when it is missing.
#[derive(Clone, Copy)]
enum DeviceKind {
    Spi,
    Gpio,
    Serial,
    Input,
    Printer,
}

impl DeviceKind {
    fn missing_fix(self, key: &str) -> String {
        match self {
            DeviceKind::Spi => format!(
                "enable SPI (dtparam=spi=on in /boot/firmware/config.txt, then reboot), or correct {key} in the board file"
            ),
            DeviceKind::Gpio => {
                format!("correct {key} in the board file (ls /dev/gpiochip*)")
            }
            DeviceKind::Serial => format!(
                "plug in the device's USB-serial adapter, or correct {key} in the board file (ls /dev/serial/by-id/)"
            ),
            DeviceKind::Input => format!(
                "plug in the scanner, or correct {key} in the board file (ls /dev/input/by-id/)"
            ),
            DeviceKind::Printer => {
                format!("plug in and switch on the printer, or correct {key} in the board file")
            }
        }
    }
}

/// Whether this user may open `path` for reading and writing.
fn device(key: &str, path: &Path, kind: DeviceKind) -> Check {
    let name = format!("device {key}");
    let shown = path.display();
    match access_rw(path) {
        Ok(()) => Check::pass(name, format!("{shown}: present, read/write")),
        Err(Access::Missing) => {
            Check::fail(name, format!("{shown} is missing"), kind.missing_fix(key))
        }
        Err(Access::Denied) => Check::fail(
            name,
            format!("{shown}: this user may not open it for reading and writing"),
            format!(
                "install hw/udev/60-selfcheck.rules and add the service user to the device's group (ls -l {shown})"
            ),
        ),
        Err(Access::Other(e)) => Check::fail(name, format!("{shown}: {e}"), kind.missing_fix(key)),
    }
}

enum Access {
    Missing,
    Denied,
    Other(String),
}

fn access_rw(path: &Path) -> Result<(), Access> {
    use nix::errno::Errno;
    use nix::unistd::{AccessFlags, access};
    access(path, AccessFlags::R_OK | AccessFlags::W_OK).map_err(|e| match e {
        Errno::ENOENT | Errno::ENOTDIR => Access::Missing,
        Errno::EACCES | Errno::EPERM | Errno::EROFS => Access::Denied,
        other => Access::Other(other.desc().to_string()),
    })
}

/// The devices the board file names, present and accessible.
fn device_checks(board: &Board) -> Vec<Check> {
    let mut out = Vec::new();
    if let (RfidReaderKind::Pn5180, Some(p)) = (board.rfid.reader, &board.rfid.pn5180) {
        out.push(device("rfid.pn5180.spidev", &p.spidev, DeviceKind::Spi));
        match (p.hal, &p.gpiochip) {
            (Hal::LinuxEmbeddedHal, Some(chip)) => {
                out.push(device("rfid.pn5180.gpiochip", chip, DeviceKind::Gpio))
            }
            (Hal::Rppal, _) => out.push(rppal_gpio_check()),
            (Hal::LinuxEmbeddedHal, None) => {}
        }
    }
    if let (RfidReaderKind::Serial3m | RfidReaderKind::Feig, Some(s)) =
        (board.rfid.reader, &board.rfid.serial)
    {
        out.push(device("rfid.serial.port", &s.port, DeviceKind::Serial));
    }
    let card = &board.patron_card;
    if card.reader == PatronCardReaderKind::Mfrc522 {
        if let Some(spidev) = &card.spidev {
            out.push(device("patron_card.spidev", spidev, DeviceKind::Spi));
        }
        if let Some(chip) = &card.gpiochip {
            out.push(device("patron_card.gpiochip", chip, DeviceKind::Gpio));
        }
    }
    match board.scanner.kind {
        ScannerKind::Evdev => out.push(match board.scanner.device.as_deref() {
            None | Some("auto") => keyboard_wedge_check(),
            Some(path) => device("scanner.device", Path::new(path), DeviceKind::Input),
        }),
        ScannerKind::Serial => {
            if let Some(port) = &board.scanner.port {
                out.push(device("scanner.port", port, DeviceKind::Serial));
            }
        }
        ScannerKind::None | ScannerKind::Sim => {}
    }
    if board.printer.kind != PrinterKind::None {
        match &board.printer.device {
            Some(path) => out.push(device("printer.device", path, DeviceKind::Printer)),
            None => out.push(Check::fail(
                "device printer.device",
                "the board names a printer but no device",
                "set printer.device in the board file (e.g. /dev/usb/lp0)",
            )),
        }
    }
    if out.is_empty() {
        out.push(Check::pass(
            "devices",
            "the board opens no device files (simulated pad and scanner)",
        ));
    }
    out
}

/// rppal reaches the Pi's GPIO through /dev/gpiomem (Pi 4 and earlier) or /dev/gpiomem0
/// (Pi 5).
fn rppal_gpio_check() -> Check {
    let candidates = [Path::new("/dev/gpiomem"), Path::new("/dev/gpiomem0")];
    match candidates.iter().find(|p| p.exists()) {
        Some(path) => device("rfid.pn5180 (rppal GPIO)", path, DeviceKind::Gpio),
        None => Check::fail(
            "device rfid.pn5180 (rppal GPIO)",
            "neither /dev/gpiomem nor /dev/gpiomem0 exists: this is not a Raspberry Pi with its GPIO driver",
            "run on a Raspberry Pi OS terminal, or use hal = \"linux-embedded-hal\" with a gpiochip",
        ),
    }
}

#[cfg(target_os = "linux")]
fn keyboard_wedge_check() -> Check {
    use crate::scan::wedge::{BY_ID, pick_keyboard};
    let name = "device scanner.device";
    let entries: Vec<PathBuf> = match std::fs::read_dir(BY_ID) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            return Check::fail(
                name,
                format!("\"auto\": {BY_ID}: {e}"),
                DeviceKind::Input.missing_fix("scanner.device"),
            );
        }
    };
    match pick_keyboard(entries, None) {
        Ok(path) => device("scanner.device (auto)", &path, DeviceKind::Input),
        Err(e) => Check::fail(
            name,
            format!("\"auto\": {e}"),
            "plug in the scanner, or name its device in scanner.device when there are several keyboards",
        ),
    }
}

#[cfg(not(target_os = "linux"))]
fn keyboard_wedge_check() -> Check {
    Check::fail(
        "device scanner.device",
        "keyboard-wedge scanners are read through evdev, on Linux",
        "use a serial scanner on this system",
    )
}

/// Open the board's reader and make it do its work once: an inventory, and a card poll when
/// the board has a patron-card reader.
fn reader_checks(board: &Board) -> Vec<Check> {
    let fix =
        "check the wiring and power of the reader (hw/README.md), and the device checks above";
    let mut reader = match crate::hw::open_tag_reader(board, &SimPad::new()) {
        Ok(reader) => reader,
        Err(e) => return vec![Check::fail("reader", e.to_string(), fix)],
    };
    let mut out = vec![match reader.inventory() {
        Ok(tags) => Check::pass(
            "reader",
            format!("answered an inventory: {} tag(s) on the pad", tags.len()),
        ),
        Err(e) => Check::fail(
            "reader",
            format!("opened, but the inventory failed: {e}"),
            fix,
        ),
    }];
    if board.patron_card.reader != PatronCardReaderKind::None {
        out.push(match reader.poll_patron_card(&CardMemoryRead::None) {
            Ok(card) => Check::pass(
                "patron card reader",
                format!(
                    "answered a card poll: {}",
                    if card.is_some() {
                        "a card is on the reader"
                    } else {
                        "no card"
                    }
                ),
            ),
            Err(e) => Check::fail(
                "patron card reader",
                format!("the card poll failed: {e}"),
                fix,
            ),
        });
    }
    out
}

/// The kiosk draws through KMS/DRM on a Pi; the simulated board opens a desktop window.
fn display_check(board: &Board) -> Check {
    let cards = std::fs::read_dir("/dev/dri")
        .map(|dir| {
            let mut cards: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("card"))
                })
                .collect();
            cards.sort();
            cards
        })
        .unwrap_or_default();
    let check = match cards.first() {
        Some(card) => {
            let mut c = device("display", card, DeviceKind::Gpio);
            c.name = "display".into();
            if !c.ok {
                c.fix = "add the service user to the video and render groups".into();
            }
            c
        }
        None => Check::fail(
            "display",
            "no /dev/dri/card* (KMS/DRM) device",
            "enable the display driver (dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt) and connect the screen",
        ),
    };
    if board.rfid.reader == RfidReaderKind::Sim {
        // The simulated board runs in a desktop window, or headless in tests.
        check.advisory()
    } else {
        check
    }
}

fn audio_check() -> Check {
    let playback = std::fs::read_dir("/dev/snd")
        .map(|dir| {
            dir.filter_map(|e| e.ok()).any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("pcmC") && n.ends_with('p')
            })
        })
        .unwrap_or(false);
    let built = if cfg!(feature = "sound") {
        ""
    } else {
        " (this build has no sound feature: the cues are silent anyway)"
    };
    let check = if playback {
        Check::pass("audio", format!("a playback device is in /dev/snd{built}"))
    } else {
        Check::fail(
            "audio",
            format!("no playback device in /dev/snd: the audible cues are silent{built}"),
            "connect a speaker (HDMI or USB audio) and add the service user to the audio group",
        )
    };
    check.advisory()
}

fn clock_check(mut clock: ClockState, ils_date: Option<&SipDateTime>) -> Check {
    if let Some(date) = ils_date {
        clock.observe_ils_date_now(date);
    }
    let detail = clock.reason();
    let check = if clock.is_synchronised() {
        Check::pass("clock", format!("synchronised: {detail}"))
    } else {
        Check::fail(
            "clock",
            format!("unsure, offline loans are refused: {detail}"),
            "enable NTP (timedatectl set-ntp true) and let it reach a time server, or set terminal.clock_check = false on a terminal with a battery-backed clock",
        )
    };
    // The kiosk lends online with an unsure clock; only offline loans wait for it.
    check.advisory()
}

fn disk_check(data_dir: &Result<PathBuf, String>) -> Check {
    let dir = match data_dir {
        Ok(dir) => dir,
        Err(e) => {
            return Check::fail(
                "disk",
                e.clone(),
                "give --data-dir a directory the service user may create and write",
            );
        }
    };
    let shown = dir.display();
    if let Err(Access::Denied) = access_rw(dir) {
        return Check::fail(
            "disk",
            format!("{shown}: this user may not write the data directory"),
            format!("chown the data directory to the service user (chown -R selfcheck {shown})"),
        );
    }
    match nix::sys::statvfs::statvfs(dir.as_path()) {
        Ok(fs) => {
            let free = fs.blocks_available().saturating_mul(fs.fragment_size());
            let mib = free / (1024 * 1024);
            if free < MIN_FREE_BYTES {
                Check::fail(
                    "disk",
                    format!("{shown}: {mib} MiB free"),
                    format!(
                        "free space on that file system (the journal and cache need at least {} MiB)",
                        MIN_FREE_BYTES / (1024 * 1024)
                    ),
                )
            } else {
                Check::pass("disk", format!("{shown}: {mib} MiB free"))
            }
        }
        Err(e) => Check::fail(
            "disk",
            format!("{shown}: {}", e.desc()),
            "check the data directory",
        ),
    }
}

/// The settings parse and validate, and a file holding credentials is private.
fn settings_check(path: Option<&Path>) -> (Check, Option<Settings>) {
    let Some(path) = path else {
        return (
            Check::pass("settings", "no settings file: the built-in demo settings"),
            Some(Settings::default()),
        );
    };
    let settings = match Settings::load(path) {
        Ok(settings) => settings,
        Err(e) => {
            return (
                Check::fail(
                    "settings",
                    e.to_string(),
                    format!(
                        "correct the file, then check it with `selfcheck config check {}`",
                        path.display()
                    ),
                ),
                None,
            );
        }
    };
    if !settings.has_secrets() {
        let check = Check::pass("settings", format!("{}: valid", path.display()));
        return (check, Some(settings));
    }
    let check = match private(path) {
        Ok(true) => Check::pass(
            "settings",
            format!(
                "{}: valid, holds credentials, readable by its owner only",
                path.display()
            ),
        ),
        Ok(false) => Check::fail(
            "settings",
            format!(
                "{}: valid, but it holds credentials and other users can read it",
                path.display()
            ),
            format!("chmod 600 {} (owned by the service user)", path.display()),
        ),
        Err(e) => Check::fail(
            "settings",
            format!("{}: {e}", path.display()),
            "check the file",
        ),
    };
    (check, Some(settings))
}

fn private(path: &Path) -> Result<bool, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    Ok(meta.permissions().mode() & 0o077 == 0)
}

/// Login and SC status (99 -> 98) with the settings' link, bounded; the demo ILS is started
/// for the occasion as `selfcheck sip2` does. The 98's date goes to the clock check.
fn ils_check(settings: &Settings) -> (Check, Option<SipDateTime>) {
    use super::sip2::{Exchange, LinkOptions, run};
    let mut s = settings.clone();
    s.ils.connect_timeout_secs = s.ils.connect_timeout_secs.min(LINK_TIMEOUT_SECS);
    s.ils.request_timeout_secs = s.ils.request_timeout_secs.min(LINK_TIMEOUT_SECS);
    s.ils.retries = 0;
    let fix = "check ils.server, the network and the firewall, and the SIP2 login (ils.user, ils.password) with the library system's staff";
    let where_ = if s.ils.is_demo() {
        "the demo ILS (started for this check)".to_string()
    } else {
        s.ils.server.clone()
    };
    let login = if s.ils.user.is_empty() {
        "no login configured (ils.user is empty)"
    } else {
        "logged in"
    };
    match run(&s, &LinkOptions::default(), &Exchange::Status) {
        Ok(outcome) => match outcome.response {
            Message::AcsStatus(acs) if acs.online_status => (
                Check::pass(
                    "ils",
                    format!("{where_}: {login}, SC status answered, online"),
                ),
                acs.date_time_sync,
            ),
            Message::AcsStatus(acs) => (
                Check::fail(
                    "ils",
                    format!("{where_}: answered, but says it is offline"),
                    "ask the library system's staff why the SIP2 service is offline",
                ),
                acs.date_time_sync,
            ),
            other => (
                Check::fail(
                    "ils",
                    format!("{where_}: answered SC status with message {}", other.id()),
                    fix,
                ),
                None,
            ),
        },
        Err(e) => (Check::fail("ils", format!("{where_}: {e}"), fix), None),
    }
}

/// The fleet's broker: an MQTT login with the kiosk's own settings (TLS, CA, user and
/// password) under a client id of its own, so a running kiosk is not knocked off.
fn broker_check(settings: &Settings) -> Check {
    let t = &settings.telemetry;
    if !t.enabled {
        return Check::pass("broker", "telemetry is off");
    }
    let fix = "check telemetry.broker, the network, the broker's listener and the kiosk's \
               broker user (telemetry.user, telemetry.password, telemetry.ca_file)";
    let broker = match t.broker_addr() {
        Ok(broker) => broker,
        Err(e) => return Check::fail("broker", e, fix),
    };
    let embedded = broker == crate::fleet::settings::BrokerAddr::Embedded;
    let options = crate::fleet::link::LinkOptions {
        client_id: format!(
            "{}-doctor",
            crate::fleet::settings::terminal_id(&settings.terminal.id)
        ),
        broker,
        user: t.user.clone(),
        password: t.password.clone(),
        ca_file: t.ca_file.clone(),
        keep_alive: Duration::from_secs(30),
        will: None,
    };
    let timeout = Duration::from_secs(u64::from(LINK_TIMEOUT_SECS));
    match mqtt_login(&options, timeout) {
        Ok(()) => Check::pass("broker", format!("{}: MQTT login accepted", t.broker)),
        // The embedded broker lives inside the running kiosk: not reachable while it is stopped.
        Err(e) if embedded => Check::fail(
            "broker",
            format!("the embedded broker ({}): {e}", crate::fleet::settings::EMBEDDED_ADDR),
            "start the kiosk (it runs the embedded broker), or point telemetry.broker at the site's broker",
        ),
        Err(e) => Check::fail("broker", format!("{}: {e}", t.broker), fix),
    }
    .advisory()
}

/// Connect, wait for the broker's CONNACK (or the first failure), and say goodbye.
fn mqtt_login(options: &crate::fleet::link::LinkOptions, timeout: Duration) -> Result<(), String> {
    use crate::fleet::link::{Link, LinkEvent};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (link, mut events) = Link::open(options)?;
        let answer = tokio::time::timeout(timeout, async {
            loop {
                match events.recv().await {
                    Some(LinkEvent::Connected) => return Ok(()),
                    Some(LinkEvent::Disconnected(why)) => return Err(why),
                    Some(_) => continue,
                    None => return Err("the connection ended".to_string()),
                }
            }
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", timeout.as_secs())));
        link.disconnect();
        answer
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_failures_with_their_fix() {
        let report = Report {
            ok: false,
            checks: vec![
                Check::pass("board", "sim"),
                Check::fail("device x", "/dev/x is missing", "plug it in"),
                Check::fail("audio", "none", "speaker").advisory(),
            ],
        };
        let out = text(&report);
        assert!(out.contains("ok   board: sim\n"), "{out}");
        assert!(
            out.contains("FAIL device x: /dev/x is missing -- fix: plug it in\n"),
            "{out}"
        );
        assert!(out.contains("FAIL (advisory) audio"), "{out}");
        assert!(out.ends_with("fix the FAIL lines above\n"), "{out}");
    }

    #[test]
    fn missing_device_is_named() {
        let c = device(
            "rfid.pn5180.spidev",
            Path::new("/nonexistent/spidev9.9"),
            DeviceKind::Spi,
        );
        assert!(!c.ok);
        assert!(
            c.detail.contains("/nonexistent/spidev9.9 is missing"),
            "{}",
            c.detail
        );
        assert!(c.fix.contains("dtparam=spi=on"), "{}", c.fix);
        assert!(device("tmp", &std::env::temp_dir(), DeviceKind::Gpio).ok);
    }

    #[test]
    fn settings_with_credentials_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[ils]\nserver = \"ils:6001\"\nuser = \"k\"\npassword = \"pw\"\n",
        )
        .expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (check, settings) = settings_check(Some(&path));
        assert!(!check.ok && check.fix.contains("chmod 600"), "{check:?}");
        assert!(settings.is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(settings_check(Some(&path)).0.ok);
        std::fs::write(&path, "[ils]\nserver = \"nowhere\"\n").expect("write");
        let (check, settings) = settings_check(Some(&path));
        assert!(
            !check.ok && check.detail.contains("ils.server"),
            "{check:?}"
        );
        assert!(settings.is_none());
    }

    #[test]
    fn broker_login_is_tried_and_a_closed_port_is_named() {
        let mut s = Settings::default();
        assert!(broker_check(&s).ok, "telemetry off");
        s.telemetry.enabled = true;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        s.telemetry.broker = format!("127.0.0.1:{port}");
        let c = broker_check(&s);
        assert!(!c.ok && c.advisory, "{c:?}");
        assert!(c.detail.contains(&s.telemetry.broker), "{c:?}");

        let broker = crate::fleet::broker::start_embedded("127.0.0.1:0", Some(("kiosk", "s3cret")))
            .expect("broker");
        s.telemetry.broker = format!("mqtt://{}", broker.local_addr());
        s.telemetry.user = "kiosk".into();
        s.telemetry.password = "wrong".into();
        let c = broker_check(&s);
        assert!(!c.ok, "a wrong password is not a login: {c:?}");
        s.telemetry.password = "s3cret".into();
        let c = broker_check(&s);
        assert!(c.ok && c.detail.contains("login accepted"), "{c:?}");
    }
}
