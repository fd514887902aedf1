//! Round trips through the SIP2 client actor to the demo ILS over loopback TCP, with error
//! detection on: the ceiling for online circulation and offline-queue replay.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use selfcheck::sip2::client::{ClientConfig, Sip2Handle};
use selfcheck::sip2::demo_ils::{DemoIls, ServerConfig, sample};
use selfcheck::sip2::{Checkin, Checkout, ItemInformation, Message};

fn round_trips(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return;
    };
    let setup = rt.block_on(async {
        let ils = DemoIls::open(None).ok()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
        let server = ils.serve(listener, ServerConfig::default()).await.ok()?;
        let client = Sip2Handle::spawn(ClientConfig {
            institution: "DEMO".into(),
            ..ClientConfig::new(server.local_addr().to_string())
        })
        .ok()?;
        let mut link = client.link();
        link.wait_for(|s| s.is_online()).await.ok()?;
        Some((ils, server, client))
    });
    let Some((_ils, _server, client)) = setup else {
        eprintln!("sip2_client bench: could not start the demo ILS");
        return;
    };
    let patron = sample::with_luhn("2100000000001").unwrap_or_default();
    let item = sample::with_luhn("3100000000017").unwrap_or_default();

    c.bench_function("sip2 item information round trip", |b| {
        b.iter(|| {
            let request = Message::ItemInformation(ItemInformation {
                item_id: item.clone(),
                ..Default::default()
            });
            black_box(rt.block_on(client.request(request)).is_ok())
        })
    });
    c.bench_function("sip2 checkout + checkin (two transactions)", |b| {
        b.iter(|| {
            let out = Message::Checkout(Checkout {
                patron_id: patron.clone(),
                item_id: item.clone(),
                ..Default::default()
            });
            let back = Message::Checkin(Checkin {
                item_id: item.clone(),
                ..Default::default()
            });
            rt.block_on(async {
                black_box(client.request(out).await.is_ok());
                black_box(client.request(back).await.is_ok());
            })
        })
    });
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
