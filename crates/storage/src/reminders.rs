//! [`ReminderStore`]: secrets close to expiry and once-only reminder claims.

use tessera_core::application::ApplicationName;
use tessera_core::ids::SecretId;
use tessera_core::store::{ExpiringSecret, ReminderOutcome, ReminderStore, StoreError};
use time::OffsetDateTime;

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
            "SELECT s.id, s.client_id, s.name, s.hint, s.created_at, s.created_by, s.expires_at, \
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
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE reminder_deliveries SET status = $1, updated_at = $2 \
             WHERE secret_id = $3 AND due_at = $4 AND claimed_by = $5",
        )
        .bind(outcome.as_str())
        .bind(epoch(now))
        .bind(secret.to_string())
        .bind(epoch(due_at))
        .bind(holder.to_owned())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }
}
