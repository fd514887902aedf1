//! Where a printer and a mail server are: the URL forms the settings take, parsed strictly.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::board::{PrinterBoard, PrinterKind};

/// The port network receipt printers listen on (JetDirect / "raw").
pub const RAW_PRINT_PORT: u16 = 9100;
/// Serial speed when neither the URL nor the board gives one.
pub const DEFAULT_BAUD: u32 = 9600;

/// A receipt printer's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterAddress {
    /// `tcp://host:9100`
    Tcp { host: String, port: u16 },
    /// `usb:VID:PID`: the usblp device (`/dev/usb/lp*`) of the printer with these ids.
    Usb { vendor: u16, product: u16 },
    /// A usblp device node named by the board (`escpos-usb` with `device`).
    UsbDevice(PathBuf),
    /// `serial:/dev/ttyUSB0` or `serial:/dev/ttyUSB0?baud=19200`
    Serial { path: PathBuf, baud: u32 },
    /// `file:/path`: the bytes are appended to the file (one-way: no status).
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{value}\" {problem}")]
pub struct AddressError {
    pub value: String,
    pub problem: String,
}

fn invalid(value: &str, problem: impl Into<String>) -> AddressError {
    AddressError {
        value: value.into(),
        problem: problem.into(),
    }
}

const PRINTER_FORMS: &str =
    "is not a printer address (tcp://HOST:PORT, usb:VID:PID, serial:/dev/TTY or file:/PATH)";

impl FromStr for PrinterAddress {
    type Err = AddressError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let v = value.trim();
        if let Some(rest) = v.strip_prefix("tcp://") {
            let (host, port) = host_port(value, rest, RAW_PRINT_PORT)?;
            return Ok(PrinterAddress::Tcp { host, port });
        }
        if let Some(rest) = v.strip_prefix("usb:") {
            let (vendor, product) = rest
                .split_once(':')
                .ok_or_else(|| invalid(value, "is not usb:VID:PID (e.g. usb:04b8:0202)"))?;
            let id = |hex: &str| {
                (hex.len() == 4)
                    .then(|| u16::from_str_radix(hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| {
                        invalid(
                            value,
                            format!("has \"{hex}\" where 4 hex digits of a USB id go"),
                        )
                    })
            };
            return Ok(PrinterAddress::Usb {
                vendor: id(vendor)?,
                product: id(product)?,
            });
        }
        if let Some(rest) = v.strip_prefix("serial:") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let baud = match query {
                "" => DEFAULT_BAUD,
                q => q
                    .strip_prefix("baud=")
                    .and_then(|b| b.parse::<u32>().ok())
                    .filter(|b| (1200..=921_600).contains(b))
                    .ok_or_else(|| {
                        invalid(value, "takes only ?baud=N (1200 to 921600) after the port")
                    })?,
            };
            return Ok(PrinterAddress::Serial {
                path: absolute(value, path)?,
                baud,
            });
        }
        if let Some(rest) = v.strip_prefix("file:") {
            // `file:///x` is the URL form of `file:/x`.
            let path = rest
                .strip_prefix("//")
                .filter(|p| p.starts_with('/'))
                .unwrap_or(rest);
            return Ok(PrinterAddress::File(absolute(value, path)?));
        }
        Err(invalid(value, PRINTER_FORMS))
    }
}

fn absolute(value: &str, path: &str) -> Result<PathBuf, AddressError> {
    if path.starts_with('/') && path.len() > 1 {
        Ok(PathBuf::from(path))
    } else {
        Err(invalid(value, "needs an absolute path"))
    }
}

/// `host:port` or `host` (then `default`), `[v6]:port`; nothing after the port.
fn host_port(value: &str, rest: &str, default: u16) -> Result<(String, u16), AddressError> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '@', '#']) || rest.contains(char::is_whitespace) {
        return Err(invalid(value, "has more than HOST:PORT after the scheme"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid(value, "has an unclosed [IPv6] host"))?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| invalid(value, "has junk after the [IPv6] host"))?,
                ),
            ),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(value, "has no host"));
    }
    if host.contains(['[', ']']) {
        return Err(invalid(value, "has a stray bracket in the host"));
    }
    let port =
        match port {
            None => default,
            Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
                invalid(value, format!("has \"{p}\" where a port (1 to 65535) goes"))
            })?,
        };
    Ok((host.to_string(), port))
}

impl fmt::Display for PrinterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterAddress::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            PrinterAddress::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterAddress::Usb { vendor, product } => write!(f, "usb:{vendor:04x}:{product:04x}"),
            PrinterAddress::UsbDevice(path) => write!(f, "usb device {}", path.display()),
            PrinterAddress::Serial { path, baud } => {
                write!(f, "serial:{}?baud={baud}", path.display())
            }
            PrinterAddress::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl PrinterAddress {
    /// The printer a board describes, `None` when it has none. A board names devices, not
    /// URLs: `escpos-usb` the usblp node, `escpos-serial` the tty (and its speed),
    /// `escpos-tcp` HOST:PORT.
    pub fn from_board(board: &PrinterBoard) -> Result<Option<PrinterAddress>, AddressError> {
        let device = || {
            board
                .device
                .clone()
                .ok_or_else(|| invalid("[printer]", "needs device = the printer's device path"))
        };
        Ok(Some(match board.kind {
            PrinterKind::None => return Ok(None),
            PrinterKind::EscposUsb => PrinterAddress::UsbDevice(device()?),
            PrinterKind::EscposSerial => PrinterAddress::Serial {
                path: device()?,
                baud: board.baud.unwrap_or(DEFAULT_BAUD),
            },
            PrinterKind::EscposTcp => {
                let address = board
                    .address
                    .as_deref()
                    .ok_or_else(|| invalid("[printer]", "needs address = HOST:PORT"))?;
                let (host, port) = host_port(address, address, RAW_PRINT_PORT)?;
                PrinterAddress::Tcp { host, port }
            }
        }))
    }

    /// The address in effect: `[receipt] printer` when set, else the board's printer.
    pub fn in_effect(
        setting: Option<&str>,
        board: &PrinterBoard,
    ) -> Result<Option<PrinterAddress>, AddressError> {
        match setting {
            Some(url) => url.parse().map(Some),
            None => Self::from_board(board),
        }
    }

    /// Whether the printer can answer status queries (DLE EOT) on this transport.
    pub fn is_two_way(&self) -> bool {
        !matches!(self, PrinterAddress::File(_))
    }
}

/// How the link to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465).
    Tls,
    /// `smtp+starttls://`: STARTTLS, and no mail unless it succeeds (port 587).
    StartTls,
    /// `smtp://`: no encryption; the site's choice (a relay on the same host).
    Plain,
}

impl SmtpSecurity {
    pub fn is_tls(self) -> bool {
        !matches!(self, SmtpSecurity::Plain)
    }
}

/// A mail server's address from `[receipt.email] smtp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpAddress {
    pub security: SmtpSecurity,
    pub host: String,
    pub port: u16,
}

impl FromStr for SmtpAddress {
    type Err = AddressError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let v = value.trim();
        let schemes = [
            ("smtps://", SmtpSecurity::Tls, 465),
            ("smtp+starttls://", SmtpSecurity::StartTls, 587),
            ("smtp://", SmtpSecurity::Plain, 25),
        ];
        for (scheme, security, default_port) in schemes {
            if let Some(rest) = v.strip_prefix(scheme) {
                let (host, port) = host_port(value, rest, default_port)?;
                return Ok(SmtpAddress {
                    security,
                    host,
                    port,
                });
            }
        }
        Err(invalid(
            value,
            "is not a mail server address (smtps://HOST:465, smtp+starttls://HOST:587 or \
             smtp://HOST:25)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<PrinterAddress, AddressError> {
        s.parse()
    }

    #[test]
    fn printer_forms() {
        assert_eq!(
            p("tcp://printer.local:9100"),
            Ok(PrinterAddress::Tcp {
                host: "printer.local".into(),
                port: 9100
            })
        );
        assert_eq!(
            p("tcp://10.0.0.7"),
            Ok(PrinterAddress::Tcp {
                host: "10.0.0.7".into(),
                port: 9100
            })
        );
        assert_eq!(
            p("tcp://[::1]:9101"),
            Ok(PrinterAddress::Tcp {
                host: "::1".into(),
                port: 9101
            })
        );
        assert_eq!(
            p("usb:04b8:0e27"),
            Ok(PrinterAddress::Usb {
                vendor: 0x04b8,
                product: 0x0e27
            })
        );
        assert_eq!(
            p("serial:/dev/ttyUSB0"),
            Ok(PrinterAddress::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600
            })
        );
        assert_eq!(
            p("serial:/dev/ttyS0?baud=38400"),
            Ok(PrinterAddress::Serial {
                path: "/dev/ttyS0".into(),
                baud: 38400
            })
        );
        assert_eq!(
            p("file:/tmp/receipts.bin"),
            Ok(PrinterAddress::File("/tmp/receipts.bin".into()))
        );
        assert_eq!(
            p("file:///tmp/r.bin"),
            Ok(PrinterAddress::File("/tmp/r.bin".into()))
        );
    }

    #[test]
    fn bad_printer_addresses_say_why() {
        for (value, words) in [
            ("lpt1", "tcp://HOST:PORT"),
            ("tcp://:9100", "no host"),
            ("tcp://h:0", "port"),
            ("tcp://h:99999", "port"),
            ("tcp://h:9100/x", "more than HOST:PORT"),
            ("usb:4b8:202", "4 hex digits"),
            ("usb:04b8", "usb:VID:PID"),
            ("usb:zzzz:0202", "4 hex digits"),
            ("serial:ttyUSB0", "absolute"),
            ("serial:/dev/ttyUSB0?speed=9600", "baud"),
            ("serial:/dev/ttyUSB0?baud=7", "baud"),
            ("file:relative.bin", "absolute"),
        ] {
            let e = p(value).expect_err(value);
            assert!(e.to_string().contains(words), "{value}: {e}");
        }
    }

    #[test]
    fn display_parses_back() {
        for s in [
            "tcp://h:9100",
            "tcp://[::1]:9100",
            "usb:04b8:0202",
            "serial:/dev/ttyS0?baud=19200",
            "file:/x",
        ] {
            let a = p(s).expect(s);
            assert_eq!(p(&a.to_string()), Ok(a));
        }
    }

    #[test]
    fn board_printers() {
        let board = |kind, device: Option<&str>, address: Option<&str>| PrinterBoard {
            kind,
            device: device.map(PathBuf::from),
            address: address.map(String::from),
            baud: None,
        };
        assert_eq!(
            PrinterAddress::from_board(&board(PrinterKind::None, None, None)),
            Ok(None)
        );
        assert_eq!(
            PrinterAddress::from_board(&board(PrinterKind::EscposUsb, Some("/dev/usb/lp0"), None)),
            Ok(Some(PrinterAddress::UsbDevice("/dev/usb/lp0".into())))
        );
        assert_eq!(
            PrinterAddress::from_board(&board(
                PrinterKind::EscposSerial,
                Some("/dev/ttyAMA0"),
                None
            )),
            Ok(Some(PrinterAddress::Serial {
                path: "/dev/ttyAMA0".into(),
                baud: DEFAULT_BAUD
            }))
        );
        assert_eq!(
            PrinterAddress::from_board(&board(PrinterKind::EscposTcp, None, Some("10.1.1.9"))),
            Ok(Some(PrinterAddress::Tcp {
                host: "10.1.1.9".into(),
                port: 9100
            }))
        );
        assert!(PrinterAddress::from_board(&board(PrinterKind::EscposUsb, None, None)).is_err());
        // The setting overrides the board.
        let usb = board(PrinterKind::EscposUsb, Some("/dev/usb/lp0"), None);
        assert_eq!(
            PrinterAddress::in_effect(Some("file:/tmp/x"), &usb),
            Ok(Some(PrinterAddress::File("/tmp/x".into())))
        );
    }

    #[test]
    fn smtp_forms() {
        let s = |v: &str| v.parse::<SmtpAddress>();
        assert_eq!(
            s("smtps://mail.example.org"),
            Ok(SmtpAddress {
                security: SmtpSecurity::Tls,
                host: "mail.example.org".into(),
                port: 465
            })
        );
        assert_eq!(
            s("smtp+starttls://mail:2587"),
            Ok(SmtpAddress {
                security: SmtpSecurity::StartTls,
                host: "mail".into(),
                port: 2587
            })
        );
        assert_eq!(
            s("smtp://127.0.0.1:2525"),
            Ok(SmtpAddress {
                security: SmtpSecurity::Plain,
                host: "127.0.0.1".into(),
                port: 2525
            })
        );
        assert!(
            s("smtp://user:pw@mail:25").is_err(),
            "credentials go in user/password"
        );
        assert!(s("imap://mail").is_err());
        assert!(s("smtps://").is_err());
    }

    proptest! {
        #[test]
        fn junk_never_panics(text in ".{0,60}") {
            if let Ok(a) = text.parse::<PrinterAddress>() {
                prop_assert_eq!(a.to_string().parse::<PrinterAddress>(), Ok(a));
            }
            let _ = text.parse::<SmtpAddress>();
        }

        #[test]
        fn printer_addresses_round_trip(scheme in "(tcp://|usb:|serial:|file:)", rest in "[/a-z0-9:.\\[\\]?=]{0,30}") {
            if let Ok(a) = format!("{scheme}{rest}").parse::<PrinterAddress>() {
                prop_assert_eq!(a.to_string().parse::<PrinterAddress>(), Ok(a));
            }
        }
    }
}
