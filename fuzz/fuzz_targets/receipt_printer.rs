#![no_main]
//! What a printer sends back (status bytes) and what a print job holds (read back for
//! diagnostics and tests) must never panic, and neither may a printer or mail server address
//! from the settings.

use libfuzzer_sys::fuzz_target;
use selfcheck::receipt::escpos::{read_back, text_lines};
use selfcheck::receipt::status::{PrinterStatus, QUERIES};
use selfcheck::receipt::{CodePage, PrinterAddress, SmtpAddress};

fuzz_target!(|data: &[u8]| {
    let mut status = PrinterStatus::default();
    for (query, &answer) in QUERIES.iter().cycle().zip(data.iter().take(12)) {
        if status.apply(*query, answer).is_err() {
            break;
        }
    }
    let _ = status.problem();
    for code_page in [CodePage::Cp437, CodePage::Cp850, CodePage::Cp858, CodePage::Cp1252] {
        let _ = text_lines(&read_back(data, code_page));
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(address) = text.parse::<PrinterAddress>() {
        assert_eq!(address.to_string().parse::<PrinterAddress>().ok(), Some(address));
    }
    let _ = text.parse::<SmtpAddress>();
});
