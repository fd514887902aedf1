//! Arbitrary bytes into the SIP2 decoder and frame splitter, in every charset. Whatever decodes
//! must re-encode without panicking, and a re-encoded message must decode to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfcheck::sip2::{Charset, decode, encode, split_frame};

fuzz_target!(|data: &[u8]| {
    for charset in Charset::ALL {
        if let Ok(decoded) = decode(data, charset) {
            // Values that came in may hold characters a charset cannot carry back; that is
            // reported as replacements, never as a panic.
            if let Ok(encoded) = encode(&decoded.message, charset, decoded.sequence) {
                let again = decode(&encoded.bytes, charset);
                if encoded.replaced == 0 && !decoded.lossy {
                    assert_eq!(again.map(|d| d.message).ok(), Some(decoded.message));
                }
            }
        }
    }
    let mut buffer = data.to_vec();
    while split_frame(&mut buffer).is_some() {}
});
