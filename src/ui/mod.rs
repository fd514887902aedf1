//! The Slint side: the generated UI, the bridge that writes the screen model into it, and the
//! wiring of its callbacks to the core.
//!
//! The adapter globals in `ui/globals/*.slint` are the contract with the core: plain strings,
//! numbers, flags and models of structs; dates and money arrive already formatted
//! ([`format`]).

pub mod bridge;
pub mod demo;
pub mod demo_pad;
pub mod format;
pub mod lobby;
pub mod screenshot;
pub mod sound;
pub mod staff;
pub mod texts;

#[allow(clippy::unwrap_used, clippy::all)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;
use slint::{ComponentHandle, SharedString};

pub use screenshot::scale_factor_for;

/// A list for an adapter property.
pub(crate) fn rows<T: Clone + 'static>(rows: Vec<T>) -> slint::ModelRc<T> {
    slint::ModelRc::from(std::rc::Rc::new(slint::VecModel::from(rows)))
}

/// Switch the bundled translation of every `@tr()` string ("en" means the source text).
pub fn select_language(code: &str) {
    let lang = if code == "en" { "" } else { code };
    if let Err(e) = slint::select_bundled_translation(lang) {
        tracing::warn!("no translation for \"{code}\": {e}");
    }
}

/// Install the helpers the .slint side cannot do itself (Slint has no substring). Call once
/// after creating the window.
pub fn install_helpers(window: &AppWindow) {
    window
        .global::<TextHelpers>()
        .on_drop_last(|text: SharedString| {
            let mut text = text.to_string();
            text.pop();
            text.into()
        });
}
