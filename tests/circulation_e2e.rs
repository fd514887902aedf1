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
