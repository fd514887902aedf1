//! Unit tests of the session state machine: every path, no threads.

use super::*;

fn kiosk() -> Kiosk {
    Kiosk::new(KioskConfig {
        languages: vec![Language::Italian, Language::English, Language::Chinese],
        idle_timeout: Duration::from_secs(60),
    })
}

fn shown(effects: Vec<Effect>) -> ScreenModel {
    match effects.as_slice() {
        [Effect::Show(m)] => m.clone(),
        other => panic!("expected one Show, got {other:?}"),
    }
}

#[test]
fn starts_on_welcome_in_the_first_language() {
    let k = kiosk();
    assert_eq!(k.model().screen, Screen::Welcome);
    assert_eq!(k.model().language, Language::Italian);
}

#[test]
fn activity_then_cancel() {
    let mut k = kiosk();
    let m = shown(k.handle(Event::Start(Activity::Borrow)));
    assert_eq!(
        m.screen,
        Screen::Identify {
            activity: Activity::Borrow
        }
    );
    let m = shown(k.handle(Event::Cancel));
    assert_eq!(m.screen, Screen::Welcome);
}

#[test]
fn language_switch_and_reset_at_session_end() {
    let mut k = kiosk();
    assert_eq!(
        shown(k.handle(Event::ChooseLanguage(Language::Chinese))).language,
        Language::Chinese
    );
    k.handle(Event::Start(Activity::Return));
    let m = shown(k.handle(Event::Cancel));
    assert_eq!(m.language, Language::Italian);
}

#[test]
fn language_not_offered_is_ignored() {
    let mut k = Kiosk::new(KioskConfig {
        languages: vec![Language::English],
        idle_timeout: Duration::from_secs(60),
    });
    assert!(
        k.handle(Event::ChooseLanguage(Language::Chinese))
            .is_empty()
    );
    assert_eq!(k.model().language, Language::English);
}

#[test]
fn idle_timeout_returns_to_welcome() {
    let mut k = kiosk();
    k.handle(Event::ChooseLanguage(Language::English));
    k.handle(Event::Start(Activity::Account));
    let m = shown(k.handle(Event::Idle(Duration::from_secs(59))));
    assert_eq!(m.idle_warning, Some(1), "a warning first");
    let m = shown(k.handle(Event::Idle(Duration::from_secs(1))));
    assert_eq!(m.screen, Screen::Welcome);
    assert_eq!(m.language, Language::Italian);
}

#[test]
fn a_touch_restarts_the_idle_clock() {
    let mut k = kiosk();
    k.handle(Event::Start(Activity::Borrow));
    k.handle(Event::Idle(Duration::from_secs(50)));
    k.handle(Event::Touch);
    k.handle(Event::Idle(Duration::from_secs(50)));
    assert_eq!(
        k.model().screen,
        Screen::Identify {
            activity: Activity::Borrow
        }
    );
}

#[test]
fn link_state_is_shown() {
    let mut k = kiosk();
    assert!(shown(k.handle(Event::LinkChanged { online: true })).online);
    assert!(k.handle(Event::LinkChanged { online: true }).is_empty());
}

#[test]
fn languages_from_settings() {
    let mut s = crate::config::Settings::default();
    s.terminal.languages = vec!["zh_CN".into(), "en".into()];
    let c = KioskConfig::from_settings(&s);
    assert_eq!(c.languages, [Language::Chinese, Language::English]);
}

// ---- Circulation sessions ----

const PATRON: &str = "21000000000018";

fn rules() -> Rules {
    Rules {
        owner_isil: Some("DK-710100".into()),
        ..Rules::default()
    }
}

/// An English kiosk with these rules.
fn english(rules: Rules) -> Kiosk {
    Kiosk::with_rules(
        KioskConfig {
            languages: vec![Language::English],
            idle_timeout: Duration::from_secs(60),
        },
        rules,
    )
}

fn circ() -> Kiosk {
    let mut k = english(rules());
    k.handle(Event::LinkChanged { online: true });
    k.handle(Event::Clock { synchronised: true });
    k
}

fn item_tag(uid: &str, item: &str) -> TagSeen {
    TagSeen {
        uid: uid.into(),
        kind: TagKind::Item {
            item_id: item.into(),
            circulating: true,
            owner: Some("DK710100".into()),
            set: None,
            title: None,
        },
    }
}

fn ils_requests(effects: &[Effect]) -> Vec<(u64, IlsRequest)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Ils { req, request } => Some((*req, request.clone())),
            _ => None,
        })
        .collect()
}

fn security_writes(effects: &[Effect]) -> Vec<(String, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetSecurity { uid, secure } => Some((uid.clone(), *secure)),
            _ => None,
        })
        .collect()
}

fn patron_ok() -> PatronAnswer {
    PatronAnswer {
        known: true,
        pin_ok: Some(true),
        display_name: "Anna Verdi".into(),
        may_borrow: Some(10),
        holds_ready: vec!["Il nome della rosa".into()],
        fines: Some("2.50 EUR".into()),
        messages: vec!["Welcome back".into()],
        ..PatronAnswer::default()
    }
}

/// Card, PIN and a good patron answer: the borrow screen.
fn identified(k: &mut Kiosk, answer: PatronAnswer) -> Vec<Effect> {
    k.handle(Event::Patron(PATRON.into()));
    assert!(matches!(
        k.model().screen,
        Screen::Pin {
            attempts_left: 3,
            ..
        }
    ));
    let fx = k.handle(Event::Pin("0000".into()));
    let reqs = ils_requests(&fx);
    let [(req, IlsRequest::Patron { patron_id, pin })] = reqs.as_slice() else {
        panic!("one patron request: {fx:?}");
    };
    assert_eq!(patron_id, PATRON);
    assert_eq!(pin.as_deref(), Some("0000"));
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Patron(answer),
    })
}

/// The borrow session was refused for `reason`; the screen model.
fn assert_borrow_refused(k: &Kiosk, reason: Reason) -> ScreenModel {
    let m = k.model();
    assert_eq!(
        m.screen,
        Screen::Refused {
            activity: Activity::Borrow
        }
    );
    assert_eq!(m.notice, Some(reason));
    m
}

fn checkout_ok(title: &str) -> IlsAnswer {
    IlsAnswer::Checkout {
        desensitize: true,
        ok: true,
        offline: false,
        title: Some(title.into()),
        due: Some("2026-12-26".into()),
        messages: Vec::new(),
    }
}

fn line<'a>(m: &'a ScreenModel, item: &str) -> &'a ItemLine {
    m.items
        .iter()
        .find(|i| i.item_id == item)
        .unwrap_or_else(|| panic!("no line for {item} in {m:?}"))
}

#[test]
fn borrow_a_stack_end_to_end() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let m = k.model();
    assert_eq!(m.screen, Screen::Borrow);
    let p = m.patron.as_ref().expect("patron shown");
    assert_eq!(p.display_name, "Anna Verdi");
    assert_eq!(p.may_borrow, Some(10));
    assert_eq!(m.messages, ["Welcome back"]);

    let tags: Vec<TagSeen> = (0..3)
        .map(|i| item_tag(&format!("E00401000000000{i}"), &format!("3100000000000{i}")))
        .collect();
    let fx = k.handle(Event::Pad(tags.clone()));
    let reqs = ils_requests(&fx);
    assert_eq!(reqs.len(), 3, "one checkout per new item");
    for (req, r) in &reqs {
        let IlsRequest::Checkout {
            item_id, offline, ..
        } = r
        else {
            panic!("{r:?}")
        };
        assert!(!offline);
        let fx = k.handle(Event::Ils {
            req: *req,
            answer: checkout_ok(&format!("Title {item_id}")),
        });
        let writes = security_writes(&fx);
        assert_eq!(writes.len(), 1);
        assert!(!writes[0].1, "lending switches security off");
        assert_eq!(line(&k.model(), item_id).state, ItemState::Securing);
        // Not done before the read-back.
        k.handle(Event::Security {
            uid: writes[0].0.clone(),
            outcome: SecurityOutcome::Verified,
        });
        let m = k.model();
        let l = line(&m, item_id);
        assert_eq!(l.state, ItemState::Done);
        assert_eq!(l.due.as_deref(), Some("2026-12-26"));
    }
    assert_eq!(k.model().done_count(), 3);
    assert_eq!(k.model().patron.and_then(|p| p.may_borrow), Some(7));
    // The same tags reported again start nothing new.
    assert!(ils_requests(&k.handle(Event::Pad(tags))).is_empty());
    k.handle(Event::Done);
    assert_eq!(
        k.model().screen,
        Screen::Summary {
            activity: Activity::Borrow
        }
    );
    k.handle(Event::Done);
    let m = k.model();
    assert_eq!(m.screen, Screen::Welcome);
    assert!(m.patron.is_none() && m.items.is_empty() && m.messages.is_empty());
    assert!(!k.in_session());
}

#[test]
fn a_patron_card_on_the_pad_starts_a_loan() {
    let mut k = circ();
    k.handle(Event::Pad(vec![TagSeen {
        uid: "E0040100000000AA".into(),
        kind: TagKind::PatronCard {
            patron_id: PATRON.into(),
        },
    }]));
    assert!(matches!(
        k.model().screen,
        Screen::Pin {
            activity: Activity::Borrow,
            ..
        }
    ));
}

#[test]
fn pin_not_required_goes_straight_to_the_ils() {
    let mut k = english(Rules {
        require_pin: false,
        ..Rules::default()
    });
    k.handle(Event::Start(Activity::Borrow));
    let fx = k.handle(Event::Patron(PATRON.into()));
    let reqs = ils_requests(&fx);
    let [(req, IlsRequest::Patron { pin: None, .. })] = reqs.as_slice() else {
        panic!("one patron request without a PIN: {fx:?}");
    };
    // The card alone: no CQ is needed.
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Patron(PatronAnswer {
            pin_ok: None,
            ..patron_ok()
        }),
    });
    assert_eq!(k.model().screen, Screen::Borrow);
}

#[test]
fn wrong_pin_three_times_refuses() {
    let mut k = circ();
    k.handle(Event::Patron(PATRON.into()));
    let wrong_pin = |k: &mut Kiosk| {
        let fx = k.handle(Event::Pin("9999".into()));
        let (req, _) = ils_requests(&fx)[0].clone();
        k.handle(Event::Ils {
            req,
            answer: IlsAnswer::Patron(PatronAnswer {
                known: true,
                pin_ok: Some(false),
                ..PatronAnswer::default()
            }),
        });
        k.model()
    };
    for left in [2u8, 1] {
        let m = wrong_pin(&mut k);
        assert_eq!(
            m.screen,
            Screen::Pin {
                activity: Activity::Borrow,
                attempts_left: left
            }
        );
        assert_eq!(m.notice, Some(Reason::WrongPin));
    }
    let m = wrong_pin(&mut k);
    assert_eq!(
        m.screen,
        Screen::Refused {
            activity: Activity::Borrow
        }
    );
    assert_eq!(m.notice, Some(Reason::WrongPin));
    // Items put on the pad now are not lent.
    assert!(ils_requests(&k.handle(Event::Pad(vec![item_tag("E1", "31")]))).is_empty());
}

#[test]
fn blocked_patron_cannot_borrow() {
    let mut k = circ();
    identified(
        &mut k,
        PatronAnswer {
            blocked: true,
            messages: vec!["Your card is blocked.".into()],
            ..patron_ok()
        },
    );
    let m = assert_borrow_refused(&k, Reason::Blocked);
    assert!(m.messages.contains(&"Your card is blocked.".to_string()));
    assert!(ils_requests(&k.handle(Event::Pad(vec![item_tag("E1", "31")]))).is_empty());
}

#[test]
fn unknown_patron_is_refused() {
    let mut k = circ();
    identified(
        &mut k,
        PatronAnswer {
            known: false,
            pin_ok: None,
            ..PatronAnswer::default()
        },
    );
    assert_eq!(k.model().notice, Some(Reason::UnknownPatron));
}

#[test]
fn items_refused_by_their_tag_never_reach_the_ils() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let reference = TagSeen {
        uid: "E1".into(),
        kind: TagKind::Item {
            item_id: "reference".into(),
            circulating: false,
            owner: None,
            set: None,
            title: None,
        },
    };
    let foreign = TagSeen {
        uid: "E2".into(),
        kind: TagKind::Item {
            item_id: "foreign".into(),
            circulating: true,
            owner: Some("IT-RM0001".into()),
            set: None,
            title: None,
        },
    };
    let blank = TagSeen {
        uid: "E3".into(),
        kind: TagKind::Unreadable,
    };
    let fx = k.handle(Event::Pad(vec![reference, foreign, blank]));
    assert!(ils_requests(&fx).is_empty());
    let m = k.model();
    assert_eq!(
        line(&m, "reference").reason,
        Some(Reason::NotForCirculation)
    );
    assert_eq!(line(&m, "foreign").reason, Some(Reason::OtherLibrary));
    assert_eq!(line(&m, "uid:E3").reason, Some(Reason::UnreadableTag));
    assert!(m.items.iter().all(|i| i.state == ItemState::Refused));
}

fn part(uid: &str, no: u8) -> TagSeen {
    TagSeen {
        uid: uid.into(),
        kind: TagKind::Item {
            item_id: "cdbox".into(),
            circulating: true,
            owner: None,
            set: Some((3, no)),
            title: None,
        },
    }
}

#[test]
fn a_set_waits_for_all_its_parts_and_secures_each() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![part("P1", 1), part("P2", 2)]));
    assert!(ils_requests(&fx).is_empty(), "incomplete set not lent");
    let m = k.model();
    assert_eq!(line(&m, "cdbox").reason, Some(Reason::IncompleteSet));
    assert_eq!(line(&m, "cdbox").parts, Some((2, 3)));
    let fx = k.handle(Event::Pad(vec![
        part("P1", 1),
        part("P2", 2),
        part("P3", 3),
    ]));
    let reqs = ils_requests(&fx);
    assert_eq!(reqs.len(), 1, "one checkout for the whole set");
    let fx = k.handle(Event::Ils {
        req: reqs[0].0,
        answer: checkout_ok("Beethoven"),
    });
    let writes = security_writes(&fx);
    assert_eq!(writes.len(), 3, "every part's security");
    for (i, (uid, _)) in writes.iter().enumerate() {
        k.handle(Event::Security {
            uid: uid.clone(),
            outcome: SecurityOutcome::Verified,
        });
        let want = if i == 2 {
            ItemState::Done
        } else {
            ItemState::Securing
        };
        assert_eq!(line(&k.model(), "cdbox").state, want);
    }
}

#[test]
fn a_tag_lifted_during_the_security_write_must_come_back() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let tag = item_tag("E1", "31");
    let fx = k.handle(Event::Pad(vec![tag.clone()]));
    let (req, _) = ils_requests(&fx)[0].clone();
    let fx = k.handle(Event::Ils {
        req,
        answer: checkout_ok("Book"),
    });
    assert_eq!(security_writes(&fx).len(), 1);
    k.handle(Event::Security {
        uid: "E1".into(),
        outcome: SecurityOutcome::Gone,
    });
    let fx = k.handle(Event::Pad(Vec::new()));
    assert!(security_writes(&fx).is_empty());
    let m = k.model();
    assert_eq!(line(&m, "31").state, ItemState::PutBack);
    assert_eq!(line(&m, "31").reason, Some(Reason::Lifted));
    // Done is allowed, but the item is not done.
    // Put back: written again, no second checkout.
    let fx = k.handle(Event::Pad(vec![tag]));
    assert!(ils_requests(&fx).is_empty());
    assert_eq!(security_writes(&fx), [("E1".to_string(), false)]);
    k.handle(Event::Security {
        uid: "E1".into(),
        outcome: SecurityOutcome::Verified,
    });
    assert_eq!(line(&k.model(), "31").state, ItemState::Done);
}

#[test]
fn a_security_write_that_cannot_be_verified_is_retried_after_put_back() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let tag = item_tag("E1", "31");
    let fx = k.handle(Event::Pad(vec![tag.clone()]));
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Ils {
        req,
        answer: checkout_ok("Book"),
    });
    k.handle(Event::Security {
        uid: "E1".into(),
        outcome: SecurityOutcome::NotVerified("AFI read back 0xC2".into()),
    });
    let m = k.model();
    assert_eq!(line(&m, "31").state, ItemState::PutBack);
    assert_eq!(line(&m, "31").reason, Some(Reason::SecurityNotVerified));
    // Still on the pad: no blind retry loop.
    assert!(security_writes(&k.handle(Event::Pad(vec![tag.clone()]))).is_empty());
    k.handle(Event::Pad(Vec::new()));
    assert_eq!(
        security_writes(&k.handle(Event::Pad(vec![tag]))),
        [("E1".to_string(), false)]
    );
}

#[test]
fn lifted_while_the_ils_decides() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Pad(Vec::new()));
    assert_eq!(line(&k.model(), "31").state, ItemState::PutBack);
    let fx = k.handle(Event::Ils {
        req,
        answer: checkout_ok("Book"),
    });
    assert!(
        security_writes(&fx).is_empty(),
        "cannot write a tag not there"
    );
    assert_eq!(line(&k.model(), "31").reason, Some(Reason::Lifted));
}

#[test]
fn ils_refusal_shows_its_message() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let (req, _) = ils_requests(&fx)[0].clone();
    let fx = k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Checkout {
            desensitize: true,
            ok: false,
            offline: false,
            title: Some("Il nome della rosa".into()),
            due: None,
            messages: vec!["This item is reserved for another reader.".into()],
        },
    });
    assert!(security_writes(&fx).is_empty());
    let m = k.model();
    let l = line(&m, "31");
    assert_eq!(l.state, ItemState::Refused);
    assert_eq!(l.reason, Some(Reason::Ils));
    assert_eq!(
        l.message.as_deref(),
        Some("This item is reserved for another reader.")
    );
    assert_eq!(l.title, "Il nome della rosa");
}

#[test]
fn link_lost_mid_stack_goes_offline_for_the_rest() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31"), item_tag("E2", "32")]));
    let reqs = ils_requests(&fx);
    // First answered, second lost with the link.
    let fx = k.handle(Event::Ils {
        req: reqs[0].0,
        answer: checkout_ok("One"),
    });
    k.handle(Event::Security {
        uid: security_writes(&fx)[0].0.clone(),
        outcome: SecurityOutcome::Verified,
    });
    let fx = k.handle(Event::Ils {
        req: reqs[1].0,
        answer: IlsAnswer::Unavailable {
            journal: Some(7),
            maybe_sent: true,
        },
    });
    assert!(!k.model().online, "offline notice");
    let offline = ils_requests(&fx);
    let [
        (
            req,
            IlsRequest::Checkout {
                offline: true,
                journal: Some(7),
                ..
            },
        ),
    ] = offline.as_slice()
    else {
        panic!("the same journal row queued offline: {fx:?}");
    };
    let fx = k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Checkout {
            desensitize: true,
            ok: true,
            offline: true,
            title: None,
            due: Some("2026-12-19".into()),
            messages: Vec::new(),
        },
    });
    k.handle(Event::Security {
        uid: security_writes(&fx)[0].0.clone(),
        outcome: SecurityOutcome::Verified,
    });
    let m = k.model();
    assert_eq!(line(&m, "32").state, ItemState::DoneOffline);
    assert_eq!(line(&m, "32").due.as_deref(), Some("2026-12-19"));
    // A third item goes straight to the offline queue.
    let fx = k.handle(Event::Pad(vec![item_tag("E3", "33")]));
    assert!(matches!(
        ils_requests(&fx).as_slice(),
        [(
            _,
            IlsRequest::Checkout {
                offline: true,
                journal: None,
                ..
            }
        )]
    ));
    // And back online by itself.
    k.handle(Event::LinkChanged { online: true });
    let fx = k.handle(Event::Pad(vec![item_tag("E4", "34")]));
    assert!(matches!(
        ils_requests(&fx).as_slice(),
        [(_, IlsRequest::Checkout { offline: false, .. })]
    ));
}

#[test]
fn offline_rules_limit_and_refuse() {
    let mut k = circ();
    k.handle(Event::LinkChanged { online: false });
    identified(
        &mut k,
        PatronAnswer {
            offline: true,
            known: true,
            pin_ok: Some(true),
            queued_offline: 3,
            ..PatronAnswer::default()
        },
    );
    let m = k.model();
    assert_eq!(m.screen, Screen::Borrow);
    assert_eq!(m.patron.as_ref().and_then(|p| p.may_borrow), Some(2));
    assert_eq!(m.patron.as_ref().map(|p| p.display_name.as_str()), Some(""));
    let tags: Vec<TagSeen> = (0..3)
        .map(|i| item_tag(&format!("E{i}"), &format!("3{i}")))
        .collect();
    let fx = k.handle(Event::Pad(tags));
    assert_eq!(
        ils_requests(&fx).len(),
        2,
        "max 5 offline, 3 already queued"
    );
    assert_eq!(line(&k.model(), "32").reason, Some(Reason::OfflineRules));
}

#[test]
fn offline_refuses_blocked_fined_and_unknown_patrons() {
    for answer in [
        PatronAnswer {
            offline: true,
            known: false,
            pin_ok: Some(true),
            ..PatronAnswer::default()
        },
        PatronAnswer {
            offline: true,
            known: true,
            blocked: true,
            pin_ok: Some(true),
            ..PatronAnswer::default()
        },
        PatronAnswer {
            offline: true,
            known: true,
            fine_cents: 1001,
            pin_ok: Some(true),
            ..PatronAnswer::default()
        },
    ] {
        let mut k = circ();
        k.handle(Event::LinkChanged { online: false });
        identified(&mut k, answer.clone());
        assert_eq!(k.model().notice, Some(Reason::OfflineRules), "{answer:?}");
    }
}

#[test]
fn a_pin_the_ils_does_not_confirm_refuses_the_session() {
    // Online: the ILS left CQ out (it cannot verify PINs). Offline: no verifier is cached.
    for (offline, reason) in [
        (false, Reason::PinNotVerified),
        (true, Reason::NoOfflinePin),
    ] {
        let mut k = circ();
        if offline {
            k.handle(Event::LinkChanged { online: false });
        }
        identified(
            &mut k,
            PatronAnswer {
                offline,
                pin_ok: None,
                ..patron_ok()
            },
        );
        let m = assert_borrow_refused(&k, reason);
        assert!(m.patron.is_none(), "nothing of the account is shown");
        let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
        assert!(ils_requests(&fx).is_empty(), "never a checkout: {fx:?}");
    }
}

#[test]
fn account_needs_a_confirmed_pin_too() {
    let mut k = circ();
    k.handle(Event::Start(Activity::Account));
    identified(
        &mut k,
        PatronAnswer {
            pin_ok: None,
            ..patron_ok()
        },
    );
    let m = k.model();
    assert_eq!(m.notice, Some(Reason::PinNotVerified));
    assert!(m.loans.is_empty() && m.patron.is_none());
}

#[test]
fn offline_wrong_pin_from_the_cached_hash() {
    let mut k = circ();
    k.handle(Event::Patron(PATRON.into()));
    let fx = k.handle(Event::Pin("1".into()));
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Patron(PatronAnswer {
            offline: true,
            known: true,
            pin_ok: Some(false),
            ..PatronAnswer::default()
        }),
    });
    assert_eq!(k.model().notice, Some(Reason::WrongPin));
}

#[test]
fn unknown_outcome_refused_offline_goes_to_staff() {
    let mut k = circ();
    identified(
        &mut k,
        PatronAnswer {
            blocked: false,
            fine_cents: 5000, // too much to borrow offline
            ..patron_ok()
        },
    );
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let (req, _) = ils_requests(&fx)[0].clone();
    let fx = k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Unavailable {
            journal: Some(3),
            maybe_sent: true,
        },
    });
    assert!(matches!(
        ils_requests(&fx).as_slice(),
        [(_, IlsRequest::Abandon { journal: 3 })]
    ));
    assert_eq!(line(&k.model(), "31").reason, Some(Reason::Unknown));
}

#[test]
fn return_needs_no_patron_and_rearms_security() {
    let mut k = circ();
    k.handle(Event::Start(Activity::Return));
    assert_eq!(k.model().screen, Screen::Return);
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let reqs = ils_requests(&fx);
    assert!(matches!(
        reqs.as_slice(),
        [(_, IlsRequest::Checkin { offline: false, .. })]
    ));
    let fx = k.handle(Event::Ils {
        req: reqs[0].0,
        answer: IlsAnswer::Checkin {
            alert: None,
            ok: true,
            offline: false,
            title: Some("Book".into()),
            sort_bin: Some("Branch Nord".into()),
            messages: vec!["Returned".into()],
        },
    });
    assert_eq!(security_writes(&fx), [("E1".to_string(), true)]);
    k.handle(Event::Security {
        uid: "E1".into(),
        outcome: SecurityOutcome::Verified,
    });
    let m = k.model();
    assert_eq!(line(&m, "31").state, ItemState::Done);
    assert_eq!(line(&m, "31").sort_bin.as_deref(), Some("Branch Nord"));
    assert!(m.patron.is_none());
}

#[test]
fn a_return_with_an_alert_goes_on_the_desk_shelf_with_its_reason_and_bin() {
    for (alert_type, reason) in [
        ("01", Reason::DeskShelfHold),
        ("04", Reason::DeskShelfTransit),
        ("", Reason::DeskShelf),
    ] {
        let mut k = circ();
        k.handle(Event::Start(Activity::Return));
        let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
        let fx = k.handle(Event::Ils {
            req: ils_requests(&fx)[0].0,
            answer: IlsAnswer::Checkin {
                alert: Some(alert_type.into()),
                ok: true,
                offline: false,
                title: Some("Book".into()),
                sort_bin: Some("H".into()),
                messages: Vec::new(),
            },
        });
        // Still re-armed: it stays in the library.
        assert_eq!(security_writes(&fx), [("E1".to_string(), true)]);
        k.handle(Event::Security {
            uid: "E1".into(),
            outcome: SecurityOutcome::Verified,
        });
        let m = k.model();
        let l = line(&m, "31");
        assert_eq!(l.state, ItemState::Done);
        assert_eq!(l.reason, Some(reason), "{alert_type}");
        assert_eq!(l.sort_bin.as_deref(), Some("H"));
    }
}

#[test]
fn a_loan_the_ils_will_not_desensitize_keeps_its_security_and_goes_to_the_desk() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let fx = k.handle(Event::Ils {
        req: ils_requests(&fx)[0].0,
        answer: IlsAnswer::Checkout {
            desensitize: false,
            ok: true,
            offline: false,
            title: Some("Film".into()),
            due: Some("2026-12-26".into()),
            messages: Vec::new(),
        },
    });
    assert!(security_writes(&fx).is_empty(), "security left on: {fx:?}");
    let m = k.model();
    let l = line(&m, "31");
    assert_eq!(l.state, ItemState::Done);
    assert_eq!(l.reason, Some(Reason::SecurityAtDesk));
    assert_eq!(m.patron.as_ref().and_then(|p| p.may_borrow), Some(9));
    // Lifted and put back: still no write.
    k.handle(Event::Pad(Vec::new()));
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    assert!(security_writes(&fx).is_empty(), "{fx:?}");
    k.handle(Event::Done);
    assert_eq!(
        k.model().screen,
        Screen::Summary {
            activity: Activity::Borrow
        }
    );
}

#[test]
fn offline_loans_wait_for_a_clock_known_to_be_right_returns_do_not() {
    let mut k = circ();
    k.handle(Event::Clock {
        synchronised: false,
    });
    k.handle(Event::LinkChanged { online: false });
    identified(
        &mut k,
        PatronAnswer {
            offline: true,
            known: true,
            pin_ok: Some(true),
            ..PatronAnswer::default()
        },
    );
    assert_eq!(k.model().notice, Some(Reason::ClockUnsure));
    k.handle(Event::Done);
    // Online, then the link drops under a loan: not queued with an unsure date either.
    k.handle(Event::LinkChanged { online: true });
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let fx = k.handle(Event::Ils {
        req: ils_requests(&fx)[0].0,
        answer: IlsAnswer::Unavailable {
            journal: None,
            maybe_sent: false,
        },
    });
    assert!(ils_requests(&fx).is_empty(), "{fx:?}");
    assert_eq!(line(&k.model(), "31").reason, Some(Reason::ClockUnsure));
    k.handle(Event::Cancel);
    // Returns are taken (the shell marks them for staff).
    k.handle(Event::Start(Activity::Return));
    let fx = k.handle(Event::Pad(vec![item_tag("E2", "32")]));
    assert!(matches!(
        ils_requests(&fx).as_slice(),
        [(_, IlsRequest::Checkin { offline: true, .. })]
    ));
}

#[test]
fn the_kiosk_offers_only_what_the_ils_allows() {
    let mut k = circ();
    k.handle(Event::IlsServices(IlsServices {
        checkout: false,
        checkin: true,
    }));
    k.handle(Event::Start(Activity::Borrow));
    let m = k.model();
    assert_eq!(
        m.screen,
        Screen::Refused {
            activity: Activity::Borrow
        }
    );
    assert_eq!(m.notice, Some(Reason::NoLoansNow));
    k.handle(Event::Done);
    k.handle(Event::Start(Activity::Return));
    assert_eq!(k.model().screen, Screen::Return);
    k.handle(Event::Cancel);
    // Neither: out of order until the ILS allows one again.
    k.handle(Event::IlsServices(IlsServices {
        checkout: false,
        checkin: false,
    }));
    assert!(matches!(
        k.model().screen,
        Screen::OutOfOrder {
            fault: FaultKind::Ils,
            ..
        }
    ));
    k.handle(Event::Start(Activity::Return));
    assert!(!k.in_session());
    k.handle(Event::IlsServices(IlsServices::default()));
    assert_eq!(k.model().screen, Screen::Welcome);
    // Offline the ACS status says nothing: the offline rules apply.
    k.handle(Event::IlsServices(IlsServices {
        checkout: false,
        checkin: false,
    }));
    k.handle(Event::LinkChanged { online: false });
    k.handle(Event::Start(Activity::Return));
    assert_eq!(k.model().screen, Screen::Return);
}

#[test]
fn return_offline_is_queued() {
    let mut k = circ();
    k.handle(Event::LinkChanged { online: false });
    k.handle(Event::Start(Activity::Return));
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    assert!(matches!(
        ils_requests(&fx).as_slice(),
        [(_, IlsRequest::Checkin { offline: true, .. })]
    ));
}

fn account(k: &mut Kiosk) {
    k.handle(Event::Start(Activity::Account));
    identified(
        k,
        PatronAnswer {
            loans: vec![
                LoanLine {
                    item_id: "31".into(),
                    title: "One".into(),
                    due: Some("2026-11-01".into()),
                    overdue: true,
                    renewed: None,
                    message: None,
                },
                LoanLine {
                    item_id: "32".into(),
                    title: "Two".into(),
                    due: Some("2026-12-01".into()),
                    overdue: false,
                    renewed: None,
                    message: None,
                },
            ],
            ..patron_ok()
        },
    );
}

#[test]
fn renew_one() {
    let mut k = circ();
    account(&mut k);
    let m = k.model();
    assert_eq!(m.screen, Screen::Account);
    assert_eq!(m.loans.len(), 2);
    assert!(m.loans[0].overdue);
    assert!(ils_requests(&k.handle(Event::Renew("nope".into()))).is_empty());
    let fx = k.handle(Event::Renew("31".into()));
    let (req, r) = ils_requests(&fx)[0].clone();
    assert!(matches!(r, IlsRequest::Renew { ref item_id, .. } if item_id == "31"));
    k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Renew {
            ok: true,
            due: Some("2026-12-28".into()),
            messages: Vec::new(),
        },
    });
    let m = k.model();
    assert_eq!(m.loans[0].renewed, Some(true));
    assert_eq!(m.loans[0].due.as_deref(), Some("2026-12-28"));
    assert!(!m.loans[0].overdue);
}

#[test]
fn renew_all() {
    let mut k = circ();
    account(&mut k);
    let fx = k.handle(Event::RenewAll);
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Ils {
        req,
        answer: IlsAnswer::RenewAll {
            renewed: vec!["32".into()],
            unrenewed: vec!["31".into()],
            messages: vec!["1 renewed".into()],
        },
    });
    let m = k.model();
    assert_eq!(m.loans[0].renewed, Some(false));
    assert_eq!(m.loans[1].renewed, Some(true));
    // Account: done ends the session at once.
    k.handle(Event::Done);
    assert_eq!(k.model().screen, Screen::Welcome);
}

#[test]
fn idle_warning_then_timeout_forgets_the_patron() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    k.handle(Event::Idle(Duration::from_secs(44)));
    assert_eq!(k.model().idle_warning, None);
    k.handle(Event::Idle(Duration::from_secs(1)));
    assert_eq!(k.model().idle_warning, Some(15));
    k.handle(Event::Idle(Duration::from_secs(10)));
    assert_eq!(k.model().idle_warning, Some(5));
    k.handle(Event::Touch);
    assert_eq!(k.model().idle_warning, None);
    k.handle(Event::Idle(Duration::from_secs(60)));
    let m = k.model();
    assert_eq!(m.screen, Screen::Welcome);
    assert!(m.patron.is_none());
    assert!(!k.in_session());
    assert_eq!(k.requests_in_flight(), 0);
}

#[test]
fn done_waits_for_items_in_flight_and_late_answers_are_ignored() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Done);
    assert_eq!(k.model().screen, Screen::Borrow, "still working on an item");
    k.handle(Event::Cancel);
    let fx = k.handle(Event::Ils {
        req,
        answer: checkout_ok("late"),
    });
    assert!(
        fx.is_empty(),
        "an answer for a finished session does nothing"
    );
}

#[test]
fn out_of_order_screen() {
    let mut k = circ();
    k.handle(Event::OutOfOrder(Some(Fault::reader(
        "RFID reader not found",
    ))));
    assert_eq!(
        k.model().screen,
        Screen::OutOfOrder {
            fault: FaultKind::Reader,
            reason: "RFID reader not found".into()
        }
    );
    assert!(k.handle(Event::Start(Activity::Borrow)).is_empty());
    k.handle(Event::OutOfOrder(None));
    assert_eq!(k.model().screen, Screen::Welcome);
}

#[test]
fn the_model_serialises_to_plain_json() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let json = serde_json::to_value(k.model()).expect("json");
    assert_eq!(json["screen"], "borrow");
    assert_eq!(json["patron"]["display_name"], "Anna Verdi");
    let back: ScreenModel = serde_json::from_value(json).expect("round trip");
    assert_eq!(back, k.model());
}

#[test]
fn pin_requirement_comes_from_the_settings() {
    for (require, pin_screen) in [(true, true), (false, false)] {
        let mut s = crate::config::Settings::default();
        s.terminal.require_pin = require;
        s.terminal.pin_attempts = 2;
        let rules = Rules::from_settings(&s);
        assert_eq!(rules.require_pin, require);
        let mut k = Kiosk::with_rules(KioskConfig::from_settings(&s), rules);
        k.handle(Event::LinkChanged { online: true });
        k.handle(Event::Start(Activity::Borrow));
        let fx = k.handle(Event::Patron(PATRON.into()));
        if pin_screen {
            assert!(ils_requests(&fx).is_empty(), "nothing asked before the PIN");
            assert!(matches!(
                k.model().screen,
                Screen::Pin {
                    attempts_left: 2,
                    ..
                }
            ));
        } else {
            assert!(matches!(
                ils_requests(&fx).as_slice(),
                [(_, IlsRequest::Patron { pin: None, .. })]
            ));
            assert!(matches!(k.model().screen, Screen::Checking { .. }));
        }
    }
}

// ---- Scanned labels ----

const LABEL: &str = "31000000000019";

#[test]
fn a_scanned_card_identifies_and_a_scanned_label_is_lent_without_a_security_write() {
    let mut k = circ();
    // An item label at the welcome screen is not a patron.
    assert!(k.handle(Event::Scan(LABEL.into())).is_empty());
    assert!(!k.in_session());
    k.handle(Event::Scan(PATRON.into()));
    assert!(matches!(k.model().screen, Screen::Pin { .. }));
    let fx = k.handle(Event::Pin("0000".into()));
    let [(req, IlsRequest::Patron { patron_id, .. })] = &ils_requests(&fx)[..] else {
        panic!("one patron request: {fx:?}");
    };
    assert_eq!(patron_id, PATRON);
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Patron(patron_ok()),
    });
    assert_eq!(k.model().screen, Screen::Borrow);
    // The patron's card scanned again is not an item.
    assert!(ils_requests(&k.handle(Event::Scan(PATRON.into()))).is_empty());

    let fx = k.handle(Event::Scan(format!(" {LABEL}\r\n")));
    let [
        (
            req,
            IlsRequest::Checkout {
                item_id, offline, ..
            },
        ),
    ] = &ils_requests(&fx)[..]
    else {
        panic!("one checkout: {fx:?}");
    };
    assert_eq!(item_id, LABEL);
    assert!(!offline);
    assert_eq!(line(&k.model(), LABEL).state, ItemState::Working);
    // Scanned twice: one loan.
    assert!(ils_requests(&k.handle(Event::Scan(LABEL.into()))).is_empty());
    let fx = k.handle(Event::Ils {
        req: *req,
        answer: checkout_ok("Scanned"),
    });
    assert!(security_writes(&fx).is_empty(), "no tag, nothing to switch");
    let m = k.model();
    assert_eq!(line(&m, LABEL).state, ItemState::Done);
    assert_eq!(line(&m, LABEL).title, "Scanned");
    assert_eq!(m.patron.and_then(|p| p.may_borrow), Some(9));

    // Its tag turns up on the pad afterwards: the security is switched too.
    let fx = k.handle(Event::Pad(vec![item_tag("E0", LABEL)]));
    assert!(ils_requests(&fx).is_empty(), "not lent twice");
    assert_eq!(security_writes(&fx), [("E0".to_string(), false)]);
    k.handle(Event::Security {
        uid: "E0".into(),
        outcome: SecurityOutcome::Verified,
    });
    assert_eq!(line(&k.model(), LABEL).state, ItemState::Done);
    assert_eq!(k.model().done_count(), 1);
}

#[test]
fn a_scanned_label_is_returned_and_refusals_show() {
    let mut k = circ();
    k.handle(Event::Start(Activity::Return));
    let fx = k.handle(Event::Scan(LABEL.into()));
    let [(req, IlsRequest::Checkin { item_id, .. })] = &ils_requests(&fx)[..] else {
        panic!("one checkin: {fx:?}");
    };
    assert_eq!(item_id, LABEL);
    let fx = k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Checkin {
            alert: None,
            ok: true,
            offline: false,
            title: Some("Book".into()),
            sort_bin: Some("B2".into()),
            messages: Vec::new(),
        },
    });
    assert!(security_writes(&fx).is_empty());
    let m = k.model();
    assert_eq!(line(&m, LABEL).state, ItemState::Done);
    assert_eq!(line(&m, LABEL).sort_bin.as_deref(), Some("B2"));

    // A free identifier (a third-party library's own labels) goes to the ILS as scanned.
    let fx = k.handle(Event::Scan("BK-778".into()));
    let [(req, IlsRequest::Checkin { item_id, .. })] = &ils_requests(&fx)[..] else {
        panic!("one checkin: {fx:?}");
    };
    assert_eq!(item_id, "BK-778");
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Checkin {
            alert: None,
            ok: false,
            offline: false,
            title: None,
            sort_bin: None,
            messages: vec!["Unknown item".into()],
        },
    });
    let l = line(&k.model(), "BK-778").clone();
    assert_eq!(l.state, ItemState::Refused);
    assert_eq!(l.reason, Some(Reason::Ils));
}

#[test]
fn a_scanned_label_offline_follows_the_offline_rules() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    k.handle(Event::LinkChanged { online: false });
    let fx = k.handle(Event::Scan(LABEL.into()));
    assert!(matches!(
        &ils_requests(&fx)[..],
        [(_, IlsRequest::Checkout { offline: true, .. })]
    ));
    // Scans while the PIN is asked are ignored.
    let mut k = circ();
    k.handle(Event::Patron(PATRON.into()));
    assert!(k.handle(Event::Scan(LABEL.into())).is_empty());
}

#[test]
fn background_sync_progress_is_shown_without_disturbing_the_session() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    let m = shown(k.handle(Event::SyncProgress {
        done: 10,
        total: 400,
    }));
    assert_eq!(
        m.sync,
        Some(SyncLine {
            done: 10,
            total: 400
        })
    );
    assert_eq!(m.screen, Screen::Borrow, "the patron stays where they were");
    let fx = k.handle(Event::Pad(vec![item_tag("E1", "31")]));
    assert!(matches!(
        &ils_requests(&fx)[..],
        [(_, IlsRequest::Checkout { offline: false, .. })]
    ));
    let m = shown(k.handle(Event::SyncEnded));
    assert_eq!(m.sync, None);
    assert!(
        serde_json::to_value(&m)
            .expect("json")
            .get("sync")
            .is_none()
    );
}

// ---- Receipts on the summary ----

fn receipt_kiosk(receipt: ReceiptRules) -> Kiosk {
    let mut k = Kiosk::with_rules(
        KioskConfig {
            languages: vec![Language::English, Language::Italian],
            idle_timeout: Duration::from_secs(60),
        },
        Rules { receipt, ..rules() },
    );
    k.handle(Event::LinkChanged { online: true });
    k
}

/// One book lent, verified, and the summary up.
fn lent_one(k: &mut Kiosk, answer: PatronAnswer) {
    identified(k, answer);
    let fx = k.handle(Event::Pad(vec![item_tag(
        "E004010000000001",
        "31000000000011",
    )]));
    let (req, _) = ils_requests(&fx)[0].clone();
    let fx = k.handle(Event::Ils {
        req,
        answer: checkout_ok("Le città invisibili"),
    });
    let (uid, _) = security_writes(&fx)[0].clone();
    k.handle(Event::Security {
        uid,
        outcome: SecurityOutcome::Verified,
    });
    k.handle(Event::Done);
}

fn receipt_effects(
    effects: &[Effect],
) -> Vec<(ReceiptKind, ReceiptRequest, Option<ReceiptAddress>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Receipt {
                kind,
                receipt,
                address,
            } => Some((*kind, receipt.clone(), address.clone())),
            _ => None,
        })
        .collect()
}

const BOTH: ReceiptRules = ReceiptRules {
    print: true,
    email: true,
    typed_address: false,
};

#[test]
fn the_summary_offers_what_the_settings_and_the_ils_allow() {
    let mut k = receipt_kiosk(BOTH);
    lent_one(
        &mut k,
        PatronAnswer {
            email: Some("anna@example.org".into()),
            ..patron_ok()
        },
    );
    let line = k.model().receipt.expect("receipt choice on the summary");
    assert_eq!(line.offers, [ReceiptKind::Print, ReceiptKind::Email]);

    // No address from the ILS: print only.
    let mut k = receipt_kiosk(BOTH);
    lent_one(&mut k, patron_ok());
    assert_eq!(
        k.model().receipt.map(|r| r.offers),
        Some(vec![ReceiptKind::Print])
    );
    // ... unless the site lets the patron type one.
    let mut k = receipt_kiosk(ReceiptRules {
        typed_address: true,
        ..BOTH
    });
    lent_one(&mut k, patron_ok());
    let line = k.model().receipt.expect("offered");
    assert!(line.offers.contains(&ReceiptKind::Email) && line.typed_address);
    // Nothing configured: no choice at all.
    let mut k = receipt_kiosk(ReceiptRules::default());
    lent_one(&mut k, patron_ok());
    assert_eq!(k.model().receipt, None);
    assert!(
        receipt_effects(&k.handle(Event::Receipt {
            kind: Some(ReceiptKind::Print),
            address: None
        }))
        .is_empty()
    );
}

#[test]
fn print_then_email_gives_both_with_the_session_in_them() {
    let mut k = receipt_kiosk(BOTH);
    lent_one(
        &mut k,
        PatronAnswer {
            email: Some("anna@example.org".into()),
            ..patron_ok()
        },
    );
    let fx = k.handle(Event::Receipt {
        kind: Some(ReceiptKind::Print),
        address: None,
    });
    let found = receipt_effects(&fx);
    let [(ReceiptKind::Print, r, None)] = found.as_slice() else {
        panic!("one print: {fx:?}");
    };
    assert_eq!(r.patron_id.as_deref(), Some(PATRON));
    assert_eq!(r.activity, Activity::Borrow);
    assert_eq!(r.items.len(), 1);
    assert_eq!(r.items[0].title, "Le città invisibili");
    assert_eq!(r.items[0].due.as_deref(), Some("2026-12-26"));
    assert_eq!(r.holds_ready, ["Il nome della rosa"]);
    assert_eq!(
        k.model().receipt.and_then(|l| l.print),
        Some(ReceiptState::Working)
    );
    // Pressed again while printing: nothing more.
    assert!(
        receipt_effects(&k.handle(Event::Receipt {
            kind: Some(ReceiptKind::Print),
            address: None
        }))
        .is_empty()
    );
    k.handle(Event::ReceiptDone {
        kind: ReceiptKind::Print,
        state: ReceiptState::NoPaper,
    });
    assert_eq!(
        k.model().receipt.and_then(|l| l.print),
        Some(ReceiptState::NoPaper)
    );
    // Paper out: the patron may still have it mailed, the session goes on.
    let fx = k.handle(Event::Receipt {
        kind: Some(ReceiptKind::Email),
        address: Some("typed@example.org".into()),
    });
    let found = receipt_effects(&fx);
    let [(ReceiptKind::Email, _, Some(address))] = found.as_slice() else {
        panic!("one mail: {fx:?}");
    };
    assert_eq!(
        address,
        &ReceiptAddress::FromIls("anna@example.org".into()),
        "a typed address is not taken where the site does not allow it"
    );
    k.handle(Event::ReceiptDone {
        kind: ReceiptKind::Email,
        state: ReceiptState::Queued,
    });
    let line = k.model().receipt.expect("line");
    assert_eq!(line.email, Some(ReceiptState::Queued));
    assert!(matches!(k.model().screen, Screen::Summary { .. }));
    k.handle(Event::Receipt {
        kind: None,
        address: None,
    });
    assert!(k.model().receipt.is_some_and(|l| l.declined));
    k.handle(Event::Done);
    assert_eq!(k.model().screen, Screen::Welcome);
    assert_eq!(k.model().receipt, None);
}

#[test]
fn no_receipt_outside_the_summary() {
    let mut k = receipt_kiosk(BOTH);
    identified(&mut k, patron_ok());
    assert!(
        receipt_effects(&k.handle(Event::Receipt {
            kind: Some(ReceiptKind::Print),
            address: None
        }))
        .is_empty()
    );
    assert_eq!(k.model().receipt, None);
}

// ---- Holds on the account screen ----

fn hold(item: &str, ready: bool, pickup: &str) -> HoldLine {
    HoldLine {
        item_id: item.into(),
        title: format!("Title {item}"),
        ready,
        position: (!ready).then_some(1),
        pickup: pickup.into(),
        delivery: false,
        changed: None,
        queued: false,
        message: None,
    }
}

fn account_kiosk() -> Kiosk {
    let mut k = Kiosk::with_rules(
        KioskConfig {
            languages: vec![Language::English],
            idle_timeout: Duration::from_secs(60),
        },
        Rules {
            delivery: Some(DeliveryRules {
                pickup_location: "Home delivery".into(),
                fee: Some("€2.00".into()),
            }),
            pickup_locations: vec!["Central Library".into(), "Oltrarno Branch".into()],
            ..rules()
        },
    );
    k.handle(Event::LinkChanged { online: true });
    k.handle(Event::Start(Activity::Account));
    identified(
        &mut k,
        PatronAnswer {
            holds: vec![
                hold("31000000000101", true, "Central Library"),
                hold("31000000000102", false, "Central Library"),
            ],
            address: Some("Via Cavour 12, 50129 Firenze".into()),
            ..patron_ok()
        },
    );
    k
}

#[test]
fn holds_are_listed_and_cancelled() {
    let mut k = account_kiosk();
    let m = k.model();
    assert_eq!(m.screen, Screen::Account);
    assert_eq!(m.holds.len(), 2);
    assert_eq!(m.pickup_locations.len(), 2);
    assert!(m.delivery_offered);
    // Not the patron's hold: nothing is asked.
    assert!(ils_requests(&k.handle(Event::CancelHold("3199".into()))).is_empty());
    let fx = k.handle(Event::CancelHold("31000000000102".into()));
    let found = ils_requests(&fx);
    let [(req, IlsRequest::CancelHold { item_id, patron_id })] = found.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(
        (item_id.as_str(), patron_id.as_str()),
        ("31000000000102", PATRON)
    );
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Hold {
            ok: true,
            offline: false,
            pickup: None,
            messages: vec!["Your hold has been cancelled.".into()],
        },
    });
    let m = k.model();
    assert_eq!(m.holds.len(), 1);
    assert!(
        m.messages
            .contains(&"Your hold has been cancelled.".to_string())
    );
}

#[test]
fn a_hold_moves_to_another_pickup_and_a_refusal_is_shown() {
    let mut k = account_kiosk();
    let fx = k.handle(Event::MoveHold {
        item: "31000000000101".into(),
        location: "Oltrarno Branch".into(),
    });
    let found = ils_requests(&fx);
    let [
        (
            req,
            IlsRequest::MoveHold {
                location,
                delivery: false,
                offline: false,
                ..
            },
        ),
    ] = found.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(location, "Oltrarno Branch");
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Hold {
            ok: true,
            offline: false,
            pickup: Some("Oltrarno Branch".into()),
            messages: Vec::new(),
        },
    });
    assert_eq!(k.model().holds[0].pickup, "Oltrarno Branch");
    assert_eq!(k.model().holds[0].changed, Some(true));
    let fx = k.handle(Event::MoveHold {
        item: "31000000000102".into(),
        location: "Mars".into(),
    });
    let (req, _) = ils_requests(&fx)[0].clone();
    k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Hold {
            ok: false,
            offline: false,
            pickup: None,
            messages: vec!["\"Mars\" is not a pickup location.".into()],
        },
    });
    let h = k.model().holds[1].clone();
    assert_eq!(
        (h.changed, h.pickup.as_str()),
        (Some(false), "Central Library")
    );
    assert!(h.message.is_some_and(|m| m.contains("Mars")));
}

#[test]
fn delivery_shows_fee_and_masked_address_then_goes_and_prints_a_slip() {
    let mut k = account_kiosk();
    let fx = k.handle(Event::Deliver("31000000000101".into()));
    assert!(
        ils_requests(&fx).is_empty(),
        "nothing before the patron's yes"
    );
    let offer = k.model().delivery.expect("offer shown");
    assert_eq!(offer.fee.as_deref(), Some("€2.00"));
    assert_eq!(offer.address, "V** C***** 12, 50129 F******");
    // No: nothing asked, the offer goes.
    assert!(ils_requests(&k.handle(Event::ConfirmDelivery(false))).is_empty());
    assert_eq!(k.model().delivery, None);
    k.handle(Event::Deliver("31000000000101".into()));
    let fx = k.handle(Event::ConfirmDelivery(true));
    let found = ils_requests(&fx);
    let [
        (
            req,
            IlsRequest::MoveHold {
                location,
                delivery: true,
                offline: false,
                journal: None,
                ..
            },
        ),
    ] = found.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(location, "Home delivery");
    let fx = k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Hold {
            ok: true,
            offline: false,
            pickup: Some("Home delivery".into()),
            messages: Vec::new(),
        },
    });
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::DeliverySlip { item_id, address, .. }
            if item_id == "31000000000101" && address == "Via Cavour 12, 50129 Firenze"
    )));
    let h = k.model().holds[0].clone();
    assert!(h.delivery && !h.queued);
}

#[test]
fn a_delivery_without_an_answer_is_queued_for_the_sync() {
    let mut k = account_kiosk();
    k.handle(Event::Deliver("31000000000102".into()));
    let fx = k.handle(Event::ConfirmDelivery(true));
    let (req, _) = ils_requests(&fx)[0].clone();
    let fx = k.handle(Event::Ils {
        req,
        answer: IlsAnswer::Unavailable {
            journal: Some(7),
            maybe_sent: true,
        },
    });
    let found = ils_requests(&fx);
    let [
        (
            req,
            IlsRequest::MoveHold {
                offline: true,
                journal: Some(7),
                delivery: true,
                ..
            },
        ),
    ] = found.as_slice()
    else {
        panic!("queued with its row: {fx:?}");
    };
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Hold {
            ok: true,
            offline: true,
            pickup: Some("Home delivery".into()),
            messages: Vec::new(),
        },
    });
    let h = k.model().holds[1].clone();
    assert!(h.delivery && h.queued);
    // Cancelling offline is refused with a notice: only deliveries are queued.
    k.handle(Event::CancelHold("31000000000101".into()));
    assert_eq!(k.model().notice, Some(Reason::OfflineRules));
}

#[test]
fn addresses_are_masked_but_recognisable() {
    assert_eq!(
        holds::mask_address("Via Cavour 12, 50129 Firenze"),
        "V** C***** 12, 50129 F******"
    );
    assert_eq!(holds::mask_address("北京市 朝阳区"), "北** 朝**");
    assert_eq!(holds::mask_address(""), "");
}

// ---- Phone codes ----

const TOKEN: &str = "SC1:6BFOXN*TS0BI$ZD4N9";

fn token_checks(effects: &[Effect]) -> Vec<(u64, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CheckToken { req, token } => Some((*req, token.clone())),
            _ => None,
        })
        .collect()
}

/// A phone code scanned: the one check the core asks for.
fn scan_token(k: &mut Kiosk, text: &str) -> u64 {
    let fx = k.handle(Event::Scan(text.into()));
    let checks = token_checks(&fx);
    let [(req, token)] = checks.as_slice() else {
        panic!("one token check: {fx:?}");
    };
    assert_eq!(token, TOKEN, "sent as scanned, without the scanner's Enter");
    assert!(
        ils_requests(&fx).is_empty(),
        "no ILS request before the check"
    );
    assert!(matches!(k.model().screen, Screen::Checking { .. }));
    *req
}

#[test]
fn a_phone_code_at_the_welcome_screen_starts_a_loan_without_a_pin() {
    let mut k = circ();
    assert!(k.rules.require_pin, "cards need a PIN here");
    let req = scan_token(&mut k, &format!("{TOKEN}\r\n"));
    let fx = k.handle(Event::Token {
        req,
        outcome: TokenOutcome::Accepted {
            patron_id: PATRON.into(),
        },
    });
    let [(req, IlsRequest::Patron { patron_id, pin })] = &ils_requests(&fx)[..] else {
        panic!("the patron lookup: {fx:?}");
    };
    assert_eq!((patron_id.as_str(), pin), (PATRON, &None));
    // Online, the ILS still decides.
    let mut blocked = patron_ok();
    blocked.blocked = true;
    k.handle(Event::Ils {
        req: *req,
        answer: IlsAnswer::Patron(blocked),
    });
    assert_eq!(k.model().notice, Some(Reason::Blocked));
}

#[test]
fn with_phone_require_pin_the_pin_follows_the_code() {
    let mut k = english(Rules {
        require_pin: false,
        phone_require_pin: true,
        ..rules()
    });
    k.handle(Event::Start(Activity::Account));
    let req = scan_token(&mut k, TOKEN);
    k.handle(Event::Token {
        req,
        outcome: TokenOutcome::Accepted {
            patron_id: PATRON.into(),
        },
    });
    assert!(matches!(
        k.model().screen,
        Screen::Pin {
            activity: Activity::Account,
            ..
        }
    ));
    let fx = k.handle(Event::Pin("1234".into()));
    let [(_, IlsRequest::Patron { patron_id, pin })] = &ils_requests(&fx)[..] else {
        panic!("the patron lookup: {fx:?}");
    };
    assert_eq!((patron_id.as_str(), pin.as_deref()), (PATRON, Some("1234")));
}

#[test]
fn a_refused_code_says_why_and_a_card_still_works() {
    let mut k = circ();
    let req = scan_token(&mut k, TOKEN);
    let m = shown(k.handle(Event::Token {
        req,
        outcome: TokenOutcome::Refused(Reason::PhoneExpired),
    }));
    assert_eq!(
        m.screen,
        Screen::Identify {
            activity: Activity::Borrow
        }
    );
    assert_eq!(m.notice, Some(Reason::PhoneExpired));
    // The same check answered twice changes nothing.
    assert!(
        k.handle(Event::Token {
            req,
            outcome: TokenOutcome::Accepted {
                patron_id: PATRON.into()
            },
        })
        .is_empty()
    );
    // A card number shown as a barcode is a card: PIN rules apply.
    let m = shown(k.handle(Event::Scan(PATRON.into())));
    assert!(matches!(m.screen, Screen::Pin { .. }));
    assert_eq!(m.notice, None);
}

#[test]
fn a_phone_code_is_no_item_and_no_return() {
    let mut k = circ();
    identified(&mut k, patron_ok());
    assert_eq!(k.model().screen, Screen::Borrow);
    assert!(k.handle(Event::Scan(TOKEN.into())).is_empty());
    k.handle(Event::Cancel);
    k.handle(Event::Start(Activity::Return));
    assert!(k.handle(Event::Scan(TOKEN.into())).is_empty());
    k.handle(Event::Cancel);
    // A check answered after the session ended is for nobody.
    let req = scan_token(&mut k, TOKEN);
    k.handle(Event::Cancel);
    assert!(
        k.handle(Event::Token {
            req,
            outcome: TokenOutcome::Accepted {
                patron_id: PATRON.into()
            },
        })
        .is_empty()
    );
    assert!(!k.in_session());
    k.handle(Event::OutOfOrder(Some(Fault::reader("no reader"))));
    assert!(k.handle(Event::Scan(TOKEN.into())).is_empty());
}
