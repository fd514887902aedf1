//! Barcode input: the scanner port, its adapters (keyboard wedge, serial, simulated) and
//! what a scanned string means (`symbology`).
//!
//! A scanner is blocking and lives on its own thread: the kiosk calls
//! [`Scanner::next_code`] in a loop with a short timeout, so that it can notice shutdown
//! between scans, and forwards each code to the core.

use std::io;
use std::time::{Duration, Instant};

pub mod serial;
pub mod sim;
pub mod symbology;
#[cfg(target_os = "linux")]
pub mod wedge;

pub use symbology::{Barcode, BarcodeError, BarcodeKind, classify, describe};

/// Silence longer than this between two characters means the partial code was noise (a
/// half-read label, a key bumped on a keyboard) and is dropped. Scanners send a whole code
/// within a few tens of milliseconds.
pub const DEFAULT_GAP: Duration = Duration::from_millis(200);
/// Longest code a scanner adapter passes on: the classifier's longest, a phone token.
pub const MAX_CODE_LEN: usize = if crate::phone::MAX_TOKEN_LEN > symbology::MAX_LEN {
    crate::phone::MAX_TOKEN_LEN
} else {
    symbology::MAX_LEN
};

/// A source of scanned codes.
pub trait Scanner {
    /// Waits up to `timeout` for the next complete code. `Ok(None)`: nothing arrived in
    /// time. An error for which [`ScanError::is_bad_scan`] holds concerns one scan only and
    /// the scanner goes on; any other means the scanner is gone.
    fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, ScanError>;
}

impl<S: Scanner + ?Sized> Scanner for Box<S> {
    fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, ScanError> {
        (**self).next_code(timeout)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{count} key(s) of the scan could not be read as characters (read: {partial:?})")]
    UnmappedKeys { count: usize, partial: String },
    #[error("byte {position} of the scan is 0x{byte:02X}, not printable ASCII")]
    NotPrintable { position: usize, byte: u8 },
    #[error("the scan is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the scanner was disconnected")]
    Closed,
    #[error("the simulated scanner's queue is full")]
    Full,
    #[error("no barcode scanner found: {0}")]
    NotFound(String),
    #[error("scanner I/O: {0}")]
    Io(#[from] io::Error),
}

impl ScanError {
    /// The error spoils one scan; the patron can simply scan again.
    pub fn is_bad_scan(&self) -> bool {
        matches!(
            self,
            Self::UnmappedKeys { .. } | Self::NotPrintable { .. } | Self::TooLong { .. }
        )
    }
}

/// The characters of the scan in progress, shared by the keyboard and serial assemblers.
#[derive(Debug)]
struct Pending {
    text: String,
    overflow: bool,
    last: Option<Instant>,
    gap: Duration,
    max_len: usize,
}

impl Pending {
    fn new(gap: Duration, max_len: usize) -> Self {
        Self {
            text: String::new(),
            overflow: false,
            last: None,
            gap,
            max_len,
        }
    }

    /// Notes activity at `now`; true when the previous activity is so old that what came
    /// before must be dropped.
    fn touch(&mut self, now: Instant) -> bool {
        let stale = self.is_stale(now);
        self.last = Some(now);
        stale
    }

    fn is_stale(&self, now: Instant) -> bool {
        self.last
            .is_some_and(|last| now.saturating_duration_since(last) > self.gap)
    }

    fn push(&mut self, c: char) {
        if self.text.len() < self.max_len {
            self.text.push(c);
        } else {
            self.overflow = true;
        }
    }

    /// Ends the scan, leaving `self` empty.
    fn take(&mut self) -> Result<String, ScanError> {
        let overflow = std::mem::take(&mut self.overflow);
        let text = std::mem::take(&mut self.text);
        if overflow {
            Err(ScanError::TooLong { max: self.max_len })
        } else {
            Ok(text)
        }
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty() && !self.overflow
    }

    fn clear(&mut self) {
        self.text.clear();
        self.overflow = false;
    }
}
