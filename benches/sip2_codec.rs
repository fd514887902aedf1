//! SIP2 codec throughput: encode and decode of a typical checkout response (12) with error
//! detection, the message a kiosk handles once per borrowed item.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfcheck::sip2::{
    Charset, CheckoutResponse, Message, Sequence, SipDateTime, YesNoUnknown, decode, encode_into,
};

fn checkout_response() -> Message {
    let at = |d: u32, h: u32| {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .and_then(|date| date.and_hms_opt(h, 15, 0))
            .map(SipDateTime::local)
    };
    Message::CheckoutResponse(CheckoutResponse {
        ok: true,
        renewal_ok: false,
        magnetic_media: YesNoUnknown::No,
        desensitize: YesNoUnknown::Yes,
        transaction_date: at(28, 10),
        institution_id: "HZLIB".into(),
        patron_id: "21234000012345".into(),
        item_id: "31234000987654".into(),
        title_id: "The Name of the Rose / Umberto Eco".into(),
        due_date: "20261219    235900".into(),
        ..Default::default()
    })
}

fn bench(c: &mut Criterion) {
    let message = checkout_response();
    let mut wire = Vec::new();
    if encode_into(&message, Charset::Utf8, Sequence::new(3), &mut wire).is_err() {
        return;
    }
    // scripts/bench-codec checks that pysip2 works on the same frame.
    println!("wire: b'{}'", wire.escape_ascii());

    let mut group = c.benchmark_group("sip2_checkout_response");
    group.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(256);
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            encode_into(
                black_box(&message),
                Charset::Utf8,
                Sequence::new(3),
                &mut buf,
            )
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| decode(black_box(&wire), Charset::Utf8))
    });
    group.bench_function("encode_decode", |b| {
        b.iter(|| {
            buf.clear();
            let _ = encode_into(
                black_box(&message),
                Charset::Utf8,
                Sequence::new(3),
                &mut buf,
            );
            decode(&buf, Charset::Utf8)
        })
    });
    group.bench_function("encode_decode_cp850", |b| {
        b.iter(|| {
            buf.clear();
            let _ = encode_into(
                black_box(&message),
                Charset::Cp850,
                Sequence::new(3),
                &mut buf,
            );
            decode(&buf, Charset::Cp850)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
