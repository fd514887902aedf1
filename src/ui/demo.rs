//! Realistic demo content for every view (multilingual titles, fines, holds, a staff page
//! with validation problems): what `selfcheck screenshot`, the UI tests and the benchmarks
//! render. It also shows how plain data maps onto the adapters.

use chrono::NaiveDate;
use slint::{ComponentHandle, SharedString};

use super::format;
use super::staff::{self, LinkLine, LinkNow, Server, StatusAnswer};
use super::{
    AccountAdapter, AppWindow, DiagnosticsAdapter, FieldKind, FineRow, HoldRow, IdentifyAdapter,
    ItemState, KioskAdapter, LoanRow, PadAdapter, PadItem, PinAdapter, QueueAdapter, SettingField,
    SettingsAdapter, StaffAdapter, SummaryAdapter, SummaryRow, Theme,
};
use crate::kiosk::Language;
use crate::rfid::tag::parse_uid;
use crate::rfid::{DataModel, ItemRecord, LibraryTag, TagData, TypeOfUsage};
use crate::store::journal::{Action, Entry, State};

/// The board file the staff pages name in the demo.
const BOARD: &str = "rpi4-pn5180";

/// A screen the demo can show: its file name part and how to get there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shot {
    pub name: &'static str,
    screen: &'static str,
    activity: &'static str,
    staff_page: &'static str,
    online: bool,
    idle: bool,
    accessible: bool,
}

const fn shot(name: &'static str, screen: &'static str) -> Shot {
    Shot {
        name,
        screen,
        activity: "borrow",
        staff_page: "status",
        online: true,
        idle: false,
        accessible: false,
    }
}

/// Every view, patron then staff, with the states worth seeing.
pub const SHOTS: &[Shot] = &[
    shot("welcome", "welcome"),
    Shot {
        accessible: true,
        ..shot("welcome-accessible", "welcome")
    },
    shot("identify", "identify"),
    Shot {
        online: false,
        ..shot("identify-offline", "identify")
    },
    shot("pin", "pin"),
    shot("pad", "pad"),
    Shot {
        activity: "return",
        ..shot("pad-return", "pad")
    },
    Shot {
        idle: true,
        ..shot("pad-idle", "pad")
    },
    Shot {
        activity: "account",
        ..shot("account", "account")
    },
    shot("summary", "summary"),
    // Large text and high contrast on the screens with the most text.
    Shot {
        accessible: true,
        ..shot("identify-accessible", "identify")
    },
    Shot {
        accessible: true,
        ..shot("pad-accessible", "pad")
    },
    Shot {
        accessible: true,
        activity: "account",
        ..shot("account-accessible", "account")
    },
    Shot {
        accessible: true,
        ..shot("summary-accessible", "summary")
    },
    shot("goodbye", "goodbye"),
    shot("out-of-order", "out-of-order"),
    shot("staff-pin", "staff-pin"),
    Shot {
        staff_page: "status",
        ..shot("staff-status", "staff")
    },
    Shot {
        staff_page: "settings",
        ..shot("staff-settings", "staff")
    },
    Shot {
        staff_page: "reader",
        ..shot("staff-reader", "staff")
    },
    Shot {
        staff_page: "sip2",
        ..shot("staff-sip2", "staff")
    },
    Shot {
        staff_page: "queue",
        ..shot("staff-queue", "staff")
    },
];

fn s(text: &str) -> SharedString {
    text.into()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Words the core would send already translated (refusal reasons, renew results).
fn says(language: Language, en: &str, it: &str, zh: &str) -> SharedString {
    match language {
        Language::English => en.into(),
        Language::Italian => it.into(),
        Language::Chinese => zh.into(),
    }
}

/// Fill every adapter with demo content in `language` and show `shot`.
pub fn show(window: &AppWindow, shot: &Shot, language: Language) {
    super::select_language(language.code());
    fill(window, language);
    let kiosk = window.global::<KioskAdapter>();
    kiosk.set_screen(s(shot.screen));
    kiosk.set_activity(s(shot.activity));
    kiosk.set_online(shot.online);
    kiosk.set_idle_seconds_left(if shot.idle { 12 } else { 0 });
    let theme = window.global::<Theme>();
    theme.set_high_contrast(shot.accessible);
    theme.set_large_text(shot.accessible);
    window.global::<StaffAdapter>().set_page(s(shot.staff_page));
    if shot.activity == "return" {
        fill_returns(window, language);
    }
    if shot.screen == "account" {
        kiosk.set_ils_message(says(
            language,
            "Your library card expires on 31 Dec 2026.",
            "La tua tessera scade il 31 dic 2026.",
            "您的读者证将于2026年12月31日到期。",
        ));
    }
}

/// Demo content for every adapter in `language`.
pub fn fill(window: &AppWindow, language: Language) {
    let due = format::date(day(2026, 12, 11), language);
    let kiosk = window.global::<KioskAdapter>();
    kiosk.set_library_name(says(
        language,
        "Biblioteca Civica · City Library",
        "Biblioteca Civica",
        "市立图书馆",
    ));
    kiosk.set_languages(super::bridge::language_options(&Language::ALL, language));
    kiosk.set_ils_message(SharedString::new());
    kiosk.set_fault(s("reader"));
    kiosk.set_fault_detail(s(
        "PN5180 on /dev/spidev0.0: no answer to GET_VERSION after 3 tries",
    ));

    let identify = window.global::<IdentifyAdapter>();
    identify.set_card_number(s("2900"));
    identify.set_keypad(true);
    identify.set_error(SharedString::new());

    let pin = window.global::<PinAdapter>();
    pin.set_patron_name(s("王芳 Wang Fang"));
    pin.set_pin(s("12"));
    pin.set_error(says(
        language,
        "Wrong PIN. Please try again (2 tries left).",
        "PIN errato. Riprova (ancora 2 tentativi).",
        "密码错误，请重试（还可尝试2次）。",
    ));

    let pad = window.global::<PadAdapter>();
    pad.set_patron_name(s("王芳 Wang Fang"));
    pad.set_remaining(4);
    pad.set_put_back(true);
    pad.set_busy(true);
    let item = |title: &str, state: ItemState| PadItem {
        title: title.into(),
        state,
        due: if state == ItemState::Done {
            due.clone().into()
        } else {
            SharedString::new()
        },
        reason: SharedString::new(),
        progress: 0.0,
        bin: SharedString::new(),
    };
    pad.set_items(super::rows(vec![
        item("Il nome della rosa", ItemState::Done),
        item("三体", ItemState::Done),
        item("The Hobbit, or There and Back Again", ItemState::Done),
        PadItem {
            progress: 0.65,
            ..item("活着", ItemState::Securing)
        },
        item("Le città invisibili", ItemState::Checking),
        item("Norwegian Wood", ItemState::PutBack),
        PadItem {
            reason: says(
                language,
                "reference only, not for loan",
                "solo consultazione, non prestabile",
                "仅供馆内阅览，不外借",
            ),
            ..item("中华人民共和国地图集", ItemState::Refused)
        },
        PadItem {
            reason: says(
                language,
                "2 of 3 discs on the pad: add the missing one",
                "2 dischi su 3 sul piano: aggiungi quello mancante",
                "感应区上只有3张光盘中的2张：请放上缺少的一张",
            ),
            ..item("Vivaldi: Le quattro stagioni (3 CD)", ItemState::Refused)
        },
        item("红楼梦", ItemState::Pending),
        item("Dune", ItemState::Pending),
    ]));

    let account = window.global::<AccountAdapter>();
    account.set_patron_name(s("王芳 Wang Fang"));
    account.set_remaining(4);
    let loan = |id: &str, title: &str, due: NaiveDate, overdue: bool, renewable: bool| LoanRow {
        id: id.into(),
        title: title.into(),
        due: format::date(due, language).into(),
        overdue,
        renewable,
        note: SharedString::new(),
    };
    account.set_loans(super::rows(vec![
        loan(
            "30012000123456",
            "Il nome della rosa",
            day(2026, 11, 12),
            true,
            true,
        ),
        LoanRow {
            note: says(
                language,
                "Renewed until 11 Dec 2026",
                "Rinnovato fino all'11 dic 2026",
                "已续借至2026年12月11日",
            ),
            ..loan("30012000222222", "三体", day(2026, 12, 11), false, true)
        },
        LoanRow {
            note: says(
                language,
                "Not renewable: another reader is waiting for it",
                "Non rinnovabile: un altro lettore lo ha prenotato",
                "不可续借：已有其他读者预约",
            ),
            ..loan("30012000333333", "Dune", day(2026, 12, 3), false, false)
        },
        loan(
            "30012000444444",
            "Le città invisibili",
            day(2026, 12, 18),
            false,
            true,
        ),
        loan(
            "30012000555555",
            "挪威的森林",
            day(2026, 12, 20),
            false,
            true,
        ),
    ]));
    account.set_holds(super::rows(vec![
        HoldRow {
            id: s("30012000555501"),
            title: s("活着"),
            ready: true,
            pickup: says(
                language,
                "Pickup shelf, ground floor",
                "Scaffale prenotazioni, piano terra",
                "一楼预约书架",
            ),
            until: format::date(day(2026, 11, 30), language).into(),
            ..HoldRow::default()
        },
        HoldRow {
            id: s("30012000555502"),
            title: s("The Left Hand of Darkness"),
            ready: true,
            pickup: says(
                language,
                "Branch: Riverside",
                "Sede: Lungofiume",
                "河滨分馆",
            ),
            until: format::date(day(2026, 12, 2), language).into(),
            ..HoldRow::default()
        },
    ]));
    account.set_fines(super::rows(vec![
        FineRow {
            description: says(
                language,
                "Late return: Il nome della rosa",
                "Restituzione in ritardo: Il nome della rosa",
                "逾期归还：Il nome della rosa",
            ),
            amount: format::money(150, "EUR", language).into(),
        },
        FineRow {
            description: says(
                language,
                "Replacement of a damaged barcode",
                "Sostituzione codice a barre danneggiato",
                "更换损坏的条码",
            ),
            amount: format::money(50, "EUR", language).into(),
        },
    ]));
    account.set_fines_total(format::money(200, "EUR", language).into());
    account.set_busy(false);

    let summary = window.global::<SummaryAdapter>();
    summary.set_borrowed(3);
    summary.set_returned(0);
    summary.set_renewed(1);
    summary.set_refused(1);
    let row = |title: &str, ok: bool, detail: SharedString| SummaryRow {
        title: title.into(),
        ok,
        detail,
    };
    summary.set_rows(super::rows(vec![
        row("Il nome della rosa", true, due.clone().into()),
        row("三体", true, due.clone().into()),
        row(
            "The Hobbit, or There and Back Again",
            true,
            due.clone().into(),
        ),
        row(
            "Le città invisibili",
            true,
            format::date(day(2027, 1, 8), language).into(),
        ),
        row(
            "中华人民共和国地图集",
            false,
            says(
                language,
                "reference only, not for loan",
                "solo consultazione, non prestabile",
                "仅供馆内阅览，不外借",
            ),
        ),
    ]));
    summary.set_receipt_available(false);

    fill_staff(window);
}

fn fill_returns(window: &AppWindow, language: Language) {
    let pad = window.global::<PadAdapter>();
    pad.set_patron_name(SharedString::new());
    pad.set_remaining(-1);
    pad.set_put_back(false);
    pad.set_busy(false);
    let bin = |n: u8| {
        says(language, "bin {}", "contenitore {}", "{}号还书箱").replace("{}", &n.to_string())
    };
    let returned = |title: &str, bin: String| PadItem {
        title: title.into(),
        state: ItemState::Done,
        due: SharedString::new(),
        reason: SharedString::new(),
        progress: 0.0,
        bin: bin.into(),
    };
    pad.set_items(super::rows(vec![
        returned("Il barone rampante", bin(1)),
        returned("围城", bin(2)),
        returned("A Tale of Two Cities", String::new()),
        PadItem {
            state: ItemState::Checking,
            ..returned("骆驼祥子", String::new())
        },
    ]));
}

/// The staff pages as staff mode fills them: the same rows and the same wording (the adapters'
/// functions), so the lines follow the language selected.
fn fill_staff(window: &AppWindow) {
    let staff = window.global::<StaffAdapter>();
    staff.set_pin(s("1234"));
    staff.set_pin_error(SharedString::new());
    staff.set_terminal_id(s("kiosk-01"));
    let link = LinkLine {
        server: Server::Tls("ils.example.org:6001".into()),
        now: LinkNow::Offline {
            secs: 40,
            reason: "timed out after 10 s".into(),
        },
    };
    staff.set_link_ok(link.ok());
    staff.set_link_text(staff::link_text(&staff, &link));
    staff.set_reader_ok(true);
    staff.set_reader_text(staff.invoke_tags_on_pad(s(BOARD), 4));
    staff.set_queue_length(3);
    staff.set_conflicts(1);
    staff.set_versions(super::rows(staff::versions(&staff.invoke_board(), BOARD)));

    let field = |key: &str, value: &str, kind: FieldKind, error: &str| SettingField {
        key: key.into(),
        value: value.into(),
        kind,
        error: error.into(),
    };
    let settings = window.global::<SettingsAdapter>();
    settings.set_fields(super::rows(vec![
        field("ils.server", "ils.example.org:6001", FieldKind::Text, ""),
        field("ils.tls", "true", FieldKind::Toggle, ""),
        field("ils.user", "kiosk01", FieldKind::Text, ""),
        field("ils.password", "secret", FieldKind::Secret, ""),
        field("terminal.location", "MAIN", FieldKind::Text, ""),
        field(
            "terminal.institution",
            "",
            FieldKind::Text,
            "must not be empty: the ILS needs it in every message (AO)",
        ),
        field("rfid.afi_secured", "07", FieldKind::Text, ""),
        field(
            "rfid.afi_on_loan",
            "G2",
            FieldKind::Text,
            "not a hexadecimal byte (00-FF)",
        ),
        field("terminal.languages", "en, it, zh_CN", FieldKind::Text, ""),
        field("terminal.idle_timeout_secs", "60", FieldKind::Number, ""),
    ]));
    settings.set_dirty(true);
    settings.set_status(settings.invoke_problems(2));

    let diagnostics = window.global::<DiagnosticsAdapter>();
    diagnostics.set_live(true);
    let tag = |uid: &str, afi: u8, eas: Option<bool>, data: TagData| {
        staff::tag_row(&LibraryTag {
            uid: parse_uid(uid).unwrap_or_default(),
            afi: Some(afi),
            dsfid: None,
            eas,
            data,
        })
    };
    let item = |model: DataModel, id: &str| {
        TagData::Decoded(ItemRecord::new(model, TypeOfUsage::Circulating, id))
    };
    diagnostics.set_tags(super::rows(vec![
        tag(
            "E0040150A1B2C3D4",
            0x07,
            Some(true),
            item(DataModel::Iso28560_3, "30012000123456"),
        ),
        tag(
            "E00401509F8E7D6C",
            0xC2,
            Some(false),
            item(DataModel::Iso28560_2, "CN-2024-000871"),
        ),
        tag(
            "E004015011223344",
            0x07,
            Some(true),
            item(DataModel::Iso28560_3, "30012000777001"),
        ),
        tag("E0040150DEADBEEF", 0x00, None, TagData::Blank),
    ]));
    diagnostics.set_reader_text(diagnostics.invoke_tags_read(4, 38));
    diagnostics.set_sip2_busy(false);
    let answer = StatusAnswer::Acs {
        ms: 41,
        online: true,
        checkout: true,
        checkin: true,
        renewal: true,
        institution: "MAIN".into(),
    };
    diagnostics.set_sip2_ok(answer.ok());
    diagnostics.set_sip2_result(staff::status_text(&diagnostics, &answer));

    let queue = window.global::<QueueAdapter>();
    let row = |id: i64, at: &str, action: Action, item: &str, state: State, message: &str| {
        staff::queue_row(&Entry {
            id,
            action,
            patron_id: Some("21000000004821".into()),
            item_id: Some(item.into()),
            state,
            offline: true,
            transaction_at: at.into(),
            due_at: None,
            attempts: 0,
            message: (!message.is_empty()).then(|| message.into()),
            maybe_sent: false,
            created_at: "2026-11-27T09:02:00.000Z".into(),
            pickup: None,
        })
    };
    queue.set_rows(super::rows(vec![
        row(
            1,
            "20261127    100200",
            Action::Checkout,
            "30012000123456",
            State::Queued,
            "",
        ),
        row(
            2,
            "20261127    100215",
            Action::Checkin,
            "30012000222222",
            State::Queued,
            "",
        ),
        row(
            3,
            "20261127    100300",
            Action::Checkout,
            "30012000777001",
            State::Conflict,
            "Item already checked out to another patron: ask the ILS team",
        ),
    ]));
    queue.set_syncing(false);
}
