//! A scripted serial link for tests: each expected write releases a canned reply.

use std::collections::VecDeque;
use std::time::Duration;

use super::{SerialError, SerialLink};

/// Expected writes and the bytes the "reader" answers to each, checked in order. Like the
/// embedded-hal mocks it panics on an unexpected write, and [`done`](Self::done) fails the test
/// if a write was never made or reply bytes were never read.
#[derive(Debug, Default)]
pub struct ScriptedLink {
    steps: VecDeque<(Vec<u8>, Vec<u8>)>,
    input: VecDeque<u8>,
}

impl ScriptedLink {
    pub fn new() -> Self {
        Self::default()
    }

    /// After the host writes `write`, the reader answers `reply` (possibly empty: silence).
    pub fn expect(mut self, write: &[u8], reply: &[u8]) -> Self {
        self.steps.push_back((write.to_vec(), reply.to_vec()));
        self
    }

    /// Bytes already waiting on the line before the first write.
    pub fn with_input(mut self, bytes: &[u8]) -> Self {
        self.input.extend(bytes);
        self
    }

    pub fn done(&self) {
        assert!(
            self.steps.is_empty(),
            "expected writes never made: {:02X?}",
            self.steps
        );
        assert!(
            self.input.is_empty(),
            "reply bytes never read: {:02X?}",
            self.input
        );
    }
}

impl SerialLink for ScriptedLink {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), SerialError> {
        let Some((expected, reply)) = self.steps.pop_front() else {
            panic!("unexpected write {bytes:02X?}: the script is finished");
        };
        assert_eq!(
            bytes,
            expected.as_slice(),
            "write does not match the script"
        );
        self.input.extend(reply);
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<(), SerialError> {
        if self.input.len() < buf.len() {
            // What a real port does: the bytes that did arrive are consumed, then time runs out.
            self.input.clear();
            return Err(SerialError::Timeout);
        }
        for b in buf.iter_mut() {
            *b = self.input.pop_front().unwrap_or_default();
        }
        Ok(())
    }

    fn discard_input(&mut self) -> Result<(), SerialError> {
        self.input.clear();
        Ok(())
    }
}
