//! The command line as a technician uses it: exit codes, messages, output formats.

mod common;

use common::{run, selfcheck, text};

#[test]
fn config_check_names_the_wrong_key_and_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[ils]\nserver = \"ils:99999\"\n[rfid]\nafi_on_loan = 0xC2\n",
    )
    .expect("write");
    let out = run(selfcheck().args(["config", "check"]).arg(&bad));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("ils.server"), "{err}");
    assert!(err.contains("rfid.afi_on_loan"), "{err}");

    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[terminal]\nidel_timeout_secs = 30\n").expect("write");
    let out = run(selfcheck().args(["config", "check"]).arg(&unknown));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("idel_timeout_secs") && err.contains("line 2"),
        "{err}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[terminal]\nid = \"k9\"\n").expect("write");
    let out = run(selfcheck().args(["config", "check"]).arg(&good));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn config_show_hides_secrets() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[ils]\nserver = \"ils.example.org:6001\"\nuser = \"kiosk\"\npassword = \"hunter2\"\n",
    )
    .expect("write");
    let out = run(selfcheck()
        .arg("--config")
        .arg(&file)
        .args(["config", "show"]));
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("ils.example.org:6001"), "{shown}");
}

#[test]
fn version() {
    let out = run(selfcheck().arg("--version"));
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("selfcheck "));
}

#[test]
fn sip2_against_the_demo_ils() {
    let out = run(selfcheck().args(["sip2", "status"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("message: acs_status"));

    let out = run(selfcheck().args(["sip2", "--json", "item", "30000000000019"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["response"]["message"], "item_information_response");
}

#[test]
fn sip2_checkout_against_a_pysip2_server() {
    let Some(python) = common::python() else {
        return;
    };
    let mut cmd = std::process::Command::new(python);
    cmd.arg(common::interop_script("fault_server.py"))
        .arg("reordered");
    let server = common::start_server(cmd);
    let out = run(selfcheck().args([
        "sip2",
        "--server",
        &format!("127.0.0.1:{}", server.port),
        "--user",
        "kiosk",
        "--password",
        "pw",
        "checkout",
        "21000000000012",
        "31000000000011",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("message: checkout_response"), "{stdout}");
}

#[test]
fn sip2_unreachable_fails_with_a_clear_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[ils]\nrequest_timeout_secs = 1\nretries = 0\n").expect("write");
    let out = run(selfcheck().arg("--config").arg(&file).args([
        "sip2",
        "--server",
        &format!("127.0.0.1:{port}"),
        "status",
    ]));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("error: no exchange with the ILS"), "{err}");
}

#[test]
fn tag_decode_and_encode() {
    let out = run(selfcheck().args([
        "tag",
        "decode",
        "11010131313232333334340000000000000000513e4445373035000000000000",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("11223344"));

    let out = run(selfcheck().args([
        "tag",
        "encode",
        "--id",
        "31234000012345",
        "--owner",
        "IT-RM0001",
        "--parts",
        "2/3",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let image: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let memory = image["memory"].as_str().expect("memory");
    let out = run(selfcheck().args(["tag", "decode", "--json", memory]));
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(decoded["primary_id"], "31234000012345", "{decoded}");

    let out = run(selfcheck().args(["tag", "decode", "not hex"]));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not hex"));

    let out = run(selfcheck().args(["tag", "encode", "--id", "1", "--owner", "nohyphen"]));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--owner"));
}

#[test]
fn tag_write_and_scan_on_the_simulated_pad() {
    let dir = tempfile::tempdir().expect("tmp");
    let pad = dir.path().join("pad.toml");
    std::fs::write(&pad, "[[tag]]\nuid = \"E004010012345678\"\n").expect("write");
    let out = run(selfcheck()
        .args([
            "tag",
            "write",
            "--id",
            "31234000012345",
            "--owner",
            "IT-RM0001",
            "--sim-file",
        ])
        .arg(&pad));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("verified"),
        "{}",
        text(&out.stdout)
    );

    let out = run(selfcheck()
        .args(["tag", "scan", "--json", "--sim-file"])
        .arg(&pad));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(tags.as_array().map(Vec::len), Some(1));
}

#[test]
fn barcode_check() {
    let out = run(selfcheck().args(["barcode", "check", "978-0-306-40615-7"]));
    assert!(out.status.success());
    let out = run(selfcheck().args(["barcode", "check", "--json", "9780306406158"]));
    assert!(!out.status.success(), "a wrong check digit is a failure");
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(b["valid"], false);
}

#[test]
fn demo_ils_command_serves_checkouts() {
    use selfcheck::sip2::demo_ils::sample::with_luhn;
    let mut cmd = selfcheck();
    cmd.args(["demo-ils", "--listen", "127.0.0.1:0"]);
    let server = common::start_server(cmd);
    let patron = with_luhn("2100000000002").expect("card");
    let item = with_luhn("3100000000001").expect("item");
    let out = run(selfcheck().args([
        "sip2",
        "--json",
        "--server",
        &format!("127.0.0.1:{}", server.port),
        "checkout",
        &patron,
        &item,
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["response"]["message"], "checkout_response");
    assert_eq!(json["response"]["ok"], true, "{json}");
    assert_eq!(json["response"]["title_id"], "红楼梦");
}

/// The settings file the Debian package installs as its conffile: valid as shipped (every
/// line commented: the demo), and its examples valid too once uncommented, so a technician
/// who uncomments one gets a working kiosk. `## ` lines are prose, `# ` lines settings.
#[test]
fn the_packaged_settings_file_is_valid_and_so_are_its_examples() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hw/debian/config.toml");
    let settings = selfcheck::config::Settings::load(&shipped).expect("valid as shipped");
    assert_eq!(settings, selfcheck::config::Settings::default());

    let shipped_text = std::fs::read_to_string(&shipped).expect("read");
    let examples: String = shipped_text
        .lines()
        .filter(|line| !line.starts_with("##"))
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .map(|line| format!("{line}\n"))
        .collect();
    let uncommented = selfcheck::config::Settings::parse(&examples, &shipped)
        .unwrap_or_else(|e| panic!("{e}\n{examples}"));
    assert!(!uncommented.ils.is_demo());
    assert_eq!(uncommented.display.output.as_deref(), Some("HDMI-A-1"));

    let out = run(selfcheck().args(["config", "check"]).arg(&shipped));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The kiosk's systemd unit starts the kiosk with arguments this binary takes, with the
/// packaged settings file and the service's data directory.
#[test]
fn the_service_starts_the_kiosk_with_arguments_it_takes() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hw/systemd/selfcheck.service"),
    )
    .expect("unit");
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/selfcheck"));
    let args: Vec<&str> = words.collect();
    let joined = args.join(" ");
    assert!(
        joined.contains("--config /etc/selfcheck/config.toml"),
        "{joined}"
    );
    assert!(joined.contains("--data-dir /var/lib/selfcheck"), "{joined}");
    assert!(joined.ends_with("run --fullscreen"), "{joined}");
    let out = run(selfcheck().args(&args).arg("--help"));
    assert!(out.status.success(), "{joined}: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("--fullscreen"));
}

#[test]
fn the_data_model_setting_chooses_what_tags_get_written_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("config.toml");
    let encode = |config: &str| {
        std::fs::write(&file, config).expect("write");
        let out = run(selfcheck().args([
            "--config",
            file.to_str().expect("path"),
            "tag",
            "encode",
            "--id",
            "31234000012345",
            "--owner",
            "IT-RM0001",
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let image: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        image["decoded"]["model"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(encode("[rfid]\ndata_model = \"28560-2\"\n"), "iso28560_2");
    assert_eq!(encode("[rfid]\ndata_model = \"28560-3\"\n"), "iso28560_3");
    assert_eq!(encode("[rfid]\ndata_model = \"auto\"\n"), "iso28560_3");
}

#[test]
fn config_show_has_the_patron_cache_days() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "[offline]\npatron_cache_days = 12\n").expect("write");
    let out = run(selfcheck().args(["--config", file.to_str().expect("path"), "config", "show"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("patron_cache_days = 12"),
        "{}",
        text(&out.stdout)
    );
    std::fs::write(&file, "[offline]\npatron_cache_days = 0\n").expect("write");
    let out = run(selfcheck().args(["--config", file.to_str().expect("path"), "config", "check"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("offline.patron_cache_days"),
        "{}",
        text(&out.stderr)
    );
}
