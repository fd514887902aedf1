//! Circulation figures (a bench command, not a timed test):
//!
//! - a 10-item stack end to end on the simulated pad (pad read, checkout over SIP2 on
//!   loopback against the demo ILS, journal, security write and read-back), wall time vs the
//!   pad's modelled ISO 15693 air time;
//! - the same stack through a slow link: the demo ILS behind an in-process delay (50 ms round
//!   trip, 100 ms of server time per checkout or checkin) with the pad in real time, with one
//!   SIP2 session and with three, end to end vs the modelled air time;
//! - offline replay throughput: 10,000 queued actions replayed against the demo ILS (over the
//!   twelve shelf books, and the worst case of one book lent and returned again and again).
//!
//! `cargo bench --bench circulation` (`SELFCHECK_BENCH_ROUNDS`, `SELFCHECK_BENCH_QUEUE`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use selfcheck::kiosk::{Activity, Event, Kiosk, KioskConfig, Language, Rules, ScreenModel};
use selfcheck::rfid::reader::SharedReader;
use selfcheck::rfid::sim::uid_for;
use selfcheck::rfid::sim::{SimPad, SimTag};
use selfcheck::rfid::tag::{ItemRecord, TypeOfUsage, parse_uid};
use selfcheck::rfid::{DataModel, Iso15693Reader};
use selfcheck::runtime::shell::{Shell, ShellConfig};
use selfcheck::runtime::{Output, Runner};
use selfcheck::sip2::client::{ClientConfig, Sip2Handle};
use selfcheck::sip2::demo_ils::sample::with_luhn;
use selfcheck::sip2::demo_ils::{DemoIls, ServerConfig};
use selfcheck::store::journal::{self, Action, NewEntry, State};
use selfcheck::store::{self, StoreHandle};

struct Quiet;
impl Output for Quiet {
    fn screen(&mut self, _: &ScreenModel) {}
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ils = DemoIls::open(None).expect("ils");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server = ils
            .serve(listener, ServerConfig::default())
            .await
            .expect("serve");
        let sip2 =
            Sip2Handle::spawn(ClientConfig::new(server.local_addr().to_string())).expect("client");
        let mut link = sip2.link();
        while !link.borrow_and_update().is_online() {
            link.changed().await.expect("link");
        }
        stack(&sip2, false).await;
        // The ILS as a city network and a busy server make it.
        let slow = delayed(server.local_addr()).await;
        for sessions in [1, 3] {
            let mut config = ClientConfig::new(slow.to_string());
            config.connections = sessions;
            let slow_sip2 = Sip2Handle::spawn(config).expect("client");
            let mut link = slow_sip2.link();
            while !link.borrow_and_update().is_online() {
                link.changed().await.expect("link");
            }
            // Every session logged in.
            tokio::time::sleep(Duration::from_millis(500)).await;
            println!("through 50 ms round trip + 100 ms server time, {sessions} SIP2 session(s):");
            stack(&slow_sip2, true).await;
        }
        let queue = env("SELFCHECK_BENCH_QUEUE", 10_000);
        replay(&sip2, 12, queue).await;
        replay(&sip2, 1, queue / 10).await;
        server.shutdown().await;
    });
}

/// A TCP relay in front of `ils` that holds each message 25 ms each way, and a checkout or
/// checkin 100 ms more (the server's own time), one message at a time per connection.
async fn delayed(ils: std::net::SocketAddr) -> std::net::SocketAddr {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(ils).await else {
                    return;
                };
                let (cr, mut cw) = client.into_split();
                let (sr, mut sw) = server.into_split();
                let (mut cr, mut sr) = (BufReader::new(cr), BufReader::new(sr));
                let (mut request, mut answer) = (Vec::new(), Vec::new());
                loop {
                    request.clear();
                    match cr.read_until(b'\r', &mut request).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let circulation = request.starts_with(b"11") || request.starts_with(b"09");
                    let hold = if circulation { 125 } else { 25 };
                    tokio::time::sleep(Duration::from_millis(hold)).await;
                    if sw.write_all(&request).await.is_err() {
                        return;
                    }
                    answer.clear();
                    match sr.read_until(b'\r', &mut answer).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    if cw.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A stack of ten borrowed end to end; `real_time`: the pad takes its modelled air time.
async fn stack(sip2: &Sip2Handle, real_time: bool) {
    let rounds = env("SELFCHECK_BENCH_ROUNDS", if real_time { 5 } else { 20 });
    let dir = tempfile::tempdir().expect("tmp");
    let store =
        StoreHandle::spawn(store::open(&dir.path().join("b.db")).expect("db")).expect("store");
    let pad = SimPad::new();
    pad.set_real_time(real_time);
    let reader: SharedReader = Arc::new(Mutex::new(Box::new(Iso15693Reader::new(pad.clone()))));
    let shell = Shell::new(
        sip2.clone(),
        store,
        reader,
        ShellConfig::from_settings(&selfcheck::config::Settings::default()),
    );
    let kiosk = Kiosk::with_rules(
        KioskConfig {
            languages: vec![Language::English],
            idle_timeout: Duration::from_secs(600),
        },
        Rules {
            require_pin: false,
            ..Rules::default()
        },
    );
    let mut runner = Runner::new(kiosk, shell, Box::new(Quiet));
    runner
        .feed(Event::LinkChanged { online: true })
        .await
        .expect("link");
    let patron = with_luhn("2100000000008").expect("id");
    let items: Vec<String> = [1u32, 3, 4, 9, 11, 14, 17, 19, 21, 24]
        .iter()
        .map(|n| with_luhn(&format!("31000000000{n:02}")).expect("id"))
        .collect();
    let mut wall = Duration::ZERO;
    let mut air = Duration::ZERO;
    for _ in 0..rounds {
        runner
            .feed(Event::Start(Activity::Borrow))
            .await
            .expect("start");
        runner
            .feed(Event::Patron(patron.clone()))
            .await
            .expect("patron");
        for item in &items {
            let record = ItemRecord::new(
                DataModel::Iso28560_3,
                TypeOfUsage::Circulating,
                item.as_str(),
            );
            let uid = parse_uid(&uid_for(item, 0)).expect("uid");
            pad.place(SimTag::item(uid, &record, DataModel::Iso28560_3).expect("tag"));
        }
        pad.reset_clock();
        let started = Instant::now();
        runner.poll_pad().await.expect("pad");
        wall += started.elapsed();
        air += pad.air_time();
        let m = runner.kiosk.model();
        assert_eq!(m.done_count(), 10, "stack not done: {:#?}", m.items);
        runner.feed(Event::Done).await.expect("done");
        runner.feed(Event::Done).await.expect("done");
        // Return them (not measured).
        runner
            .feed(Event::Start(Activity::Return))
            .await
            .expect("start");
        runner.poll_pad().await.expect("pad");
        runner.feed(Event::Done).await.expect("done");
        runner.feed(Event::Done).await.expect("done");
        pad.clear();
        runner.poll_pad().await.expect("pad");
    }
    let n = rounds as u32;
    println!(
        "stack of 10 (borrow, end to end): wall {:.1?} per stack, modelled air time {:.1?} per stack, ratio {:.2}",
        wall / n,
        air / n,
        wall.as_secs_f64() / air.as_secs_f64().max(1e-9)
    );
}

/// An offline queue as a day without the link leaves it: the shelf's books lent, then
/// returned, over and over (`spread` books; 1 is the worst case, one book lent and returned
/// again and again, where every row waits for the one before it).
async fn replay(sip2: &Sip2Handle, spread: usize, total: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let store =
        StoreHandle::spawn(store::open(&dir.path().join("q.db")).expect("db")).expect("store");
    let patron = with_luhn("2100000000003").expect("id");
    let items: Vec<String> = [1u32, 3, 4, 9, 11, 14, 16, 17, 19, 21, 22, 24][..spread]
        .iter()
        .map(|n| with_luhn(&format!("31000000000{n:02}")).expect("id"))
        .collect();
    let p = patron.clone();
    store
        .call(move |c| {
            for k in 0..total {
                let item = &items[k % items.len()];
                let checkout = (k / items.len()).is_multiple_of(2);
                journal::record(
                    c,
                    &NewEntry {
                        action: if checkout {
                            Action::Checkout
                        } else {
                            Action::Checkin
                        },
                        patron_id: checkout.then_some(p.as_str()),
                        item_id: Some(item),
                        state: State::Queued,
                        transaction_at: "20261128    101500",
                        due_at: checkout.then_some("20261219    235959"),
                    },
                )?;
            }
            Ok(())
        })
        .await
        .expect("queue");
    let started = Instant::now();
    let report = selfcheck::sync::run(sip2, &store, |_, _| {})
        .await
        .expect("sync");
    let took = started.elapsed();
    println!(
        "offline replay over {spread} book(s): {total} queued actions in {took:.2?} = {:.0} actions/s (done {}, already {}, conflicts {})",
        total as f64 / took.as_secs_f64(),
        report.done,
        report.already_done,
        report.conflicts
    );
}
