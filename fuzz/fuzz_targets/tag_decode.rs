//! Tag memory and ISO 15693 frames from the air: nothing may panic, whatever the bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfcheck::rfid::iso15693::{
    Request, parse_blocks, parse_inventory, parse_security_status, parse_status, parse_system_info,
};
use selfcheck::rfid::iso28560::{part2, part3};
use selfcheck::rfid::tag::decode_memory;

fuzz_target!(|data: &[u8]| {
    for dsfid in [Some(0x00), Some(0x06), Some(0x3E), None] {
        let decoded = decode_memory(data, dsfid);
        let _ = decoded.to_string();
        let _ = serde_json::to_string(&decoded);
    }
    let _ = part2::decode(data);
    let _ = part2::data_set_end(data);
    let _ = part3::decode(data);

    let count = data.first().map_or(1, |&b| usize::from(b % 40));
    let _ = parse_inventory(data);
    let _ = parse_status(data);
    let _ = parse_blocks(data, count, false);
    let _ = parse_blocks(data, count, true);
    let _ = parse_system_info(data);
    let _ = parse_security_status(data, count);
    for block_size in [0, 4, 8, 32] {
        let _ = Request::decode(data, block_size);
    }
});
