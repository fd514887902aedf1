use super::*;

#[test]
fn masking_keeps_the_last_four() {
    assert_eq!(mask_patron("21000000004821"), "••••4821");
    assert_eq!(mask_patron(" 12345 "), "••••2345");
    assert_eq!(mask_patron("4821"), "••••");
    assert_eq!(mask_patron("王芳12345"), "••••2345");
    assert_eq!(mask_patron(""), "");
}

#[test]
fn staff_cards() {
    let mut s = Settings::default();
    assert!(!s.staff.has_card("S-1"));
    s.staff.cards = vec!["S-1".into(), "E004015012345678".into()];
    assert!(s.staff.has_card("S-1"));
    assert!(s.staff.has_card(" E004015012345678\n"));
    assert!(!s.staff.has_card("S-2"));
    assert!(!s.staff.has_card(""));
}

#[test]
fn pin_lockout_after_five_wrong() {
    let mut g = PinGuard::default();
    let t0 = Instant::now();
    for left in (1..5).rev() {
        assert_eq!(g.failed(t0), PinOutcome::TriesLeft(left));
    }
    assert_eq!(g.failed(t0), PinOutcome::Locked(PIN_LOCKOUT));
    assert_eq!(g.locked_for(t0), Some(PIN_LOCKOUT));
    let later = t0 + PIN_LOCKOUT;
    assert_eq!(g.locked_for(later), None);
    assert_eq!(g.failed(later), PinOutcome::TriesLeft(4));
    g.succeeded();
    assert_eq!(g.failed(later), PinOutcome::TriesLeft(4));
}

#[test]
fn queue_counts_by_state() {
    let counts = [
        ("pending".to_string(), 1),
        ("queued".to_string(), 4),
        ("conflict".to_string(), 2),
        ("done".to_string(), 9),
    ];
    assert_eq!(queue_counts(&counts), (5, 2));
    assert_eq!(queue_counts(&[]), (0, 0));
}

#[test]
fn link_lines_for_staff() {
    let mut s = Settings::default();
    let acs = crate::sip2::AcsStatus {
        online_status: true,
        institution_id: "DEMO".into(),
        ..Default::default()
    };
    let online = LinkState::Online {
        acs: Box::new(acs.clone()),
    };
    let now = SystemTime::now();
    let line = describe_link(&online, &s, now);
    assert!(line.ok());
    assert_eq!(
        line,
        LinkLine {
            server: Server::Demo,
            now: LinkNow::Connected("DEMO".into()),
        }
    );
    s.ils.server = "ils.example.org:6001".into();
    s.ils.tls = true;
    let offline = LinkState::Offline {
        since: now - Duration::from_secs(90),
        reason: "connection refused".into(),
    };
    let line = describe_link(&offline, &s, now);
    assert!(!line.ok());
    assert_eq!(
        line,
        LinkLine {
            server: Server::Tls("ils.example.org:6001".into()),
            now: LinkNow::Offline {
                secs: 90,
                reason: "connection refused".into(),
            },
        }
    );
    s.ils.tls = false;
    let line = describe_link(&LinkState::Connecting, &s, now);
    assert!(!line.ok());
    assert_eq!(line.server, Server::PlainTcp("ils.example.org:6001".into()));
    assert_eq!(line.now, LinkNow::Connecting);

    let answer = describe_status_answer(&Message::AcsStatus(acs), Duration::from_millis(42));
    assert!(answer.ok());
    assert_eq!(
        answer,
        StatusAnswer::Acs {
            ms: 42,
            online: true,
            checkout: false,
            checkin: false,
            renewal: false,
            institution: "DEMO".into(),
        }
    );
    let answer = describe_status_answer(
        &Message::ScStatus(ScStatus::default()),
        Duration::from_millis(3),
    );
    assert!(!answer.ok());
    assert_eq!(answer, StatusAnswer::Unexpected { id: "99", ms: 3 });
}

#[test]
fn tag_rows() {
    let uid = crate::rfid::tag::parse_uid("E004015000000001").expect("uid");
    let record = crate::rfid::ItemRecord::new(
        crate::rfid::DataModel::Iso28560_2,
        crate::rfid::TypeOfUsage::Circulating,
        "CN-2024-000871",
    );
    let row = tag_row(&LibraryTag {
        uid,
        afi: Some(0xC2),
        dsfid: Some(0x06),
        eas: Some(false),
        data: TagData::Decoded(record),
    });
    assert_eq!(row.uid, "E004015000000001");
    assert_eq!(row.item_id, "CN-2024-000871");
    assert_eq!(row.afi, "C2");
    assert_eq!(row.eas, "off");
    assert_eq!(row.data, "decoded");
    assert_eq!(row.model, "ISO 28560-2");
    let blank = tag_row(&LibraryTag {
        uid,
        afi: None,
        dsfid: None,
        eas: None,
        data: TagData::Blank,
    });
    assert_eq!((blank.afi.as_str(), blank.eas.as_str()), ("–", ""));
    assert_eq!((blank.data.as_str(), blank.model.as_str()), ("blank", ""));
    let unreadable = tag_row(&LibraryTag {
        uid,
        afi: Some(0x07),
        dsfid: None,
        eas: Some(true),
        data: TagData::Unreadable {
            reason: "CRC error".into(),
        },
    });
    assert_eq!(unreadable.eas, "on");
    assert_eq!(unreadable.item_id, "CRC error");
    assert_eq!(unreadable.data, "unreadable");
}

#[test]
fn whole_seconds_round_up() {
    assert_eq!(whole_seconds(Duration::from_millis(59_001)), 60);
    assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
}
