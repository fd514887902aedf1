//! The lobby screen: how many fleet events its view model takes a second on one core, and
//! the time to render its frame at 1920x1080 with 500 kiosks on the wall (Slint's software
//! renderer, headless).
//!
//! `cargo bench --bench lobby`

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use selfcheck::config::time_zone::Zone;
use selfcheck::kiosk::Language;
use selfcheck::lobby::{Lobby, sample};
use selfcheck::ui::screenshot::Headless;

/// Events in one measured batch.
const BATCH: usize = 20_000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 8, 17, 0, 0)
        .single()
        .expect("time")
}

fn ingest(c: &mut Criterion) {
    let zone = Zone::Named(chrono_tz::Europe::Rome);
    let prefix = "selfcheck/v1";
    // The events (not the retained topics) of a busy day of 500 kiosks.
    let events: Vec<sample::Received> = sample::day(prefix, 500, BATCH * 6 / 5, now(), zone)
        .into_iter()
        .filter(|m| m.topic.ends_with("/event"))
        .take(BATCH)
        .collect();
    assert_eq!(events.len(), BATCH);
    let mut group = c.benchmark_group("lobby");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    group.bench_function("ingest/500-terminals", |b| {
        b.iter_batched(
            || {
                Lobby::new(
                    prefix,
                    None,
                    zone,
                    Duration::from_secs(300),
                    now() - chrono::Duration::hours(10),
                )
            },
            |mut lobby| {
                for m in &events {
                    let _ = lobby.ingest(&m.topic, &m.payload, m.at);
                }
                black_box(lobby.figures(now()).loans)
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let headless = Headless::new().expect("headless platform");
    let mut lobby = headless.lobby().expect("lobby window");
    let mut group = c.benchmark_group("lobby-render");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    for language in [Language::English, Language::Chinese] {
        lobby.show_sample(500, language);
        for (w, h) in [(1920, 1080), (1280, 720)] {
            group.bench_function(format!("500-terminals/{}/{w}x{h}", language.code()), |b| {
                b.iter(|| black_box(lobby.render(w, h).len()));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, ingest, render);

fn main() {
    // Slint's platform and window live on this thread (see benches/render.rs).
    benches();
    Criterion::default().configure_from_args().final_summary();
}
