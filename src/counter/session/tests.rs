use super::*;
use crate::counter::ids::IdCheckDigit;
use crate::counter::settings::Bookseller;

const PATRON: &str = "21000000000015";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 20).expect("date")
}

fn config(counter: CounterSettings) -> SessionConfig {
    SessionConfig {
        counter: CounterSettings {
            id_range: Some("3199000000000-3199000009999".into()),
            id_check_digit: IdCheckDigit::Luhn,
            booksellers: vec![Bookseller {
                name: "anna".into(),
                pin_hash: crate::config::hash_pin("2468").expect("hash"),
            }],
            ..counter
        },
        require_pin: true,
        staff_pin_hash: String::new(),
        loan_days: 21,
    }
}

fn good() -> PatronFound {
    PatronFound {
        known: true,
        pin_ok: Some(true),
        standing: Standing {
            blocks: Vec::new(),
            overdue_items: Some(0),
            fines: Some(Cents(0)),
            tier_value: None,
        },
        charged: Vec::new(),
    }
}

fn book() -> BookData {
    StockBook {
        isbn13: "9788845292613".into(),
        title: "Il nome della rosa".into(),
        author: "Eco, Umberto".into(),
        publisher: "Bompiani".into(),
        year: "2020".into(),
        price: Cents(1400),
        currency: "EUR".into(),
    }
}

fn screen(effects: &[Effect]) -> &CounterModel {
    match effects.last() {
        Some(Effect::Show(m)) => m.as_ref(),
        other => panic!("no screen last: {other:?}"),
    }
}

/// The effects before the screen.
fn asks(effects: &[Effect]) -> &[Effect] {
    &effects[..effects.len() - 1]
}

/// A counter with anna logged in and the patron identified in good standing.
fn with_patron(counter: CounterSettings, found: PatronFound) -> Counter {
    let mut c = Counter::new(config(counter));
    c.handle(Event::Login {
        name: "anna".into(),
        pin: "2468".into(),
    });
    c.handle(Event::Patron(PATRON.into()));
    let out = c.handle(Event::Pin("1234".into()));
    assert_eq!(
        asks(&out),
        [Effect::AskPatron {
            patron_id: PATRON.into(),
            pin: Some("1234".into())
        }]
    );
    let out = c.handle(Event::PatronAnswer(Ok(found)));
    assert!(asks(&out).is_empty());
    c
}

/// Scan the book, find it in the stock, and give the records.
fn scan(c: &mut Counter, counts: PatronCounts) -> Vec<Effect> {
    let out = c.handle(Event::Isbn("978-88-452-9261-3".into()));
    assert_eq!(
        asks(&out),
        [Effect::LookUp {
            isbn13: "9788845292613".into()
        }]
    );
    let out = c.handle(Event::Stock(Ok(Some(book()))));
    assert_eq!(
        asks(&out),
        [Effect::Facts {
            patron_id: PATRON.into(),
            isbn13: "9788845292613".into()
        }]
    );
    c.handle(Event::Facts {
        counts,
        last_same_isbn: None,
        today: today(),
    })
}

#[test]
fn only_a_bookseller_with_their_pin_logs_in() {
    let mut c = Counter::new(config(CounterSettings::default()));
    let out = c.handle(Event::Patron(PATRON.into()));
    assert_eq!(screen(&out).screen, Screen::Login);
    assert!(asks(&out).is_empty());
    let out = c.handle(Event::Login {
        name: "anna".into(),
        pin: "1111".into(),
    });
    assert_eq!(screen(&out).screen, Screen::Login);
    assert_eq!(
        screen(&out).notice.as_ref().map(|n| n.code),
        Some("login_refused")
    );
    let out = c.handle(Event::Login {
        name: "bruno".into(),
        pin: "2468".into(),
    });
    assert_eq!(screen(&out).screen, Screen::Login);
    let out = c.handle(Event::Login {
        name: " anna ".into(),
        pin: "2468".into(),
    });
    assert_eq!(screen(&out).screen, Screen::Patron);
    assert_eq!(screen(&out).bookseller.as_deref(), Some("anna"));
    let out = c.handle(Event::Logout);
    assert_eq!(screen(&out).screen, Screen::Login);

    // Without a list, the staff PIN logs in as staff.
    let mut cfg = config(CounterSettings::default());
    cfg.counter.booksellers.clear();
    let mut c = Counter::new(cfg.clone());
    c.handle(Event::Login {
        name: String::new(),
        pin: "2468".into(),
    });
    assert_eq!(c.bookseller(), None, "no staff PIN set: nobody");
    cfg.staff_pin_hash = crate::config::hash_pin("9753").expect("hash");
    let mut c = Counter::new(cfg);
    c.handle(Event::Login {
        name: String::new(),
        pin: "9753".into(),
    });
    assert_eq!(c.bookseller(), Some("staff"));
}

#[test]
fn a_loan_from_scan_to_due_date_and_its_undo() {
    let mut c = with_patron(CounterSettings::default(), good());
    let out = scan(&mut c, PatronCounts::default());
    let m = screen(&out);
    assert_eq!(m.screen, Screen::Approved);
    assert_eq!(m.patron.as_deref(), Some("••••0015"));
    assert_eq!(m.book.as_ref().map(|b| b.price.as_str()), Some("14.00"));

    // Programming needs a blank tag on the pad.
    let out = c.handle(Event::Confirm);
    assert!(asks(&out).is_empty());
    assert_eq!(
        screen(&out).notice.as_ref().map(|n| n.code),
        Some("place_blank_tag")
    );
    c.handle(Event::Blank(Some("E004010000000001".into())));
    let out = c.handle(Event::Confirm);
    assert_eq!(asks(&out), [Effect::Reserve]);
    assert_eq!(screen(&out).screen, Screen::Working);
    // Nothing else is taken while the counter works.
    let out = c.handle(Event::Done);
    assert_eq!(screen(&out).screen, Screen::Working);
    let out = c.handle(Event::Reserved(Ok("31990000000007".into())));
    assert_eq!(
        asks(&out),
        [Effect::Program {
            uid: "E004010000000001".into(),
            item_id: "31990000000007".into()
        }]
    );
    let out = c.handle(Event::Marked(Ok(())));
    let due = NaiveDate::from_ymd_opt(2026, 6, 10).expect("date");
    assert_eq!(
        asks(&out),
        [Effect::Record(Box::new(NewLoan {
            book: book(),
            item_id: "31990000000007".into(),
            patron_id: PATRON.into(),
            bookseller: "anna".into(),
            due,
            today: today(),
        }))]
    );
    let out = c.handle(Event::Recorded(Ok(5)));
    let m = screen(&out);
    assert_eq!(m.screen, Screen::Lent);
    assert_eq!(m.loans.len(), 1);
    assert_eq!(m.loans[0].due, due);
    assert!(m.can_undo);
    assert_eq!(m.blank_tag, None, "the tag is the book's now");

    let out = c.handle(Event::Undo(None));
    assert_eq!(
        asks(&out),
        [Effect::Undo {
            purchase_id: 5,
            item_id: "31990000000007".into(),
            uid: Some("E004010000000001".into())
        }]
    );
    let out = c.handle(Event::Undone(Ok(())));
    let m = screen(&out);
    assert!(m.loans[0].undone);
    assert!(!m.can_undo);
    let out = c.handle(Event::Undo(None));
    assert!(asks(&out).is_empty(), "an undone loan is not undone twice");

    // The patron leaves: the next one may come.
    let out = c.handle(Event::Done);
    let m = screen(&out);
    assert_eq!((m.screen, m.patron.as_deref()), (Screen::Patron, None));
    assert!(m.loans.is_empty());
}

#[test]
fn each_refusal_names_its_rule() {
    let overdue = PatronFound {
        standing: Standing {
            overdue_items: Some(2),
            ..good().standing
        },
        ..good()
    };
    let mut c = with_patron(CounterSettings::default(), overdue);
    let out = scan(&mut c, PatronCounts::default());
    let m = screen(&out);
    assert_eq!(m.screen, Screen::Refused);
    let r = m.refusal.as_ref().expect("refusal");
    assert_eq!((r.code, r.key), ("overdue", "counter.no_overdue"));
    assert!(r.text.contains("2 overdue"), "{}", r.text);
    assert!(asks(&c.handle(Event::Confirm)).is_empty(), "no loan");

    let quota = CounterSettings {
        quota_per_month: Some(2),
        ..CounterSettings::default()
    };
    let mut c = with_patron(quota, good());
    let counts = PatronCounts {
        this_month: 2,
        this_year: 2,
        ..PatronCounts::default()
    };
    let out = scan(&mut c, counts);
    let r = screen(&out).refusal.clone().expect("refusal");
    assert_eq!(r.code, "quota_per_month");
    assert_eq!(r.detail, Refusal::QuotaPerMonth { limit: 2, used: 2 });

    // Counter books charged at the ILS count toward the quota at once, others do not.
    let at_once = CounterSettings {
        quota_at_once: Some(1),
        ..CounterSettings::default()
    };
    let found = PatronFound {
        charged: vec!["31000000000010".into()],
        ..good()
    };
    let mut c = with_patron(at_once.clone(), found);
    assert_eq!(
        screen(&scan(&mut c, PatronCounts::default())).screen,
        Screen::Approved
    );
    let counter_book =
        crate::counter::ids::IdRange::parse("3199000000000-3199000009999", IdCheckDigit::Luhn)
            .expect("range")
            .id_of(3199000000004)
            .expect("id");
    let found = PatronFound {
        charged: vec![counter_book],
        ..good()
    };
    let mut c = with_patron(at_once, found);
    let out = scan(&mut c, PatronCounts::default());
    assert_eq!(
        screen(&out).refusal.as_ref().map(|r| r.code),
        Some("quota_at_once")
    );
}

#[test]
fn the_patron_must_be_known_with_the_right_pin_and_the_ils_reachable() {
    for (answer, code) in [
        (Err("timed out".to_string()), "ils_unavailable"),
        (
            Ok(PatronFound {
                known: false,
                ..good()
            }),
            "patron_unknown",
        ),
        (
            Ok(PatronFound {
                pin_ok: Some(false),
                ..good()
            }),
            "pin_wrong",
        ),
        (
            Ok(PatronFound {
                pin_ok: None,
                ..good()
            }),
            "pin_unchecked",
        ),
    ] {
        let mut c = Counter::new(config(CounterSettings::default()));
        c.handle(Event::Login {
            name: "anna".into(),
            pin: "2468".into(),
        });
        c.handle(Event::Patron(PATRON.into()));
        c.handle(Event::Pin("1".into()));
        let out = c.handle(Event::PatronAnswer(answer));
        let m = screen(&out);
        assert_eq!(m.screen, Screen::Patron, "{code}");
        assert_eq!(m.notice.as_ref().map(|n| n.code), Some(code));
        assert_eq!(m.patron, None);
        let out = c.handle(Event::Isbn("9788845292613".into()));
        assert!(asks(&out).is_empty(), "no book without a patron");
    }
}

#[test]
fn a_book_missing_from_the_stock_is_typed() {
    let mut c = with_patron(CounterSettings::default(), good());
    let out = c.handle(Event::Isbn("97888452926".into()));
    assert_eq!(
        screen(&out).notice.as_ref().map(|n| n.code),
        Some("not_isbn")
    );
    assert_eq!(screen(&out).screen, Screen::Isbn);
    c.handle(Event::Isbn("8845292614".into()));
    let out = c.handle(Event::Stock(Ok(None)));
    assert_eq!(screen(&out).screen, Screen::BookData);
    let typed = |price: &str| TypedBook {
        title: "Il nome della rosa".into(),
        price: price.into(),
        ..TypedBook::default()
    };
    let out = c.handle(Event::Typed(typed("cheap")));
    assert_eq!(
        screen(&out).notice.as_ref().map(|n| n.code),
        Some("bad_price")
    );
    assert_eq!(screen(&out).screen, Screen::BookData);
    let out = c.handle(Event::Typed(typed("14")));
    assert!(matches!(asks(&out), [Effect::Facts { isbn13, .. }] if isbn13 == "9788845292613"));
    let out = c.handle(Event::Facts {
        counts: PatronCounts::default(),
        last_same_isbn: None,
        today: today(),
    });
    let m = screen(&out);
    assert_eq!(m.screen, Screen::Approved);
    let b = m.book.as_ref().expect("book");
    assert_eq!((b.price.as_str(), b.currency.as_str()), ("14.00", "EUR"));
}

#[test]
fn a_tag_that_does_not_verify_costs_an_id_not_a_loan() {
    let mut c = with_patron(CounterSettings::default(), good());
    scan(&mut c, PatronCounts::default());
    c.handle(Event::Blank(Some("E004010000000001".into())));
    c.handle(Event::Confirm);
    c.handle(Event::Reserved(Ok("31990000000007".into())));
    let out = c.handle(Event::Marked(Err("read back differs".into())));
    assert!(asks(&out).is_empty(), "nothing recorded");
    let m = screen(&out);
    assert_eq!(m.screen, Screen::Approved);
    assert_eq!(m.notice.as_ref().map(|n| n.code), Some("tag_not_verified"));
    // Again: a new id.
    assert_eq!(asks(&c.handle(Event::Confirm)), [Effect::Reserve]);
    let out = c.handle(Event::Reserved(Err("every item id has been used".into())));
    let m = screen(&out);
    assert_eq!(m.notice.as_ref().map(|n| n.code), Some("no_item_id"));
    assert_eq!(m.screen, Screen::Isbn);
}

#[test]
fn without_a_writer_the_book_gets_a_label() {
    let labels = CounterSettings {
        program_tags: false,
        ..CounterSettings::default()
    };
    let mut c = with_patron(labels, good());
    scan(&mut c, PatronCounts::default());
    assert_eq!(asks(&c.handle(Event::Confirm)), [Effect::Reserve]);
    let out = c.handle(Event::Reserved(Ok("31990000000007".into())));
    assert_eq!(
        asks(&out),
        [Effect::Label {
            item_id: "31990000000007".into(),
            title: "Il nome della rosa".into()
        }]
    );
}

#[test]
fn no_pin_asked_when_the_site_does_not_require_one() {
    let mut cfg = config(CounterSettings::default());
    cfg.require_pin = false;
    let mut c = Counter::new(cfg);
    c.handle(Event::Login {
        name: "anna".into(),
        pin: "2468".into(),
    });
    let out = c.handle(Event::Patron(PATRON.into()));
    assert_eq!(
        asks(&out),
        [Effect::AskPatron {
            patron_id: PATRON.into(),
            pin: None
        }]
    );
    let out = c.handle(Event::PatronAnswer(Ok(PatronFound {
        pin_ok: None,
        ..good()
    })));
    assert_eq!(screen(&out).screen, Screen::Isbn);
}
