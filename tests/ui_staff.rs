//! Staff mode driven headless by accessible label, against the in-process demo ILS, the
//! simulated pad and a journal in a temporary directory. One test function per file: Slint's
//! testing platform is process-wide.
#![cfg(feature = "gui")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::circulation;
use common::ui::{labelled, one, press};
use selfcheck::config::{Settings, hash_pin};
use selfcheck::kiosk::Event;
use selfcheck::rfid::reader::SharedReader;
use selfcheck::rfid::sim::SimPad;
use selfcheck::rfid::{DataModel, Iso15693Reader};
use selfcheck::sip2::{self, Message, SipDateTime};
use selfcheck::store::journal::{self, Action, NewEntry, State};
use selfcheck::store::{self, StoreHandle};
use selfcheck::ui::staff::{self, StaffContext, StaffMode};
use selfcheck::ui::{
    AppWindow, DiagnosticsAdapter, KioskAdapter, QueueAdapter, SettingsAdapter, StaffAdapter,
    Theme, install_helpers, select_language,
};
use slint::{ComponentHandle, Model};

const TIMEOUT_SECS: u32 = 20;

fn mock_elapsed_time(ms: u64) {
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(ms));
}

/// A staff tab; "Reader" also names a line of the status page, whose default action is none.
fn tab(window: &AppWindow, label: &str) {
    let found = labelled(window, label);
    assert!(!found.is_empty(), "no tab {label:?}");
    for element in found {
        element.invoke_accessible_default_action();
    }
}

fn screen(window: &AppWindow) -> String {
    window.global::<KioskAdapter>().get_screen().to_string()
}

/// Run the UI event loop (background results arrive through it) until `done` holds.
fn pump_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        })
        .expect("event loop queue");
        slint::run_event_loop().expect("event loop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn type_pin(window: &AppWindow, pin: &str) {
    for key in pin.chars() {
        press(window, &key.to_string());
    }
    press(window, "OK");
}

fn field_error(window: &AppWindow, key: &str) -> String {
    let fields = window.global::<SettingsAdapter>().get_fields();
    fields
        .iter()
        .find(|f| f.key == key)
        .map(|f| f.error.to_string())
        .expect("field on the page")
}

#[test]
fn staff_mode_pin_settings_leave_timeout_and_card() {
    i_slint_backend_testing::init_integration_test_with_mock_time();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let store = StoreHandle::spawn(store::open(&dir.path().join(store::DB_FILE)).expect("db"))
        .expect("store");

    let mut settings = Settings::default();
    settings.staff.pin_hash = hash_pin("4711").expect("hash");
    settings.staff.cards = vec!["STAFF-0001".into()];
    settings.staff.timeout_secs = TIMEOUT_SECS;
    let ils_link = rt
        .block_on(selfcheck::runtime::link::connect_ils(
            &settings,
            selfcheck::runtime::link::LinkOptions {
                fast_reconnect: true,
                gated: false,
            },
        ))
        .expect("demo ILS");
    let pad = SimPad::new();
    pad.place_item(
        selfcheck::rfid::tag::parse_uid("E004015000000001").expect("uid"),
        "31000000000017",
        None,
        DataModel::Iso28560_3,
    )
    .expect("tag");
    let reader: SharedReader = Arc::new(Mutex::new(Box::new(Iso15693Reader::new(pad.clone()))));
    let (events, mut core) = tokio::sync::mpsc::channel(16);

    let window = AppWindow::new().expect("window");
    install_helpers(&window);
    let ctx = StaffContext {
        settings: settings.clone(),
        settings_files: selfcheck::config::layers::Layers::new(None, dir.path()),
        data_dir: dir.path().to_path_buf(),
        board: "sim".into(),
        store: store.clone(),
        sip2: ils_link.sip2.clone(),
        reader,
        runtime: rt.handle().clone(),
        events,
        printer: Default::default(),
    };
    let mode: StaffMode = staff::connect(&window, ctx.clone());
    assert!(settings.staff.has_card("STAFF-0001"));
    assert!(!settings.staff.has_card("21000000000001"));

    // The hidden staff button: the PIN screen, the patron session ends, and so does the large
    // text a patron chose (the staff pages are laid out for the standard look).
    assert_eq!(screen(&window), "welcome");
    window.global::<Theme>().set_large_text(true);
    press(&window, "Staff");
    assert_eq!(screen(&window), "staff-pin");
    assert_eq!(core.try_recv().ok(), Some(Event::Cancel));
    assert!(!window.global::<Theme>().get_large_text());
    assert!(mode.is_active());
    one(&window, "Staff PIN");

    // A wrong PIN: cleared, and a message with the tries left.
    let staff_adapter = window.global::<StaffAdapter>();
    type_pin(&window, "1234");
    assert_eq!(staff_adapter.get_pin(), "", "the typed PIN is cleared");
    assert!(staff_adapter.get_pin_busy(), "checking");
    pump_until("the wrong-PIN message", || {
        !staff_adapter.get_pin_error().is_empty()
    });
    assert_eq!(staff_adapter.get_pin_error(), "Wrong PIN: 4 tries left.");
    one(&window, "Wrong PIN: 4 tries left.");
    assert_eq!(screen(&window), "staff-pin");

    // The right PIN: the status page.
    type_pin(&window, "4711");
    pump_until("the staff pages", || screen(&window) == "staff");
    assert_eq!(staff_adapter.get_page(), "status");
    assert_eq!(staff_adapter.get_pin_error(), "");
    one(&window, "Staff mode");
    assert_eq!(staff_adapter.get_terminal_id(), "kiosk-01");
    pump_until("the reader and link state", || {
        mock_elapsed_time(2_000);
        staff_adapter.get_reader_text() == "sim: 1 tag on the pad" && staff_adapter.get_link_ok()
    });
    assert!(staff_adapter.get_reader_ok());
    let link = staff_adapter.get_link_text().to_string();
    assert!(
        link.starts_with("connected to the in-process demo ILS: "),
        "{link}"
    );
    assert_eq!(staff_adapter.get_queue_length(), 0);
    let versions: Vec<String> = staff_adapter
        .get_versions()
        .iter()
        .map(|v| format!("{}={}", v.name, v.value))
        .collect();
    assert_eq!(
        versions,
        [
            format!("selfcheck={}", env!("CARGO_PKG_VERSION")),
            "Slint=1.18.1".into(),
            "Board=sim".into()
        ]
    );

    // Reader page: the tag on the pad, decoded.
    tab(&window, "Reader");
    assert_eq!(staff_adapter.get_page(), "reader");
    let diagnostics = window.global::<DiagnosticsAdapter>();
    pump_until("the live inventory", || {
        mock_elapsed_time(500);
        diagnostics.get_tags().row_count() == 1
    });
    let tag = diagnostics.get_tags().row_data(0).expect("row");
    assert_eq!(tag.uid, "E004015000000001");
    assert_eq!(tag.item_id, "31000000000017");
    assert_eq!(tag.data, "decoded");
    assert_eq!(tag.model, "ISO 28560-3");

    // SIP2 page: an SC status round trip.
    tab(&window, "SIP2 test");
    press(&window, "Run the SIP2 test");
    pump_until("the SIP2 test", || !diagnostics.get_sip2_busy());
    assert!(
        diagnostics.get_sip2_ok(),
        "{}",
        diagnostics.get_sip2_result()
    );
    assert!(diagnostics.get_sip2_result().starts_with("99/98 in "));

    // The lines Rust words follow the language: the SIP2 answer in Italian, the status page's
    // link and reader lines in Chinese.
    select_language("it");
    press(&window, "Esegui il test SIP2");
    pump_until("the SIP2 test in Italian", || !diagnostics.get_sip2_busy());
    let result = diagnostics.get_sip2_result().to_string();
    assert!(result.starts_with("99/98 in "), "{result}");
    assert!(result.contains("; prestito "), "{result}");
    assert!(result.contains("; istituto "), "{result}");
    select_language("zh_CN");
    tab(&window, "状态");
    assert_eq!(staff_adapter.get_page(), "status");
    pump_until("the status lines in Chinese", || {
        mock_elapsed_time(2_000);
        staff_adapter.get_reader_text() == "sim：感应区上有1个标签"
    });
    let link = staff_adapter.get_link_text().to_string();
    assert!(link.starts_with("已连接到内置演示图书馆系统："), "{link}");
    let reader_line = labelled(&window, "感应器")
        .iter()
        .filter_map(|e| e.accessible_value())
        .find(|v| v.ends_with("sim：感应区上有1个标签"));
    assert!(reader_line.is_some(), "the reader line in Chinese");
    select_language("en");

    // Queue page: the journal's open rows with the patron masked; "Send now" replays them.
    store
        .call_blocking(|c| {
            journal::record(
                c,
                &NewEntry {
                    action: Action::Checkout,
                    patron_id: Some("21000000004821"),
                    item_id: Some("31000000000017"),
                    state: State::Queued,
                    transaction_at: "20261127    100200",
                    due_at: None,
                },
            )
            .map(|_| ())
        })
        .expect("a queued row");
    tab(&window, "Queue");
    let queue = window.global::<QueueAdapter>();
    pump_until("the queue rows", || {
        mock_elapsed_time(2_000);
        queue.get_rows().row_count() == 1
    });
    let row = queue.get_rows().row_data(0).expect("row");
    assert_eq!(row.patron, "••••4821");
    assert_eq!(row.action, "checkout");
    assert_eq!(row.state, "queued");
    assert_eq!(row.when, "2026-11-27 10:02");
    // Rust sends the journal's keys; the row is worded in the UI's language, its screen reader
    // label too.
    one(&window, "Checkout 31000000000017");
    one(&window, "Queued");
    select_language("it");
    one(&window, "Prestito 31000000000017");
    one(&window, "In coda");
    select_language("zh_CN");
    one(&window, "借书 31000000000017");
    one(&window, "排队中");
    select_language("en");
    press(&window, "Send now");
    pump_until("the sync", || {
        !queue.get_syncing() && !queue.get_result().is_empty()
    });
    let result = queue.get_result().to_string();
    assert!(result.starts_with("Sent: "), "{result}");

    // Conflicts: two books Anna borrowed offline had been lent to Li at the desk meanwhile.
    // Each conflict row shows the patron in full (staff put it right at the desk) and has
    // Resend and Drop.
    let (anna, li) = (circulation::patron(8), circulation::patron(1));
    let (taken, kept) = (circulation::item(14), circulation::item(16));
    let desk = |message: Message| {
        rt.block_on(ils_link.sip2.request(message))
            .expect("the demo ILS answers")
    };
    for book in [&taken, &kept] {
        desk(Message::Checkout(sip2::Checkout {
            transaction_date: Some(SipDateTime::now_local()),
            patron_id: li.clone(),
            item_id: book.clone(),
            ..Default::default()
        }));
        let (patron, item) = (anna.clone(), book.clone());
        store
            .call_blocking(move |c| {
                journal::record(
                    c,
                    &NewEntry {
                        action: Action::Checkout,
                        patron_id: Some(&patron),
                        item_id: Some(&item),
                        state: State::Queued,
                        transaction_at: "20261127    101500",
                        due_at: None,
                    },
                )
                .map(|_| ())
            })
            .expect("an offline loan");
    }
    queue.set_result("".into());
    press(&window, "Send now");
    pump_until("the sync with conflicts", || {
        !queue.get_syncing() && queue.get_result().contains("2 conflicts")
    });
    let conflict_rows = || {
        queue
            .get_rows()
            .iter()
            .filter(|r| r.conflict)
            .map(|r| (r.item.to_string(), r.patron.to_string()))
            .collect::<Vec<_>>()
    };
    // The row sent earlier is a conflict too: the demo ILS does not know that patron.
    let earlier = ("31000000000017".to_string(), "21000000004821".to_string());
    pump_until("the conflict rows", || conflict_rows().len() == 3);
    assert_eq!(
        conflict_rows(),
        [
            earlier.clone(),
            (taken.clone(), anna.clone()),
            (kept.clone(), anna.clone())
        ]
    );
    let resend_taken = format!("Resend Checkout {taken}");
    let resolved = |what: &str, prefix: &str| {
        let prefix = prefix.to_string();
        pump_until(what, || {
            !queue.get_resolving() && queue.get_result().starts_with(prefix.as_str())
        });
    };

    // Li still has it: refused again, and it stays.
    press(&window, &resend_taken);
    resolved("the refused resend", "Refused again, still a conflict: ");
    pump_until("the rows after the resend", || conflict_rows().len() == 3);

    // Li returns it at the desk: the resend goes through, Anna has the book.
    desk(Message::Checkin(sip2::Checkin {
        transaction_date: Some(SipDateTime::now_local()),
        item_id: taken.clone(),
        ..Default::default()
    }));
    press(&window, &resend_taken);
    resolved("the resend", "Sent again: the library system took it.");
    pump_until("the resent row gone", || conflict_rows().len() == 2);
    let ils = &ils_link.demo.as_ref().expect("the in-process demo ILS").0;
    assert_eq!(
        ils.loans_of(&anna).expect("loans"),
        std::slice::from_ref(&taken)
    );

    // The other stays with Li: dropped, in Italian this time.
    select_language("it");
    press(&window, &format!("Scarta Prestito {kept}"));
    resolved(
        "the drop",
        "Scartata: gestita nel sistema della biblioteca.",
    );
    select_language("en");
    pump_until("the dropped row gone", || {
        conflict_rows() == [earlier.clone()]
    });
    let lis = ils.loans_of(&li).expect("loans");
    assert!(lis.contains(&kept) && !lis.contains(&taken), "{lis:?}");
    let settled = store
        .call_blocking(|c| journal::conflicts(c, true))
        .expect("conflicts");
    let how: Vec<_> = settled
        .iter()
        .map(|c| (c.item.clone().unwrap_or_default(), c.resolution))
        .collect();
    assert_eq!(
        how,
        [
            (earlier.0.clone(), None),
            (taken.clone(), Some(journal::Resolution::Resent)),
            (kept.clone(), Some(journal::Resolution::Dropped))
        ]
    );

    // Settings: an invalid value is shown at its key and refused.
    tab(&window, "Settings");
    assert_eq!(staff_adapter.get_page(), "settings");
    let settings_adapter = window.global::<SettingsAdapter>();
    one(&window, "Library system (host:port)").set_accessible_value("ils.example.org");
    assert_eq!(
        field_error(&window, "ils.server"),
        "\"ils.example.org\" is not HOST:PORT"
    );
    one(
        &window,
        "Library system (host:port): \"ils.example.org\" is not HOST:PORT",
    );
    assert!(settings_adapter.get_dirty());
    press(&window, "Save");
    assert_eq!(settings_adapter.get_status(), "1 problem: not saved.");
    let file = dir.path().join(selfcheck::config::layers::LOCAL_FILE);
    assert!(!file.exists());

    // A valid edit is saved to a new file in the data directory, which parses back.
    one(&window, "Library system (host:port)").set_accessible_value("demo");
    assert_eq!(field_error(&window, "ils.server"), "");
    one(&window, "Location code").set_accessible_value("B7-LOBBY");
    press(&window, "Save");
    let status = settings_adapter.get_status().to_string();
    assert!(status.starts_with("Saved to the new file "), "{status}");
    assert!(status.contains(&file.display().to_string()), "{status}");
    let saved = Settings::load(&file).expect("saved file parses back");
    assert_eq!(saved.terminal.location, "B7-LOBBY");
    assert_eq!(saved.staff.pin_hash, settings.staff.pin_hash);
    assert!(!settings_adapter.get_dirty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the settings file is private");
    }

    // Leave: the patron screens, and the core re-sends its model.
    press(&window, "Leave staff mode");
    assert_eq!(screen(&window), "welcome");
    assert!(!mode.is_active());
    assert_eq!(core.try_recv().ok(), Some(Event::Cancel));

    // A staff card opens the staff pages without a PIN; touches keep them up, the timeout
    // closes them.
    staff::card_presented(&window.as_weak());
    pump_until("the staff pages after a staff card", || {
        screen(&window) == "staff"
    });
    assert_eq!(staff_adapter.get_page(), "status");
    assert_eq!(core.try_recv().ok(), Some(Event::Cancel));
    let half = u64::from(TIMEOUT_SECS) * 500;
    mock_elapsed_time(half + 1_000);
    mode.touch();
    mock_elapsed_time(half + 1_000);
    assert_eq!(screen(&window), "staff", "a touch restarted the timer");
    mock_elapsed_time(half);
    assert_eq!(screen(&window), "welcome");
    assert!(!mode.is_active());
    assert_eq!(core.try_recv().ok(), Some(Event::Cancel));
    assert!(mode.exit_request().is_none());

    // Without a PIN hash the PIN screen says how staff mode can be opened.
    let other = AppWindow::new().expect("window");
    install_helpers(&other);
    let mut no_pin = settings.clone();
    no_pin.staff.pin_hash.clear();
    let _other_mode = staff::connect(
        &other,
        StaffContext {
            settings: no_pin,
            ..ctx
        },
    );
    press(&other, "Staff");
    let hint = "No staff PIN is set: set one with “selfcheck config hash-pin” or use a staff card.";
    assert_eq!(other.global::<StaffAdapter>().get_pin_error(), hint);
    type_pin(&other, "4711");
    assert_eq!(other.global::<StaffAdapter>().get_pin_error(), hint);
    assert_eq!(screen(&other), "staff-pin");
}
