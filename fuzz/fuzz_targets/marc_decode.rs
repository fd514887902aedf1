//! MARC files as the demo ILS imports them: decoding, and the copies found in what decodes,
//! may refuse but never panic; what decodes encodes again to bytes that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfcheck::counter::marc::{decode, decode_all, encode, items_of};

fuzz_target!(|data: &[u8]| {
    for record in decode_all(data).into_iter().flatten() {
        let _ = items_of(&record);
        // Lossy text may now hold what encoding refuses (control characters): that is a
        // refusal, not a panic; what is accepted must read back the same.
        if let Ok(bytes) = encode(&record) {
            let back = decode(&bytes).expect("our own encoding decodes");
            assert_eq!(back.fields, record.fields);
        }
    }
});
