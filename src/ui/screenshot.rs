//! `selfcheck screenshot`: every view rendered headless with Slint's software renderer into
//! PNG files, `<screen>-<lang>-<W>x<H>.png`. No display, no X server: a minimal platform whose
//! only window is a [`MinimalSoftwareWindow`].

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter, WindowEvent};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};

use super::demo::{self, SHOTS};
use super::{AppWindow, LobbyWindow};
use crate::kiosk::Language;

#[derive(Debug, clap::Args)]
pub struct ScreenshotArgs {
    /// Directory for the PNG files (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Size in physical pixels, WxH; may be given several times
    #[arg(long, value_name = "WxH", default_value = "800x480", value_parser = parse_size)]
    pub size: Vec<(u32, u32)>,
    /// Only this language (en, it, zh_CN); all of them when absent
    #[arg(long, value_name = "LC", value_parser = parse_language)]
    pub lang: Option<Language>,
    /// Only the screens whose name contains this (e.g. `pad`, `staff`, `lobby`)
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("cannot set up headless rendering: {0}")]
    Platform(String),
    #[error("cannot create the window: {0}")]
    Window(#[from] slint::PlatformError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {source}")]
    Encode {
        path: PathBuf,
        source: png::EncodingError,
    },
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("\"{text}\" is not WxH (e.g. 800x480)"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in \"{text}\""))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in \"{text}\""))?;
    if !(200..=8192).contains(&w) || !(200..=8192).contains(&h) {
        return Err(format!("{w}x{h}: each side must be 200 to 8192 pixels"));
    }
    Ok((w, h))
}

fn parse_language(code: &str) -> Result<Language, String> {
    Language::from_code(code).ok_or_else(|| {
        let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
        format!("unknown language \"{code}\" (known: {})", known.join(", "))
    })
}

/// The scale factor a panel of this size runs at, so the layouts (designed for 800x480 and
/// 480x800 logical pixels) fill larger screens instead of shrinking on them.
pub fn scale_factor_for(width: u32, height: u32) -> f32 {
    let (long, short) = (width.max(height) as f32, width.min(height) as f32);
    let fit = (long / 800.0).min(short / 480.0);
    // Quarter steps keep lines crisp.
    ((fit * 4.0).floor() / 4.0).clamp(1.0, 3.0)
}

/// Each window the UI creates gets a software window of its own; the last one made waits in
/// `made` for its owner to take it.
struct HeadlessPlatform {
    made: Rc<RefCell<Option<Rc<MinimalSoftwareWindow>>>>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        *self.made.borrow_mut() = Some(window.clone());
        Ok(window)
    }
}

/// A software window and its frame buffer.
struct Surface {
    window: Rc<MinimalSoftwareWindow>,
    buffer: Vec<Rgb8Pixel>,
}

impl Surface {
    fn take(made: &RefCell<Option<Rc<MinimalSoftwareWindow>>>) -> Result<Surface, ScreenshotError> {
        let window = made
            .borrow_mut()
            .take()
            .ok_or_else(|| ScreenshotError::Platform("no window was made".into()))?;
        Ok(Surface {
            window,
            buffer: Vec::new(),
        })
    }

    fn render(&mut self, width: u32, height: u32) -> &[Rgb8Pixel] {
        let scale_factor = scale_factor_for(width, height);
        self.window
            .dispatch_event(WindowEvent::ScaleFactorChanged { scale_factor });
        self.window.set_size(PhysicalSize::new(width, height));
        slint::platform::update_timers_and_animations();
        self.window.request_redraw();
        let len = (width as usize) * (height as usize);
        self.buffer.clear();
        self.buffer.resize(len, Rgb8Pixel::new(0, 0, 0));
        let buffer = &mut self.buffer;
        self.window.draw_if_needed(|renderer| {
            renderer.render(buffer, width as usize);
        });
        &self.buffer
    }
}

/// The headless window and its frame buffer. One per process: Slint's platform is global.
pub struct Headless {
    made: Rc<RefCell<Option<Rc<MinimalSoftwareWindow>>>>,
    surface: Surface,
    pub app: AppWindow,
}

/// The lobby screen's headless window (made by [`Headless::lobby`]).
pub struct LobbyHeadless {
    surface: Surface,
    pub window: LobbyWindow,
}

impl Headless {
    /// Install the headless platform and create the kiosk window on it.
    pub fn new() -> Result<Headless, ScreenshotError> {
        let made = Rc::new(RefCell::new(None));
        slint::platform::set_platform(Box::new(HeadlessPlatform { made: made.clone() }))
            .map_err(|e| ScreenshotError::Platform(e.to_string()))?;
        let app = AppWindow::new()?;
        let surface = Surface::take(&made)?;
        super::install_helpers(&app);
        app.show()?;
        Ok(Headless { made, surface, app })
    }

    /// Render the current state at `width` x `height` physical pixels; returns the pixels,
    /// row by row.
    pub fn render(&mut self, width: u32, height: u32) -> &[Rgb8Pixel] {
        self.surface.render(width, height)
    }

    /// A lobby screen window beside the kiosk's, on the same platform.
    pub fn lobby(&self) -> Result<LobbyHeadless, ScreenshotError> {
        let window = LobbyWindow::new()?;
        let surface = Surface::take(&self.made)?;
        window.show()?;
        Ok(LobbyHeadless { surface, window })
    }
}

impl LobbyHeadless {
    /// Render the lobby at `width` x `height` physical pixels.
    pub fn render(&mut self, width: u32, height: u32) -> &[Rgb8Pixel] {
        self.surface.render(width, height)
    }

    /// Fill the screen with the sample fleet's day of `terminals` kiosks, in `language`.
    pub fn show_sample(&self, terminals: usize, language: Language) {
        use crate::config::time_zone::Zone;
        let zone = Zone::Named(chrono_tz::Europe::Rome);
        let now = sample_now();
        let mut lobby = crate::lobby::sample::lobby(terminals, terminals.max(12) * 120, now, zone);
        let figures = lobby.figures(now);
        super::select_language(language.code());
        super::lobby::show(
            &self.window,
            &figures,
            "Biblioteca civica",
            zone,
            language,
            now,
        );
    }
}

/// The instant the sample lobby shows: an afternoon in Rome.
fn sample_now() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 12, 8, 14, 40, 0)
        .single()
        .unwrap_or_default()
}

/// Kiosks in the lobby screenshots.
pub const LOBBY_SHOT_TERMINALS: usize = 12;

/// Write RGB pixels as a PNG file.
pub fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    pixels: &[Rgb8Pixel],
) -> Result<(), ScreenshotError> {
    let file = std::fs::File::create(path).map_err(|source| ScreenshotError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    let encode = |source| ScreenshotError::Encode {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(&bytes).map_err(encode)?;
    writer.finish().map_err(encode)
}

/// Render every screen (or those `--only` picks) in every size and language asked for.
/// Returns the files written.
pub fn run(args: &ScreenshotArgs) -> Result<Vec<PathBuf>, ScreenshotError> {
    std::fs::create_dir_all(&args.out).map_err(|source| ScreenshotError::Write {
        path: args.out.clone(),
        source,
    })?;
    let languages: Vec<Language> = match args.lang {
        Some(l) => vec![l],
        None => Language::ALL.to_vec(),
    };
    let mut headless = Headless::new()?;
    let mut written = Vec::new();
    for &(width, height) in &args.size {
        for &language in &languages {
            for shot in SHOTS {
                if args.only.as_deref().is_some_and(|o| !shot.name.contains(o)) {
                    continue;
                }
                demo::show(&headless.app, shot, language);
                let pixels = headless.render(width, height);
                let name = format!("{}-{}-{width}x{height}.png", shot.name, language.code());
                let path = args.out.join(name);
                write_png(&path, width, height, pixels)?;
                tracing::debug!(path = %path.display(), "written");
                written.push(path);
            }
        }
    }
    if args.only.as_deref().is_none_or(|o| "lobby".contains(o)) {
        let mut lobby = headless.lobby()?;
        for &(width, height) in &args.size {
            for &language in &languages {
                lobby.show_sample(LOBBY_SHOT_TERMINALS, language);
                let pixels = lobby.render(width, height);
                let path = args
                    .out
                    .join(format!("lobby-{}-{width}x{height}.png", language.code()));
                write_png(&path, width, height, pixels)?;
                written.push(path);
            }
        }
        lobby.window.hide()?;
    }
    // The window goes before the platform's event loop would have ended it.
    headless.app.hide()?;
    let _ = headless.app.as_weak();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_scale() {
        assert_eq!(parse_size("800x480"), Ok((800, 480)));
        assert_eq!(parse_size("1920X1080"), Ok((1920, 1080)));
        assert!(parse_size("800").is_err());
        assert!(parse_size("10x10").is_err());
        assert_eq!(scale_factor_for(800, 480), 1.0);
        assert_eq!(scale_factor_for(480, 800), 1.0);
        assert_eq!(scale_factor_for(1920, 1080), 2.25);
        assert_eq!(scale_factor_for(1080, 1920), 2.25);
        assert_eq!(scale_factor_for(1280, 800), 1.5);
        assert_eq!(scale_factor_for(640, 400), 1.0);
    }

    #[test]
    fn languages_parse() {
        assert_eq!(parse_language("zh_CN"), Ok(Language::Chinese));
        assert!(parse_language("fr").is_err());
    }
}
