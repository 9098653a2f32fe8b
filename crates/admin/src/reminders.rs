//! Expiry reminders as Tessera itself records them: which secrets are
//! due, the once-only claims, and the outcome with its audit event. The
//! server's scheduler sends the mail.

use tessera_core::audit::{AuditAction, AuditOutcome};
use tessera_core::ids::{OrganisationId, SecretId};
use tessera_core::store::{ExpiringSecret, ReminderOutcome};
use tessera_core::user::User;
use time::OffsetDateTime;

use crate::{Acting, Admin, AdminError};

impl Admin {
    /// Secrets expiring before `before`, soonest first, with what a
    /// reminder names.
    pub async fn expiring_secrets(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<ExpiringSecret>, AdminError> {
        Ok(self.store.secrets_expiring_before(before).await?)
    }

    /// Claims the reminder of `secret` due at `due_at` for `holder` until
    /// `until`, atomically across servers; whether it is ours to send.
    pub async fn claim_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<bool, AdminError> {
        Ok(self
            .store
            .claim_reminder(secret, due_at, holder, self.clock.now(), until)
            .await?)
    }

    /// Who a reminder about a secret of `organisation` goes to.
    pub async fn reminder_recipients(
        &self,
        organisation: OrganisationId,
        include_admins: bool,
    ) -> Result<Vec<User>, AdminError> {
        Ok(self
            .store
            .reminder_recipients(organisation, include_admins)
            .await?)
    }

    /// Records how a claimed reminder ended, audited as Tessera's own act
    /// when one was sent or every try failed.
    pub async fn finish_reminder(
        &self,
        expiring: &ExpiringSecret,
        due_at: OffsetDateTime,
        holder: &str,
        outcome: ReminderOutcome,
    ) -> Result<(), AdminError> {
        let secret = &expiring.secret;
        let event = match outcome {
            ReminderOutcome::Sent => Some((AuditAction::ReminderSent, AuditOutcome::Success)),
            ReminderOutcome::Failed => Some((AuditAction::ReminderFailed, AuditOutcome::Failure)),
            ReminderOutcome::NoRecipients => None,
        }
        .map(|(action, result)| {
            self.event(
                &Acting::system(),
                Some(expiring.organisation_id),
                action,
                format!("{}/{}", secret.client_id, secret.id),
                result,
            )
        });
        self.store
            .finish_reminder(
                secret.id,
                due_at,
                holder,
                outcome,
                self.clock.now(),
                event.as_ref(),
            )
            .await?;
        Ok(())
    }
}
