//! Typed settings: one TOML file, validated with messages that name the key and the problem.
//!
//! Every field has a default, so an empty file (or no file at all) runs the demo kiosk: the
//! simulated board and the in-process demo ILS.

pub mod delivery;
pub mod file;
pub mod layers;
pub mod time_zone;

use std::collections::BTreeMap;
use std::fmt;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the settings file is looked for when `--config` is not given.
pub const ENV_CONFIG: &str = "SELFCHECK_CONFIG";
pub const SYSTEM_CONFIG: &str = "/etc/selfcheck/config.toml";

/// The settings of one terminal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub terminal: Terminal,
    pub ils: Ils,
    pub rfid: Rfid,
    pub offline: Offline,
    pub staff: Staff,
    pub telemetry: crate::fleet::TelemetrySettings,
    pub patron_card: crate::rfid::patron_card::PatronCardSettings,
    pub receipt: crate::receipt::ReceiptSettings,
    pub phone: crate::phone::PhoneSettings,
    pub counter: crate::counter::CounterSettings,
    pub display: crate::display::DisplaySettings,
    pub delivery: delivery::DeliverySettings,
    pub lobby: crate::lobby::LobbySettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Terminal {
    /// `kiosk`: the patron self-check; `counter`: a bookstore partner counter (see `[counter]`).
    pub role: Role,
    /// The library's name, shown on the welcome screen.
    pub library_name: String,
    /// Name of this terminal in the fleet and in the ILS logs.
    pub id: String,
    /// SIP2 location code (CP / AN).
    pub location: String,
    /// SIP2 institution id (AO).
    pub institution: String,
    /// Languages offered on the screens, first is the default.
    pub languages: Vec<String>,
    /// Seconds without a touch or a tag before a patron session ends.
    pub idle_timeout_secs: u32,
    /// Seconds of warning shown before the idle timeout ends the session.
    pub idle_warning_secs: u32,
    /// Ask for the patron's PIN after the card. Off where the library lends on the card alone.
    pub require_pin: bool,
    /// Wrong PINs before the session is refused.
    pub pin_attempts: u8,
    /// Refuse offline loans while the clock is not known to be right (no NTP synchronisation
    /// and no ILS date that agreed). Off only for a terminal with a battery-backed clock.
    pub clock_check: bool,
    /// How far an ILS date (SIP2 98) may be from the local clock and still confirm it.
    pub clock_skew_secs: u32,
    /// IANA time zone (e.g. `Europe/Rome`) whose midnight starts a new day of statistics;
    /// absent: the system's local zone.
    pub time_zone: Option<String>,
}

impl Default for Terminal {
    fn default() -> Self {
        Self {
            role: Role::Kiosk,
            library_name: "City Library".into(),
            id: "kiosk-01".into(),
            location: "DEMO-LOBBY".into(),
            institution: "DEMO".into(),
            languages: vec!["en".into(), "it".into(), "zh_CN".into()],
            idle_timeout_secs: 60,
            idle_warning_secs: 15,
            require_pin: true,
            pin_attempts: 3,
            clock_check: true,
            clock_skew_secs: 120,
            time_zone: None,
        }
    }
}

/// What this terminal is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Kiosk,
    Counter,
}

impl Terminal {
    /// The zone "today" is counted in (the system's local zone when the setting is absent or,
    /// which validation refuses, not a zone name).
    pub fn zone(&self) -> time_zone::Zone {
        time_zone::Zone::from_setting(self.time_zone.as_deref()).unwrap_or(time_zone::Zone::Local)
    }
}

/// The languages the screens are translated into.
pub const SUPPORTED_LANGUAGES: &[&str] = &["en", "it", "zh_CN"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ils {
    /// `demo` runs the demo ILS inside the kiosk; otherwise the SIP2 server as HOST:PORT.
    pub server: String,
    pub tls: bool,
    /// PEM file of the CA that signed the server's certificate; the system roots when absent.
    pub ca_file: Option<PathBuf>,
    /// Name to check in the server's certificate when it differs from the host in `server`:
    /// only for sites that dial an IP address.
    pub tls_server_name: Option<String>,
    /// PEM client certificate (chain) and its private key, for ILSes that require one.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// SIP2 login (93): user id and password. Empty user: no login is sent.
    pub user: String,
    pub password: String,
    /// Terminal password (AC) some ILSes want on every request.
    pub terminal_password: String,
    pub charset: String,
    pub error_detection: bool,
    pub connect_timeout_secs: u32,
    pub request_timeout_secs: u32,
    pub heartbeat_secs: u32,
    pub retries: u8,
    /// SIP2 sessions the kiosk opens to the ILS (1 to 8), each with one request in flight, so
    /// the loans of a stack go side by side. Sessions the ILS does not let log in (some allow
    /// one per account) are dropped; 1 is one session, one request at a time.
    pub connections: u8,
}

impl Default for Ils {
    fn default() -> Self {
        Self {
            server: "demo".into(),
            tls: false,
            ca_file: None,
            tls_server_name: None,
            client_cert: None,
            client_key: None,
            user: String::new(),
            password: String::new(),
            terminal_password: String::new(),
            charset: "utf-8".into(),
            error_detection: true,
            connect_timeout_secs: 5,
            request_timeout_secs: 10,
            heartbeat_secs: 60,
            retries: 2,
            connections: 3,
        }
    }
}

/// The character sets a SIP2 link can be set to.
pub const CHARSETS: &[&str] = &["utf-8", "cp850", "gb18030", "latin-1"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataModel {
    /// Read whichever model a tag carries; write ISO 28560-3.
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "28560-3")]
    Danish,
    #[serde(rename = "28560-2")]
    Iso15962,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rfid {
    /// AFI written when an item is secured (in the library).
    pub afi_secured: u8,
    /// AFI written when an item is lent.
    pub afi_on_loan: u8,
    pub use_afi: bool,
    pub use_eas: bool,
    /// Tag data model `selfcheck tag write` writes (`auto`: ISO 28560-3). Reading always
    /// decodes whichever model a tag carries.
    pub data_model: DataModel,
    /// ISIL of the library owning the items, e.g. `IT-RM0001`; other owners' items are refused.
    pub owner_isil: Option<String>,
    /// Attempts at a security write and its read-back before the patron is asked to put the
    /// item back (and before `tag write` reports it not verified).
    pub security_retries: u8,
}

impl Rfid {
    /// How this site marks an item's security on its tags.
    pub fn security(&self) -> crate::rfid::reader::SecurityConfig {
        crate::rfid::reader::SecurityConfig {
            afi_secured: self.afi_secured,
            afi_on_loan: self.afi_on_loan,
            use_afi: self.use_afi,
            use_eas: self.use_eas,
        }
    }
}

impl Default for Rfid {
    fn default() -> Self {
        Self {
            afi_secured: 0xC2,
            afi_on_loan: 0x07,
            use_afi: true,
            use_eas: false,
            data_model: DataModel::Auto,
            owner_isil: None,
            security_retries: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Offline {
    /// Lend and return while the ILS cannot be reached, to be confirmed by the sync.
    pub enabled: bool,
    /// Most items one patron may borrow while offline.
    pub max_items_per_patron: u32,
    /// Patrons never seen online (not in the cache) may borrow offline.
    pub allow_unknown_patrons: bool,
    /// Fines above this amount (in the ILS currency) refuse an offline loan.
    pub max_fine: f64,
    /// Loan period in days by SIP2 media type code (`001` book, ...); `default` for the rest.
    pub loan_days: BTreeMap<String, u32>,
    /// Days an acknowledged journal row is kept before it is purged.
    pub journal_retention_days: u32,
    /// Days a conflict nobody resolved is kept before it is purged (with a warning in the
    /// log): the rows hold patron and item ids.
    pub conflict_max_days: u32,
    /// Days a patron seen online stays in the offline cache (with the verifier of the PIN the
    /// ILS accepted); older rows are purged with the journal.
    pub patron_cache_days: u32,
}

impl Default for Offline {
    fn default() -> Self {
        Self {
            enabled: true,
            max_items_per_patron: 5,
            allow_unknown_patrons: false,
            max_fine: 10.0,
            loan_days: BTreeMap::from([("default".into(), 21)]),
            journal_retention_days: 2,
            conflict_max_days: 30,
            patron_cache_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Staff {
    /// Argon2 hash of the staff PIN in PHC form (`selfcheck config hash-pin` makes one).
    /// Empty: staff mode only with a staff card.
    pub pin_hash: String,
    /// Staff card ids (patron-card tags or barcodes) that open staff mode.
    pub cards: Vec<String>,
    /// Seconds without a touch before staff mode closes.
    pub timeout_secs: u32,
}

impl Staff {
    /// Whether `id` (a card tag's number or a scanned barcode) is one of the staff cards.
    pub fn has_card(&self, id: &str) -> bool {
        let id = id.trim();
        !id.is_empty() && self.cards.iter().any(|c| c.trim() == id)
    }
}

impl Default for Staff {
    fn default() -> Self {
        Self {
            pin_hash: String::new(),
            cards: Vec::new(),
            timeout_secs: 120,
        }
    }
}

/// Why a settings file could not be used. The message names the file, the key and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("settings file {path}: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One invalid value: the dotted key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The file to read: `--config`, then `$SELFCHECK_CONFIG`, then the system file if it exists;
/// `None` means the built-in defaults.
pub fn locate(explicit: Option<&Path>, env: Option<&str>, system: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(e) = env.filter(|e| !e.is_empty()) {
        return Some(PathBuf::from(e));
    }
    system.exists().then(|| system.to_path_buf())
}

impl Settings {
    /// Read, parse and validate a settings file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate settings text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let settings: Settings = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: parse_message(&e),
        })?;
        let problems = settings.problems();
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Every invalid value, not just the first, so a technician fixes them in one go.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };

        let t = &self.terminal;
        if t.id.trim().is_empty() {
            bad("terminal.id", "must not be empty".into());
        }
        if t.institution.contains('|') || t.location.contains('|') || t.id.contains('|') {
            bad(
                "terminal",
                "id, location and institution must not contain '|' (the SIP2 field separator)"
                    .into(),
            );
        }
        if t.languages.is_empty() {
            bad("terminal.languages", "name at least one language".into());
        }
        for lang in &t.languages {
            if !SUPPORTED_LANGUAGES.contains(&lang.as_str()) {
                bad(
                    "terminal.languages",
                    format!(
                        "\"{lang}\" is not a supported language (supported: {})",
                        SUPPORTED_LANGUAGES.join(", ")
                    ),
                );
            }
        }
        if !(10..=3600).contains(&t.idle_timeout_secs) {
            bad(
                "terminal.idle_timeout_secs",
                format!(
                    "{} is out of range (10 to 3600 seconds)",
                    t.idle_timeout_secs
                ),
            );
        }
        if t.idle_warning_secs >= t.idle_timeout_secs {
            bad(
                "terminal.idle_warning_secs",
                format!(
                    "{} must be shorter than terminal.idle_timeout_secs ({})",
                    t.idle_warning_secs, t.idle_timeout_secs
                ),
            );
        }

        if !(1..=9).contains(&t.pin_attempts) {
            bad(
                "terminal.pin_attempts",
                format!("{} is out of range (1 to 9)", t.pin_attempts),
            );
        }
        if let Err(message) = time_zone::Zone::from_setting(t.time_zone.as_deref()) {
            bad("terminal.time_zone", message);
        }

        if !(5..=3600).contains(&t.clock_skew_secs) {
            bad(
                "terminal.clock_skew_secs",
                format!("{} is out of range (5 to 3600 seconds)", t.clock_skew_secs),
            );
        }

        let ils = &self.ils;
        if !ils.is_demo()
            && let Err(message) = check_host_port(&ils.server)
        {
            bad("ils.server", message);
        }
        if ils.tls && ils.is_demo() {
            bad(
                "ils.tls",
                "the in-process demo ILS speaks plain SIP2 only; set ils.server to a TLS server"
                    .into(),
            );
        }
        if ils.tls && !ils.user.is_empty() && ils.password.is_empty() {
            bad(
                "ils.password",
                "missing: ils.user is set and TLS is on, but no password is given".into(),
            );
        }
        if !ils.user.is_empty() && ils.password.is_empty() && !ils.is_demo() {
            bad(
                "ils.password",
                "missing: ils.user is set but no password is given".into(),
            );
        }
        if ils.user.is_empty() && !ils.password.is_empty() {
            bad(
                "ils.user",
                "missing: a password is given but no user".into(),
            );
        }
        if let Some(ca) = &ils.ca_file {
            if !ils.tls {
                bad("ils.ca_file", "is set but ils.tls is false".into());
            } else if !ca.is_file() {
                bad(
                    "ils.ca_file",
                    format!("{} does not exist or is not a file", ca.display()),
                );
            }
        }
        match (&ils.client_cert, &ils.client_key) {
            (None, None) => {}
            (Some(_), None) => bad(
                "ils.client_key",
                "missing: ils.client_cert is set but not the key that goes with it".into(),
            ),
            (None, Some(_)) => bad(
                "ils.client_cert",
                "missing: ils.client_key is set but not the certificate that goes with it".into(),
            ),
            (Some(cert), Some(key)) => {
                if !ils.tls {
                    bad("ils.client_cert", "is set but ils.tls is false".into());
                }
                for (k, file) in [("ils.client_cert", cert), ("ils.client_key", key)] {
                    if !file.is_file() {
                        bad(
                            k,
                            format!("{} does not exist or is not a file", file.display()),
                        );
                    }
                }
            }
        }
        if let Some(name) = &ils.tls_server_name
            && (!ils.tls || name.trim().is_empty())
        {
            bad(
                "ils.tls_server_name",
                "is only for a TLS link (ils.tls = true) and must not be empty".into(),
            );
        }
        if !CHARSETS.contains(&ils.charset.to_ascii_lowercase().as_str()) {
            bad(
                "ils.charset",
                format!(
                    "\"{}\" is not supported (use one of: {})",
                    ils.charset,
                    CHARSETS.join(", ")
                ),
            );
        }
        for (key, value, range) in [
            (
                "ils.connect_timeout_secs",
                ils.connect_timeout_secs,
                1..=120,
            ),
            (
                "ils.request_timeout_secs",
                ils.request_timeout_secs,
                1..=120,
            ),
            ("ils.heartbeat_secs", ils.heartbeat_secs, 5..=3600),
        ] {
            if !range.contains(&value) {
                bad(
                    key,
                    format!(
                        "{value} is out of range ({} to {} seconds)",
                        range.start(),
                        range.end()
                    ),
                );
            }
        }
        if ils.retries > 10 {
            bad("ils.retries", format!("{} is more than 10", ils.retries));
        }
        if !(1..=8).contains(&ils.connections) {
            bad(
                "ils.connections",
                format!("{} is out of range (1 to 8)", ils.connections),
            );
        }

        let r = &self.rfid;
        if !r.use_afi && !r.use_eas {
            bad(
                "rfid",
                "use_afi and use_eas are both false: items would leave with their security on"
                    .into(),
            );
        }
        if r.use_afi && r.afi_secured == r.afi_on_loan {
            bad(
                "rfid.afi_on_loan",
                format!(
                    "0x{:02X} is the same as rfid.afi_secured: gates could not tell lent items from others",
                    r.afi_on_loan
                ),
            );
        }
        if let Some(isil) = &r.owner_isil
            && let Err(message) = check_isil(isil)
        {
            bad("rfid.owner_isil", message);
        }
        if !(1..=10).contains(&r.security_retries) {
            bad(
                "rfid.security_retries",
                format!("{} is out of range (1 to 10)", r.security_retries),
            );
        }

        let o = &self.offline;
        if o.max_items_per_patron > 100 {
            bad(
                "offline.max_items_per_patron",
                format!("{} is more than 100", o.max_items_per_patron),
            );
        }
        if !o.max_fine.is_finite() || o.max_fine < 0.0 {
            bad(
                "offline.max_fine",
                format!("{} must be zero or a positive amount", o.max_fine),
            );
        }
        if !o.loan_days.contains_key("default") {
            bad(
                "offline.loan_days",
                "needs a \"default\" entry for media types not listed".into(),
            );
        }
        for (media, days) in &o.loan_days {
            if !(1..=365).contains(days) {
                bad(
                    &format!("offline.loan_days.{media}"),
                    format!("{days} is out of range (1 to 365 days)"),
                );
            }
        }
        if !(1..=365).contains(&o.conflict_max_days) {
            bad(
                "offline.conflict_max_days",
                format!("{} is out of range (1 to 365 days)", o.conflict_max_days),
            );
        }

        if !(1..=365).contains(&o.patron_cache_days) {
            bad(
                "offline.patron_cache_days",
                format!("{} is out of range (1 to 365 days)", o.patron_cache_days),
            );
        }
        let s = &self.staff;
        if !s.pin_hash.is_empty()
            && argon2::password_hash::phc::PasswordHash::new(&s.pin_hash).is_err()
        {
            bad(
                "staff.pin_hash",
                "is not a PHC hash string; make one with `selfcheck config hash-pin`".into(),
            );
        }
        if !(15..=3600).contains(&s.timeout_secs) {
            bad(
                "staff.timeout_secs",
                format!("{} is out of range (15 to 3600 seconds)", s.timeout_secs),
            );
        }

        self.telemetry.problems(&self.terminal.id, &mut out);
        self.patron_card.problems(&mut out);
        self.receipt.problems(&mut out);
        self.phone.problems(&mut out);
        self.counter.problems(self, &mut out);
        self.display.problems(&mut out);
        self.delivery.problems(&mut out);
        self.lobby.problems(&mut out);
        out
    }

    /// The settings as TOML with every secret replaced, for `config show` and diagnostics.
    pub fn redacted(&self) -> Settings {
        let mut s = self.clone();
        for secret in [
            &mut s.ils.password,
            &mut s.ils.terminal_password,
            &mut s.staff.pin_hash,
            &mut s.receipt.email.password,
            &mut s.telemetry.password,
        ] {
            if !secret.is_empty() {
                *secret = REDACTED.into();
            }
        }
        s.patron_card.redact();
        for seller in &mut s.counter.booksellers {
            if !seller.pin_hash.is_empty() {
                seller.pin_hash = REDACTED.into();
            }
        }
        s
    }

    /// Whether the settings hold credentials that must stay readable by the service only.
    pub fn has_secrets(&self) -> bool {
        !self.ils.password.is_empty()
            || !self.ils.terminal_password.is_empty()
            || !self.staff.pin_hash.is_empty()
            || self.patron_card.has_secrets()
            || !self.receipt.email.password.is_empty()
            || !self.telemetry.password.is_empty()
            || !self.counter.booksellers.is_empty()
    }

    /// Loan period in days for a SIP2 media type code, for offline loans.
    pub fn offline_loan_days(&self, media_type: Option<&str>) -> u32 {
        media_type
            .and_then(|m| self.offline.loan_days.get(m))
            .or_else(|| self.offline.loan_days.get("default"))
            .copied()
            .unwrap_or(14)
    }
}

/// What `config show` prints in place of a secret.
pub const REDACTED: &str = "<redacted>";

impl Ils {
    pub fn is_demo(&self) -> bool {
        self.server == "demo"
    }
}

/// One line from a TOML error: where it is (line, column) and toml's own words, which name
/// the key and what was expected.
fn parse_message(e: &toml::de::Error) -> String {
    let rendered = e.to_string();
    let place = rendered
        .lines()
        .next()
        .and_then(|first| first.strip_prefix("TOML parse error at "));
    match place {
        Some(place) => format!("{place}: {}", e.message().trim()),
        None => e.message().trim().to_string(),
    }
}

fn check_host_port(value: &str) -> Result<(), String> {
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(format!("\"{value}\" is not HOST:PORT"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("\"{value}\" has no host before the port"));
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!(
            "\"{port}\" is not a port number (1 to 65535) in \"{value}\""
        )),
        Ok(_) => Ok(()),
    }
}

/// Resolve a HOST:PORT the settings hold, for tools that need an address now.
pub fn resolve(value: &str) -> std::io::Result<std::net::SocketAddr> {
    value.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{value} resolves to no address"),
        )
    })
}

/// An ISIL (ISO 15511): a prefix of 1-4 letters or digits, a hyphen, then up to 11 characters
/// of letters, digits, '-', '/' and ':', at most 16 in all.
pub fn check_isil(isil: &str) -> Result<(), String> {
    let Some((prefix, rest)) = isil.split_once('-') else {
        return Err(format!(
            "\"{isil}\" is not an ISIL (expected PREFIX-IDENTIFIER, e.g. IT-RM0001)"
        ));
    };
    let ok_prefix =
        (1..=4).contains(&prefix.len()) && prefix.chars().all(|c| c.is_ascii_alphanumeric());
    let ok_rest = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | ':'));
    if !ok_prefix || !ok_rest || isil.len() > 16 {
        return Err(format!(
            "\"{isil}\" is not an ISIL (expected PREFIX-IDENTIFIER, at most 16 characters, e.g. IT-RM0001)"
        ));
    }
    Ok(())
}

/// Hash a staff PIN for `staff.pin_hash`.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher;
    if pin.len() < 4 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err("a staff PIN is at least 4 digits".into());
    }
    argon2::Argon2::default()
        .hash_password(pin.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the PIN: {e}"))
}

/// Check a PIN typed at the kiosk against `staff.pin_hash`.
pub fn verify_pin(pin: &str, pin_hash: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    let Ok(hash) = argon2::password_hash::phc::PasswordHash::new(pin_hash) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(pin.as_bytes(), &hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, Path::new("test.toml"))
    }

    fn problem_keys(text: &str) -> Vec<String> {
        match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn empty_file_is_the_demo() {
        let s = parse("").expect("empty settings are valid");
        assert_eq!(s, Settings::default());
        assert!(s.ils.is_demo());
        assert!(s.problems().is_empty());
    }

    #[test]
    fn full_file_parses() {
        let s = parse(
            r#"
            [terminal]
            id = "branch7-k3"
            location = "B7-LOBBY"
            institution = "CITYLIB"
            languages = ["it", "en"]
            idle_timeout_secs = 90
            idle_warning_secs = 20

            [ils]
            server = "ils.example.org:6001"
            tls = false
            user = "kiosk"
            password = "s3cret"
            charset = "cp850"
            request_timeout_secs = 8

            [rfid]
            afi_secured = 0x07
            afi_on_loan = 0xC2
            use_eas = true
            data_model = "28560-2"
            owner_isil = "IT-RM0001"

            [offline]
            max_items_per_patron = 3
            loan_days = { default = 14, "001" = 28 }

            [telemetry]
            enabled = true
            broker = "mqtt.example.org:1883"
            "#,
        )
        .expect("valid");
        assert_eq!(s.terminal.languages, ["it", "en"]);
        assert_eq!(s.rfid.afi_secured, 0x07);
        assert_eq!(s.rfid.data_model, DataModel::Iso15962);
        assert_eq!(s.offline_loan_days(Some("001")), 28);
        assert_eq!(s.offline_loan_days(Some("009")), 14);
        assert_eq!(s.offline_loan_days(None), 14);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("[ils]\nserver = \"h:1\"\nporrt = 6001\n").expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.contains("porrt"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("test.toml"), "{msg}");
    }

    #[test]
    fn unknown_section_is_named() {
        let msg = parse("[printer]\nx = 1\n")
            .expect_err("unknown")
            .to_string();
        assert!(msg.contains("printer"), "{msg}");
    }

    #[test]
    fn wrong_type_is_named() {
        let msg = parse("[terminal]\nidle_timeout_secs = \"soon\"\n")
            .expect_err("type")
            .to_string();
        assert!(
            msg.contains("idle_timeout_secs") || msg.contains("line 2"),
            "{msg}"
        );
    }

    #[test]
    fn afi_out_of_byte_range_is_refused() {
        let msg = parse("[rfid]\nafi_secured = 300\n")
            .expect_err("range")
            .to_string();
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn bad_data_model_is_refused() {
        let msg = parse("[rfid]\ndata_model = \"danish\"\n")
            .expect_err("variant")
            .to_string();
        assert!(msg.contains("28560-3"), "{msg}");
    }

    #[test]
    fn bad_port() {
        assert_eq!(
            problem_keys("[ils]\nserver = \"ils:99999\"\n"),
            ["ils.server"]
        );
        assert_eq!(problem_keys("[ils]\nserver = \"ils:0\"\n"), ["ils.server"]);
        assert_eq!(problem_keys("[ils]\nserver = \"ils\"\n"), ["ils.server"]);
        assert_eq!(problem_keys("[ils]\nserver = \":6001\"\n"), ["ils.server"]);
        assert!(parse("[ils]\nserver = \"[::1]:6001\"\n").is_ok());
    }

    #[test]
    fn tls_needs_a_password() {
        assert_eq!(
            problem_keys("[ils]\nserver = \"ils:6001\"\ntls = true\nuser = \"kiosk\"\n"),
            ["ils.password", "ils.password"]
        );
    }

    #[test]
    fn tls_against_demo_is_refused() {
        assert_eq!(problem_keys("[ils]\ntls = true\n"), ["ils.tls"]);
    }

    #[test]
    fn password_without_user() {
        assert_eq!(
            problem_keys("[ils]\nserver = \"ils:6001\"\npassword = \"x\"\n"),
            ["ils.user"]
        );
    }

    #[test]
    fn missing_ca_file() {
        assert_eq!(
            problem_keys(
                "[ils]\nserver = \"ils:6001\"\ntls = true\nca_file = \"/nonexistent/ca.pem\"\n"
            ),
            ["ils.ca_file"]
        );
        assert_eq!(
            problem_keys("[ils]\nserver = \"ils:6001\"\nca_file = \"Cargo.toml\"\n"),
            ["ils.ca_file"]
        );
    }

    #[test]
    fn bad_charset() {
        assert_eq!(
            problem_keys("[ils]\ncharset = \"ebcdic\"\n"),
            ["ils.charset"]
        );
        assert!(parse("[ils]\ncharset = \"GB18030\"\n").is_ok());
    }

    #[test]
    fn timeouts_in_range() {
        assert_eq!(
            problem_keys("[ils]\nrequest_timeout_secs = 0\nheartbeat_secs = 1\n"),
            ["ils.request_timeout_secs", "ils.heartbeat_secs"]
        );
        assert_eq!(problem_keys("[ils]\nretries = 11\n"), ["ils.retries"]);
        assert_eq!(
            problem_keys("[ils]\nconnections = 0\n"),
            ["ils.connections"]
        );
        assert_eq!(
            problem_keys("[ils]\nconnections = 9\n"),
            ["ils.connections"]
        );
    }

    #[test]
    fn terminal_checks() {
        assert_eq!(problem_keys("[terminal]\nid = \" \"\n"), ["terminal.id"]);
        assert_eq!(
            problem_keys("[terminal]\nlocation = \"A|B\"\n"),
            ["terminal"]
        );
        assert_eq!(
            problem_keys("[terminal]\nlanguages = [\"fr\"]\n"),
            ["terminal.languages"]
        );
        assert_eq!(
            problem_keys("[terminal]\nlanguages = []\n"),
            ["terminal.languages"]
        );
        assert_eq!(
            problem_keys("[terminal]\nidle_timeout_secs = 5\nidle_warning_secs = 2\n"),
            ["terminal.idle_timeout_secs"]
        );
        assert_eq!(
            problem_keys("[terminal]\nidle_timeout_secs = 30\nidle_warning_secs = 30\n"),
            ["terminal.idle_warning_secs"]
        );
        assert_eq!(
            problem_keys("[terminal]\npin_attempts = 0\n"),
            ["terminal.pin_attempts"]
        );
        assert_eq!(
            problem_keys("[terminal]\nclock_skew_secs = 0\n"),
            ["terminal.clock_skew_secs"]
        );
        let s = parse("[terminal]\nclock_check = false\nclock_skew_secs = 30\n").expect("valid");
        assert!(!s.terminal.clock_check);
        assert_eq!(s.terminal.clock_skew_secs, 30);
        let s = parse("[terminal]\nrequire_pin = false\npin_attempts = 5\n").expect("valid");
        assert!(!s.terminal.require_pin);
        assert_eq!(s.terminal.pin_attempts, 5);
        assert!(Settings::default().terminal.require_pin);
    }

    #[test]
    fn rfid_checks() {
        assert_eq!(
            problem_keys("[rfid]\nuse_afi = false\nuse_eas = false\n"),
            ["rfid"]
        );
        assert_eq!(
            problem_keys("[rfid]\nafi_secured = 7\nafi_on_loan = 7\n"),
            ["rfid.afi_on_loan"]
        );
        assert_eq!(
            problem_keys("[rfid]\nowner_isil = \"RM0001\"\n"),
            ["rfid.owner_isil"]
        );
        assert_eq!(
            problem_keys("[rfid]\nsecurity_retries = 0\n"),
            ["rfid.security_retries"]
        );
    }

    #[test]
    fn offline_checks() {
        assert_eq!(
            problem_keys("[offline]\nmax_items_per_patron = 1000\n"),
            ["offline.max_items_per_patron"]
        );
        assert_eq!(
            problem_keys("[offline]\nmax_fine = -1.0\n"),
            ["offline.max_fine"]
        );
        assert_eq!(
            problem_keys("[offline]\nmax_fine = nan\n"),
            ["offline.max_fine"]
        );
        assert_eq!(
            problem_keys("[offline]\nloan_days = { \"001\" = 28 }\n"),
            ["offline.loan_days"]
        );
        assert_eq!(
            problem_keys("[offline]\nloan_days = { default = 0 }\n"),
            ["offline.loan_days.default"]
        );
        assert_eq!(
            problem_keys("[offline]\nconflict_max_days = 0\n"),
            ["offline.conflict_max_days"]
        );
        assert_eq!(
            problem_keys("[offline]\nconflict_max_days = 366\n"),
            ["offline.conflict_max_days"]
        );
        let ok = parse("[offline]\nconflict_max_days = 90\n").expect("valid");
        assert_eq!(ok.offline.conflict_max_days, 90);
        assert_eq!(
            problem_keys("[offline]\npatron_cache_days = 0\n"),
            ["offline.patron_cache_days"]
        );
        assert_eq!(Settings::default().offline.patron_cache_days, 30);
        let s = parse("[offline]\npatron_cache_days = 7\n").expect("valid");
        assert_eq!(s.offline.patron_cache_days, 7);
    }

    #[test]
    fn staff_and_telemetry_checks() {
        assert_eq!(
            problem_keys("[staff]\npin_hash = \"1234\"\n"),
            ["staff.pin_hash"]
        );
        assert_eq!(
            problem_keys("[staff]\ntimeout_secs = 1\n"),
            ["staff.timeout_secs"]
        );
        assert_eq!(
            problem_keys("[telemetry]\nbroker = \"mqtt\"\n"),
            ["telemetry.broker"]
        );
        assert_eq!(
            problem_keys("[terminal]\ntime_zone = \"Europe/Roma\"\n"),
            ["terminal.time_zone"]
        );
        let s = parse("[terminal]\ntime_zone = \"Asia/Shanghai\"\n").expect("valid zone");
        assert_eq!(
            s.terminal.zone(),
            time_zone::Zone::Named(chrono_tz::Asia::Shanghai)
        );
    }

    #[test]
    fn patron_card_section() {
        let s = parse(
            "[patron_card]\nsource = \"block\"\nmemory = \"classic\"\nblock = 4\nkey = \"A0A1A2A3A4A5\"\nencoding = \"bcd\"\nlength = 10\n",
        )
        .expect("valid");
        assert!(s.has_secrets());
        let shown = toml::to_string(&s.redacted()).expect("serialize");
        assert!(!shown.contains("A0A1"), "{shown}");
        assert_eq!(
            problem_keys("[patron_card]\nsource = \"block\"\nmemory = \"classic\"\n"),
            ["patron_card.block"]
        );
        let msg = parse("[patron_card]\nuid_format = \"octal\"\n")
            .expect_err("variant")
            .to_string();
        assert!(msg.contains("decimal-reversed"), "{msg}");
    }

    #[test]
    fn all_problems_are_reported_together() {
        let keys =
            problem_keys("[ils]\nserver = \"x\"\ncharset = \"x\"\n[rfid]\nsecurity_retries = 0\n");
        assert_eq!(keys, ["ils.server", "ils.charset", "rfid.security_retries"]);
    }

    #[test]
    fn pin_hash_round_trip() {
        let hash = hash_pin("4711").expect("hash");
        assert!(verify_pin("4711", &hash));
        assert!(!verify_pin("4712", &hash));
        assert!(!verify_pin("4711", "not a hash"));
        assert!(hash_pin("12").is_err());
        assert!(hash_pin("12a4").is_err());
        let s = parse(&format!("[staff]\npin_hash = \"{hash}\"\n")).expect("valid hash");
        assert_eq!(s.staff.pin_hash, hash);
    }

    #[test]
    fn redaction_hides_every_secret() {
        let mut s = Settings::default();
        s.ils.password = "pw".into();
        s.ils.terminal_password = "tpw".into();
        s.staff.pin_hash = "$argon2id$v=19$...".into();
        s.receipt.email.password = "mailpw".into();
        s.telemetry.user = "kiosk".into();
        s.telemetry.password = "mqtt-pw".into();
        assert!(s.has_secrets());
        let shown = toml::to_string(&s.redacted()).expect("serialize");
        assert!(!shown.contains("pw\""), "{shown}");
        assert!(!shown.contains("argon2"), "{shown}");
        assert!(!shown.contains("mqtt-pw"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 5);
        assert!(!Settings::default().has_secrets());
    }

    #[test]
    fn shown_settings_parse_back() {
        let s = Settings::default();
        let text = toml::to_string(&s).expect("serialize");
        assert_eq!(parse(&text).expect("parse back"), s);
    }

    #[test]
    fn locate_order() {
        let sys = Path::new("/nonexistent/selfcheck.toml");
        assert_eq!(
            locate(Some(Path::new("a.toml")), Some("b.toml"), sys),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            locate(None, Some("b.toml"), sys),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(locate(None, Some(""), sys), None);
        assert_eq!(locate(None, None, sys), None);
        assert_eq!(
            locate(None, None, Path::new("Cargo.toml")),
            Some(PathBuf::from("Cargo.toml"))
        );
    }

    #[test]
    fn isil() {
        assert!(check_isil("IT-RM0001").is_ok());
        assert!(check_isil("DE-705").is_ok());
        assert!(check_isil("US-DLC").is_ok());
        assert!(check_isil("IT").is_err());
        assert!(check_isil("-X").is_err());
        assert!(check_isil("IT-").is_err());
        assert!(check_isil("IT-RM 01").is_err());
        assert!(check_isil("IT-RM0001234567890").is_err());
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let err = Settings::load(Path::new("/nonexistent/x.toml")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/x.toml"));
    }
}
