//! E-mailed receipts: the mail written in the session's language (plain text and HTML), and
//! the SMTP client (lettre, rustls on ring) for the three ways a site reaches its mail server.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::address::{SmtpAddress, SmtpSecurity};
use super::layout::{groups, item_detail};
use super::model::Receipt;
use super::settings::EmailSettings;
use super::texts::{date_time, texts};
use crate::kiosk::Language;

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("e-mailed receipts are off: set [receipt.email] smtp")]
    Off,
    #[error("receipt mail settings: {0}")]
    Settings(String),
    #[error("\"{0}\" is not an e-mail address")]
    BadAddress(String),
    #[error("the library system gave no e-mail address, and typing one is not allowed here")]
    TypedAddressRefused,
    #[error("cannot read receipt.email.ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where a receipt is to be mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The address the library system gives for the patron (SIP2 BE).
    FromIls(String),
    /// Typed by the patron on screen: only with `allow_typed_address`.
    Typed(String),
}

impl EmailSettings {
    /// The address to mail to, checked: a typed one only where the site allows it.
    pub fn recipient(&self, recipient: &Recipient) -> Result<String, EmailError> {
        let address = match recipient {
            Recipient::FromIls(a) => a,
            Recipient::Typed(_) if !self.allow_typed_address => {
                return Err(EmailError::TypedAddressRefused);
            }
            Recipient::Typed(a) => a,
        };
        let address = address.trim();
        address
            .parse::<lettre::Address>()
            .map_err(|_| EmailError::BadAddress(address.to_string()))?;
        Ok(address.to_string())
    }
}

/// A receipt written as a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mail for `receipt`, in its language.
pub fn compose(receipt: &Receipt) -> Mail {
    let lang = receipt.language;
    let t = texts(lang);
    let when = date_time(receipt.at, lang);
    let mut text = format!(
        "{}\n{} - {when}\n{}: {}\n{}: {}\n\n{}\n",
        receipt.library_name,
        t.receipt,
        t.terminal,
        receipt.terminal_id,
        t.card,
        receipt.masked_card(),
        t.greeting,
    );
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n<p>{} &ndash; {}<br>{}: {}<br>{}: {}</p>\n<p>{}</p>\n",
        lang.code().replace('_', "-"),
        escape(&t.subject(&receipt.library_name)),
        escape(&receipt.library_name),
        escape(t.receipt),
        escape(&when),
        escape(t.terminal),
        escape(&receipt.terminal_id),
        escape(t.card),
        escape(&receipt.masked_card()),
        escape(t.greeting),
    );
    for (heading, items) in groups(receipt) {
        text.push_str(&format!("\n{}\n", heading(t)));
        html.push_str(&format!("<h2>{}</h2>\n<ul>\n", escape(heading(t))));
        for item in items {
            let detail = item_detail(item, receipt, t);
            text.push_str(&format!("- {}\n  {detail}\n", item.name()));
            html.push_str(&format!(
                "<li><strong>{}</strong><br>{}</li>\n",
                escape(item.name()),
                escape(&detail)
            ));
        }
        html.push_str("</ul>\n");
    }
    if !receipt.holds_ready.is_empty() {
        text.push_str(&format!("\n{}\n", t.holds_ready));
        html.push_str(&format!("<h2>{}</h2>\n<ul>\n", escape(t.holds_ready)));
        for hold in &receipt.holds_ready {
            text.push_str(&format!("- {hold}\n"));
            html.push_str(&format!("<li>{}</li>\n", escape(hold)));
        }
        html.push_str("</ul>\n");
    }
    if let Some(fines) = &receipt.fines {
        text.push_str(&format!("\n{}: {fines}\n", t.fines));
        html.push_str(&format!("<p>{}: {}</p>\n", escape(t.fines), escape(fines)));
    }
    if !receipt.print_lines.is_empty() {
        text.push('\n');
        html.push_str("<pre>");
        for line in &receipt.print_lines {
            text.push_str(&format!("{line}\n"));
            html.push_str(&format!("{}\n", escape(line)));
        }
        html.push_str("</pre>\n");
    }
    text.push_str(&format!("\n{}\n\n-- \n{}\n", t.thanks, t.mail_footer));
    html.push_str(&format!(
        "<p>{}</p>\n<hr>\n<p><small>{}</small></p>\n</body></html>\n",
        escape(t.thanks),
        escape(t.mail_footer)
    ));
    Mail {
        language: lang,
        subject: t.subject(&receipt.library_name),
        text,
        html,
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Why one mail did not go.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server or the address will not take it, however often it is tried.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// The server is down, slow or busy: try again later.
    #[error("not sent for now: {0}")]
    Transient(String),
}

/// The SMTP client for `[receipt.email]`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The client the settings describe; [`EmailError::Off`] when no server is set.
    pub fn from_settings(settings: &EmailSettings) -> Result<Mailer, EmailError> {
        let url = settings.smtp.as_deref().ok_or(EmailError::Off)?;
        let address: SmtpAddress = url
            .parse()
            .map_err(|e: super::address::AddressError| EmailError::Settings(e.to_string()))?;
        let from: Mailbox = settings.from.parse().map_err(|e| {
            EmailError::Settings(format!("receipt.email.from \"{}\": {e}", settings.from))
        })?;
        let tls = match address.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&address.host, settings)?),
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&address.host, settings)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&address.host)
            .port(address.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(u64::from(
                settings.timeout_secs.max(1),
            ))));
        if !settings.user.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.user.clone(),
                settings.password.clone(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Send one mail to `to`.
    pub async fn send(&self, mail: &Mail, to: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent(format!("\"{to}\" is not an e-mail address")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// TLS checked against the system roots, plus `ca_file` when set.
fn tls_parameters(host: &str, settings: &EmailSettings) -> Result<TlsParameters, EmailError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &settings.ca_file {
        let ca_error = |message: String| EmailError::CaFile {
            path: path.display().to_string(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| EmailError::Settings(format!("TLS for {host}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_is_in_the_session_language() {
        let mut receipt = Receipt::sample(Language::Italian, "Biblioteca <Centrale>", "k1");
        receipt.print_lines = vec!["Totale & resto".into()];
        let mail = compose(&receipt);
        assert_eq!(mail.subject, "La ricevuta di Biblioteca <Centrale>");
        for want in [
            "Prestiti",
            "Se questo è un uomo",
            "Scadenza: 28 dic 2026",
            "Tessera: ****0012",
            "Totale & resto",
        ] {
            assert!(mail.text.contains(want), "{want} in {}", mail.text);
        }
        assert!(mail.html.contains("<html lang=\"it\">"));
        assert!(mail.html.contains("Biblioteca &lt;Centrale&gt;"));
        assert!(mail.html.contains("Totale &amp; resto"));
        assert!(!mail.text.contains("21000000000012"));
        let zh = compose(&Receipt::sample(Language::Chinese, "市图书馆", "k1"));
        assert_eq!(zh.subject, "市图书馆借还凭条");
        assert!(zh.text.contains("到期: 2026年12月28日"), "{}", zh.text);
        assert!(zh.html.contains("lang=\"zh-CN\""));
    }

    #[test]
    fn typed_addresses_only_where_allowed() {
        let mut s = EmailSettings::default();
        assert_eq!(
            s.recipient(&Recipient::FromIls(" a@example.org ".into()))
                .expect("from the ILS"),
            "a@example.org"
        );
        assert!(matches!(
            s.recipient(&Recipient::Typed("a@example.org".into())),
            Err(EmailError::TypedAddressRefused)
        ));
        s.allow_typed_address = true;
        assert!(
            s.recipient(&Recipient::Typed("a@example.org".into()))
                .is_ok()
        );
        assert!(matches!(
            s.recipient(&Recipient::FromIls("not an address".into())),
            Err(EmailError::BadAddress(_))
        ));
        assert!(matches!(
            s.recipient(&Recipient::FromIls(String::new())),
            Err(EmailError::BadAddress(_))
        ));
    }

    #[test]
    fn mailer_from_settings() {
        let mut s = EmailSettings::default();
        assert!(matches!(Mailer::from_settings(&s), Err(EmailError::Off)));
        s.from = "Library <noreply@example.org>".into();
        for url in [
            "smtp://127.0.0.1:2525",
            "smtps://mail.example.org",
            "smtp+starttls://mail.example.org:587",
        ] {
            s.smtp = Some(url.into());
            assert!(Mailer::from_settings(&s).is_ok(), "{url}");
        }
        s.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(matches!(
            Mailer::from_settings(&s),
            Err(EmailError::CaFile { .. })
        ));
    }
}
