//! Every `@tr("...")` string in ui/ has a non-empty translation in every bundled .po file, and
//! no .po file keeps strings the screens no longer use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The first string literal after each `@tr(` (the singular; plurals share its entry).
fn slint_msgids() -> BTreeSet<String> {
    let mut paths = Vec::new();
    files(Path::new("ui"), "slint", &mut paths);
    let mut ids = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("slint file");
        for (at, _) in text.match_indices("@tr(") {
            let rest = text[at + 4..].trim_start();
            let rest = rest.strip_prefix('"').expect("@tr starts with a literal");
            let end = rest.find('"').expect("closing quote");
            ids.insert(rest[..end].replace("\\\"", "\""));
        }
    }
    ids
}

fn unquote(line: &str, key: &str) -> Option<String> {
    let rest = line.strip_prefix(key)?.trim();
    Some(
        rest.strip_prefix('"')?
            .strip_suffix('"')?
            .replace("\\\"", "\""),
    )
}

/// (msgid, every msgstr non-empty) per entry of a .po file.
fn po_entries(path: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(path).expect("po file");
    let mut entries: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        if let Some(id) = unquote(line, "msgid ") {
            entries.push((id, true));
        } else if let Some(s) = unquote(line, "msgstr ").or_else(|| {
            line.strip_prefix("msgstr[")
                .and_then(|r| r.split_once("] "))
                .and_then(|(_, v)| unquote(&format!("x {v}"), "x "))
        }) && let Some(last) = entries.last_mut()
            && !last.0.is_empty()
        {
            last.1 &= !s.is_empty();
        }
    }
    entries.retain(|(id, _)| !id.is_empty());
    entries
}

#[test]
fn every_screen_string_is_translated() {
    let wanted = slint_msgids();
    assert!(wanted.len() > 100, "found only {} strings", wanted.len());
    for lang in ["it", "zh_CN"] {
        let path = PathBuf::from(format!("ui/lang/{lang}/LC_MESSAGES/selfcheck.po"));
        let entries = po_entries(&path);
        let have: BTreeSet<String> = entries.iter().map(|(id, _)| id.clone()).collect();
        let missing: Vec<_> = wanted.difference(&have).collect();
        assert!(missing.is_empty(), "{lang}: untranslated {missing:?}");
        let stale: Vec<_> = have.difference(&wanted).collect();
        assert!(stale.is_empty(), "{lang}: no longer used {stale:?}");
        let empty: Vec<_> = entries.iter().filter(|(_, ok)| !ok).collect();
        assert!(empty.is_empty(), "{lang}: empty translations {empty:?}");
    }
}

/// The bundled CJK font is a subset (`scripts/subset-font`): every character the screens and
/// their translations can show must be in it, or a kiosk without system CJK fonts shows boxes.
#[test]
fn the_bundled_font_has_every_character_the_screens_use() {
    let mut sources = Vec::new();
    files(Path::new("ui"), "po", &mut sources);
    files(Path::new("ui"), "slint", &mut sources);
    // The sentences the Rust side writes into the screens (src/ui/texts.rs and the demo).
    files(Path::new("src/ui"), "rs", &mut sources);
    let text: BTreeSet<char> = sources
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .expect("source")
                .chars()
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect();
    assert!(text.contains(&'借'), "the sources were read");
    for style in ["Regular", "Bold"] {
        let path = format!("ui/fonts/SelfcheckSansSC-{style}.otf");
        let data = std::fs::read(&path).expect("bundled font");
        let face = ttf_parser::Face::parse(&data, 0).expect("a font");
        let missing: String = text
            .iter()
            .filter(|c| face.glyph_index(**c).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "{path} lacks {missing:?}: run scripts/subset-font"
        );
    }
}
