//! `selfcheck doctor` as a technician runs it: the simulated board passes, a board file
//! pointing at missing devices fails with each device named and a fix.

mod common;

use common::{run, selfcheck, text};
use serde_json::Value;

fn doctor(board: &str, data_dir: &std::path::Path) -> (std::process::Output, Value) {
    let out = run(selfcheck()
        .args(["--board", board, "--data-dir"])
        .arg(data_dir)
        .args(["doctor", "--json"]));
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)));
    (out, report)
}

fn checks(report: &Value) -> Vec<Value> {
    report["checks"].as_array().cloned().expect("checks array")
}

#[test]
fn the_simulated_board_has_what_a_kiosk_needs() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, report) = doctor("sim", dir.path());
    assert!(out.status.success(), "{report:#}");
    assert_eq!(report["ok"], true);
    let checks = checks(&report);
    for name in [
        "board",
        "reader",
        "patron card reader",
        "disk",
        "settings",
        "ils",
        "broker",
    ] {
        let check = checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check in {report:#}"));
        assert_eq!(check["ok"], true, "{check:#}");
    }
    for c in &checks {
        for field in ["name", "ok", "detail", "fix"] {
            assert!(!c[field].is_null(), "{field} missing in {c:#}");
        }
    }

    let text_out = run(selfcheck()
        .args(["--board", "sim", "--data-dir"])
        .arg(dir.path())
        .arg("doctor"));
    assert!(text_out.status.success());
    let lines = text(&text_out.stdout);
    assert!(
        lines.lines().any(|l| l.starts_with("ok   ils: ")),
        "{lines}"
    );
}

#[test]
fn a_board_pointing_at_missing_devices_fails_naming_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let board = dir.path().join("missing.toml");
    std::fs::write(
        &board,
        "name = \"missing\"\n[rfid]\nreader = \"pn5180\"\n[rfid.pn5180]\n\
         spidev = \"/nonexistent/spidev9.9\"\ngpiochip = \"/nonexistent/gpiochip9\"\n\
         busy_line = 25\nreset_line = 7\n[patron_card]\nreader = \"pn5180\"\n\
         [scanner]\nkind = \"serial\"\nport = \"/nonexistent/ttyACM9\"\n",
    )
    .expect("write");
    let (out, report) = doctor(board.to_str().expect("utf-8"), dir.path());
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["ok"], false);
    let checks = checks(&report);
    for (name, path) in [
        ("device rfid.pn5180.spidev", "/nonexistent/spidev9.9"),
        ("device rfid.pn5180.gpiochip", "/nonexistent/gpiochip9"),
        ("device scanner.port", "/nonexistent/ttyACM9"),
    ] {
        let check = checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check in {report:#}"));
        assert_eq!(check["ok"], false, "{check:#}");
        assert!(
            check["detail"].as_str().is_some_and(|d| d.contains(path)),
            "{check:#}"
        );
        assert!(
            check["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "{check:#}"
        );
    }
    let reader = checks
        .iter()
        .find(|c| c["name"] == "reader")
        .expect("reader check");
    assert_eq!(reader["ok"], false, "{reader:#}");
}

#[test]
fn an_invalid_board_file_is_one_clear_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let board = dir.path().join("bad.toml");
    std::fs::write(&board, "name = \"bad\"\n[rfid]\nreader = \"acme\"\n").expect("write");
    let (out, report) = doctor(board.to_str().expect("utf-8"), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let first = &checks(&report)[0];
    assert_eq!(first["name"], "board");
    assert_eq!(first["ok"], false);
    assert!(
        first["detail"]
            .as_str()
            .is_some_and(|d| d.contains("bad.toml")),
        "{first:#}"
    );
}
