//! The embedded MQTT broker (rumqttd) for a single site and the demo: on loopback unless told
//! otherwise, with sizes fit for a Raspberry Pi. Retained messages and last wills work; they
//! live in memory only, so a restarted embedded broker forgets them until each kiosk
//! reconnects and publishes again. A real fleet runs Mosquitto or EMQX (docs/fleet.md).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Where `selfcheck broker` listens by default.
pub const DEFAULT_LISTEN: &str = super::settings::EMBEDDED_ADDR;

/// Kiosks, lobby screens and tools of one site, with room to spare.
const MAX_CONNECTIONS: usize = 200;
/// The largest message taken: a `settings` command is the biggest we send.
const MAX_PAYLOAD: usize = 128 * 1024;
/// Messages a connection may have unacknowledged.
const MAX_INFLIGHT: usize = 100;
/// rumqttd keeps each subscription's messages in a log of segments in memory; its shipped
/// 100 MiB x 10 would let one busy lobby take a Pi's memory.
const SEGMENT_SIZE: usize = 256 * 1024;
const SEGMENT_COUNT: usize = 4;
/// Messages sent to a connection in one go.
const OUTGOING_BATCH: u64 = 200;
/// How long a new connection may take to send its CONNECT.
const CONNECT_TIMEOUT_MS: u16 = 10_000;
/// How long to wait for the broker to accept connections after starting it.
const START_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("\"{addr}\" is not a socket address to listen on: {reason}")]
    Address { addr: String, reason: String },
    #[error("the MQTT broker cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the MQTT broker did not start on {0}")]
    NotStarted(SocketAddr),
    #[error("cannot start the broker thread: {0}")]
    Thread(std::io::Error),
}

/// The running broker. It runs until the process ends (rumqttd has no way to stop it).
#[derive(Debug)]
pub struct BrokerHandle {
    addr: SocketAddr,
    _thread: JoinHandle<()>,
}

impl BrokerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Every field of rumqttd's configuration, for one MQTT 3.1.1 listener on `addr`. With
/// `login`, clients must give that user name and password.
fn config(addr: SocketAddr, login: Option<(&str, &str)>) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: CONNECT_TIMEOUT_MS,
        max_payload_size: MAX_PAYLOAD,
        max_inflight_count: MAX_INFLIGHT,
        auth: login.map(|(user, password)| HashMap::from([(user.into(), password.into())])),
        external_auth: None,
        dynamic_filters: true,
    };
    let listener = ServerSettings {
        name: "selfcheck".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: MAX_CONNECTIONS,
            max_outgoing_packet_count: OUTGOING_BATCH,
            max_segment_size: SEGMENT_SIZE,
            max_segment_count: SEGMENT_COUNT,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), listener)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}

/// Start the broker on `addr` (`HOST:PORT`; port 0 picks a free one) in a thread of its own
/// and wait until it accepts connections.
pub fn start_embedded(
    addr: &str,
    login: Option<(&str, &str)>,
) -> Result<BrokerHandle, BrokerError> {
    let bad = |reason: String| BrokerError::Address {
        addr: addr.into(),
        reason,
    };
    let mut socket = addr
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("it resolves to no address".into()))?;
    // rumqttd binds in its own thread and only logs a failure: bind here first to report it
    // (and to learn the port when asked for any).
    let probe = TcpListener::bind(socket).map_err(|source| BrokerError::Listen {
        addr: socket,
        source,
    })?;
    socket = probe.local_addr().map_err(|source| BrokerError::Listen {
        addr: socket,
        source,
    })?;
    drop(probe);

    let mut broker = Broker::new(config(socket, login));
    let thread = std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("the embedded MQTT broker stopped: {e}");
            }
        })
        .map_err(BrokerError::Thread)?;

    let reach = if socket.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), socket.port())
    } else {
        socket
    };
    let started = Instant::now();
    while started.elapsed() < START_WAIT {
        if thread.is_finished() {
            break;
        }
        if TcpStream::connect_timeout(&reach, Duration::from_millis(200)).is_ok() {
            tracing::info!(addr = %socket, "embedded MQTT broker listening");
            return Ok(BrokerHandle {
                addr: socket,
                _thread: thread,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(BrokerError::NotStarted(socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_is_small() {
        let c = config("127.0.0.1:1883".parse().expect("addr"), Some(("k", "p")));
        assert!(c.router.max_segment_size * c.router.max_segment_count <= 2 * 1024 * 1024);
        let v4 = c.v4.expect("listener");
        let listener = v4.values().next().expect("one");
        assert_eq!(listener.connections.auth.as_ref().map(|a| a.len()), Some(1));
        assert!(c.prometheus.is_none() && c.console.is_none());
    }

    #[test]
    fn a_taken_port_is_reported() {
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        let err = start_embedded(&addr, None).expect_err("taken");
        assert!(err.to_string().contains(&addr), "{err}");
        assert!(start_embedded("no port", None).is_err());
    }
}
