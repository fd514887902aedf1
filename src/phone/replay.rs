//! The replay check: a token's nonce is recorded in the store the first time it is accepted,
//! and every later scan of it is refused until it expires.

use super::{Policy, Refusal, Verified, verify};
use crate::store::StoreHandle;

/// [`verify`], then claims the token's nonce in the store: what the kiosk calls with each
/// scanned token. A store that cannot record the nonce refuses the token (fail closed).
pub async fn admit(
    store: &StoreHandle,
    text: &str,
    policy: &Policy,
    now: i64,
    clock_synced: bool,
) -> Result<Verified, Refusal> {
    let verified = verify(text, policy, now, clock_synced)?;
    let cti = verified.cti.clone();
    let until = verified.remember_until;
    let claimed = store
        .call(move |conn| crate::store::phone::claim_cti(conn, &cti, until, now))
        .await;
    match claimed {
        Ok(true) => Ok(verified),
        Ok(false) => Err(Refusal::Replayed),
        Err(e) => {
            tracing::warn!(error = %e, "phone token: cannot record its nonce");
            Err(Refusal::Unavailable {
                detail: e.to_string(),
            })
        }
    }
}
