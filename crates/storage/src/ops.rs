//! [`OpsStore`]: health and gauges.

use sqlx::Row as _;
use tessera_core::secret::EXPIRING_SOON;
use tessera_core::store::{OpsStore, SecretCounts, StoreError};
use time::OffsetDateTime;

use crate::error::db;
use crate::sql_store::{SqlStore, epoch};

#[async_trait::async_trait]
impl OpsStore for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn secret_counts(&self, now: OffsetDateTime) -> Result<SecretCounts, StoreError> {
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM(CASE WHEN expires_at <= $1 THEN 1 ELSE 0 END), 0) AS expired, \
               COALESCE(SUM(CASE WHEN expires_at > $1 AND expires_at < $2 THEN 1 ELSE 0 END), 0) AS expiring_soon, \
               COALESCE(SUM(CASE WHEN expires_at >= $2 THEN 1 ELSE 0 END), 0) AS active \
             FROM client_secrets",
        )
        .bind(epoch(now))
        .bind(epoch(now + EXPIRING_SOON))
        .fetch_one(self.pool())
        .await
        .map_err(db)?;
        let count = |col: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(col).map_err(db)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(col.to_owned()))
        };
        Ok(SecretCounts {
            active: count("active")?,
            expiring_soon: count("expiring_soon")?,
            expired: count("expired")?,
        })
    }
}
