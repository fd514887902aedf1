//! The SIP2 client against the demo ILS, against scripted fake servers that misbehave on
//! purpose, and (when `SELFCHECK_PYTHON` names a Python with `pysip2` and `sip2` installed)
//! against independent Python peers.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use selfcheck::sip2::client::{ClientConfig, ClientError, LinkState, Sip2Handle, TlsConfig};
use selfcheck::sip2::demo_ils::{DemoIls, ItemState, ServerConfig, ServerHandle, sample};
use selfcheck::sip2::{
    AcsStatus, Charset, Checkin, Checkout, CheckoutResponse, ItemInformation, LoginResponse,
    Message, PatronInformation, PatronStatusRequest, PatronStatusResponse, Renew, Sequence,
    SipDateTime, Summary, decode, encode, split_frame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// Upper bound for anything in these tests to happen; only guards against a hang.
const GUARD: Duration = Duration::from_secs(60);

fn id(stem: &str) -> String {
    sample::with_luhn(stem).expect("digits")
}

fn config(addr: &str) -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_secs(1),
        heartbeat: Duration::from_secs(24 * 3600),
        max_retries: 2,
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_secs(1),
        institution: "DEMO".into(),
        ..ClientConfig::new(addr)
    }
}

async fn wait_link(
    link: &mut watch::Receiver<LinkState>,
    want: fn(&LinkState) -> bool,
) -> LinkState {
    tokio::time::timeout(GUARD, link.wait_for(want))
        .await
        .expect("link state in time")
        .expect("client alive")
        .clone()
}

fn online(s: &LinkState) -> bool {
    s.is_online()
}

fn offline(s: &LinkState) -> bool {
    matches!(s, LinkState::Offline { .. })
}

/// Institution and transaction date are left for the client to fill in (strict servers such
/// as pysip2's refuse a blank date).
fn patron_status(patron: &str, pin: &str) -> Message {
    Message::PatronStatusRequest(PatronStatusRequest {
        patron_id: patron.into(),
        patron_password: pin.into(),
        ..Default::default()
    })
}

fn checkout(patron: &str, item: &str) -> Message {
    Message::Checkout(Checkout {
        institution_id: "DEMO".into(),
        patron_id: patron.into(),
        item_id: item.into(),
        transaction_date: Some(SipDateTime::local(chrono::Local::now().naive_local())),
        ..Default::default()
    })
}

fn checkin(item: &str) -> Message {
    Message::Checkin(Checkin {
        institution_id: "DEMO".into(),
        item_id: item.into(),
        transaction_date: Some(SipDateTime::local(chrono::Local::now().naive_local())),
        ..Default::default()
    })
}

async fn start_ils(config: ServerConfig) -> (DemoIls, ServerHandle) {
    let ils = DemoIls::open(None).expect("demo catalogue");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = ils.serve(listener, config).await.expect("serve");
    (ils, server)
}

fn ils_config() -> ServerConfig {
    ServerConfig {
        login: Some(("kiosk".into(), "secret".into())),
        error_detection: true,
        ..ServerConfig::default()
    }
}

fn logged_in(addr: &str) -> ClientConfig {
    ClientConfig {
        login: Some(("kiosk".into(), "secret".into(), "LOBBY".into())),
        ..config(addr)
    }
}

// ---- against the demo ILS ----------------------------------------------------------------

#[tokio::test]
async fn demo_ils_circulation_round_trip() {
    let (ils, server) = start_ils(ils_config()).await;
    let client = Sip2Handle::spawn(logged_in(&server.local_addr().to_string())).expect("spawn");
    let mut link = client.link();
    let LinkState::Online { acs } = wait_link(&mut link, online).await else {
        unreachable!()
    };
    assert!(acs.online_status && acs.checkout_ok);
    assert_eq!(acs.institution_id, "DEMO");

    let (giulia, li) = (id("2100000000002"), id("2100000000001"));
    match client.request(patron_status(&giulia, "2345")).await {
        Ok(Message::PatronStatusResponse(r)) => {
            assert_eq!(r.valid_patron, Some(true));
            assert_eq!(r.valid_patron_password, Some(true));
            assert_eq!(r.personal_name, "Giulia Rossi");
        }
        other => panic!("patron status: {other:?}"),
    }
    let info = Message::PatronInformation(PatronInformation {
        institution_id: "DEMO".into(),
        patron_id: li.clone(),
        summary: Summary {
            charged_items: true,
            ..Default::default()
        },
        ..Default::default()
    });
    match client.request(info).await {
        Ok(Message::PatronInformationResponse(r)) => {
            assert_eq!(r.charged_items, vec![id("3100000000002")]);
            assert_eq!(r.charged_items_count, Some(1));
            assert!(r.hold_items.is_empty(), "only the list asked for");
            assert_eq!(r.personal_name, "李伟 (Li Wei)");
        }
        other => panic!("patron information: {other:?}"),
    }

    let hongloumeng = id("3100000000001");
    match client.request(checkout(&giulia, &hongloumeng)).await {
        Ok(Message::CheckoutResponse(r)) => {
            assert!(r.ok, "{:?}", r.screen_messages);
            assert_eq!(r.title_id, "红楼梦");
            assert!(
                SipDateTime::parse(&r.due_date).is_some(),
                "due date {:?}",
                r.due_date
            );
        }
        other => panic!("checkout: {other:?}"),
    }
    assert!(ils.loans_of(&giulia).expect("loans").contains(&hongloumeng));
    // Borrowed by someone else: refused with a screen message.
    match client.request(checkout(&li, &hongloumeng)).await {
        Ok(Message::CheckoutResponse(r)) => {
            assert!(!r.ok);
            assert!(
                r.screen_messages
                    .iter()
                    .any(|m| m.contains("another reader"))
            );
        }
        other => panic!("second checkout: {other:?}"),
    }
    let renew = Message::Renew(Renew {
        institution_id: "DEMO".into(),
        patron_id: giulia.clone(),
        item_id: Some(id("3100000000012")),
        ..Default::default()
    });
    match client.request(renew).await {
        Ok(Message::RenewResponse(r)) => assert!(r.ok && r.renewal_ok, "{:?}", r.screen_messages),
        other => panic!("renew: {other:?}"),
    }
    match client.request(checkin(&hongloumeng)).await {
        Ok(Message::CheckinResponse(r)) => {
            assert!(r.ok && r.resensitize);
            assert_eq!(r.patron_id.as_deref(), Some(giulia.as_str()));
            assert_eq!(r.sort_bin.as_deref(), Some("A"));
        }
        other => panic!("checkin: {other:?}"),
    }
    let item = ils.item_status(&hongloumeng).expect("db").expect("item");
    assert_eq!(item.state, ItemState::Available);
    assert_eq!(ils.transaction_count(Some("checkout")).expect("db"), 1);
    assert_eq!(ils.transaction_count(Some("checkin")).expect("db"), 1);
    assert_eq!(ils.transaction_count(Some("renew")).expect("db"), 1);

    // More requests than sequence numbers: AY wraps 9 -> 0 and every answer still matches.
    for _ in 0..12 {
        let item = Message::ItemInformation(ItemInformation {
            institution_id: "DEMO".into(),
            item_id: id("3100000000028"),
            ..Default::default()
        });
        match client.request(item).await {
            Ok(Message::ItemInformationResponse(r)) => {
                assert_eq!(r.circulation_status.code(), "03")
            }
            other => panic!("item information: {other:?}"),
        }
    }
    assert!(client.link().borrow().is_online());
    server.shutdown().await;
}

#[tokio::test]
async fn demo_ils_offline_replay_keeps_the_promised_due_date_and_is_idempotent() {
    let (ils, server) = start_ils(ils_config()).await;
    let client = Sip2Handle::spawn(logged_in(&server.local_addr().to_string())).expect("spawn");
    wait_link(&mut client.link(), online).await;
    // Wang Fang is one item short of her limit; the kiosk lent two while offline.
    let wang = id("2100000000007");
    let promised = "20261205    235959";
    for item in ["3100000000003", "3100000000004", "3100000000003"] {
        let replay = Message::Checkout(Checkout {
            no_block: true,
            nb_due_date: SipDateTime::parse(promised),
            transaction_date: SipDateTime::parse("20261128    101500"),
            patron_id: wang.clone(),
            item_id: id(item),
            ..Default::default()
        });
        match client.request(replay).await {
            Ok(Message::CheckoutResponse(r)) => {
                assert!(r.ok, "{item}: {:?}", r.screen_messages);
                assert_eq!(r.due_date, promised, "{item}");
            }
            other => panic!("{item}: {other:?}"),
        }
    }
    // The replayed duplicate changed nothing.
    assert_eq!(ils.transaction_count(Some("checkout")).expect("db"), 2);
    assert_eq!(ils.loans_of(&wang).expect("db").len(), 6);
    server.shutdown().await;
}

#[tokio::test]
async fn demo_ils_refuses_a_wrong_login() {
    let (_ils, server) = start_ils(ils_config()).await;
    let cfg = ClientConfig {
        login: Some(("kiosk".into(), "wrong".into(), String::new())),
        ..config(&server.local_addr().to_string())
    };
    let client = Sip2Handle::spawn(cfg).expect("spawn");
    let mut link = client.link();
    match wait_link(&mut link, offline).await {
        LinkState::Offline { reason, .. } => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.request(patron_status("2", "")).await,
        Err(ClientError::Offline(_))
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn demo_ils_in_gb18030_with_plain_frames() {
    let (_ils, server) = start_ils(ServerConfig {
        charset: Charset::Gb18030,
        ..ServerConfig::default()
    })
    .await;
    let cfg = ClientConfig {
        charset: Charset::Gb18030,
        error_detection: false,
        ..config(&server.local_addr().to_string())
    };
    let client = Sip2Handle::spawn(cfg).expect("spawn");
    wait_link(&mut client.link(), online).await;
    match client
        .request(patron_status(&id("2100000000007"), ""))
        .await
    {
        Ok(Message::PatronStatusResponse(r)) => assert_eq!(r.personal_name, "王芳 (Wang Fang)"),
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

// ---- scripted fake servers -----------------------------------------------------------------

type Log = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

/// One accepted connection of a fake server.
struct Peer {
    stream: TcpStream,
    buf: Vec<u8>,
    log: Log,
    conn: usize,
}

fn seq_of(frame: &[u8]) -> Option<Sequence> {
    decode(frame, Charset::Utf8).ok().and_then(|d| d.sequence)
}

fn wire(message: &Message, seq: Option<Sequence>) -> Vec<u8> {
    encode(message, Charset::Utf8, seq)
        .expect("encodable")
        .bytes
}

fn acs(timeout_period: u16) -> Message {
    Message::AcsStatus(AcsStatus {
        online_status: true,
        checkin_ok: true,
        checkout_ok: true,
        timeout_period,
        retries_allowed: 3,
        protocol_version: "2.00".into(),
        institution_id: "FAKE".into(),
        ..Default::default()
    })
}

fn status_answer() -> Message {
    Message::PatronStatusResponse(PatronStatusResponse {
        patron_id: "21000000000012".into(),
        personal_name: "Ada".into(),
        valid_patron: Some(true),
        ..Default::default()
    })
}

fn checkout_answer() -> Message {
    Message::CheckoutResponse(CheckoutResponse {
        ok: true,
        item_id: "31000000000011".into(),
        due_date: "20261226    235959".into(),
        ..Default::default()
    })
}

impl Peer {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = split_frame(&mut self.buf) {
                self.log
                    .lock()
                    .expect("log")
                    .push((self.conn, frame.clone()));
                return Some(frame);
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    async fn answer(&mut self, request: &[u8], message: &Message) -> Vec<u8> {
        let bytes = wire(message, seq_of(request));
        self.send(&bytes).await;
        bytes
    }

    /// Answers 93 and 99 the usual way; returns once 98 is sent.
    async fn handshake(&mut self, timeout_period: u16) -> Option<()> {
        loop {
            let frame = self.recv().await?;
            match frame.get(..2)? {
                b"93" => {
                    self.answer(
                        &frame,
                        &Message::LoginResponse(LoginResponse {
                            ok: true,
                            extra: vec![],
                        }),
                    )
                    .await;
                }
                b"99" => {
                    self.answer(&frame, &acs(timeout_period)).await;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

async fn fake<F, Fut>(script: F) -> (String, Log)
where
    F: Fn(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let log: Log = Arc::default();
    let server_log = log.clone();
    tokio::spawn(async move {
        let mut conn = 0;
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(script(Peer {
                stream,
                buf: Vec::new(),
                log: server_log.clone(),
                conn,
            }));
            conn += 1;
        }
    });
    (addr, log)
}

fn ids(log: &Log) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .map(|(_, f)| String::from_utf8_lossy(f.get(..2).unwrap_or_default()).into_owned())
        .collect()
}

fn count(log: &Log, id: &str) -> usize {
    ids(log).iter().filter(|i| *i == id).count()
}

fn corrupt(mut bytes: Vec<u8>) -> Vec<u8> {
    // The last checksum digit sits just before the CR.
    if let Some(i) = bytes.len().checked_sub(2)
        && let Some(b) = bytes.get_mut(i)
    {
        *b = if *b == b'0' { b'1' } else { b'0' };
    }
    bytes
}

async fn online_client(addr: &str, cfg: ClientConfig) -> Sip2Handle {
    let _ = addr;
    let client = Sip2Handle::spawn(cfg).expect("spawn");
    wait_link(&mut client.link(), online).await;
    client
}

#[tokio::test(start_paused = true)]
async fn bad_checksum_is_answered_with_97_and_the_resend_accepted() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        let Some(req) = p.recv().await else { return };
        let good = wire(&status_answer(), seq_of(&req));
        p.send(&corrupt(good.clone())).await;
        if p.recv().await.as_deref().and_then(|f| f.get(..2)) == Some(b"97") {
            p.send(&good).await;
        }
        while p.recv().await.is_some() {}
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client.request(patron_status("21000000000012", "")).await;
    assert!(
        matches!(answer, Ok(Message::PatronStatusResponse(ref r)) if r.personal_name == "Ada"),
        "{answer:?}"
    );
    assert_eq!(ids(&log), ["99", "23", "97"]);
}

#[tokio::test(start_paused = true)]
async fn server_96_makes_the_client_send_the_same_bytes_again() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        let Some(first) = p.recv().await else { return };
        p.send(&wire(&Message::RequestScResend, Some(Sequence::default())))
            .await;
        let Some(second) = p.recv().await else { return };
        if second == first {
            p.answer(&second, &checkout_answer()).await;
        }
        while p.recv().await.is_some() {}
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client
        .request(checkout("21000000000012", "31000000000011"))
        .await;
    assert!(
        matches!(answer, Ok(Message::CheckoutResponse(ref r)) if r.ok),
        "{answer:?}"
    );
    assert_eq!(ids(&log), ["99", "11", "11"]);
}

#[tokio::test(start_paused = true)]
async fn endless_96_fails_as_corrupt_after_max_retries() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        while p.recv().await.is_some() {
            p.send(&wire(&Message::RequestScResend, Some(Sequence::default())))
                .await;
        }
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client.request(patron_status("2", "")).await;
    assert!(matches!(answer, Err(ClientError::Corrupt(_))), "{answer:?}");
    assert_eq!(
        count(&log, "23"),
        3,
        "first try and max_retries = 2 re-sends"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_reply_times_out_within_the_bound_and_the_link_recovers() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        if p.conn == 0 {
            // Never answers in time.
            while p.recv().await.is_some() {}
        } else {
            while let Some(req) = p.recv().await {
                p.answer(&req, &status_answer()).await;
            }
        }
    })
    .await;
    let cfg = config(&addr);
    let bound = cfg.worst_case(cfg.request_timeout);
    let client = online_client(&addr, cfg).await;
    let mut link = client.link();
    let started = Instant::now();
    let answer = client.request(patron_status("2", "")).await;
    assert_eq!(answer, Err(ClientError::Timeout(Duration::from_secs(1))));
    assert!(
        started.elapsed() <= bound,
        "{:?} > {bound:?}",
        started.elapsed()
    );
    assert!(offline(&link.borrow_and_update()));
    assert_eq!(count(&log, "97"), 2);
    wait_link(&mut link, online).await;
    assert!(client.request(patron_status("2", "")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_acs_timeout_period_replaces_the_configured_one() {
    let (addr, _log) = fake(|mut p| async move {
        p.handshake(25).await;
        while p.recv().await.is_some() {}
    })
    .await;
    let cfg = ClientConfig {
        request_timeout: Duration::from_secs(30),
        ..config(&addr)
    };
    let client = online_client(&addr, cfg).await;
    let answer = client.request(patron_status("2", "")).await;
    assert_eq!(
        answer,
        Err(ClientError::Timeout(Duration::from_millis(2500)))
    );
}

#[tokio::test(start_paused = true)]
async fn truncated_reply_then_close() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        if let Some(req) = p.recv().await {
            if p.conn == 0 {
                let bytes = wire(&status_answer(), seq_of(&req));
                p.send(bytes.get(..bytes.len() / 2).unwrap_or_default())
                    .await;
                return;
            }
            p.answer(&req, &status_answer()).await;
        }
        while let Some(req) = p.recv().await {
            let answer = if req.starts_with(b"11") {
                checkout_answer()
            } else {
                status_answer()
            };
            p.answer(&req, &answer).await;
        }
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    // An idempotent read is sent again on a new connection.
    let answer = client.request(patron_status("2", "")).await;
    assert!(
        matches!(answer, Ok(Message::PatronStatusResponse(_))),
        "{answer:?}"
    );
    assert_eq!(count(&log, "23"), 2);
}

#[tokio::test(start_paused = true)]
async fn truncated_checkout_reply_is_never_repeated() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        if let Some(req) = p.recv().await {
            let bytes = wire(&checkout_answer(), seq_of(&req));
            p.send(bytes.get(..10).unwrap_or_default()).await;
        }
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client.request(checkout("2", "3")).await;
    assert_eq!(answer, Err(ClientError::ConnectionLost));
    // Give the client every chance to misbehave before counting.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(count(&log, "11"), 1);
}

#[tokio::test(start_paused = true)]
async fn dropped_idle_connection_is_reopened_before_the_next_request() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        if p.conn == 0 {
            // Serves one request, then closes while idle (as ILSes do after their own timeout).
            if let Some(req) = p.recv().await {
                p.answer(&req, &status_answer()).await;
            }
            return;
        }
        while let Some(req) = p.recv().await {
            p.answer(&req, &checkout_answer()).await;
        }
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let mut link = client.link();
    assert!(client.request(patron_status("2", "")).await.is_ok());
    link.borrow_and_update();
    // The close is noticed without any request, and the link comes back by itself.
    wait_link(&mut link, |s| !s.is_online()).await;
    wait_link(&mut link, online).await;
    let answer = client.request(checkout("2", "3")).await;
    assert!(
        matches!(answer, Ok(Message::CheckoutResponse(ref r)) if r.ok),
        "{answer:?}"
    );
    let log = log.lock().expect("log").clone();
    let checkouts: Vec<usize> = log
        .iter()
        .filter(|(_, f)| f.starts_with(b"11"))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(checkouts, [1], "one checkout, on the new connection");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_login_leaves_the_link_offline() {
    let (addr, log) = fake(|mut p| async move { while p.recv().await.is_some() {} }).await;
    let cfg = ClientConfig {
        login: Some(("kiosk".into(), "pw".into(), String::new())),
        ..config(&addr)
    };
    let client = Sip2Handle::spawn(cfg).expect("spawn");
    let mut link = client.link();
    match wait_link(&mut link, offline).await {
        LinkState::Offline { reason, .. } => assert!(reason.contains("did not answer"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Offline means an immediate answer, not a wait.
    let started = Instant::now();
    let answer = client.request(patron_status("2", "")).await;
    assert!(matches!(answer, Err(ClientError::Offline(_))), "{answer:?}");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(ids(&log).first().map(String::as_str), Some("93"));
}

#[tokio::test(start_paused = true)]
async fn lost_checkout_reply_is_asked_for_with_97_not_a_second_11() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        let Some(req) = p.recv().await else { return };
        // The answer is "lost": it is only sent when asked for again.
        let answer = wire(&checkout_answer(), seq_of(&req));
        while let Some(frame) = p.recv().await {
            if frame.starts_with(b"97") {
                p.send(&answer).await;
            }
        }
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client.request(checkout("2", "3")).await;
    assert!(
        matches!(answer, Ok(Message::CheckoutResponse(ref r)) if r.ok),
        "{answer:?}"
    );
    assert_eq!(ids(&log), ["99", "11", "97"]);
}

#[tokio::test(start_paused = true)]
async fn checkout_lost_for_good_fails_and_is_never_resent() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        while p.recv().await.is_some() {}
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    let answer = client.request(checkout("2", "3")).await;
    assert!(matches!(answer, Err(ClientError::Timeout(_))), "{answer:?}");
    wait_link(&mut client.link(), online).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(count(&log, "11"), 1);
    assert_eq!(count(&log, "97"), 2);
}

#[tokio::test(start_paused = true)]
async fn wrong_sequence_number_counts_as_corrupt() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        let Some(req) = p.recv().await else { return };
        let right = seq_of(&req).unwrap_or_default();
        p.send(&wire(&status_answer(), Some(right.next()))).await;
        if p.recv().await.is_some_and(|f| f.starts_with(b"97")) {
            p.send(&wire(&status_answer(), Some(right))).await;
        }
        while p.recv().await.is_some() {}
    })
    .await;
    let client = online_client(&addr, config(&addr)).await;
    assert!(client.request(patron_status("2", "")).await.is_ok());
    assert_eq!(ids(&log), ["99", "23", "97"]);
}

#[tokio::test(start_paused = true)]
async fn sequence_numbers_wrap_and_heartbeats_flow_when_idle() {
    let (addr, log) = fake(|mut p| async move {
        p.handshake(0).await;
        while let Some(req) = p.recv().await {
            let answer = if req.starts_with(b"99") {
                acs(0)
            } else {
                status_answer()
            };
            p.answer(&req, &answer).await;
        }
    })
    .await;
    let cfg = ClientConfig {
        heartbeat: Duration::from_secs(30),
        ..config(&addr)
    };
    let client = online_client(&addr, cfg).await;
    for _ in 0..11 {
        assert!(client.request(patron_status("2", "")).await.is_ok());
    }
    tokio::time::sleep(Duration::from_secs(95)).await;
    let log = log.lock().expect("log").clone();
    let seqs: Vec<u8> = log
        .iter()
        .filter_map(|(_, f)| seq_of(f))
        .map(Sequence::digit)
        .collect();
    let expected: Vec<u8> = (0..seqs.len()).map(|i| (i % 10) as u8).collect();
    assert_eq!(seqs, expected);
    let heartbeats = log.iter().filter(|(_, f)| f.starts_with(b"99")).count();
    assert!(
        heartbeats >= 4,
        "login status plus 3 idle heartbeats, got {heartbeats}"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_listening_means_offline_fast_then_backoff() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let client = Sip2Handle::spawn(config(&addr)).expect("spawn");
    let mut link = client.link();
    let LinkState::Offline { since: first, .. } = wait_link(&mut link, offline).await else {
        unreachable!()
    };
    assert!(matches!(
        client.request(patron_status("2", "")).await,
        Err(ClientError::Offline(_))
    ));
    // Retries come and fail; the link keeps the time it first went down.
    wait_link(&mut link, |s| matches!(s, LinkState::Connecting)).await;
    let LinkState::Offline { since, .. } = wait_link(&mut link, offline).await else {
        unreachable!()
    };
    assert_eq!(since, first);
}

#[tokio::test]
async fn client_handles_outlive_nothing() {
    // The actor ends when the last handle goes; a request on a clone still works until then.
    let (_ils, server) = start_ils(ServerConfig::default()).await;
    let client = Sip2Handle::spawn(config(&server.local_addr().to_string())).expect("spawn");
    let clone = client.clone();
    drop(client);
    wait_link(&mut clone.link(), online).await;
    assert!(clone.request(patron_status("2", "")).await.is_ok());
    let link = clone.link();
    drop(clone);
    tokio::time::timeout(GUARD, async {
        let mut link = link;
        while link.changed().await.is_ok() {}
    })
    .await
    .expect("actor ended");
    server.shutdown().await;
}

// ---- TLS -----------------------------------------------------------------------------------

#[tokio::test]
async fn tls_with_a_private_ca() {
    use tokio_rustls::rustls;
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["ils.test".to_owned()]).expect("params");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).expect("cert");
    let dir = tempfile::tempdir().expect("dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    while let Some(frame) = split_frame(&mut buf) {
                        let answer = match frame.get(..2) {
                            Some(b"93") => Message::LoginResponse(LoginResponse {
                                ok: true,
                                extra: vec![],
                            }),
                            Some(b"99") => acs(0),
                            _ => status_answer(),
                        };
                        if tls.write_all(&wire(&answer, seq_of(&frame))).await.is_err() {
                            return;
                        }
                    }
                    match tls.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });

    let tls = TlsConfig {
        ca_file: Some(ca_file.clone()),
        server_name: Some("ils.test".into()),
        client_auth: None,
    };
    let cfg = ClientConfig {
        tls: Some(tls),
        login: Some(("kiosk".into(), "secret".into(), String::new())),
        ..config(&addr)
    };
    let client = Sip2Handle::spawn(cfg).expect("spawn");
    wait_link(&mut client.link(), online).await;
    assert!(client.request(patron_status("2", "")).await.is_ok());

    // The same server under a name its certificate does not carry is refused.
    let wrong = ClientConfig {
        tls: Some(TlsConfig {
            ca_file: Some(ca_file),
            server_name: Some("other.test".into()),
            client_auth: None,
        }),
        ..config(&addr)
    };
    let client = Sip2Handle::spawn(wrong).expect("spawn");
    match wait_link(&mut client.link(), offline).await {
        LinkState::Offline { reason, .. } => {
            assert!(reason.contains("secure connection"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

// ---- independent Python peers --------------------------------------------------------------

fn python() -> Option<String> {
    match std::env::var("SELFCHECK_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            eprintln!("SELFCHECK_PYTHON is not set: skipping the Python interoperability test");
            None
        }
    }
}

fn interop(script: &str) -> String {
    format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"))
}

/// Starts `fault_server.py MODE` and returns it with the address it printed.
async fn fault_server(python: &str, mode: &str) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(python)
        .arg(interop("fault_server.py"))
        .arg(mode)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start fault_server.py");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(
        GUARD,
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("port in time")
    .expect("read port");
    let port: u16 = line
        .trim()
        .parse()
        .expect("fault_server.py prints its port");
    (child, format!("127.0.0.1:{port}"))
}

fn py_config(addr: &str) -> ClientConfig {
    ClientConfig {
        login: Some(("kiosk".into(), "secret".into(), "LOBBY".into())),
        max_retries: 2,
        ..config(addr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_fault_server_modes() {
    let Some(python) = python() else { return };
    for mode in [
        "bad-checksum-once",
        "96-storm",
        "slow",
        "truncated",
        "drop-after-login",
        "ignore-no-block",
        "reordered",
    ] {
        let (_child, addr) = fault_server(&python, mode).await;
        let client = Sip2Handle::spawn(py_config(&addr)).expect("spawn");
        let mut link = client.link();
        let state = wait_link(&mut link, |s| !matches!(s, LinkState::Connecting)).await;
        let outcome = tokio::time::timeout(GUARD, async {
            match mode {
                "checkout" | "ignore-no-block" => {
                    let nb_due = SipDateTime::parse("20261201    235959");
                    let m = Message::Checkout(Checkout {
                        no_block: true,
                        nb_due_date: nb_due,
                        institution_id: "DEMO".into(),
                        patron_id: "21000000000012".into(),
                        item_id: "31000000000011".into(),
                        transaction_date: SipDateTime::parse("20261128    101500"),
                        ..Default::default()
                    });
                    client.request(m).await
                }
                _ => client.request(patron_status("21000000000012", "")).await,
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{mode}: the client hung"));
        match mode {
            "bad-checksum-once" | "reordered" => match outcome {
                Ok(Message::PatronStatusResponse(r)) => {
                    assert_eq!(r.personal_name, "Ada Lovelace", "{mode}");
                    assert_eq!(r.valid_patron, Some(true), "{mode}");
                }
                other => panic!("{mode}: {other:?}"),
            },
            "96-storm" => assert!(
                matches!(outcome, Err(ClientError::Corrupt(_))),
                "{mode}: {outcome:?}"
            ),
            "slow" => assert!(
                matches!(outcome, Err(ClientError::Timeout(_))),
                "{mode}: {outcome:?}"
            ),
            "truncated" => assert!(
                matches!(
                    outcome,
                    Err(ClientError::ConnectionLost | ClientError::Offline(_) | ClientError::Io(_))
                ),
                "{mode}: {outcome:?}"
            ),
            "drop-after-login" => {
                assert!(!state.is_online(), "{mode}: {state:?}");
                assert!(
                    matches!(outcome, Err(ClientError::Offline(_))),
                    "{mode}: {outcome:?}"
                );
            }
            "ignore-no-block" => match outcome {
                // The server's own due date comes back; the kiosk must cope with that.
                Ok(Message::CheckoutResponse(r)) => {
                    assert!(r.ok, "{mode}");
                    assert_ne!(r.due_date, "20261201    235959", "{mode}");
                }
                other => panic!("{mode}: {other:?}"),
            },
            _ => unreachable!(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sip2_client_against_the_demo_ils() {
    let Some(python) = python() else { return };
    let (ils, server) = start_ils(ServerConfig {
        login: Some(("kiosk".into(), "secret".into())),
        ..ServerConfig::default()
    })
    .await;
    let (patron, item) = (id("2100000000002"), id("3100000000017"));
    let port = server.local_addr().port().to_string();
    let output = tokio::time::timeout(
        GUARD,
        tokio::process::Command::new(&python)
            .arg(interop("sip2_client_check.py"))
            .args([
                "127.0.0.1",
                &port,
                "kiosk",
                "secret",
                &patron,
                "2345",
                &item,
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("sip2_client_check.py in time")
    .expect("run sip2_client_check.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    let result: serde_json::Value = serde_json::from_str(json).expect("JSON on stdout");
    eprintln!("sip2_client_check.py: {result}");
    assert_eq!(result["login"], true, "{result}");
    assert_eq!(result["online"], true, "{result}");
    assert_eq!(result["patron_valid"], true, "{result}");
    assert_eq!(result["patron_name"], "Giulia Rossi", "{result}");
    assert_eq!(result["checkout_ok"], true, "{result}");
    assert_eq!(result["checkin_ok"], true, "{result}");
    assert_eq!(ils.transaction_count(Some("checkout")).expect("db"), 1);
    assert_eq!(ils.transaction_count(Some("checkin")).expect("db"), 1);
    assert!(
        ils.loans_of(&patron)
            .expect("db")
            .iter()
            .all(|i| *i != item)
    );
    server.shutdown().await;
}

// ---- several sessions --------------------------------------------------------------------

/// A relay in front of `ils`: the first `working` connections are passed through (each
/// message held until `release` when `hold` is set, so requests in flight can be counted);
/// later ones are accepted and never answered, as an ILS that allows one session per account
/// leaves a second login hanging. Returns the address and the most requests seen in flight at
/// once.
async fn relay(
    ils: std::net::SocketAddr,
    working: usize,
    hold: Option<Arc<tokio::sync::Semaphore>>,
) -> (String, Arc<Mutex<(usize, usize)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    // (in flight now, most in flight at once)
    let flight = Arc::new(Mutex::new((0usize, 0usize)));
    let counts = flight.clone();
    tokio::spawn(async move {
        let mut accepted = 0usize;
        let mut dead = Vec::new();
        while let Ok((mut client, _)) = listener.accept().await {
            accepted += 1;
            if accepted > working {
                dead.push(client);
                continue;
            }
            let (flight, hold) = (flight.clone(), hold.clone());
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(ils).await else {
                    return;
                };
                let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(request) = split_frame(&mut from_client) else {
                        match client.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => from_client.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let circulation = request.starts_with(b"17");
                    if circulation {
                        let mut f = flight.lock().expect("lock");
                        f.0 += 1;
                        f.1 = f.1.max(f.0);
                    }
                    if let (true, Some(h)) = (circulation, &hold) {
                        h.acquire().await.expect("semaphore").forget();
                    }
                    let mut frame = request;
                    frame.push(b'\r');
                    if server.write_all(&frame).await.is_err() {
                        return;
                    }
                    let answer = loop {
                        if let Some(a) = split_frame(&mut from_server) {
                            break a;
                        }
                        match server.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => from_server.extend_from_slice(&chunk[..n]),
                        }
                    };
                    if circulation {
                        flight.lock().expect("lock").0 -= 1;
                    }
                    let mut frame = answer;
                    frame.push(b'\r');
                    if client.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, counts)
}

fn item_info(item: &str) -> Message {
    Message::ItemInformation(ItemInformation {
        item_id: item.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn three_sessions_carry_three_requests_at_once() {
    let (_ils, server) = start_ils(ils_config()).await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (addr, flight) = relay(server.local_addr(), 3, Some(gate.clone())).await;
    let client = Sip2Handle::spawn(ClientConfig {
        connections: 3,
        ..logged_in(&addr)
    })
    .expect("spawn");
    assert_eq!(client.sessions(), 3);
    wait_link(&mut client.link(), online).await;
    let items: Vec<String> = ["3100000000001", "3100000000003", "3100000000004"]
        .iter()
        .map(|s| id(s))
        .collect();
    let asks: Vec<_> = items
        .iter()
        .map(|item| {
            let (client, message) = (client.clone(), item_info(item));
            tokio::spawn(async move { client.request(message).await })
        })
        .collect();
    // The relay holds every request; all three reach it only if they are out side by side.
    tokio::time::timeout(GUARD, async {
        while flight.lock().expect("lock").1 < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("three requests in flight at once");
    gate.add_permits(3);
    for (ask, item) in asks.into_iter().zip(&items) {
        match ask.await.expect("task") {
            Ok(Message::ItemInformationResponse(r)) => assert_eq!(&r.item_id, item),
            other => panic!("item information: {other:?}"),
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_the_ils_will_not_log_in_are_dropped_and_never_hold_a_request() {
    let (_ils, server) = start_ils(ils_config()).await;
    // One session per account: the second and third logins are never answered.
    let (addr, _) = relay(server.local_addr(), 1, None).await;
    let client = Sip2Handle::spawn(ClientConfig {
        connections: 3,
        request_timeout: Duration::from_secs(30),
        ..logged_in(&addr)
    })
    .expect("spawn");
    wait_link(&mut client.link(), online).await;
    // Well inside the dead sessions' 30 s login wait, every request is answered by the one
    // session that works, side by side or not.
    tokio::time::timeout(Duration::from_secs(20), async {
        let asks: Vec<_> = (0..6)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.request(item_info(&id("3100000000001"))).await })
            })
            .collect();
        for ask in asks {
            assert!(matches!(
                ask.await.expect("task"),
                Ok(Message::ItemInformationResponse(_))
            ));
        }
    })
    .await
    .expect("the working session answered without waiting for the dead ones");
    server.shutdown().await;
}
