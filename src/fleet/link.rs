//! The MQTT connection: rumqttc's event loop, polled without pause by a task of its own (its
//! `poll` must not be cancelled half-way), and the bookkeeping that ties a broker's PUBACK to
//! the outbox row it acknowledges.
//!
//! rumqttc numbers publishes itself and tells only the number (`Outgoing::Publish(pkid)`), in
//! the order the requests were taken. So every publish made here is noted, in order, in a
//! queue; each `Outgoing::Publish` takes the oldest note and files it under its packet id; a
//! PUBACK then names the row. With a clean session rumqttc forgets unacknowledged publishes
//! at a disconnect, and so does this: the gate closes (nothing more is handed to rumqttc until
//! the next CONNACK), the notes are cleared, and the publisher sends the rows again, once
//! each, on the new connection.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, Transport,
};
use tokio::sync::{mpsc, watch};

use super::settings::BrokerAddr;

/// Longest wait between two connection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Requests rumqttc holds before `publish` says it is full.
const REQUESTS: usize = 64;
/// Publishes awaiting their PUBACK that rumqttc allows; the publisher keeps well below it.
pub const INFLIGHT: u16 = 40;

/// How to reach the broker and who to be there.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub client_id: String,
    pub broker: BrokerAddr,
    pub user: String,
    pub password: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub keep_alive: Duration,
    /// Topic and payload of the retained last will.
    pub will: Option<(String, String)>,
}

impl LinkOptions {
    fn mqtt(&self) -> Result<MqttOptions, String> {
        let (host, port) = self.broker.host_port();
        let mut options = MqttOptions::new(self.client_id.clone(), host, port);
        options
            .set_keep_alive(self.keep_alive)
            .set_clean_session(true)
            .set_inflight(INFLIGHT)
            .set_max_packet_size(256 * 1024, 256 * 1024);
        if !self.user.is_empty() {
            options.set_credentials(self.user.clone(), self.password.clone());
        }
        if let Some((topic, payload)) = &self.will {
            options.set_last_will(LastWill::new(
                topic.clone(),
                payload.clone(),
                QoS::AtLeastOnce,
                true,
            ));
        }
        if self.broker.is_tls() {
            let config = crate::tls::client_config(self.ca_file.as_deref())?;
            options.set_transport(Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
            ));
        }
        Ok(options)
    }
}

/// What the connection tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    Connected,
    /// The connection failed or was lost; everything unacknowledged must be sent again.
    Disconnected(String),
    /// The broker acknowledged the publish made with this row.
    Acked(i64),
    /// A message on a subscribed topic.
    Message {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    },
}

/// What a publish was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    Row(i64),
    Other,
}

#[derive(Debug, Default)]
struct Flight {
    open: bool,
    /// Publishes handed to rumqttc and not yet numbered, oldest first.
    queued: VecDeque<Note>,
    /// Publishes numbered and awaiting their PUBACK.
    numbered: HashMap<u16, Note>,
}

/// The owner's side of the connection. Dropping it stops the event loop task.
pub struct Link {
    client: AsyncClient,
    flight: Arc<Mutex<Flight>>,
    stop: watch::Sender<bool>,
}

fn lock(flight: &Mutex<Flight>) -> MutexGuard<'_, Flight> {
    flight.lock().unwrap_or_else(|e| e.into_inner())
}

impl Link {
    /// Start connecting (in the background, retrying with backoff) on the current tokio
    /// runtime. The events come on the returned receiver.
    pub fn open(options: &LinkOptions) -> Result<(Link, mpsc::Receiver<LinkEvent>), String> {
        let (client, eventloop) = AsyncClient::new(options.mqtt()?, REQUESTS);
        let flight = Arc::new(Mutex::new(Flight::default()));
        let (events, rx) = mpsc::channel(256);
        let (stop, stopped) = watch::channel(false);
        let jitter = backoff_jitter(&options.client_id);
        tokio::spawn(pump(eventloop, flight.clone(), events, stopped, jitter));
        Ok((
            Link {
                client,
                flight,
                stop,
            },
            rx,
        ))
    }

    /// Publish with QoS 1; `row` ties the PUBACK to an outbox row. False when not connected
    /// or rumqttc's queue is full: nothing was sent, try again later.
    pub fn publish(&self, topic: &str, payload: Vec<u8>, retain: bool, row: Option<i64>) -> bool {
        let mut flight = lock(&self.flight);
        if !flight.open {
            return false;
        }
        match self
            .client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
        {
            Ok(()) => {
                flight.queued.push_back(row.map_or(Note::Other, Note::Row));
                true
            }
            Err(e) => {
                tracing::debug!("publish to {topic} not taken now: {e}");
                false
            }
        }
    }

    pub fn subscribe(&self, filter: &str) -> bool {
        self.client.try_subscribe(filter, QoS::AtLeastOnce).is_ok()
    }

    /// Say goodbye to the broker (no last will); the event loop then ends.
    pub fn disconnect(&self) {
        lock(&self.flight).open = false;
        let _ = self.client.try_disconnect();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A per-client spread of the retry times, so that a fleet does not reconnect in step after
/// its broker restarts.
fn backoff_jitter(client_id: &str) -> Duration {
    use std::hash::BuildHasher;
    let hash = std::collections::hash_map::RandomState::new().hash_one(client_id);
    Duration::from_millis(hash % 1000)
}

async fn pump(
    mut eventloop: EventLoop,
    flight: Arc<Mutex<Flight>>,
    events: mpsc::Sender<LinkEvent>,
    mut stop: watch::Receiver<bool>,
    jitter: Duration,
) {
    let mut backoff = Duration::from_secs(1);
    let mut failures = 0u32;
    loop {
        let polled = tokio::select! {
            polled = eventloop.poll() => polled,
            _ = stop.changed() => return,
        };
        let event = match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                lock(&flight).open = true;
                backoff = Duration::from_secs(1);
                failures = 0;
                Some(LinkEvent::Connected)
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                match lock(&flight).numbered.remove(&ack.pkid) {
                    Some(Note::Row(row)) => Some(LinkEvent::Acked(row)),
                    _ => None,
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Some(LinkEvent::Message {
                topic: p.topic,
                payload: p.payload.to_vec(),
                retain: p.retain,
            }),
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let mut flight = lock(&flight);
                // A number already noted is rumqttc sending the same publish again.
                if !flight.numbered.contains_key(&pkid)
                    && let Some(note) = flight.queued.pop_front()
                    && pkid != 0
                {
                    flight.numbered.insert(pkid, note);
                }
                None
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                let _ = events.send(LinkEvent::Disconnected("closed".into())).await;
                return;
            }
            Ok(_) => None,
            Err(e) => {
                {
                    let mut flight = lock(&flight);
                    flight.open = false;
                    flight.queued.clear();
                    flight.numbered.clear();
                    // What rumqttc would send again on a session the broker no longer has.
                    eventloop.clean();
                    eventloop.pending.clear();
                }
                failures = failures.saturating_add(1);
                if events
                    .send(LinkEvent::Disconnected(e.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                let wait = backoff + if failures > 1 { jitter } else { Duration::ZERO };
                backoff = (backoff * 2).min(BACKOFF_MAX);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
                None
            }
        };
        if let Some(event) = event
            && events.send(event).await.is_err()
        {
            return;
        }
    }
}
