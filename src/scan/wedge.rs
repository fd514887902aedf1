//! USB keyboard-wedge scanners: the scanner types the code as key presses and ends it with
//! Enter. The device is grabbed so the keystrokes never reach the UI.
//!
//! [`KeyAssembler`] turns key events into codes without touching a device; [`EvdevWedge`]
//! feeds it from `/dev/input`.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use evdev::{Device, EventSummary, KeyCode};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{DEFAULT_GAP, MAX_CODE_LEN, Pending, ScanError, Scanner};

/// Key values as evdev reports them.
const RELEASE: i32 = 0;
const PRESS: i32 = 1;

/// US layout: key, unshifted, shifted. Scanners are set to a US layout almost everywhere,
/// and the keypad keys cover scanners in "keypad emulation" mode.
const KEYMAP: &[(KeyCode, char, char)] = &[
    (KeyCode::KEY_1, '1', '!'),
    (KeyCode::KEY_2, '2', '@'),
    (KeyCode::KEY_3, '3', '#'),
    (KeyCode::KEY_4, '4', '$'),
    (KeyCode::KEY_5, '5', '%'),
    (KeyCode::KEY_6, '6', '^'),
    (KeyCode::KEY_7, '7', '&'),
    (KeyCode::KEY_8, '8', '*'),
    (KeyCode::KEY_9, '9', '('),
    (KeyCode::KEY_0, '0', ')'),
    (KeyCode::KEY_A, 'a', 'A'),
    (KeyCode::KEY_B, 'b', 'B'),
    (KeyCode::KEY_C, 'c', 'C'),
    (KeyCode::KEY_D, 'd', 'D'),
    (KeyCode::KEY_E, 'e', 'E'),
    (KeyCode::KEY_F, 'f', 'F'),
    (KeyCode::KEY_G, 'g', 'G'),
    (KeyCode::KEY_H, 'h', 'H'),
    (KeyCode::KEY_I, 'i', 'I'),
    (KeyCode::KEY_J, 'j', 'J'),
    (KeyCode::KEY_K, 'k', 'K'),
    (KeyCode::KEY_L, 'l', 'L'),
    (KeyCode::KEY_M, 'm', 'M'),
    (KeyCode::KEY_N, 'n', 'N'),
    (KeyCode::KEY_O, 'o', 'O'),
    (KeyCode::KEY_P, 'p', 'P'),
    (KeyCode::KEY_Q, 'q', 'Q'),
    (KeyCode::KEY_R, 'r', 'R'),
    (KeyCode::KEY_S, 's', 'S'),
    (KeyCode::KEY_T, 't', 'T'),
    (KeyCode::KEY_U, 'u', 'U'),
    (KeyCode::KEY_V, 'v', 'V'),
    (KeyCode::KEY_W, 'w', 'W'),
    (KeyCode::KEY_X, 'x', 'X'),
    (KeyCode::KEY_Y, 'y', 'Y'),
    (KeyCode::KEY_Z, 'z', 'Z'),
    (KeyCode::KEY_SPACE, ' ', ' '),
    (KeyCode::KEY_MINUS, '-', '_'),
    (KeyCode::KEY_EQUAL, '=', '+'),
    (KeyCode::KEY_LEFTBRACE, '[', '{'),
    (KeyCode::KEY_RIGHTBRACE, ']', '}'),
    (KeyCode::KEY_BACKSLASH, '\\', '|'),
    (KeyCode::KEY_SEMICOLON, ';', ':'),
    (KeyCode::KEY_APOSTROPHE, '\'', '"'),
    (KeyCode::KEY_GRAVE, '`', '~'),
    (KeyCode::KEY_COMMA, ',', '<'),
    (KeyCode::KEY_DOT, '.', '>'),
    (KeyCode::KEY_SLASH, '/', '?'),
    (KeyCode::KEY_KP0, '0', '0'),
    (KeyCode::KEY_KP1, '1', '1'),
    (KeyCode::KEY_KP2, '2', '2'),
    (KeyCode::KEY_KP3, '3', '3'),
    (KeyCode::KEY_KP4, '4', '4'),
    (KeyCode::KEY_KP5, '5', '5'),
    (KeyCode::KEY_KP6, '6', '6'),
    (KeyCode::KEY_KP7, '7', '7'),
    (KeyCode::KEY_KP8, '8', '8'),
    (KeyCode::KEY_KP9, '9', '9'),
    (KeyCode::KEY_KPMINUS, '-', '-'),
    (KeyCode::KEY_KPPLUS, '+', '+'),
    (KeyCode::KEY_KPDOT, '.', '.'),
    (KeyCode::KEY_KPASTERISK, '*', '*'),
    (KeyCode::KEY_KPSLASH, '/', '/'),
];

/// Modifiers and lock keys carry no character and are not counted as unknown.
const SILENT: &[KeyCode] = &[
    KeyCode::KEY_LEFTCTRL,
    KeyCode::KEY_RIGHTCTRL,
    KeyCode::KEY_LEFTALT,
    KeyCode::KEY_RIGHTALT,
    KeyCode::KEY_LEFTMETA,
    KeyCode::KEY_RIGHTMETA,
    KeyCode::KEY_CAPSLOCK,
    KeyCode::KEY_NUMLOCK,
    KeyCode::KEY_SCROLLLOCK,
];

/// The character `key` types on a US layout.
pub fn key_char(key: KeyCode, shift: bool) -> Option<char> {
    KEYMAP
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, plain, shifted)| if shift { shifted } else { plain })
}

/// Key events in, codes out. Pure: the caller supplies the time of each event.
#[derive(Debug)]
pub struct KeyAssembler {
    pending: Pending,
    left_shift: bool,
    right_shift: bool,
    unmapped: usize,
}

impl Default for KeyAssembler {
    fn default() -> Self {
        Self::new(DEFAULT_GAP, MAX_CODE_LEN)
    }
}

impl KeyAssembler {
    pub fn new(gap: Duration, max_len: usize) -> Self {
        Self {
            pending: Pending::new(gap, max_len),
            left_shift: false,
            right_shift: false,
            unmapped: 0,
        }
    }

    /// One key event (`value` 1 press, 0 release, 2 autorepeat, as evdev reports); returns a
    /// code, or a bad scan, when the event was Enter.
    pub fn feed(
        &mut self,
        key: KeyCode,
        value: i32,
        now: Instant,
    ) -> Option<Result<String, ScanError>> {
        match key {
            KeyCode::KEY_LEFTSHIFT => self.left_shift = value != RELEASE,
            KeyCode::KEY_RIGHTSHIFT => self.right_shift = value != RELEASE,
            // A scanner never holds a key: repeats are a stuck key and releases say nothing.
            _ if value != PRESS => {}
            KeyCode::KEY_ENTER | KeyCode::KEY_KPENTER => {
                self.expire(now);
                return self.finish();
            }
            _ if SILENT.contains(&key) => {}
            _ => {
                if self.pending.touch(now) {
                    self.drop_partial();
                }
                match key_char(key, self.left_shift || self.right_shift) {
                    Some(c) => self.pending.push(c),
                    None => self.unmapped += 1,
                }
            }
        }
        None
    }

    /// Drops a partial code whose last key is older than the gap.
    pub fn expire(&mut self, now: Instant) {
        if self.pending.is_stale(now) {
            self.drop_partial();
        }
    }

    fn drop_partial(&mut self) {
        if !self.pending.is_empty() || self.unmapped > 0 {
            tracing::debug!(partial = %self.pending.text, "scanner: incomplete code dropped");
        }
        self.pending.clear();
        self.unmapped = 0;
    }

    fn finish(&mut self) -> Option<Result<String, ScanError>> {
        let unmapped = std::mem::take(&mut self.unmapped);
        self.pending.last = None;
        if self.pending.is_empty() && unmapped == 0 {
            return None;
        }
        let text = self.pending.take();
        Some(match (text, unmapped) {
            (Ok(partial), 1..) => Err(ScanError::UnmappedKeys {
                count: unmapped,
                partial,
            }),
            (result, _) => result,
        })
    }
}

/// A keyboard-wedge scanner read through evdev, grabbed exclusively.
pub struct EvdevWedge {
    device: Device,
    path: PathBuf,
    keys: KeyAssembler,
    ready: VecDeque<Result<String, ScanError>>,
}

impl std::fmt::Debug for EvdevWedge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvdevWedge")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Where udev names keyboards (and keyboard-wedge scanners) by their USB identity.
pub const BY_ID: &str = "/dev/input/by-id";

impl EvdevWedge {
    /// Opens and grabs the event device at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScanError> {
        let path = path.as_ref().to_path_buf();
        let mut device = Device::open(&path)?;
        device.grab()?;
        device.set_nonblocking(true)?;
        tracing::info!(path = %path.display(), name = device.name().unwrap_or("?"), "scanner grabbed");
        Ok(Self {
            device,
            path,
            keys: KeyAssembler::default(),
            ready: VecDeque::new(),
        })
    }

    /// Opens the keyboard under `/dev/input/by-id/*-event-kbd` whose name contains `hint`
    /// (any case), or the only one there is.
    pub fn find(hint: Option<&str>) -> Result<Self, ScanError> {
        let candidates: Vec<PathBuf> = std::fs::read_dir(BY_ID)
            .map_err(|e| ScanError::NotFound(format!("{BY_ID}: {e}")))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        Self::open(pick_keyboard(candidates, hint)?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the timing and length rules (the defaults suit USB scanners).
    pub fn with_assembler(mut self, keys: KeyAssembler) -> Self {
        self.keys = keys;
        self
    }

    fn drain_events(&mut self) -> Result<(), ScanError> {
        let events = match self.device.fetch_events() {
            Ok(events) => events,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let now = Instant::now();
        for event in events {
            if let EventSummary::Key(_, key, value) = event.destructure()
                && let Some(code) = self.keys.feed(key, value, now)
            {
                self.ready.push_back(code);
            }
        }
        Ok(())
    }
}

impl Scanner for EvdevWedge {
    fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, ScanError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = self.ready.pop_front() {
                return code.map(Some);
            }
            self.drain_events()?;
            if !self.ready.is_empty() {
                continue;
            }
            let now = Instant::now();
            self.keys.expire(now);
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Ok(None);
            }
            let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.device.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, wait) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(std::io::Error::from(e).into()),
            }
        }
    }
}

/// Chooses among `/dev/input/by-id` entries: keyboards only, then the one matching `hint`,
/// or the only keyboard.
pub fn pick_keyboard(entries: Vec<PathBuf>, hint: Option<&str>) -> Result<PathBuf, ScanError> {
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut keyboards: Vec<PathBuf> = entries
        .into_iter()
        .filter(|p| name(p).ends_with("-event-kbd"))
        .collect();
    keyboards.sort();
    if let Some(hint) = hint {
        let hint = hint.to_lowercase();
        keyboards.retain(|p| name(p).to_lowercase().contains(&hint));
    }
    match keyboards.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ScanError::NotFound(format!(
            "no keyboard device{} under {BY_ID}",
            hint.map(|h| format!(" matching {h:?}")).unwrap_or_default()
        ))),
        several => Err(ScanError::NotFound(format!(
            "several keyboards, name the scanner: {}",
            several.iter().map(name).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GAP: Duration = DEFAULT_GAP;

    /// Presses and releases each key as a scanner does, 2 ms apart, with Shift around
    /// upper-case letters and shifted punctuation.
    fn type_keys(
        keys: &mut KeyAssembler,
        start: Instant,
        strokes: &[(KeyCode, bool)],
    ) -> Vec<Result<String, ScanError>> {
        let mut out = Vec::new();
        let mut t = start;
        let mut step = |key, value| {
            t += Duration::from_millis(2);
            if let Some(r) = keys.feed(key, value, t) {
                out.push(r);
            }
        };
        for &(key, shift) in strokes {
            if shift {
                step(KeyCode::KEY_LEFTSHIFT, PRESS);
            }
            step(key, PRESS);
            step(key, RELEASE);
            if shift {
                step(KeyCode::KEY_LEFTSHIFT, RELEASE);
            }
        }
        out
    }

    fn strokes_for(text: &str) -> Vec<(KeyCode, bool)> {
        text.chars()
            .filter_map(|c| {
                KEYMAP.iter().find_map(|&(k, plain, shifted)| {
                    (plain == c)
                        .then_some((k, false))
                        .or((shifted == c).then_some((k, true)))
                })
            })
            .collect()
    }

    fn ok_codes(results: Vec<Result<String, ScanError>>) -> Vec<String> {
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| format!("error: {e}")))
            .collect()
    }

    #[test]
    fn digits_then_enter() {
        let mut keys = KeyAssembler::default();
        let mut strokes = strokes_for("33191000105864");
        strokes.push((KeyCode::KEY_ENTER, false));
        let got = type_keys(&mut keys, Instant::now(), &strokes);
        assert_eq!(ok_codes(got), ["33191000105864"]);
    }

    #[test]
    fn shift_gives_capitals_and_punctuation() {
        let mut keys = KeyAssembler::default();
        let mut strokes = strokes_for("Ab-9_Z:x\"");
        strokes.push((KeyCode::KEY_KPENTER, false));
        let got = type_keys(&mut keys, Instant::now(), &strokes);
        assert_eq!(ok_codes(got), ["Ab-9_Z:x\""]);
        // Right shift works too, and its release ends the shifted run.
        let t = Instant::now();
        let events = [
            (KeyCode::KEY_RIGHTSHIFT, PRESS),
            (KeyCode::KEY_A, PRESS),
            (KeyCode::KEY_RIGHTSHIFT, RELEASE),
            (KeyCode::KEY_A, PRESS),
            (KeyCode::KEY_ENTER, PRESS),
        ];
        let got: Vec<_> = events
            .iter()
            .filter_map(|&(k, v)| keys.feed(k, v, t))
            .collect();
        assert_eq!(ok_codes(got), ["Aa"]);
    }

    #[test]
    fn repeats_and_releases_are_ignored() {
        let mut keys = KeyAssembler::default();
        let t = Instant::now();
        let events = [
            (KeyCode::KEY_1, PRESS),
            (KeyCode::KEY_1, 2),
            (KeyCode::KEY_1, 2),
            (KeyCode::KEY_1, RELEASE),
            (KeyCode::KEY_2, PRESS),
            (KeyCode::KEY_LEFTCTRL, PRESS),
            (KeyCode::KEY_3, PRESS),
            (KeyCode::KEY_ENTER, RELEASE),
            (KeyCode::KEY_ENTER, PRESS),
        ];
        let got: Vec<_> = events
            .iter()
            .filter_map(|&(k, v)| keys.feed(k, v, t))
            .collect();
        assert_eq!(ok_codes(got), ["123"]);
    }

    #[test]
    fn unknown_keys_are_counted_and_reported() {
        let mut keys = KeyAssembler::default();
        let t = Instant::now();
        let events = [
            (KeyCode::KEY_4, PRESS),
            (KeyCode::KEY_F1, PRESS),
            (KeyCode::KEY_2, PRESS),
            (KeyCode::KEY_TAB, PRESS),
            (KeyCode::KEY_ENTER, PRESS),
            (KeyCode::KEY_7, PRESS),
            (KeyCode::KEY_ENTER, PRESS),
        ];
        let got: Vec<_> = events
            .iter()
            .filter_map(|&(k, v)| keys.feed(k, v, t))
            .collect();
        assert!(matches!(
            got.as_slice(),
            [Err(ScanError::UnmappedKeys { count: 2, partial }), Ok(next)] if partial == "42" && next == "7"
        ));
    }

    #[test]
    fn a_long_pause_drops_the_partial_code() {
        let mut keys = KeyAssembler::default();
        let t0 = Instant::now();
        assert!(keys.feed(KeyCode::KEY_9, PRESS, t0).is_none());
        assert!(keys.feed(KeyCode::KEY_8, PRESS, t0 + GAP).is_none());
        let t1 = t0 + GAP * 3;
        assert!(keys.feed(KeyCode::KEY_1, PRESS, t1).is_none());
        let got = keys.feed(KeyCode::KEY_ENTER, PRESS, t1 + GAP / 2);
        assert_eq!(got.map(|r| r.ok()), Some(Some("1".to_owned())));
        // Enter after a long pause ends nothing: the partial code was stale.
        keys.feed(KeyCode::KEY_5, PRESS, t1);
        assert!(keys.feed(KeyCode::KEY_ENTER, PRESS, t1 + GAP * 2).is_none());
        // Each pause starts over, not only the first.
        let t2 = t1 + GAP * 10;
        for (i, key) in [KeyCode::KEY_1, KeyCode::KEY_2, KeyCode::KEY_3]
            .into_iter()
            .enumerate()
        {
            keys.feed(key, PRESS, t2 + GAP * 3 * i as u32);
        }
        let got = keys.feed(KeyCode::KEY_ENTER, PRESS, t2 + GAP * 6);
        assert_eq!(got.map(|r| r.ok()), Some(Some("3".to_owned())));
        // expire() does the same between events.
        keys.feed(KeyCode::KEY_5, PRESS, t1);
        keys.expire(t1 + GAP * 2);
        assert!(keys.feed(KeyCode::KEY_ENTER, PRESS, t1 + GAP * 2).is_none());
    }

    #[test]
    fn bare_enter_is_nothing_and_overlong_is_an_error() {
        let mut keys = KeyAssembler::new(GAP, 4);
        let t = Instant::now();
        assert!(keys.feed(KeyCode::KEY_ENTER, PRESS, t).is_none());
        for _ in 0..5 {
            keys.feed(KeyCode::KEY_0, PRESS, t);
        }
        let got = keys.feed(KeyCode::KEY_ENTER, PRESS, t);
        assert!(matches!(got, Some(Err(ScanError::TooLong { max: 4 }))));
        keys.feed(KeyCode::KEY_0, PRESS, t);
        let got = keys.feed(KeyCode::KEY_ENTER, PRESS, t);
        assert_eq!(got.map(|r| r.ok()), Some(Some("0".to_owned())));
    }

    #[test]
    fn picks_the_scanner_keyboard() {
        let entries: Vec<PathBuf> = [
            "usb-Logitech_USB_Keyboard-event-kbd",
            "usb-Honeywell_Imaging_Scanner-event-kbd",
            "usb-Honeywell_Imaging_Scanner-event-if01",
            "usb-Mouse-event-mouse",
        ]
        .iter()
        .map(|n| Path::new(BY_ID).join(n))
        .collect();
        let picked = pick_keyboard(entries.clone(), Some("honeywell"));
        assert_eq!(
            picked.ok(),
            Some(Path::new(BY_ID).join("usb-Honeywell_Imaging_Scanner-event-kbd"))
        );
        assert!(
            matches!(pick_keyboard(entries.clone(), None), Err(ScanError::NotFound(m)) if m.contains("several"))
        );
        assert!(matches!(
            pick_keyboard(entries, Some("zebra")),
            Err(ScanError::NotFound(_))
        ));
        let one = vec![Path::new(BY_ID).join("usb-Scanner-event-kbd")];
        assert!(pick_keyboard(one, None).is_ok());
    }

    #[test]
    fn opening_a_missing_device_is_an_io_error() {
        let missing = Path::new(BY_ID).join("no-such-scanner-event-kbd");
        assert!(matches!(EvdevWedge::open(missing), Err(ScanError::Io(_))));
    }

    const SEED: u8 = 7;

    fn phone_token() -> String {
        crate::phone::testing::token(SEED, "LIB-ROMA-00001234567")
    }

    /// Types `strokes` then Enter into a fresh assembler.
    fn scan(mut strokes: Vec<(KeyCode, bool)>) -> Vec<String> {
        strokes.push((KeyCode::KEY_ENTER, false));
        ok_codes(type_keys(
            &mut KeyAssembler::default(),
            Instant::now(),
            &strokes,
        ))
    }

    #[test]
    fn every_base45_character_has_a_key() {
        let alphabet = crate::phone::BASE45_ALPHABET;
        let strokes = strokes_for(alphabet);
        assert_eq!(strokes.len(), alphabet.len(), "a character has no key");
        // Shift for the letters and for $ % * + :, not for digits, space, - . /
        let shifted: String = alphabet
            .chars()
            .zip(&strokes)
            .filter(|(_, (_, shift))| *shift)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(shifted, "ABCDEFGHIJKLMNOPQRSTUVWXYZ$%*+:");
        assert_eq!(scan(strokes), [alphabet]);
        // Scanners in keypad mode send these from the keypad, unshifted.
        let mut keys = KeyAssembler::default();
        let t = Instant::now();
        let keypad = [
            KeyCode::KEY_KPASTERISK,
            KeyCode::KEY_KPPLUS,
            KeyCode::KEY_KPMINUS,
            KeyCode::KEY_KPDOT,
            KeyCode::KEY_KPSLASH,
            KeyCode::KEY_KP0,
            KeyCode::KEY_KPENTER,
        ];
        let got: Vec<_> = keypad
            .iter()
            .filter_map(|&k| keys.feed(k, PRESS, t))
            .collect();
        assert_eq!(ok_codes(got), ["*+-./0"]);
    }

    #[test]
    fn a_phone_token_typed_by_a_wedge_scanner_arrives_whole() {
        let token = phone_token();
        assert!(token.len() > crate::scan::symbology::MAX_LEN && token.contains(' '));
        let got = scan(strokes_for(&token));
        assert_eq!(got, [token]);
        assert!(crate::phone::testing::accepts(SEED, &got[0]));
    }

    #[test]
    fn shift_held_over_a_run_of_characters_works_too() {
        // Some scanners press Shift once for a run of shifted characters.
        let token = phone_token();
        let mut keys = KeyAssembler::default();
        let mut t = Instant::now();
        let mut shift_down = false;
        let mut got = Vec::new();
        for (key, shift) in strokes_for(&token)
            .into_iter()
            .chain([(KeyCode::KEY_ENTER, false)])
        {
            t += Duration::from_millis(1);
            if shift != shift_down {
                let value = if shift { PRESS } else { RELEASE };
                keys.feed(KeyCode::KEY_RIGHTSHIFT, value, t);
                shift_down = shift;
            }
            got.extend(keys.feed(key, PRESS, t));
            got.extend(keys.feed(key, RELEASE, t));
        }
        assert_eq!(ok_codes(got), [token]);
    }

    #[test]
    fn a_token_typed_for_a_caps_lock_host_still_verifies() {
        // A scanner set up for a host with Caps Lock on types letters without Shift: they
        // arrive in lower case, and the token reader folds them back.
        let token = phone_token();
        let strokes = strokes_for(&token)
            .into_iter()
            .zip(token.chars())
            .map(|((k, shift), c)| (k, shift && !c.is_ascii_alphabetic()))
            .collect();
        let got = scan(strokes);
        assert_eq!(got, [token.to_ascii_lowercase()]);
        assert!(crate::phone::testing::accepts(SEED, &got[0]));
    }

    proptest! {
        #[test]
        fn typed_text_comes_back(text in "[ -~]{1,40}") {
            let mut keys = KeyAssembler::default();
            let mut strokes = strokes_for(&text);
            strokes.push((KeyCode::KEY_ENTER, false));
            let got = ok_codes(type_keys(&mut keys, Instant::now(), &strokes));
            // The US map covers every printable ASCII character.
            prop_assert_eq!(got, vec![text]);
        }

        #[test]
        fn any_key_events_never_panic(events in prop::collection::vec((0u16..0x300, 0i32..4, 0u64..500), 0..200)) {
            let mut keys = KeyAssembler::new(GAP, 16);
            let start = Instant::now();
            for (code, value, ms) in events {
                if let Some(Ok(code)) = keys.feed(KeyCode::new(code), value, start + Duration::from_millis(ms)) {
                    prop_assert!(code.len() <= 16);
                }
            }
        }
    }
}
