//! How messages leave Tessera: `.eml` files in an outbox folder (the
//! embedded default, nothing to set up) or an SMTP server.

use lettre::transport::smtp::authentication::Credentials;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
};
use secrecy::ExposeSecret as _;
use std::time::Duration;

use crate::settings::{EmailSettings, EmailTransport, SmtpSecurity};

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    /// Written as `<uuid>.eml` into a folder.
    Outbox(AsyncFileTransport<Tokio1Executor>),
    /// Sent to an SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Outbox(_) => "Mailer::Outbox",
            Self::Smtp(_) => "Mailer::Smtp",
        })
    }
}

/// The mail settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The outbox folder cannot be created.
    #[error("cannot create the outbox folder {path}: {source}")]
    Outbox {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The SMTP relay cannot be set up.
    #[error("invalid SMTP settings: {0}")]
    Smtp(String),
}

impl Mailer {
    /// The transport `settings` describe.
    pub fn from_settings(settings: &EmailSettings) -> Result<Self, MailerError> {
        match settings.transport {
            EmailTransport::Outbox => {
                tessera_core::private_fs::create_dir(&settings.outbox_dir).map_err(|source| {
                    MailerError::Outbox {
                        path: settings.outbox_dir.display().to_string(),
                        source,
                    }
                })?;
                Ok(Self::Outbox(AsyncFileTransport::new(&settings.outbox_dir)))
            }
            EmailTransport::Smtp => {
                let smtp = &settings.smtp;
                let builder = match smtp.security {
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                            .map_err(|e| MailerError::Smtp(e.to_string()))?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| MailerError::Smtp(e.to_string()))?,
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(smtp.timeout_seconds.max(1))));
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.expose_secret().to_owned(),
                    ));
                }
                Ok(Self::Smtp(builder.build()))
            }
        }
    }

    /// Sends `message`; the error says why it could not be.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Self::Outbox(outbox) => outbox
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Self::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}
