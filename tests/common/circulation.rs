//! Shared harness for the circulation scenarios: a demo ILS served in the test, the headless
//! kiosk (library-level driver) pointed at it, and helpers over the JSON lines it writes.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use selfcheck::config::Settings;
use selfcheck::sip2::demo_ils::sample::with_luhn;
use selfcheck::sip2::demo_ils::{DemoIls, ServerConfig, ServerHandle};
use serde_json::Value;

pub fn patron(stem_no: u32) -> String {
    with_luhn(&format!("210000000000{stem_no}")).expect("id")
}

pub fn item(no: u32) -> String {
    with_luhn(&format!("31000000000{no:02}")).expect("id")
}

/// Shelf books of the demo catalogue (sample item numbers).
pub const SHELF_BOOKS: [u32; 12] = [1, 3, 4, 9, 11, 14, 16, 17, 19, 21, 22, 24];

pub struct Site {
    pub ils: DemoIls,
    server: Option<ServerHandle>,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub settings: Settings,
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Site {
    pub fn new() -> Site {
        Site::with_ils(ServerConfig::default())
    }

    /// A site whose demo ILS is served with `config` (one that does not verify PINs, ...).
    pub fn with_ils(config: ServerConfig) -> Site {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let ils = DemoIls::open(None).expect("demo ILS");
        let server = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            ils.serve(listener, config).await.expect("serve")
        });
        let mut settings = Settings::default();
        settings.ils.server = server.local_addr().to_string();
        settings.ils.request_timeout_secs = 3;
        Site {
            ils,
            server: Some(server),
            rt,
            dir: tempfile::tempdir().expect("tmp"),
            settings,
        }
    }

    /// Run one headless kiosk session over these commands; returns its output lines.
    pub fn run(&self, commands: &[Value]) -> Vec<Value> {
        let input: String = commands.iter().map(|c| format!("{c}\n")).collect();
        let out = Buffer::default();
        selfcheck::runtime::headless::run(
            self.settings.clone(),
            self.dir.path(),
            Box::new(std::io::Cursor::new(input.into_bytes())),
            Box::new(out.clone()),
        )
        .expect("headless run");
        let bytes = out.0.lock().expect("out").clone();
        String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    pub fn loans_of(&self, patron: &str) -> Vec<String> {
        self.ils.loans_of(patron).expect("loans")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

pub fn screens(out: &[Value]) -> Vec<&Value> {
    out.iter()
        .filter(|v| v["kind"] == "screen")
        .map(|v| &v["model"])
        .collect()
}

/// The last screen model showing `screen`.
pub fn last_screen<'a>(out: &'a [Value], screen: &str) -> &'a Value {
    screens(out)
        .into_iter()
        .rev()
        .find(|m| m["screen"] == screen)
        .unwrap_or_else(|| panic!("no {screen} screen in {out:#?}"))
}

pub fn item_line<'a>(model: &'a Value, item: &str) -> &'a Value {
    model["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["item_id"] == item))
        .unwrap_or_else(|| panic!("no line for {item} in {model:#}"))
}

pub fn exchanges<'a>(out: &'a [Value], request: &str) -> Vec<&'a Value> {
    out.iter()
        .filter(|v| v["kind"] == "ils" && v["exchange"]["request"] == request)
        .map(|v| &v["exchange"])
        .collect()
}

pub fn identify(patron: &str, pin: &str) -> Vec<Value> {
    vec![
        serde_json::json!({"cmd": "identify", "patron": patron}),
        serde_json::json!({"cmd": "pin", "pin": pin}),
    ]
}

pub fn place(item: &str) -> Value {
    serde_json::json!({"cmd": "place", "item": item})
}
