//! Wrong staff PINs in a row, and the lockout after too many.

use super::*;

/// Wrong staff PINs in a row, and the lockout after too many.
#[derive(Debug, Default)]
pub struct PinGuard {
    wrong: u32,
    locked_until: Option<Instant>,
}

/// What a wrong PIN leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    TriesLeft(u32),
    Locked(Duration),
}

impl PinGuard {
    /// How long PIN entry stays locked, if it is.
    pub fn locked_for(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    pub fn failed(&mut self, now: Instant) -> PinOutcome {
        if self.locked_until.is_some() && self.locked_for(now).is_none() {
            self.locked_until = None;
        }
        self.wrong += 1;
        if self.wrong >= MAX_WRONG_PINS {
            self.wrong = 0;
            self.locked_until = Some(now + PIN_LOCKOUT);
            return PinOutcome::Locked(PIN_LOCKOUT);
        }
        PinOutcome::TriesLeft(MAX_WRONG_PINS - self.wrong)
    }

    pub fn succeeded(&mut self) {
        *self = PinGuard::default();
    }
}
