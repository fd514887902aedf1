//! The lobby's MQTT subscription: every terminal topic of one site or of the fleet, read only.
//! The messages go, with the time they came, over a bounded channel to the window's thread,
//! which feeds the view model. A lost broker is retried with backoff (the fleet's [`Link`]);
//! on every new connection the subscriptions are made again, and the broker sends the retained
//! state, health and metrics of every terminal, so the figures are whole again at once.

use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::fleet::topics::{self, Kind};
use crate::fleet::{BrokerAddr, Link, LinkEvent, LinkOptions};

/// Messages waiting for the window before new ones are dropped (a few seconds of a busy fleet).
pub const BACKLOG: usize = 50_000;

/// What the feed tells the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    Connected,
    Disconnected(String),
    Message {
        topic: String,
        payload: Vec<u8>,
        at: DateTime<Utc>,
    },
}

/// Where to subscribe.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    pub link: LinkOptions,
    pub prefix: String,
    pub site: Option<String>,
}

impl FeedOptions {
    /// From the settings (`[telemetry]` names the broker, its user and the prefix; `[lobby]`
    /// the site), with `--broker` and `--site` from the command line over them.
    pub fn from_settings(
        settings: &Settings,
        broker: Option<&str>,
        site: Option<&str>,
    ) -> Result<FeedOptions, String> {
        let t = &settings.telemetry;
        let broker_text = broker.unwrap_or(&t.broker);
        let broker_addr = BrokerAddr::parse(broker_text).map_err(|e| format!("--broker: {e}"))?;
        let site = site
            .map(str::to_string)
            .or_else(|| settings.lobby.site.clone())
            .filter(|s| !s.is_empty());
        if let Some(s) = &site {
            crate::fleet::settings::check_topic_level(s).map_err(|e| format!("--site: {e}"))?;
        }
        let terminal = crate::fleet::terminal_id(&settings.terminal.id);
        Ok(FeedOptions {
            link: LinkOptions {
                client_id: format!("{terminal}-lobby"),
                ca_file: if broker_addr.is_tls() {
                    t.ca_file.clone()
                } else {
                    None
                },
                broker: broker_addr,
                user: t.user.clone(),
                password: t.password.clone(),
                keep_alive: Duration::from_secs(u64::from(t.keep_alive_secs.max(5))),
                will: None,
            },
            prefix: t.topic_prefix.clone(),
            site,
        })
    }

    /// The topic filters the lobby subscribes to.
    pub fn filters(&self) -> Vec<String> {
        Kind::ALL
            .iter()
            .map(|k| topics::fleet_filter(&self.prefix, self.site.as_deref(), *k))
            .collect()
    }
}

/// Start the subscription on `runtime`; the events come on the returned receiver. It runs
/// until the receiver is dropped.
pub fn start(
    options: FeedOptions,
    runtime: &tokio::runtime::Handle,
) -> Result<mpsc::Receiver<FeedEvent>, String> {
    let (tx, rx) = mpsc::sync_channel(BACKLOG);
    let filters = options.filters();
    let _guard = runtime.enter();
    let (link, mut events) = Link::open(&options.link)?;
    runtime.spawn(async move {
        let mut dropped = 0u64;
        while let Some(event) = events.recv().await {
            let out = match event {
                LinkEvent::Connected => {
                    for f in &filters {
                        if !link.subscribe(f) {
                            tracing::warn!("cannot subscribe to {f} now");
                        }
                    }
                    tracing::info!("lobby connected to the broker");
                    FeedEvent::Connected
                }
                LinkEvent::Disconnected(reason) => {
                    tracing::warn!("lobby lost the broker: {reason}");
                    FeedEvent::Disconnected(reason)
                }
                LinkEvent::Message { topic, payload, .. } => FeedEvent::Message {
                    topic,
                    payload,
                    at: Utc::now(),
                },
                LinkEvent::Acked(_) => continue,
            };
            match tx.try_send(out) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(_)) => {
                    dropped += 1;
                    if dropped.is_power_of_two() {
                        tracing::warn!("lobby behind the broker: {dropped} messages dropped");
                    }
                }
                Err(mpsc::TrySendError::Disconnected(_)) => break,
            }
        }
        link.disconnect();
    });
    Ok(rx)
}
