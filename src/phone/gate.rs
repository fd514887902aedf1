//! The kiosk's side of phone codes: the policy its settings make, the decision about one
//! scanned code (verified offline, then its nonce claimed in the store), and the reason the
//! patron is shown when it is refused. The kiosk core only asks ([`crate::kiosk::Effect::
//! CheckToken`]); the runtime's shell decides here, with the clock's state and the time.

use serde_json::json;

use super::{Policy, Refusal, admit};
use crate::kiosk::{Reason, TokenOutcome};
use crate::store::StoreHandle;

/// What a kiosk checks phone codes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneGate {
    policy: Policy,
}

impl PhoneGate {
    /// The gate of the kiosk's settings (with the demo's key in the demo: see
    /// [`super::demo::kiosk_settings`]). Settings whose keys do not parse were refused by
    /// the validator already; should they get here, no code is taken.
    pub fn from_settings(settings: &crate::config::Settings) -> PhoneGate {
        let phone = super::demo::kiosk_settings(settings);
        match Policy::from_settings(&phone) {
            Ok(policy) => PhoneGate { policy },
            Err(e) => {
                tracing::error!("phone codes are off: a [[phone.keys]] key is not valid: {e}");
                PhoneGate::off()
            }
        }
    }

    /// A gate that takes no code (`[phone] enabled = false`).
    pub fn off() -> PhoneGate {
        let mut policy = Policy::with_keys([]);
        policy.enabled = false;
        PhoneGate { policy }
    }

    /// A gate with this policy (tests, tools).
    pub fn new(policy: Policy) -> PhoneGate {
        PhoneGate { policy }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decides about `token` at `now` (seconds since the epoch) and, when it is accepted,
    /// uses it up. Returns what the core hears and a line for the headless output, which
    /// names the key and the reason but never the patron.
    pub async fn check(
        &self,
        store: &StoreHandle,
        token: &str,
        now: i64,
        clock_synced: bool,
    ) -> (TokenOutcome, serde_json::Value) {
        match admit(store, token, &self.policy, now, clock_synced).await {
            Ok(verified) => {
                tracing::info!(kid = %verified.kid, "phone code accepted");
                let note = json!({
                    "kind": "phone",
                    "outcome": "accepted",
                    "kid": verified.kid,
                    "expires_at": verified.expires_at,
                    "then_pin": self.policy.require_pin,
                });
                (
                    TokenOutcome::Accepted {
                        patron_id: verified.patron_id,
                    },
                    note,
                )
            }
            Err(refusal) => {
                tracing::info!(
                    code = refusal.code(),
                    detail = %refusal.detail(),
                    "phone code refused"
                );
                let note = json!({
                    "kind": "phone",
                    "outcome": "refused",
                    "code": refusal.code(),
                    "reason": refusal.to_string(),
                    "detail": refusal.detail(),
                });
                (TokenOutcome::Refused(reason(&refusal)), note)
            }
        }
    }
}

/// The screen's reason for a refusal (the UI words it in the patron's language).
pub fn reason(refusal: &Refusal) -> Reason {
    match refusal {
        Refusal::Disabled => Reason::PhoneDisabled,
        Refusal::Oversized { .. } => Reason::PhoneOversized,
        Refusal::BadPrefix => Reason::PhoneBadPrefix,
        Refusal::Truncated => Reason::PhoneTruncated,
        Refusal::Malformed { .. } => Reason::PhoneMalformed,
        Refusal::WrongAlgorithm { .. } => Reason::PhoneWrongAlgorithm,
        Refusal::UnknownKey { .. } => Reason::PhoneUnknownKey,
        Refusal::BadSignature => Reason::PhoneBadSignature,
        Refusal::WrongIssuer { .. } => Reason::PhoneWrongIssuer,
        Refusal::LifetimeTooLong { .. } => Reason::PhoneLifetimeTooLong,
        Refusal::ClockNotSynchronised => Reason::PhoneClockNotSynchronised,
        Refusal::NotYetValid { .. } => Reason::PhoneNotYetValid,
        Refusal::Expired { .. } => Reason::PhoneExpired,
        Refusal::Replayed => Reason::PhoneReplayed,
        Refusal::Unavailable { .. } => Reason::PhoneUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::testing;

    #[test]
    fn every_refusal_has_the_screen_reason_of_its_code() {
        let all = testing::every_refusal();
        assert_eq!(all.len(), Refusal::CODES.len());
        for refusal in &all {
            let shown = serde_json::to_value(reason(refusal)).expect("json");
            assert_eq!(shown, format!("phone_{}", refusal.code()), "{refusal:?}");
        }
    }

    fn store() -> StoreHandle {
        StoreHandle::spawn(crate::store::open_in_memory().expect("db")).expect("store")
    }

    #[tokio::test]
    async fn a_code_is_taken_once_and_the_note_names_no_patron() {
        let store = store();
        let gate = PhoneGate::new(testing::policy(4));
        let token = testing::token(4, "21000000000018");
        let now = testing::ISSUED_AT + 5;
        let (outcome, note) = gate.check(&store, &token, now, true).await;
        assert_eq!(
            outcome,
            TokenOutcome::Accepted {
                patron_id: "21000000000018".into()
            }
        );
        assert_eq!(note["outcome"], "accepted");
        assert_eq!(note["kid"], "k1");
        assert!(!note.to_string().contains("21000000000018"), "{note}");
        let (again, note) = gate.check(&store, &token, now + 1, true).await;
        assert_eq!(again, TokenOutcome::Refused(Reason::PhoneReplayed));
        assert_eq!(note["code"], "replayed");
    }

    #[tokio::test]
    async fn an_unsynchronised_clock_or_a_gate_that_is_off_takes_no_code() {
        let store = store();
        let token = testing::token(5, "21000000000018");
        let now = testing::ISSUED_AT + 5;
        let gate = PhoneGate::new(testing::policy(5));
        let (outcome, _) = gate.check(&store, &token, now, false).await;
        assert_eq!(
            outcome,
            TokenOutcome::Refused(Reason::PhoneClockNotSynchronised)
        );
        let (outcome, _) = PhoneGate::off().check(&store, &token, now, true).await;
        assert_eq!(outcome, TokenOutcome::Refused(Reason::PhoneDisabled));
        // Neither used it up.
        let (outcome, _) = gate.check(&store, &token, now, true).await;
        assert!(matches!(outcome, TokenOutcome::Accepted { .. }));
    }
}
