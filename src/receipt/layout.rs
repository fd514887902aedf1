//! A receipt laid out as printed lines, and written as a print job.

use super::escpos::{Align, EncoderOptions, EscPos};
use super::model::{Outcome, Receipt, ReceiptItem};
use super::raster::Rasteriser;
use super::texts::{Texts, date, date_time, texts};

/// The print job for `receipt`: every line wrapped to the width, the QR code of the loan list
/// when `qr` is on and there are loans, then feed and cut.
pub fn print_job(
    receipt: &Receipt,
    options: EncoderOptions,
    raster: &Rasteriser,
    qr: bool,
) -> Vec<u8> {
    let t = texts(receipt.language);
    let width = options.width;
    let mut job = EscPos::new(options, raster);
    let lines = |job: &mut EscPos<'_>, text: &str, indent: usize| {
        for line in wrap(text, width.saturating_sub(indent).max(8)) {
            job.line(&format!("{}{line}", " ".repeat(indent)));
        }
    };

    job.align(Align::Centre);
    job.bold(true);
    lines(&mut job, &receipt.library_name, 0);
    job.bold(false);
    lines(&mut job, t.receipt, 0);
    lines(&mut job, &date_time(receipt.at, receipt.language), 0);
    job.align(Align::Left);
    lines(
        &mut job,
        &format!("{}: {}", t.terminal, receipt.terminal_id),
        0,
    );
    lines(
        &mut job,
        &format!("{}: {}", t.card, receipt.masked_card()),
        0,
    );

    for (heading, items) in groups(receipt) {
        job.rule();
        job.bold(true);
        lines(&mut job, heading(t), 0);
        job.bold(false);
        for item in items {
            lines(&mut job, item.name(), 1);
            lines(&mut job, &item_detail(item, receipt, t), 3);
        }
    }
    if !receipt.holds_ready.is_empty() {
        job.rule();
        job.bold(true);
        lines(&mut job, t.holds_ready, 0);
        job.bold(false);
        for hold in &receipt.holds_ready {
            lines(&mut job, hold, 1);
        }
    }
    if let Some(fines) = &receipt.fines {
        job.rule();
        lines(&mut job, &format!("{}: {fines}", t.fines), 0);
    }
    if !receipt.print_lines.is_empty() {
        job.rule();
        for line in &receipt.print_lines {
            lines(&mut job, line, 0);
        }
    }
    job.rule();
    job.align(Align::Centre);
    let loans = receipt.loan_list();
    if qr && !loans.is_empty() {
        lines(&mut job, t.loan_list, 0);
        job.qr(&loans);
    }
    lines(&mut job, t.thanks, 0);
    job.align(Align::Left);
    job.cut()
}

type Heading = fn(&Texts) -> &'static str;

/// The session's items by what happened to them, in the order the receipt lists them; empty
/// groups left out.
pub fn groups(receipt: &Receipt) -> Vec<(Heading, Vec<&ReceiptItem>)> {
    let pick = |f: fn(&Outcome) -> bool| -> Vec<&ReceiptItem> {
        receipt.items.iter().filter(|i| f(&i.outcome)).collect()
    };
    let all: [(Heading, Vec<&ReceiptItem>); 3] = [
        (|t| t.lent, pick(|o| matches!(o, Outcome::Lent { .. }))),
        (
            |t| t.renewed,
            pick(|o| matches!(o, Outcome::Renewed { .. })),
        ),
        (
            |t| t.returned,
            pick(|o| matches!(o, Outcome::Returned { .. })),
        ),
    ];
    all.into_iter().filter(|(_, i)| !i.is_empty()).collect()
}

/// The line under an item's title: its due date, or that it was returned and where it goes.
pub fn item_detail(item: &ReceiptItem, receipt: &Receipt, t: &Texts) -> String {
    let mut detail = match &item.outcome {
        Outcome::Lent { due } | Outcome::Renewed { due } => match due {
            Some(d) => format!("{}: {}", t.due, date(*d, receipt.language)),
            None => t.due.to_string(),
        },
        Outcome::Returned {
            sort_bin: Some(bin),
        } => {
            format!("{}, {} {bin}", t.item_returned, t.sort_bin)
        }
        Outcome::Returned { sort_bin: None } => t.item_returned.to_string(),
    };
    if item.confirmed_later {
        detail.push_str(&format!(" ({})", t.to_be_confirmed));
    }
    detail
}

/// Columns a character takes in the printer's font: two for the wide East Asian ones.
pub fn columns(c: char) -> usize {
    let wide = matches!(u32::from(c),
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if c.is_control() {
        0
    } else if wide {
        2
    } else {
        1
    }
}

/// `text` in lines of at most `width` columns: as it is when it fits (the ILS's print lines
/// may line figures up with spaces), else broken at spaces, and anywhere in a word longer
/// than a line or in Chinese, which has no spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let text = text.trim_end();
    if text.chars().map(columns).sum::<usize>() <= width {
        return vec![text.to_string()];
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let cols: usize = word.chars().map(columns).sum();
        let gap = usize::from(used > 0);
        if used + gap + cols <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + cols;
            continue;
        }
        let breakable = cols > width || word.chars().any(|c| columns(c) == 2);
        if !breakable {
            lines.push(std::mem::replace(&mut line, word.to_string()));
            used = cols;
            continue;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        for c in word.chars() {
            let w = columns(c);
            if used + w > width {
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                used = 0;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::codepage::CodePage;
    use super::super::escpos::tests::options;
    use super::super::escpos::{Piece, read_back, text_lines};
    use super::super::settings::ChineseMode;
    use super::*;
    use crate::kiosk::Language;

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a b c", 10), ["a b c"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("Il nome della rosa", 8), ["Il nome", "della", "rosa"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("红楼梦红楼梦", 5), ["红楼", "梦红", "楼梦"]);
        for line in wrap(
            "The quick brown fox jumps over the lazy dog 三体三体三体",
            12,
        ) {
            assert!(line.chars().map(columns).sum::<usize>() <= 12, "{line}");
        }
    }

    #[test]
    fn italian_receipt_reads_back_with_accents_due_dates_and_a_masked_card() {
        let r = Rasteriser::bundled();
        let receipt = Receipt::sample(Language::Italian, "Biblioteca Città", "kiosk-01");
        let job = print_job(&receipt, options(ChineseMode::Gb18030), &r, true);
        let pieces = read_back(&job, CodePage::Cp858);
        let text = text_lines(&pieces).join("\n");
        for want in [
            "Biblioteca Città",
            "Ricevuta",
            "Postazione: kiosk-01",
            "Tessera: ****0012",
            "Prestiti",
            " Se questo è un uomo",
            "   Scadenza: 28 dic 2026",
            " 三体",
            "   restituito, Contenitore A",
            "Prenotazioni da ritirare",
            "Da pagare: €2,50",
            "Test print: the printer works.",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        assert!(!text.contains("21000000000012"), "the full card number");
        assert!(pieces.contains(&Piece::Qr(receipt.loan_list())));
        assert_eq!(pieces.last(), Some(&Piece::Cut));
    }

    #[test]
    fn chinese_receipt_without_chinese_mode_is_raster_and_code_page_text() {
        let r = Rasteriser::bundled();
        let receipt = Receipt::sample(Language::Chinese, "City Library", "kiosk-01");
        let job = print_job(&receipt, options(ChineseMode::Raster), &r, false);
        let pieces = read_back(&job, CodePage::Cp858);
        assert!(
            !pieces
                .iter()
                .any(|p| matches!(p, Piece::Chinese(_) | Piece::Qr(_)))
        );
        let rasters = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Raster { .. }))
            .count();
        assert!(rasters >= 8, "{rasters} images");
        // Lines without Chinese stay text.
        assert!(text_lines(&pieces).contains(&"City Library".to_string()));
    }

    #[test]
    fn offline_items_say_they_will_be_confirmed() {
        let mut receipt = Receipt::sample(Language::English, "L", "T");
        for item in &mut receipt.items {
            item.confirmed_later = true;
        }
        let t = texts(Language::English);
        let detail = item_detail(&receipt.items[0], &receipt, t);
        assert_eq!(detail, "Due: 28 Dec 2026 (to be confirmed)");
    }
}
