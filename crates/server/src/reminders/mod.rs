//! Expiry reminders by email (see [`tessera_core::reminder`] for when they
//! are due).
//!
//! A pass finds, for every secret expiring within six weeks, the latest
//! reminder due, claims it in the database (one statement, atomic across
//! servers), sends it with a few tries, and records the outcome. Delivery
//! is at least once: a server that dies after sending and before recording
//! leaves its claim to lapse, and another server sends the reminder again.
//! A duplicate reminder is a nuisance; a missing one can break a partner's
//! integration, so that is the side to err on.

pub mod mailer;
pub mod message;

use lettre::Message;
use lettre::message::Mailbox;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tessera_core::reminder::{FIRST_REMINDER, latest_due};
use tessera_core::store::{ExpiringSecret, ReminderOutcome};
use time::Duration;

use crate::metrics::Metrics;
use crate::settings::ReminderSettings;
pub use mailer::{Mailer, MailerError};
use message::Reminder;
use tessera_admin::{Admin, AdminError};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Reminders sent.
    pub sent: u32,
    /// Reminders whose every try failed (tried again next pass).
    pub failed: u32,
    /// Reminders due for organisations with nobody to tell.
    pub no_recipients: u32,
}

/// The reminder scheduler of one server.
#[derive(Debug)]
pub struct Reminders {
    admin: Admin,
    mailer: Mailer,
    settings: ReminderSettings,
    from: Mailbox,
    management_url: String,
    metrics: Metrics,
    /// Names this server in its claims.
    holder: String,
}

/// The settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReminderSetupError {
    /// `[email] from` is not an address.
    #[error("[email] from is not a valid address: {0}")]
    From(String),
    /// The mail transport cannot be set up.
    #[error(transparent)]
    Mailer(#[from] MailerError),
}

impl Reminders {
    /// A scheduler sending through `mailer` from `from`, linking to
    /// `management_url`.
    pub fn new(
        admin: Admin,
        mailer: Mailer,
        settings: ReminderSettings,
        from: &str,
        management_url: String,
        metrics: Metrics,
    ) -> Result<Self, ReminderSetupError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| ReminderSetupError::From(e.to_string()))?;
        Ok(Self {
            admin,
            mailer,
            settings,
            from,
            management_url,
            metrics,
            holder: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Sends every reminder due now that no server has sent.
    pub async fn run_once(&self) -> Result<PassReport, AdminError> {
        let now = self.admin.clock().now();
        let mut report = PassReport::default();
        let expiring = self
            .admin
            .expiring_secrets(now + FIRST_REMINDER + Duration::seconds(1))
            .await?;
        for secret in &expiring {
            let record = &secret.secret;
            let Some(due) = latest_due(record.expires_at, record.created_at, now) else {
                continue;
            };
            let claim = i64::try_from(self.settings.claim_seconds).unwrap_or(i64::MAX);
            let claimed = self
                .admin
                .claim_reminder(
                    record.id,
                    due.at,
                    &self.holder,
                    now + Duration::seconds(claim),
                )
                .await?;
            if !claimed {
                continue;
            }
            let outcome = self.deliver(secret, now).await?;
            self.admin
                .finish_reminder(secret, due.at, &self.holder, outcome)
                .await?;
            match outcome {
                ReminderOutcome::Sent => {
                    report.sent += 1;
                    tracing::info!(secret_id = %record.id, client_id = %record.client_id, reminder = due.kind.label(), "sent an expiry reminder");
                }
                ReminderOutcome::Failed => report.failed += 1,
                ReminderOutcome::NoRecipients => {
                    report.no_recipients += 1;
                    tracing::warn!(secret_id = %record.id, organisation_id = %secret.organisation_id, "an expiry reminder is due but the organisation has no credential manager");
                }
            }
            self.metrics
                .reminders
                .with_label_values(&[outcome.as_str()])
                .inc();
        }
        self.metrics.reminders_due.set(i64::from(report.failed));
        Ok(report)
    }

    async fn recipients(&self, secret: &ExpiringSecret) -> Result<Vec<Mailbox>, AdminError> {
        let users = self
            .admin
            .reminder_recipients(secret.organisation_id, self.settings.include_admins)
            .await?;
        let mut to: Vec<Mailbox> = users
            .iter()
            .filter_map(|u| match u.email.as_ref().parse::<Mailbox>() {
                Ok(mailbox) => Some(mailbox),
                Err(e) => {
                    tracing::warn!(user_id = %u.id, error = %e, "skipping a recipient whose address the mailer refuses");
                    None
                }
            })
            .collect();
        to.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(to)
    }

    /// Sends one reminder, one message per recipient, each tried up to
    /// `max_attempts` times with doubling waits. It is sent when every
    /// recipient's message went; if any failed, the next pass sends it
    /// again to everyone (a duplicate rather than a missed reminder).
    async fn deliver(
        &self,
        secret: &ExpiringSecret,
        now: time::OffsetDateTime,
    ) -> Result<ReminderOutcome, AdminError> {
        let to = self.recipients(secret).await?;
        if to.is_empty() {
            return Ok(ReminderOutcome::NoRecipients);
        }
        let reminder = Reminder {
            expiring: secret,
            now,
            management_url: &self.management_url,
        };
        let mut outcome = ReminderOutcome::Sent;
        for recipient in to {
            let message = match reminder.message(self.from.clone(), recipient) {
                Ok(message) => message,
                Err(e) => {
                    tracing::error!(secret_id = %secret.secret.id, error = %e, "could not build a reminder message");
                    outcome = ReminderOutcome::Failed;
                    continue;
                }
            };
            if !self.send(secret, message).await {
                outcome = ReminderOutcome::Failed;
            }
        }
        Ok(outcome)
    }

    /// Sends `message`, trying up to `max_attempts` times with doubling
    /// waits; whether it went.
    async fn send(&self, secret: &ExpiringSecret, message: Message) -> bool {
        let mut wait = StdDuration::from_millis(self.settings.retry_backoff_milliseconds);
        let attempts = self.settings.max_attempts.max(1);
        for attempt in 1..=attempts {
            match self.mailer.send(message.clone()).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(secret_id = %secret.secret.id, attempt, attempts, error = %e, "could not send an expiry reminder");
                    if attempt < attempts {
                        tokio::time::sleep(wait).await;
                        wait = wait.saturating_mul(2);
                    }
                }
            }
        }
        false
    }
}

/// Runs a pass every `interval_seconds` until `stopped`.
pub async fn run(reminders: Arc<Reminders>, stopped: impl Future<Output = ()>) {
    let interval = StdDuration::from_secs(reminders.settings.interval_seconds.max(1));
    tokio::pin!(stopped);
    let mut failures = tessera_token::outage::FailureLog::new("run the reminder pass");
    loop {
        failures.record(&reminders.run_once().await);
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
