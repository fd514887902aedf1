//! The link to the library system: the SIP2 client straight to the ILS in the settings (plain
//! TCP or TLS, the certificate checked against the server's own host name), or to the demo ILS
//! started in-process when the settings say `demo`.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::sip2::client::{LinkGate, Sip2Handle};
use crate::sip2::demo_ils::{DemoIls, ServerConfig, ServerHandle};

/// The ILS the kiosk talks to.
pub struct IlsLink {
    pub sip2: Sip2Handle,
    /// The switch the headless driver cuts the link with (`None` on a kiosk).
    pub gate: Option<LinkGate>,
    /// The in-process demo ILS, when it is the demo.
    pub demo: Option<(DemoIls, ServerHandle)>,
}

/// How a link is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// Reconnect within a fraction of a second (the headless driver's scripts cut and restore
    /// the link on purpose and should not wait out a kiosk's backoff).
    pub fast_reconnect: bool,
    /// Give the link a [`LinkGate`] that the headless driver can cut.
    pub gated: bool,
}

/// Start the demo ILS when the settings say `demo`, and the SIP2 client.
pub async fn connect_ils(settings: &Settings, options: LinkOptions) -> Result<IlsLink> {
    let (addr, demo) = if settings.ils.is_demo() {
        let ils = DemoIls::open(None).context("cannot open the demo ILS")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = ils
            .serve(
                listener,
                ServerConfig {
                    institution: settings.terminal.institution.clone(),
                    library_name: settings.terminal.library_name.clone(),
                    ..ServerConfig::default()
                },
            )
            .await
            .context("cannot start the demo ILS")?;
        (server.local_addr().to_string(), Some((ils, server)))
    } else {
        (settings.ils.server.clone(), None)
    };
    let mut cfg = crate::tools::sip2::client_config(settings, &addr).map_err(anyhow::Error::msg)?;
    if options.fast_reconnect {
        cfg.reconnect_min = Duration::from_millis(50);
        cfg.reconnect_max = Duration::from_millis(300);
    }
    cfg.connections = usize::from(settings.ils.connections.max(1));
    let gate = options.gated.then(LinkGate::default);
    cfg.gate = gate.clone();
    let sip2 = Sip2Handle::spawn(cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(IlsLink { sip2, gate, demo })
}
