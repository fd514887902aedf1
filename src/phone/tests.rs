//! The spec's vectors, every refusal, and the properties of the decoder.

use coset::cwt::{ClaimsSetBuilder, Timestamp};
use coset::{
    CborSerializable, CoseSign1Builder, Header, HeaderBuilder, TaggedCborSerializable, iana,
};
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;

use super::*;
use crate::rfid::tag::{hex, parse_hex};

const SPEC: &str = include_str!("../../docs/phone-token.md");
/// RFC 8032 section 7.1, test 1: the spec's published test key.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const IAT: i64 = 1_767_225_600;

const VECTOR_1: &str = "SC1:RRQN29P60AO0 OD8CKSI7180LQEUVDNPCZ CYND+-DAL6GA7646746QF60R6:.6BF3U$ALQ7BF3U$A70055AX507H0QS00+0J61%H1CT1D.1T88K9KAPS+/NAVKQF71*K S25OA9 LWO4DSD%NNTMJK.H.O4/5R+2495950TDR9AGACF2.FN:QIITT LN4CEV1BCSIPTST4D60";
const VECTOR_1_COSE: &str = "d28447a2012704426b31a0583aa5016973656c66636865636b026e3233313931303030313233343537041a6955b93c061a6955b9000750000102030405060708090a0b0c0d0e0f5840cd9fdde1ebbda6a3b13a1ca51014e25357ac7a23fc6bceba209a468def2406d69f2026481be56a4bfd51f41281b8bc9320ea90b9c470de574f935ae2ae67a606";
const VECTOR_1_SIG_STRUCTURE: &str = "846a5369676e61747572653147a2012704426b3140583aa5016973656c66636865636b026e3233313931303030313233343537041a6955b93c061a6955b9000750000102030405060708090a0b0c0d0e0f";
const VECTOR_2: &str = "SC1:RRQT 9P60GO0XVDNICNF6TF68CKY78180LQEUVDNPCZ CYNDRVEYB9$W561AZA8646646*96DL6WW6:.6BF3U$A 7FBF3U$A700KAAIQU$$UB4VUFV4RVN%V.4WSCWM58B9N N1CCJV9275IK881XL6NUAJ9RD7$U6N8WD*C*0QS9K+RH50P04R34RAKSF88QBH83J3R4VIEZ493/CWM581AVD1+SS40";
const VECTOR_2_COSE: &str = "d2844da2012704486c69622d32303236a05840a5016973656c66636865636b02744c49422d524f4d412d3030303031323334353637041a6955b978061a6955b9000750f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff58403fb78f0c18987311868f4a40c4abebf15f4a9239c334e1fe9f65d4cdd19fe58b60c5c6d647d64ae10a40bf888296da246672074808667e2b8b4f4f0a51e29004";

fn key() -> SigningKey {
    let seed: [u8; 32] = parse_hex(SEED)
        .and_then(|s| s.try_into().ok())
        .expect("32-byte seed");
    SigningKey::from_bytes(&seed)
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

fn policy() -> Policy {
    let public = key().verifying_key();
    Policy::with_keys([("k1".to_string(), public), ("lib-2026".to_string(), public)])
}

fn claims(patron: &str, ttl: i64) -> Claims {
    Claims {
        issuer: "selfcheck".into(),
        patron_id: patron.into(),
        issued_at: IAT,
        expires_at: IAT + ttl,
        cti: (0u8..16).collect(),
    }
}

fn vector_1_claims() -> Claims {
    claims("23191000123457", 60)
}

fn vector_2_claims() -> Claims {
    Claims {
        cti: (0xf0u8..=0xff).collect(),
        ..claims("LIB-ROMA-00001234567", 120)
    }
}

fn token(claims: &Claims) -> String {
    issue(claims, "k1", &key()).expect("issue")
}

fn at(text: &str, now: i64) -> Result<Verified, Refusal> {
    verify(text, &policy(), now, true)
}

fn code(result: Result<Verified, Refusal>) -> &'static str {
    match result {
        Ok(_) => "accepted",
        Err(r) => r.code(),
    }
}

fn base45_text(bytes: &[u8]) -> String {
    format!("{PREFIX}{}", base45::encode(bytes))
}

/// A token built from parts, for the ones `issue` would never make.
fn crafted(protected: Header, unprotected: Header, payload: Vec<u8>, tagged: bool) -> String {
    let key = key();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .payload(payload)
        .create_signature(b"", |data| key.sign(data).to_bytes().to_vec())
        .build();
    let bytes = if tagged {
        sign1.to_tagged_vec()
    } else {
        sign1.to_vec()
    };
    base45_text(&bytes.expect("encode"))
}

fn eddsa_k1() -> Header {
    HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(b"k1".to_vec())
        .build()
}

fn standard_claims() -> ClaimsSetBuilder {
    ClaimsSetBuilder::new()
        .issuer("selfcheck".into())
        .subject("23191000123457".into())
        .expiration_time(Timestamp::WholeSeconds(IAT + 60))
        .issued_at(Timestamp::WholeSeconds(IAT))
        .cwt_id(vec![1; 16])
}

fn payload(claims: ClaimsSetBuilder) -> Vec<u8> {
    claims.build().to_vec().expect("claims")
}

#[test]
fn spec_vectors_are_what_the_code_makes() {
    assert_eq!(token(&vector_1_claims()), VECTOR_1);
    assert_eq!(
        issue(&vector_2_claims(), "lib-2026", &key()).expect("issue"),
        VECTOR_2
    );
    for (text, cose) in [(VECTOR_1, VECTOR_1_COSE), (VECTOR_2, VECTOR_2_COSE)] {
        let bytes = base45::decode(text.trim_start_matches(PREFIX)).expect("base45");
        assert_eq!(hex(&bytes), cose);
    }
    let parts = decode(VECTOR_1).expect("decode");
    assert_eq!(hex(&parts.sign1.tbs_data(b"")), VECTOR_1_SIG_STRUCTURE);
    assert_eq!((VECTOR_1.len(), VECTOR_2.len()), (210, 228));
}

#[test]
fn spec_page_shows_the_same_vectors() {
    let compact: String = SPEC.chars().filter(|c| !c.is_whitespace()).collect();
    for text in [VECTOR_1, VECTOR_2] {
        assert!(
            SPEC.lines().any(|l| l == text),
            "docs/phone-token.md lacks {text}"
        );
    }
    for hex in [VECTOR_1_COSE, VECTOR_2_COSE, VECTOR_1_SIG_STRUCTURE, SEED] {
        assert!(compact.contains(hex), "docs/phone-token.md lacks {hex}");
    }
    let public = public_key_text(&key().verifying_key());
    assert!(SPEC.contains(&public));
    let pem = signing_key_pem(&key()).expect("pem");
    for line in pem.lines() {
        assert!(SPEC.contains(line), "docs/phone-token.md lacks {line}");
    }
    let text = "more than 311 characters";
    assert!(SPEC.contains(text) && MAX_TOKEN_LEN == 311);
    for code in Refusal::CODES {
        assert!(SPEC.contains(&format!("`{code}`")), "spec lacks {code}");
    }
}

#[test]
fn vector_1_is_accepted_in_its_window_only() {
    let v = at(VECTOR_1, IAT + 10).expect("accepted");
    assert_eq!(
        v,
        Verified {
            patron_id: "23191000123457".into(),
            kid: "k1".into(),
            issuer: "selfcheck".into(),
            cti: (0u8..16).collect(),
            issued_at: IAT,
            expires_at: IAT + 60,
            remember_until: IAT + 60 + 120,
        }
    );
    // The spec's window: from iat - skew to exp + skew, exclusive.
    assert!(at(VECTOR_1, IAT - 120).is_ok());
    assert!(at(VECTOR_1, IAT + 179).is_ok());
    assert_eq!(
        at(VECTOR_1, IAT - 121),
        Err(Refusal::NotYetValid {
            valid_from: IAT,
            now: IAT - 121
        })
    );
    assert_eq!(
        at(VECTOR_1, IAT + 180),
        Err(Refusal::Expired {
            expired_at: IAT + 60,
            now: IAT + 180
        })
    );
    let v2 = at(VECTOR_2, IAT).expect("vector 2");
    assert_eq!(
        (v2.patron_id.as_str(), v2.kid.as_str()),
        ("LIB-ROMA-00001234567", "lib-2026")
    );
}

#[test]
fn skew_is_the_policys() {
    let mut strict = policy();
    strict.clock_skew_secs = 0;
    assert!(verify(VECTOR_1, &strict, IAT + 59, true).is_ok());
    assert_eq!(code(verify(VECTOR_1, &strict, IAT + 60, true)), "expired");
    assert_eq!(
        code(verify(VECTOR_1, &strict, IAT - 1, true)),
        "not_yet_valid"
    );
}

#[test]
fn scanner_damage_that_loses_nothing_is_tolerated() {
    let lower = VECTOR_1.to_ascii_lowercase();
    assert!(at(&lower, IAT).is_ok(), "Caps Lock swapped the case");
    assert!(at(&format!("  {VECTOR_1}\r\n"), IAT).is_ok());
    // Untagged, as some COSE libraries write.
    let untagged = crafted(
        eddsa_k1(),
        Header::default(),
        payload(standard_claims()),
        false,
    );
    assert!(at(&untagged, IAT).is_ok());
}

#[test]
fn tampered_tokens_fail_the_signature() {
    let bytes = base45::decode(VECTOR_1.trim_start_matches(PREFIX)).expect("base45");
    // The patron id's last digit (inside the payload), then the signature's last byte.
    let sub_end = bytes
        .windows(4)
        .position(|w| w == b"3457")
        .expect("the patron id")
        + 3;
    for index in [sub_end, bytes.len() - 1] {
        let mut changed = bytes.clone();
        changed[index] ^= 0x01;
        assert_eq!(
            at(&base45_text(&changed), IAT),
            Err(Refusal::BadSignature),
            "byte {index}"
        );
    }
    // Another known key id on the same signature.
    let mut sign1 = coset::CoseSign1::from_tagged_slice(&bytes).expect("sign1");
    sign1.protected = coset::ProtectedHeader {
        original_data: None,
        header: HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .key_id(b"lib-2026".to_vec())
            .build(),
    };
    let moved = base45_text(&sign1.to_tagged_vec().expect("encode"));
    assert_eq!(at(&moved, IAT), Err(Refusal::BadSignature));
    // Signed by a key the kiosk does not trust, under a kid it does.
    let forged = issue(&vector_1_claims(), "k1", &other_key()).expect("issue");
    assert_eq!(at(&forged, IAT), Err(Refusal::BadSignature));
}

#[test]
fn each_refusal_has_its_reason() {
    let t = token(&vector_1_claims());
    assert_eq!(
        verify(&t, &policy(), IAT, false),
        Err(Refusal::ClockNotSynchronised)
    );
    let mut off = policy();
    off.enabled = false;
    assert_eq!(verify(&t, &off, IAT, true), Err(Refusal::Disabled));
    assert_eq!(
        at(
            &issue(&vector_1_claims(), "k9", &key()).expect("issue"),
            IAT
        ),
        Err(Refusal::UnknownKey { kid: "k9".into() })
    );
    let mut elsewhere = policy();
    elsewhere.issuer = "city-library".into();
    assert_eq!(
        verify(&t, &elsewhere, IAT, true),
        Err(Refusal::WrongIssuer {
            found: "selfcheck".into()
        })
    );
    assert_eq!(
        at(&token(&claims("23191000123457", 121)), IAT),
        Err(Refusal::LifetimeTooLong {
            lifetime_secs: 121,
            max_secs: 120
        })
    );
    assert!(at(&token(&claims("23191000123457", 120)), IAT).is_ok());
    assert_eq!(
        at(&t.replacen("SC1:", "HC1:", 1), IAT),
        Err(Refusal::BadPrefix)
    );
    assert_eq!(at("33191000105864", IAT), Err(Refusal::BadPrefix));
    assert_eq!(at("", IAT), Err(Refusal::BadPrefix));
    let long = format!("{PREFIX}{}", "0".repeat(MAX_TOKEN_LEN));
    assert_eq!(
        at(&long, IAT),
        Err(Refusal::Oversized {
            len: MAX_TOKEN_LEN + 4,
            max: MAX_TOKEN_LEN
        })
    );
    assert_eq!(code(at(&format!("{t}#"), IAT)), "malformed");
    assert_eq!(code(at("SC1:héllo", IAT)), "malformed");
}

#[test]
fn every_cut_of_a_token_is_truncated() {
    for len in PREFIX.len()..VECTOR_1.len() {
        let cut = &VECTOR_1[..len];
        assert_eq!(
            at(cut, IAT),
            Err(Refusal::Truncated),
            "cut at {len}: {cut:?}"
        );
    }
    assert_eq!(at("SC1", IAT), Err(Refusal::BadPrefix));
}

#[test]
fn non_canonical_base45_is_refused() {
    // The final pair "60" is the byte 6; "$5" is 37 + 5 * 45 = 262, which base45 libraries
    // that keep only the low byte also read as 6: a second spelling of the same token.
    let respelled = format!("{}$5", VECTOR_1.strip_suffix("60").expect("ends in 60"));
    assert_eq!(
        base45::decode(respelled.trim_start_matches(PREFIX)).ok(),
        base45::decode(VECTOR_1.trim_start_matches(PREFIX)).ok()
    );
    assert_eq!(code(at(&respelled, IAT)), "truncated");
    // A group of three above 65535.
    let over = format!("{PREFIX}:::{}", &VECTOR_1[PREFIX.len() + 3..]);
    assert_eq!(code(at(&over, IAT)), "malformed");
}

#[test]
fn wrong_algorithms_are_refused() {
    let claims = payload(standard_claims());
    let es256 = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(b"k1".to_vec())
        .build();
    assert_eq!(
        code(at(
            &crafted(es256, Header::default(), claims.clone(), true),
            IAT
        )),
        "wrong_algorithm"
    );
    let no_alg = HeaderBuilder::new().key_id(b"k1".to_vec()).build();
    let unprotected_alg = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    assert_eq!(
        code(at(
            &crafted(no_alg.clone(), unprotected_alg, claims.clone(), true),
            IAT
        )),
        "wrong_algorithm"
    );
    assert_eq!(
        code(at(&crafted(no_alg, Header::default(), claims, true), IAT)),
        "wrong_algorithm"
    );
}

#[test]
fn malformed_structures_are_refused() {
    let claims = payload(standard_claims());
    let check = |text: String, what: &str| {
        assert_eq!(code(at(&text, IAT)), "malformed", "{what}");
    };
    let kid_unprotected = HeaderBuilder::new().key_id(b"k1".to_vec()).build();
    let eddsa_only = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    check(
        crafted(eddsa_only, kid_unprotected, claims.clone(), true),
        "kid only unprotected",
    );
    let critical = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(b"k1".to_vec())
        .add_critical(iana::HeaderParameter::ContentType)
        .content_format(iana::CoapContentFormat::Cbor)
        .build();
    check(
        crafted(critical, Header::default(), claims.clone(), true),
        "crit",
    );
    let no_sub = ClaimsSetBuilder::new()
        .issuer("selfcheck".into())
        .expiration_time(Timestamp::WholeSeconds(IAT + 60))
        .issued_at(Timestamp::WholeSeconds(IAT))
        .cwt_id(vec![1; 16]);
    check(
        crafted(eddsa_k1(), Header::default(), payload(no_sub), true),
        "no sub",
    );
    let fractional = standard_claims().issued_at(Timestamp::FractionalSeconds(IAT as f64 + 0.5));
    check(
        crafted(eddsa_k1(), Header::default(), payload(fractional), true),
        "fractional iat",
    );
    let short_cti = standard_claims().cwt_id(vec![1; 4]);
    check(
        crafted(eddsa_k1(), Header::default(), payload(short_cti), true),
        "4-byte cti",
    );
    let backwards = standard_claims().expiration_time(Timestamp::WholeSeconds(IAT));
    check(
        crafted(eddsa_k1(), Header::default(), payload(backwards), true),
        "exp = iat",
    );
    check(
        crafted(eddsa_k1(), Header::default(), b"not cbor".to_vec(), true),
        "payload not CBOR",
    );
    // A COSE_Mac0 tag, and trailing bytes after the COSE_Sign1.
    let mut bytes = base45::decode(VECTOR_1.trim_start_matches(PREFIX)).expect("b45");
    let mut extra = bytes.clone();
    extra.push(0);
    check(base45_text(&extra), "trailing byte");
    bytes[0] = 0xd1;
    check(base45_text(&bytes), "tag 17");
}

#[test]
fn nbf_delays_validity() {
    let later = standard_claims().not_before(Timestamp::WholeSeconds(IAT + 30));
    let text = crafted(eddsa_k1(), Header::default(), payload(later), true);
    assert!(at(&text, IAT - 90).is_ok());
    assert_eq!(code(at(&text, IAT - 91)), "not_yet_valid");
}

#[test]
fn issuing_refuses_what_a_kiosk_would_refuse() {
    let key = key();
    assert_eq!(
        issue(&claims("", 60), "k1", &key),
        Err(IssueError::EmptyPatron)
    );
    assert!(matches!(
        issue(&claims("x", 0), "k1", &key),
        Err(IssueError::Lifetime { .. })
    ));
    assert!(matches!(
        issue(&claims("x", 60), "bad kid", &key),
        Err(IssueError::Kid(_))
    ));
    let tiny = Claims {
        cti: vec![1; 4],
        ..claims("x", 60)
    };
    assert_eq!(issue(&tiny, "k1", &key), Err(IssueError::Cti { len: 4 }));
    // 121 + kid + patron bytes (one more from 24 on) must stay within 204 bytes of COSE.
    let fits = "9".repeat(204 - 121 - 2 - 1);
    assert!(issue(&claims(&fits, 60), "k1", &key).is_ok_and(|t| t.len() <= MAX_TOKEN_LEN));
    let too_long = "9".repeat(fits.len() + 1);
    assert!(matches!(
        issue(&claims(&too_long, 60), "k1", &key),
        Err(IssueError::TooLarge { max: 311, .. })
    ));
}

#[test]
fn the_scan_layer_knows_tokens_by_their_prefix() {
    assert!(looks_like_token(VECTOR_1));
    assert!(looks_like_token(" sc1:ABC"));
    assert!(!looks_like_token("SC1"));
    assert!(!looks_like_token("HC1:ABC"));
    assert!(!looks_like_token("éSC1:"));
}

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        let _ = verify(&text, &policy(), IAT, true);
        let _ = verify(&format!("SC1:{text}"), &policy(), IAT, true);
    }

    #[test]
    fn random_base45_text_never_panics(text in "[0-9A-Z $%*+./:-]{0,320}") {
        let _ = verify(&format!("SC1:{text}"), &policy(), IAT, true);
    }

    #[test]
    fn random_bytes_after_the_prefix_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..210)) {
        let result = verify(&base45_text(&bytes), &policy(), IAT, true);
        prop_assert!(result.is_err());
    }

    #[test]
    fn cbor_like_bytes_never_panic(
        tag in prop_oneof![Just(vec![0xd2u8]), Just(vec![])],
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = tag;
        bytes.push(0x84);
        bytes.extend(body);
        let _ = verify(&base45_text(&bytes), &policy(), IAT, true);
    }

    #[test]
    fn issue_then_verify_round_trips(
        patron in "[A-Za-z0-9 ._/-]{1,40}|\\PC{1,12}",
        ttl in 1i64..=120,
        cti in prop::collection::vec(any::<u8>(), 8..=32),
        offset in 0i64..120,
    ) {
        prop_assume!(!patron.trim().is_empty());
        let claims = Claims { cti: cti.clone(), ..claims(&patron, ttl) };
        let text = issue(&claims, "k1", &key()).expect("fits");
        prop_assert!(text.len() <= MAX_TOKEN_LEN);
        prop_assert!(text.chars().all(|c| BASE45_ALPHABET.contains(c) || "SC1:".contains(c)));
        let v = at(&text, IAT + offset.min(ttl + 119)).expect("accepted");
        prop_assert_eq!(v.patron_id, patron);
        prop_assert_eq!(v.cti, cti);
        prop_assert_eq!(v.expires_at, IAT + ttl);
    }
}
