//! Receipts end to end: print jobs read back byte by byte (code page, GB18030 in Chinese
//! mode, raster images, cut), a simulated network printer that runs out of paper or stops
//! answering, and e-mail through a real SMTP server (aiosmtpd) to the address the demo ILS
//! gives, parsed back with Python's `email` package.

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use chrono::NaiveDate;
use selfcheck::kiosk::Language;
use selfcheck::receipt::escpos::{Piece, read_back, text_lines};
use selfcheck::receipt::{
    ChineseMode, CodePage, EmailSettings, EscposPrinter, Mailer, MemoryPrinter, Outcome,
    PrintError, Printer, PrinterAddress, PrinterProblem, Receipt, ReceiptItem, ReceiptPrinter,
    ReceiptSettings, Recipient, deliver_due, drain, queue_email,
};
use selfcheck::sip2::client::{ClientConfig, Sip2Handle};
use selfcheck::sip2::demo_ils::{DemoIls, ServerConfig, sample};
use selfcheck::sip2::{Message, PatronInformation, Summary};
use selfcheck::store::{self, StoreHandle};

use common::escpos_printer::{Answers, PAPER_OUT, READY, SimPrinter};

/// Longest any one test step may take before the test calls it a hang.
const GUARD: Duration = Duration::from_secs(30);

fn settings(chinese: ChineseMode) -> ReceiptSettings {
    ReceiptSettings {
        chinese,
        timeout_secs: 1,
        ..ReceiptSettings::default()
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A session of Giulia Rossi's: two loans, a return, as the runtime would give it.
fn giulia_session(language: Language) -> Receipt {
    let item = |id: &str, title: &str, outcome| ReceiptItem {
        item_id: sample::with_luhn(id).unwrap_or_default(),
        title: title.into(),
        outcome,
        confirmed_later: false,
    };
    Receipt {
        library_name: "Biblioteca Città di Firenze".into(),
        terminal_id: "kiosk-03".into(),
        at: date(2026, 12, 7).and_hms_opt(16, 5, 0).expect("time"),
        language,
        card: sample::with_luhn("2100000000002").unwrap_or_default(),
        items: vec![
            item(
                "3100000000014",
                "Le città invisibili",
                Outcome::Lent {
                    due: Some(date(2027, 1, 4)),
                },
            ),
            item(
                "3100000000027",
                "读者 2026年第20期",
                Outcome::Lent {
                    due: Some(date(2026, 12, 14)),
                },
            ),
            item(
                "3100000000017",
                "Pride and Prejudice",
                Outcome::Returned {
                    sort_bin: Some("A".into()),
                },
            ),
        ],
        holds_ready: vec!["Il nome della rosa".into()],
        fines: None,
        print_lines: vec!["Prestiti attivi: 3".into()],
    }
}

fn job(receipt: &Receipt, settings: &ReceiptSettings) -> Vec<u8> {
    ReceiptPrinter::new(Box::new(MemoryPrinter::default()), settings)
        .expect("bundled font")
        .job(receipt)
}

// ---- print jobs, byte by byte --------------------------------------------------------------

#[test]
fn a_job_is_init_code_page_text_and_cut() {
    let bytes = job(
        &giulia_session(Language::Italian),
        &settings(ChineseMode::Raster),
    );
    assert_eq!(
        &bytes[..5],
        b"\x1b@\x1bt\x13",
        "ESC @, then ESC t 19 (PC858)"
    );
    assert!(bytes.ends_with(b"\x1dV\x00"), "GS V 0 cuts at the end");
    // "Città" in PC858: à is 0x85.
    assert!(bytes.windows(6).any(|w| w == b"Citt\x85 "));
    let text = text_lines(&read_back(&bytes, CodePage::Cp858)).join("\n");
    for want in [
        "Biblioteca Città di Firenze",
        "Ricevuta",
        "7 dic 2026 16:05",
        "Postazione: kiosk-03",
        "Tessera: ****0021",
        "Le città invisibili",
        "Scadenza: 4 gen 2027",
        "restituito, Contenitore A",
        "Prenotazioni da ritirare",
        "Il nome della rosa",
        "Prestiti attivi: 3",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    assert!(!text.contains(&sample::with_luhn("2100000000002").unwrap_or_default()));
}

#[test]
fn the_code_table_number_is_a_setting() {
    let s = ReceiptSettings {
        code_page: CodePage::Cp1252,
        code_page_table: Some(71),
        ..settings(ChineseMode::Raster)
    };
    let bytes = job(&giulia_session(Language::Italian), &s);
    assert_eq!(&bytes[..5], b"\x1b@\x1btG");
    // à is 0xE0 in Windows-1252.
    assert!(bytes.windows(5).any(|w| w == b"Citt\xe0"));
}

#[test]
fn chinese_mode_sends_gb18030_between_fs_and_and_fs_dot() {
    let bytes = job(
        &giulia_session(Language::Chinese),
        &settings(ChineseMode::Gb18030),
    );
    let start = bytes
        .windows(2)
        .position(|w| w == b"\x1c&")
        .expect("FS & enters Chinese mode");
    let end = start
        + bytes[start..]
            .windows(2)
            .position(|w| w == b"\x1c.")
            .expect("FS . leaves it");
    let (first, _, bad) = encoding_rs::GB18030.decode(&bytes[start + 2..end]);
    assert!(!bad);
    assert_eq!(first, "借还凭条");
    let pieces = read_back(&bytes, CodePage::Cp858);
    let lines = text_lines(&pieces);
    for want in [
        "读者证: ****0021",
        "  读者 2026年第20期",
        "   到期: 2026年12月14日",
        "借出",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(want.trim())),
            "{want:?} in {lines:?}"
        );
    }
    assert!(!pieces.iter().any(|p| matches!(p, Piece::Raster { .. })));
}

#[test]
fn without_chinese_mode_chinese_lines_are_raster_images() {
    let bytes = job(
        &giulia_session(Language::Chinese),
        &settings(ChineseMode::Raster),
    );
    assert!(!bytes.windows(2).any(|w| w == b"\x1c&"), "no Chinese mode");
    let pieces = read_back(&bytes, CodePage::Cp858);
    let images: Vec<_> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Raster {
                width_bytes,
                height,
                black_dots,
            } => Some((*width_bytes, *height, *black_dots)),
            _ => None,
        })
        .collect();
    assert!(images.len() >= 6, "{images:?}");
    for (w, h, ink) in images {
        assert_eq!(
            (w, h),
            (63, 24),
            "42 columns of 12 dots, one text line high"
        );
        assert!(ink > 0);
    }
    // Latin-only lines stay text.
    assert!(
        text_lines(&pieces)
            .iter()
            .any(|l| l.contains("Pride and Prejudice"))
    );
}

#[test]
fn qr_code_of_the_loan_list_when_asked() {
    let receipt = giulia_session(Language::English);
    let plain = read_back(
        &job(&receipt, &settings(ChineseMode::Raster)),
        CodePage::Cp858,
    );
    assert!(!plain.iter().any(|p| matches!(p, Piece::Qr(_))));
    let s = ReceiptSettings {
        qr: true,
        ..settings(ChineseMode::Raster)
    };
    let pieces = read_back(&job(&receipt, &s), CodePage::Cp858);
    let qr = pieces.iter().find_map(|p| match p {
        Piece::Qr(data) => Some(data.clone()),
        _ => None,
    });
    let id = |stem| sample::with_luhn(stem).unwrap_or_default();
    let want = format!(
        "{} 2027-01-04\n{} 2026-12-14",
        id("3100000000014"),
        id("3100000000027")
    );
    assert_eq!(qr, Some(want));
}

#[test]
fn the_command_line_prints_a_test_receipt_to_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("receipt.bin");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[terminal]\nlibrary_name = \"Biblioteca Comunale\"\n[receipt]\nprinter = \"file:{}\"\n",
            out.display()
        ),
    )
    .expect("config");
    let run = common::run(common::selfcheck().args([
        "--config",
        config.to_str().expect("utf-8"),
        "receipt",
        "print",
        "--test",
        "--lang",
        "it",
    ]));
    assert!(run.status.success(), "{}", common::text(&run.stderr));
    let bytes = std::fs::read(&out).expect("the printer file");
    assert_eq!(&bytes[..5], b"\x1b@\x1bt\x13");
    assert!(bytes.ends_with(b"\x1dV\x00"));
    let text = text_lines(&read_back(&bytes, CodePage::Cp858)).join("\n");
    assert!(
        text.contains("Biblioteca Comunale") && text.contains("Se questo è un uomo"),
        "{text}"
    );
}

// ---- a printer on the network ------------------------------------------------------------

fn network_printer(sim: &SimPrinter) -> ReceiptPrinter {
    let s = ReceiptSettings {
        printer: Some(sim.url()),
        ..settings(ChineseMode::Raster)
    };
    ReceiptPrinter::from_settings(&s, &Default::default())
        .expect("valid")
        .expect("a printer")
}

/// A loopback port nothing listens on (until someone binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Run `f` on a thread and wait at most [`GUARD`]: a hang fails the test instead of stalling it.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(GUARD).expect("the printer call came back")
}

#[test]
fn a_ready_printer_is_asked_its_status_then_prints() {
    let sim = SimPrinter::start(READY);
    let mut printer = network_printer(&sim);
    let receipt = giulia_session(Language::Italian);
    let status = printer.print(&receipt).expect("printed").expect("a status");
    assert!(status.online && !status.paper_out);
    let got = sim.received();
    assert_eq!(
        &got[..9],
        b"\x10\x04\x01\x10\x04\x02\x10\x04\x04",
        "DLE EOT 1, 2, 4 first"
    );
    assert!(got[9..].starts_with(b"\x1b@\x1bt\x13"));
    let text = text_lines(&read_back(&got, CodePage::Cp858)).join("\n");
    assert!(text.contains("Le città invisibili"), "{text}");
}

#[test]
fn paper_out_is_reported_at_once_and_the_kiosk_goes_on() {
    let sim = SimPrinter::start(PAPER_OUT);
    let mut printer = network_printer(&sim);
    let receipt = giulia_session(Language::English);
    let (mut printer, outcome) = bounded(move || {
        let outcome = printer.print(&receipt);
        (printer, outcome)
    });
    assert!(matches!(outcome, Err(PrintError::PaperOut)), "{outcome:?}");
    assert!(
        !sim.received().windows(2).any(|w| w == b"\x1b@"),
        "nothing printed without paper"
    );
    let health = printer.health();
    assert_eq!(health.problem, Some(PrinterProblem::PaperOut));
    assert_eq!(health.status.map(|s| s.paper_out), Some(true));
    assert_eq!(health.address, Some(sim.url()));
    // Staff refill the paper: the next receipt prints.
    sim.set(READY);
    assert!(printer.print(&giulia_session(Language::English)).is_ok());
    assert!(printer.health().problem.is_none());
}

#[test]
fn a_printer_that_does_not_answer_times_out() {
    let sim = SimPrinter::start(Answers::Silent);
    let address: PrinterAddress = sim.url().parse().expect("url");
    let outcome = bounded(move || {
        EscposPrinter::new(address, Duration::from_millis(300)).print(b"\x1b@hello\n")
    });
    match outcome {
        Err(e @ PrintError::Unreachable { .. }) => {
            assert_eq!(e.problem(), Some(PrinterProblem::Unreachable));
            assert!(e.to_string().contains("timed out"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!sim.received().windows(5).any(|w| w == b"hello"));
}

#[test]
fn an_unreachable_printer_is_an_error_not_a_hang() {
    let port = free_port();
    let address: PrinterAddress = format!("tcp://127.0.0.1:{port}").parse().expect("url");
    let mut printer = EscposPrinter::new(address, Duration::from_millis(300));
    let outcome = bounded(move || printer.status());
    assert!(
        matches!(outcome, Err(PrintError::Unreachable { .. })),
        "{outcome:?}"
    );
}

#[test]
fn receipt_status_on_the_command_line() {
    let sim = SimPrinter::start(PAPER_OUT);
    let run = common::run(common::selfcheck().args([
        "receipt",
        "status",
        "--printer",
        &sim.url(),
        "--json",
    ]));
    assert!(!run.status.success(), "paper out is a failing check");
    let report: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("JSON on standard output");
    assert_eq!(report["problem"], "paper_out");
    assert_eq!(report["status"]["paper_out"], true);
}

// ---- e-mail through a real SMTP server ---------------------------------------------------

/// aiosmtpd on `port` (0: any), writing what it receives into `dir`.
fn smtp_sink(python: &Path, dir: &Path, port: u16) -> common::Server {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(common::interop_script("smtp_sink.py"))
        .arg(dir)
        .arg(port.to_string());
    common::start_server(cmd)
}

/// The messages received so far, parsed by Python's `email` package.
fn received_mail(python: &Path, dir: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("sink dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let out = std::process::Command::new(python)
                .arg(common::interop_script("parse_mail.py"))
                .arg(f)
                .output()
                .expect("run parse_mail.py");
            assert!(out.status.success(), "{}", common::text(&out.stderr));
            serde_json::from_slice(&out.stdout).expect("JSON")
        })
        .collect()
}

fn mail_settings(port: u16) -> EmailSettings {
    EmailSettings {
        smtp: Some(format!("smtp://127.0.0.1:{port}")),
        from: "Biblioteca <noreply@example.org>".into(),
        timeout_secs: 5,
        ..EmailSettings::default()
    }
}

fn outbox() -> StoreHandle {
    StoreHandle::spawn(store::open_in_memory().expect("db")).expect("store thread")
}

/// The e-mail address the demo ILS gives for a patron in 64 (BE).
async fn email_from_the_ils(patron: &str) -> String {
    let ils = DemoIls::open(None).expect("demo catalogue");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = ils
        .serve(listener, ServerConfig::default())
        .await
        .expect("serve");
    let client = Sip2Handle::spawn(ClientConfig {
        institution: "DEMO".into(),
        ..ClientConfig::new(server.local_addr().to_string())
    })
    .expect("client");
    let mut link = client.link();
    tokio::time::timeout(GUARD, link.wait_for(|s| s.is_online()))
        .await
        .expect("online in time")
        .expect("client alive");
    let answer = client
        .request(Message::PatronInformation(PatronInformation {
            patron_id: patron.into(),
            summary: Summary::default(),
            ..Default::default()
        }))
        .await
        .expect("64");
    server.shutdown().await;
    match answer {
        Message::PatronInformationResponse(r) => r.email_address.expect("BE"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_receipt_reaches_the_patron_in_the_session_language() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let sink = smtp_sink(&python, dir.path(), 0);
    let to = email_from_the_ils(&sample::with_luhn("2100000000002").unwrap_or_default()).await;
    assert_eq!(to, "giulia.rossi@example.org");

    let store = outbox();
    let settings = mail_settings(sink.port);
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    for lang in [Language::Italian, Language::Chinese] {
        queue_email(
            &store,
            &settings,
            &giulia_session(lang),
            &Recipient::FromIls(to.clone()),
        )
        .await
        .expect("queued");
    }
    let delivery = drain(&store, &mailer, GUARD).await.expect("drain");
    assert_eq!((delivery.sent, delivery.waiting), (2, 0), "{delivery:?}");
    let waiting = store
        .call(|c| store::receipts::mail_waiting(c))
        .await
        .expect("outbox");
    assert_eq!(waiting.0, 0, "the address is not kept after sending");

    let mail = received_mail(&python, dir.path());
    assert_eq!(mail.len(), 2);
    let (it, zh) = (&mail[0], &mail[1]);
    assert_eq!(it["to"], "giulia.rossi@example.org");
    assert_eq!(it["content_type"], "multipart/alternative");
    assert_eq!(it["subject"], "La ricevuta di Biblioteca Città di Firenze");
    let text = it["text"].as_str().expect("plain text part");
    for want in [
        "Prestiti",
        "Le città invisibili",
        "Scadenza: 4 gen 2027",
        "读者 2026年第20期",
        "Scadenza: 14 dic 2026",
        "restituito, Contenitore A",
        "Tessera: ****0021",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    let html = it["html"].as_str().expect("HTML part");
    assert!(html.contains("lang=\"it\"") && html.contains("Le città invisibili"));
    assert_eq!(zh["subject"], "Biblioteca Città di Firenze借还凭条");
    let text = zh["text"].as_str().expect("plain text part");
    assert!(
        text.contains("借出") && text.contains("到期: 2027年1月4日"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_while_the_server_is_down_and_goes_when_it_is_up() {
    let Some(python) = common::python() else {
        return;
    };
    let port = free_port();
    let store = outbox();
    let settings = mail_settings(port);
    let mailer = Mailer::from_settings(&settings).expect("mailer");
    queue_email(
        &store,
        &settings,
        &giulia_session(Language::English),
        &Recipient::FromIls("giulia.rossi@example.org".into()),
    )
    .await
    .expect("queued");
    let down = deliver_due(&store, &mailer, chrono::Utc::now())
        .await
        .expect("round");
    assert_eq!((down.sent, down.deferred, down.waiting), (0, 1, 1));

    let dir = tempfile::tempdir().expect("tmp");
    let _sink = smtp_sink(&python, dir.path(), port);
    // Not due yet (it backs off); drain sends what is queued regardless.
    let up = drain(&store, &mailer, GUARD).await.expect("drain");
    assert_eq!((up.sent, up.waiting), (1, 0), "{up:?}");
    let mail = received_mail(&python, dir.path());
    assert_eq!(mail.len(), 1);
    assert_eq!(
        mail[0]["subject"],
        "Your receipt from Biblioteca Città di Firenze"
    );
    let text = mail[0]["text"].as_str().expect("text");
    assert!(
        text.contains("Due: 4 Jan 2027") && text.contains("Pride and Prejudice"),
        "{text}"
    );
}

#[tokio::test]
async fn typed_addresses_are_refused_unless_the_site_allows_them() {
    let store = outbox();
    let mut settings = mail_settings(25);
    let receipt = giulia_session(Language::English);
    let typed = Recipient::Typed("someone@example.org".into());
    assert!(
        queue_email(&store, &settings, &receipt, &typed)
            .await
            .is_err()
    );
    settings.allow_typed_address = true;
    assert!(
        queue_email(&store, &settings, &receipt, &typed)
            .await
            .is_ok()
    );
}

#[test]
fn the_printer_port_has_a_memory_adapter() {
    let memory = MemoryPrinter::default();
    let mut port: Box<dyn Printer> = Box::new(memory.clone());
    assert!(port.print(b"x").is_ok());
    assert_eq!(memory.jobs(), [b"x".to_vec()]);
}

// ---- receipts from a headless kiosk session ------------------------------------------------

mod session {
    use super::common::circulation::{Site, exchanges, identify, item, last_screen, patron, place};
    use super::*;
    use serde_json::{Value, json};

    /// The due date of `item` on the summary, as the receipt writes it in `language`.
    fn due_on_receipt(summary: &Value, item: &str, language: Language) -> String {
        let due = super::common::circulation::item_line(summary, item)["due"]
            .as_str()
            .expect("a due date on the summary")
            .to_string();
        let due = NaiveDate::parse_from_str(&due, "%Y-%m-%d").expect("YYYY-MM-DD");
        selfcheck::receipt::texts::date(due, language)
    }

    fn borrow(patron: &str, pin: &str, items: &[String]) -> Vec<Value> {
        let mut script = vec![json!({"cmd": "start", "activity": "borrow"})];
        script.extend(identify(patron, pin));
        script.extend(items.iter().map(|i| place(i)));
        script.push(json!({"cmd": "done"}));
        script
    }

    fn receipt_line(out: &[Value]) -> &Value {
        &last_screen(out, "summary")["receipt"]
    }

    #[test]
    fn a_session_prints_its_receipt_to_a_file_in_chinese_mode() {
        let mut site = Site::new();
        let file = site.dir.path().join("receipt.bin");
        site.settings.receipt.printer = Some(format!("file:{}", file.display()));
        site.settings.receipt.chinese = ChineseMode::Gb18030;
        site.settings.terminal.languages = vec!["en".into(), "zh_CN".into()];
        let li = patron(1);
        let books = [item(1), item(17)];
        let mut script = vec![json!({"cmd": "language", "code": "zh_CN"})];
        script.extend(borrow(&li, "1234", &books));
        script.push(json!({"cmd": "receipt", "kind": "print"}));
        let out = site.run(&script);
        let summary = last_screen(&out, "summary");
        assert_eq!(
            summary["receipt"]["offers"],
            json!(["print"]),
            "no mail server"
        );
        assert_eq!(summary["receipt"]["print"], "printed");

        let bytes = std::fs::read(&file).expect("the printer file");
        assert!(bytes.starts_with(b"\x1b@\x1bt\x13"), "ESC @ then ESC t 19");
        assert!(bytes.ends_with(b"\x1dV\x00"), "cut at the end");
        assert!(bytes.windows(2).any(|w| w == b"\x1c&"), "Chinese mode");
        let (red_chamber, _, _) = encoding_rs::GB18030.encode("红楼梦");
        assert!(
            bytes
                .windows(red_chamber.len())
                .any(|w| w == &red_chamber[..]),
            "the title as GB18030"
        );
        let lines = text_lines(&read_back(&bytes, CodePage::Cp858));
        let text = lines.join("\n");
        let last4 = &li[li.len() - 4..];
        for want in [
            "借还凭条".to_string(),
            "红楼梦".into(),
            "Pride and Prejudice".into(),
            format!(
                "到期: {}",
                due_on_receipt(summary, &books[0], Language::Chinese)
            ),
            format!("读者证: ****{last4}"),
            "卧虎藏龙".into(),
        ] {
            assert!(text.contains(&want), "{want:?} not in\n{text}");
        }
        assert!(!text.contains(&li), "the card number is masked");
    }

    #[test]
    fn paper_out_is_told_and_the_kiosk_goes_on() {
        let sim = SimPrinter::start(PAPER_OUT);
        let mut site = Site::new();
        site.settings.receipt.printer = Some(sim.url());
        site.settings.receipt.timeout_secs = 1;
        let mut script = borrow(&patron(5), "5678", &[item(19)]);
        script.push(json!({"cmd": "receipt", "kind": "print"}));
        // The next patron returns a book: the kiosk is not stuck on the printer.
        script.push(json!({"cmd": "done"}));
        script.push(json!({"cmd": "start", "activity": "return"}));
        script.push(place(&item(19)));
        script.push(json!({"cmd": "done"}));
        let out = site.run(&script);
        let summaries: Vec<&Value> = super::common::circulation::screens(&out)
            .into_iter()
            .filter(|m| m["screen"] == "summary" && m["activity"] == "borrow")
            .collect();
        assert_eq!(
            summaries.last().map(|m| &m["receipt"]["print"]),
            Some(&json!("no_paper")),
            "the patron is told"
        );
        assert_eq!(exchanges(&out, "checkin").len(), 1);
        assert_eq!(last_screen(&out, "summary")["activity"], "return");
        let sent = sim.received();
        assert!(
            !sent.windows(2).any(|w| w == b"\x1b@"),
            "no job sent to a printer without paper"
        );
        assert!(sent.windows(2).any(|w| w == b"\x10\x04"), "DLE EOT asked");
    }

    #[test]
    fn a_printer_that_is_not_there_does_not_hold_up_the_session() {
        let mut site = Site::new();
        site.settings.receipt.printer = Some(format!("tcp://127.0.0.1:{}", super::free_port()));
        site.settings.receipt.timeout_secs = 1;
        let mut script = borrow(&patron(5), "5678", &[item(21)]);
        script.push(json!({"cmd": "receipt", "kind": "print"}));
        let out = site.run(&script);
        assert_eq!(receipt_line(&out)["print"], "printer_fault");
    }

    #[test]
    fn print_then_email_gives_both_and_the_mail_goes_at_the_end() {
        let Some(python) = common::python() else {
            return;
        };
        let mail_dir = tempfile::tempdir().expect("tmp");
        let sink = smtp_sink(&python, mail_dir.path(), 0);
        let mut site = Site::new();
        let file = site.dir.path().join("receipt.bin");
        site.settings.receipt.printer = Some(format!("file:{}", file.display()));
        site.settings.receipt.email = mail_settings(sink.port);
        site.settings.terminal.library_name = "Biblioteca Città di Firenze".into();
        site.settings.terminal.languages = vec!["en".into(), "it".into()];
        let giulia = patron(2);
        let book = item(14);
        let mut script = vec![json!({"cmd": "language", "code": "it"})];
        script.extend(borrow(&giulia, "2345", std::slice::from_ref(&book)));
        script.push(json!({"cmd": "receipt", "kind": "print"}));
        script.push(json!({"cmd": "receipt", "kind": "email"}));
        let out = site.run(&script);
        let line = receipt_line(&out);
        assert_eq!(line["offers"], json!(["print", "email"]));
        assert_eq!(
            (&line["print"], &line["email"]),
            (&json!("printed"), &json!("queued"))
        );
        let mail_note = out
            .iter()
            .find(|v| v["kind"] == "mail")
            .expect("the outbox drained at the end of the input");
        assert_eq!(mail_note["delivery"]["sent"], 1);
        assert_eq!(mail_note["delivery"]["waiting"], 0);

        let mail = received_mail(&python, mail_dir.path());
        assert_eq!(mail.len(), 1);
        assert_eq!(
            mail[0]["to"], "giulia.rossi@example.org",
            "the ILS's address"
        );
        assert_eq!(
            mail[0]["subject"],
            "La ricevuta di Biblioteca Città di Firenze"
        );
        let text = mail[0]["text"].as_str().expect("plain text");
        let due = due_on_receipt(last_screen(&out, "summary"), &book, Language::Italian);
        for want in [
            "Le città invisibili".to_string(),
            format!("Scadenza: {due}"),
            format!("Tessera: ****{}", &giulia[giulia.len() - 4..]),
        ] {
            assert!(text.contains(&want), "{want:?} not in\n{text}");
        }
        assert!(!text.contains(&giulia));
        let printed = text_lines(&read_back(
            &std::fs::read(&file).expect("printed"),
            CodePage::Cp858,
        ))
        .join("\n");
        assert!(printed.contains("Le città invisibili") && printed.contains(&due));
        // Sent: the address is no longer on the kiosk.
        let db = store::open(&site.dir.path().join(store::DB_FILE)).expect("db");
        assert_eq!(store::receipts::mail_waiting(&db).expect("outbox").0, 0);
    }

    // ---- holds and home delivery --------------------------------------------------------

    fn delivery_site() -> Site {
        let mut site = Site::new();
        site.settings.delivery.enabled = true;
        site.settings.delivery.pickup_location = sample::HOME_DELIVERY.into();
        site.settings.delivery.fee = Some("€2.00".into());
        site.settings.delivery.pickup_locations =
            vec!["Central Library".into(), "Branch Nord".into()];
        site
    }

    fn account(patron: &str, pin: &str) -> Vec<Value> {
        let mut script = vec![json!({"cmd": "start", "activity": "account"})];
        script.extend(identify(patron, pin));
        script
    }

    fn hold<'a>(model: &'a Value, item: &str) -> &'a Value {
        model["holds"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["item_id"] == item))
            .unwrap_or_else(|| panic!("no hold on {item} in {model:#}"))
    }

    fn ils_pickup(site: &Site, patron: &str, item: &str) -> Option<String> {
        site.ils
            .patron(patron)
            .expect("ils")
            .expect("patron")
            .holds
            .into_iter()
            .find(|h| h.item_id == item)
            .map(|h| h.pickup)
    }

    #[test]
    fn holds_are_listed_moved_delivered_and_cancelled_at_the_demo_ils() {
        let mut site = delivery_site();
        let slips = site.dir.path().join("slips.bin");
        site.settings.receipt.printer = Some(format!("file:{}", slips.display()));
        let li = patron(1);
        let (ready, waiting) = (item(31), item(23));
        let mut script = account(&li, "1234");
        script.push(json!({"cmd": "hold_pickup", "item": waiting, "location": "Branch Nord"}));
        script.push(json!({"cmd": "deliver", "item": ready, "confirm": false}));
        let out = site.run(&script);
        let model = last_screen(&out, "account");
        assert_eq!(hold(model, &ready)["ready"], true);
        assert_eq!(hold(model, &ready)["title"], "卧虎藏龙");
        assert_eq!(hold(model, &waiting)["pickup"], "Branch Nord");
        assert_eq!(hold(model, &waiting)["changed"], true);
        assert_eq!(model["delivery"]["fee"], "€2.00");
        assert_eq!(model["delivery"]["address"], "V** C***** 12, 50129 F******");
        assert_eq!(
            ils_pickup(&site, &li, &waiting).as_deref(),
            Some("Branch Nord")
        );
        assert_eq!(
            ils_pickup(&site, &li, &ready).as_deref(),
            Some("Central Library"),
            "nothing before the patron confirms"
        );

        let mut script = account(&li, "1234");
        script.push(json!({"cmd": "deliver", "item": ready}));
        script.push(json!({"cmd": "hold_cancel", "item": waiting}));
        let out = site.run(&script);
        let model = last_screen(&out, "account");
        assert_eq!(hold(model, &ready)["delivery"], true);
        assert_eq!(exchanges(&out, "deliver")[0]["outcome"], "ok");
        assert_eq!(
            ils_pickup(&site, &li, &ready).as_deref(),
            Some(sample::HOME_DELIVERY)
        );
        assert_eq!(ils_pickup(&site, &li, &waiting), None, "cancelled");
        assert!(model["holds"].as_array().is_some_and(|h| h.len() == 1));
        // The staff's slip: what to pack and where it goes.
        let slip = text_lines(&read_back(
            &std::fs::read(&slips).expect("slip printed"),
            CodePage::Cp858,
        ))
        .join("\n");
        assert!(
            slip.contains("HOME DELIVERY") && slip.contains(&ready),
            "{slip}"
        );
        assert!(slip.contains("Via Cavour 12, 50129 Firenze"), "{slip}");
    }

    #[test]
    fn a_delivery_asked_while_offline_is_journaled_and_replayed() {
        let site = delivery_site();
        let anna = patron(8);
        let book = item(2);
        let mut script = account(&anna, "0000");
        script.push(json!({"cmd": "cut"}));
        script.push(json!({"cmd": "deliver", "item": book}));
        let out = site.run(&script);
        let queued = exchanges(&out, "deliver");
        assert_eq!(
            queued.last().map(|e| &e["outcome"]),
            Some(&json!("queued")),
            "{queued:?}"
        );
        let model = last_screen(&out, "account");
        assert_eq!(hold(model, &book)["queued"], true);
        assert_eq!(
            ils_pickup(&site, &anna, &book).as_deref(),
            Some("Central Library"),
            "not at the ILS yet"
        );
        // The next run finds the link up: the sync replays the delivery.
        let out = site.run(&[json!({"cmd": "wait_sync"})]);
        let sync = out
            .iter()
            .find(|v| v["kind"] == "sync")
            .expect("a sync report");
        assert_eq!(sync["report"]["done"], 1, "{sync}");
        assert_eq!(
            ils_pickup(&site, &anna, &book).as_deref(),
            Some(sample::HOME_DELIVERY)
        );
    }
}
