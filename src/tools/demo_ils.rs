//! `selfcheck demo-ils`: the demo library system as a SIP2 server of its own, for sites
//! testing kiosks and for tests that need an ILS outliving a kiosk process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sip2::demo_ils::{
    DemoIls, ImportReport, ServerConfig, ServerHandle, WatchedFolder, sample,
};

/// How often a watched folder is looked at.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DemoIlsToolError {
    #[error("cannot open the demo catalogue: {0}")]
    Open(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Open the catalogue (a file that survives restarts, or in memory) and serve it.
pub async fn start(
    db: Option<&Path>,
    listen: &str,
    config: ServerConfig,
) -> Result<(DemoIls, ServerHandle), DemoIlsToolError> {
    let ils = DemoIls::open(db).map_err(|e| DemoIlsToolError::Open(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DemoIlsToolError::Listen {
            addr: listen.into(),
            source,
        })?;
    let handle = ils
        .serve(listener, config)
        .await
        .map_err(|e| DemoIlsToolError::Open(e.to_string()))?;
    Ok((ils, handle))
}

/// The lines printed when the server is up: where it listens, and the demo cards to try.
pub fn banner(addr: SocketAddr) -> String {
    let mut out = format!("demo ILS listening on {addr}\n");
    out.push_str("demo patron cards (card, name, PIN):\n");
    for (card, name, pin) in sample::demo_cards() {
        out.push_str(&format!("  {card}  {name}  {pin}\n"));
    }
    out
}

/// One line about an imported file.
pub fn import_summary(path: &Path, report: &ImportReport) -> String {
    let mut line = format!(
        "imported {}: {} record(s), {} item(s) added, {} already known",
        path.display(),
        report.records,
        report.added.len(),
        report.known.len()
    );
    for problem in &report.problems {
        line.push_str(&format!("\n  skipped {problem}"));
    }
    line
}

/// Import new `.mrc` files appearing in `dir`, for as long as the task runs.
pub async fn watch(ils: DemoIls, dir: PathBuf) {
    let mut folder = WatchedFolder::new(&dir);
    let mut tick = tokio::time::interval(WATCH_EVERY);
    loop {
        tick.tick().await;
        match folder.poll(&ils) {
            Ok(done) => {
                for (path, report) in done {
                    println!("{}", import_summary(&path, &report));
                }
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot import from the watched folder: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_and_names_its_cards() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (_ils, handle) = start(None, "127.0.0.1:0", ServerConfig::default())
                .await
                .expect("start");
            let text = banner(handle.local_addr());
            assert!(text.contains("127.0.0.1:"));
            assert!(text.lines().count() > 3, "{text}");
            handle.shutdown().await;
        });
        let err = rt
            .block_on(start(None, "256.0.0.1:1", ServerConfig::default()))
            .err()
            .expect("bad address");
        assert!(err.to_string().contains("256.0.0.1:1"), "{err}");
    }
}
