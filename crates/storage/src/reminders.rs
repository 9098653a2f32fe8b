//! [`ReminderStore`]: secrets close to expiry and once-only reminder claims.

use tessera_core::application::ApplicationName;
use tessera_core::audit::NewAuditEvent;
use tessera_core::ids::{OrganisationId, SecretId};
use tessera_core::store::{ExpiringSecret, ReminderOutcome, ReminderStore, StoreError};
use tessera_core::user::User;
use time::OffsetDateTime;

use crate::audit::insert_audit;
use crate::error::db;
use crate::rows;
use crate::sql_store::{SqlStore, epoch};

#[async_trait::async_trait]
impl ReminderStore for SqlStore {
    async fn secrets_expiring_before(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<ExpiringSecret>, StoreError> {
        sqlx::query(
            "SELECT s.id, s.client_id, s.name, s.hint, s.created_at, s.created_by_kind, \
                    s.created_by_user_id, s.created_by, s.expires_at, \
                    s.last_used_at, a.name AS application_name, a.organisation_id \
             FROM client_secrets s JOIN applications a ON a.client_id = s.client_id \
             WHERE s.expires_at < $1 ORDER BY s.expires_at, s.id",
        )
        .bind(epoch(before))
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(ExpiringSecret {
                secret: rows::secret_record(row)?,
                application_name: ApplicationName::from_stored(rows::text(
                    row,
                    "application_name",
                )?),
                organisation_id: rows::text(row, "organisation_id")?
                    .parse()
                    .map_err(|_| StoreError::Corrupt("organisation_id".into()))?,
            })
        })
        .collect()
    }

    async fn claim_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO reminder_deliveries \
               (secret_id, due_at, status, attempts, claimed_by, claimed_until, updated_at) \
             VALUES ($1, $2, 'sending', 1, $3, $4, $5) \
             ON CONFLICT (secret_id, due_at) DO UPDATE SET status = 'sending', \
               attempts = reminder_deliveries.attempts + 1, claimed_by = excluded.claimed_by, \
               claimed_until = excluded.claimed_until, updated_at = excluded.updated_at \
             WHERE reminder_deliveries.status = 'failed' \
                OR (reminder_deliveries.status = 'sending' AND reminder_deliveries.claimed_until <= $5)",
        )
        .bind(secret.to_string())
        .bind(epoch(due_at))
        .bind(holder.to_owned())
        .bind(epoch(until))
        .bind(epoch(now))
        .execute(self.pool())
        .await
        .map_err(db)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn finish_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        outcome: ReminderOutcome,
        now: OffsetDateTime,
        event: Option<&NewAuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query(
            "UPDATE reminder_deliveries SET status = $1, updated_at = $2 \
             WHERE secret_id = $3 AND due_at = $4 AND claimed_by = $5",
        )
        .bind(outcome.as_str())
        .bind(epoch(now))
        .bind(secret.to_string())
        .bind(epoch(due_at))
        .bind(holder.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(event) = event {
            insert_audit(&mut *tx, event).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn reminder_recipients(
        &self,
        organisation: OrganisationId,
        include_admins: bool,
    ) -> Result<Vec<User>, StoreError> {
        sqlx::query(
            "SELECT id, email, role, organisation_id, status, created_at FROM users \
             WHERE (role = 'credential-manager' AND organisation_id = $1) \
                OR (role = 'admin' AND $2 = 1) \
             ORDER BY email",
        )
        .bind(organisation.to_string())
        .bind(i64::from(include_admins))
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(rows::user)
        .collect()
    }
}
