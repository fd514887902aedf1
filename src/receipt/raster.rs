//! Text drawn as a 1-bit image, for lines the printer's own fonts cannot print (Chinese on a
//! printer without a Chinese mode, letters outside its code page).

use std::path::Path;

use ab_glyph::{Font, FontArc, FontVec, PxScale, ScaleFont, point};

/// The font bundled for the screens: a subset of Noto Sans CJK SC holding what the kiosk
/// shows (its texts, the receipt's words, the demo catalogue) plus Latin.
static BUNDLED_FONT: &[u8] = include_bytes!("../../ui/fonts/SelfcheckSansSC-Regular.otf");

/// Dots of one character cell of font A: 12 wide, 24 high. A raster line is as high as a
/// text line, and as wide as the receipt's columns.
pub const CELL_WIDTH: usize = 12;
pub const LINE_HEIGHT: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("cannot read the font {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not a font ab_glyph can read (TrueType, OpenType or a collection)")]
    Invalid(String),
}

/// Draws text with one font.
#[derive(Clone)]
pub struct Rasteriser {
    font: FontArc,
}

impl std::fmt::Debug for Rasteriser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rasteriser").finish_non_exhaustive()
    }
}

/// A 1-bit image, rows of `width_bytes` bytes, most significant bit leftmost, 1 = black: the
/// layout `GS v 0` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width_bytes: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Bitmap {
    fn new(width_dots: usize, height: usize) -> Bitmap {
        let width_bytes = width_dots.div_ceil(8);
        Bitmap {
            width_bytes,
            height,
            data: vec![0; width_bytes * height],
        }
    }

    fn set(&mut self, x: usize, y: usize) {
        if x < self.width_bytes * 8
            && y < self.height
            && let Some(byte) = self.data.get_mut(y * self.width_bytes + x / 8)
        {
            *byte |= 0x80 >> (x % 8);
        }
    }

    /// Whether the dot at (x, y) is black.
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width_bytes * 8
            && self
                .data
                .get(y * self.width_bytes + x / 8)
                .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    pub fn black_dots(&self) -> usize {
        self.data.iter().map(|b| b.count_ones() as usize).sum()
    }
}

impl Rasteriser {
    /// The bundled font.
    pub fn bundled() -> Rasteriser {
        match FontArc::try_from_slice(BUNDLED_FONT) {
            Ok(font) => Rasteriser { font },
            // The bundled font is part of the binary and checked by the tests below.
            Err(_) => unreachable!("the bundled font is a valid OpenType font"),
        }
    }

    /// A font file (the first face of a collection).
    pub fn from_file(path: &Path) -> Result<Rasteriser, FontError> {
        let data = std::fs::read(path).map_err(|source| FontError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let font = FontVec::try_from_vec_and_index(data, 0)
            .map_err(|_| FontError::Invalid(path.display().to_string()))?;
        Ok(Rasteriser {
            font: FontArc::new(font),
        })
    }

    /// Whether the font has a glyph for `c`.
    pub fn covers(&self, c: char) -> bool {
        c.is_whitespace() || self.font.glyph_id(c).0 != 0
    }

    /// `text` drawn on one line `width_dots` wide, [`LINE_HEIGHT`] high; what does not fit is
    /// cut off (callers wrap first). `centred` centres the text in the line.
    pub fn line(&self, text: &str, width_dots: usize, centred: bool) -> Bitmap {
        let font = self.font.as_scaled(PxScale::from(LINE_HEIGHT as f32));
        let ascent = font.ascent();
        let mut glyphs = Vec::new();
        let mut caret = 0.0f32;
        let mut previous = None;
        for c in text.chars().filter(|c| !c.is_control()) {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(font.scale(), point(caret, ascent)));
            caret += font.h_advance(id);
            previous = Some(id);
        }
        let offset = if centred {
            ((width_dots as f32 - caret) / 2.0).max(0.0)
        } else {
            0.0
        };
        let mut bitmap = Bitmap::new(width_dots, LINE_HEIGHT);
        for mut glyph in glyphs {
            glyph.position.x += offset;
            let Some(outlined) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let x = bounds.min.x + gx as f32;
                let y = bounds.min.y + gy as f32;
                if coverage >= 0.5 && x >= 0.0 && y >= 0.0 {
                    bitmap.set(x as usize, y as usize);
                }
            });
        }
        bitmap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk::Language;

    #[test]
    fn chinese_draws_black_dots_within_the_line() {
        let r = Rasteriser::bundled();
        let b = r.line("三体", 504, false);
        assert_eq!((b.width_bytes, b.height), (63, LINE_HEIGHT));
        assert!(b.black_dots() > 40, "two characters leave ink");
        // Two full-width characters take about four cells; the rest of the line is white.
        let right_of_text = (5 * CELL_WIDTH..504).all(|x| (0..LINE_HEIGHT).all(|y| !b.get(x, y)));
        assert!(right_of_text);
        assert_eq!(r.line("", 504, false).black_dots(), 0);
    }

    #[test]
    fn centring_moves_the_ink() {
        let r = Rasteriser::bundled();
        let left = r.line("书", 240, false);
        let centred = r.line("书", 240, true);
        let first_ink = |b: &Bitmap| (0..240).find(|&x| (0..LINE_HEIGHT).any(|y| b.get(x, y)));
        assert!(first_ink(&centred) > first_ink(&left).map(|x| x + 80));
    }

    #[test]
    fn the_bundled_font_has_every_receipt_word() {
        let r = Rasteriser::bundled();
        let missing: String = Language::ALL
            .into_iter()
            .flat_map(|lang| super::super::texts::texts(lang).all())
            .flat_map(str::chars)
            .filter(|&c| !r.covers(c))
            .collect();
        assert!(missing.is_empty(), "the bundled font misses {missing:?}");
        assert!(!r.covers('\u{10FFFD}'));
    }

    #[test]
    fn a_font_file_that_is_not_a_font_is_refused() {
        let e = Rasteriser::from_file(Path::new("Cargo.toml")).expect_err("not a font");
        assert!(e.to_string().contains("Cargo.toml"), "{e}");
        assert!(Rasteriser::from_file(Path::new("/nonexistent.ttf")).is_err());
        assert!(Rasteriser::from_file(Path::new("ui/fonts/SelfcheckSansSC-Bold.otf")).is_ok());
    }
}
