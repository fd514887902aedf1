#![no_main]
//! A patron card's UID and memory come from whatever card is held to the reader: every site
//! rule must give a patron id or a clear error, never a panic.

use libfuzzer_sys::fuzz_target;
use selfcheck::rfid::card::{CardRead, CardUid};
use selfcheck::rfid::patron_card::{
    CardMemory, CardSource, DataEncoding, PatronCardSettings, UidFormat, patron_id,
};

fuzz_target!(|data: &[u8]| {
    let Some((&rule, rest)) = data.split_first() else {
        return;
    };
    let Some((uid, memory)) = rest.split_at_checked(usize::from(rule % 3) * 3 + 4) else {
        return;
    };
    let Some(uid) = CardUid::new(uid) else {
        return;
    };
    let mut block = [0u8; 16];
    for (dst, src) in block.iter_mut().zip(memory) {
        *dst = *src;
    }
    let card = CardRead {
        uid,
        data: Some(block),
    };
    let formats = [
        UidFormat::Hex,
        UidFormat::HexReversed,
        UidFormat::Decimal,
        UidFormat::DecimalReversed,
    ];
    let encodings = [DataEncoding::Ascii, DataEncoding::Bcd, DataEncoding::Hex];
    let uid_rule = PatronCardSettings {
        uid_format: formats.get(usize::from(rule >> 2) % 4).copied(),
        length: Some(rule >> 3),
        ..PatronCardSettings::default()
    };
    let _ = patron_id(&card, &uid_rule);
    let block_rule = PatronCardSettings {
        source: CardSource::Block,
        memory: Some(CardMemory::Classic),
        block: Some(4),
        encoding: encodings.get(usize::from(rule >> 4) % 3).copied(),
        offset: Some(rule & 0x1F),
        length: (rule & 0x80 != 0).then_some(rule & 0x3F),
        ..PatronCardSettings::default()
    };
    let _ = patron_id(&card, &block_rule);
    if let Ok(id) = patron_id(&card, &block_rule) {
        let _ = block_rule.card_memory(&id);
    }
});
