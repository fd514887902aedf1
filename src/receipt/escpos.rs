//! ESC/POS byte streams, sans-IO: a writer for the commands a receipt needs, and a reader
//! that takes a stream apart again (tests and diagnostics).
//!
//! Commands (Epson ESC/POS): `ESC @` initialise, `ESC t n` code table, `ESC a n` alignment,
//! `ESC E n` emphasis, `FS &` / `FS .` enter and leave Chinese (double-byte) mode, `GS v 0`
//! raster image, `GS ( k` QR code, `ESC d n` feed, `GS V 0` cut. Text outside the code page
//! goes through the printer's Chinese mode as GB18030 when the settings say the printer has
//! one, otherwise it is drawn as a raster image.

use super::codepage::CodePage;
use super::raster::{Bitmap, CELL_WIDTH, Rasteriser};
use super::settings::{ChineseMode, ReceiptSettings};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;
const DLE: u8 = 0x10;
const LF: u8 = 0x0A;

/// Longest QR payload printed; beyond it the code would be too dense for a receipt.
pub const MAX_QR_BYTES: usize = 1000;

/// How a printer is addressed in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    pub code_page: CodePage,
    /// `ESC t n` number of `code_page` on this printer.
    pub table: u8,
    pub chinese: ChineseMode,
    /// Characters per line (font A).
    pub width: usize,
}

impl EncoderOptions {
    pub fn from_settings(settings: &ReceiptSettings) -> EncoderOptions {
        EncoderOptions {
            code_page: settings.code_page,
            table: settings.table(),
            chinese: settings.chinese,
            width: usize::from(settings.width),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
}

/// Writes one print job.
pub struct EscPos<'a> {
    out: Vec<u8>,
    options: EncoderOptions,
    raster: &'a Rasteriser,
    align: Align,
}

impl<'a> EscPos<'a> {
    /// A job that starts by resetting the printer and selecting the code table.
    pub fn new(options: EncoderOptions, raster: &'a Rasteriser) -> EscPos<'a> {
        let mut out = Vec::with_capacity(2048);
        out.extend_from_slice(&[ESC, b'@', ESC, b't', options.table]);
        EscPos {
            out,
            options,
            raster,
            align: Align::Left,
        }
    }

    pub fn align(&mut self, align: Align) {
        self.align = align;
        let n = match align {
            Align::Left => 0,
            Align::Centre => 1,
        };
        self.out.extend_from_slice(&[ESC, b'a', n]);
    }

    pub fn bold(&mut self, on: bool) {
        self.out.extend_from_slice(&[ESC, b'E', u8::from(on)]);
    }

    /// One printed line (wrapped by the caller to the width). Control characters are printed
    /// as spaces: text from the ILS must never become a printer command.
    pub fn line(&mut self, text: &str) {
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Some(bytes) = self.options.code_page.encode(&text) {
            self.out.extend_from_slice(&bytes);
        } else if let Some(bytes) = self.chinese_mode_bytes(&text) {
            self.out.extend_from_slice(&[FS, b'&']);
            self.out.extend_from_slice(&bytes);
            self.out.extend_from_slice(&[FS, b'.']);
        } else {
            let bitmap = self.raster.line(
                &text,
                self.options.width * CELL_WIDTH,
                self.align == Align::Centre,
            );
            self.raster_image(&bitmap);
            return;
        }
        self.out.push(LF);
    }

    /// GB18030 bytes for the printer's Chinese mode, when it has one and every character is
    /// one a Chinese-mode font holds (ASCII, or two bytes of GB18030: the GBK range).
    fn chinese_mode_bytes(&self, text: &str) -> Option<Vec<u8>> {
        if self.options.chinese != ChineseMode::Gb18030 {
            return None;
        }
        let mut out = Vec::with_capacity(text.len());
        let mut buf = [0u8; 4];
        for c in text.chars() {
            let (bytes, _, _) = encoding_rs::GB18030.encode(c.encode_utf8(&mut buf));
            if !(c.is_ascii() || bytes.len() == 2) {
                return None;
            }
            out.extend_from_slice(&bytes);
        }
        Some(out)
    }

    fn raster_image(&mut self, bitmap: &Bitmap) {
        let [xl, xh] = u16::try_from(bitmap.width_bytes)
            .unwrap_or(u16::MAX)
            .to_le_bytes();
        let [yl, yh] = u16::try_from(bitmap.height)
            .unwrap_or(u16::MAX)
            .to_le_bytes();
        self.out
            .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
        self.out.extend_from_slice(&bitmap.data);
    }

    /// A line of dashes across the receipt.
    pub fn rule(&mut self) {
        let dashes = "-".repeat(self.options.width);
        self.line(&dashes);
    }

    pub fn feed(&mut self, lines: u8) {
        self.out.extend_from_slice(&[ESC, b'd', lines]);
    }

    /// A QR code (model 2, error correction M); `false` and nothing written when the data is
    /// longer than [`MAX_QR_BYTES`].
    pub fn qr(&mut self, data: &str) -> bool {
        let bytes = data.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_QR_BYTES {
            return false;
        }
        let mut function = |f: &[u8]| {
            let [pl, ph] = u16::try_from(f.len()).unwrap_or(u16::MAX).to_le_bytes();
            self.out.extend_from_slice(&[GS, b'(', b'k', pl, ph]);
            self.out.extend_from_slice(f);
        };
        function(&[b'1', b'A', b'2', 0]); // model 2
        function(&[b'1', b'C', 6]); // module size in dots
        function(b"1E1"); // error correction M
        let mut store = vec![b'1', b'P', b'0'];
        store.extend_from_slice(bytes);
        function(&store);
        function(b"1Q0"); // print it
        self.out.push(LF);
        true
    }

    /// Feed the receipt past the cutter, cut it, and return the job's bytes.
    pub fn cut(mut self) -> Vec<u8> {
        self.feed(4);
        self.out.extend_from_slice(&[GS, b'V', 0]);
        self.out
    }
}

/// One piece of a job, as [`read_back`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Init,
    CodeTable(u8),
    Align(u8),
    Bold(bool),
    /// A line of text in the code page.
    Text(String),
    /// A line of text printed in Chinese mode, decoded from GB18030.
    Chinese(String),
    Raster {
        width_bytes: usize,
        height: usize,
        black_dots: usize,
    },
    Qr(String),
    Feed(u8),
    Cut,
    /// `DLE EOT n`, a status query.
    Status(u8),
    /// A byte or command this reader does not know, kept so nothing goes unnoticed.
    Unknown(u8),
}

/// Takes a job apart into its pieces, decoding text in `code_page` (and GB18030 in Chinese
/// mode). Tolerant: any bytes give some answer, a truncated command ends the list.
pub fn read_back(bytes: &[u8], code_page: CodePage) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut chinese = false;
    // A line whose text ended at a mode switch, not yet ended by its LF.
    let mut open_line = false;
    let mut i = 0;
    let arg = |at: usize| bytes.get(at).copied();
    let flush = |text: &mut Vec<u8>, chinese: bool, pieces: &mut Vec<Piece>| {
        if !text.is_empty() {
            pieces.push(if chinese {
                let (s, _) = encoding_rs::GB18030.decode_without_bom_handling(text);
                Piece::Chinese(s.into_owned())
            } else {
                Piece::Text(code_page.decode(text))
            });
            text.clear();
        }
    };
    while let Some(&b) = bytes.get(i) {
        let (piece, len) = match (b, arg(i + 1), arg(i + 2)) {
            (LF, _, _) => {
                if text.is_empty() && !open_line {
                    pieces.push(if chinese {
                        Piece::Chinese(String::new())
                    } else {
                        Piece::Text(String::new())
                    });
                }
                flush(&mut text, chinese, &mut pieces);
                open_line = false;
                i += 1;
                continue;
            }
            (ESC, Some(b'@'), _) => (Piece::Init, 2),
            (ESC, Some(b't'), Some(n)) => (Piece::CodeTable(n), 3),
            (ESC, Some(b'a'), Some(n)) => (Piece::Align(n), 3),
            (ESC, Some(b'E'), Some(n)) => (Piece::Bold(n & 1 == 1), 3),
            (ESC, Some(b'd'), Some(n)) => (Piece::Feed(n), 3),
            (FS, Some(b'&'), _) => {
                open_line |= !text.is_empty();
                flush(&mut text, chinese, &mut pieces);
                chinese = true;
                i += 2;
                continue;
            }
            (FS, Some(b'.'), _) => {
                open_line |= !text.is_empty();
                flush(&mut text, chinese, &mut pieces);
                chinese = false;
                i += 2;
                continue;
            }
            (DLE, Some(0x04), Some(n)) => (Piece::Status(n), 3),
            (GS, Some(b'V'), Some(m)) => (Piece::Cut, if m >= 65 { 4 } else { 3 }),
            (GS, Some(b'v'), Some(b'0')) => {
                let field = |k: usize| bytes.get(i + k).copied().map(usize::from);
                let (Some(xl), Some(xh), Some(yl), Some(yh)) =
                    (field(4), field(5), field(6), field(7))
                else {
                    break;
                };
                let (w, h) = (xl + 256 * xh, yl + 256 * yh);
                let Some(data) = bytes.get(i + 8..i + 8 + w * h) else {
                    break;
                };
                let black_dots = data.iter().map(|b| b.count_ones() as usize).sum();
                (
                    Piece::Raster {
                        width_bytes: w,
                        height: h,
                        black_dots,
                    },
                    8 + w * h,
                )
            }
            (GS, Some(b'('), Some(b'k')) => {
                let (Some(pl), Some(ph)) = (arg(i + 3), arg(i + 4)) else {
                    break;
                };
                let n = usize::from(pl) + 256 * usize::from(ph);
                let Some(f) = bytes.get(i + 5..i + 5 + n) else {
                    break;
                };
                i += 5 + n;
                if let Some(data) = f.strip_prefix(b"1P0") {
                    pieces.push(Piece::Qr(String::from_utf8_lossy(data).into_owned()));
                }
                continue;
            }
            (ESC | GS | FS | DLE, _, _) => (Piece::Unknown(b), 1),
            _ => {
                text.push(b);
                i += 1;
                continue;
            }
        };
        flush(&mut text, chinese, &mut pieces);
        pieces.push(piece);
        i += len;
    }
    flush(&mut text, chinese, &mut pieces);
    pieces
}

/// Every line of text in the pieces, code page and Chinese mode alike.
pub fn text_lines(pieces: &[Piece]) -> Vec<String> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Text(s) | Piece::Chinese(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The default settings with this Chinese mode.
    pub(crate) fn options(chinese: ChineseMode) -> EncoderOptions {
        EncoderOptions::from_settings(&ReceiptSettings {
            chinese,
            ..ReceiptSettings::default()
        })
    }

    #[test]
    fn a_job_starts_with_init_and_code_table_and_ends_with_a_cut() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Raster), &r);
        job.line("Città");
        let bytes = job.cut();
        assert_eq!(&bytes[..5], b"\x1b@\x1bt\x13");
        assert_eq!(&bytes[5..11], b"Citt\x85\n");
        assert_eq!(&bytes[bytes.len() - 6..], b"\x1bd\x04\x1dV\x00");
    }

    #[test]
    fn chinese_mode_wraps_gb18030_in_fs_and() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Gb18030), &r);
        job.line("三体 A");
        let bytes = job.cut();
        assert_eq!(&bytes[5..16], b"\x1c&\xc8\xfd\xcc\xe5 A\x1c.\n");
        let pieces = read_back(&bytes, CodePage::Cp858);
        assert!(
            pieces.contains(&Piece::Chinese("三体 A".into())),
            "{pieces:?}"
        );
    }

    #[test]
    fn without_chinese_mode_chinese_is_a_raster_image() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Raster), &r);
        job.line("三体");
        let pieces = read_back(&job.cut(), CodePage::Cp858);
        match pieces.get(2) {
            Some(Piece::Raster {
                width_bytes,
                height,
                black_dots,
            }) => {
                assert_eq!((*width_bytes, *height), (63, 24));
                assert!(*black_dots > 40);
            }
            other => panic!("{other:?} in {pieces:?}"),
        }
        assert!(!pieces.iter().any(|p| matches!(p, Piece::Chinese(_))));
    }

    #[test]
    fn letters_outside_the_code_page_are_drawn_too() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Gb18030), &r);
        // Polish Ł is neither in PC858 nor two bytes of GB18030.
        job.line("Łódź");
        let pieces = read_back(&job.cut(), CodePage::Cp858);
        assert!(pieces.iter().any(|p| matches!(p, Piece::Raster { .. })));
    }

    #[test]
    fn control_characters_from_outside_never_reach_the_printer() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Raster), &r);
        job.line("a\x1bV\x00b\x1d");
        let bytes = job.cut();
        assert_eq!(&bytes[5..12], b"a V b \n");
    }

    #[test]
    fn qr_code_commands() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Raster), &r);
        assert!(job.qr("31000000000014 2026-12-28"));
        assert!(!job.qr(&"x".repeat(MAX_QR_BYTES + 1)));
        assert!(!job.qr(""));
        let bytes = job.cut();
        assert_eq!(&bytes[5..14], b"\x1d(k\x04\x001A2\x00");
        let pieces = read_back(&bytes, CodePage::Cp858);
        assert_eq!(
            pieces
                .iter()
                .filter(|p| matches!(p, Piece::Qr(_)))
                .collect::<Vec<_>>(),
            [&Piece::Qr("31000000000014 2026-12-28".into())]
        );
    }

    #[test]
    fn reading_back_a_whole_job() {
        let r = Rasteriser::bundled();
        let mut job = EscPos::new(options(ChineseMode::Raster), &r);
        job.align(Align::Centre);
        job.bold(true);
        job.line("Biblioteca");
        job.bold(false);
        job.align(Align::Left);
        job.rule();
        job.line("");
        let pieces = read_back(&job.cut(), CodePage::Cp858);
        assert_eq!(
            pieces,
            [
                Piece::Init,
                Piece::CodeTable(19),
                Piece::Align(1),
                Piece::Bold(true),
                Piece::Text("Biblioteca".into()),
                Piece::Bold(false),
                Piece::Align(0),
                Piece::Text("-".repeat(42)),
                Piece::Text(String::new()),
                Piece::Feed(4),
                Piece::Cut,
            ]
        );
    }

    proptest! {
        #[test]
        fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_back(&bytes, CodePage::Cp858);
        }

        #[test]
        fn printed_lines_read_back(lines in proptest::collection::vec("[ -~àèéìòù€三体红楼梦]{0,30}", 0..6),
                                   gb in any::<bool>()) {
            let r = Rasteriser::bundled();
            let mode = if gb { ChineseMode::Gb18030 } else { ChineseMode::Raster };
            let mut job = EscPos::new(options(mode), &r);
            for l in &lines {
                job.line(l);
            }
            let pieces = read_back(&job.cut(), CodePage::Cp858);
            let rasters = pieces.iter().filter(|p| matches!(p, Piece::Raster { .. })).count();
            let text = text_lines(&pieces);
            // Each line comes back as text, or (without Chinese mode) as one image.
            prop_assert_eq!(text.len() + rasters, lines.len());
            for l in &lines {
                prop_assert!(text.contains(l) || !gb && CodePage::Cp858.encode(l).is_none());
            }
        }
    }
}
