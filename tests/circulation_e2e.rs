//! End-to-end circulation over the headless driver against the demo ILS: every command goes
//! through the pad simulation, the SIP2 client, the journal and the real demo ILS.

mod common;

use common::circulation::*;
use serde_json::json;

const ANNA: u32 = 8; // PIN 0000, no loans
const ANNA_PIN: &str = "0000";

fn borrow(site: &Site, patron_id: &str, pin: &str, items: &[String]) -> Vec<serde_json::Value> {
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(patron_id, pin));
    cmds.extend(items.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "done"}));
    site.run(&cmds)
}

#[test]
fn borrow_a_stack_of_ten_then_return_it() {
    let site = Site::new();
    let anna = patron(ANNA);
    let items: Vec<String> = SHELF_BOOKS[..10].iter().map(|n| item(*n)).collect();
    let out = borrow(&site, &anna, ANNA_PIN, &items);
    let summary = last_screen(&out, "summary");
    assert_eq!(summary["patron"]["display_name"], "Anna Verdi");
    for i in &items {
        let l = item_line(summary, i);
        assert_eq!(l["state"], "done", "{l}");
        assert!(l["due"].is_string());
        assert!(!l["title"].as_str().unwrap_or("").is_empty());
    }
    assert_eq!(summary["patron"]["may_borrow"], 0);
    let mut loans = site.loans_of(&anna);
    loans.sort();
    let mut want = items.clone();
    want.sort();
    assert_eq!(loans, want);
    assert_eq!(exchanges(&out, "checkout").len(), 10);

    // Return needs no patron; each item re-armed and given its destination.
    let mut cmds = vec![json!({"cmd": "start", "activity": "return"})];
    cmds.extend(items.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    for i in &items {
        let l = item_line(summary, i);
        assert_eq!(l["state"], "done", "{l}");
        assert!(l["sort_bin"].is_string(), "{l}");
    }
    assert!(site.loans_of(&anna).is_empty());
}

#[test]
fn a_stack_placed_at_once_is_settled_when_the_command_ends() {
    let site = Site::new();
    let anna = patron(ANNA);
    let items: Vec<String> = SHELF_BOOKS[..10].iter().map(|n| item(*n)).collect();
    let stack: Vec<_> = items.iter().map(|i| json!({"item": i})).collect();
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "place_stack", "items": stack}));
    let out = site.run(&cmds);
    // The last screen of the command already has every item settled, with no `done` after it.
    let borrow = last_screen(&out, "borrow");
    for i in &items {
        assert_eq!(item_line(borrow, i)["state"], "done", "{borrow:#}");
    }
    assert_eq!(exchanges(&out, "checkout").len(), 10);
    let mut loans = site.loans_of(&anna);
    loans.sort();
    let mut want = items.clone();
    want.sort();
    assert_eq!(loans, want);
}

/// The stack of ten through one session and through three: the same loans, every one in the
/// journal before it left; with one session the checkouts go one after another in the order
/// the kiosk asked for them, as they always did.
#[test]
fn one_session_or_three_lend_the_same_stack() {
    for connections in [1u8, 3] {
        let mut site = Site::new();
        site.settings.ils.connections = connections;
        let anna = patron(ANNA);
        let items: Vec<String> = SHELF_BOOKS[..10].iter().map(|n| item(*n)).collect();
        let stack: Vec<_> = items.iter().map(|i| json!({"item": i})).collect();
        let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
        cmds.extend(identify(&anna, ANNA_PIN));
        cmds.push(json!({"cmd": "place_stack", "items": stack}));
        cmds.push(json!({"cmd": "done"}));
        let out = site.run(&cmds);
        let checkouts = exchanges(&out, "checkout");
        let order: Vec<&str> = checkouts
            .iter()
            .map(|x| x["item"].as_str().unwrap_or(""))
            .collect();
        let mut journal: Vec<i64> = checkouts
            .iter()
            .map(|x| x["journal"].as_i64().unwrap_or(0))
            .collect();
        assert!(
            checkouts.iter().all(|x| x["outcome"] == "ok"),
            "{checkouts:#?}"
        );
        let mut sorted = order.clone();
        sorted.sort();
        let mut want: Vec<&str> = items.iter().map(String::as_str).collect();
        want.sort();
        assert_eq!(sorted, want, "every item lent once");
        if connections == 1 {
            // In the pad's item order, each row written after the one before was answered.
            assert_eq!(order, want);
            assert!(journal.windows(2).all(|w| w[0] < w[1]), "{journal:?}");
        }
        journal.sort();
        journal.dedup();
        assert_eq!(journal.len(), 10, "one journal row per loan");
        let mut loans = site.loans_of(&anna);
        loans.sort();
        let mut want = items.clone();
        want.sort();
        assert_eq!(loans, want);
    }
}

#[test]
fn renew_one_and_all() {
    let site = Site::new();
    // Giulia Rossi has "Il Gattopardo" on loan.
    let giulia = patron(2);
    let loan = item(12);
    let mut cmds = vec![json!({"cmd": "start", "activity": "account"})];
    cmds.extend(identify(&giulia, "2345"));
    cmds.push(json!({"cmd": "renew", "item": loan}));
    let out = site.run(&cmds);
    let account = last_screen(&out, "account");
    let line = &account["loans"][0];
    assert_eq!(line["item_id"], loan.as_str());
    assert_eq!(line["renewed"], true, "{account:#}");
    assert_eq!(site.ils.transaction_count(Some("renew")).expect("n"), 1);

    let mut cmds = vec![json!({"cmd": "start", "activity": "account"})];
    cmds.extend(identify(&giulia, "2345"));
    cmds.push(json!({"cmd": "renew_all"}));
    let out = site.run(&cmds);
    assert_eq!(exchanges(&out, "renew_all").len(), 1);
    assert_eq!(site.ils.transaction_count(Some("renew")).expect("n"), 2);
}

#[test]
fn blocked_patron_borrows_nothing() {
    let site = Site::new();
    let zhang = patron(4); // charge privileges denied
    let out = borrow(&site, &zhang, "4567", &[item(1)]);
    let refused = last_screen(&out, "refused");
    assert_eq!(refused["notice"], "blocked");
    assert!(exchanges(&out, "checkout").is_empty());
    assert!(site.loans_of(&zhang).is_empty());
}

#[test]
fn wrong_pin_three_times() {
    let site = Site::new();
    let li = patron(1);
    let mut cmds = vec![
        json!({"cmd": "start", "activity": "borrow"}),
        json!({"cmd": "identify", "patron": li}),
    ];
    for _ in 0..3 {
        cmds.push(json!({"cmd": "pin", "pin": "9999"}));
    }
    cmds.push(place(&item(1)));
    let out = site.run(&cmds);
    let refused = last_screen(&out, "refused");
    assert_eq!(refused["notice"], "wrong_pin");
    assert!(exchanges(&out, "checkout").is_empty());
    // And the right PIN works.
    let out = borrow(&site, &li, "1234", &[item(1)]);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(1))["state"],
        "done"
    );
}

#[test]
fn item_on_hold_for_someone_else_is_refused_with_the_ils_message() {
    let site = Site::new();
    let anna = patron(ANNA);
    let held = item(10); // on the hold shelf for Marco Bianchi
    let out = borrow(&site, &anna, ANNA_PIN, &[held.clone(), item(1)]);
    let summary = last_screen(&out, "summary");
    let l = item_line(summary, &held);
    assert_eq!(l["state"], "refused");
    assert_eq!(l["reason"], "ils");
    assert!(
        l["message"].as_str().unwrap_or("").contains("reserved"),
        "{l}"
    );
    assert_eq!(item_line(summary, &item(1))["state"], "done");
    assert_eq!(site.loans_of(&anna), [item(1)]);
}

#[test]
fn incomplete_set_waits_for_every_part() {
    let site = Site::new();
    let anna = patron(ANNA);
    let cds = item(28); // Beethoven, 3 CDs
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "place", "item": cds, "parts": 3, "part": 1}));
    cmds.push(json!({"cmd": "place", "item": cds, "parts": 3, "part": 2}));
    let out = site.run(&cmds);
    let borrow = last_screen(&out, "borrow");
    let l = item_line(borrow, &cds);
    assert_eq!(l["reason"], "incomplete_set");
    assert_eq!(l["parts"], json!([2, 3]));
    assert!(exchanges(&out, "checkout").is_empty());

    cmds.push(json!({"cmd": "place", "item": cds, "parts": 3, "part": 3}));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &cds)["state"],
        "done"
    );
    assert_eq!(site.loans_of(&anna), [cds]);
}

#[test]
fn tag_lifted_during_the_security_write_must_be_put_back() {
    let site = Site::new();
    let anna = patron(ANNA);
    let book = item(3);
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    // The tag answers one more frame (the AFI write) and is gone before the read-back.
    cmds.push(json!({"cmd": "place", "item": book, "lift_during_write": 1}));
    cmds.push(place(&book));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    let asked_back = screens(&out).into_iter().any(|m| {
        m["screen"] == "borrow"
            && m["items"].as_array().is_some_and(|items| {
                items.iter().any(|i| {
                    i["item_id"] == book.as_str()
                        && i["state"] == "put_back"
                        && i["reason"] == "lifted"
                })
            })
    });
    assert!(asked_back, "the patron was asked to put it back: {out:#?}");
    // Put back: security switched and verified, done, and lent once only.
    assert_eq!(
        item_line(last_screen(&out, "summary"), &book)["state"],
        "done"
    );
    assert_eq!(exchanges(&out, "checkout").len(), 1);
    assert_eq!(site.ils.transaction_count(Some("checkout")).expect("n"), 1);
    assert_eq!(site.loans_of(&anna), [book]);
}

#[test]
fn link_cut_mid_stack_then_restored_and_synced() {
    let site = Site::new();
    let anna = patron(ANNA);
    let online: Vec<String> = SHELF_BOOKS[..3].iter().map(|n| item(*n)).collect();
    let offline: Vec<String> = SHELF_BOOKS[3..6].iter().map(|n| item(*n)).collect();
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.extend(online.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "cut"}));
    cmds.extend(offline.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    assert_eq!(summary["online"], false, "offline notice");
    for i in &online {
        assert_eq!(item_line(summary, i)["state"], "done");
    }
    for i in &offline {
        let l = item_line(summary, i);
        assert_eq!(l["state"], "done_offline", "{l}");
        assert!(l["due"].is_string());
    }
    assert_eq!(site.loans_of(&anna).len(), 3, "queued, not yet at the ILS");

    // The next run starts online: the sync replays the queue first.
    let out = site.run(&[json!({"cmd": "sync"})]);
    let reports: Vec<_> = out.iter().filter(|v| v["kind"] == "sync").collect();
    let done: u64 = reports
        .iter()
        .map(|r| r["report"]["done"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(done, 3, "{reports:?}");
    assert_eq!(site.loans_of(&anna).len(), 6);
    // Replayed with no-block and the due date promised offline.
    assert_eq!(site.ils.transaction_count(Some("checkout")).expect("n"), 6);
}

#[test]
fn cut_and_restore_within_one_session() {
    let site = Site::new();
    let anna = patron(ANNA);
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "cut"}));
    cmds.push(place(&item(1)));
    cmds.push(json!({"cmd": "restore"}));
    cmds.push(place(&item(3)));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    assert_eq!(item_line(summary, &item(1))["state"], "done_offline");
    assert_eq!(item_line(summary, &item(3))["state"], "done");
    assert_eq!(summary["online"], true, "back online by itself");
    let mut loans = site.loans_of(&anna);
    loans.sort();
    assert_eq!(loans, [item(1), item(3)]);
}

#[test]
fn any_item_id_and_other_libraries() {
    let site = Site::new();
    let anna = patron(ANNA);
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(place("X-UNKNOWN-42"));
    cmds.push(json!({"cmd": "place", "item": "X1", "usage": "not_for_circulation"}));
    let mut settings_site = site;
    settings_site.settings.rfid.owner_isil = Some("IT-RM0001".into());
    cmds.push(json!({"cmd": "place", "item": item(1), "owner": "DK-710100"}));
    let out = settings_site.run(&cmds);
    let m = last_screen(&out, "borrow");
    let l = item_line(m, "X-UNKNOWN-42");
    assert_eq!(
        l["reason"], "ils",
        "the ILS decides about ids it does not know"
    );
    assert_eq!(item_line(m, "X1")["reason"], "not_for_circulation");
    assert_eq!(item_line(m, &item(1))["reason"], "other_library");
}

#[test]
fn idle_timeout_forgets_the_patron() {
    let site = Site::new();
    let anna = patron(ANNA);
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "advance", "secs": 50}));
    cmds.push(json!({"cmd": "advance", "secs": 10}));
    let out = site.run(&cmds);
    let all = screens(&out);
    assert!(all.iter().any(|m| m["idle_warning"] == 10), "warning first");
    let last = all.last().expect("screens");
    assert_eq!(last["screen"], "welcome");
    assert!(last["patron"].is_null());
}

#[test]
fn scanned_card_and_labels_are_lent_and_returned_like_tags() {
    let site = Site::new();
    let anna = patron(ANNA);
    let scanned = item(1);
    let tagged = item(3);
    let cmds = vec![
        json!({"cmd": "start", "activity": "borrow"}),
        json!({"cmd": "scan", "code": anna}),
        json!({"cmd": "pin", "pin": ANNA_PIN}),
        json!({"cmd": "scan", "code": scanned}),
        // Scanned twice: lent once.
        json!({"cmd": "scan", "code": scanned}),
        place(&tagged),
        json!({"cmd": "done"}),
    ];
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    for i in [&scanned, &tagged] {
        assert_eq!(item_line(summary, i)["state"], "done", "{summary:#}");
    }
    assert!(
        !item_line(summary, &scanned)["title"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    assert_eq!(exchanges(&out, "checkout").len(), 2);
    let mut loans = site.loans_of(&anna);
    loans.sort();
    assert_eq!(loans, [scanned.clone(), tagged.clone()]);

    // Returned by their labels, the tagged one too.
    let cmds = vec![
        json!({"cmd": "start", "activity": "return"}),
        json!({"cmd": "scan", "code": scanned}),
        json!({"cmd": "scan", "code": tagged}),
        // A patron card while returning is not an item.
        json!({"cmd": "scan", "code": anna}),
        json!({"cmd": "done"}),
    ];
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    for i in [&scanned, &tagged] {
        let l = item_line(summary, i);
        assert_eq!(l["state"], "done", "{l}");
        assert!(l["sort_bin"].is_string(), "{l}");
    }
    assert_eq!(summary["items"].as_array().map(Vec::len), Some(2));
    assert!(site.loans_of(&anna).is_empty());
}

/// Queue `rounds` offline rounds (every item lent, then every item returned) for `patron`
/// straight into the kiosk's journal.
fn queue_offline_rounds(site: &Site, patron: &str, items: &[String], rounds: usize) -> usize {
    use selfcheck::store::journal::{self, Action, NewEntry, State};
    let mut conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("journal");
    let mut n = 0;
    for _ in 0..rounds {
        for action in [Action::Checkout, Action::Checkin] {
            for i in items {
                let checkout = action == Action::Checkout;
                journal::record(
                    &mut conn,
                    &NewEntry {
                        action,
                        patron_id: checkout.then_some(patron),
                        item_id: Some(i),
                        state: State::Queued,
                        transaction_at: "20261128    101500",
                        due_at: checkout.then_some("20261219    235959"),
                    },
                )
                .expect("queue");
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_long_queue_syncs_in_the_background_while_a_patron_borrows() {
    let site = Site::new();
    let anna = patron(ANNA);
    let queued_items: Vec<String> = SHELF_BOOKS[4..].iter().map(|n| item(*n)).collect();
    let john_before = site.loans_of(&patron(3));
    let queued = queue_offline_rounds(&site, &patron(3), &queued_items, 150);
    let books = [item(1), item(3)];
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.extend(books.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "done"}));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);

    // The patron was served online while the sync was still going: their summary comes
    // before the sync's report, and screens in between show its progress.
    let position = |f: &dyn Fn(&serde_json::Value) -> bool| out.iter().position(f);
    let summary =
        position(&|v| v["kind"] == "screen" && v["model"]["screen"] == "summary").expect("summary");
    let report = position(&|v| v["kind"] == "sync").expect("sync report");
    assert!(
        summary < report,
        "the session waited for the sync: {out:#?}"
    );
    assert!(
        out[..summary]
            .iter()
            .any(|v| v["kind"] == "screen" && v["model"]["sync"]["total"] == queued),
        "progress shown while the patron borrows"
    );
    for x in exchanges(&out, "checkout") {
        assert_eq!(x["outcome"], "ok", "lent online, not queued: {x}");
    }
    let summary = last_screen(&out, "summary");
    for b in &books {
        assert_eq!(item_line(summary, b)["state"], "done");
    }
    // And the queue is replayed to its end.
    let r = &out[report]["report"];
    assert_eq!(r["done"].as_u64(), Some(queued as u64), "{r}");
    assert_eq!(r["remaining"], 0);
    assert_eq!(
        site.ils.transaction_count(Some("checkout")).expect("n") as usize,
        queued / 2 + books.len()
    );
    let last = screens(&out).into_iter().last().expect("screens");
    assert!(last.get("sync").is_none(), "the end of the sync is shown");
    let mut loans = site.loans_of(&anna);
    loans.sort();
    assert_eq!(loans, books);
    assert_eq!(
        site.loans_of(&patron(3)),
        john_before,
        "every queued loan returned"
    );
}

#[test]
fn an_item_returned_offline_is_confirmed_before_it_is_lent_again() {
    use selfcheck::store::journal::{self, Action, NewEntry, State};
    let site = Site::new();
    let anna = patron(ANNA);
    let book = item(1);
    borrow(&site, &anna, ANNA_PIN, std::slice::from_ref(&book));
    assert_eq!(site.loans_of(&anna), std::slice::from_ref(&book));
    // A long queue, and at its end the book's return, made while the link was down.
    let queued_items: Vec<String> = SHELF_BOOKS[4..].iter().map(|n| item(*n)).collect();
    queue_offline_rounds(&site, &patron(3), &queued_items, 100);
    let mut conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("journal");
    journal::record(
        &mut conn,
        &NewEntry {
            action: Action::Checkin,
            patron_id: None,
            item_id: Some(&book),
            state: State::Queued,
            transaction_at: "20261128    101500",
            due_at: None,
        },
    )
    .expect("queue");

    // The next patron takes it from the shelf while the sync is still busy with the queue:
    // the return reaches the ILS first, then the loan.
    let li = patron(1);
    let out = borrow(&site, &li, "1234", std::slice::from_ref(&book));
    let l = item_line(last_screen(&out, "summary"), &book);
    assert_eq!(l["state"], "done", "{l}");
    assert!(site.loans_of(&li).contains(&book));
    assert!(site.loans_of(&anna).is_empty());
}

/// A journal row as a kiosk that lost its link (or crashed) left it.
struct Row<'a> {
    action: selfcheck::store::journal::Action,
    patron: Option<&'a str>,
    item: &'a str,
    state: selfcheck::store::journal::State,
    /// How long ago the patron did it.
    ago: chrono::Duration,
}

/// Write rows straight into the kiosk's journal, dated `ago` (the patron's date and the row's
/// own time).
fn write_rows(site: &Site, rows: &[Row<'_>]) {
    use selfcheck::store::journal::{self, NewEntry};
    let mut conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("journal");
    for row in rows {
        let then = chrono::Local::now().naive_local() - row.ago;
        let at = selfcheck::sip2::SipDateTime::local(then).to_string();
        let written =
            (chrono::Utc::now() - row.ago).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let id = journal::record(
            &mut conn,
            &NewEntry {
                action: row.action,
                patron_id: row.patron,
                item_id: Some(row.item),
                state: row.state,
                transaction_at: &at,
                due_at: None,
            },
        )
        .expect("record");
        conn.execute(
            "UPDATE journal SET created_at = ?1, updated_at = ?1 WHERE id = ?2",
            rusqlite::params![written, id],
        )
        .expect("date the row");
    }
}

fn sync_totals(out: &[serde_json::Value]) -> (u64, u64, u64) {
    let sum = |key: &str| {
        out.iter()
            .filter(|v| v["kind"] == "sync")
            .map(|v| v["report"][key].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    (sum("done"), sum("already_done"), sum("conflicts"))
}

/// `selfcheck sync status --json` over the site's journal.
fn journal_status(site: &Site) -> serde_json::Value {
    let out = common::run(common::selfcheck().args([
        "--data-dir",
        &site.dir.path().display().to_string(),
        "sync",
        "status",
        "--json",
    ]));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status json")
}

#[test]
fn a_conflict_goes_to_staff_and_the_rest_of_the_queue_goes_on() {
    use selfcheck::store::journal::{Action, State};
    let site = Site::new();
    let (anna, li) = (patron(ANNA), patron(1));
    let (taken, free) = (item(SHELF_BOOKS[0]), item(SHELF_BOOKS[1]));
    // Offline, Anna borrowed two books and a label the library does not know.
    let loan = |item| Row {
        action: Action::Checkout,
        patron: Some(&anna),
        item,
        state: State::Queued,
        ago: chrono::Duration::minutes(5),
    };
    write_rows(&site, &[loan(&taken), loan("X-UNKNOWN-7"), loan(&free)]);
    // Meanwhile the desk lent the first book to Li.
    let lent = common::run(common::selfcheck().args([
        "sip2",
        "--server",
        &site.settings.ils.server,
        "checkout",
        &li,
        &taken,
    ]));
    assert!(lent.status.success(), "{}", common::text(&lent.stderr));
    let lis_loans = site.loans_of(&li);
    assert!(lis_loans.contains(&taken));

    let out = site.run(&[json!({"cmd": "sync"})]);
    assert_eq!(sync_totals(&out), (1, 0, 2), "{out:#?}");
    assert_eq!(site.loans_of(&anna), std::slice::from_ref(&free));
    assert_eq!(site.loans_of(&li), lis_loans, "Li's loans are untouched");

    let status = journal_status(&site);
    let conflicts = status["conflicts"].as_array().expect("conflicts");
    let items: Vec<&str> = conflicts
        .iter()
        .map(|c| c["item_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(items, [taken.as_str(), "X-UNKNOWN-7"]);
    for c in conflicts {
        let message = c["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "staff see the ILS's reason: {c}");
    }
}

#[test]
fn an_unsure_return_of_a_book_on_loan_again_goes_to_staff_once_it_is_old() {
    use selfcheck::store::journal::{Action, State};
    let site = Site::new();
    let anna = patron(ANNA);
    let (li, hours) = (patron(1), chrono::Duration::hours);
    let (old, fresh, back) = (
        item(SHELF_BOOKS[2]),
        item(SHELF_BOOKS[3]),
        item(SHELF_BOOKS[4]),
    );
    borrow(
        &site,
        &anna,
        ANNA_PIN,
        &[old.clone(), fresh.clone(), back.clone()],
    );
    // Three returns whose answers never came: one a minute ago, two three hours ago. The books
    // are on loan at the ILS: the returns may never have arrived, or arrived and the books were
    // lent again since. Only an old one can have been lent again elsewhere, unless the book
    // came back to this kiosk since: Li borrowed `back` here two hours ago, offline.
    let unsure = |item, ago| Row {
        action: Action::Checkin,
        patron: None,
        item,
        state: State::Pending,
        ago,
    };
    write_rows(
        &site,
        &[
            unsure(&old, hours(3)),
            unsure(&fresh, chrono::Duration::minutes(1)),
            unsure(&back, hours(3)),
            Row {
                action: Action::Checkout,
                patron: Some(&li),
                item: &back,
                state: State::Queued,
                ago: hours(2),
            },
        ],
    );
    let lis_loans = site.loans_of(&li);

    let out = site.run(&[json!({"cmd": "sync"})]);
    assert_eq!(sync_totals(&out), (3, 0, 1), "{out:#?}");
    assert_eq!(
        site.loans_of(&anna),
        std::slice::from_ref(&old),
        "the recent return is sent again, and the one of a book seen since; the old one is not"
    );
    assert_eq!(site.loans_of(&li), [lis_loans, vec![back.clone()]].concat());
    let status = journal_status(&site);
    let conflict = &status["conflicts"][0];
    assert_eq!(conflict["item_id"], old.as_str());
    assert!(
        conflict["message"]
            .as_str()
            .is_some_and(|m| m.contains("on loan again")),
        "{conflict}"
    );
}

/// `selfcheck sync ...` over the site's journal, talking to the site's ILS; logs at `debug`,
/// so a test can check what they carry. Returns the exit status's success, standard output
/// and the log.
fn sync_cli(site: &Site, args: &[&str]) -> (bool, String, String) {
    let settings = site.dir.path().join("ils.toml");
    std::fs::write(
        &settings,
        format!(
            "[ils]\nserver = \"{}\"\nrequest_timeout_secs = 3\n",
            site.settings.ils.server
        ),
    )
    .expect("settings");
    let out = common::run(
        common::selfcheck()
            .env("RUST_LOG", "debug")
            .arg("--config")
            .arg(&settings)
            .arg("--data-dir")
            .arg(site.dir.path())
            .arg("sync")
            .args(args),
    );
    (
        out.status.success(),
        common::text(&out.stdout),
        common::text(&out.stderr),
    )
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The desk: one SIP2 exchange as staff at the library system's own client would make it.
fn at_the_desk(site: &Site, exchange: &[&str]) {
    let out = common::run(
        common::selfcheck()
            .args(["sip2", "--server", &site.settings.ils.server])
            .args(exchange),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
}

#[test]
fn a_conflict_is_listed_and_resolved_from_the_command_line_both_ways() {
    let site = Site::new();
    let (anna, li) = (patron(ANNA), patron(1));
    let (first, second) = (item(SHELF_BOOKS[0]), item(SHELF_BOOKS[1]));
    // Anna borrows two books at the kiosk while the link is down.
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "cut"}));
    cmds.push(place(&first));
    cmds.push(place(&second));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    let summary = last_screen(&out, "summary");
    for i in [&first, &second] {
        assert_eq!(item_line(summary, i)["state"], "done_offline");
    }
    // Meanwhile the desk lends both to Li.
    for i in [&first, &second] {
        at_the_desk(&site, &["checkout", &li, i]);
    }
    let lis_loans = site.loans_of(&li);
    let out = site.run(&[json!({"cmd": "sync"})]);
    assert_eq!(sync_totals(&out), (0, 0, 2), "{out:#?}");

    // Listed for staff: the row, the action, the item, the patron to call, the ILS's reason.
    let (ok, listed, _) = sync_cli(&site, &["conflicts", "--json"]);
    assert!(ok);
    let listed = json_of(&listed);
    let open = listed["conflicts"].as_array().expect("conflicts");
    assert_eq!(open.len(), 2, "{listed:#}");
    for (c, i) in open.iter().zip([&first, &second]) {
        assert_eq!(c["action"], "checkout");
        assert_eq!(c["item"], i.as_str());
        assert_eq!(c["patron"], anna.as_str());
        assert_eq!(c["offline"], true);
        assert!(!c["reason"].as_str().unwrap_or("").is_empty(), "{c}");
        assert!(c["age_secs"].as_i64().is_some_and(|a| a >= 0), "{c}");
        assert!(c["resolution"].is_null());
    }
    let id = |c: &serde_json::Value| c["id"].as_i64().expect("id").to_string();
    let (first_id, second_id) = (id(&open[0]), id(&open[1]));
    let (ok, text, _) = sync_cli(&site, &["conflicts"]);
    assert!(ok);
    assert!(
        text.lines().count() == 2 && text.contains(&format!("#{first_id} checkout item {first}")),
        "{text}"
    );

    // Resent while Li still has the book: refused again, still a conflict, exit status 1.
    let (ok, report, log) = sync_cli(&site, &["resolve", &first_id, "--resend", "--json"]);
    assert!(!ok, "{report}");
    let report = json_of(&report);
    assert_eq!(report["outcome"], "refused_again", "{report}");
    assert_eq!(report["resolved"], false);
    assert!(!log.contains(&anna) && !log.contains(&li), "{log}");
    assert_eq!(site.loans_of(&li), lis_loans, "Li's loans are untouched");

    // Li brings it back to the desk: the resend now goes through, and Anna has the book.
    at_the_desk(&site, &["checkin", &first]);
    let (ok, report, log) = sync_cli(&site, &["resolve", &first_id, "--resend", "--json"]);
    assert!(ok, "{report}{log}");
    assert_eq!(json_of(&report)["outcome"], "resent", "{report}");
    assert!(!log.contains(&anna), "{log}");
    assert_eq!(site.loans_of(&anna), std::slice::from_ref(&first));

    // The second stays with Li: staff dropped Anna's loan of it at the desk.
    let (ok, report, _) = sync_cli(
        &site,
        &[
            "resolve",
            &second_id,
            "--drop",
            "--note",
            "kept by the other borrower",
        ],
    );
    assert!(ok, "{report}");
    assert!(report.contains("dropped"), "{report}");
    let without_first: Vec<String> = lis_loans.into_iter().filter(|i| *i != first).collect();
    assert!(without_first.contains(&second));
    assert_eq!(site.loans_of(&li), without_first);
    assert_eq!(site.loans_of(&anna), std::slice::from_ref(&first));

    // Nothing open; with --all, both, with how, when and the note.
    let (_, listed, _) = sync_cli(&site, &["conflicts", "--json"]);
    assert_eq!(json_of(&listed)["conflicts"], json!([]));
    let (_, listed, _) = sync_cli(&site, &["conflicts", "--json", "--all"]);
    let listed = json_of(&listed);
    let all = listed["conflicts"].as_array().expect("conflicts");
    assert_eq!(all.len(), 2, "{listed:#}");
    assert_eq!(all[0]["resolution"], "resent");
    assert_eq!(all[1]["resolution"], "dropped");
    assert_eq!(all[1]["note"], "kept by the other borrower");
    assert!(
        all.iter().all(|c| c["resolved_at"].is_string()),
        "{listed:#}"
    );
    let status = journal_status(&site);
    assert_eq!(status["conflicts"], json!([]), "{status:#}");

    // Settled once: a second try is refused and says so; an unknown row too.
    let (ok, _, log) = sync_cli(&site, &["resolve", &second_id, "--drop"]);
    assert!(!ok);
    assert!(
        log.contains("not an open conflict: staff dropped it at "),
        "{log}"
    );
    let (ok, _, log) = sync_cli(&site, &["resolve", "999999", "--resend"]);
    assert!(!ok);
    assert!(log.contains("no journal row 999999"), "{log}");
    // One of the two, not none.
    let (ok, _, log) = sync_cli(&site, &["resolve", &first_id]);
    assert!(!ok);
    assert!(log.contains("--resend") && log.contains("--drop"), "{log}");
}

#[test]
fn an_unresolved_conflict_is_purged_after_conflict_max_days() {
    use selfcheck::store::journal::{Action, State};
    let site = Site::new();
    let anna = patron(ANNA);
    let conflict = |item, days| Row {
        action: Action::Checkout,
        patron: Some(&anna),
        item,
        state: State::Conflict,
        ago: chrono::Duration::days(days),
    };
    let (old, young) = (item(SHELF_BOOKS[0]), item(SHELF_BOOKS[1]));
    write_rows(&site, &[conflict(&old, 31), conflict(&young, 29)]);
    let out = site.run(&[]);
    let purge = out
        .iter()
        .find(|v| v["kind"] == "purge")
        .unwrap_or_else(|| panic!("no purge in {out:#?}"));
    assert_eq!(purge["stale_conflicts"], 1, "{purge}");
    let (_, listed, _) = sync_cli(&site, &["conflicts", "--json"]);
    let listed = json_of(&listed);
    let left: Vec<&str> = listed["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .map(|c| c["item"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(left, [young.as_str()]);
}

// ---- TLS: the kiosk's own run paths through a TLS endpoint ---------------------------------

/// A TLS endpoint with its own CA in front of the site's demo ILS, as a site's TLS proxy stands
/// in front of its library system: it terminates TLS and relays the bytes. Its certificate
/// names `localhost` only; with `client_auth` it requires a client certificate from its CA.
struct TlsFront {
    port: u16,
    dir: tempfile::TempDir,
    ca_file: std::path::PathBuf,
    client_cert: std::path::PathBuf,
    client_key: std::path::PathBuf,
}

fn tls_front(site: &Site, client_auth: bool) -> TlsFront {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Library test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kiosk-01");
    client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params
        .signed_by(&client_key, &issuer)
        .expect("client certificate");
    let dir = tempfile::tempdir().expect("tmp");
    let file = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let ca_file = file("ca.pem", ca.pem());
    let client_cert = file("kiosk.pem", client.pem());
    let client_key_file = file("kiosk.key", client_key.serialize_pem());

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).expect("root");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            vec![server.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .expect("server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let ils = site.settings.ils.server.clone();
    let listener = site
        .rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    site.rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, ils) = (acceptor.clone(), ils.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&ils).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront {
        port,
        dir,
        ca_file,
        client_cert,
        client_key: client_key_file,
    }
}

/// Point the site's kiosk at the endpoint: `host` is what `ils.server` dials.
fn through(site: &mut Site, front: &TlsFront, host: &str) {
    let ils = &mut site.settings.ils;
    ils.server = format!("{host}:{}", front.port);
    ils.tls = true;
    ils.ca_file = Some(front.ca_file.clone());
}

/// Why the kiosk's link (opened as the window opens it) cannot come up: the first failure it
/// reports. It must never come online.
fn link_refusal(site: &Site) -> String {
    use selfcheck::runtime::link::{LinkOptions, connect_ils};
    use selfcheck::sip2::client::LinkState;
    site.rt.block_on(async {
        let link = connect_ils(&site.settings, LinkOptions::default())
            .await
            .expect("link");
        let mut rx = link.sip2.link();
        let wait = async {
            loop {
                let state = rx.borrow_and_update().clone();
                match state {
                    LinkState::Offline { reason, .. } => return reason,
                    LinkState::Online { .. } => panic!("the link came up"),
                    LinkState::Connecting => {}
                }
                rx.changed().await.expect("the client runs");
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), wait)
            .await
            .expect("the link reports its failure")
    })
}

/// The window's core as `start_core` starts it on the simulated board, its screen models kept.
struct WindowCore {
    core: selfcheck::app::Core,
    models: std::sync::Arc<std::sync::Mutex<Vec<selfcheck::kiosk::ScreenModel>>>,
    _dir: tempfile::TempDir,
}

impl WindowCore {
    fn start(
        settings: &selfcheck::config::Settings,
        on_staff_card: std::sync::Arc<dyn Fn() + Send + Sync>,
    ) -> WindowCore {
        let models: std::sync::Arc<std::sync::Mutex<Vec<_>>> = Default::default();
        let sink = models.clone();
        let dir = tempfile::tempdir().expect("tmp");
        let board = selfcheck::board::Board::load("sim").expect("sim board");
        let core = selfcheck::app::start_core(
            settings,
            &board,
            dir.path(),
            move |m| sink.lock().expect("models").push(m),
            on_staff_card,
        )
        .expect("core");
        WindowCore {
            core,
            models,
            _dir: dir,
        }
    }

    /// Wait (a minute at most) until the screen models shown so far satisfy `done`.
    fn wait(&self, what: &str, done: &dyn Fn(&[selfcheck::kiosk::ScreenModel]) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if done(&self.models.lock().expect("models")) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited in vain for {what}: {:#?}",
                self.models.lock().expect("models").last()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The window's path (`selfcheck run` without the window): the core as `start_core` starts
/// it, a patron borrowing one book put on its simulated pad.
fn borrow_through_the_window_core(site: &Site, patron: &str, pin: &str, book: &str) {
    use selfcheck::kiosk::{Activity, Event, ItemState, Screen};
    let window = WindowCore::start(&site.settings, std::sync::Arc::new(|| {}));
    let core = &window.core;
    let wait = |what: &str, done: &dyn Fn(&selfcheck::kiosk::ScreenModel) -> bool| {
        window.wait(what, &|m| m.iter().any(done))
    };
    wait("the link", &|m| m.online);
    for event in [
        Event::Start(Activity::Borrow),
        Event::Patron(patron.into()),
        Event::Pin(pin.into()),
    ] {
        core.events.blocking_send(event).expect("core");
    }
    wait("the pad", &|m| m.screen == Screen::Borrow);
    core.pad
        .place_item(
            selfcheck::rfid::tag::parse_uid("E004015000000042").expect("uid"),
            book,
            None,
            selfcheck::rfid::DataModel::Iso28560_3,
        )
        .expect("tag");
    wait("the loan", &|m| {
        m.items
            .iter()
            .any(|i| i.item_id == book && i.state == ItemState::Done)
    });
    window.core.shutdown();
}

#[test]
fn the_kiosk_borrows_through_a_tls_endpoint_with_its_own_ca() {
    let mut site = Site::new();
    let front = tls_front(&site, false);
    through(&mut site, &front, "localhost");
    let anna = patron(ANNA);
    let (one, two, three) = (
        item(SHELF_BOOKS[0]),
        item(SHELF_BOOKS[1]),
        item(SHELF_BOOKS[2]),
    );

    // The headless runner, and the window's core: each borrows through the endpoint.
    let out = borrow(&site, &anna, ANNA_PIN, std::slice::from_ref(&one));
    let summary = last_screen(&out, "summary");
    assert_eq!(summary["online"], true);
    assert_eq!(item_line(summary, &one)["state"], "done");
    borrow_through_the_window_core(&site, &anna, ANNA_PIN, &two);
    assert_eq!(site.loans_of(&anna), [one.clone(), two.clone()]);

    // Dialled by IP address, the certificate (for localhost) does not match: refused...
    through(&mut site, &front, "127.0.0.1");
    let refused = link_refusal(&site);
    assert!(refused.contains("certificate"), "{refused}");
    // ... unless the site names the certificate's host.
    site.settings.ils.tls_server_name = Some("localhost".into());
    let out = borrow(&site, &anna, ANNA_PIN, std::slice::from_ref(&three));
    assert_eq!(
        item_line(last_screen(&out, "summary"), &three)["state"],
        "done"
    );

    // Trusting another CA than the one that signed the endpoint's certificate: refused.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let other_ca = front.dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, other.cert.pem()).expect("write");
    site.settings.ils.ca_file = Some(other_ca);
    let refused = link_refusal(&site);
    assert!(refused.contains("certificate"), "{refused}");
}

#[test]
fn a_tls_endpoint_that_requires_a_client_certificate() {
    let mut site = Site::new();
    let front = tls_front(&site, true);
    through(&mut site, &front, "localhost");
    let anna = patron(ANNA);
    let (one, two) = (item(SHELF_BOOKS[0]), item(SHELF_BOOKS[1]));

    // Without one: the endpoint refuses the kiosk.
    let refused = link_refusal(&site);
    assert!(!refused.is_empty());
    assert!(site.loans_of(&anna).is_empty());

    // With the kiosk's certificate: the headless runner and the window's core borrow.
    site.settings.ils.client_cert = Some(front.client_cert.clone());
    site.settings.ils.client_key = Some(front.client_key.clone());
    let out = borrow(&site, &anna, ANNA_PIN, std::slice::from_ref(&one));
    assert_eq!(
        item_line(last_screen(&out, "summary"), &one)["state"],
        "done"
    );
    borrow_through_the_window_core(&site, &anna, ANNA_PIN, &two);
    assert_eq!(site.loans_of(&anna), [one, two]);
}

/// One borrow session: card, then PIN (if given) after the link was cut when `offline`, then
/// the items.
fn borrow_session(
    patron_id: &str,
    pin: Option<&str>,
    offline: bool,
    items: &[String],
) -> Vec<serde_json::Value> {
    let mut cmds = vec![
        json!({"cmd": "start", "activity": "borrow"}),
        json!({"cmd": "identify", "patron": patron_id}),
    ];
    if offline {
        cmds.push(json!({"cmd": "cut"}));
    }
    if let Some(pin) = pin {
        cmds.push(json!({"cmd": "pin", "pin": pin}));
    }
    cmds.extend(items.iter().map(|i| place(i)));
    cmds.push(json!({"cmd": "done"}));
    cmds
}

#[test]
fn an_ils_that_does_not_verify_pins_never_lends_on_a_pin() {
    use selfcheck::sip2::demo_ils::ServerConfig;
    let mut site = Site::with_ils(ServerConfig {
        verifies_pins: false,
        ..ServerConfig::default()
    });
    let anna = patron(ANNA);
    // A wrong PIN, then the right one: neither is confirmed (no CQ), so neither lends.
    for pin in ["9999", ANNA_PIN] {
        let out = site.run(&borrow_session(&anna, Some(pin), false, &[item(1)]));
        let refused = last_screen(&out, "refused");
        assert_eq!(refused["notice"], "pin_not_verified", "{out:#?}");
        assert!(refused["patron"].is_null(), "no account shown: {refused}");
        assert!(exchanges(&out, "checkout").is_empty(), "{out:#?}");
        let asked = exchanges(&out, "patron");
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0]["outcome"], "refused");
        assert!(
            asked[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("CQ")),
            "{}",
            asked[0]
        );
    }
    assert!(site.loans_of(&anna).is_empty());
    assert_eq!(site.ils.transaction_count(Some("checkout")).expect("n"), 0);
    // The site's answer: the card alone.
    site.settings.terminal.require_pin = false;
    let out = site.run(&borrow_session(&anna, None, false, &[item(1)]));
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(1))["state"],
        "done"
    );
    assert_eq!(site.loans_of(&anna), [item(1)]);
}

#[test]
fn offline_a_pin_is_checked_only_against_a_verifier_from_an_online_session() {
    let mut site = Site::new();
    let anna = patron(ANNA);
    let li = patron(1); // PIN 1234
    // Anna borrows online with her PIN: the ILS confirmed it, the kiosk keeps its verifier.
    let out = site.run(&borrow_session(&anna, Some(ANNA_PIN), false, &[item(1)]));
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(1))["state"],
        "done"
    );
    // Li is seen online with the card alone: cached, but with no verifier.
    site.settings.terminal.require_pin = false;
    let out = site.run(&borrow_session(&li, None, false, &[]));
    assert_eq!(exchanges(&out, "patron")[0]["outcome"], "ok");
    site.settings.terminal.require_pin = true;

    // Offline, Anna's wrong PIN is refused by the verifier and the right one lends.
    let out = site.run(&borrow_session(&anna, Some("9999"), true, &[item(3)]));
    let pin = last_screen(&out, "pin");
    assert_eq!(pin["notice"], "wrong_pin", "{out:#?}");
    assert!(exchanges(&out, "checkout").is_empty());
    let out = site.run(&borrow_session(&anna, Some(ANNA_PIN), true, &[item(3)]));
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(3))["state"],
        "done_offline",
        "{out:#?}"
    );
    // Li has no verifier: refused offline whatever the PIN, plainly.
    for pin in ["1234", "0000"] {
        let out = site.run(&borrow_session(&li, Some(pin), true, &[item(4)]));
        assert_eq!(last_screen(&out, "refused")["notice"], "no_offline_pin");
        assert!(exchanges(&out, "checkout").is_empty(), "{out:#?}");
    }
    // A patron never seen here, with unknown patrons allowed offline: no verifier either.
    site.settings.offline.allow_unknown_patrons = true;
    let out = site.run(&borrow_session(&patron(3), Some("3456"), true, &[item(4)]));
    assert_eq!(last_screen(&out, "refused")["notice"], "no_offline_pin");
    assert!(exchanges(&out, "checkout").is_empty());
}

#[test]
fn cached_patrons_expire_with_their_pin_verifiers() {
    let mut site = Site::new();
    let anna = patron(ANNA);
    site.run(&borrow_session(&anna, Some(ANNA_PIN), false, &[item(1)]));
    site.settings.offline.patron_cache_days = 10;
    // Last seen online eleven days ago.
    let db = site.dir.path().join(selfcheck::store::DB_FILE);
    let conn = selfcheck::store::open(&db).expect("db");
    let stamp = (chrono::Utc::now() - chrono::Duration::days(11))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let n = conn
        .execute("UPDATE patron_cache SET updated_at = ?1", [&stamp])
        .expect("backdate");
    assert_eq!(n, 1);
    drop(conn);
    // Purged when the journal is (at the start of a run): offline, the PIN cannot be checked.
    let out = site.run(&borrow_session(&anna, Some(ANNA_PIN), true, &[item(3)]));
    let purge = out
        .iter()
        .find(|v| v["kind"] == "purge")
        .unwrap_or_else(|| panic!("no purge line: {out:#?}"));
    assert_eq!(purge["cached_patrons"], 1);
    assert_eq!(last_screen(&out, "refused")["notice"], "no_offline_pin");
    assert!(exchanges(&out, "checkout").is_empty());
    let conn = selfcheck::store::open(&db).expect("db");
    let left: i64 = conn
        .query_row("SELECT count(*) FROM patron_cache", [], |r| r.get(0))
        .expect("count");
    assert_eq!(left, 0);
}

#[test]
fn a_return_the_ils_raises_an_alert_for_goes_on_the_desk_shelf() {
    let site = Site::new();
    // 三体 is on loan to Li Wei, with a hold for Anna.
    let held = item(2);
    let out = site.run(&[
        json!({"cmd": "start", "activity": "return"}),
        place(&held),
        place(&item(12)),
        json!({"cmd": "done"}),
    ]);
    let summary = last_screen(&out, "summary");
    let l = item_line(summary, &held);
    assert_eq!(l["state"], "done", "{l}");
    assert!(
        l["reason"] == "desk_shelf_hold" || l["reason"] == "desk_shelf_transit",
        "{l}"
    );
    assert!(l["sort_bin"].as_str().is_some_and(|b| !b.is_empty()), "{l}");
    // An ordinary return has no such hint.
    assert!(item_line(summary, &item(12))["reason"].is_null());
}

#[test]
fn the_kiosk_offers_only_what_the_ils_status_allows() {
    use selfcheck::sip2::demo_ils::ServerConfig;
    let site = Site::with_ils(ServerConfig {
        checkout_ok: false,
        ..ServerConfig::default()
    });
    let anna = patron(ANNA);
    let out = site.run(&borrow_session(&anna, Some(ANNA_PIN), false, &[item(1)]));
    assert_eq!(last_screen(&out, "refused")["notice"], "no_loans_now");
    assert!(exchanges(&out, "patron").is_empty() && exchanges(&out, "checkout").is_empty());
    let out = site.run(&[
        json!({"cmd": "start", "activity": "return"}),
        place(&item(12)),
        json!({"cmd": "done"}),
    ]);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(12))["state"],
        "done"
    );

    let site = Site::with_ils(ServerConfig {
        checkout_ok: false,
        checkin_ok: false,
        ..ServerConfig::default()
    });
    let out = site.run(&[
        json!({"cmd": "start", "activity": "return"}),
        place(&item(12)),
    ]);
    let screen = screens(&out).into_iter().last().expect("a screen").clone();
    assert_eq!(screen["screen"], "out_of_order", "{screen}");
    assert_eq!(screen["fault"], "ils");
    assert!(exchanges(&out, "checkin").is_empty());
}

/// The journal row's message for an item's latest action.
fn journal_message(site: &Site, item_id: &str) -> Option<String> {
    let conn =
        selfcheck::store::open(&site.dir.path().join(selfcheck::store::DB_FILE)).expect("db");
    conn.query_row(
        "SELECT message FROM journal WHERE item_id = ?1 ORDER BY id DESC LIMIT 1",
        [item_id],
        |r| r.get(0),
    )
    .expect("row")
}

#[test]
fn offline_loans_need_a_clock_known_to_be_right_and_returns_are_marked() {
    use selfcheck::sip2::demo_ils::ServerConfig;
    // The ILS's date is an hour from the kiosk's, and the system has no NTP.
    let mut site = Site::with_ils(ServerConfig {
        clock_offset_secs: 3600,
        ..ServerConfig::default()
    });
    let anna = patron(ANNA);
    let ntp_off = json!({"cmd": "ntp", "synchronised": false});
    // Online, loans carry the ILS's dates: fine (and the PIN's verifier is cached).
    let mut cmds = vec![ntp_off.clone()];
    cmds.extend(borrow_session(&anna, Some(ANNA_PIN), false, &[item(1)]));
    let out = site.run(&cmds);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(1))["state"],
        "done"
    );
    // Offline, no loan with an unsure date.
    let mut cmds = vec![ntp_off.clone()];
    cmds.extend(borrow_session(&anna, Some(ANNA_PIN), true, &[item(3)]));
    let out = site.run(&cmds);
    assert_eq!(
        last_screen(&out, "refused")["notice"],
        "clock_unsure",
        "{out:#?}"
    );
    assert!(exchanges(&out, "checkout").is_empty());
    // An offline return is taken, and marked for staff.
    let out = site.run(&[
        ntp_off.clone(),
        json!({"cmd": "start", "activity": "return"}),
        json!({"cmd": "cut"}),
        place(&item(1)),
        json!({"cmd": "done"}),
    ]);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(1))["state"],
        "done_offline"
    );
    let note = journal_message(&site, &item(1)).unwrap_or_default();
    assert!(note.starts_with("clock unsure"), "{note}");
    // NTP synchronised: offline loans again.
    let mut cmds = vec![json!({"cmd": "ntp", "synchronised": true})];
    cmds.extend(borrow_session(&anna, Some(ANNA_PIN), true, &[item(3)]));
    let out = site.run(&cmds);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(3))["state"],
        "done_offline"
    );
    // A terminal with a battery-backed clock does not check.
    site.settings.terminal.clock_check = false;
    let mut cmds = vec![ntp_off];
    cmds.extend(borrow_session(&anna, Some(ANNA_PIN), true, &[item(4)]));
    let out = site.run(&cmds);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(4))["state"],
        "done_offline"
    );
}

/// A patron card put on the card reader at the welcome screen, then the PIN: the session must
/// be Anna's, asked of the ILS once however many rounds the card lies there.
fn anna_by_card(site: &Site, card: serde_json::Value) {
    let anna = patron(ANNA);
    let out = site.run(&[
        card,
        json!({"cmd": "pin", "pin": ANNA_PIN}),
        place(&item(1)),
        json!({"cmd": "done"}),
    ]);
    let patrons = exchanges(&out, "patron");
    assert_eq!(patrons.len(), 1, "{out:#?}");
    assert_eq!(patrons[0]["outcome"], "ok", "{out:#?}");
    let summary = last_screen(&out, "summary");
    assert_eq!(
        summary["patron"]["display_name"], "Anna Verdi",
        "{summary:#}"
    );
    assert_eq!(site.loans_of(&anna), [item(1)]);
    // Returned, so the next card of the test borrows it again.
    site.run(&[
        json!({"cmd": "start", "activity": "return"}),
        place(&item(1)),
        json!({"cmd": "done"}),
    ]);
    assert!(site.loans_of(&anna).is_empty());
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn a_patron_card_uid_in_each_format_identifies_the_patron() {
    use selfcheck::rfid::patron_card::{PatronCardSettings, UidFormat};

    let mut site = Site::new();
    let anna = patron(ANNA);
    let number: u128 = anna.parse().expect("digits");
    // Seven bytes, first byte first, hold Anna's number as an integer.
    let int_bytes: Vec<u8> = number.to_be_bytes()[16 - 7..].to_vec();
    let hex_bytes: Vec<u8> = (0..7)
        .map(|i| u8::from_str_radix(&anna[i * 2..i * 2 + 2], 16).expect("hex"))
        .collect();
    let reversed = |b: &[u8]| b.iter().rev().copied().collect::<Vec<u8>>();
    let cases = [
        (UidFormat::Hex, hex_bytes.clone()),
        (UidFormat::HexReversed, reversed(&hex_bytes)),
        (UidFormat::Decimal, int_bytes.clone()),
        (UidFormat::DecimalReversed, reversed(&int_bytes)),
    ];
    for (format, uid) in cases {
        site.settings.patron_card = PatronCardSettings {
            uid_format: Some(format),
            ..PatronCardSettings::default()
        };
        anna_by_card(&site, json!({"cmd": "card14443", "uid": hex_of(&uid)}));
    }

    // A 4-byte card holds the serial only: the prefix and the zero padding make the id.
    let serial: u32 = anna[7..].parse().expect("digits");
    site.settings.patron_card = PatronCardSettings {
        uid_format: Some(UidFormat::Decimal),
        prefix: anna[..7].to_string(),
        length: Some(7),
        ..PatronCardSettings::default()
    };
    anna_by_card(
        &site,
        json!({"cmd": "card14443", "uid": hex_of(&serial.to_be_bytes())}),
    );

    // The same card printed in another format is someone the ILS does not know.
    site.settings.patron_card.uid_format = Some(UidFormat::DecimalReversed);
    let out = site.run(&[
        json!({"cmd": "card14443", "uid": hex_of(&serial.to_be_bytes())}),
        json!({"cmd": "pin", "pin": ANNA_PIN}),
    ]);
    assert!(
        exchanges(&out, "patron")
            .iter()
            .all(|x| x["outcome"] != "ok" || !x.to_string().contains("Anna")),
        "{out:#?}"
    );
    assert!(
        screens(&out)
            .iter()
            .all(|m| m["patron"]["display_name"] != "Anna Verdi"),
        "{out:#?}"
    );
}

#[test]
fn security_writes_are_attempted_as_often_as_the_settings_say() {
    let mut site = Site::new();
    let anna = patron(ANNA);
    // One attempt meets four refused writes (the reader's own retries of one write): put back.
    site.settings.rfid.security_retries = 1;
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "fail_writes", "n": 4}));
    cmds.push(place(&item(1)));
    let out = site.run(&cmds);
    let l = item_line(last_screen(&out, "borrow"), &item(1));
    assert_eq!(l["state"], "put_back", "{l}");
    assert_eq!(l["reason"], "security_not_verified");
    // Two attempts: the second gets through.
    site.settings.rfid.security_retries = 2;
    let mut cmds = vec![json!({"cmd": "start", "activity": "borrow"})];
    cmds.extend(identify(&anna, ANNA_PIN));
    cmds.push(json!({"cmd": "fail_writes", "n": 4}));
    cmds.push(place(&item(3)));
    cmds.push(json!({"cmd": "done"}));
    let out = site.run(&cmds);
    assert_eq!(
        item_line(last_screen(&out, "summary"), &item(3))["state"],
        "done"
    );
}

#[test]
fn a_patron_number_in_the_card_memory_identifies_the_patron() {
    use selfcheck::rfid::patron_card::{CardMemory, CardSource, DataEncoding, PatronCardSettings};

    let mut site = Site::new();
    let anna = patron(ANNA);
    let block = |memory, block, encoding| PatronCardSettings {
        source: CardSource::Block,
        memory: Some(memory),
        block: Some(block),
        encoding: Some(encoding),
        length: Some(14),
        ..PatronCardSettings::default()
    };
    // Stored by the rule's own writer: MIFARE Classic in BCD, Ultralight in ASCII.
    for rule in [
        block(CardMemory::Classic, 4, DataEncoding::Bcd),
        block(CardMemory::Ultralight, 4, DataEncoding::Ascii),
    ] {
        site.settings.patron_card = rule;
        anna_by_card(
            &site,
            json!({"cmd": "card14443", "uid": "04A1B2C3D4E5F6", "patron": anna}),
        );
    }

    // The card's raw bytes: block 5 of a Classic card holds the number in ASCII after two
    // bytes of something else.
    let mut rule = block(CardMemory::Classic, 5, DataEncoding::Ascii);
    rule.offset = Some(2);
    site.settings.patron_card = rule;
    let mut memory = vec![0u8; 16 * 6];
    memory[16 * 5] = 0xA5;
    memory[16 * 5 + 1] = 0x5A;
    memory[16 * 5 + 2..16 * 5 + 16].copy_from_slice(anna.as_bytes());
    anna_by_card(
        &site,
        json!({"cmd": "card14443", "uid": "A1B2C3D4", "memory": hex_of(&memory)}),
    );

    // A card whose block holds no number is noted and identifies nobody.
    let out =
        site.run(&[json!({"cmd": "card14443", "uid": "A1B2C3D4", "memory": hex_of(&[0u8; 96])})]);
    assert!(exchanges(&out, "patron").is_empty(), "{out:#?}");
    let notes: Vec<_> = out.iter().filter(|v| v["kind"] == "card").collect();
    assert_eq!(notes.len(), 1, "noted once: {out:#?}");
    assert!(!notes[0].to_string().contains(&anna));
}

#[test]
fn a_card_left_on_the_reader_identifies_once_until_it_is_put_down_again() {
    let site = Site::new();
    let anna = patron(ANNA);
    let card = json!({"cmd": "card14443", "uid": anna});
    let out = site.run(&[
        card.clone(),
        json!({"cmd": "cancel"}),
        // Each of these reads the pad and polls the card reader, the card still on it.
        json!({"cmd": "touch"}),
        place(&item(1)),
        json!({"cmd": "lift", "item": item(1)}),
    ]);
    // One session began (the card's); after the cancel the kiosk stays at welcome.
    let names: Vec<&serde_json::Value> = screens(&out).iter().map(|m| &m["screen"]).collect();
    let sessions = names
        .windows(2)
        .filter(|w| w[0] == "welcome" && w[1] != "welcome")
        .count();
    assert_eq!(sessions, 1, "{names:?}");
    assert_eq!(names.last(), Some(&&json!("welcome")), "{names:?}");

    // Lifted and put down again: a new session.
    let out = site.run(&[
        card.clone(),
        json!({"cmd": "lift_card"}),
        card,
        json!({"cmd": "pin", "pin": ANNA_PIN}),
    ]);
    let patrons = exchanges(&out, "patron");
    assert_eq!(patrons.len(), 1, "{out:#?}");
    assert_eq!(
        screens(&out).last().map(|m| &m["patron"]["display_name"]),
        Some(&json!("Anna Verdi"))
    );
}

/// The window's core polls the card reader in its pad loop: a patron card starts a session, a
/// staff card opens staff mode and is nobody's session.
#[test]
fn the_window_core_reads_patron_and_staff_cards() {
    use selfcheck::kiosk::{Event, Screen, ScreenModel};
    use selfcheck::rfid::card::CardUid;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mut site = Site::new();
    let staff = "29990000000017";
    site.settings.staff.cards = vec![staff.into()];
    let anna = patron(ANNA);
    let opened = Arc::new(AtomicUsize::new(0));
    let counter = opened.clone();
    let window = WindowCore::start(
        &site.settings,
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let (core, models) = (&window.core, &window.models);
    let wait = |what: &str, done: &dyn Fn(&[ScreenModel]) -> bool| window.wait(what, done);
    wait("the link", &|m| m.iter().any(|m| m.online));

    core.pad
        .place_card(CardUid::parse(staff).expect("uid"), Vec::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while opened.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "staff mode never opened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    core.pad.lift_card();
    assert!(
        models
            .lock()
            .expect("models")
            .iter()
            .all(|m| !matches!(m.screen, Screen::Pin { .. })),
        "a staff card is no patron"
    );

    core.pad
        .place_card(CardUid::parse(&anna).expect("uid"), Vec::new());
    wait("the PIN screen", &|m| {
        m.last()
            .is_some_and(|m| matches!(m.screen, Screen::Pin { .. }))
    });
    core.events
        .blocking_send(Event::Pin(ANNA_PIN.into()))
        .expect("core");
    wait("Anna", &|m| {
        m.last().is_some_and(|m| {
            m.screen == Screen::Borrow
                && m.patron
                    .as_ref()
                    .is_some_and(|p| p.display_name == "Anna Verdi")
        })
    });
    assert_eq!(opened.load(Ordering::SeqCst), 1, "staff mode opened once");
    window.core.shutdown();
}
