//! `[receipt]` and `[receipt.email]`: where receipts are printed and mailed, and how.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::address::{PrinterAddress, SmtpAddress};
use super::codepage::CodePage;
use crate::config::Problem;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiptSettings {
    /// `tcp://host:9100`, `usb:VID:PID`, `serial:/dev/ttyUSB0[?baud=N]` or `file:/path`.
    /// Unset: the board's `[printer]`, if it has one.
    pub printer: Option<String>,
    /// The printer's code page for Latin text.
    pub code_page: CodePage,
    /// The number `ESC t n` selects that code page with; vendors number their tables
    /// differently. Unset: Epson's number for `code_page`.
    pub code_page_table: Option<u8>,
    /// How Chinese is printed: `gb18030` through the printer's Chinese mode, or `raster`
    /// (drawn with the font, works on any printer).
    pub chinese: ChineseMode,
    /// Font for raster lines (TrueType/OpenType, or a collection). Unset: the bundled font.
    pub font: Option<PathBuf>,
    /// Characters per line in the printer's font A (42 on 80 mm paper, 32 on 58 mm).
    pub width: u16,
    /// What the summary screen offers the patron: "print", "email".
    pub offer: Vec<String>,
    /// Print a QR code of the loan list at the end of the receipt.
    pub qr: bool,
    /// Longest wait for the printer at each step (connect, status, write).
    pub timeout_secs: u32,
    pub email: EmailSettings,
}

impl Default for ReceiptSettings {
    fn default() -> Self {
        Self {
            printer: None,
            code_page: CodePage::Cp858,
            code_page_table: None,
            chinese: ChineseMode::Raster,
            font: None,
            width: 42,
            offer: vec!["print".into(), "email".into()],
            qr: false,
            timeout_secs: 3,
            email: EmailSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChineseMode {
    /// The printer's double-byte mode (`FS &` ... `FS .`) with GB18030 bytes.
    Gb18030,
    /// Lines with characters outside the code page are drawn as raster images.
    Raster,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtps://host:465` (TLS), `smtp+starttls://host:587` (STARTTLS required) or
    /// `smtp://host:25` (plain: the site says so, e.g. a relay on the same host). Unset: no
    /// e-mailed receipts.
    pub smtp: Option<String>,
    /// The sender, `Library <noreply@example.org>` or a bare address.
    pub from: String,
    pub user: String,
    pub password: String,
    /// PEM file of a CA to trust besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Let the patron type an address on screen when the ILS gives none.
    pub allow_typed_address: bool,
    /// Longest wait for the mail server at each step.
    pub timeout_secs: u32,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            smtp: None,
            from: String::new(),
            user: String::new(),
            password: String::new(),
            ca_file: None,
            allow_typed_address: false,
            timeout_secs: 20,
        }
    }
}

/// What the summary screen may offer.
pub const OFFERS: &[&str] = &["print", "email"];

impl ReceiptSettings {
    /// Every invalid value under `receipt.`.
    pub fn problems(&self, out: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            out.push(Problem {
                key: key.into(),
                message,
            })
        };
        if let Some(url) = &self.printer
            && let Err(e) = url.parse::<PrinterAddress>()
        {
            bad("receipt.printer", e.to_string());
        }
        if let Some(font) = &self.font {
            if !font.is_file() {
                bad(
                    "receipt.font",
                    format!("{} does not exist or is not a file", font.display()),
                );
            } else if let Err(e) = super::raster::Rasteriser::from_file(font) {
                bad("receipt.font", e.to_string());
            }
        }
        if !(24..=64).contains(&self.width) {
            bad(
                "receipt.width",
                format!("{} is out of range (24 to 64 characters)", self.width),
            );
        }
        if !(1..=30).contains(&self.timeout_secs) {
            bad(
                "receipt.timeout_secs",
                format!("{} is out of range (1 to 30 seconds)", self.timeout_secs),
            );
        }
        for offer in &self.offer {
            if !OFFERS.contains(&offer.as_str()) {
                bad(
                    "receipt.offer",
                    format!(
                        "\"{offer}\" is not a receipt choice (use: {})",
                        OFFERS.join(", ")
                    ),
                );
            }
        }
        self.email.problems(&mut bad);
    }

    /// The `ESC t` table number in effect.
    pub fn table(&self) -> u8 {
        self.code_page_table
            .unwrap_or_else(|| self.code_page.epson_table())
    }

    /// Whether the summary screen may offer `choice` ("print" or "email"), given that this
    /// terminal has a printer (`[receipt] printer` or the board's).
    pub fn offers(&self, choice: &str, has_printer: bool) -> bool {
        let wanted = self.offer.iter().any(|o| o == choice);
        match choice {
            "print" => wanted && has_printer,
            "email" => wanted && self.email.smtp.is_some(),
            _ => false,
        }
    }
}

impl EmailSettings {
    fn problems(&self, bad: &mut impl FnMut(&str, String)) {
        let address = match self.smtp.as_deref().map(str::parse::<SmtpAddress>) {
            None => None,
            Some(Ok(a)) => Some(a),
            Some(Err(e)) => {
                bad("receipt.email.smtp", e.to_string());
                None
            }
        };
        if self.smtp.is_some() {
            if self.from.trim().is_empty() {
                bad(
                    "receipt.email.from",
                    "missing: mail needs a sender address".into(),
                );
            } else if let Err(e) = self.from.parse::<lettre::message::Mailbox>() {
                bad(
                    "receipt.email.from",
                    format!("\"{}\" is not an e-mail address: {e}", self.from),
                );
            }
        }
        if !self.user.is_empty() && self.password.is_empty() {
            bad(
                "receipt.email.password",
                "missing: receipt.email.user is set but no password is given".into(),
            );
        }
        if self.user.is_empty() && !self.password.is_empty() {
            bad(
                "receipt.email.user",
                "missing: a password is given but no user".into(),
            );
        }
        if let Some(ca) = &self.ca_file {
            if address.as_ref().is_some_and(|a| !a.security.is_tls()) {
                bad(
                    "receipt.email.ca_file",
                    "is set but receipt.email.smtp is plain smtp://".into(),
                );
            } else if !ca.is_file() {
                bad(
                    "receipt.email.ca_file",
                    format!("{} does not exist or is not a file", ca.display()),
                );
            }
        }
        if !(1..=120).contains(&self.timeout_secs) {
            bad(
                "receipt.email.timeout_secs",
                format!("{} is out of range (1 to 120 seconds)", self.timeout_secs),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &ReceiptSettings) -> Vec<String> {
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|p| p.key).collect()
    }

    fn parsed(text: &str) -> ReceiptSettings {
        toml::from_str(text).expect("valid TOML for the receipt settings")
    }

    #[test]
    fn defaults_are_valid_and_offer_only_what_exists() {
        let s = ReceiptSettings::default();
        assert!(keys(&s).is_empty());
        assert_eq!(s.table(), 19, "Epson's PC858");
        assert!(s.offers("print", true));
        assert!(!s.offers("print", false));
        assert!(!s.offers("email", true), "no mail server configured");
        assert!(!s.offers("fax", true));
    }

    #[test]
    fn a_full_section_parses() {
        let s = parsed(
            r#"
            printer = "tcp://printer.local:9100"
            code_page = "cp1252"
            code_page_table = 71
            chinese = "gb18030"
            width = 48
            offer = ["email"]
            qr = true
            [email]
            smtp = "smtp+starttls://mail.example.org:587"
            from = "City Library <noreply@example.org>"
            user = "kiosk"
            password = "pw"
            allow_typed_address = true
            "#,
        );
        assert!(keys(&s).is_empty(), "{:?}", keys(&s));
        assert_eq!(s.table(), 71);
        assert_eq!(s.chinese, ChineseMode::Gb18030);
        assert!(s.offers("email", false));
        assert!(!s.offers("print", true), "not offered");
    }

    #[test]
    fn every_key_is_checked() {
        let s = parsed(
            r#"
            printer = "lpt1"
            font = "/nonexistent/font.ttf"
            width = 10
            offer = ["fax"]
            timeout_secs = 0
            [email]
            smtp = "http://mail:80"
            from = "not an address"
            user = "kiosk"
            ca_file = "/nonexistent/ca.pem"
            timeout_secs = 0
            "#,
        );
        assert_eq!(
            keys(&s),
            [
                "receipt.printer",
                "receipt.font",
                "receipt.width",
                "receipt.timeout_secs",
                "receipt.offer",
                "receipt.email.smtp",
                "receipt.email.from",
                "receipt.email.password",
                "receipt.email.ca_file",
                "receipt.email.timeout_secs",
            ]
        );
    }

    #[test]
    fn mail_needs_a_sender_and_plain_mail_takes_no_ca() {
        let s = parsed("[email]\nsmtp = \"smtp://localhost:25\"\n");
        assert_eq!(keys(&s), ["receipt.email.from"]);
        let s = parsed(
            "[email]\nsmtp = \"smtp://localhost:25\"\nfrom = \"a@b.org\"\nca_file = \"Cargo.toml\"\n",
        );
        assert_eq!(keys(&s), ["receipt.email.ca_file"]);
        let s = parsed("[email]\npassword = \"x\"\n");
        assert_eq!(keys(&s), ["receipt.email.user"]);
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        assert!(toml::from_str::<ReceiptSettings>("colour = true").is_err());
        assert!(toml::from_str::<ReceiptSettings>("chinese = \"big5\"").is_err());
        assert!(toml::from_str::<ReceiptSettings>("code_page = \"cp999\"").is_err());
        assert!(toml::from_str::<ReceiptSettings>("[email]\nsmpt = \"x\"").is_err());
    }
}
