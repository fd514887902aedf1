//! The simulated scanner: tests, the demo and the staff "type a code" box push codes through
//! a cloneable handle.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use super::{ScanError, Scanner};

/// The scanner side, moved to the scanner thread.
#[derive(Debug)]
pub struct SimScanner {
    rx: Receiver<Result<String, ScanError>>,
}

/// The pushing side; clone it freely. The scanner closes when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct SimHandle {
    tx: SyncSender<Result<String, ScanError>>,
}

/// A simulated scanner holding up to `capacity` unread scans.
pub fn sim_scanner(capacity: usize) -> (SimHandle, SimScanner) {
    let (tx, rx) = sync_channel(capacity.max(1));
    (SimHandle { tx }, SimScanner { rx })
}

impl SimHandle {
    /// Scans `code` as if a label had been read.
    pub fn scan(&self, code: impl Into<String>) -> Result<(), ScanError> {
        self.push(Ok(code.into()))
    }

    /// Makes the next read fail with `error` (a smudged label, an unplugged scanner).
    pub fn fail(&self, error: ScanError) -> Result<(), ScanError> {
        self.push(Err(error))
    }

    fn push(&self, scan: Result<String, ScanError>) -> Result<(), ScanError> {
        self.tx.try_send(scan).map_err(|e| match e {
            TrySendError::Full(_) => ScanError::Full,
            TrySendError::Disconnected(_) => ScanError::Closed,
        })
    }
}

impl Scanner for SimScanner {
    fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, ScanError> {
        match self.rx.recv_timeout(timeout) {
            Ok(scan) => scan.map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(ScanError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_arrive_in_order_and_the_scanner_closes_with_its_handles() {
        let (handle, mut scanner) = sim_scanner(4);
        let other = handle.clone();
        assert!(handle.scan("33191000105864").is_ok());
        assert!(
            other
                .fail(ScanError::UnmappedKeys {
                    count: 1,
                    partial: "33".into()
                })
                .is_ok()
        );
        assert!(other.scan("9780306406157").is_ok());
        drop((handle, other));
        let wait = Duration::from_secs(5);
        assert_eq!(
            scanner.next_code(wait).ok(),
            Some(Some("33191000105864".into()))
        );
        assert!(matches!(scanner.next_code(wait), Err(e) if e.is_bad_scan()));
        assert_eq!(
            scanner.next_code(wait).ok(),
            Some(Some("9780306406157".into()))
        );
        assert!(matches!(scanner.next_code(wait), Err(ScanError::Closed)));
    }

    #[test]
    fn nothing_scanned_times_out_and_a_full_queue_refuses() {
        let (handle, mut scanner) = sim_scanner(1);
        assert!(matches!(scanner.next_code(Duration::ZERO), Ok(None)));
        assert!(handle.scan("1").is_ok());
        assert!(matches!(handle.scan("2"), Err(ScanError::Full)));
        drop(scanner);
        assert!(matches!(handle.scan("3"), Err(ScanError::Closed)));
    }

    #[test]
    fn works_through_a_boxed_port() {
        let (handle, scanner) = sim_scanner(1);
        let mut boxed: Box<dyn Scanner + Send> = Box::new(scanner);
        assert!(handle.scan("ITEM-1").is_ok());
        assert_eq!(
            boxed.next_code(Duration::from_secs(5)).ok(),
            Some(Some("ITEM-1".into()))
        );
    }
}
