//! Every view, driven headless the way a patron or a screen reader would: elements found by
//! accessible label, buttons pressed by their default action, callbacks heard on the adapters.
//! One test function per file: Slint's testing platform is process-wide.
#![cfg(feature = "gui")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::ui::{labelled, one, press};
use selfcheck::config::Settings;
use selfcheck::kiosk::{Event, Fault, Kiosk, KioskConfig, Language};
use selfcheck::ui::{
    AccountAdapter, AppWindow, DiagnosticsAdapter, FieldKind, IdentifyAdapter, KioskAdapter,
    PadAdapter, PinAdapter, QueueAdapter, SettingField, SettingsAdapter, StaffAdapter,
    SummaryAdapter, Theme, bridge, demo, install_helpers, select_language,
};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

type Log = Rc<RefCell<Vec<String>>>;

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.borrow_mut())
}

fn screen(window: &AppWindow, name: &str) {
    window.global::<KioskAdapter>().set_screen(name.into());
}

/// Every adapter callback writes a line into the log.
fn listen(window: &AppWindow) -> Log {
    let log: Log = Rc::default();
    macro_rules! hear {
        ($global:ty, $on:ident, $name:literal) => {{
            let l = log.clone();
            window
                .global::<$global>()
                .$on(move || l.borrow_mut().push($name.into()));
        }};
        ($global:ty, $on:ident, $name:literal, 1) => {{
            let l = log.clone();
            window
                .global::<$global>()
                .$on(move |a| l.borrow_mut().push(format!("{}({a})", $name)));
        }};
        ($global:ty, $on:ident, $name:literal, 2) => {{
            let l = log.clone();
            window
                .global::<$global>()
                .$on(move |a, b| l.borrow_mut().push(format!("{}({a},{b})", $name)));
        }};
    }
    hear!(KioskAdapter, on_start, "start", 1);
    hear!(KioskAdapter, on_cancel, "cancel");
    hear!(KioskAdapter, on_choose_language, "language", 1);
    hear!(KioskAdapter, on_keep_session, "keep-session");
    hear!(KioskAdapter, on_staff, "staff");
    hear!(KioskAdapter, on_accessibility_changed, "accessibility", 2);
    hear!(IdentifyAdapter, on_submit_card, "card", 1);
    hear!(PinAdapter, on_submit_pin, "pin", 1);
    hear!(PadAdapter, on_done, "pad-done");
    hear!(AccountAdapter, on_renew, "renew", 1);
    hear!(AccountAdapter, on_renew_all, "renew-all");
    hear!(AccountAdapter, on_done, "account-done");
    hear!(SummaryAdapter, on_finish, "finish");
    hear!(SummaryAdapter, on_print_receipt, "print-receipt");
    hear!(SummaryAdapter, on_email_receipt, "email-receipt");
    hear!(SummaryAdapter, on_no_receipt, "no-receipt");
    hear!(StaffAdapter, on_submit_pin, "staff-pin", 1);
    hear!(StaffAdapter, on_open_page, "page", 1);
    hear!(StaffAdapter, on_leave, "leave");
    hear!(StaffAdapter, on_restart, "restart");
    hear!(StaffAdapter, on_exit_app, "exit");
    hear!(SettingsAdapter, on_edit, "edit", 2);
    hear!(SettingsAdapter, on_save, "save");
    hear!(SettingsAdapter, on_revert, "revert");
    hear!(DiagnosticsAdapter, on_set_live, "live", 1);
    hear!(DiagnosticsAdapter, on_sip2_test, "sip2-test");
    hear!(QueueAdapter, on_sync_now, "sync-now");
    log
}

/// The words of the staff pages that Rust leaves to the view, in one language, with the demo
/// data: the status page's reader line, the reader page's EAS "on" and blank-tag cells, and the
/// queue's return row and its states.
struct StaffWords<'a> {
    reader: &'a str,
    eas_on: &'a str,
    blank: &'a str,
    returned: &'a str,
    queued: &'a str,
    conflict: &'a str,
}

fn staff_pages_say(window: &AppWindow, words: &StaffWords<'_>) {
    let staff = window.global::<StaffAdapter>();
    screen(window, "staff");
    staff.set_page("status".into());
    assert_eq!(staff.get_reader_text(), words.reader);
    staff.set_page("reader".into());
    assert_eq!(labelled(window, words.eas_on).len(), 2);
    one(window, words.blank);
    staff.set_page("queue".into());
    one(window, words.returned);
    assert_eq!(labelled(window, words.queued).len(), 2);
    one(window, words.conflict);
}

#[test]
fn every_view_by_label_in_three_languages() {
    i_slint_backend_testing::init_no_event_loop();
    let window = AppWindow::new().expect("window");
    let landscape = slint::PhysicalSize::new(800, 480);
    window.window().set_size(landscape);
    install_helpers(&window);
    demo::fill(&window, Language::English);
    let log = listen(&window);
    let kiosk = window.global::<KioskAdapter>();

    // Welcome: three activities, the languages, the accessibility button, the staff corner.
    screen(&window, "welcome");
    one(&window, "Welcome");
    press(&window, "Borrow");
    press(&window, "Return");
    press(&window, "My account");
    press(&window, "Staff");
    press(&window, "中文");
    assert_eq!(
        taken(&log),
        [
            "start(borrow)",
            "start(return)",
            "start(account)",
            "staff",
            "language(zh_CN)"
        ]
    );
    assert!(labelled(&window, "High contrast").is_empty());
    press(&window, "Accessibility");
    press(&window, "High contrast");
    assert!(window.global::<Theme>().get_high_contrast());
    assert_eq!(
        one(&window, "High contrast").accessible_checked(),
        Some(true)
    );
    press(&window, "Large text");
    assert!(window.global::<Theme>().get_large_text());
    assert_eq!(
        taken(&log),
        ["accessibility(true,false)", "accessibility(true,true)"]
    );
    window.global::<Theme>().set_high_contrast(false);
    window.global::<Theme>().set_large_text(false);
    // No library-system message on the welcome screen, even when one is set.
    kiosk.set_ils_message("Your card expires soon".into());
    assert!(labelled(&window, "Your card expires soon").is_empty());

    // Identify: the keypad builds the card number; delete and clear work; OK submits.
    screen(&window, "identify");
    one(&window, "Identify");
    one(&window, "Your card expires soon");
    kiosk.set_online(false);
    one(&window, "Working offline: loans will be confirmed later.");
    kiosk.set_online(true);
    press(&window, "Clear");
    let identify = window.global::<IdentifyAdapter>();
    assert_eq!(identify.get_card_number(), "");
    for key in ["1", "2", "3", "9"] {
        press(&window, key);
    }
    press(&window, "Delete last digit");
    assert_eq!(identify.get_card_number(), "123");
    assert_eq!(one(&window, "OK").accessible_enabled(), Some(false));
    press(&window, "OK");
    press(&window, "4");
    assert_eq!(
        one(&window, "Card number").accessible_value().as_deref(),
        Some("1234")
    );
    press(&window, "OK");
    press(&window, "Cancel");
    assert_eq!(taken(&log), ["card(1234)", "cancel"]);

    // PIN: masked dots, the wrong-PIN message from Rust, OK submits what was typed.
    screen(&window, "pin");
    one(&window, "PIN");
    let pin = window.global::<PinAdapter>();
    pin.set_pin(SharedString::new());
    pin.set_error("Wrong PIN. Please try again.".into());
    for key in ["4", "8", "2", "1", "7"] {
        press(&window, key);
    }
    press(&window, "Delete last digit");
    assert_eq!(pin.get_pin(), "4821");
    one(&window, "4 digits entered");
    assert!(
        labelled(&window, "4821").is_empty(),
        "the PIN is never shown"
    );
    one(&window, "Wrong PIN. Please try again.");
    press(&window, "OK");
    assert_eq!(taken(&log), ["pin(4821)"]);

    // Pad: the items by title, the put-back prompt, Done waits while busy. Rows scrolled out
    // of sight are not found, so first a tall portrait panel shows all ten.
    screen(&window, "pad");
    one(&window, "Borrow");
    one(&window, "Il nome della rosa");
    window
        .window()
        .set_size(slint::PhysicalSize::new(1000, 2400));
    for title in [
        "Il nome della rosa",
        "三体",
        "活着",
        "Norwegian Wood",
        "Dune",
    ] {
        one(&window, title);
    }
    let norwegian = one(&window, "Norwegian Wood");
    assert_eq!(
        norwegian.accessible_description().as_deref(),
        Some("Put it back on the pad")
    );
    one(
        &window,
        "Put the marked item back on the pad: its security is not switched off yet.",
    );
    window.window().set_size(landscape);
    one(&window, "You may borrow 4 more items");
    assert_eq!(one(&window, "Done").accessible_enabled(), Some(false));
    press(&window, "Done");
    window.global::<PadAdapter>().set_busy(false);
    press(&window, "Done");
    assert_eq!(taken(&log), ["pad-done"]);

    // Idle warning over the pad.
    kiosk.set_idle_seconds_left(9);
    one(&window, "Are you still there?");
    one(&window, "Your session ends in 9 seconds.");
    press(&window, "Continue");
    kiosk.set_idle_seconds_left(0);
    assert!(labelled(&window, "Are you still there?").is_empty());
    assert_eq!(taken(&log), ["keep-session"]);

    // Account: loans, holds, fines; renew one, renew all, done.
    screen(&window, "account");
    window
        .window()
        .set_size(slint::PhysicalSize::new(1000, 2400));
    one(&window, "My account");
    one(&window, "Your loans (5)");
    one(&window, "Fines: €2.00");
    one(&window, "Your holds (2)");
    assert!(
        labelled(&window, "Renew Dune").is_empty(),
        "Dune is not renewable"
    );
    press(&window, "Renew 三体");
    press(&window, "Renew all");
    press(&window, "Done");
    assert_eq!(
        taken(&log),
        ["renew(30012000222222)", "renew-all", "account-done"]
    );

    window.window().set_size(landscape);

    // Summary: the receipt area appears only when a receipt can be offered.
    screen(&window, "summary");
    one(&window, "Summary");
    one(&window, "3 items borrowed");
    one(&window, "1 item refused");
    assert!(labelled(&window, "Receipt").is_empty());
    window
        .global::<SummaryAdapter>()
        .set_receipt_available(true);
    one(&window, "Receipt");
    press(&window, "Print a receipt");
    // Queued already: said so, and not offered twice.
    one(&window, "Your receipt will be e-mailed to you.");
    assert_eq!(
        one(&window, "E-mail me a receipt").accessible_enabled(),
        Some(false)
    );
    window.global::<SummaryAdapter>().set_email_state("".into());
    press(&window, "E-mail me a receipt");
    press(&window, "No receipt, thank you");
    press(&window, "Finish");
    assert_eq!(
        taken(&log),
        ["print-receipt", "email-receipt", "no-receipt", "finish"]
    );

    screen(&window, "goodbye");
    one(&window, "Thank you, goodbye!");
    screen(&window, "out-of-order");
    one(&window, "The item reader is not working.");
    assert!(labelled(&window, "English").is_empty(), "no patron header");
    press(&window, "Staff");
    assert_eq!(taken(&log), ["staff"]);

    // Staff PIN.
    screen(&window, "staff-pin");
    let staff = window.global::<StaffAdapter>();
    staff.set_pin(SharedString::new());
    for key in ["9", "9", "0", "1"] {
        press(&window, key);
    }
    press(&window, "OK");
    press(&window, "Cancel");
    assert_eq!(taken(&log), ["staff-pin(9901)", "leave"]);

    // Staff pages.
    screen(&window, "staff");
    staff.set_page("status".into());
    one(&window, "Staff mode");
    one(&window, "Library system");
    press(&window, "Settings");
    press(&window, "Restart");
    press(&window, "Exit");
    press(&window, "Leave staff mode");
    assert_eq!(taken(&log), ["page(settings)", "restart", "exit", "leave"]);

    // Settings: the validation message comes from Rust, edits go back to Rust.
    staff.set_page("settings".into());
    let settings = window.global::<SettingsAdapter>();
    settings.set_fields(ModelRc::from(Rc::new(VecModel::from(vec![
        SettingField {
            key: "ils.server".into(),
            value: "ils.example.org".into(),
            kind: FieldKind::Text,
            error: "needs a port: host:port".into(),
        },
        SettingField {
            key: "ils.tls".into(),
            value: "false".into(),
            kind: FieldKind::Toggle,
            error: SharedString::new(),
        },
    ]))));
    one(
        &window,
        "Library system (host:port): needs a port: host:port",
    );
    one(&window, "Library system (host:port)").set_accessible_value("ils.example.org:6001");
    press(&window, "Use TLS");
    press(&window, "Save");
    press(&window, "Undo changes");
    assert_eq!(
        taken(&log),
        [
            "edit(ils.server,ils.example.org:6001)",
            "edit(ils.tls,true)",
            "save",
            "revert"
        ]
    );

    staff.set_page("reader".into());
    one(&window, "E0040150A1B2C3D4");
    press(&window, "Live inventory");
    staff.set_page("sip2".into());
    press(&window, "Run the SIP2 test");
    staff.set_page("queue".into());
    one(&window, "Checkout 30012000777001");
    press(&window, "Send now");
    assert_eq!(taken(&log), ["live(false)", "sip2-test", "sync-now"]);

    // Every string in Italian and Chinese, plurals included.
    screen(&window, "welcome");
    select_language("it");
    demo::fill(&window, Language::Italian);
    for label in [
        "Benvenuto",
        "Prestito",
        "Restituzione",
        "Il mio account",
        "Personale",
    ] {
        one(&window, label);
    }
    screen(&window, "pad");
    one(&window, "Puoi prendere ancora 4 documenti");
    window.global::<PadAdapter>().set_remaining(1);
    one(&window, "Puoi prendere ancora 1 documento");
    screen(&window, "account");
    one(&window, "Sanzioni: 2,00 €");
    one(&window, "Rinnova tutti");

    // The staff tables and lines Rust fills with keys and facts are worded in the language too,
    // cells and screen reader labels alike.
    staff_pages_say(
        &window,
        &StaffWords {
            reader: "rpi4-pn5180: 4 etichette sul piano",
            eas_on: "attivo",
            blank: "vuota",
            returned: "Restituzione 30012000222222",
            queued: "In coda",
            conflict: "Conflitto",
        },
    );
    staff.set_page("status".into());
    assert_eq!(
        staff.get_link_text(),
        "nessun collegamento con ils.example.org:6001 (TLS) da 40 secondi: timed out after 10 s"
    );
    staff.set_page("reader".into());
    one(&window, "disattivato");
    one(&window, "4 etichette lette in 38 ms");
    staff.set_page("queue".into());
    one(&window, "Prestito 30012000123456");
    one(&window, "Prestito 30012000777001");

    select_language("zh_CN");
    demo::fill(&window, Language::Chinese);
    screen(&window, "welcome");
    for label in ["欢迎", "借书", "还书", "我的账户", "欢迎来到市立图书馆"] {
        one(&window, label);
    }
    screen(&window, "pad");
    one(&window, "您还可以借4册");
    staff_pages_say(
        &window,
        &StaffWords {
            reader: "rpi4-pn5180：感应区上有4个标签",
            eas_on: "开启",
            blank: "空白",
            returned: "还书 30012000222222",
            queued: "排队中",
            conflict: "冲突",
        },
    );
    staff.set_page("status".into());
    one(&window, "工作人员模式");
    one(&window, "退出工作人员模式");
    select_language("en");

    // The out-of-order screen says which part failed, as the kiosk core tells it.
    screen(&window, "welcome");
    let mut kiosk = Kiosk::new(KioskConfig::from_settings(&Settings::default()));
    for (fault, sentence) in [
        (
            Fault::link("ILS link: unreachable"),
            "The library system cannot be reached.",
        ),
        (
            Fault::reader("RFID reader: no answer"),
            "The item reader is not working.",
        ),
    ] {
        kiosk.handle(Event::OutOfOrder(Some(fault)));
        bridge::write_model(&window, &kiosk.model());
        assert_eq!(window.global::<KioskAdapter>().get_screen(), "out-of-order");
        one(&window, sentence);
    }
}
