//! Kill -9 at random moments of a busy scripted session, restart, sync, and check that the ILS
//! and the journal agree: no lost and no duplicated action.
//!
//! The demo ILS runs as its own process over a database file, so it outlives every kiosk
//! process killed here. `SELFCHECK_CRASH_RUNS` sets the number of kills (10 by default).
//!
//! The demo ILS takes a no-block replay of a loan it already has, or of a return it already
//! has, as a harmless repeat, so the ILS's counts alone cannot show that the sync asked before
//! re-sending. What the ILS answers such a repeat ("already checked out to you", "was not
//! checked out") can, and it lands in the journal: the tests below fail on it, and one of them
//! puts the kiosk exactly in the state a kill after sending leaves.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use selfcheck::sip2::demo_ils::DemoIls;
use selfcheck::sip2::demo_ils::sample::with_luhn;

const BIN: &str = env!("CARGO_BIN_EXE_selfcheck");

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn script(items: &[String], patron: &str) -> String {
    let mut lines = Vec::new();
    // Start by returning everything, so each run begins from the same shelf.
    lines.push(r#"{"cmd":"start","activity":"return"}"#.to_string());
    for i in items {
        lines.push(format!(r#"{{"cmd":"place","item":"{i}"}}"#));
    }
    lines.push(r#"{"cmd":"clear_pad"}"#.into());
    lines.push(r#"{"cmd":"done"}"#.into());
    lines.push(r#"{"cmd":"done"}"#.into());
    for _ in 0..6 {
        lines.push(r#"{"cmd":"start","activity":"borrow"}"#.into());
        lines.push(format!(r#"{{"cmd":"identify","patron":"{patron}"}}"#));
        lines.push(r#"{"cmd":"pin","pin":"0000"}"#.into());
        for i in items {
            lines.push(format!(r#"{{"cmd":"place","item":"{i}"}}"#));
        }
        lines.push(r#"{"cmd":"clear_pad"}"#.into());
        lines.push(r#"{"cmd":"done"}"#.into());
        lines.push(r#"{"cmd":"done"}"#.into());
        lines.push(r#"{"cmd":"start","activity":"return"}"#.into());
        for i in items {
            lines.push(format!(r#"{{"cmd":"place","item":"{i}"}}"#));
        }
        lines.push(r#"{"cmd":"clear_pad"}"#.into());
        lines.push(r#"{"cmd":"done"}"#.into());
        lines.push(r#"{"cmd":"done"}"#.into());
    }
    lines.join("\n") + "\n"
}

fn kiosk(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .arg("--log-level")
        .arg("error")
        .args(args)
        .stdin(Stdio::null());
    c
}

#[test]
fn kill_nine_loses_and_duplicates_nothing() {
    let runs: u32 = std::env::var("SELFCHECK_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("tmp");
    let ils_db = dir.path().join("ils.db");
    let port = free_port();
    let mut ils = Command::new(BIN)
        .args(["--log-level", "error", "demo-ils", "--db"])
        .arg(&ils_db)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo ILS");
    let mut first = String::new();
    BufReader::new(ils.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("ready line");
    assert!(first.contains("listening"), "{first}");
    let _ils = Kill(ils);

    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[ils]\nserver = \"127.0.0.1:{port}\"\nrequest_timeout_secs = 3\n\n[offline]\nmax_items_per_patron = 50\n"
        ),
    )
    .expect("config");
    let data = dir.path().join("kiosk");
    std::fs::create_dir_all(&data).expect("data dir");
    let patron = with_luhn("2100000000008").expect("id");
    let items: Vec<String> = [1u32, 3, 4, 9, 11]
        .iter()
        .map(|n| with_luhn(&format!("31000000000{n:02}")).expect("id"))
        .collect();
    let script_path = dir.path().join("session.jsonl");
    std::fs::File::create(&script_path)
        .and_then(|mut f| f.write_all(script(&items, &patron).as_bytes()))
        .expect("script");

    let seed = std::env::var("SELFCHECK_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e1f_c4ec);
    let mut rng = Lcg(seed);
    let mut killed_mid_run = 0;
    let mut checked_first = 0;
    for run in 0..runs {
        let mut child = kiosk(
            &config,
            &data,
            &[
                "run",
                "--headless",
                "--events",
                script_path.to_str().expect("path"),
            ],
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("kiosk");
        let wait = Duration::from_millis(200 + rng.next() % 2500);
        std::thread::sleep(wait);
        if child.try_wait().expect("status").is_none() {
            killed_mid_run += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().ok();

        // Restart: the sync settles whatever the kill left open.
        let out = kiosk(&config, &data, &["sync", "run", "--json"])
            .output()
            .expect("sync");
        assert!(out.status.success(), "run {run}: sync failed: {out:?}");
        checked_first += check(&ils_db, &data, &patron, &items, run);
    }
    assert!(killed_mid_run > 0, "no kill landed inside a session");
    println!("{killed_mid_run} kills inside a session, {checked_first} unsure rows asked about");
}

/// Journal rows settled by replaying something the ILS already had: the sync re-sent an
/// action whose outcome was unknown without asking first. A loan the ILS already has is
/// answered "already checked out to you" (the kiosk's own loans never meet it: each session
/// starts from a returned shelf); a return it already has "was not checked out", which an
/// online return of a book on the shelf also gets, so only replayed returns count.
fn blind_replays(journal: &rusqlite::Connection) -> Vec<(i64, String)> {
    let mut stmt = journal
        .prepare(
            "SELECT id, message FROM journal WHERE
               (action = 'checkout' AND message LIKE '%already checked out to you%')
            OR (action = 'checkin' AND offline = 1 AND message LIKE '%was not checked out%')",
        )
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .filter_map(Result::ok)
        .collect()
}

#[test]
fn an_action_sent_before_the_kill_is_asked_about_not_sent_again() {
    use common::circulation::{Site, identify, item, patron, place};
    use serde_json::json;

    let site = Site::new();
    let anna = patron(8);
    let (lent, returned) = (item(1), item(3));
    // Borrow both, return one: the journal has every answer.
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, "0000"));
    cmds.extend([place(&returned), place(&lent)]);
    cmds.extend([json!({"cmd": "done"}), json!({"cmd": "done"})]);
    cmds.extend([
        json!({"cmd": "clear_pad"}),
        json!({"cmd": "start", "activity": "return"}),
        place(&returned),
        json!({"cmd": "done"}),
    ]);
    site.run(&cmds);
    assert_eq!(site.loans_of(&anna), std::slice::from_ref(&lent));
    let checkouts = site.ils.transaction_count(Some("checkout")).expect("n");
    let checkins = site.ils.transaction_count(Some("checkin")).expect("n");

    // As a kill leaves them after the requests reached the ILS and before the answers were
    // written: the rows of the last loan and the return are open again, maybe sent.
    let db = site.dir.path().join(selfcheck::store::DB_FILE);
    let journal = rusqlite::Connection::open(&db).expect("journal");
    let reopened = journal
        .execute(
            "UPDATE journal SET state = 'pending', acked_at = NULL, message = NULL
             WHERE id IN (SELECT max(id) FROM journal GROUP BY action)",
            [],
        )
        .expect("reopen");
    assert_eq!(reopened, 2);
    // Queued (from the offline path) rather than pending, with the maybe-sent flag: the same.
    journal
        .execute(
            "UPDATE journal SET state = 'queued', offline = 1, maybe_sent = 1
             WHERE action = 'checkin' AND state = 'pending'",
            [],
        )
        .expect("queue");

    let out = site.run(&[json!({"cmd": "sync"})]);
    let done: u64 = out
        .iter()
        .filter(|v| v["kind"] == "sync")
        .map(|v| v["report"]["already_done"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(done, 2, "both found already done: {out:#?}");
    assert_eq!(
        site.ils.transaction_count(Some("checkout")).expect("n"),
        checkouts
    );
    assert_eq!(
        site.ils.transaction_count(Some("checkin")).expect("n"),
        checkins
    );
    assert_eq!(site.loans_of(&anna), [lent]);
    let asked: i64 = journal
        .query_row(
            "SELECT count(*) FROM journal WHERE state = 'done'
             AND message = 'already recorded by the library system'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(asked, 2, "settled by asking the ILS, not by sending again");
    assert!(blind_replays(&journal).is_empty());
}

/// The journal and the ILS tell the same story. Returns how many rows the sync settled by
/// asking the ILS.
fn check(ils_db: &Path, data: &Path, patron: &str, items: &[String], run: u32) -> i64 {
    let journal =
        rusqlite::Connection::open(data.join(selfcheck::store::DB_FILE)).expect("journal");
    let count = |sql: &str| -> i64 {
        journal
            .query_row(sql, [], |r| r.get(0))
            .expect("journal query")
    };
    assert_eq!(
        count("SELECT count(*) FROM journal WHERE state IN ('pending', 'queued')"),
        0,
        "run {run}: open rows after the sync"
    );
    assert_eq!(
        count("SELECT count(*) FROM journal WHERE state = 'conflict'"),
        0,
        "run {run}: conflicts"
    );
    let ils = DemoIls::open(Some(ils_db)).expect("ILS db");
    // Every checkout the journal says is done happened exactly once at the ILS: none lost
    // (journal done, ILS without), none duplicated (a second checkout shows as a renewal or
    // a second checkout transaction).
    let done_checkouts =
        count("SELECT count(*) FROM journal WHERE action = 'checkout' AND state = 'done'");
    assert_eq!(
        ils.transaction_count(Some("checkout")).expect("n") as i64,
        done_checkouts,
        "run {run}: ILS checkouts vs journal"
    );
    assert_eq!(
        ils.transaction_count(Some("renew")).expect("n"),
        0,
        "run {run}: a checkout was applied twice (renewed)"
    );
    // Each item's state at the ILS is the one its last journalled action left.
    let loans = ils.loans_of(patron).expect("loans");
    for item in items {
        let last: Option<String> = journal
            .query_row(
                "SELECT action FROM journal WHERE item_id = ?1 AND state = 'done'
                 ORDER BY id DESC LIMIT 1",
                [item],
                |r| r.get(0),
            )
            .ok();
        let charged = loans.contains(item);
        match last.as_deref() {
            Some("checkout") => assert!(charged, "run {run}: {item} lent but not charged"),
            _ => assert!(
                !charged,
                "run {run}: {item} charged without a journalled loan"
            ),
        }
    }
    let blind = blind_replays(&journal);
    assert!(
        blind.is_empty(),
        "run {run}: replayed without asking the ILS first: {blind:?}"
    );
    count("SELECT count(*) FROM journal WHERE message = 'already recorded by the library system'")
}
