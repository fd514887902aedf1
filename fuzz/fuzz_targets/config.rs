#![no_main]
//! Settings and board files come from technicians' editors: any bytes must give settings or a
//! clear error, never a panic.

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(settings) = selfcheck::config::Settings::parse(&text, Path::new("fuzz.toml")) {
        let _ = settings.redacted();
    }
    let _ = selfcheck::board::Board::parse(&text, Path::new("fuzz.toml"));
});
