//! The SIP2 client: an actor that owns the link to the ILS.
//!
//! One task owns the socket (plain TCP or TLS) and serves requests one at a time; any number of
//! cloneable [`Sip2Handle`]s talk to it over a bounded channel and get their answer on a
//! oneshot. The task ends when the last handle is dropped.
//!
//! With [`ClientConfig::connections`] above one, that many sessions (each its own connection,
//! login, heartbeat, reconnects and 97 resends, each with one request in flight as SIP2 wants)
//! take requests from the same queue, whichever is free first, so callers that send requests
//! side by side get their answers side by side. The link is online while any session is; a
//! session takes requests only while it is logged in, and the first one refuses them at once
//! (offline) while none is. An ILS that allows one
//! session per account refuses the others: a session that cannot log in at its first try is
//! dropped (and logged), and the kiosk goes on with the sessions that work.
//!
//! Safety rules, because a checkout that reaches the ILS twice lends a book twice:
//! - A corrupt answer (bad checksum, wrong `AY`) or one that does not come in time is asked for
//!   again with 97 ("resend your last response"), never by repeating the request.
//! - A 96 from the ILS ("your message was corrupt") means it did not act: the same bytes are
//!   sent again.
//! - Only idempotent reads (93, 99, 23, 63, 17, 35) are re-sent on a new connection after the
//!   old one died mid-request; circulation requests fail with an error that says the outcome is
//!   unknown, and the caller's journal decides.
//!
//! The ILS's certificate is checked against the system roots or a site's own CA file
//! ([`TlsConfig::ca_file`]); see [`crate::tls`].

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::sip2::{
    AcsStatus, Charset, DecodeError, EncodeError, Login, Message, ScStatus, ScStatusCode, Sequence,
    SipDateTime,
};

/// TLS settings; the ILS's certificate is checked against `ca_file` or the system roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file with the CA certificate(s) to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Name to verify in the certificate, when it differs from the host in `addr` (a site that
    /// dials an IP address).
    pub server_name: Option<String>,
    /// PEM files of a client certificate (chain) and its private key, for ILSes that require
    /// one.
    pub client_auth: Option<(PathBuf, PathBuf)>,
}

/// A switch on the link for the headless driver and the tests: [`LinkGate::cut`] breaks the
/// live connection (a request in flight loses its answer, as when a cable is pulled) and
/// refuses new ones until [`LinkGate::restore`]. The production link has no gate: nothing sits
/// between a patron's loan and the library system's socket.
#[derive(Debug, Clone)]
pub struct LinkGate {
    up: Arc<watch::Sender<bool>>,
}

impl Default for LinkGate {
    fn default() -> Self {
        LinkGate {
            up: Arc::new(watch::channel(true).0),
        }
    }
}

impl PartialEq for LinkGate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.up, &other.up)
    }
}

impl Eq for LinkGate {}

impl LinkGate {
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    fn watch(&self) -> watch::Receiver<bool> {
        self.up.subscribe()
    }
}

/// How to reach and talk to the ILS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `host:port`.
    pub addr: String,
    pub tls: Option<TlsConfig>,
    /// `(user, password, location)` for message 93; `None` skips login.
    pub login: Option<(String, String, String)>,
    /// AO, filled into requests that leave it empty.
    pub institution: String,
    /// AC, filled into requests that leave it empty.
    pub terminal_password: String,
    pub charset: Charset,
    /// Send `AY`/`AZ` and check them on answers.
    pub error_detection: bool,
    /// How long to wait for the TCP connection and the TLS handshake.
    pub connect_timeout: Duration,
    /// How long to wait for one answer (before asking for a resend), unless the ILS announces
    /// its own timeout period in 98.
    pub request_timeout: Duration,
    /// Send 99 when the link has been idle this long.
    pub heartbeat: Duration,
    /// Resend requests (97) or re-sends after 96 per request, and reconnections for an
    /// idempotent read.
    pub max_retries: u8,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// The headless driver's switch to cut the link; `None` on a kiosk.
    pub gate: Option<LinkGate>,
    /// SIP2 sessions opened to the ILS (at least one).
    pub connections: usize,
}

impl ClientConfig {
    /// Settings with the usual defaults for `addr` (plain TCP, UTF-8, error detection on).
    pub fn new(addr: impl Into<String>) -> Self {
        ClientConfig {
            addr: addr.into(),
            tls: None,
            login: None,
            institution: String::new(),
            terminal_password: String::new(),
            charset: Charset::Utf8,
            error_detection: true,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(60),
            max_retries: 3,
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(60),
            gate: None,
            connections: 1,
        }
    }

    /// The longest a single request can take before it fails: the first wait plus one wait per
    /// resend. (An idempotent read may add reconnections, each as long again.)
    pub fn worst_case(&self, per_wait: Duration) -> Duration {
        per_wait * (u32::from(self.max_retries) + 1)
    }
}

/// What the kiosk knows about the link, for the status bar and the offline logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    /// Logged in; `acs` is the latest ACS status (98) with its flags and screen messages.
    Online {
        acs: Box<AcsStatus>,
    },
    Offline {
        since: SystemTime,
        reason: String,
    },
}

impl LinkState {
    pub fn is_online(&self) -> bool {
        matches!(self, LinkState::Online { .. })
    }
}

/// Why a request did not get an answer. Every message is meant to be shown to staff as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientError {
    #[error("the library system is offline ({0})")]
    Offline(String),
    #[error("the library system did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the library system's answers kept arriving corrupt ({0})")]
    Corrupt(String),
    #[error("the library system refused the terminal's login")]
    LoginRefused,
    #[error("secure connection failed: {0}")]
    Tls(String),
    #[error("network error: {0}")]
    Io(String),
    #[error("the connection dropped before the answer came; the outcome is unknown")]
    ConnectionLost,
    #[error("unexpected answer from the library system: {0}")]
    Protocol(String),
    #[error("the request cannot be sent: {0}")]
    Encode(#[from] EncodeError),
    #[error("the SIP2 client has stopped")]
    Closed,
    #[error("the SIP2 client must be started inside a tokio runtime")]
    NoRuntime,
}

impl ClientError {
    /// The connection cannot be trusted after this error (its byte stream may be out of step).
    fn kills_connection(&self) -> bool {
        !matches!(
            self,
            ClientError::Encode(_) | ClientError::Protocol(_) | ClientError::NoRuntime
        )
    }

    /// The request may have been lost with the connection (so an idempotent one may be sent
    /// again on a new connection).
    fn connection_died(&self) -> bool {
        matches!(self, ClientError::ConnectionLost | ClientError::Io(_))
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e.to_string())
    }
}

/// A cloneable handle to the client actor.
#[derive(Debug, Clone)]
pub struct Sip2Handle {
    tx: mpsc::Sender<Command>,
    link: watch::Receiver<LinkState>,
    sessions: usize,
}

#[derive(Debug)]
struct Command {
    message: Message,
    reply: oneshot::Sender<Result<Message, ClientError>>,
}

const QUEUE: usize = 32;

impl Sip2Handle {
    /// Starts the client on the current tokio runtime; it connects in the background. Fails
    /// at once on a TLS setting that cannot work (unreadable CA file, bad server name).
    pub fn spawn(config: ClientConfig) -> Result<Sip2Handle, ClientError> {
        let tls = config
            .tls
            .as_ref()
            .map(|t| TlsSetup::new(t, &config.addr))
            .transpose()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        let sessions = config.connections.max(1);
        let (tx, rx) = mpsc::channel(QUEUE.max(sessions));
        let rx: Queue = Arc::new(tokio::sync::Mutex::new(rx));
        let (public, link) = watch::channel(LinkState::Connecting);
        let shared = Arc::new(Shared {
            public,
            online: std::sync::atomic::AtomicUsize::new(0),
        });
        let config = Arc::new(config);
        for session in 0..sessions {
            let actor = Actor {
                config: config.clone(),
                tls: tls.clone(),
                rx: rx.clone(),
                session,
                ever_online: false,
                shared: shared.clone(),
                public_rx: shared.public.subscribe(),
                link: watch::channel(LinkState::Connecting).0,
                conn: None,
                failures: 0,
                next_attempt: Instant::now(),
                offline_since: None,
            };
            runtime.spawn(actor.run());
        }
        Ok(Sip2Handle { tx, link, sessions })
    }

    /// How many sessions serve this handle's requests (answers to requests sent side by side
    /// come side by side up to this many).
    pub fn sessions(&self) -> usize {
        self.sessions
    }

    /// Sends one request and waits for its answer (96/97 handling and timeouts included). An
    /// empty AO or AC is filled from the settings.
    pub async fn request(&self, message: Message) -> Result<Message, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command { message, reply })
            .await
            .map_err(|_| ClientError::Closed)?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Watches the link state.
    pub fn link(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }
}

/// The terminal password field, plain or optional depending on the message.
enum Password<'a> {
    Plain(&'a mut String),
    Optional(&'a mut Option<String>),
}

/// Fills what a request leaves empty: the institution id (AO) and terminal password (AC) from
/// the settings, and a missing transaction date (and checkin return date) with the current
/// local time, since strict servers refuse blank dates. Offline replays set their original
/// dates, which are kept.
pub fn fill_defaults(message: &mut Message, config: &ClientConfig) {
    use Password::{Optional, Plain};
    let now = || Some(SipDateTime::local(chrono::Local::now().naive_local()));
    let (institution, password, date) = match message {
        Message::PatronStatusRequest(m) => (
            &mut m.institution_id,
            Plain(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::Checkout(m) => (
            &mut m.institution_id,
            Plain(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::Checkin(m) => {
            if m.return_date.is_none() {
                m.return_date = now();
            }
            (
                &mut m.institution_id,
                Plain(&mut m.terminal_password),
                &mut m.transaction_date,
            )
        }
        Message::BlockPatron(m) => (
            &mut m.institution_id,
            Plain(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::PatronInformation(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::Renew(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::RenewAll(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::ItemInformation(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::ItemStatusUpdate(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::EndPatronSession(m) | Message::PatronEnable(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::FeePaid(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        Message::Hold(m) => (
            &mut m.institution_id,
            Optional(&mut m.terminal_password),
            &mut m.transaction_date,
        ),
        _ => return,
    };
    if institution.is_empty() {
        config.institution.clone_into(institution);
    }
    let ac = config.terminal_password.as_str();
    match password {
        Plain(p) if p.is_empty() => ac.clone_into(p),
        Optional(p) if p.as_deref().is_none_or(str::is_empty) && !ac.is_empty() => {
            *p = Some(ac.to_owned());
        }
        _ => {}
    }
    if date.is_none() {
        *date = now();
    }
}

/// Requests that change nothing at the ILS, so sending them twice is harmless.
pub fn is_idempotent(message: &Message) -> bool {
    matches!(
        message,
        Message::Login(_)
            | Message::ScStatus(_)
            | Message::PatronStatusRequest(_)
            | Message::PatronInformation(_)
            | Message::ItemInformation(_)
            | Message::EndPatronSession(_)
    )
}

/// The message id that answers `request`, if it is a request.
fn answer_id(request: &Message) -> Option<&'static str> {
    Some(match request {
        Message::Login(_) => "94",
        Message::ScStatus(_) => "98",
        Message::PatronStatusRequest(_) | Message::BlockPatron(_) => "24",
        Message::PatronInformation(_) => "64",
        Message::Checkout(_) => "12",
        Message::Checkin(_) => "10",
        Message::Renew(_) => "30",
        Message::RenewAll(_) => "66",
        Message::ItemInformation(_) => "18",
        Message::ItemStatusUpdate(_) => "20",
        Message::EndPatronSession(_) => "36",
        Message::FeePaid(_) => "38",
        Message::Hold(_) => "16",
        Message::PatronEnable(_) => "26",
        _ => return None,
    })
}

/// Reconnection delay after `failures` consecutive failures: none after a clean drop, then
/// exponential from `min` up to `max`, with "equal jitter" (half fixed, half random) so a
/// fleet of kiosks does not reconnect in step after an ILS restart.
pub fn backoff(failures: u32, min: Duration, max: Duration, random: f64) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let exp = 1u32
        .checked_shl(failures.saturating_sub(1).min(20))
        .unwrap_or(u32::MAX);
    let base = min.saturating_mul(exp).min(max);
    base / 2 + base.mul_f64(random.clamp(0.0, 1.0) / 2.0)
}

fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    // 53 random bits make a uniform f64 in [0, 1).
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Clone)]
struct TlsSetup {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The host part of `host:port`, `[v6]:port` or a bare host.
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

impl TlsSetup {
    fn new(cfg: &TlsConfig, addr: &str) -> Result<TlsSetup, ClientError> {
        let client_auth = cfg
            .client_auth
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path()));
        let config = crate::tls::client_config_with_identity(cfg.ca_file.as_deref(), client_auth)
            .map_err(ClientError::Tls)?;
        let host = cfg
            .server_name
            .clone()
            .unwrap_or_else(|| host_of(addr).to_owned());
        let name = ServerName::try_from(host.clone())
            .map_err(|_| ClientError::Tls(format!("{host:?} is not a valid server name")))?;
        Ok(TlsSetup {
            connector: TlsConnector::from(Arc::new(config)),
            name,
        })
    }
}

/// One live, logged-in connection.
struct Conn {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    seq: Sequence,
    /// Per-answer wait.
    wait: Duration,
    last_used: Instant,
    /// Something succeeded after login: a drop afterwards is a normal idle close.
    served: bool,
    /// The headless driver's switch: once it is cut, the connection reads as closed.
    gate: Option<watch::Receiver<bool>>,
}

impl Conn {
    async fn read_frame(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            if let Some(frame) = crate::sip2::split_frame(&mut self.buf) {
                return Ok(frame);
            }
            if self.buf.len() > crate::sip2::MAX_FRAME_LEN {
                // Without a terminator in sight the stream is out of step: drop the connection.
                return Err(ClientError::Corrupt(
                    "an answer longer than any SIP2 message".into(),
                ));
            }
            if self.read_some().await? == 0 {
                return Err(ClientError::ConnectionLost);
            }
        }
    }

    /// Read what has arrived into the buffer; 0 when the peer closed (or the gate was cut).
    async fn read_some(&mut self) -> std::io::Result<usize> {
        let Conn { io, buf, gate, .. } = self;
        match gate {
            None => io.read_buf(buf).await,
            Some(gate) => tokio::select! {
                read = io.read_buf(buf) => read,
                _ = gate.wait_for(|up| !*up) => Ok(0),
            },
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.gate.as_ref().is_some_and(|g| !*g.borrow()) {
            return Err(ClientError::ConnectionLost);
        }
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// True when the peer has closed (or broken) the connection while it sat idle. Bytes that
    /// arrived unasked are dropped: nothing is waiting for them.
    async fn closed_while_idle(&mut self) -> bool {
        loop {
            tokio::select! {
                biased;
                read = self.read_some() => match read {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => self.buf.clear(),
                },
                () = std::future::ready(()) => return false,
            }
        }
    }

    /// One request and its answer, with the resend rules of the module docs.
    async fn exchange(
        &mut self,
        request: &Message,
        cfg: &ClientConfig,
    ) -> Result<Message, ClientError> {
        self.buf.clear();
        let seq = cfg.error_detection.then(|| self.seq.advance());
        let bytes = crate::sip2::encode(request, cfg.charset, seq)?.bytes;
        let resend = crate::sip2::encode(
            &Message::RequestResend,
            cfg.charset,
            cfg.error_detection.then_some(Sequence::default()),
        )?
        .bytes;
        let expected = answer_id(request);
        self.send(&bytes).await?;
        self.last_used = Instant::now();
        let mut retries = 0u8;
        let mut deadline = Instant::now() + self.wait;
        loop {
            // `None`: no answer in time; `Some(why)`: a corrupt one.
            let problem = match tokio::time::timeout_at(deadline, self.read_frame()).await {
                Err(_) => None,
                Ok(Err(e)) => return Err(e),
                Ok(Ok(frame)) => match crate::sip2::decode(&frame, cfg.charset) {
                    Ok(d) if d.message == Message::RequestScResend => {
                        // The ILS did not act on a corrupt request: the same bytes may go again.
                        if retries >= cfg.max_retries {
                            return Err(ClientError::Corrupt(format!(
                                "the ILS asked for {} resends of message {}",
                                retries + 1,
                                request.id()
                            )));
                        }
                        retries += 1;
                        self.send(&bytes).await?;
                        deadline = Instant::now() + self.wait;
                        continue;
                    }
                    Ok(d) if cfg.error_detection && d.sequence.is_some() && d.sequence != seq => {
                        Some(format!(
                            "answer numbered {:?}, expected {:?}",
                            d.sequence.map(Sequence::digit),
                            seq.map(Sequence::digit)
                        ))
                    }
                    Ok(d) if expected.is_some_and(|id| id != d.message.id()) => {
                        // A stray late answer to an earlier request: keep waiting for ours.
                        tracing::debug!("SIP2: ignoring unexpected message {}", d.message.id());
                        continue;
                    }
                    Ok(d) => {
                        self.last_used = Instant::now();
                        return Ok(d.message);
                    }
                    Err(e @ DecodeError::BadChecksum { .. }) => Some(e.to_string()),
                    Err(e) => Some(format!("undecodable answer: {e}")),
                },
            };
            if retries >= cfg.max_retries {
                return Err(match problem {
                    None => ClientError::Timeout(self.wait),
                    Some(why) => ClientError::Corrupt(why),
                });
            }
            tracing::debug!(
                "SIP2: {}; asking the ILS to resend (97)",
                problem.as_deref().unwrap_or("no answer in time")
            );
            retries += 1;
            self.buf.clear();
            self.send(&resend).await?;
            deadline = Instant::now() + self.wait;
        }
    }
}

/// Connects, logs in and reads the ACS status.
async fn open_session(
    cfg: &ClientConfig,
    tls: Option<&TlsSetup>,
) -> Result<(Conn, AcsStatus), ClientError> {
    if cfg.gate.as_ref().is_some_and(|g| !g.is_up()) {
        return Err(ClientError::Io(
            "connection refused (the link is cut)".into(),
        ));
    }
    let wait = cfg.request_timeout;
    let dial = cfg.connect_timeout;
    let tcp = tokio::time::timeout(dial, TcpStream::connect(&cfg.addr))
        .await
        .map_err(|_| ClientError::Timeout(dial))??;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = match tls {
        Some(t) => {
            let stream = tokio::time::timeout(dial, t.connector.connect(t.name.clone(), tcp))
                .await
                .map_err(|_| ClientError::Timeout(dial))?
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            Box::new(stream)
        }
        None => Box::new(tcp),
    };
    let mut conn = Conn {
        io,
        buf: Vec::with_capacity(1024),
        seq: Sequence::default(),
        wait,
        last_used: Instant::now(),
        served: false,
        gate: cfg.gate.as_ref().map(LinkGate::watch),
    };
    if let Some((user, password, location)) = &cfg.login {
        let login = Message::Login(Login {
            login_user_id: user.clone(),
            login_password: password.clone(),
            location_code: Some(location.clone()).filter(|l| !l.is_empty()),
            ..Login::default()
        });
        match conn.exchange(&login, cfg).await? {
            Message::LoginResponse(r) if r.ok => {}
            Message::LoginResponse(_) => return Err(ClientError::LoginRefused),
            other => {
                return Err(ClientError::Protocol(format!(
                    "login answered with message {}",
                    other.id()
                )));
            }
        }
    }
    let acs = status(&mut conn, cfg).await?;
    Ok((conn, acs))
}

fn sc_status() -> Message {
    Message::ScStatus(ScStatus {
        status_code: ScStatusCode::Ok,
        max_print_width: 40,
        protocol_version: "2.00".into(),
        extra: Vec::new(),
    })
}

/// 99 -> 98, adopting the ILS's timeout period when it announces one.
async fn status(conn: &mut Conn, cfg: &ClientConfig) -> Result<AcsStatus, ClientError> {
    match conn.exchange(&sc_status(), cfg).await? {
        Message::AcsStatus(acs) => {
            if acs.timeout_period > 0 {
                conn.wait = Duration::from_millis(100 * u64::from(acs.timeout_period));
            }
            Ok(acs)
        }
        other => Err(ClientError::Protocol(format!(
            "status answered with message {}",
            other.id()
        ))),
    }
}

/// The requests waiting for a session, shared by every session of a handle.
type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Command>>>;

/// Completes when every handle is gone (for a session that takes no requests meanwhile).
async fn handles_gone(rx: &Queue) {
    loop {
        if rx.lock().await.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The next request for whichever session asks first (cancel safe: a request is taken only
/// when this completes).
async fn next_command(rx: &Queue) -> Option<Command> {
    rx.lock().await.recv().await
}

/// What the sessions of one handle share: the link state the handle shows and how many
/// sessions are logged in.
struct Shared {
    public: watch::Sender<LinkState>,
    online: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn any_online(&self) -> bool {
        self.online.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

struct Actor {
    config: Arc<ClientConfig>,
    tls: Option<TlsSetup>,
    rx: Queue,
    /// 0 for the first session, which owns the link state and answers requests while the link
    /// is down; the others take requests only while logged in.
    session: usize,
    /// Whether this session has ever logged in (one that never could is dropped).
    ever_online: bool,
    shared: Arc<Shared>,
    /// Wakes the first session when the link as a whole changes (to take requests when the
    /// last session went down).
    public_rx: watch::Receiver<LinkState>,
    /// This session's own state.
    link: watch::Sender<LinkState>,
    conn: Option<Conn>,
    failures: u32,
    next_attempt: Instant,
    /// When the link went down, kept across reconnection attempts.
    offline_since: Option<SystemTime>,
}

impl Actor {
    async fn run(mut self) {
        let primary = self.session == 0;
        loop {
            if self.conn.is_none() {
                if Instant::now() >= self.next_attempt {
                    if !self.connect().await {
                        return;
                    }
                    if !primary && !self.ever_online {
                        tracing::warn!(
                            "SIP2: session {} could not log in to {}; going on without it",
                            self.session + 1,
                            self.config.addr
                        );
                        return;
                    }
                    continue;
                }
                if !primary {
                    // Requests are left to the sessions that are up.
                    tokio::select! {
                        () = tokio::time::sleep_until(self.next_attempt) => {}
                        () = handles_gone(&self.rx) => return,
                    }
                    continue;
                }
                let refusing = !self.shared.any_online();
                tokio::select! {
                    () = tokio::time::sleep_until(self.next_attempt) => {}
                    changed = self.public_rx.changed() => if changed.is_err() { return },
                    cmd = next_command(&self.rx), if refusing => match cmd {
                        Some(cmd) => self.refuse_offline(cmd),
                        None => return,
                    },
                }
                continue;
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let idle_until = conn.last_used + self.config.heartbeat;
            enum Event {
                // Boxed: a command holds a whole message, far larger than the other events.
                Command(Option<Box<Command>>),
                Heartbeat,
                Closed,
            }
            let event = tokio::select! {
                cmd = next_command(&self.rx) => Event::Command(cmd.map(Box::new)),
                () = tokio::time::sleep_until(idle_until) => Event::Heartbeat,
                read = conn.read_some() => match read {
                    Ok(0) | Err(_) => Event::Closed,
                    Ok(_) => {
                        conn.buf.clear();
                        continue;
                    }
                },
            };
            match event {
                Event::Command(None) => return,
                Event::Command(Some(mut cmd)) => {
                    fill_defaults(&mut cmd.message, &self.config);
                    let answer = self.request(&cmd.message).await;
                    let _ = cmd.reply.send(answer);
                }
                Event::Heartbeat => self.heartbeat().await,
                Event::Closed => self.lost("the library system closed the connection".into()),
            }
        }
    }

    fn refuse_offline(&self, cmd: Command) {
        let reason = match &*self.link.borrow() {
            LinkState::Offline { reason, .. } => reason.clone(),
            _ => "connecting".into(),
        };
        let _ = cmd.reply.send(Err(ClientError::Offline(reason)));
    }

    /// Opens a session. Requests that arrive meanwhile wait for the first attempt (at start-up
    /// or right after a clean drop, when the link is expected back at once) but are refused at
    /// once during retries, when the link is known to be down. Returns false when every handle
    /// is gone.
    async fn connect(&mut self) -> bool {
        self.set_state(LinkState::Connecting);
        // Only the first session answers requests while it connects, and only while no other
        // session is up.
        let hold = self.failures == 0 || self.session > 0 || self.shared.any_online();
        let config = self.config.clone();
        let tls = self.tls.clone();
        let session = open_session(&config, tls.as_ref());
        tokio::pin!(session);
        let result = loop {
            tokio::select! {
                r = &mut session => break r,
                cmd = next_command(&self.rx), if !hold => match cmd {
                    Some(cmd) => {
                        let _ = cmd.reply.send(Err(ClientError::Offline("connecting".into())));
                    }
                    None => return false,
                },
            }
        };
        match result {
            Ok((conn, acs)) => {
                self.online(conn, acs);
            }
            Err(e) => {
                tracing::warn!("SIP2: cannot open a session with {}: {e}", self.config.addr);
                self.failures = self.failures.saturating_add(1);
                self.schedule();
                self.offline(e.to_string());
            }
        }
        true
    }

    /// Marks the link offline, keeping the time it first went down across failed retries.
    fn offline(&mut self, reason: String) {
        let since = *self.offline_since.get_or_insert_with(SystemTime::now);
        self.set_state(LinkState::Offline { since, reason });
    }

    fn online(&mut self, conn: Conn, acs: AcsStatus) {
        self.conn = Some(conn);
        self.ever_online = true;
        self.offline_since = None;
        self.set_state(LinkState::Online { acs: Box::new(acs) });
    }

    /// This session's state, and the handle's: online while any session is, otherwise what
    /// the first session (or the last one to go down) says.
    fn set_state(&mut self, state: LinkState) {
        use std::sync::atomic::Ordering;
        let was = self.link.borrow().is_online();
        let now = state.is_online();
        match (was, now) {
            (false, true) => {
                self.shared.online.fetch_add(1, Ordering::SeqCst);
            }
            (true, false) => {
                self.shared.online.fetch_sub(1, Ordering::SeqCst);
            }
            _ => {}
        }
        let primary = self.session == 0;
        if now {
            self.shared.public.send_if_modified(|public| {
                let replace = match (&*public, &state) {
                    (LinkState::Online { acs: old }, LinkState::Online { acs: new }) => {
                        primary && !same_status(old, new)
                    }
                    _ => true,
                };
                if replace {
                    *public = state.clone();
                }
                replace
            });
        } else if !self.shared.any_online() && (primary || was) {
            self.shared.public.send_replace(state.clone());
        }
        self.link.send_replace(state);
    }

    fn schedule(&mut self) {
        let delay = backoff(
            self.failures,
            self.config.reconnect_min,
            self.config.reconnect_max,
            random_unit(),
        );
        self.next_attempt = Instant::now() + delay;
    }

    /// Drops the connection and goes offline. A connection that had served something is
    /// reopened at once; one that died straight after login counts as a failure, so a server
    /// that keeps doing that is retried with backoff rather than in a tight loop.
    fn lost(&mut self, reason: String) {
        let served = self.conn.take().is_some_and(|c| c.served);
        if served {
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        self.schedule();
        tracing::info!("SIP2: link lost: {reason}");
        self.offline(reason);
    }

    async fn heartbeat(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        match status(conn, &self.config).await {
            Ok(acs) => {
                conn.served = true;
                let changed = match &*self.link.borrow() {
                    LinkState::Online { acs: old } => !same_status(old, &acs),
                    _ => true,
                };
                if changed {
                    self.set_state(LinkState::Online { acs: Box::new(acs) });
                }
            }
            Err(e) => self.lost(format!("heartbeat failed: {e}")),
        }
    }

    async fn request(&mut self, message: &Message) -> Result<Message, ClientError> {
        let mut reconnects = 0u8;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                let reason = match &*self.link.borrow() {
                    LinkState::Offline { reason, .. } => reason.clone(),
                    _ => "not connected".into(),
                };
                return Err(ClientError::Offline(reason));
            };
            if conn.closed_while_idle().await {
                // Nothing was sent yet, so reconnecting first is safe for any request; the
                // attempts are still counted, against a server that closes every session.
                self.lost("the library system closed the connection".into());
                if reconnects >= self.config.max_retries {
                    return Err(ClientError::Offline(
                        "the library system keeps closing the connection".into(),
                    ));
                }
                reconnects += 1;
                self.reconnect_now().await;
                continue;
            }
            match conn.exchange(message, &self.config).await {
                Ok(answer) => {
                    conn.served = true;
                    return Ok(answer);
                }
                Err(e) if !e.kills_connection() => return Err(e),
                Err(e) => {
                    let died = e.connection_died();
                    self.lost(e.to_string());
                    if died && is_idempotent(message) && reconnects < self.config.max_retries {
                        reconnects += 1;
                        self.reconnect_now().await;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One immediate connection attempt (requests wait in the queue meanwhile; it is bounded by
    /// the timeouts). Returns whether it succeeded.
    async fn reconnect_now(&mut self) -> bool {
        self.set_state(LinkState::Connecting);
        match open_session(&self.config, self.tls.as_ref()).await {
            Ok((conn, acs)) => {
                self.online(conn, acs);
                true
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.schedule();
                self.offline(e.to_string());
                false
            }
        }
    }
}

/// Two ACS statuses that differ only in their clock are the same news.
fn same_status(a: &AcsStatus, b: &AcsStatus) -> bool {
    AcsStatus {
        date_time_sync: None,
        ..a.clone()
    } == AcsStatus {
        date_time_sync: None,
        ..b.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(60));
        assert_eq!(backoff(0, min, max, 0.7), Duration::ZERO);
        assert_eq!(backoff(1, min, max, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(1, min, max, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(3, min, max, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(40, min, max, 1.0), max);
        assert_eq!(backoff(40, min, max, 0.0), max / 2);
        assert!(backoff(u32::MAX, min, max, 2.0) <= max);
        let r = random_unit();
        assert!((0.0..1.0).contains(&r));
    }

    #[test]
    fn host_parsing() {
        assert_eq!(host_of("ils.example.org:6001"), "ils.example.org");
        assert_eq!(host_of("[::1]:6001"), "::1");
        assert_eq!(host_of("ils"), "ils");
        assert_eq!(host_of("::1"), "::1");
    }

    #[test]
    fn only_reads_are_idempotent() {
        use crate::sip2::{Checkin, Checkout, FeePaid, Hold, ItemStatusUpdate, Renew, RenewAll};
        assert!(is_idempotent(&sc_status()));
        assert!(is_idempotent(&Message::Login(Login::default())));
        for m in [
            Message::Checkout(Checkout::default()),
            Message::Checkin(Checkin::default()),
            Message::Renew(Renew::default()),
            Message::RenewAll(RenewAll::default()),
            Message::FeePaid(FeePaid::default()),
            Message::Hold(Hold::default()),
            Message::ItemStatusUpdate(ItemStatusUpdate::default()),
        ] {
            assert!(!is_idempotent(&m), "{}", m.id());
            assert!(answer_id(&m).is_some());
        }
    }

    #[test]
    fn defaults_fill_only_empty_fields() {
        use crate::sip2::{Checkout, Renew};
        let config = ClientConfig {
            institution: "HZLIB".into(),
            terminal_password: "tp".into(),
            ..ClientConfig::new("ils:6001")
        };
        let mut m = Message::Checkout(Checkout::default());
        fill_defaults(&mut m, &config);
        assert!(matches!(&m, Message::Checkout(c) if c.transaction_date.is_some()));
        let replay = SipDateTime::parse("20261128    101500");
        let mut m = Message::Checkout(Checkout {
            transaction_date: replay.clone(),
            ..Checkout::default()
        });
        fill_defaults(&mut m, &config);
        assert!(matches!(&m, Message::Checkout(c) if c.transaction_date == replay));
        assert!(
            matches!(&m, Message::Checkout(c) if c.institution_id == "HZLIB" && c.terminal_password == "tp")
        );
        let mut m = Message::Renew(Renew {
            institution_id: "OTHER".into(),
            ..Renew::default()
        });
        fill_defaults(&mut m, &config);
        assert!(
            matches!(&m, Message::Renew(r) if r.institution_id == "OTHER" && r.terminal_password.as_deref() == Some("tp"))
        );
    }

    #[test]
    fn spawning_outside_a_runtime_is_an_error() {
        assert_eq!(
            Sip2Handle::spawn(ClientConfig::new("127.0.0.1:6001")).err(),
            Some(ClientError::NoRuntime)
        );
    }

    #[test]
    fn tls_setup_errors_are_plain() {
        let missing = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            server_name: None,
            client_auth: None,
        };
        assert!(
            matches!(TlsSetup::new(&missing, "ils:6001"), Err(ClientError::Tls(m)) if m.contains("CA file"))
        );
    }
}
