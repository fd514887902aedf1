//! RFID benchmarks: tag data decoding throughput (criterion), and a table of the simulated pad's
//! modelled air time and inventory rounds for stacks of tags against the ideal of one
//! collision-free 16-slot round.
//!
//! `cargo bench --bench rfid` prints the table first, then runs criterion.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use selfcheck::rfid::sim::{SimPad, air};
use selfcheck::rfid::tag::{
    DataModel, ItemRecord, SetInfo, TypeOfUsage, Uid, decode_memory, encode_item,
};
use selfcheck::rfid::{Iso15693Reader, TagReader};

fn part3_image() -> Vec<u8> {
    let mut record = ItemRecord::new(
        DataModel::Iso28560_3,
        TypeOfUsage::Circulating,
        "3900012345",
    );
    record.owner_isil = Some("DK-710100".into());
    record.set = Some(SetInfo {
        parts: 2,
        part_no: 1,
    });
    let mut image = encode_item(&record, DataModel::Iso28560_3, 112).expect("valid record");
    image.resize(112, 0);
    image
}

fn part2_image() -> Vec<u8> {
    let mut record = ItemRecord::new(
        DataModel::Iso28560_2,
        TypeOfUsage::Circulating,
        "31234001234567",
    );
    record.owner_isil = Some("FI-He".into());
    record.shelf_location = Some("84.2 KIV".into());
    let mut image = encode_item(&record, DataModel::Iso28560_2, 112).expect("valid record");
    image.resize(112, 0);
    image
}

fn decode_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_memory");
    for (name, image, dsfid) in [
        ("iso28560_3", part3_image(), 0x00u8),
        ("iso28560_2", part2_image(), 0x06),
    ] {
        group.throughput(Throughput::Bytes(image.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| decode_memory(black_box(&image), Some(dsfid)))
        });
    }
    group.finish();
}

fn sim_benches(c: &mut Criterion) {
    let pad = SimPad::new();
    for uid in stack(10, 1) {
        pad.place_blank(uid);
    }
    let mut reader = Iso15693Reader::new(pad);
    c.bench_function("sim_inventory_10_tags_cpu", |b| {
        b.iter(|| reader.inventory())
    });
}

criterion_group!(benches, decode_benches, sim_benches);

/// A deterministic pseudo-random stack (splitmix64), NXP UIDs.
fn stack(n: usize, seed: u64) -> Vec<Uid> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (0xE004_0000_0000_0000 | (z & 0x0000_FFFF_FFFF_FFFF)).to_le_bytes()
        })
        .collect()
}

/// One collision-free 16-slot round per 16 tags: request, replies, empty slots, slot EOFs.
fn ideal_inventory(n: usize) -> Duration {
    let rounds = n.div_ceil(16).max(1);
    let request = air::frame(3);
    let reply = air::RESPONSE_DELAY + air::frame(10);
    let empty = rounds * 16 - n;
    request * rounds as u32
        + reply * n as u32
        + air::EMPTY_SLOT * empty as u32
        + air::EOF * (15 * rounds) as u32
}

fn air_time_table() {
    const TRIALS: u64 = 200;
    println!("Simulated ISO 15693 air time, mean of {TRIALS} random stacks per size");
    println!(
        "cold: the reader's first inventory of the stack; warm: the next one, which expects as \
         many tags as it found; read: every tag read once, EAS read skipped (use_eas = false)"
    );
    println!(
        "{:>5} | {:>7} {:>10} | {:>8} {:>8} {:>8} | {:>10} {:>10} | {:>8}",
        "tags",
        "rounds",
        "collisions",
        "cold ms",
        "warm ms",
        "ideal ms",
        "cold ratio",
        "warm ratio",
        "read ms"
    );
    for n in [0usize, 1, 5, 10, 20] {
        let (mut rounds, mut collisions) = (0u64, 0u64);
        let (mut cold, mut warm, mut read) = (0f64, 0f64, 0f64);
        for seed in 0..TRIALS {
            let pad = SimPad::new();
            for uid in stack(n, seed + 1) {
                pad.place_blank(uid);
            }
            let mut reader = Iso15693Reader::new(pad.clone());
            reader.set_eas_reads(false);
            let found = reader.inventory().expect("sim");
            assert_eq!(found.len(), n);
            let stats = reader.last_inventory();
            rounds += u64::from(stats.rounds + stats.single_slot_rounds);
            collisions += u64::from(stats.collisions);
            cold += pad.air_time().as_secs_f64();
            pad.reset_clock();
            assert_eq!(reader.inventory().expect("sim").len(), n);
            warm += pad.air_time().as_secs_f64();
            pad.reset_clock();
            for uid in &found {
                reader.read_tag(uid).expect("sim");
            }
            read += pad.air_time().as_secs_f64();
        }
        let t = TRIALS as f64;
        let ideal = ideal_inventory(n).as_secs_f64();
        println!(
            "{:>5} | {:>7.2} {:>10.2} | {:>8.1} {:>8.1} {:>8.1} | {:>10.2} {:>10.2} | {:>8.1}",
            n,
            rounds as f64 / t,
            collisions as f64 / t,
            cold / t * 1e3,
            warm / t * 1e3,
            ideal * 1e3,
            cold / t / ideal,
            warm / t / ideal,
            read / t * 1e3
        );
    }
    println!();
}

fn main() {
    air_time_table();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
