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
