//! The only writer into the UI. The core (on the tokio thread) hands it screen models; it
//! queues them onto Slint's event loop. UI callbacks go the other way only as `try_send` on
//! the core's bounded event channel, so a busy core never freezes the screen.
//!
//! Besides mapping the model onto the adapters, the bridge keeps the little the screens need
//! between two models, all on the UI thread: which view is up (a PIN being checked stays on
//! the PIN view), the goodbye screen shown for a moment after a finished session, the audible
//! cues for items that just changed, and the end of a session, when every trace of the
//! patron is wiped from the adapters and the accessibility options go back to normal.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chrono::NaiveDate;
use slint::{ComponentHandle, Model, ModelRc, SharedString};
use tokio::sync::mpsc;

use super::sound::{Cue, Sounds};
use super::{
    AccountAdapter, AppWindow, FineRow, HoldRow, IdentifyAdapter, ItemState as UiItemState,
    KioskAdapter, LanguageOption, LoanRow, PadAdapter, PadItem, PinAdapter, SummaryAdapter,
    SummaryRow, Theme, format, rows, texts,
};
use crate::kiosk::{
    Activity, Event, HoldLine, ItemLine, ItemState, Language, LoanLine, ReceiptKind, ReceiptState,
    Screen, ScreenModel,
};

/// How long the goodbye screen stays up after a finished session (a touch ends it sooner).
pub const GOODBYE: Duration = Duration::from_secs(4);

/// Cloneable, `Send`: the core keeps one to show screens.
#[derive(Clone)]
pub struct Bridge {
    window: slint::Weak<AppWindow>,
}

impl Bridge {
    pub fn new(window: &AppWindow) -> Bridge {
        Bridge {
            window: window.as_weak(),
        }
    }

    /// Show a screen model. Safe from any thread; a closed window is not an error.
    pub fn show(&self, model: ScreenModel) {
        let queued = self.window.upgrade_in_event_loop(move |window| {
            write_model(&window, &model);
        });
        if queued.is_err() {
            tracing::debug!("screen update dropped: the UI event loop has ended");
        }
    }
}

/// What the bridge remembers between two models (UI thread only).
#[derive(Default)]
struct UiState {
    /// The view the last model put up.
    view: &'static str,
    /// A patron (or return) session was on screen.
    in_session: bool,
    /// Item states of the last model, to play a cue on each change.
    items: Vec<(String, ItemState)>,
    idle_warning: bool,
    goodbye: Option<slint::Timer>,
    sounds: Option<Rc<Sounds>>,
}

thread_local! {
    static STATE: RefCell<UiState> = RefCell::default();
}

/// Play cues through `sounds` (the window's thread only; without it the screens are silent).
pub fn set_sounds(sounds: Sounds) {
    STATE.with(|s| s.borrow_mut().sounds = Some(Rc::new(sounds)));
}

/// The view names of `KioskAdapter.screen` that belong to staff mode: while one is up, patron
/// models update the adapters but do not take the screen away from the staff.
pub fn is_staff_view(view: &str) -> bool {
    matches!(view, "staff" | "staff-pin")
}

/// The language buttons: each language in its own name, the chosen one marked.
pub fn language_options(languages: &[Language], chosen: Language) -> ModelRc<LanguageOption> {
    rows(
        languages
            .iter()
            .map(|l| LanguageOption {
                code: l.code().into(),
                name: l.native_name().into(),
                selected: *l == chosen,
            })
            .collect(),
    )
}

/// A `YYYY-MM-DD` date from the core, in the screen language; anything else as it came.
fn due_text(due: &Option<String>, language: Language) -> String {
    match due {
        Some(d) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(date) => format::date(date, language),
            Err(_) => d.clone(),
        },
        None => String::new(),
    }
}

/// What the patron must still do with an item that is done: take it to the desk (its security
/// stays on) or put it on the desk shelf (an alert on return). Empty for the rest.
fn done_hint(item: &ItemLine, language: Language) -> String {
    item.reason
        .map(|r| texts::reason(r, language).to_string())
        .unwrap_or_default()
}

/// Why an item was refused: the library system's words when it gave some.
fn refusal_text(item: &ItemLine, language: Language) -> String {
    use crate::kiosk::Reason;
    match (item.reason, &item.message, item.parts) {
        (Some(Reason::IncompleteSet), _, Some((seen, total))) => {
            texts::parts_missing(seen, total, language)
        }
        (Some(Reason::Ils) | None, Some(message), _) if !message.is_empty() => message.clone(),
        (Some(reason), Some(message), _)
            if !message.is_empty() && reason == Reason::OtherLibrary =>
        {
            format!("{} ({message})", texts::reason(reason, language))
        }
        (Some(reason), _, _) => texts::reason(reason, language).to_string(),
        (None, _, _) => String::new(),
    }
}

fn title_of(item: &ItemLine) -> String {
    if item.title.is_empty() {
        item.item_id.clone()
    } else {
        item.title.clone()
    }
}

fn pad_item(item: &ItemLine, language: Language) -> PadItem {
    let (state, reason) = match item.state {
        ItemState::Working => (UiItemState::Checking, String::new()),
        ItemState::Securing => (UiItemState::Securing, String::new()),
        ItemState::Done => (UiItemState::Done, done_hint(item, language)),
        ItemState::DoneOffline => (
            UiItemState::Done,
            texts::to_be_confirmed(language).to_string(),
        ),
        ItemState::Refused => (UiItemState::Refused, refusal_text(item, language)),
        ItemState::PutBack => (UiItemState::PutBack, refusal_text(item, language)),
    };
    PadItem {
        title: title_of(item).into(),
        state,
        due: due_text(&item.due, language).into(),
        reason: reason.into(),
        progress: if item.state == ItemState::Securing {
            0.5
        } else {
            0.0
        },
        bin: item.sort_bin.clone().unwrap_or_default().into(),
    }
}

fn loan_row(loan: &LoanLine, language: Language) -> LoanRow {
    let due = due_text(&loan.due, language);
    let note = match (loan.renewed, &loan.message) {
        (Some(true), _) => texts::renewed_until(&due, language),
        (Some(false), Some(m)) if !m.is_empty() => m.clone(),
        (Some(false), _) => texts::not_renewed(language).to_string(),
        (None, _) => String::new(),
    };
    LoanRow {
        id: loan.item_id.clone().into(),
        title: if loan.title.is_empty() {
            loan.item_id.clone().into()
        } else {
            loan.title.clone().into()
        },
        due: due.into(),
        overdue: loan.overdue,
        // Refused once in this session: asking again would only be refused again.
        renewable: loan.renewed != Some(false),
        note: note.into(),
    }
}

/// Which view shows a model, and the activity it is for.
fn view_for(model: &ScreenModel, previous: &str) -> (&'static str, Option<Activity>) {
    match &model.screen {
        Screen::Welcome => ("welcome", None),
        Screen::Identify { activity } | Screen::Refused { activity } => {
            ("identify", Some(*activity))
        }
        Screen::Pin { activity, .. } => ("pin", Some(*activity)),
        // The card or the PIN is being checked: stay where the patron typed it.
        Screen::Checking { activity } if previous == "pin" => ("pin", Some(*activity)),
        Screen::Checking { activity } => ("identify", Some(*activity)),
        Screen::Borrow => ("pad", Some(Activity::Borrow)),
        Screen::Return => ("pad", Some(Activity::Return)),
        Screen::Account => ("account", Some(Activity::Account)),
        Screen::Summary { activity } => ("summary", Some(*activity)),
        Screen::OutOfOrder { .. } => ("out-of-order", None),
    }
}

/// Write a screen model into the adapters (on the UI thread).
pub fn write_model(window: &AppWindow, model: &ScreenModel) {
    let language = model.language;
    super::select_language(language.code());
    let kiosk = window.global::<KioskAdapter>();
    let current = kiosk.get_screen();
    let staff = is_staff_view(&current);

    let (view, activity, ended, cue) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let (mut view, activity) = view_for(model, state.view);
        let in_session = model.patron.is_some()
            || !matches!(model.screen, Screen::Welcome | Screen::OutOfOrder { .. });
        let ended = state.in_session && !in_session;
        let cue = cue_for(&state, model);
        if ended && state.view == "summary" && view == "welcome" {
            view = "goodbye";
            let timer = slint::Timer::default();
            let weak = window.as_weak();
            timer.start(slint::TimerMode::SingleShot, GOODBYE, move || {
                if let Some(window) = weak.upgrade() {
                    end_goodbye(&window);
                }
            });
            state.goodbye = Some(timer);
        } else if view != "welcome" || in_session {
            state.goodbye = None;
        } else if state.goodbye.is_some() {
            // A model while the goodbye is up (a tick, the link): let the goodbye run out.
            view = "goodbye";
        }
        state.view = view;
        state.in_session = in_session;
        state.items = model
            .items
            .iter()
            .map(|i| (i.item_id.clone(), i.state))
            .collect();
        state.idle_warning = model.idle_warning.is_some();
        if let (Some(cue), Some(sounds)) = (cue, &state.sounds) {
            sounds.play(cue);
        }
        (view, activity, ended, cue)
    });
    tracing::trace!(view, ?cue, "screen");

    if ended {
        forget_patron(window);
    }
    if !staff {
        kiosk.set_screen(view.into());
    }
    if let Some(activity) = activity {
        kiosk.set_activity(activity_name(activity).into());
    }
    kiosk.set_online(model.online);
    kiosk.set_languages(language_options(&model.languages, language));
    kiosk.set_idle_seconds_left(
        model
            .idle_warning
            .map_or(0, |s| s.min(i32::MAX as u32) as i32),
    );
    let mut messages: Vec<&str> = Vec::new();
    for m in &model.messages {
        if !m.is_empty() && !messages.contains(&m.as_str()) {
            messages.push(m);
        }
    }
    kiosk.set_ils_message(messages.join(" · ").into());
    match &model.screen {
        Screen::OutOfOrder { fault, reason } => {
            kiosk.set_fault(fault.as_str().into());
            kiosk.set_fault_detail(reason.clone().into());
        }
        _ => {
            kiosk.set_fault(SharedString::new());
            kiosk.set_fault_detail(SharedString::new());
        }
    }

    let notice = model
        .notice
        .map(|r| texts::reason(r, language).to_string())
        .unwrap_or_default();
    let name: SharedString = model
        .patron
        .as_ref()
        .map(|p| p.display_name.clone())
        .unwrap_or_default()
        .into();

    let identify = window.global::<IdentifyAdapter>();
    let refused = matches!(model.screen, Screen::Refused { .. });
    identify.set_keypad(!refused);
    identify.set_busy(matches!(model.screen, Screen::Checking { .. }) && view == "identify");
    identify.set_error(if view == "identify" {
        notice.clone().into()
    } else {
        SharedString::new()
    });
    if view != "identify" {
        identify.set_card_number(SharedString::new());
    }

    let pin = window.global::<PinAdapter>();
    pin.set_patron_name(name.clone());
    match &model.screen {
        Screen::Pin { attempts_left, .. } => {
            pin.set_busy(false);
            if model.notice == Some(crate::kiosk::Reason::WrongPin) {
                pin.set_error(texts::wrong_pin(*attempts_left, language).into());
                pin.set_pin(SharedString::new());
            } else {
                pin.set_error(SharedString::new());
            }
        }
        Screen::Checking { .. } if view == "pin" => pin.set_busy(true),
        _ => {
            pin.set_busy(false);
            pin.set_error(SharedString::new());
            pin.set_pin(SharedString::new());
        }
    }

    let remaining = if model.online {
        model
            .patron
            .as_ref()
            .and_then(|p| p.may_borrow)
            .map_or(-1, |n| n.min(i32::MAX as u32) as i32)
    } else {
        -1
    };
    let pad = window.global::<PadAdapter>();
    pad.set_patron_name(name.clone());
    pad.set_remaining(remaining);
    pad.set_items(rows(
        model.items.iter().map(|i| pad_item(i, language)).collect(),
    ));
    pad.set_put_back(model.items.iter().any(|i| i.state == ItemState::PutBack));
    pad.set_busy(
        model
            .items
            .iter()
            .any(|i| matches!(i.state, ItemState::Working | ItemState::Securing)),
    );

    let account = window.global::<AccountAdapter>();
    account.set_patron_name(name);
    account.set_remaining(remaining);
    account.set_loans(rows(
        model.loans.iter().map(|l| loan_row(l, language)).collect(),
    ));
    let patron = model.patron.as_ref();
    // The holds with their pickup locations when the account screen has them, else the
    // titles of those ready.
    account.set_holds(rows(if model.holds.is_empty() {
        patron
            .map(|p| {
                p.holds_ready
                    .iter()
                    .map(|title| HoldRow {
                        title: title.clone().into(),
                        ready: true,
                        ..HoldRow::default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        model.holds.iter().map(|h| hold_row(h, language)).collect()
    }));
    account.set_pickup_locations(rows(
        model
            .pickup_locations
            .iter()
            .map(|l| SharedString::from(l.as_str()))
            .collect(),
    ));
    account.set_delivery_offered(model.delivery_offered);
    account.set_delivery_open(model.delivery.is_some());
    if let Some(d) = &model.delivery {
        account.set_delivery_title(if d.title.is_empty() {
            d.item_id.clone().into()
        } else {
            d.title.clone().into()
        });
        account.set_delivery_fee(d.fee.clone().unwrap_or_default().into());
        account.set_delivery_address(d.address.clone().into());
    }
    let fines = patron.and_then(|p| p.fines.clone()).unwrap_or_default();
    account.set_fines(rows(if fines.is_empty() {
        Vec::new()
    } else {
        vec![FineRow {
            description: texts::fines_owed(language).into(),
            amount: fines.clone().into(),
        }]
    }));
    account.set_fines_total(fines.into());
    account.set_busy(false);

    write_summary(window, model, language);
}

fn write_summary(window: &AppWindow, model: &ScreenModel, language: Language) {
    let summary = window.global::<SummaryAdapter>();
    let done = |i: &&ItemLine| matches!(i.state, ItemState::Done | ItemState::DoneOffline);
    let returning = matches!(
        model.screen,
        Screen::Return
            | Screen::Summary {
                activity: Activity::Return
            }
    );
    let done_count = model.items.iter().filter(done).count() as i32;
    let renewed: Vec<&LoanLine> = model
        .loans
        .iter()
        .filter(|l| l.renewed == Some(true))
        .collect();
    summary.set_borrowed(if returning { 0 } else { done_count });
    summary.set_returned(if returning { done_count } else { 0 });
    summary.set_renewed(renewed.len() as i32);
    summary.set_refused(
        model
            .items
            .iter()
            .filter(|i| matches!(i.state, ItemState::Refused | ItemState::PutBack))
            .count() as i32,
    );
    let mut lines: Vec<SummaryRow> = model
        .items
        .iter()
        .map(|i| {
            let ok = done(&i);
            let hint = done_hint(i, language);
            let detail = if !ok {
                refusal_text(i, language)
            } else if !hint.is_empty() {
                match i.sort_bin.as_deref().filter(|b| !b.is_empty()) {
                    Some(bin) => format!("{hint} · {bin}"),
                    None => hint,
                }
            } else if returning {
                i.sort_bin.clone().unwrap_or_default()
            } else if i.state == ItemState::DoneOffline {
                format!(
                    "{} · {}",
                    due_text(&i.due, language),
                    texts::to_be_confirmed(language)
                )
            } else {
                due_text(&i.due, language)
            };
            SummaryRow {
                title: title_of(i).into(),
                ok,
                detail: detail.into(),
            }
        })
        .collect();
    lines.extend(renewed.iter().map(|l| SummaryRow {
        title: l.title.clone().into(),
        ok: true,
        detail: texts::renewed_until(&due_text(&l.due, language), language).into(),
    }));
    summary.set_rows(rows(lines));
    let receipt = model.receipt.as_ref();
    let offered = |k| receipt.is_some_and(|r| r.offers.contains(&k));
    summary.set_receipt_available(receipt.is_some());
    summary.set_print_offered(offered(ReceiptKind::Print));
    summary.set_email_offered(offered(ReceiptKind::Email));
    summary.set_print_state(receipt_state(receipt.and_then(|r| r.print)).into());
    summary.set_email_state(receipt_state(receipt.and_then(|r| r.email)).into());
}

/// A receipt's state as the summary view names it.
fn receipt_state(state: Option<ReceiptState>) -> &'static str {
    match state {
        None => "",
        Some(ReceiptState::Working) => "working",
        Some(ReceiptState::Printed) => "printed",
        Some(ReceiptState::Queued) => "queued",
        Some(ReceiptState::NoPaper) => "no-paper",
        Some(ReceiptState::CoverOpen) => "cover-open",
        Some(ReceiptState::PrinterFault) => "printer-fault",
        Some(ReceiptState::NotSent) => "not-sent",
    }
}

/// One hold as the account screen lists it; a delivery queued offline says so.
fn hold_row(h: &HoldLine, language: Language) -> HoldRow {
    let note = if h.queued {
        texts::to_be_confirmed(language).to_string()
    } else {
        h.message.clone().unwrap_or_default()
    };
    HoldRow {
        id: h.item_id.clone().into(),
        title: if h.title.is_empty() {
            h.item_id.clone().into()
        } else {
            h.title.clone().into()
        },
        pickup: h.pickup.clone().into(),
        until: SharedString::new(),
        ready: h.ready,
        delivery: h.delivery,
        note: note.into(),
    }
}

/// A cue for what changed since the last model: attention first (a refusal, a put-back,
/// the idle warning, a notice), else success (an item done).
fn cue_for(state: &UiState, model: &ScreenModel) -> Option<Cue> {
    let before = |id: &str| state.items.iter().find(|(i, _)| i == id).map(|(_, s)| *s);
    let mut cue = None;
    for item in &model.items {
        let was = before(&item.item_id);
        if was == Some(item.state) {
            continue;
        }
        match item.state {
            ItemState::Refused | ItemState::PutBack => return Some(Cue::Attention),
            ItemState::Done | ItemState::DoneOffline => cue = Some(Cue::Success),
            ItemState::Working | ItemState::Securing => {}
        }
    }
    if model.idle_warning.is_some() && !state.idle_warning {
        return Some(Cue::Attention);
    }
    if model.notice.is_some()
        && matches!(
            model.screen,
            Screen::Identify { .. } | Screen::Pin { .. } | Screen::Refused { .. }
        )
    {
        return Some(Cue::Attention);
    }
    cue
}

/// The goodbye has been up long enough (or was touched away).
fn end_goodbye(window: &AppWindow) {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.goodbye = None;
        if state.view == "goodbye" {
            state.view = "welcome";
        }
    });
    let kiosk = window.global::<KioskAdapter>();
    if kiosk.get_screen() == "goodbye" {
        kiosk.set_screen("welcome".into());
    }
}

/// The session is over: nothing of the patron stays in the adapters, and the next patron
/// starts with the standard look.
fn forget_patron(window: &AppWindow) {
    let identify = window.global::<IdentifyAdapter>();
    identify.set_card_number(SharedString::new());
    identify.set_error(SharedString::new());
    let pin = window.global::<PinAdapter>();
    pin.set_pin(SharedString::new());
    pin.set_patron_name(SharedString::new());
    pin.set_error(SharedString::new());
    let pad = window.global::<PadAdapter>();
    pad.set_patron_name(SharedString::new());
    pad.set_items(rows(Vec::new()));
    let account = window.global::<AccountAdapter>();
    account.set_patron_name(SharedString::new());
    account.set_loans(rows(Vec::new()));
    account.set_holds(rows(Vec::new()));
    account.set_delivery_open(false);
    account.set_delivery_title(SharedString::new());
    account.set_delivery_address(SharedString::new());
    account.set_fines(rows(Vec::new()));
    account.set_fines_total(SharedString::new());
    standard_look(window);
}

/// The patron's accessibility choices undone (high contrast, large text): at the end of a
/// session, and for staff mode, whose pages are laid out for the standard look.
pub fn standard_look(window: &AppWindow) {
    let theme = window.global::<Theme>();
    theme.set_high_contrast(false);
    theme.set_large_text(false);
}

/// Nothing of a patron is left in the adapters (for tests and staff checks): no name, no
/// typed number or PIN, no items, loans or fines.
pub fn shows_no_patron(window: &AppWindow) -> bool {
    let identify = window.global::<IdentifyAdapter>();
    let pin = window.global::<PinAdapter>();
    let pad = window.global::<PadAdapter>();
    let account = window.global::<AccountAdapter>();
    let summary = window.global::<SummaryAdapter>();
    identify.get_card_number().is_empty()
        && pin.get_pin().is_empty()
        && pin.get_patron_name().is_empty()
        && pad.get_patron_name().is_empty()
        && pad.get_items().row_count() == 0
        && account.get_patron_name().is_empty()
        && account.get_loans().row_count() == 0
        && account.get_fines().row_count() == 0
        && summary.get_rows().row_count() == 0
}

fn activity_name(a: Activity) -> &'static str {
    match a {
        Activity::Borrow => "borrow",
        Activity::Return => "return",
        Activity::Account => "account",
    }
}

fn activity_from(name: &str) -> Option<Activity> {
    match name {
        "borrow" => Some(Activity::Borrow),
        "return" => Some(Activity::Return),
        "account" => Some(Activity::Account),
        _ => None,
    }
}

/// Route the patron adapters' callbacks into the core's event channel.
pub fn connect(window: &AppWindow, events: mpsc::Sender<Event>) {
    connect_with(window, events, || {}, |_| false);
}

/// [`connect`], also calling `on_touch` on every touch (staff mode's idle clock) and
/// `on_card` with every card number typed on the keypad: when it returns true the number
/// was taken (a staff card) and does not start a patron session.
pub fn connect_with(
    window: &AppWindow,
    events: mpsc::Sender<Event>,
    on_touch: impl Fn() + 'static,
    on_card: impl Fn(&str) -> bool + 'static,
) {
    let send = Rc::new(move |event: Event| {
        if let Err(e) = events.try_send(event) {
            tracing::warn!("touch dropped, the kiosk core is busy: {e}");
        }
    });
    let kiosk = window.global::<KioskAdapter>();
    let s = send.clone();
    kiosk.on_start(move |name: SharedString| {
        if let Some(activity) = activity_from(&name) {
            s(Event::Start(activity));
        }
    });
    let s = send.clone();
    kiosk.on_cancel(move || s(Event::Cancel));
    let s = send.clone();
    kiosk.on_choose_language(move |code: SharedString| {
        if let Some(language) = Language::from_code(&code) {
            s(Event::ChooseLanguage(language));
        }
    });
    let s = send.clone();
    let weak = window.as_weak();
    kiosk.on_touched(move || {
        on_touch();
        // A touch on the goodbye screen goes straight back to the welcome screen.
        if let Some(window) = weak.upgrade()
            && window.global::<KioskAdapter>().get_screen() == "goodbye"
        {
            end_goodbye(&window);
        }
        s(Event::Touch);
    });
    let s = send.clone();
    kiosk.on_keep_session(move || s(Event::Touch));
    let s = send.clone();
    kiosk.on_accessibility_changed(move |_, _| s(Event::Touch));

    let s = send.clone();
    let weak = window.as_weak();
    window
        .global::<IdentifyAdapter>()
        .on_submit_card(move |number: SharedString| {
            let number = number.trim().to_string();
            if let Some(window) = weak.upgrade() {
                window
                    .global::<IdentifyAdapter>()
                    .set_card_number(SharedString::new());
            }
            if !number.is_empty() && !on_card(&number) {
                s(Event::Patron(number));
            }
        });
    let s = send.clone();
    let weak = window.as_weak();
    window
        .global::<PinAdapter>()
        .on_submit_pin(move |pin: SharedString| {
            if let Some(window) = weak.upgrade() {
                window.global::<PinAdapter>().set_busy(true);
            }
            s(Event::Pin(pin.to_string()));
        });
    let s = send.clone();
    window
        .global::<PadAdapter>()
        .on_done(move || s(Event::Done));
    let account = window.global::<AccountAdapter>();
    let s = send.clone();
    account.on_renew(move |id: SharedString| s(Event::Renew(id.to_string())));
    let s = send.clone();
    account.on_renew_all(move || s(Event::RenewAll));
    let s = send.clone();
    account.on_done(move || s(Event::Done));
    let s = send.clone();
    account.on_cancel_hold(move |id: SharedString| s(Event::CancelHold(id.to_string())));
    let s = send.clone();
    account.on_move_hold(move |id: SharedString, place: SharedString| {
        s(Event::MoveHold {
            item: id.to_string(),
            location: place.to_string(),
        })
    });
    let s = send.clone();
    account.on_deliver(move |id: SharedString| s(Event::Deliver(id.to_string())));
    let s = send.clone();
    account.on_confirm_delivery(move |yes| s(Event::ConfirmDelivery(yes)));
    let summary = window.global::<SummaryAdapter>();
    let receipt = |kind| {
        let s = send.clone();
        move || {
            s(Event::Receipt {
                kind,
                address: None,
            })
        }
    };
    summary.on_print_receipt(receipt(Some(ReceiptKind::Print)));
    summary.on_email_receipt(receipt(Some(ReceiptKind::Email)));
    summary.on_no_receipt(receipt(None));
    summary.on_finish(move || send(Event::Done));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk::{FaultKind, PatronLine, Reason};

    fn line(state: ItemState) -> ItemLine {
        ItemLine {
            item_id: "31000000000019".into(),
            title: String::new(),
            state,
            due: Some("2026-12-11".into()),
            reason: None,
            message: None,
            sort_bin: None,
            parts: None,
        }
    }

    #[test]
    fn items_map_to_the_pad_rows() {
        let done = pad_item(&line(ItemState::Done), Language::Italian);
        assert_eq!(done.state, UiItemState::Done);
        assert_eq!(done.due, "11 dic 2026");
        assert_eq!(done.title, "31000000000019", "no title: the number");

        let offline = pad_item(&line(ItemState::DoneOffline), Language::English);
        assert_eq!(offline.state, UiItemState::Done);
        assert_eq!(offline.reason, "will be confirmed by the library");

        let mut set = line(ItemState::Refused);
        set.reason = Some(Reason::IncompleteSet);
        set.parts = Some((2, 3));
        assert_eq!(
            pad_item(&set, Language::English).reason,
            "2 of 3 parts on the pad: add the missing ones"
        );

        let mut ils = line(ItemState::Refused);
        ils.reason = Some(Reason::Ils);
        ils.message = Some("Item on hold for another patron".into());
        assert_eq!(
            pad_item(&ils, Language::Chinese).reason,
            "Item on hold for another patron",
            "the library system's own words"
        );
        ils.message = None;
        assert_eq!(
            pad_item(&ils, Language::English).reason,
            "refused by the library"
        );

        let lifted = pad_item(&line(ItemState::PutBack), Language::English);
        assert_eq!(lifted.state, UiItemState::PutBack);
    }

    #[test]
    fn bad_dates_from_outside_are_shown_as_they_came() {
        assert_eq!(due_text(&Some("soon".into()), Language::English), "soon");
        assert_eq!(due_text(&None, Language::English), "");
    }

    #[test]
    fn loans_note_the_renewals() {
        let mut loan = LoanLine {
            item_id: "1".into(),
            title: "Dune".into(),
            due: Some("2027-01-08".into()),
            overdue: false,
            renewed: Some(true),
            message: None,
        };
        assert_eq!(
            loan_row(&loan, Language::English).note,
            "Renewed until 8 Jan 2027"
        );
        loan.renewed = Some(false);
        loan.message = Some("On hold for another patron".into());
        let row = loan_row(&loan, Language::English);
        assert_eq!(row.note, "On hold for another patron");
        assert!(!row.renewable);
    }

    #[test]
    fn views_for_every_screen() {
        let model = |screen| ScreenModel {
            screen,
            language: Language::English,
            languages: vec![Language::English],
            online: true,
            patron: Some(PatronLine {
                display_name: "A".into(),
                holds_ready: Vec::new(),
                fines: None,
                may_borrow: None,
            }),
            items: Vec::new(),
            loans: Vec::new(),
            messages: Vec::new(),
            notice: None,
            idle_warning: None,
            sync: None,
            receipt: None,
            holds: Vec::new(),
            pickup_locations: Vec::new(),
            delivery_offered: false,
            delivery: None,
        };
        let b = Activity::Borrow;
        let cases = [
            (Screen::Welcome, "", "welcome"),
            (Screen::Identify { activity: b }, "", "identify"),
            (Screen::Checking { activity: b }, "identify", "identify"),
            (Screen::Checking { activity: b }, "pin", "pin"),
            (
                Screen::Pin {
                    activity: b,
                    attempts_left: 2,
                },
                "",
                "pin",
            ),
            (Screen::Borrow, "", "pad"),
            (Screen::Return, "", "pad"),
            (Screen::Account, "", "account"),
            (Screen::Summary { activity: b }, "", "summary"),
            (Screen::Refused { activity: b }, "", "identify"),
            (
                Screen::OutOfOrder {
                    fault: FaultKind::Reader,
                    reason: "reader: no answer".into(),
                },
                "",
                "out-of-order",
            ),
        ];
        for (screen, previous, view) in cases {
            assert_eq!(
                view_for(&model(screen.clone()), previous).0,
                view,
                "{screen:?}"
            );
        }
    }
}
