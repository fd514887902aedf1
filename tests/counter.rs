//! The bookstore counter end to end: purchases recorded in the store, exported with
//! `selfcheck counter export`, read by pymarc (an independent MARC reader) and Python's csv,
//! imported by the demo ILS and asked about over SIP2; quotas across sessions; the id range
//! running out; kill -9 in the middle of counter loans.
//!
//! The Python checks need `SELFCHECK_PYTHON` (a Python with pymarc, as scripts/test makes);
//! without it they say so and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use common::{run, selfcheck, text};
use selfcheck::counter::ids::{IdCheckDigit, IdRange};
use selfcheck::counter::money::Cents;
use selfcheck::counter::rules::{Book, History, Refusal, Standing, decide};
use selfcheck::counter::settings::CounterSettings;
use selfcheck::store::counter::{self as purchases, NewPurchase};
use selfcheck::store::journal::{self, Action, NewEntry, State};
use serde_json::Value;

const RANGE: &str = "3199000000000-3199000009999";

fn range() -> IdRange {
    IdRange::parse(RANGE, IdCheckDigit::Luhn).expect("range")
}

struct Bought {
    day: &'static str,
    isbn: &'static str,
    title: &'static str,
    author: &'static str,
    price: i64,
}

const BOOKS: [Bought; 3] = [
    Bought {
        day: "2026-05-19",
        isbn: "9788845292613",
        title: "Il nome della rosa",
        author: "Eco, Umberto",
        price: 1400,
    },
    Bought {
        day: "2026-05-20",
        isbn: "9780306406157",
        title: "Quoted, \"special\" & <marked> title",
        author: "Müller, Jürgen",
        price: 1250,
    },
    Bought {
        day: "2026-05-20",
        isbn: "9791090636071",
        title: "红楼梦",
        author: "曹雪芹",
        price: 990,
    },
];

/// Record the books as counter purchases in `data`'s database; returns their item ids.
fn record_purchases(data: &Path) -> Vec<String> {
    let mut conn = selfcheck::store::open(&data.join(selfcheck::store::DB_FILE)).expect("db");
    BOOKS
        .iter()
        .map(|b| {
            let id = purchases::allocate_id(&mut conn, &range())
                .expect("sql")
                .expect("free id");
            purchases::record_purchase(
                &mut conn,
                &NewPurchase {
                    purchased_at: &format!("{}T10:00:00.000Z", b.day),
                    day: b.day,
                    isbn13: b.isbn,
                    title: b.title,
                    author: b.author,
                    publisher: "Editore",
                    year: "2020",
                    price: Cents(b.price),
                    currency: "EUR",
                    item_id: &id,
                    bookstore_code: "dante",
                    bookstore_name: "Libreria Dante",
                    bookseller: "bookseller-7",
                    patron_id: "21000000000015",
                },
            )
            .expect("record");
            id
        })
        .collect()
}

fn settings_file(dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[rfid]\nowner_isil = \"IT-FI0001\"\n[counter]\nid_range = \"{RANGE}\"\n\
             id_check_digit = \"luhn\"\nbookstore_name = \"Libreria Dante\"\n\
             bookstore_code = \"dante\"\nhome_branch = \"Central Library\"\nitem_type = \"001\"\n"
        ),
    )
    .expect("write settings");
    path
}

/// Export the purchases of May 2026 into `out`.
fn export(config: &Path, data: &Path, out: &Path) -> Value {
    let result = run(selfcheck()
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args([
            "counter",
            "export",
            "--since",
            "2026-05-01",
            "--until",
            "2026-05-31",
            "--json",
            "--out",
        ])
        .arg(out));
    assert!(
        result.status.success(),
        "{}{}",
        text(&result.stdout),
        text(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("json report")
}

const PYMARC_READER: &str = r#"
import csv, json, sys
import pymarc

def fields(record):
    out = {}
    for f in record.get_fields():
        if f.is_control_field():
            out.setdefault(f.tag, []).append(f.data)
        else:
            out.setdefault(f.tag, []).append(
                {"ind": f.indicators[0] + f.indicators[1],
                 "sub": [[s.code, s.value] for s in f.subfields]})
    return {"leader": str(record.leader), "fields": out}

mrc, xml, invoice = sys.argv[1:4]
with open(mrc, "rb") as fh:
    iso = [fields(r) for r in pymarc.MARCReader(fh, to_unicode=True, force_utf8=True)]
marcxml = [fields(r) for r in pymarc.parse_xml_to_array(xml)]
with open(invoice, newline="", encoding="utf-8") as fh:
    rows = list(csv.DictReader(fh))
print(json.dumps({"iso": iso, "xml": marcxml, "invoice": rows}))
"#;

fn sub<'a>(record: &'a Value, tag: &str, code: &str) -> Option<&'a str> {
    record["fields"][tag][0]["sub"]
        .as_array()?
        .iter()
        .find(|s| s[0] == code)
        .and_then(|s| s[1].as_str())
}

#[test]
fn pymarc_and_python_csv_read_the_export() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let ids = record_purchases(&data);
    let out = dir.path().join("export");
    let report = export(&settings_file(dir.path()), &data, &out);
    assert_eq!(report["records"], 3, "{report}");

    let read = Command::new(&python)
        .arg("-c")
        .arg(PYMARC_READER)
        .arg(out.join("purchases-2026-05-20.mrc"))
        .arg(out.join("purchases-2026-05-20.xml"))
        .arg(out.join("invoice-dante-2026-05.csv"))
        .output()
        .expect("run python");
    assert!(read.status.success(), "{}", text(&read.stderr));
    let seen: Value = serde_json::from_slice(&read.stdout).expect("python's json");

    for form in ["iso", "xml"] {
        let records = seen[form].as_array().expect("records");
        assert_eq!(records.len(), 2, "{form}: the 20th has two purchases");
        for (record, (book, id)) in records.iter().zip(BOOKS[1..].iter().zip(&ids[1..])) {
            assert_eq!(
                record["leader"].as_str().and_then(|l| l.get(9..10)),
                Some("a")
            );
            assert_eq!(sub(record, "020", "a"), Some(book.isbn), "{form}");
            assert_eq!(sub(record, "100", "a"), Some(book.author), "{form}");
            assert_eq!(sub(record, "245", "a"), Some(book.title), "{form}");
            assert_eq!(sub(record, "264", "b"), Some("Editore"), "{form}");
            assert_eq!(sub(record, "264", "c"), Some("2020"), "{form}");
            let price = Cents(book.price).to_string();
            assert_eq!(sub(record, "365", "b"), Some(price.as_str()), "{form}");
            assert_eq!(sub(record, "365", "c"), Some("EUR"), "{form}");
            assert_eq!(sub(record, "952", "p"), Some(id.as_str()), "{form}");
            assert_eq!(sub(record, "952", "a"), Some("Central Library"), "{form}");
            assert_eq!(sub(record, "952", "d"), Some("2026-05-20"), "{form}");
            assert_eq!(sub(record, "952", "e"), Some("Libreria Dante"), "{form}");
            assert_eq!(sub(record, "952", "g"), Some(price.as_str()), "{form}");
            assert_eq!(sub(record, "952", "y"), Some("001"), "{form}");
            assert_eq!(record["fields"]["001"][0], id.as_str());
        }
    }
    assert_eq!(seen["iso"], seen["xml"], "both files hold the same records");

    let rows = seen["invoice"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "the invoice covers the whole month");
    assert_eq!(rows[1]["title"], BOOKS[1].title);
    assert_eq!(rows[1]["price"], "12.50");
    assert_eq!(rows[1]["currency"], "EUR");
    assert_eq!(rows[1]["item_id"], ids[1].as_str());
    assert_eq!(rows[0]["date"], "2026-05-19");
    assert_eq!(rows[0]["isbn"], BOOKS[0].isbn);
    let invoice = std::fs::read_to_string(out.join("invoice-dante-2026-05.csv")).expect("csv");
    assert!(
        !invoice.contains("21000000000015") && !invoice.contains("bookseller-7"),
        "no patron or staff in the invoice"
    );
    for day in ["2026-05-19", "2026-05-20"] {
        let mrc = std::fs::read(out.join(format!("purchases-{day}.mrc"))).expect("mrc");
        assert!(!String::from_utf8_lossy(&mrc).contains("21000000000015"));
    }
}

#[test]
fn the_demo_ils_imports_the_export_and_knows_the_items() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let ids = record_purchases(&data);
    let out = dir.path().join("export");
    export(&settings_file(dir.path()), &data, &out);

    let mut cmd = selfcheck();
    cmd.args(["demo-ils", "--listen", "127.0.0.1:0", "--import"])
        .arg(out.join("purchases-2026-05-20.mrc"))
        .arg("--import")
        .arg(out.join("purchases-2026-05-19.mrc"));
    let server = common::start_server(cmd);
    for (book, id) in BOOKS.iter().zip(&ids) {
        let answer = run(selfcheck().args([
            "sip2",
            "--json",
            "--server",
            &format!("127.0.0.1:{}", server.port),
            "item",
            id,
        ]));
        assert!(answer.status.success(), "{}", text(&answer.stderr));
        let json: Value = serde_json::from_slice(&answer.stdout).expect("json");
        let response = &json["response"];
        assert_eq!(response["message"], "item_information_response", "{json}");
        assert_eq!(response["title_id"], book.title, "{json}");
        assert_eq!(response["circulation_status"], "Available", "{json}");
    }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

#[test]
fn quotas_and_monthly_caps_hold_across_sessions() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join(selfcheck::store::DB_FILE);
    let settings = CounterSettings {
        id_range: Some(RANGE.into()),
        id_check_digit: IdCheckDigit::Luhn,
        quota_per_month: Some(3),
        price_cap_per_month: Some(Cents(5000)),
        ..CounterSettings::default()
    };
    let good = Standing {
        overdue_items: Some(0),
        fines: Some(Cents(0)),
        ..Standing::default()
    };
    let today = day("2026-05-20");
    let patron = "21000000000023";
    let mut outcomes = Vec::new();
    // Each loan in a session of its own: the database is opened afresh every time.
    for n in 0..5 {
        let mut conn = selfcheck::store::open(&db).expect("db");
        let pending = settings.patron_retention_start(today);
        let counts = purchases::patron_counts(&conn, patron, today, pending).expect("counts");
        let history = History {
            out_now: History::out_now_from(&[], &settings.site_ranges(), &counts.recent_item_ids),
            this_month: counts.this_month,
            this_year: counts.this_year,
            spent_this_month: counts.spent_this_month,
        };
        let isbn = [
            "9788845292613",
            "9780306406157",
            "9791090636071",
            "9780804429573",
            "9780306406157",
        ][n];
        let book = Book {
            isbn13: isbn.into(),
            title: format!("Book {n}"),
            price: Cents(1500),
            currency: "EUR".into(),
        };
        let last = purchases::last_purchase_of(&conn, isbn).expect("sql");
        let outcome = decide(&good, &history, &book, last, &settings, today);
        if outcome.is_ok() {
            let id = purchases::allocate_id(&mut conn, &range())
                .expect("sql")
                .expect("free");
            purchases::record_purchase(
                &mut conn,
                &NewPurchase {
                    purchased_at: "2026-05-20T10:00:00.000Z",
                    day: "2026-05-20",
                    isbn13: isbn,
                    title: &book.title,
                    author: "",
                    publisher: "",
                    year: "",
                    price: book.price,
                    currency: "EUR",
                    item_id: &id,
                    bookstore_code: "dante",
                    bookstore_name: "Libreria Dante",
                    bookseller: "b",
                    patron_id: patron,
                },
            )
            .expect("record");
        }
        outcomes.push(outcome.map(|_| ()));
    }
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok() && outcomes[2].is_ok());
    // The fourth: 3 books this month already (4500 spent, so the cap is not what refuses).
    assert_eq!(
        outcomes[3],
        Err(Refusal::QuotaPerMonth { limit: 3, used: 3 })
    );
    // The fifth repeats an ISBN bought today: the same-ISBN rule comes first.
    assert_eq!(
        outcomes[4].as_ref().map_err(Refusal::code),
        Err("same_isbn")
    );

    // A fourth book within the quota would pass the monthly cap only while under it.
    let conn = selfcheck::store::open(&db).expect("db");
    let counts = purchases::patron_counts(&conn, patron, today, today).expect("counts");
    assert_eq!(counts.spent_this_month, Cents(4500));
    let roomy = CounterSettings {
        quota_per_month: None,
        ..settings.clone()
    };
    let history = History {
        this_month: counts.this_month,
        spent_this_month: counts.spent_this_month,
        ..History::default()
    };
    let at_cap = Book {
        isbn13: "9780804429573".into(),
        title: "At the cap".into(),
        price: Cents(500),
        currency: "EUR".into(),
    };
    assert!(decide(&good, &history, &at_cap, None, &roomy, today).is_ok());
    let past_cap = Book {
        price: Cents(501),
        ..at_cap
    };
    assert_eq!(
        decide(&good, &history, &past_cap, None, &roomy, today).map(|_| ()),
        Err(Refusal::PriceCapPerMonth {
            limit: Cents(5000),
            spent: Cents(4500),
            price: Cents(501)
        })
    );
    // Next month the count starts again.
    let june = day("2026-06-02");
    let counts = purchases::patron_counts(&conn, patron, june, june).expect("counts");
    assert_eq!((counts.this_month, counts.this_year), (0, 3));
}

#[test]
fn the_id_range_running_out_is_a_clear_refusal() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join(selfcheck::store::DB_FILE);
    let small = IdRange::parse("3199000000000-3199000000004", IdCheckDigit::Luhn).expect("r");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut conn = selfcheck::store::open(&db).expect("db");
        ids.push(
            purchases::allocate_id(&mut conn, &small)
                .expect("sql")
                .expect("free"),
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    let mut conn = selfcheck::store::open(&db).expect("db");
    let refusal = purchases::allocate_id(&mut conn, &small)
        .expect("sql")
        .expect_err("used up");
    assert!(
        refusal.to_string().contains("counter.id_range"),
        "{refusal}"
    );
    assert_eq!(purchases::ids_left(&conn, &small).expect("left"), 0);
}

/// Environment variable that turns the test below into the child it kills.
const CHILD: &str = "SELFCHECK_COUNTER_CRASH_CHILD";

/// One counter loan as the counter makes it: the id first, then the purchase, then the
/// loan's journal row, linked to the purchase.
fn counter_loan(conn: &mut rusqlite::Connection, n: u64) {
    let id = purchases::allocate_id(conn, &range())
        .expect("sql")
        .expect("free");
    let purchase = purchases::record_purchase(
        conn,
        &NewPurchase {
            purchased_at: "2026-05-20T10:00:00.000Z",
            day: "2026-05-20",
            isbn13: "9788845292613",
            title: &format!("Copy {n}"),
            author: "",
            publisher: "",
            year: "",
            price: Cents(100),
            currency: "EUR",
            item_id: &id,
            bookstore_code: "dante",
            bookstore_name: "Libreria Dante",
            bookseller: "b",
            patron_id: "21000000000015",
        },
    )
    .expect("purchase");
    journal_loan(conn, purchase, &id);
}

fn journal_loan(conn: &mut rusqlite::Connection, purchase: i64, item_id: &str) {
    let row = journal::record(
        conn,
        &NewEntry {
            action: Action::Checkout,
            patron_id: Some("21000000000015"),
            item_id: Some(item_id),
            state: State::Queued,
            transaction_at: "20260520    100000",
            due_at: None,
        },
    )
    .expect("journal");
    purchases::attach_loan(conn, purchase, row).expect("attach");
}

#[test]
fn kill_nine_during_counter_loans_uses_no_id_twice_and_lends_once() {
    if let Some(db) = std::env::var_os(CHILD) {
        let mut conn = selfcheck::store::open(Path::new(&db)).expect("db");
        for n in 0.. {
            counter_loan(&mut conn, n);
        }
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join(selfcheck::store::DB_FILE);
    let runs: u32 = std::env::var("SELFCHECK_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let exe = std::env::current_exe().expect("test binary");
    for run in 0..runs {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_nine_during_counter_loans_uses_no_id_twice_and_lends_once",
                "--test-threads=1",
            ])
            .env(CHILD, &db)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("child");
        // Let it lend a few books, at a different point each run.
        std::thread::sleep(std::time::Duration::from_millis(150 + 37 * u64::from(run)));
        child.kill().expect("kill -9");
        child.wait().expect("reaped");

        // Restart: a purchase whose loan the kill left unwritten gets its loan now, once
        // (one whose loan was written but not linked is linked, not lent again).
        let mut conn = selfcheck::store::open(&db).expect("reopen");
        for p in purchases::purchases_needing_a_loan(&conn).expect("open purchases") {
            journal_loan(&mut conn, p.id, &p.item_id);
        }
    }

    let conn = selfcheck::store::open(&db).expect("db");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    let purchases_made = count("SELECT count(*) FROM counter_purchases");
    assert!(
        purchases_made > 0,
        "the child lent nothing before its kills"
    );
    assert_eq!(
        count("SELECT count(DISTINCT item_id) FROM counter_purchases"),
        purchases_made,
        "an id on two purchases"
    );
    assert_eq!(
        count("SELECT count(*) FROM counter_purchases WHERE journal_id IS NULL"),
        0,
        "a purchase without its loan"
    );
    assert_eq!(
        count("SELECT count(*) FROM journal WHERE action = 'checkout'"),
        purchases_made,
        "one loan per purchase"
    );
    assert_eq!(
        count("SELECT count(DISTINCT item_id) FROM journal"),
        purchases_made,
        "a book lent twice"
    );
    // The numbers were handed out in order with none given twice; a kill between allocation
    // and purchase leaves an id unused, never reused.
    let (lowest, highest, handed) = conn
        .query_row(
            "SELECT min(number), max(number), count(*) FROM counter_ids",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .expect("ids");
    assert_eq!(
        highest - lowest + 1,
        handed,
        "ids handed out with gaps or twice"
    );
    let unused = purchases::unused_ids(&conn).expect("unused").len() as i64;
    assert_eq!(handed, purchases_made + unused);
    assert!(unused <= i64::from(runs));
    println!("{purchases_made} counter loans over {runs} kills, {unused} ids left unused");
}

#[test]
fn export_refuses_plainly() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = settings_file(dir.path());
    let export = |args: &[&str]| {
        run(selfcheck()
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["counter", "export"])
            .args(args))
    };
    let out = export(&[
        "--since",
        "2026-05-10",
        "--until",
        "2026-05-01",
        "--out",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("after --until"),
        "{}",
        text(&out.stderr)
    );
    let out = export(&["--since", "2026-05-01", "--out", "x"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no database"),
        "{}",
        text(&out.stderr)
    );
    let out = export(&["--since", "May 1st", "--out", "x"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--since"),
        "{}",
        text(&out.stderr)
    );
}

// The counter as a running terminal: headless sessions against the demo ILS.

use common::circulation::{Site, last_screen, patron, screens};
use selfcheck::config::Role;
use selfcheck::counter::settings::Bookseller;
use serde_json::json;

/// Li Wei, in good standing (one loan, not overdue, no fines).
const GOOD: u32 = 1;
const GOOD_PIN: &str = "1234";
/// Giulia Rossi, in good standing too.
const OTHER: u32 = 2;
const OTHER_PIN: &str = "2345";

const STOCK: &str = "isbn,title,author,publisher,year,price,currency\n\
    9788845292613,Il nome della rosa,\"Eco, Umberto\",Bompiani,2020,14.00,EUR\n\
    9780306406157,Quantum mechanics,\"Doe, Jane\",Springer,2019,45.00,EUR\n\
    9791090636071,红楼梦,曹雪芹,Editore,2018,9.90,EUR\n\
    9780804429573,Imported edition,\"Roe, Rick\",Penguin,2021,12.00,USD\n\
    9788808123459,Guida alla preparazione esame di stato,,Zanichelli,2024,20.00,EUR\n";

fn counter_site(configure: impl FnOnce(&mut CounterSettings)) -> Site {
    let mut site = Site::new();
    let stock = site.dir.path().join("stock.csv");
    std::fs::write(&stock, STOCK).expect("stock file");
    let s = &mut site.settings;
    s.terminal.role = Role::Counter;
    s.rfid.owner_isil = Some("IT-FI0001".into());
    s.counter = CounterSettings {
        stock_file: Some(stock),
        id_range: Some(RANGE.into()),
        id_check_digit: IdCheckDigit::Luhn,
        bookstore_name: "Libreria Dante".into(),
        bookstore_code: "dante".into(),
        home_branch: "Central Library".into(),
        item_type: "001".into(),
        booksellers: vec![Bookseller {
            name: "anna".into(),
            pin_hash: selfcheck::config::hash_pin("2468").expect("hash"),
        }],
        ..CounterSettings::default()
    };
    configure(&mut s.counter);
    site
}

fn login() -> Value {
    json!({"cmd": "login", "name": "anna", "pin": "2468"})
}

/// A patron identifies with card and PIN.
fn patron_at_counter(no: u32, pin: &str) -> Vec<Value> {
    vec![
        json!({"cmd": "identify", "patron": patron(no)}),
        json!({"cmd": "pin", "pin": pin}),
    ]
}

/// The bookseller scans a book, places a blank tag and confirms.
fn lend(isbn: &str) -> Vec<Value> {
    vec![
        json!({"cmd": "scan", "code": isbn}),
        json!({"cmd": "place_blank"}),
        json!({"cmd": "confirm"}),
    ]
}

fn session(parts: &[Vec<Value>]) -> Vec<Value> {
    let mut all = vec![login()];
    for p in parts {
        all.extend(p.iter().cloned());
    }
    all
}

fn lent_items(out: &[Value]) -> Vec<String> {
    let Some(last) = screens(out)
        .into_iter()
        .rev()
        .find(|m| m["screen"] == "lent")
    else {
        return Vec::new();
    };
    last["loans"]
        .as_array()
        .expect("loans")
        .iter()
        .filter(|l| l["undone"] == false)
        .map(|l| l["item_id"].as_str().expect("id").to_string())
        .collect()
}

fn sync_reports(out: &[Value]) -> Vec<&Value> {
    out.iter()
        .filter(|v| v["kind"] == "sync")
        .map(|v| &v["report"])
        .collect()
}

fn refusal_code(out: &[Value]) -> String {
    last_screen(out, "refused")["refusal"]["code"]
        .as_str()
        .expect("code")
        .to_string()
}

#[test]
fn a_counter_loan_reaches_the_ils_once_the_export_is_imported() {
    let site = counter_site(|_| {});
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9788845292613"),
        // Not in the stock file: the bookseller types its data.
        vec![json!({"cmd": "scan", "code": "978-0-8044-2957-3 51299"})],
        vec![
            json!({"cmd": "isbn", "code": "0-306-40615-2"}),
            json!({"cmd": "cancel"}),
            json!({"cmd": "isbn", "code": "978-1-4028-9462-6"}),
            json!({"cmd": "book", "title": "Typed at the counter", "author": "Nobody, A.",
                   "price": "11.50"}),
            json!({"cmd": "place_blank"}),
            json!({"cmd": "confirm"}),
        ],
        vec![json!({"cmd": "sync"})],
    ]));
    let items = lent_items(&out);
    assert_eq!(items.len(), 2, "{out:#?}");
    let lent = last_screen(&out, "lent");
    assert_eq!(lent["bookseller"], "anna");
    assert!(lent["patron"].as_str().expect("masked").starts_with("••••"));
    let today = chrono::Local::now().date_naive();
    let due = (today + chrono::Days::new(21)).to_string();
    assert_eq!(lent["loans"][0]["due"], due.as_str(), "{lent:#}");
    assert!(items.iter().all(|id| range().contains_id(id)));
    // The imported edition is priced in dollars: refused, naming the rule.
    assert!(
        screens(&out)
            .iter()
            .any(|m| m["refusal"]["code"] == "currency"),
        "{out:#?}"
    );
    // The ILS does not know the new items yet: the loans wait in the queue.
    let report = sync_reports(&out).last().copied().cloned().expect("sync");
    assert_eq!(report["deferred"], 2, "{report}");
    assert_eq!(report["conflicts"], 0, "{report}");
    assert!(
        site.loans_of(&patron(GOOD))
            .iter()
            .all(|l| !items.contains(l))
    );

    // The library imports the export; the next sync lends the books at the ILS.
    let export_dir = site.dir.path().join("export");
    let report = selfcheck::tools::counter::export_purchases(
        &selfcheck::tools::counter::ExportArgs {
            since: today,
            until: None,
            out: export_dir.clone(),
            json: true,
        },
        &site.settings,
        site.dir.path(),
        today,
    )
    .expect("export");
    assert_eq!(report.records, 2);
    site.ils
        .import_file(&export_dir.join(format!("purchases-{today}.mrc")))
        .expect("import");
    // The counter syncs when it starts with the link up; `sync` waits for that one and runs
    // another.
    let out = site.run(&[json!({"cmd": "sync"})]);
    let reports = sync_reports(&out);
    let total = |key: &str| reports.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
    assert_eq!((total("done"), total("conflicts")), (2, 0), "{reports:?}");
    assert_eq!(
        reports.last().map(|r| r["deferred"].clone()),
        Some(json!(0))
    );
    let loans = site.loans_of(&patron(GOOD));
    for id in &items {
        assert!(loans.contains(id), "{id} not lent at the ILS: {loans:?}");
    }
}

#[test]
fn each_eligibility_rule_refuses_by_name() {
    let site = counter_site(|c| {
        c.refuse_blocked = true;
        c.price_cap = Some(Cents(3000));
        c.excluded_isbn_prefixes = vec!["979-10".into()];
        c.excluded_title_keywords = vec!["Esame di Stato".into()];
    });
    let cases: [(u32, &str, &str, &str); 6] = [
        // Zhang Min may not borrow; Emily Clark's card is reported lost.
        (4, "4567", "9788845292613", "blocked"),
        (6, "6789", "9788845292613", "blocked"),
        (GOOD, GOOD_PIN, "9780306406157", "price_cap"),
        (GOOD, GOOD_PIN, "9791090636071", "excluded_isbn_prefix"),
        (GOOD, GOOD_PIN, "9788808123459", "excluded_title_keyword"),
        (GOOD, GOOD_PIN, "9780804429573", "currency"),
    ];
    for (no, pin, isbn, code) in cases {
        let out = site.run(&session(&[patron_at_counter(no, pin), lend(isbn)]));
        assert_eq!(refusal_code(&out), code, "{no} {isbn}");
        assert!(lent_items(&out).is_empty(), "{code}: nothing lent");
    }
    // John Smith has an overdue book and fines (for which the library blocks him too): each
    // rule on its own.
    let site = counter_site(|c| c.refuse_blocked = false);
    let out = site.run(&session(&[
        patron_at_counter(3, "3456"),
        lend("9788845292613"),
    ]));
    assert_eq!(refusal_code(&out), "overdue");
    assert_eq!(
        last_screen(&out, "refused")["refusal"]["key"],
        "counter.no_overdue"
    );
    let site = counter_site(|c| {
        c.refuse_blocked = false;
        c.no_overdue = false;
        c.max_fine = Some(Cents(500));
    });
    let out = site.run(&session(&[
        patron_at_counter(3, "3456"),
        lend("9788845292613"),
    ]));
    assert_eq!(refusal_code(&out), "max_fine");
    let site = counter_site(|c| {
        c.refuse_blocked = false;
        c.no_overdue = false;
        c.max_fine = Some(Cents(2000));
    });
    let out = site.run(&session(&[
        patron_at_counter(3, "3456"),
        lend("9788845292613"),
    ]));
    assert_eq!(lent_items(&out).len(), 1, "under the fine limit");
    // A wrong PIN never gets to the book.
    let out = site.run(&session(&[
        patron_at_counter(GOOD, "9999"),
        lend("9788845292613"),
    ]));
    assert_eq!(last_screen(&out, "patron")["notice"]["code"], "pin_wrong");
    assert!(screens(&out).iter().all(|m| m["screen"] != "approved"));
}

#[test]
fn quotas_and_caps_count_across_sessions() {
    let site = counter_site(|c| {
        c.quota_per_month = Some(2);
        c.price_cap_per_month = Some(Cents(2500));
        c.same_isbn_days = 30;
    });
    // First visit: one book (14.00).
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9788845292613"),
    ]));
    assert_eq!(lent_items(&out).len(), 1);
    // Second visit, another counter session: the same ISBN again is refused at this
    // counter, and a second book would bring the month past the cap (14.00 + 12.00).
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9788845292613"),
    ]));
    assert_eq!(refusal_code(&out), "same_isbn");
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        vec![
            json!({"cmd": "isbn", "code": "9781402894626"}),
            json!({"cmd": "book", "title": "Another", "price": "12.00"}),
        ],
    ]));
    assert_eq!(refusal_code(&out), "price_cap_per_month");
    // Within the cap: lent; then the monthly quota is reached.
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9791090636071"),
    ]));
    assert_eq!(lent_items(&out).len(), 1, "{out:#?}");
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        vec![
            json!({"cmd": "isbn", "code": "9781402894626"}),
            json!({"cmd": "book", "title": "Cheap", "price": "0.50"}),
        ],
    ]));
    assert_eq!(refusal_code(&out), "quota_per_month");
    let refused = last_screen(&out, "refused");
    assert_eq!(refused["refusal"]["detail"]["used"], 2);
    // Another patron has quotas of their own.
    let out = site.run(&session(&[
        patron_at_counter(OTHER, OTHER_PIN),
        vec![
            json!({"cmd": "isbn", "code": "9781402894626"}),
            json!({"cmd": "book", "title": "Cheap", "price": "0.50"}),
            json!({"cmd": "place_blank"}),
            json!({"cmd": "confirm"}),
        ],
    ]));
    assert_eq!(lent_items(&out).len(), 1);
}

#[test]
fn an_undone_loan_keeps_its_id_and_never_reaches_the_ils() {
    let site = counter_site(|c| c.same_isbn_days = 0);
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9788845292613"),
        vec![json!({"cmd": "undo"})],
        lend("9788845292613"),
        vec![json!({"cmd": "done"}), json!({"cmd": "sync"})],
    ]));
    let models = screens(&out);
    let undone = models
        .iter()
        .rev()
        .find(|m| m["notice"]["code"] == "undone")
        .expect("undone");
    let first = undone["loans"][0]["item_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(undone["loans"][0]["undone"], true);
    let second = lent_items(&out);
    assert_eq!(second.len(), 1);
    assert_ne!(
        second[0], first,
        "the undone book's id is not handed out again"
    );
    assert_eq!(last_screen(&out, "patron")["patron"], Value::Null);
    let conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("db");
    let states: Vec<(String, String)> = conn
        .prepare("SELECT item_id, state FROM journal ORDER BY id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        states,
        [
            (first.clone(), "refused".to_string()),
            (second[0].clone(), "queued".to_string())
        ]
    );
}

#[test]
fn the_counter_says_when_its_id_range_runs_out() {
    let site = counter_site(|c| {
        c.id_range = Some("3199000000000-3199000000001".into());
        c.same_isbn_days = 0;
    });
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        lend("9788845292613"),
        lend("9788845292613"),
        lend("9788845292613"),
    ]));
    assert_eq!(lent_items(&out).len(), 2);
    let last = screens(&out).last().copied().cloned().expect("screen");
    assert_eq!(last["notice"]["code"], "no_item_id", "{last:#}");
    assert!(
        last["notice"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("counter.id_range")),
        "{last:#}"
    );
}

#[test]
fn a_tag_that_fails_its_write_is_not_lent() {
    let site = counter_site(|_| {});
    let out = site.run(&session(&[
        patron_at_counter(GOOD, GOOD_PIN),
        vec![
            json!({"cmd": "fail_writes", "n": 50}),
            json!({"cmd": "scan", "code": "9788845292613"}),
            json!({"cmd": "place_blank", "uid": "E004015000000AAA"}),
            json!({"cmd": "confirm"}),
        ],
    ]));
    let last = screens(&out).last().copied().cloned().expect("screen");
    assert_eq!(last["screen"], "approved");
    assert_eq!(last["notice"]["code"], "tag_not_verified", "{last:#}");
    assert!(lent_items(&out).is_empty());
    let conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("db");
    let purchases: i64 = conn
        .query_row("SELECT count(*) FROM counter_purchases", [], |r| r.get(0))
        .expect("count");
    assert_eq!(purchases, 0);
    assert_eq!(purchases::unused_ids(&conn).expect("unused").len(), 1);
}

/// The counter's settings as a file, for `selfcheck run --headless` in a child process.
fn counter_settings_file(dir: &Path) -> PathBuf {
    let path = dir.join("counter.toml");
    let hash = selfcheck::config::hash_pin("2468").expect("hash");
    std::fs::write(
        &path,
        format!(
            "[terminal]\nrole = \"counter\"\n[ils]\nserver = \"demo\"\n\
             [rfid]\nowner_isil = \"IT-FI0001\"\n\
             [counter]\nid_range = \"{RANGE}\"\nid_check_digit = \"luhn\"\n\
             bookstore_name = \"Libreria Dante\"\nbookstore_code = \"dante\"\n\
             home_branch = \"Central Library\"\nsame_isbn_days = 0\n\
             [[counter.booksellers]]\nname = \"anna\"\npin_hash = \"{hash}\"\n"
        ),
    )
    .expect("settings");
    path
}

#[test]
fn kill_nine_in_the_middle_of_a_counter_session_lends_once_and_uses_no_id_twice() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let config = counter_settings_file(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let counter = |data: &Path| {
        let mut cmd = selfcheck();
        cmd.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(data)
            .args(["run", "--headless", "--events", "-"]);
        cmd
    };
    let mut script = vec![login()];
    for n in 0..400 {
        script.extend(patron_at_counter(GOOD, GOOD_PIN));
        script.push(json!({"cmd": "isbn", "code": "9781402894626"}));
        script.push(json!({"cmd": "book", "title": format!("Copy {n}"), "price": "1.00"}));
        script.push(json!({"cmd": "place_blank"}));
        script.push(json!({"cmd": "confirm"}));
        script.push(json!({"cmd": "done"}));
    }
    let script: String = script.iter().map(|c| format!("{c}\n")).collect();
    let runs = 4u32;
    let mut recovered = 0usize;
    for run in 0..runs {
        let mut child = counter(&data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("counter");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = script.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        // Let it lend a few books, a different number each run, then kill it mid-loan.
        let mut lent = 0;
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let Ok(line) = line else { break };
            if line.contains("\"screen\":\"lent\"") {
                lent += 1;
                if lent == 2 + run {
                    break;
                }
            }
        }
        assert_eq!(lent, 2 + run, "the counter stopped lending");
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
        let _ = writer.join();
        // Start again with nothing to do: the start journals what the kill left unwritten.
        let out = run_with_input(counter(&data), "");
        recovered += out
            .iter()
            .filter(|v| v["kind"] == "recovered")
            .map(|v| v["journal"].as_array().map_or(0, Vec::len))
            .sum::<usize>();
    }

    let conn = selfcheck::store::open(&data.join(selfcheck::store::DB_FILE)).expect("db");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    let bought = count("SELECT count(*) FROM counter_purchases");
    assert!(bought >= i64::from(2 + 3 + 4 + 5), "{bought}");
    assert_eq!(
        count("SELECT count(DISTINCT item_id) FROM counter_purchases"),
        bought,
        "an id on two purchases"
    );
    assert_eq!(
        count("SELECT count(*) FROM counter_purchases WHERE journal_id IS NULL"),
        0,
        "a purchase without its loan"
    );
    assert_eq!(
        count("SELECT count(*) FROM journal WHERE action = 'checkout'"),
        bought,
        "one loan per purchase"
    );
    assert_eq!(
        count("SELECT count(DISTINCT item_id) FROM journal WHERE action = 'checkout'"),
        bought,
        "a book lent twice"
    );
    let handed = count("SELECT count(*) FROM counter_ids");
    let unused = purchases::unused_ids(&conn).expect("unused").len() as i64;
    assert_eq!(handed, bought + unused);
    assert!(
        unused <= i64::from(runs),
        "{unused} ids lost over {runs} kills"
    );
    println!(
        "{bought} counter loans over {runs} kills; {recovered} recovered, {unused} ids unused"
    );
}

fn run_with_input(mut cmd: Command, input: &str) -> Vec<Value> {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("counter");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}
