//! Expiry reminders: which secrets are close to expiry, and the claims
//! that make each reminder go out once whatever the number of servers.

use crate::application::ApplicationName;
use crate::audit::NewAuditEvent;
use crate::ids::{OrganisationId, SecretId};
use crate::secret::SecretRecord;
use crate::store::StoreError;
use crate::user::User;
use time::OffsetDateTime;

/// A secret that may have an expiry reminder due, with what the message
/// names.
#[derive(Debug, Clone)]
pub struct ExpiringSecret {
    /// The secret's metadata.
    pub secret: SecretRecord,
    /// Its application's name.
    pub application_name: ApplicationName,
    /// The application's organisation, whose credential managers are told.
    pub organisation_id: OrganisationId,
}

/// How sending a reminder ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// Delivered to the mail server (or written to the outbox).
    Sent,
    /// Every try failed; the next run tries again.
    Failed,
    /// The organisation has nobody to tell.
    NoRecipients,
}

impl ReminderOutcome {
    /// The stored status.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::NoRecipients => "no_recipients",
        }
    }
}

/// Reminder scheduling.
#[async_trait::async_trait]
pub trait ReminderStore: Send + Sync + 'static {
    /// Secrets expiring before `before`, with their application's name and
    /// organisation, soonest first.
    async fn secrets_expiring_before(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<ExpiringSecret>, StoreError>;
    /// Claims the reminder of `secret` due at `due_at` for `holder` until
    /// `until`: it is new, failed before, or claimed by a server that let
    /// the claim lapse. Atomic across servers. Returns whether it is ours.
    async fn claim_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records how a claimed reminder ended, with its audit event if it has
    /// one, in one transaction.
    async fn finish_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        outcome: ReminderOutcome,
        now: OffsetDateTime,
        event: Option<&NewAuditEvent>,
    ) -> Result<(), StoreError>;
    /// The people to tell about a secret of `organisation`: its credential
    /// managers, and every admin too when `include_admins`.
    async fn reminder_recipients(
        &self,
        organisation: OrganisationId,
        include_admins: bool,
    ) -> Result<Vec<User>, StoreError>;
}
