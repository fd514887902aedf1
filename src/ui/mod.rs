//! The Slint side: the generated UI, the bridge that writes the screen model into it, and the
//! wiring of its callbacks to the core.

pub mod bridge;

#[allow(clippy::unwrap_used, clippy::all)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// Switch the bundled translation of every `@tr()` string ("en" means the source text).
pub fn select_language(code: &str) {
    let lang = if code == "en" { "" } else { code };
    if let Err(e) = slint::select_bundled_translation(lang) {
        tracing::warn!("no translation for \"{code}\": {e}");
    }
}
