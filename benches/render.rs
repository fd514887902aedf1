//! Time to render the busiest screens (the pad with 10 items, the account page) with Slint's
//! software renderer, headless, at the 7" panel's 800x480 and at 1920x1080 (scale 2).
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use selfcheck::kiosk::Language;
use selfcheck::ui::demo::{self, SHOTS};
use selfcheck::ui::screenshot::Headless;

fn render(c: &mut Criterion) {
    let mut headless = Headless::new().expect("headless platform");
    let mut group = c.benchmark_group("render");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    for name in ["pad", "account"] {
        let shot = SHOTS.iter().find(|s| s.name == name).expect("shot");
        for language in [Language::English, Language::Chinese] {
            demo::show(&headless.app, shot, language);
            for (w, h) in [(800, 480), (1920, 1080)] {
                let id = format!("{name}/{}/{w}x{h}", language.code());
                group.bench_function(id, |b| {
                    b.iter(|| black_box(headless.render(w, h).len()));
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, render);

fn main() {
    // Slint's platform and window live on this thread: run criterion here, not in the
    // `criterion_main!` wrapper's closures on another thread.
    benches();
    Criterion::default().configure_from_args().final_summary();
}
