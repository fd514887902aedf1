//! Wire-level tests of the whole codec: exact bytes per message, real server strings, framing
//! errors, and property tests.

use chrono::NaiveDate;

use super::*;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<SipDateTime> {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .map(SipDateTime::local)
}

fn now() -> Option<SipDateTime> {
    at(2026, 11, 28, 10, 15, 0)
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn wire(message: &Message, seq: Option<u8>) -> String {
    let seq = seq.and_then(Sequence::new);
    let encoded = encode(message, Charset::Utf8, seq).expect("encodes");
    assert_eq!(encoded.replaced, 0);
    String::from_utf8(encoded.bytes).expect("utf-8")
}

/// Encodes to exactly `expected` (CR added here) and decodes back to the same value.
fn exact(message: Message, seq: Option<u8>, expected: &str) {
    let got = wire(&message, seq);
    assert_eq!(got, format!("{expected}\r"), "{}", message.id());
    let decoded = decode(got.as_bytes(), Charset::Utf8).expect("decodes");
    assert_eq!(decoded.message, message);
    if !matches!(message, Message::RequestResend | Message::RequestScResend) {
        assert_eq!(decoded.sequence, seq.and_then(Sequence::new));
    }
    assert_eq!(decoded.checksum.is_some(), seq.is_some());
}

fn dec(wire: &str) -> Message {
    decode(wire.as_bytes(), Charset::Utf8)
        .unwrap_or_else(|e| panic!("{wire:?}: {e}"))
        .message
}

#[test]
fn reference_checksum_examples_are_reproduced() {
    exact(
        Message::Login(Login {
            login_user_id: s("kiosk01"),
            login_password: s("secret"),
            location_code: Some(s("LOBBY")),
            ..Default::default()
        }),
        Some(0),
        "9300CNkiosk01|COsecret|CPLOBBY|AY0AZF425",
    );
    exact(
        Message::ScStatus(ScStatus {
            status_code: ScStatusCode::Ok,
            max_print_width: 30,
            protocol_version: s("2.00"),
            extra: vec![],
        }),
        Some(1),
        "9900302.00AY1AZFCA5",
    );
    exact(
        Message::Checkout(Checkout {
            sc_renewal_policy: true,
            no_block: false,
            transaction_date: now(),
            nb_due_date: None,
            institution_id: s("HZLIB"),
            patron_id: s("21234000012345"),
            item_id: s("31234000987654"),
            terminal_password: s(""),
            fee_acknowledged: Some(false),
            ..Default::default()
        }),
        Some(2),
        "11YN20261128    101500                  AOHZLIB|AA21234000012345|AB31234000987654|AC|BON|AY2AZEBA7",
    );
    exact(Message::RequestResend, Some(5), "97AZFEF5");
    exact(Message::RequestScResend, Some(5), "96AZFEF6");
    exact(Message::RequestResend, None, "97");
}

#[test]
fn login_and_status_messages() {
    exact(
        Message::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![],
        }),
        None,
        "941",
    );
    exact(
        Message::LoginResponse(LoginResponse {
            ok: false,
            extra: vec![],
        }),
        None,
        "940",
    );
    exact(
        Message::AcsStatus(AcsStatus {
            online_status: true,
            checkin_ok: true,
            checkout_ok: true,
            acs_renewal_policy: true,
            status_update_ok: false,
            offline_ok: true,
            timeout_period: 30,
            retries_allowed: 3,
            date_time_sync: now(),
            protocol_version: s("2.00"),
            institution_id: s("HZLIB"),
            library_name: Some(s("Central")),
            supported_messages: Some(SupportedMessages {
                patron_status_request: true,
                checkout: true,
                checkin: true,
                sc_acs_status: true,
                login: true,
                patron_information: true,
                renew: true,
                ..Default::default()
            }),
            terminal_location: Some(s("Lobby")),
            screen_messages: vec![s("Welcome")],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "98YYYYNY03000320261128    1015002.00AOHZLIB|AMCentral|BXYYYNYNYYNNNNNNYN|ANLobby|AFWelcome|",
    );
}

#[test]
fn patron_messages() {
    exact(
        Message::PatronStatusRequest(PatronStatusRequest {
            language: Language::ENGLISH,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            terminal_password: s(""),
            patron_password: s("1234"),
            extra: vec![],
        }),
        None,
        "2300120261128    101500AOHZLIB|AAP1|AC|AD1234|",
    );
    exact(
        Message::PatronStatusResponse(PatronStatusResponse {
            patron_status: PatronStatus {
                card_reported_lost: true,
                ..Default::default()
            },
            language: Language::ENGLISH,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            personal_name: s("Ada Lovelace"),
            valid_patron: Some(true),
            valid_patron_password: Some(false),
            currency_type: Some(s("EUR")),
            fee_amount: Some(s("1.50")),
            screen_messages: vec![s("Card lost"), s("See staff")],
            print_lines: vec![s("line")],
            extra: vec![],
        }),
        None,
        "24    Y         00120261128    101500AOHZLIB|AAP1|AEAda Lovelace|BLY|CQN|BHEUR|BV1.50|AFCard lost|AFSee staff|AGline|",
    );
    exact(
        Message::PatronInformation(PatronInformation {
            language: Language::ITALIAN,
            transaction_date: now(),
            summary: Summary {
                charged_items: true,
                ..Default::default()
            },
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            terminal_password: Some(s("")),
            patron_password: Some(s("1234")),
            start_item: Some(1),
            end_item: Some(5),
            extra: vec![],
        }),
        None,
        "6300420261128    101500  Y       AOHZLIB|AAP1|AC|AD1234|BP1|BQ5|",
    );
    exact(
        Message::PatronInformationResponse(PatronInformationResponse {
            patron_status: PatronStatus::default(),
            language: Language::ENGLISH,
            transaction_date: now(),
            hold_items_count: Some(1),
            overdue_items_count: Some(0),
            charged_items_count: Some(2),
            fine_items_count: Some(0),
            recall_items_count: None,
            unavailable_holds_count: Some(1),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            personal_name: s("Ada"),
            hold_items_limit: Some(5),
            overdue_items_limit: None,
            charged_items_limit: Some(10),
            valid_patron: Some(true),
            valid_patron_password: Some(true),
            currency_type: None,
            fee_amount: None,
            fee_limit: Some(s("20.00")),
            hold_items: vec![s("H1")],
            overdue_items: vec![],
            charged_items: vec![s("I1"), s("I2")],
            fine_items: vec![],
            recall_items: vec![],
            unavailable_hold_items: vec![s("U1")],
            home_address: Some(s("1 Road")),
            email_address: Some(s("ada@example.org")),
            home_phone_number: None,
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "64              00120261128    1015000001000000020000    0001AOHZLIB|AAP1|AEAda|BZ0005|CB0010|BLY|CQY|CC20.00|ASH1|AUI1|AUI2|CDU1|BD1 Road|BEada@example.org|",
    );
    exact(
        Message::PatronEnable(PatronEnable {
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            terminal_password: None,
            patron_password: Some(s("9")),
            extra: vec![],
        }),
        None,
        "2520261128    101500AOHZLIB|AAP1|AD9|",
    );
    exact(
        Message::PatronEnableResponse(PatronEnableResponse {
            patron_status: PatronStatus::default(),
            language: Language::UNKNOWN,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            personal_name: s("Ada"),
            valid_patron: Some(true),
            valid_patron_password: None,
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "26              00020261128    101500AOHZLIB|AAP1|AEAda|BLY|",
    );
    exact(
        Message::BlockPatron(BlockPatron {
            card_retained: true,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            blocked_card_message: s("Card kept"),
            patron_id: s("P1"),
            terminal_password: s(""),
            extra: vec![],
        }),
        None,
        "01Y20261128    101500AOHZLIB|ALCard kept|AAP1|AC|",
    );
    exact(
        Message::EndPatronSession(EndPatronSession {
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            terminal_password: Some(s("t")),
            patron_password: None,
            extra: vec![],
        }),
        Some(9),
        "3520261128    101500AOHZLIB|AAP1|ACt|AY9AZF575",
    );
    exact(
        Message::EndSessionResponse(EndSessionResponse {
            end_session: true,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            screen_messages: vec![s("Goodbye")],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "36Y20261128    101500AOHZLIB|AAP1|AFGoodbye|",
    );
}

#[test]
fn circulation_messages() {
    exact(
        Message::CheckoutResponse(CheckoutResponse {
            ok: true,
            renewal_ok: false,
            magnetic_media: YesNoUnknown::No,
            desensitize: YesNoUnknown::Yes,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            item_id: s("I1"),
            title_id: s("Il nome della rosa"),
            due_date: s("20261219    235900"),
            fee_type: Some(FeeType::Rental),
            security_inhibit: Some(false),
            currency_type: Some(s("EUR")),
            fee_amount: Some(s("0.50")),
            media_type: Some(MediaType::Book),
            item_properties: None,
            transaction_id: Some(s("T9")),
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "121NNY20261128    101500AOHZLIB|AAP1|ABI1|AJIl nome della rosa|AH20261219    235900|BT06|CIN|BHEUR|BV0.50|CK001|BKT9|",
    );
    exact(
        Message::RenewResponse(RenewResponse {
            ok: false,
            renewal_ok: false,
            magnetic_media: YesNoUnknown::Unknown,
            desensitize: YesNoUnknown::Unknown,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            item_id: s("I1"),
            title_id: s("T"),
            due_date: s(""),
            screen_messages: vec![s("Item on hold")],
            ..Default::default()
        }),
        None,
        "300NUU20261128    101500AOHZLIB|AAP1|ABI1|AJT|AH|AFItem on hold|",
    );
    exact(
        Message::Checkin(Checkin {
            no_block: false,
            transaction_date: now(),
            return_date: now(),
            current_location: s("Lobby"),
            institution_id: s("HZLIB"),
            item_id: s("I1"),
            terminal_password: s(""),
            item_properties: None,
            cancel: Some(false),
            extra: vec![],
        }),
        None,
        "09N20261128    10150020261128    101500APLobby|AOHZLIB|ABI1|AC|BIN|",
    );
    exact(
        Message::CheckinResponse(CheckinResponse {
            ok: true,
            resensitize: true,
            magnetic_media: YesNoUnknown::No,
            alert: true,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            item_id: s("I1"),
            permanent_location: s("Main"),
            title_id: Some(s("T")),
            sort_bin: Some(s("B2")),
            patron_id: None,
            media_type: None,
            item_properties: None,
            collection_code: Some(s("FIC")),
            call_number: Some(s("853 ECO")),
            destination_location: Some(s("Branch")),
            alert_type: Some(s("04")),
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "101YNY20261128    101500AOHZLIB|ABI1|AQMain|AJT|CLB2|CRFIC|CS853 ECO|CTBranch|CV04|",
    );
    exact(
        Message::Renew(Renew {
            third_party_allowed: false,
            no_block: true,
            transaction_date: now(),
            nb_due_date: at(2026, 12, 19, 23, 59, 0),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            patron_password: None,
            item_id: Some(s("I1")),
            title_id: None,
            terminal_password: Some(s("")),
            item_properties: None,
            fee_acknowledged: None,
            extra: vec![],
        }),
        None,
        "29NY20261128    10150020261219    235900AOHZLIB|AAP1|ABI1|AC|",
    );
    exact(
        Message::RenewAll(RenewAll {
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            patron_password: Some(s("1234")),
            terminal_password: None,
            fee_acknowledged: Some(true),
            extra: vec![],
        }),
        None,
        "6520261128    101500AOHZLIB|AAP1|AD1234|BOY|",
    );
    exact(
        Message::RenewAllResponse(RenewAllResponse {
            ok: true,
            renewed_count: 2,
            unrenewed_count: 1,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            renewed_items: vec![s("I1"), s("I2")],
            unrenewed_items: vec![s("I3")],
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "6610002000120261128    101500AOHZLIB|BMI1|BMI2|BNI3|",
    );
}

#[test]
fn item_fee_and_hold_messages() {
    exact(
        Message::ItemInformation(ItemInformation {
            transaction_date: now(),
            institution_id: s("HZLIB"),
            item_id: s("I1"),
            terminal_password: None,
            extra: vec![],
        }),
        None,
        "1720261128    101500AOHZLIB|ABI1|",
    );
    exact(
        Message::ItemInformationResponse(ItemInformationResponse {
            circulation_status: CirculationStatus::Charged,
            security_marker: SecurityMarker::TattleTape,
            fee_type: FeeType::Unspecified,
            transaction_date: now(),
            hold_queue_length: Some(2),
            due_date: Some(s("20261219    235900")),
            recall_date: None,
            hold_pickup_date: None,
            item_id: s("I1"),
            title_id: s("红楼梦"),
            owner: Some(s("HZLIB")),
            currency_type: None,
            fee_amount: None,
            media_type: Some(MediaType::BookWithCd),
            permanent_location: Some(s("Main")),
            current_location: None,
            item_properties: None,
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "1804020120261128    101500CF2|AH20261219    235900|ABI1|AJ红楼梦|BGHZLIB|CK009|AQMain|",
    );
    exact(
        Message::ItemStatusUpdate(ItemStatusUpdate {
            transaction_date: now(),
            institution_id: s("HZLIB"),
            item_id: s("I1"),
            terminal_password: None,
            item_properties: s("3 discs"),
            extra: vec![],
        }),
        None,
        "1920261128    101500AOHZLIB|ABI1|CH3 discs|",
    );
    exact(
        Message::ItemStatusUpdateResponse(ItemStatusUpdateResponse {
            item_properties_ok: true,
            transaction_date: now(),
            item_id: s("I1"),
            title_id: None,
            item_properties: Some(s("3 discs")),
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "20120261128    101500ABI1|CH3 discs|",
    );
    exact(
        Message::FeePaid(FeePaid {
            transaction_date: now(),
            fee_type: FeeType::Overdue,
            payment_type: PaymentType::CreditCard,
            currency_type: s("EUR"),
            fee_amount: s("2.50"),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            terminal_password: None,
            patron_password: None,
            fee_id: Some(s("F7")),
            transaction_id: Some(s("T1")),
            extra: vec![],
        }),
        None,
        "3720261128    1015000402EURBV2.50|AOHZLIB|AAP1|CGF7|BKT1|",
    );
    exact(
        Message::FeePaidResponse(FeePaidResponse {
            payment_accepted: true,
            transaction_date: now(),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            transaction_id: Some(s("T1")),
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "38Y20261128    101500AOHZLIB|AAP1|BKT1|",
    );
    exact(
        Message::Hold(Hold {
            hold_mode: HoldMode::Add,
            transaction_date: now(),
            expiration_date: Some(s("20270101    000000")),
            pickup_location: Some(s("Main")),
            hold_type: Some(HoldType::AnyCopyOfTitle),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            patron_password: None,
            item_id: None,
            title_id: Some(s("T")),
            terminal_password: None,
            fee_acknowledged: Some(true),
            extra: vec![],
        }),
        None,
        "15+20261128    101500BW20270101    000000|BSMain|BY2|AOHZLIB|AAP1|AJT|BOY|",
    );
    exact(
        Message::HoldResponse(HoldResponse {
            ok: true,
            available: false,
            transaction_date: now(),
            expiration_date: None,
            queue_position: Some(3),
            pickup_location: Some(s("Main")),
            institution_id: s("HZLIB"),
            patron_id: s("P1"),
            item_id: None,
            title_id: Some(s("T")),
            screen_messages: vec![],
            print_lines: vec![],
            extra: vec![],
        }),
        None,
        "161N20261128    101500BR3|BSMain|AOHZLIB|AAP1|AJT|",
    );
}

#[test]
fn koha_style_checkout_response_reordered_with_extras() {
    // Koha puts CK, AH and fee fields in its own order, adds CT/CV style extensions and
    // leaves AY/AZ lower-case.
    let body = "120NUN20261128    101500AOHZLIB|AA21234000012345|AB31234000987654|AJPerl Best Practices|CK001|AH2026-12-19 23:59|CTmain|AFItem checked out|AFDue 19/12|BV|AY3AZ";
    let sum = checksum(body.as_bytes());
    let frame = format!("{body}{sum:04x}\r\n");
    let d = decode(frame.as_bytes(), Charset::Utf8).expect("decodes");
    assert_eq!(d.sequence, Sequence::new(3));
    assert_eq!(d.checksum, Some(sum));
    let Message::CheckoutResponse(m) = d.message else {
        panic!("not a checkout response");
    };
    assert!(!m.ok);
    assert_eq!(m.desensitize, YesNoUnknown::No);
    assert_eq!(m.title_id, "Perl Best Practices");
    assert_eq!(m.due_date, "2026-12-19 23:59");
    assert_eq!(m.media_type, Some(MediaType::Book));
    assert_eq!(m.fee_amount, Some(s("")));
    assert_eq!(
        m.screen_messages,
        vec![s("Item checked out"), s("Due 19/12")]
    );
    assert_eq!(m.extra, vec![(s("CT"), s("main"))]);
}

#[test]
fn evergreen_style_patron_information_response() {
    // Evergreen sends counts, then AO/AA/AE, limits, lists, plus its own extension fields
    // (PB birth date, PI profile, ZZ) and no trailing pipe on the last field before AY.
    let body = "64              00120261128    101500000000000003000100000000AOBR1|AA99999|AEJane Doe|BLY|CQY|BV0.00|AUI-1|AUI-2|AUI-3|BEjane@example.org|PB19800101|PIAdult|AT|BHUSD|CB0050|ZZunknown|AY0AZ";
    let sum = checksum(body.as_bytes());
    let frame = format!("{body}{sum:04X}\r");
    let Message::PatronInformationResponse(m) = dec(&frame) else {
        panic!("not a 64");
    };
    assert_eq!(m.charged_items_count, Some(3));
    assert_eq!(m.overdue_items_count, Some(0));
    assert_eq!(m.fine_items_count, Some(1));
    assert_eq!(m.charged_items, vec![s("I-1"), s("I-2"), s("I-3")]);
    assert_eq!(m.overdue_items, vec![s("")]);
    assert_eq!(m.charged_items_limit, Some(50));
    assert_eq!(m.currency_type, Some(s("USD")));
    assert_eq!(
        m.extra,
        vec![
            (s("PB"), s("19800101")),
            (s("PI"), s("Adult")),
            (s("ZZ"), s("unknown"))
        ]
    );
    // Re-encoding keeps every field; extras come after the known ones.
    let again = wire(&Message::PatronInformationResponse(m.clone()), None);
    assert_eq!(dec(&again), Message::PatronInformationResponse(m));
}

#[test]
fn missing_optional_and_required_fields_decode() {
    let Message::CheckoutResponse(m) = dec("120NUN20261128    101500AOHZLIB|") else {
        panic!("not a 12");
    };
    assert_eq!(m.patron_id, "");
    assert_eq!(m.screen_messages, Vec::<String>::new());
    assert_eq!(
        dec("941"),
        Message::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![]
        })
    );
    // A blank transaction date and a server that writes Y for the ok digit.
    let Message::CheckinResponse(m) = dec("10YYUN                  AOX|ABI|AQ|") else {
        panic!("not a 10");
    };
    assert!(m.ok && m.resensitize && !m.alert);
    assert_eq!(m.transaction_date, None);
}

#[test]
fn error_detection_when_not_asked_for_still_decodes() {
    let d = decode(b"941AY4AZFDF9\r", Charset::Utf8).expect("decodes");
    assert_eq!(
        d.message,
        Message::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![]
        })
    );
    assert_eq!(d.sequence, Sequence::new(4));
    let d = decode(b"941", Charset::Utf8).expect("decodes");
    assert_eq!((d.sequence, d.checksum), (None, None));
}

#[test]
fn bad_checksum_is_its_own_error() {
    let mut frame = wire(
        &Message::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![],
        }),
        Some(4),
    );
    assert_eq!(frame, "941AY4AZFDF9\r");
    frame.replace_range(2..3, "0");
    assert!(matches!(
        decode(frame.as_bytes(), Charset::Utf8),
        Err(DecodeError::BadChecksum {
            received: 0xFDF9,
            ..
        })
    ));
}

#[test]
fn truncated_and_invalid_fixed_fields_are_errors() {
    assert_eq!(
        decode(b"12YNUN2026", Charset::Utf8),
        Err(DecodeError::Truncated {
            id: "12",
            needed: 22,
            got: 8
        })
    );
    assert_eq!(
        decode(b"94", Charset::Utf8),
        Err(DecodeError::Truncated {
            id: "94",
            needed: 1,
            got: 0
        })
    );
    assert_eq!(decode(b"\r\n", Charset::Utf8), Err(DecodeError::Empty));
    assert_eq!(
        decode(b"9", Charset::Utf8),
        Err(DecodeError::UnknownMessage(s("9")))
    );
    assert_eq!(
        decode(b"42abc", Charset::Utf8),
        Err(DecodeError::UnknownMessage(s("42")))
    );
    assert!(matches!(
        decode(b"12XNUN20261128    101500", Charset::Utf8),
        Err(DecodeError::InvalidFixedField { field: "ok", .. })
    ));
    assert!(matches!(
        decode(b"121NUN20261328    101500", Charset::Utf8),
        Err(DecodeError::InvalidFixedField {
            field: "transaction_date",
            ..
        })
    ));
}

/// GB18030-2022 gave standard code points to characters that GB18030-2005 kept in the
/// private-use area: the old code point still encodes, and the bytes decode as the new one.
#[test]
fn gb18030_reads_retired_private_use_characters_as_their_standard_ones() {
    let m = Message::EndSessionResponse(EndSessionResponse {
        screen_messages: vec!["\u{E82B}".into()],
        ..Default::default()
    });
    let e = encode(&m, Charset::Gb18030, None).expect("encodes");
    assert_eq!(e.replaced, 0);
    let Message::EndSessionResponse(back) =
        decode(&e.bytes, Charset::Gb18030).expect("decodes").message
    else {
        panic!("not an end session response");
    };
    assert_eq!(back.screen_messages, ["\u{9FB6}"]);
}

#[test]
fn values_with_pipe_or_line_ends_are_refused() {
    for bad in ["a|b", "a\rb", "a\nb"] {
        let m = Message::Checkout(Checkout {
            item_id: s(bad),
            ..Default::default()
        });
        assert_eq!(
            encode(&m, Charset::Utf8, None),
            Err(EncodeError::ForbiddenCharacter { field: s("AB") })
        );
    }
    let m = Message::ScStatus(ScStatus {
        protocol_version: s("2"),
        ..Default::default()
    });
    assert!(matches!(
        encode(&m, Charset::Utf8, None),
        Err(EncodeError::BadFixedWidth { .. })
    ));
    let m = Message::ScStatus(ScStatus {
        max_print_width: 1000,
        protocol_version: s("2.00"),
        ..Default::default()
    });
    assert!(matches!(
        encode(&m, Charset::Utf8, None),
        Err(EncodeError::NumberTooWide { .. })
    ));
    let m = Message::LoginResponse(LoginResponse {
        ok: true,
        extra: vec![(s("ABC"), s("x"))],
    });
    assert_eq!(
        encode(&m, Charset::Utf8, None),
        Err(EncodeError::BadFieldId(s("ABC")))
    );
}

#[test]
fn charsets_on_the_wire_and_checksum_after_encoding() {
    let m = Message::CheckoutResponse(CheckoutResponse {
        ok: true,
        title_id: s("Müller 中"),
        ..Default::default()
    });
    let cp850 = encode(&m, Charset::Cp850, Sequence::new(1)).expect("encodes");
    assert_eq!(cp850.replaced, 1);
    let text = cp850.bytes.clone();
    let pos = text.windows(2).position(|w| w == b"AJ").expect("AJ");
    assert_eq!(&text[pos..pos + 11], b"AJM\x81ller ?|");
    // The checksum is over the CP850 bytes: it verifies.
    let back = decode(&text, Charset::Cp850).expect("decodes");
    let Message::CheckoutResponse(r) = back.message else {
        panic!("not a 12")
    };
    assert_eq!(r.title_id, "Müller ?");

    for cs in [Charset::Utf8, Charset::Gb18030] {
        let e = encode(&m, cs, Sequence::new(2)).expect("encodes");
        assert_eq!(e.replaced, 0);
        assert_eq!(decode(&e.bytes, cs).expect("decodes").message, m);
    }
    let latin = encode(&m, Charset::Latin1, None).expect("encodes");
    assert_eq!(latin.replaced, 1);
}

#[test]
fn gb18030_trail_byte_pipe_does_not_split_fields() {
    // U+4E85 亅 in GB18030 is 0x81 0x7C: its second byte is '|' in ASCII.
    let m = Message::ItemInformationResponse(ItemInformationResponse {
        title_id: s("一亅"),
        ..Default::default()
    });
    let e = encode(&m, Charset::Gb18030, Sequence::new(0)).expect("encodes");
    assert!(e.bytes.windows(2).any(|w| w == [0x81, b'|']));
    assert_eq!(
        decode(&e.bytes, Charset::Gb18030).expect("decodes").message,
        m
    );
}

#[test]
fn stream_of_frames_splits_and_decodes() {
    let mut buf = Vec::new();
    for (i, m) in [
        Message::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![],
        }),
        Message::RequestScResend,
    ]
    .iter()
    .enumerate()
    {
        encode_into(m, Charset::Utf8, Sequence::new(i as u8), &mut buf).expect("encodes");
        buf.push(b'\n');
    }
    let first = split_frame(&mut buf).expect("frame");
    assert_eq!(first, b"941AY0AZFDFD");
    let second = split_frame(&mut buf).expect("frame");
    assert_eq!(
        decode(&second, Charset::Utf8).expect("decodes").message,
        Message::RequestScResend
    );
    assert_eq!(split_frame(&mut buf), None);
}

mod props {
    use chrono::NaiveDate;
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::*;

    fn text() -> impl Strategy<Value = String> {
        // Any characters but the three SIP2 cannot carry; includes CJK and accents. Not the
        // private-use area: GB18030-2022 decodes some of its code points as the standard
        // characters that took their place (U+E82B comes back as U+9FB6), as it should.
        proptest::string::string_regex("[^|\r\n\u{E000}-\u{F8FF}]{0,12}").expect("regex")
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn texts() -> impl Strategy<Value = Vec<String>> {
        vec(text(), 0..3)
    }

    fn date() -> impl Strategy<Value = Option<SipDateTime>> {
        let zone = prop_oneof![
            Just(Zone::Local),
            Just(Zone::Utc),
            "[A-Z]{3}".prop_map(|z| Zone::Other(format!(" {z}"))),
        ];
        proptest::option::of(
            (
                1..=9999i32,
                1..=12u32,
                1..=28u32,
                0..24u32,
                0..60u32,
                0..60u32,
                zone,
            )
                .prop_map(|(y, mo, d, h, mi, s, zone)| SipDateTime {
                    datetime: NaiveDate::from_ymd_opt(y, mo, d)
                        .and_then(|x| x.and_hms_opt(h, mi, s))
                        .unwrap_or_default(),
                    zone,
                }),
        )
    }

    fn flag() -> impl Strategy<Value = Option<bool>> {
        proptest::option::of(any::<bool>())
    }

    fn ynu() -> impl Strategy<Value = YesNoUnknown> {
        prop_oneof![
            Just(YesNoUnknown::Yes),
            Just(YesNoUnknown::No),
            Just(YesNoUnknown::Unknown)
        ]
    }

    fn language() -> impl Strategy<Value = Language> {
        (0..1000u16).prop_map(Language)
    }

    fn count() -> impl Strategy<Value = Option<u16>> {
        proptest::option::of(0..10000u16)
    }

    /// A known code or an unknown one of the right width that no known variant uses.
    macro_rules! code {
        ($t:ty, $re:literal) => {
            prop_oneof![
                proptest::sample::select(<$t>::KNOWN.to_vec()),
                proptest::string::string_regex($re)
                    .expect("regex")
                    .prop_map(|c| <$t>::from_code(&c)),
            ]
        };
    }

    fn extra() -> impl Strategy<Value = Vec<(String, String)>> {
        // Ids no message knows, so they stay extra after a round trip.
        vec(("Z[A-Z]", text()), 0..3)
    }

    fn patron_status() -> impl Strategy<Value = PatronStatus> {
        any::<u16>().prop_map(|bits| {
            let mut wire = String::new();
            for i in 0..14 {
                wire.push(if bits & (1 << i) != 0 { 'Y' } else { ' ' });
            }
            PatronStatus::from_wire(&wire)
        })
    }

    fn checkout_response() -> impl Strategy<Value = CheckoutResponse> {
        (
            (any::<bool>(), any::<bool>(), ynu(), ynu(), date()),
            (text(), text(), text(), text(), text()),
            (
                proptest::option::of(code!(FeeType, "[1-9][0-9]")),
                flag(),
                opt_text(),
                opt_text(),
                proptest::option::of(code!(MediaType, "[1-9][0-9]{2}")),
                opt_text(),
                opt_text(),
            ),
            (texts(), texts(), extra()),
        )
            .prop_map(|(a, b, c, d)| CheckoutResponse {
                ok: a.0,
                renewal_ok: a.1,
                magnetic_media: a.2,
                desensitize: a.3,
                transaction_date: a.4,
                institution_id: b.0,
                patron_id: b.1,
                item_id: b.2,
                title_id: b.3,
                due_date: b.4,
                fee_type: c.0,
                security_inhibit: c.1,
                currency_type: c.2,
                fee_amount: c.3,
                media_type: c.4,
                item_properties: c.5,
                transaction_id: c.6,
                screen_messages: d.0,
                print_lines: d.1,
                extra: d.2,
            })
    }

    fn end_session() -> impl Strategy<Value = EndPatronSession> {
        (date(), text(), text(), opt_text(), opt_text(), extra()).prop_map(|t| EndPatronSession {
            transaction_date: t.0,
            institution_id: t.1,
            patron_id: t.2,
            terminal_password: t.3,
            patron_password: t.4,
            extra: t.5,
        })
    }

    pub(super) fn message() -> impl Strategy<Value = Message> {
        let a = prop_oneof![
            ("[0-9A-Z]", "[0-9A-Z]", text(), text(), opt_text(), extra())
                .prop_map(|t| {
                    Message::Login(Login {
                        uid_algorithm: t.0.chars().next().unwrap_or('0'),
                        pwd_algorithm: t.1.chars().next().unwrap_or('0'),
                        login_user_id: t.2,
                        login_password: t.3,
                        location_code: t.4,
                        extra: t.5,
                    })
                })
                .boxed(),
            (any::<bool>(), extra())
                .prop_map(|(ok, extra)| Message::LoginResponse(LoginResponse { ok, extra }))
                .boxed(),
            (
                code!(ScStatusCode, "[3-9]"),
                0..1000u16,
                "[0-9]\\.[0-9]{2}",
                extra()
            )
                .prop_map(|t| Message::ScStatus(ScStatus {
                    status_code: t.0,
                    max_print_width: t.1,
                    protocol_version: t.2,
                    extra: t.3,
                }))
                .boxed(),
            (
                proptest::array::uniform6(any::<bool>()),
                (0..1000u16, 0..1000u16, date(), "[0-9]\\.[0-9]{2}"),
                (
                    text(),
                    opt_text(),
                    proptest::option::of(any::<u16>()),
                    opt_text()
                ),
                (texts(), texts(), extra()),
            )
                .prop_map(|(f, n, v, r)| Message::AcsStatus(AcsStatus {
                    online_status: f[0],
                    checkin_ok: f[1],
                    checkout_ok: f[2],
                    acs_renewal_policy: f[3],
                    status_update_ok: f[4],
                    offline_ok: f[5],
                    timeout_period: n.0,
                    retries_allowed: n.1,
                    date_time_sync: n.2,
                    protocol_version: n.3,
                    institution_id: v.0,
                    library_name: v.1,
                    supported_messages: v.2.map(|bits| {
                        let wire: String = (0..16)
                            .map(|i| if bits & (1 << i) != 0 { 'Y' } else { 'N' })
                            .collect();
                        SupportedMessages::from_wire(&wire)
                    }),
                    terminal_location: v.3,
                    screen_messages: r.0,
                    print_lines: r.1,
                    extra: r.2,
                }))
                .boxed(),
            (language(), date(), text(), text(), text(), text(), extra())
                .prop_map(|t| {
                    Message::PatronStatusRequest(PatronStatusRequest {
                        language: t.0,
                        transaction_date: t.1,
                        institution_id: t.2,
                        patron_id: t.3,
                        terminal_password: t.4,
                        patron_password: t.5,
                        extra: t.6,
                    })
                })
                .boxed(),
            (
                (patron_status(), language(), date()),
                (
                    text(),
                    text(),
                    text(),
                    flag(),
                    flag(),
                    opt_text(),
                    opt_text()
                ),
                (texts(), texts(), extra()),
            )
                .prop_map(
                    |(a, b, c)| Message::PatronStatusResponse(PatronStatusResponse {
                        patron_status: a.0,
                        language: a.1,
                        transaction_date: a.2,
                        institution_id: b.0,
                        patron_id: b.1,
                        personal_name: b.2,
                        valid_patron: b.3,
                        valid_patron_password: b.4,
                        currency_type: b.5,
                        fee_amount: b.6,
                        screen_messages: c.0,
                        print_lines: c.1,
                        extra: c.2,
                    })
                )
                .boxed(),
            (
                (language(), date(), any::<u8>()),
                (text(), text(), opt_text(), opt_text()),
                (
                    proptest::option::of(any::<u32>()),
                    proptest::option::of(any::<u32>()),
                    extra()
                ),
            )
                .prop_map(|(a, b, c)| Message::PatronInformation(PatronInformation {
                    language: a.0,
                    transaction_date: a.1,
                    summary: Summary::from_wire(
                        &(0..10)
                            .map(|i| if a.2 & (1 << (i % 8)) != 0 && i < 6 {
                                'Y'
                            } else {
                                ' '
                            })
                            .collect::<String>()
                    ),
                    institution_id: b.0,
                    patron_id: b.1,
                    terminal_password: b.2,
                    patron_password: b.3,
                    start_item: c.0,
                    end_item: c.1,
                    extra: c.2,
                }))
                .boxed(),
            (
                (patron_status(), language(), date()),
                proptest::array::uniform6(count()),
                (text(), text(), text()),
                (
                    proptest::option::of(0..10000u16),
                    proptest::option::of(0..10000u16),
                    proptest::option::of(0..10000u16),
                    flag(),
                    flag(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                ),
                (texts(), texts(), texts(), texts(), texts(), texts()),
                (
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    texts(),
                    texts(),
                    extra()
                ),
            )
                .prop_map(|(a, n, b, c, l, r)| Message::PatronInformationResponse(
                    PatronInformationResponse {
                        patron_status: a.0,
                        language: a.1,
                        transaction_date: a.2,
                        hold_items_count: n[0],
                        overdue_items_count: n[1],
                        charged_items_count: n[2],
                        fine_items_count: n[3],
                        recall_items_count: n[4],
                        unavailable_holds_count: n[5],
                        institution_id: b.0,
                        patron_id: b.1,
                        personal_name: b.2,
                        hold_items_limit: c.0,
                        overdue_items_limit: c.1,
                        charged_items_limit: c.2,
                        valid_patron: c.3,
                        valid_patron_password: c.4,
                        currency_type: c.5,
                        fee_amount: c.6,
                        fee_limit: c.7,
                        hold_items: l.0,
                        overdue_items: l.1,
                        charged_items: l.2,
                        fine_items: l.3,
                        recall_items: l.4,
                        unavailable_hold_items: l.5,
                        home_address: r.0,
                        email_address: r.1,
                        home_phone_number: r.2,
                        screen_messages: r.3,
                        print_lines: r.4,
                        extra: r.5,
                    }
                ))
                .boxed(),
        ];
        let b = prop_oneof![
            (
                (any::<bool>(), any::<bool>(), date(), date()),
                (
                    text(),
                    text(),
                    text(),
                    text(),
                    opt_text(),
                    opt_text(),
                    flag(),
                    flag()
                ),
                extra(),
            )
                .prop_map(|(a, b, extra)| Message::Checkout(Checkout {
                    sc_renewal_policy: a.0,
                    no_block: a.1,
                    transaction_date: a.2,
                    nb_due_date: a.3,
                    institution_id: b.0,
                    patron_id: b.1,
                    item_id: b.2,
                    terminal_password: b.3,
                    item_properties: b.4,
                    patron_password: b.5,
                    fee_acknowledged: b.6,
                    cancel: b.7,
                    extra,
                }))
                .boxed(),
            checkout_response()
                .prop_map(Message::CheckoutResponse)
                .boxed(),
            checkout_response().prop_map(Message::RenewResponse).boxed(),
            (
                (any::<bool>(), date(), date()),
                (text(), text(), text(), text(), opt_text(), flag()),
                extra(),
            )
                .prop_map(|(a, b, extra)| Message::Checkin(Checkin {
                    no_block: a.0,
                    transaction_date: a.1,
                    return_date: a.2,
                    current_location: b.0,
                    institution_id: b.1,
                    item_id: b.2,
                    terminal_password: b.3,
                    item_properties: b.4,
                    cancel: b.5,
                    extra,
                }))
                .boxed(),
            (
                (any::<bool>(), any::<bool>(), ynu(), any::<bool>(), date()),
                (text(), text(), text(), opt_text(), opt_text(), opt_text()),
                (
                    proptest::option::of(code!(MediaType, "[1-9][0-9]{2}")),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                ),
                (texts(), texts(), extra()),
            )
                .prop_map(|(a, b, c, d)| Message::CheckinResponse(CheckinResponse {
                    ok: a.0,
                    resensitize: a.1,
                    magnetic_media: a.2,
                    alert: a.3,
                    transaction_date: a.4,
                    institution_id: b.0,
                    item_id: b.1,
                    permanent_location: b.2,
                    title_id: b.3,
                    sort_bin: b.4,
                    patron_id: b.5,
                    media_type: c.0,
                    item_properties: c.1,
                    collection_code: c.2,
                    call_number: c.3,
                    destination_location: c.4,
                    alert_type: c.5,
                    screen_messages: d.0,
                    print_lines: d.1,
                    extra: d.2,
                }))
                .boxed(),
            (
                (any::<bool>(), any::<bool>(), date(), date()),
                (
                    text(),
                    text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    flag()
                ),
                extra(),
            )
                .prop_map(|(a, b, extra)| Message::Renew(Renew {
                    third_party_allowed: a.0,
                    no_block: a.1,
                    transaction_date: a.2,
                    nb_due_date: a.3,
                    institution_id: b.0,
                    patron_id: b.1,
                    patron_password: b.2,
                    item_id: b.3,
                    title_id: b.4,
                    terminal_password: b.5,
                    item_properties: b.6,
                    fee_acknowledged: b.7,
                    extra,
                }))
                .boxed(),
            (
                date(),
                text(),
                text(),
                opt_text(),
                opt_text(),
                flag(),
                extra()
            )
                .prop_map(|t| {
                    Message::RenewAll(RenewAll {
                        transaction_date: t.0,
                        institution_id: t.1,
                        patron_id: t.2,
                        patron_password: t.3,
                        terminal_password: t.4,
                        fee_acknowledged: t.5,
                        extra: t.6,
                    })
                })
                .boxed(),
            (
                (any::<bool>(), 0..10000u16, 0..10000u16, date(), text()),
                (texts(), texts(), texts(), texts(), extra()),
            )
                .prop_map(|(a, b)| Message::RenewAllResponse(RenewAllResponse {
                    ok: a.0,
                    renewed_count: a.1,
                    unrenewed_count: a.2,
                    transaction_date: a.3,
                    institution_id: a.4,
                    renewed_items: b.0,
                    unrenewed_items: b.1,
                    screen_messages: b.2,
                    print_lines: b.3,
                    extra: b.4,
                }))
                .boxed(),
        ];
        let c = prop_oneof![
            (date(), text(), text(), opt_text(), extra())
                .prop_map(|t| {
                    Message::ItemInformation(ItemInformation {
                        transaction_date: t.0,
                        institution_id: t.1,
                        item_id: t.2,
                        terminal_password: t.3,
                        extra: t.4,
                    })
                })
                .boxed(),
            (
                (
                    code!(CirculationStatus, "[2-9][0-9]"),
                    code!(SecurityMarker, "[1-9][0-9]"),
                    code!(FeeType, "[1-9][0-9]"),
                    date()
                ),
                (
                    proptest::option::of(any::<u32>()),
                    opt_text(),
                    opt_text(),
                    opt_text()
                ),
                (text(), text(), opt_text(), opt_text(), opt_text()),
                (
                    proptest::option::of(code!(MediaType, "[1-9][0-9]{2}")),
                    opt_text(),
                    opt_text(),
                    opt_text()
                ),
                (texts(), texts(), extra()),
            )
                .prop_map(|(a, b, c, d, e)| Message::ItemInformationResponse(
                    ItemInformationResponse {
                        circulation_status: a.0,
                        security_marker: a.1,
                        fee_type: a.2,
                        transaction_date: a.3,
                        hold_queue_length: b.0,
                        due_date: b.1,
                        recall_date: b.2,
                        hold_pickup_date: b.3,
                        item_id: c.0,
                        title_id: c.1,
                        owner: c.2,
                        currency_type: c.3,
                        fee_amount: c.4,
                        media_type: d.0,
                        permanent_location: d.1,
                        current_location: d.2,
                        item_properties: d.3,
                        screen_messages: e.0,
                        print_lines: e.1,
                        extra: e.2,
                    }
                ))
                .boxed(),
            (date(), text(), text(), opt_text(), text(), extra())
                .prop_map(|t| {
                    Message::ItemStatusUpdate(ItemStatusUpdate {
                        transaction_date: t.0,
                        institution_id: t.1,
                        item_id: t.2,
                        terminal_password: t.3,
                        item_properties: t.4,
                        extra: t.5,
                    })
                })
                .boxed(),
            (
                any::<bool>(),
                date(),
                text(),
                opt_text(),
                opt_text(),
                texts(),
                texts(),
                extra()
            )
                .prop_map(
                    |t| Message::ItemStatusUpdateResponse(ItemStatusUpdateResponse {
                        item_properties_ok: t.0,
                        transaction_date: t.1,
                        item_id: t.2,
                        title_id: t.3,
                        item_properties: t.4,
                        screen_messages: t.5,
                        print_lines: t.6,
                        extra: t.7,
                    })
                )
                .boxed(),
            end_session().prop_map(Message::EndPatronSession).boxed(),
            end_session().prop_map(Message::PatronEnable).boxed(),
            (
                any::<bool>(),
                date(),
                text(),
                text(),
                texts(),
                texts(),
                extra()
            )
                .prop_map(|t| {
                    Message::EndSessionResponse(EndSessionResponse {
                        end_session: t.0,
                        transaction_date: t.1,
                        institution_id: t.2,
                        patron_id: t.3,
                        screen_messages: t.4,
                        print_lines: t.5,
                        extra: t.6,
                    })
                })
                .boxed(),
            (
                (
                    date(),
                    code!(FeeType, "[1-9][0-9]"),
                    code!(PaymentType, "[1-9][0-9]"),
                    "[A-Z]{3}"
                ),
                (
                    text(),
                    text(),
                    text(),
                    opt_text(),
                    opt_text(),
                    opt_text(),
                    opt_text()
                ),
                extra(),
            )
                .prop_map(|(a, b, extra)| Message::FeePaid(FeePaid {
                    transaction_date: a.0,
                    fee_type: a.1,
                    payment_type: a.2,
                    currency_type: a.3,
                    fee_amount: b.0,
                    institution_id: b.1,
                    patron_id: b.2,
                    terminal_password: b.3,
                    patron_password: b.4,
                    fee_id: b.5,
                    transaction_id: b.6,
                    extra,
                }))
                .boxed(),
        ];
        let d = prop_oneof![
            (
                any::<bool>(),
                date(),
                text(),
                text(),
                opt_text(),
                texts(),
                texts(),
                extra()
            )
                .prop_map(|t| Message::FeePaidResponse(FeePaidResponse {
                    payment_accepted: t.0,
                    transaction_date: t.1,
                    institution_id: t.2,
                    patron_id: t.3,
                    transaction_id: t.4,
                    screen_messages: t.5,
                    print_lines: t.6,
                    extra: t.7,
                }))
                .boxed(),
            (
                (code!(HoldMode, "[a-z]"), date(), opt_text(), opt_text()),
                (
                    proptest::option::of(code!(HoldType, "[5-9]")),
                    text(),
                    text(),
                    opt_text()
                ),
                (opt_text(), opt_text(), opt_text(), flag(), extra()),
            )
                .prop_map(|(a, b, c)| Message::Hold(Hold {
                    hold_mode: a.0,
                    transaction_date: a.1,
                    expiration_date: a.2,
                    pickup_location: a.3,
                    hold_type: b.0,
                    institution_id: b.1,
                    patron_id: b.2,
                    patron_password: b.3,
                    item_id: c.0,
                    title_id: c.1,
                    terminal_password: c.2,
                    fee_acknowledged: c.3,
                    extra: c.4,
                }))
                .boxed(),
            (
                (any::<bool>(), any::<bool>(), date(), opt_text()),
                (
                    proptest::option::of(any::<u32>()),
                    opt_text(),
                    text(),
                    text()
                ),
                (opt_text(), opt_text(), texts(), texts(), extra()),
            )
                .prop_map(|(a, b, c)| Message::HoldResponse(HoldResponse {
                    ok: a.0,
                    available: a.1,
                    transaction_date: a.2,
                    expiration_date: a.3,
                    queue_position: b.0,
                    pickup_location: b.1,
                    institution_id: b.2,
                    patron_id: b.3,
                    item_id: c.0,
                    title_id: c.1,
                    screen_messages: c.2,
                    print_lines: c.3,
                    extra: c.4,
                }))
                .boxed(),
            (
                (patron_status(), language(), date()),
                (text(), text(), text(), flag(), flag()),
                (texts(), texts(), extra()),
            )
                .prop_map(
                    |(a, b, c)| Message::PatronEnableResponse(PatronEnableResponse {
                        patron_status: a.0,
                        language: a.1,
                        transaction_date: a.2,
                        institution_id: b.0,
                        patron_id: b.1,
                        personal_name: b.2,
                        valid_patron: b.3,
                        valid_patron_password: b.4,
                        screen_messages: c.0,
                        print_lines: c.1,
                        extra: c.2,
                    })
                )
                .boxed(),
            (
                any::<bool>(),
                date(),
                text(),
                text(),
                text(),
                text(),
                extra()
            )
                .prop_map(|t| {
                    Message::BlockPatron(BlockPatron {
                        card_retained: t.0,
                        transaction_date: t.1,
                        institution_id: t.2,
                        blocked_card_message: t.3,
                        patron_id: t.4,
                        terminal_password: t.5,
                        extra: t.6,
                    })
                })
                .boxed(),
            Just(Message::RequestResend).boxed(),
            Just(Message::RequestScResend).boxed(),
        ];
        prop_oneof![a, b, c, d]
    }

    fn charset() -> impl Strategy<Value = Charset> {
        proptest::sample::select(Charset::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(m in message(), seq in proptest::option::of(0..10u8)) {
            let seq = seq.and_then(Sequence::new);
            for cs in [Charset::Utf8, Charset::Gb18030] {
                let e = encode(&m, cs, seq).expect("encodes");
                prop_assert_eq!(e.replaced, 0);
                let d = decode(&e.bytes, cs).expect("decodes");
                prop_assert_eq!(&d.message, &m);
                if !matches!(m, Message::RequestResend | Message::RequestScResend) {
                    prop_assert_eq!(d.sequence, seq);
                }
                prop_assert_eq!(d.checksum.is_some(), seq.is_some());
            }
        }

        #[test]
        fn single_byte_charsets_round_trip_when_nothing_is_replaced(
            m in message(), cs in charset()
        ) {
            let e = encode(&m, cs, Sequence::new(7)).expect("encodes");
            let d = decode(&e.bytes, cs).expect("decodes");
            if e.replaced == 0 {
                prop_assert_eq!(d.message, m);
            }
        }

        #[test]
        fn junk_never_panics(bytes in vec(any::<u8>(), 0..200), cs in charset()) {
            if let Ok(d) = decode(&bytes, cs) {
                let _ = encode(&d.message, cs, d.sequence);
            }
            let mut buf = bytes;
            while split_frame(&mut buf).is_some() {}
        }

        #[test]
        fn mangled_messages_never_panic(
            m in message(), cut in any::<prop::sample::Index>(), byte in any::<u8>(),
            cs in charset()
        ) {
            let mut bytes = encode(&m, cs, Sequence::new(1)).expect("encodes").bytes;
            let i = cut.index(bytes.len());
            bytes[i] = byte;
            let _ = decode(&bytes, cs);
            let _ = decode(&bytes[..i], cs);
        }

        #[test]
        fn frames_survive_any_chunking(
            ms in vec(message(), 1..5), sizes in vec(1..20usize, 1..40), crlf in any::<bool>()
        ) {
            let mut stream = Vec::new();
            for m in &ms {
                encode_into(m, Charset::Utf8, None, &mut stream).expect("encodes");
                if crlf {
                    stream.push(b'\n');
                }
            }
            let mut buf = Vec::new();
            let mut got = Vec::new();
            let mut rest = &stream[..];
            let mut sizes = sizes.into_iter().cycle();
            while !rest.is_empty() {
                let n = sizes.next().unwrap_or(1).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                while let Some(frame) = split_frame(&mut buf) {
                    got.push(decode(&frame, Charset::Utf8).expect("decodes").message);
                }
            }
            prop_assert_eq!(got, ms);
        }
    }
}
