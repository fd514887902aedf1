//! Shared helpers for scenario tests.
#![allow(dead_code)]

pub mod circulation;
pub mod escpos_printer;
#[cfg(feature = "gui")]
pub mod ui;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The `selfcheck` binary built for these tests.
pub fn selfcheck() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfcheck"));
    // Never pick up the machine's own settings or data.
    cmd.env_remove("SELFCHECK_CONFIG")
        .env_remove("SELFCHECK_BOARD")
        .env_remove("SELFCHECK_DATA_DIR")
        .env("RUST_LOG", "warn");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run selfcheck")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The Python with the independent SIP2 peers installed, when the test run provides one.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("SELFCHECK_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            println!("SKIPPED: SELFCHECK_PYTHON is not set (scripts/test sets it)");
            None
        }
    }
}

pub fn interop_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// A child process killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a server that prints its port (or `... HOST:PORT`) on its first line of output.
pub fn start_server(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read port");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or("")
        .parse()
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("server printed {line:?} instead of a port")
        });
    Server { child, port }
}
