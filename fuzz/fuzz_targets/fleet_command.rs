//! Fleet commands come from the broker: any topic name and body must be answered, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |n| usize::from(*n) % 16).min(data.len());
    let (name, body) = data.split_at(split);
    let name = String::from_utf8_lossy(name);
    let _ = selfcheck::fleet::command::parse(&name, body);
    for known in selfcheck::fleet::command::NAMES {
        let _ = selfcheck::fleet::command::parse(known, body);
    }
});
