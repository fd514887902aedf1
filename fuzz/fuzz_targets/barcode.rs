//! Scanned bytes into the classifier and the serial line assembler: neither may panic.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use selfcheck::scan::serial::LineAssembler;
use selfcheck::scan::symbology::{Options, classify_with, describe};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for options in [Options::default(), Options { code39_mod43: true }] {
        if let Ok(code) = classify_with(&text, options) {
            assert_eq!(code.valid, code.problem.is_none());
            let _ = describe(&code);
        }
    }

    // The first byte spaces the rest in time, so the gap rule is exercised too.
    let (step, bytes) = data.split_first().map_or((0, data), |(s, rest)| (*s, rest));
    let mut lines = LineAssembler::default();
    let mut now = Instant::now();
    for &byte in bytes {
        now += Duration::from_millis(u64::from(step));
        if let Some(Ok(code)) = lines.feed(byte, now) {
            let _ = classify_with(&code, Options::default());
        }
    }
});
