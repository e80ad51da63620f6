//! The "new passkey added to your account" notification: a log line by
//! default, or an email over SMTP.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use monetro_domain::{Passkey, User};
use monetro_ports::{Notifier, NotifyError};
use secrecy::{ExposeSecret as _, SecretString};

/// Writes notifications to the service log (no email is sent).
#[derive(Debug, Clone, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    async fn passkey_added(&self, user: &User, passkey: &Passkey) -> Result<(), NotifyError> {
        tracing::info!(user = %user.id, passkey = %passkey.id, name = passkey.name.as_str(), "notification: a new passkey was added to the account");
        Ok(())
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (the
    /// submission port, 587).
    Starttls,
    /// TLS from the first byte (implicit TLS, port 465).
    Tls,
    /// No TLS at all: only for a relay on this machine.
    None,
}

impl SmtpTls {
    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// Where and how to send notification emails.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// The `From` mailbox, e.g. `Monetro <no-reply@monetro.example>`.
    pub from: String,
    /// User name and password, when the server wants a login.
    pub credentials: Option<(String, SecretString)>,
    /// For connecting and for each command.
    pub timeout: Duration,
}

/// The subject of the new-passkey email.
pub const PASSKEY_ADDED_SUBJECT: &str = "A new passkey was added to your Monetro account";

/// Sends notifications as emails over SMTP (lettre, rustls with Mozilla's
/// roots). One connection per email: they are rare.
#[derive(Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpNotifier {
    /// Checks the settings and prepares the transport; nothing is
    /// connected until the first email.
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("from {:?} is not a mailbox: {e}", settings.from))?;
        if settings.host.trim().is_empty() {
            return Err("host is empty".into());
        }
        let host = settings.host.trim();
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls | SmtpTls::Tls => {
                let parameters = TlsParameters::new(host.to_owned())
                    .map_err(|e| format!("TLS for {host}: {e}"))?;
                if settings.tls == SmtpTls::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    fn passkey_added_message(&self, user: &User, passkey: &Passkey) -> Result<Message, String> {
        let address: Address = user
            .email
            .as_str()
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        let name = user.display_name.as_ref().map(|n| n.as_str().to_owned());
        let greeting = name.as_deref().unwrap_or(user.email.as_str());
        let when = passkey.created_at.format("%Y-%m-%d %H:%M UTC");
        let body = [
            format!("Hello {greeting},"),
            String::new(),
            "A new passkey was added to your Monetro account".to_owned(),
            format!("({}) on {when}:", user.email.as_str()),
            String::new(),
            format!("    {}", passkey.name.as_str()),
            String::new(),
            "If this was you, there is nothing to do.".to_owned(),
            String::new(),
            "If it was not, sign in now, remove the passkey under".to_owned(),
            "Settings > Security > Passkeys, and change your password.".to_owned(),
        ]
        .join("\r\n");
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(PASSKEY_ADDED_SUBJECT)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("message: {e}"))
    }
}

impl Notifier for SmtpNotifier {
    async fn passkey_added(&self, user: &User, passkey: &Passkey) -> Result<(), NotifyError> {
        let message = self
            .passkey_added_message(user, passkey)
            .map_err(NotifyError)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| NotifyError(format!("SMTP: {e}")))?;
        tracing::info!(user = %user.id, passkey = %passkey.id, "new-passkey email sent");
        Ok(())
    }
}
