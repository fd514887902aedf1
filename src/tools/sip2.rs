//! `selfcheck sip2 ...`: one SIP2 exchange with the ILS, for staff checking a link. Options
//! default to the settings file; with the demo settings it talks to a demo ILS started for
//! the occasion.

use std::time::Duration;

use serde::Serialize;

use crate::config::Settings;
use crate::sip2::client::{ClientConfig, ClientError, Sip2Handle, TlsConfig};
use crate::sip2::demo_ils::{DemoIls, ServerConfig};
use crate::sip2::{
    Charset, Checkin, Checkout, EndPatronSession, ItemInformation, Message, PatronInformation,
    Renew, ScStatus, Summary,
};

/// Overrides of the `[ils]` and `[terminal]` settings for one exchange.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    pub server: Option<String>,
    pub tls: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    pub location: Option<String>,
    pub institution: Option<String>,
    pub charset: Option<String>,
}

/// What to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    Status,
    Patron { patron: String, pin: Option<String> },
    Checkout { patron: String, item: String },
    Checkin { item: String },
    Renew { patron: String, item: String },
    Item { item: String },
    End { patron: String },
}

/// What was asked and what came back.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub server: String,
    pub request: Message,
    pub response: Message,
}

#[derive(Debug, thiserror::Error)]
pub enum Sip2ToolError {
    #[error("{0}")]
    Settings(String),
    #[error("cannot start the demo ILS: {0}")]
    Demo(String),
    #[error("no exchange with the ILS at {server}: {source}")]
    Link { server: String, source: ClientError },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// The client settings for the ILS link, from the settings file.
pub fn client_config(settings: &Settings, addr: &str) -> Result<ClientConfig, String> {
    let ils = &settings.ils;
    let charset: Charset = ils
        .charset
        .parse()
        .map_err(|e| format!("ils.charset: {e}"))?;
    let mut config = ClientConfig::new(addr);
    config.tls = ils.tls.then(|| TlsConfig {
        ca_file: ils.ca_file.clone(),
        server_name: ils.tls_server_name.clone(),
        client_auth: ils.client_cert.clone().zip(ils.client_key.clone()),
    });
    config.login = (!ils.user.is_empty()).then(|| {
        (
            ils.user.clone(),
            ils.password.clone(),
            settings.terminal.location.clone(),
        )
    });
    config.institution = settings.terminal.institution.clone();
    config.terminal_password = ils.terminal_password.clone();
    config.charset = charset;
    config.error_detection = ils.error_detection;
    config.connect_timeout = Duration::from_secs(u64::from(ils.connect_timeout_secs));
    config.request_timeout = Duration::from_secs(u64::from(ils.request_timeout_secs));
    config.heartbeat = Duration::from_secs(u64::from(ils.heartbeat_secs));
    config.max_retries = ils.retries;
    Ok(config)
}

/// Apply command-line overrides to a copy of the settings.
fn with_overrides(settings: &Settings, o: &LinkOptions) -> Settings {
    let mut s = settings.clone();
    if let Some(server) = &o.server {
        s.ils.server = server.clone();
    }
    if o.tls {
        s.ils.tls = true;
    }
    if let Some(user) = &o.user {
        s.ils.user = user.clone();
    }
    if let Some(password) = &o.password {
        s.ils.password = password.clone();
    }
    if let Some(location) = &o.location {
        s.terminal.location = location.clone();
    }
    if let Some(institution) = &o.institution {
        s.terminal.institution = institution.clone();
    }
    if let Some(charset) = &o.charset {
        s.ils.charset = charset.clone();
    }
    s
}

/// The request message for an exchange (AO, AC and dates are filled in by the client).
pub fn request(exchange: &Exchange) -> Message {
    match exchange.clone() {
        Exchange::Status => Message::ScStatus(ScStatus {
            max_print_width: 80,
            protocol_version: "2.00".into(),
            ..ScStatus::default()
        }),
        Exchange::Patron { patron, pin } => Message::PatronInformation(PatronInformation {
            summary: Summary::default(),
            patron_id: patron,
            patron_password: pin,
            ..PatronInformation::default()
        }),
        Exchange::Checkout { patron, item } => Message::Checkout(Checkout {
            sc_renewal_policy: true,
            patron_id: patron,
            item_id: item,
            ..Checkout::default()
        }),
        Exchange::Checkin { item } => Message::Checkin(Checkin {
            item_id: item,
            ..Checkin::default()
        }),
        Exchange::Renew { patron, item } => Message::Renew(Renew {
            patron_id: patron,
            item_id: Some(item),
            ..Renew::default()
        }),
        Exchange::Item { item } => Message::ItemInformation(ItemInformation {
            item_id: item,
            ..ItemInformation::default()
        }),
        Exchange::End { patron } => Message::EndPatronSession(EndPatronSession {
            patron_id: patron,
            ..EndPatronSession::default()
        }),
    }
}

/// Make one exchange and return both messages.
pub fn run(
    settings: &Settings,
    options: &LinkOptions,
    exchange: &Exchange,
) -> Result<Outcome, Sip2ToolError> {
    let settings = with_overrides(settings, options);
    let problems = settings.problems();
    if let Some(p) = problems.first() {
        return Err(Sip2ToolError::Settings(p.to_string()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Sip2ToolError::Runtime)?;
    runtime.block_on(async {
        // The demo ILS lives as long as this exchange.
        let mut demo = None;
        let server = if settings.ils.is_demo() {
            let ils = DemoIls::open(None).map_err(|e| Sip2ToolError::Demo(e.to_string()))?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| Sip2ToolError::Demo(e.to_string()))?;
            let handle = ils
                .serve(
                    listener,
                    ServerConfig {
                        institution: settings.terminal.institution.clone(),
                        ..ServerConfig::default()
                    },
                )
                .await
                .map_err(|e| Sip2ToolError::Demo(e.to_string()))?;
            let addr = handle.local_addr().to_string();
            demo = Some(handle);
            addr
        } else {
            settings.ils.server.clone()
        };
        let config = client_config(&settings, &server).map_err(Sip2ToolError::Settings)?;
        let link_error = |source| Sip2ToolError::Link {
            server: server.clone(),
            source,
        };
        let client = Sip2Handle::spawn(config).map_err(link_error)?;
        let request = request(exchange);
        let response = client.request(request.clone()).await.map_err(link_error)?;
        if let Some(handle) = demo {
            handle.shutdown().await;
        }
        Ok(Outcome {
            server,
            request,
            response,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_config_follows_the_settings() {
        let mut s = Settings::default();
        s.ils.user = "kiosk".into();
        s.ils.password = "pw".into();
        s.ils.charset = "cp850".into();
        s.terminal.location = "B7".into();
        let c = client_config(&s, "ils:6001").expect("config");
        assert_eq!(c.addr, "ils:6001");
        assert_eq!(c.login, Some(("kiosk".into(), "pw".into(), "B7".into())));
        assert_eq!(c.charset, Charset::Cp850);
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert!(c.tls.is_none());
    }

    #[test]
    fn overrides_win() {
        let s = with_overrides(
            &Settings::default(),
            &LinkOptions {
                server: Some("h:1".into()),
                tls: true,
                institution: Some("X".into()),
                ..LinkOptions::default()
            },
        );
        assert_eq!(s.ils.server, "h:1");
        assert!(s.ils.tls);
        assert_eq!(s.terminal.institution, "X");
    }

    #[test]
    fn bad_override_is_a_settings_error() {
        let err = run(
            &Settings::default(),
            &LinkOptions {
                server: Some("nowhere".into()),
                ..LinkOptions::default()
            },
            &Exchange::Status,
        )
        .expect_err("bad server");
        assert!(err.to_string().contains("ils.server"), "{err}");
    }

    #[test]
    fn status_against_the_demo() {
        let out = run(
            &Settings::default(),
            &LinkOptions::default(),
            &Exchange::Status,
        )
        .expect("exchange");
        match out.response {
            Message::AcsStatus(acs) => assert!(acs.online_status),
            other => panic!("expected 98, got {other:?}"),
        }
    }

    #[test]
    fn unreachable_server_fails_cleanly() {
        // A port nobody listens on: bind then drop to find one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut s = Settings::default();
        s.ils.request_timeout_secs = 1;
        s.ils.retries = 0;
        let err = run(
            &s,
            &LinkOptions {
                server: Some(format!("127.0.0.1:{port}")),
                ..LinkOptions::default()
            },
            &Exchange::Item { item: "3".into() },
        )
        .expect_err("nobody there");
        assert!(err.to_string().contains("no exchange"), "{err}");
    }
}
