//! `selfcheck token keygen|issue|verify`: the issuer's side of phone tokens, and a look at
//! what a kiosk would decide about one.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use qrcode::{Color, EcLevel, QrCode};
use serde::Serialize;

use crate::clock::ClockState;
use crate::config::Settings;
use crate::phone::{self, Claims, Policy, Refusal, Verified};
use crate::rfid::tag::{hex, parse_hex};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a key pair: the private key into DIR/KID.key (PKCS#8 PEM, mode 0600), the
    /// kiosk's [[phone.keys]] table on standard output
    Keygen {
        /// Key id: 1 to 32 letters, digits, '.', '_' or '-'
        #[arg(long)]
        kid: String,
        /// Directory for the private key (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Issue one token, as the library's app backend does, and print it on one line
    Issue {
        /// The private key (PKCS#8 PEM, from `token keygen` or `openssl genpkey`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The patron id, as the ILS knows it
        #[arg(long)]
        patron: String,
        /// Seconds the token is valid
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
        ttl: u32,
        /// Key id (default: the key file's name without `.key`)
        #[arg(long)]
        kid: Option<String>,
        /// The issuer claim; must match the kiosks' [phone] issuer
        #[arg(long, default_value = "selfcheck")]
        issuer: String,
        /// Issue time in seconds since the epoch (default: now)
        #[arg(long, value_name = "UNIX")]
        issued_at: Option<i64>,
        /// The nonce in hex (default: 16 random bytes); for test vectors only
        #[arg(long, value_name = "HEX")]
        cti: Option<String>,
        /// Also write the token as a QR code image (PNG)
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// What a kiosk with these settings would decide about a token, and why; the token's
    /// nonce is not recorded. Exit status 0: accepted, 1: refused
    Verify {
        token: String,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Take the clock as synchronised (tests, an issuer's machine without NTP)
        #[arg(long)]
        assume_synced: bool,
        /// Decide as at this time, seconds since the epoch (default: now)
        #[arg(long, value_name = "UNIX")]
        at: Option<i64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TokenToolError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists: choose another --kid or move the old key away")]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Key {
        path: PathBuf,
        source: phone::KeyError,
    },
    #[error(transparent)]
    BadKey(#[from] phone::KeyError),
    #[error("--kid is needed: the key file's name {0:?} is not a key id")]
    NoKid(String),
    #[error("--cti {0:?} is not 8 to 32 bytes of hex")]
    Cti(String),
    #[error("the token's times do not fit: --issued-at plus --ttl is out of range")]
    Time,
    #[error(transparent)]
    Issue(#[from] phone::IssueError),
    #[error("cannot make the QR code: {0}")]
    Qr(String),
    #[error("cannot write the QR code image {path}: {message}")]
    Png { path: PathBuf, message: String },
    #[error("settings: {0}")]
    Settings(String),
}

/// Runs one `token` command; `settings` loads the kiosk's settings (for `verify` only).
pub fn run<F, E>(command: TokenCommand, settings: F) -> Result<ExitCode, TokenToolError>
where
    F: FnOnce() -> Result<Settings, E>,
    E: std::fmt::Display,
{
    match command {
        TokenCommand::Keygen { kid, out } => {
            let (path, table) = keygen(&kid, &out)?;
            print!("{table}");
            eprintln!(
                "private key written to {} (keep it on the issuing server only); \
                 the kiosk's settings follow on standard output",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Issue {
            key,
            patron,
            ttl,
            kid,
            issuer,
            issued_at,
            cti,
            png,
        } => {
            let signing_key = read_signing_key(&key)?;
            let kid = match kid {
                Some(kid) => kid,
                None => kid_from_file_name(&key)?,
            };
            let issued_at = issued_at.unwrap_or_else(now);
            let cti = match cti {
                Some(text) => parse_hex(&text)
                    .filter(|c| phone::CTI_LEN_RANGE.contains(&c.len()))
                    .ok_or(TokenToolError::Cti(text))?,
                None => phone::random_cti()?.to_vec(),
            };
            let claims = Claims {
                issuer,
                patron_id: patron,
                issued_at,
                expires_at: issued_at
                    .checked_add(i64::from(ttl))
                    .ok_or(TokenToolError::Time)?,
                cti,
            };
            let token = phone::issue(&claims, &kid, &signing_key)?;
            if let Some(path) = png {
                write_qr_png(&token, &path)?;
            }
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Verify {
            token,
            json,
            assume_synced,
            at,
        } => {
            let settings = settings().map_err(|e| TokenToolError::Settings(e.to_string()))?;
            let policy = Policy::from_settings(&phone::demo::kiosk_settings(&settings))?;
            let clock = if assume_synced {
                Clock {
                    synchronised: true,
                    source: "assumed (--assume-synced)".into(),
                }
            } else {
                Clock::of(&ClockState::from_system(&settings.terminal))
            };
            let now = at.unwrap_or_else(now);
            let result = phone::verify(&token, &policy, now, clock.synchronised);
            let decision = Decision::new(&result, &policy, now, clock);
            if json {
                println!("{}", super::report::json(&decision));
            } else {
                print!("{}", decision.text());
            }
            Ok(if decision.accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Writes a new private key to `DIR/KID.key`; returns its path and the kiosk's
/// `[[phone.keys]]` table for it.
pub fn keygen(kid: &str, dir: &Path) -> Result<(PathBuf, String), TokenToolError> {
    phone::check_kid(kid)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TokenToolError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("{kid}.key"));
    let key = phone::generate_signing_key()?;
    let pem = phone::signing_key_pem(&key)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => TokenToolError::Exists { path: path.clone() },
            _ => TokenToolError::Io {
                path: path.clone(),
                source,
            },
        })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&path))?;
    Ok((path, keys_table(kid, &key.verifying_key())))
}

/// The `[[phone.keys]]` table for one key, as the settings file takes it.
pub fn keys_table(kid: &str, key: &ed25519_dalek::VerifyingKey) -> String {
    format!(
        "[[phone.keys]]\nkid = \"{kid}\"\npublic_key = \"{}\"\n",
        phone::public_key_text(key)
    )
}

fn read_signing_key(path: &Path) -> Result<ed25519_dalek::SigningKey, TokenToolError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenToolError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    phone::signing_key_from_pem(&text).map_err(|source| TokenToolError::Key {
        path: path.to_path_buf(),
        source,
    })
}

fn kid_from_file_name(path: &Path) -> Result<String, TokenToolError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kid = name.strip_suffix(".key").unwrap_or(&name).to_owned();
    match phone::check_kid(&kid) {
        Ok(()) => Ok(kid),
        Err(_) => Err(TokenToolError::NoKid(name)),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Whether the clock can be trusted, and who says so.
#[derive(Debug, Clone, Serialize)]
pub struct Clock {
    pub synchronised: bool,
    pub source: String,
}

impl Clock {
    /// What the kiosk's clock check says on this machine (NTP, or `terminal.clock_check =
    /// false`). No ILS date is compared here, so a machine without NTP counts as not
    /// synchronised, as a kiosk does until the library system's date agrees with it.
    pub fn of(state: &ClockState) -> Clock {
        Clock {
            synchronised: state.is_synchronised(),
            source: state.reason(),
        }
    }
}

/// `token verify`'s report.
#[derive(Debug, Serialize)]
pub struct Decision {
    pub accepted: bool,
    /// The refusal's stable code; `None` when accepted.
    pub code: Option<&'static str>,
    /// The sentence the kiosk shows the patron.
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub patron_id: Option<String>,
    pub kid: Option<String>,
    pub issuer: Option<String>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub cti: Option<String>,
    pub now: i64,
    pub clock: Clock,
    /// An accepted token is followed by the PIN (`[phone] require_pin`).
    pub then_pin: bool,
    /// Always false: this tool never uses the token up.
    pub cti_recorded: bool,
}

impl Decision {
    pub fn new(
        result: &Result<Verified, Refusal>,
        policy: &Policy,
        now: i64,
        clock: Clock,
    ) -> Self {
        let mut d = Decision {
            accepted: result.is_ok(),
            code: None,
            reason: None,
            detail: None,
            patron_id: None,
            kid: None,
            issuer: None,
            issued_at: None,
            expires_at: None,
            cti: None,
            now,
            clock,
            then_pin: false,
            cti_recorded: false,
        };
        match result {
            Ok(v) => {
                d.patron_id = Some(v.patron_id.clone());
                d.kid = Some(v.kid.clone());
                d.issuer = Some(v.issuer.clone());
                d.issued_at = Some(v.issued_at);
                d.expires_at = Some(v.expires_at);
                d.cti = Some(hex(&v.cti));
                d.then_pin = policy.require_pin;
            }
            Err(r) => {
                d.code = Some(r.code());
                d.reason = Some(r.to_string());
                d.detail = Some(r.detail());
            }
        }
        d
    }

    /// A few lines for a person.
    pub fn text(&self) -> String {
        let time = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| t.to_string())
        };
        let mut out = String::new();
        if self.accepted {
            out += &format!(
                "accepted: patron {}\nkey id {}, issuer {}\nissued {}, expires {}\n",
                self.patron_id.as_deref().unwrap_or_default(),
                self.kid.as_deref().unwrap_or_default(),
                self.issuer.as_deref().unwrap_or_default(),
                self.issued_at.map(time).unwrap_or_default(),
                self.expires_at.map(time).unwrap_or_default(),
            );
            if self.then_pin {
                out += "then: the kiosk asks for the patron's PIN (phone.require_pin)\n";
            }
            out += "the nonce was not recorded: a kiosk would still accept this token once\n";
        } else {
            out += &format!(
                "refused ({}): {}\ndetail: {}\n",
                self.code.unwrap_or_default(),
                self.reason.as_deref().unwrap_or_default(),
                self.detail.as_deref().unwrap_or_default(),
            );
        }
        out += &format!(
            "clock: {} ({}), now {}\n",
            if self.clock.synchronised {
                "synchronised"
            } else {
                "NOT synchronised"
            },
            self.clock.source,
            time(self.now)
        );
        out
    }
}

/// The token as a QR code at error correction level M (alphanumeric mode throughout).
pub fn qr_code(token: &str) -> Result<QrCode, TokenToolError> {
    QrCode::with_error_correction_level(token.as_bytes(), EcLevel::M)
        .map_err(|e| TokenToolError::Qr(e.to_string()))
}

/// Pixels per module and the quiet zone around the code, in modules (the standard's four).
const MODULE_PX: usize = 8;
const QUIET_MODULES: usize = 4;

/// Writes the token's QR code as a greyscale PNG.
pub fn write_qr_png(token: &str, path: &Path) -> Result<(), TokenToolError> {
    let code = qr_code(token)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_MODULES) * MODULE_PX;
    let mut pixels = vec![0xFFu8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (x, y) = (i % modules + QUIET_MODULES, i / modules + QUIET_MODULES);
        for row in y * MODULE_PX..(y + 1) * MODULE_PX {
            let start = row * side + x * MODULE_PX;
            if let Some(run) = pixels.get_mut(start..start + MODULE_PX) {
                run.fill(0);
            }
        }
    }
    let png_error = |message: String| TokenToolError::Png {
        path: path.to_path_buf(),
        message,
    };
    let side_u32 = u32::try_from(side).map_err(|e| png_error(e.to_string()))?;
    let file = std::fs::File::create(path).map_err(|e| png_error(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side_u32, side_u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| png_error(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .and_then(|()| writer.finish())
        .map_err(|e| png_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::Version;

    fn version(text: &str) -> i16 {
        match qr_code(text).expect("qr").version() {
            Version::Normal(v) => v,
            Version::Micro(v) => -v,
        }
    }

    fn token(patron: &str, kid: &str, cti_len: usize) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let claims = Claims {
            issuer: "selfcheck".into(),
            patron_id: patron.into(),
            issued_at: 1_767_225_600,
            expires_at: 1_767_225_720,
            cti: vec![0xEE; cti_len],
        };
        phone::issue(&claims, kid, &key).expect("issue")
    }

    #[test]
    fn a_20_character_patron_id_with_a_16_byte_cti_fits_version_10_m() {
        let text = token("LIB-ROMA-00001234567", "lib-2026", phone::CTI_LEN);
        assert_eq!(
            qr_code(&text).expect("qr").error_correction_level(),
            EcLevel::M
        );
        let v = version(&text);
        assert!((1..=10).contains(&v), "version {v}");
        assert_eq!(v, 9);
        assert_eq!(version(&token("23191000123457", "k1", phone::CTI_LEN)), 8);
    }

    #[test]
    fn the_token_bound_is_version_10_m_in_alphanumeric_mode() {
        let longest = format!("SC1:{}", "A".repeat(phone::MAX_TOKEN_LEN - 4));
        assert_eq!(version(&longest), 10);
        assert!(version(&format!("{longest}A")) > 10);
        let largest = token(&"9".repeat(80), "k1", phone::CTI_LEN);
        assert!(largest.len() <= phone::MAX_TOKEN_LEN);
        assert_eq!(version(&largest), 10);
    }

    #[test]
    fn png_is_a_readable_image_of_the_code() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("code.png");
        let text = token("23191000123457", "k1", phone::CTI_LEN);
        write_qr_png(&text, &path).expect("png");
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).expect("open"),
        ));
        let reader = decoder.read_info().expect("png header");
        let info = reader.info();
        let modules = qr_code(&text).expect("qr").width();
        assert_eq!(info.width as usize, (modules + 8) * MODULE_PX);
        assert_eq!(info.width, info.height);
    }

    #[test]
    fn keygen_writes_a_private_key_and_refuses_to_overwrite_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("keys");
        let (path, table) = keygen("k1", &out).expect("keygen");
        assert_eq!(path, out.join("k1.key"));
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let key = read_signing_key(&path).expect("read back");
        assert_eq!(
            table,
            format!(
                "[[phone.keys]]\nkid = \"k1\"\npublic_key = \"{}\"\n",
                phone::public_key_text(&key.verifying_key())
            )
        );
        assert!(matches!(
            keygen("k1", &out),
            Err(TokenToolError::Exists { .. })
        ));
        assert!(matches!(
            keygen("../k2", &out),
            Err(TokenToolError::BadKey(_))
        ));
        assert_eq!(kid_from_file_name(&path).ok().as_deref(), Some("k1"));
        assert!(kid_from_file_name(Path::new("/tmp/my key.pem")).is_err());
    }
}
