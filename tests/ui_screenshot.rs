//! `selfcheck screenshot` writes one non-empty PNG per view, language and size, and none is a
//! flat colour. One test function per file: Slint's platform is process-wide.
#![cfg(feature = "gui")]

use std::collections::HashSet;

use selfcheck::ui::demo::SHOTS;
use selfcheck::ui::screenshot::{ScreenshotArgs, run};

fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("png file");
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png data");
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, buf)
}

#[test]
fn every_view_renders_to_a_real_png_in_every_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = ScreenshotArgs {
        out: dir.path().to_path_buf(),
        size: vec![(800, 480), (480, 800)],
        lang: None,
        only: None,
    };
    let written = run(&args).expect("screenshots");
    // Every kiosk screen and the lobby screen, in three languages and two sizes.
    assert_eq!(written.len(), (SHOTS.len() + 1) * 3 * 2);

    let mut seen = HashSet::new();
    for path in &written {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let (w, h) = if name.ends_with("-800x480.png") {
            (800, 480)
        } else {
            assert!(name.ends_with("-480x800.png"), "{name}");
            (480, 800)
        };
        let (width, height, rgb) = decode(path);
        assert_eq!((width, height), (w, h), "{name}");
        let colours: HashSet<&[u8]> = rgb.chunks(3).collect();
        assert!(
            colours.len() > 16,
            "{name} is nearly flat: {} colours",
            colours.len()
        );
        seen.insert(rgb);
    }
    // Each screen, language and size looks different from every other.
    assert_eq!(seen.len(), written.len());
    for lang in ["en", "it", "zh_CN"] {
        assert!(
            dir.path().join(format!("pad-{lang}-800x480.png")).exists(),
            "pad in {lang}"
        );
        assert!(
            dir.path()
                .join(format!("lobby-{lang}-800x480.png"))
                .exists(),
            "lobby in {lang}"
        );
    }
}
