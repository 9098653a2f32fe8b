//! [`KeyStore`]: signing key records and leases.

use tessera_core::audit::NewAuditEvent;
use tessera_core::store::{KeyStore, SigningKeyRecord, StoreError};
use time::OffsetDateTime;

use crate::audit::insert_audit;
use crate::error::db;
use crate::rows;
use crate::sql_store::{SqlStore, epoch};

#[async_trait::async_trait]
impl KeyStore for SqlStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
        )
        .bind(name.to_owned())
        .bind(holder.to_owned())
        .bind(epoch(until))
        .bind(epoch(now))
        .execute(self.pool())
        .await
        .map_err(db)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn register_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (kid) DO NOTHING",
        )
        .bind(key.kid.clone())
        .bind(key.alg.clone())
        .bind(epoch(key.created_at))
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(kid = %kid))]
    async fn activate_signing_key(
        &self,
        kid: &str,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let updated = sqlx::query(
            "UPDATE signing_keys SET activated_at = $1, \
             activation_seq = (SELECT COALESCE(MAX(activation_seq), 0) + 1 FROM signing_keys) \
             WHERE kid = $2",
        )
        .bind(epoch(at))
        .bind(kid.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        sqlx::query(
            "SELECT kid, alg, created_at, activated_at, activation_seq FROM signing_keys \
             ORDER BY COALESCE(activation_seq, 0), created_at, kid",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(rows::signing_key)
        .collect()
    }
}
