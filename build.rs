fn main() {
    #[cfg(feature = "gui")]
    {
        let config = slint_build::CompilerConfiguration::new()
            .with_bundled_translations("ui/lang")
            .with_default_translation_context(slint_build::DefaultTranslationContext::None)
            // Lets UI tests find elements by id and accessible label; costs a little metadata.
            .with_debug_info(true);
        if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
            eprintln!("Slint compile error: {e}");
            std::process::exit(1);
        }
    }
}
