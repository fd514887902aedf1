//! Phone tokens: scanned text into the verifier, and arbitrary bytes behind `SC1:` (as base45)
//! so that the COSE and CBOR decoding is reached. Nothing may panic, and whatever is accepted
//! must hold what a kiosk relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfcheck::phone::{PREFIX, Policy, Refusal, Verified, decode, verify};
use selfcheck::scan::classify;

/// The spec's test key (RFC 8032's first): the spec's vectors make a corpus that verifies.
const PUBLIC_KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const NOW: i64 = 1_767_225_610;

fn check(result: Result<Verified, Refusal>, policy: &Policy) {
    match result {
        Ok(v) => {
            assert!(!v.patron_id.trim().is_empty());
            assert_eq!(v.issuer, policy.issuer);
            assert!(v.expires_at > v.issued_at);
            assert!(v.expires_at - v.issued_at <= i64::from(policy.max_ttl_secs));
            assert!(NOW < v.remember_until);
            assert!(selfcheck::phone::CTI_LEN_RANGE.contains(&v.cti.len()));
        }
        Err(refusal) => {
            let _ = (refusal.code(), refusal.to_string(), refusal.detail());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(key) = selfcheck::phone::parse_public_key(PUBLIC_KEY) else {
        return;
    };
    let policy = Policy::with_keys([("k1".to_string(), key)]);
    let text = String::from_utf8_lossy(data);
    let _ = decode(&text);
    let _ = classify(&text);
    check(verify(&text, &policy, NOW, true), &policy);

    let token = format!("{PREFIX}{}", base45::encode(data));
    let _ = classify(&token);
    check(verify(&token, &policy, NOW, true), &policy);
});
