//! Phone tokens end to end: keys made, tokens issued and checked by the command line, the
//! replay check against a real database, a second implementation of the format
//! (tests/interop/phone_token.py, cbor2 + cryptography) in both directions, and codes scanned
//! at the headless kiosk against the demo ILS, online and with the link cut.
//!
//! The Python tests need `SELFCHECK_PYTHON` (scripts/test sets it); the QR image test needs
//! `zbarimg` (scripts/setup-debian installs it). Without them they say so and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use common::circulation::{self, exchanges, item, last_screen, patron, screens};
use common::{run, selfcheck, text};
use selfcheck::phone::{self, Policy, Refusal};
use serde_json::{Value, json};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .expect("clock after 1970")
}

/// A directory with a key `k1`, and a settings file that trusts it.
struct Site {
    dir: tempfile::TempDir,
    toml: String,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("tmp");
        let out = run(selfcheck()
            .args(["token", "keygen", "--kid", "k1", "--out"])
            .arg(dir.path().join("keys")));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let toml = text(&out.stdout);
        let site = Site { dir, toml };
        site.write_config("[phone]\nenabled = true\n");
        site
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("keys/k1.key")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn write_config(&self, head: &str) {
        std::fs::write(self.config(), format!("{head}\n{}", self.toml)).expect("config");
    }

    fn public_key(&self) -> String {
        let table: toml::Table = toml::from_str(&self.toml).expect("keygen prints TOML");
        table["phone"]["keys"][0]["public_key"]
            .as_str()
            .expect("public_key")
            .to_owned()
    }

    fn issue(&self, args: &[&str]) -> String {
        let out = run(selfcheck()
            .args(["token", "issue", "--key"])
            .arg(self.key())
            .args(args));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one token on one line: {stdout:?}");
        lines[0].to_owned()
    }

    fn verify(&self, token: &str, extra: &[&str]) -> (Output, Value) {
        let out = run(selfcheck()
            .arg("--config")
            .arg(self.config())
            .args(["token", "verify", "--json"])
            .args(extra)
            .arg(token));
        let json = serde_json::from_str(&text(&out.stdout))
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        (out, json)
    }

    /// The refusal code when a synchronised kiosk checks `token` (`accepted` when it takes it).
    fn decision(&self, token: &str) -> String {
        let (out, json) = self.verify(token, &["--assume-synced"]);
        let accepted = json["accepted"].as_bool().expect("accepted");
        assert_eq!(
            out.status.success(),
            accepted,
            "exit status follows the decision"
        );
        if accepted {
            "accepted".into()
        } else {
            json["code"].as_str().expect("code").to_owned()
        }
    }

    fn policy(&self) -> Policy {
        let settings =
            selfcheck::config::Settings::load(&self.config()).expect("settings are valid");
        Policy::from_settings(&settings.phone).expect("policy")
    }
}

#[test]
fn keygen_writes_the_key_and_prints_the_settings_to_append() {
    let site = Site::new();
    let toml = &site.toml;
    assert!(toml.starts_with("[[phone.keys]]\n"), "{toml}");
    assert!(toml.contains("kid = \"k1\"\n"), "{toml}");
    assert!(phone::parse_public_key(&site.public_key()).is_ok());

    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(site.key()).expect("key file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read_to_string(site.key()).expect("read key");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert_eq!(
        pem.lines().count(),
        3,
        "OpenSSL's one-line Ed25519 PKCS#8: {pem}"
    );

    let out = run(selfcheck().args(["config", "check"]).arg(site.config()));
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A second key appends too, and a second run for the same kid refuses to overwrite.
    let out = run(selfcheck()
        .args(["token", "keygen", "--kid", "k2", "--out"])
        .arg(site.dir.path().join("keys")));
    assert!(out.status.success());
    let two = format!(
        "[phone]\nenabled = true\n\n{}{}",
        site.toml,
        text(&out.stdout)
    );
    std::fs::write(site.config(), two).expect("write");
    let out = run(selfcheck().args(["config", "check"]).arg(site.config()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(selfcheck()
        .args(["token", "keygen", "--kid", "k1", "--out"])
        .arg(site.dir.path().join("keys")));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));
    assert!(text(&out.stdout).is_empty(), "nothing to append on failure");
}

#[test]
fn issued_tokens_are_accepted_and_explained() {
    let site = Site::new();
    let token = site.issue(&["--patron", "23191000123457"]);
    assert!(token.starts_with("SC1:") && token.len() <= phone::MAX_TOKEN_LEN);
    let (out, json) = site.verify(&token, &["--assume-synced"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json["accepted"], true);
    assert_eq!(json["patron_id"], "23191000123457");
    assert_eq!(json["kid"], "k1");
    assert_eq!(json["cti_recorded"], false);
    assert_eq!(json["clock"]["synchronised"], true);
    assert_eq!(
        json["expires_at"].as_i64().unwrap_or_default() - json["issued_at"].as_i64().unwrap_or(0),
        60
    );
    // Not recorded: verifying again still accepts.
    assert_eq!(site.decision(&token), "accepted");

    // Text output for a person.
    let out = run(selfcheck()
        .arg("--config")
        .arg(site.config())
        .args(["token", "verify", "--assume-synced"])
        .arg(&token));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("accepted: patron 23191000123457\n"),
        "{shown}"
    );

    // The setting that asks for the PIN afterwards is reported.
    site.write_config("[phone]\nenabled = true\nrequire_pin = true\n");
    let (_, json) = site.verify(&token, &["--assume-synced"]);
    assert_eq!(json["then_pin"], true);
}

#[test]
fn each_refusal_reaches_the_command_line_with_its_reason() {
    let site = Site::new();
    let now = now();
    let at = |t: i64| t.to_string();
    let patron = ["--patron", "23191000123457"];
    let old = site.issue(&[&patron[..], &["--issued-at", &at(now - 1000)]].concat());
    let (out, json) = site.verify(&old, &["--assume-synced"]);
    assert!(!out.status.success());
    assert_eq!(json["code"], "expired");
    assert_eq!(
        json["reason"],
        "this code has expired: refresh it in the app"
    );

    let future = site.issue(&[&patron[..], &["--issued-at", &at(now + 1000)]].concat());
    assert_eq!(site.decision(&future), "not_yet_valid");
    let long = site.issue(&[&patron[..], &["--ttl", "500"]].concat());
    assert_eq!(site.decision(&long), "lifetime_too_long");
    let other_kid = site.issue(&[&patron[..], &["--kid", "k9"]].concat());
    assert_eq!(site.decision(&other_kid), "unknown_key");
    let elsewhere = site.issue(&[&patron[..], &["--issuer", "other-library"]].concat());
    assert_eq!(site.decision(&elsewhere), "wrong_issuer");

    // Signed by a key the kiosk has never seen, under the kid it trusts.
    let stranger = tempfile::tempdir().expect("tmp");
    let out = run(selfcheck()
        .args(["token", "keygen", "--kid", "k1", "--out"])
        .arg(stranger.path()));
    assert!(out.status.success());
    let out = run(selfcheck()
        .args(["token", "issue", "--key"])
        .arg(stranger.path().join("k1.key"))
        .args(patron));
    let forged = text(&out.stdout).trim().to_owned();
    assert_eq!(site.decision(&forged), "bad_signature");

    let good = site.issue(&patron);
    assert_eq!(site.decision(&good[..good.len() - 30]), "truncated");
    assert_eq!(
        site.decision(&good.replacen("SC1:", "HC1:", 1)),
        "bad_prefix"
    );
    assert_eq!(
        site.decision(&format!("{good}{}", "0".repeat(200))),
        "oversized"
    );

    // Without a synchronised clock no token passes.
    let (_, json) = site.verify(&good, &["--at", &at(now)]);
    if json["clock"]["synchronised"] == false {
        assert_eq!(json["code"], "clock_not_synchronised");
    }

    site.write_config("[phone]\nenabled = false\n");
    assert_eq!(site.decision(&good), "disabled");
}

#[tokio::test]
async fn a_token_is_used_once_offline_even_across_a_restart() {
    let site = Site::new();
    let token = site.issue(&["--patron", "23191000123457"]);
    let policy = site.policy();
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join(selfcheck::store::DB_FILE);
    let now = now();
    {
        let store = selfcheck::store::StoreHandle::spawn(selfcheck::store::open(&db).expect("db"))
            .expect("store");
        let first = phone::admit(&store, &token, &policy, now, true).await;
        assert_eq!(first.map(|v| v.patron_id).as_deref(), Ok("23191000123457"));
        assert_eq!(
            phone::admit(&store, &token, &policy, now + 1, true).await,
            Err(Refusal::Replayed)
        );
        // A refused token uses nothing up.
        let other = site.issue(&["--patron", "23191000123457"]);
        assert_eq!(
            phone::admit(&store, &other, &policy, now, false).await,
            Err(Refusal::ClockNotSynchronised)
        );
        assert!(
            phone::admit(&store, &other, &policy, now, true)
                .await
                .is_ok()
        );
    }
    let store = selfcheck::store::StoreHandle::spawn(selfcheck::store::open(&db).expect("db"))
        .expect("store");
    assert_eq!(
        phone::admit(&store, &token, &policy, now + 2, true).await,
        Err(Refusal::Replayed),
        "the nonce survives a restart"
    );
    let later = now + 60 + 120;
    assert!(matches!(
        phone::admit(&store, &token, &policy, later, true).await,
        Err(Refusal::Expired { .. })
    ));
    // Once both tokens have expired, their nonces are forgotten with the next claim.
    let much_later = now + 1000;
    let remembered = store
        .call(move |conn| {
            selfcheck::store::phone::claim_cti(conn, &[0x55; 16], much_later + 60, much_later)?;
            selfcheck::store::phone::remembered(conn)
        })
        .await
        .expect("store");
    assert_eq!(remembered, 1);
}

#[test]
fn barcode_check_knows_a_phone_token() {
    let site = Site::new();
    let token = site.issue(&["--patron", "23191000123457"]);
    let out = run(selfcheck().args(["barcode", "check", "--json"]).arg(&token));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_str(&text(&out.stdout)).expect("json");
    assert_eq!(json["kind"]["type"], "phone_token");
    assert_eq!(json["kind"]["kid"], "k1");
    let out = run(selfcheck()
        .args(["barcode", "check"])
        .arg(&token[..token.len() - 7]));
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("truncated"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn png_reads_back_as_the_token() {
    if Command::new("zbarimg").arg("--version").output().is_err() {
        println!("SKIPPED: zbarimg is not installed (scripts/setup-debian installs zbar-tools)");
        return;
    }
    let site = Site::new();
    let png = site.dir.path().join("code.png");
    let token = site.issue(&[
        "--patron",
        "LIB-ROMA-00001234567",
        "--png",
        png.to_str().expect("utf-8 path"),
    ]);
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png)
        .output()
        .expect("zbarimg");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim_end_matches('\n'), token);
}

fn script() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/phone_token.py");
    assert!(script.exists(), "{}", script.display());
    script
}

fn python_run(python: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()))
}

/// The spec's first vector's inputs, as `token issue` and the Python script spell them.
const VECTOR_1_PATRON: &str = "23191000123457";
const VECTOR_1_CTI: &str = "000102030405060708090a0b0c0d0e0f";

fn python_issue_vector_1(python: &Path, key: &Path) -> String {
    let key = key.to_str().expect("utf-8 path");
    let out = python_run(
        python,
        &[
            "issue",
            "--key",
            key,
            "--patron",
            VECTOR_1_PATRON,
            "--iat",
            "1767225600",
            "--ttl",
            "60",
            "--cti",
            VECTOR_1_CTI,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim_end().to_owned()
}

#[test]
fn python_issues_tokens_the_kiosk_accepts() {
    let Some(python) = common::python() else {
        return;
    };
    let site = Site::new();
    let key = site.key();
    let out = python_run(
        &python,
        &[
            "issue",
            "--key",
            key.to_str().expect("utf-8 path"),
            "--patron",
            "P-42 Rossi/Anna",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim_end().to_owned();
    let (out, json) = site.verify(&token, &["--assume-synced"]);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["patron_id"], "P-42 Rossi/Anna");

    // From the same inputs both implementations write the very same token.
    let ours = site.issue(&[
        "--patron",
        VECTOR_1_PATRON,
        "--issued-at",
        "1767225600",
        "--ttl",
        "60",
        "--cti",
        VECTOR_1_CTI,
    ]);
    assert_eq!(python_issue_vector_1(&python, &key), ours);

    // The spec's first vector, from its published key.
    let dir = tempfile::tempdir().expect("tmp");
    let rfc = dir.path().join("k1.key");
    std::fs::write(
        &rfc,
        "-----BEGIN PRIVATE KEY-----\n\
         MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
         -----END PRIVATE KEY-----\n",
    )
    .expect("key");
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/phone-token.md"))
            .expect("spec");
    let vector = python_issue_vector_1(&python, &rfc);
    assert!(
        vector.starts_with("SC1:") && spec.lines().any(|l| l == vector),
        "{vector}"
    );
}

#[test]
fn python_checks_tokens_selfcheck_issued() {
    let Some(python) = common::python() else {
        return;
    };
    let site = Site::new();
    let public = site.public_key();
    let check = |token: &str, now: i64| -> Value {
        let out = python_run(
            &python,
            &[
                "check",
                "--public-key",
                &public,
                "--kid",
                "k1",
                "--now",
                &now.to_string(),
                token,
            ],
        );
        let json: Value = serde_json::from_str(&text(&out.stdout))
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        assert_eq!(out.status.success(), json["accepted"] == true, "{json}");
        json
    };
    let now = now();
    let token = site.issue(&["--patron", "LIB-ROMA-00001234567"]);
    let json = check(&token, now);
    assert_eq!(json["accepted"], true, "{json}");
    assert_eq!(json["sub"], "LIB-ROMA-00001234567");
    assert_eq!(json["canonical"], true, "written exactly as the spec says");
    assert_eq!(json["cti"].as_str().map(str::len), Some(32));
    assert_eq!(check(&token, now + 1000)["code"], "expired");
    assert_eq!(check(&token[..token.len() - 1], now)["code"], "malformed");
}

// ---- At the kiosk: the headless driver against the demo ILS ----

/// The demo ILS served in the test, and a kiosk whose settings trust the key `k1` made by
/// `selfcheck token keygen` (with the output appended to its settings, as the docs say).
struct Kiosk {
    ils: circulation::Site,
    keys: Site,
}

impl Kiosk {
    fn new() -> Kiosk {
        let keys = Site::new();
        let mut ils = circulation::Site::new();
        let table: selfcheck::config::Settings =
            toml::from_str(&format!("[phone]\nenabled = true\n{}", keys.toml))
                .expect("keygen's table parses as settings");
        ils.settings.phone = table.phone;
        Kiosk { ils, keys }
    }

    fn token(&self, patron: &str) -> String {
        self.keys.issue(&["--patron", patron])
    }

    fn run(&self, commands: &[Value]) -> Vec<Value> {
        self.ils.run(commands)
    }
}

fn scan(code: &str) -> Value {
    json!({"cmd": "scan", "code": code})
}

/// The phone lines of the output: accepted, or refused with the refusal's code.
fn phone_outcomes(out: &[Value]) -> Vec<String> {
    out.iter()
        .filter(|v| v["kind"] == "phone")
        .map(|v| match v["outcome"].as_str() {
            Some("accepted") => "accepted".to_owned(),
            _ => v["code"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

#[test]
fn a_phone_code_lends_online_once_and_no_pin_is_asked() {
    let kiosk = Kiosk::new();
    let reader = patron(2);
    let token = kiosk.token(&reader);
    let book = item(1);
    let now = now();
    let expired = kiosk.keys.issue(&[
        "--patron",
        &reader,
        "--issued-at",
        &(now - 1000).to_string(),
    ]);
    let out = kiosk.run(&[
        scan(&format!("{token}\r\n")),
        circulation::place(&book),
        json!({"cmd": "done"}),
        json!({"cmd": "done"}),
        // The same code again, from the welcome screen: used up.
        scan(&token),
        json!({"cmd": "cancel"}),
        scan(&expired),
        json!({"cmd": "cancel"}),
        // A card number shown as a plain barcode is a card: its PIN is asked.
        scan(&reader),
    ]);
    assert_eq!(
        phone_outcomes(&out),
        ["accepted", "replayed", "expired"],
        "{out:#?}"
    );
    // The code identified the patron to the ILS without a PIN (terminal.require_pin is on).
    assert!(kiosk.ils.settings.terminal.require_pin);
    let pins = screens(&out)
        .iter()
        .filter(|m| m["screen"] == "pin")
        .count();
    assert_eq!(
        pins, 1,
        "only for the plain card number at the end: {out:#?}"
    );
    let patron_lookups = exchanges(&out, "patron");
    assert_eq!(patron_lookups[0]["outcome"], "ok", "{out:#?}");
    assert!(kiosk.ils.loans_of(&reader).contains(&book));
    let summary = last_screen(&out, "summary");
    assert_eq!(summary["items"][0]["state"], "done");

    // Each refusal is on the identify screen with its reason.
    let refused: Vec<&Value> = screens(&out)
        .into_iter()
        .filter(|m| m["screen"] == "identify" && !m["notice"].is_null())
        .collect();
    let notices: Vec<&str> = refused
        .iter()
        .filter_map(|m| m["notice"].as_str())
        .collect();
    assert_eq!(notices, ["phone_replayed", "phone_expired"]);
    let last = screens(&out).last().copied().expect("a screen");
    assert_eq!(last["screen"], "pin", "{last:#}");
    // No line of the output names the patron except the ILS's own (none here).
    let phone_lines: Vec<&Value> = out.iter().filter(|v| v["kind"] == "phone").collect();
    assert!(
        phone_lines.iter().all(|l| !l.to_string().contains(&reader)),
        "{phone_lines:#?}"
    );
}

#[test]
fn with_the_link_cut_a_known_patron_borrows_by_phone_and_a_stranger_does_not() {
    let kiosk = Kiosk::new();
    let known = patron(2);
    let stranger = patron(3);
    // An earlier session online: the kiosk's cache knows the patron since.
    let out = kiosk.run(&[scan(&kiosk.token(&known)), json!({"cmd": "cancel"})]);
    assert_eq!(phone_outcomes(&out), ["accepted"], "{out:#?}");
    assert_eq!(last_screen(&out, "borrow")["online"], true);

    let book = item(3);
    let out = kiosk.run(&[
        json!({"cmd": "cut"}),
        scan(&kiosk.token(&known)),
        circulation::place(&book),
        json!({"cmd": "done"}),
        json!({"cmd": "done"}),
        scan(&kiosk.token(&stranger)),
        json!({"cmd": "cancel"}),
        json!({"cmd": "restore"}),
        json!({"cmd": "sync"}),
    ]);
    assert_eq!(phone_outcomes(&out), ["accepted", "accepted"], "{out:#?}");
    let lookups = exchanges(&out, "patron");
    assert_eq!(lookups[0]["outcome"], "offline_cache", "{out:#?}");
    let borrow = last_screen(&out, "borrow");
    assert_eq!(borrow["online"], false);
    assert_eq!(
        circulation::item_line(last_screen(&out, "summary"), &book)["state"],
        "done_offline"
    );
    // Offline, the local rules decide: a patron the kiosk has never seen may not borrow.
    assert_eq!(lookups[1]["outcome"], "unavailable");
    assert_eq!(last_screen(&out, "refused")["notice"], "offline_rules");
    // Back online, the queued loan reaches the ILS.
    assert!(kiosk.ils.loans_of(&known).contains(&book));
}
