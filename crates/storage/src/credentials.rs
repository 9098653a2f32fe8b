//! [`CredentialStore`]: what the token path reads and writes.

use sqlx::Row as _;
use std::sync::Arc;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::store::{ClientCredentials, CredentialChange, CredentialStore, StoreError};
use time::OffsetDateTime;

use crate::admin::load_application;
use crate::error::db;
use crate::rows;
use crate::sql_store::{SqlStore, epoch};

#[async_trait::async_trait]
impl CredentialStore for SqlStore {
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn client_credentials(
        &self,
        client_id: ClientId,
    ) -> Result<Option<ClientCredentials>, StoreError> {
        let Some(application) = load_application(self.pool(), client_id).await? else {
            return Ok(None);
        };
        let secrets = sqlx::query(
            "SELECT id, hint, hash, expires_at FROM client_secrets WHERE client_id = $1",
        )
        .bind(client_id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(rows::stored_secret)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ClientCredentials {
            application: Arc::new(application),
            secrets,
        }))
    }

    async fn record_secret_use(
        &self,
        uses: &[(SecretId, OffsetDateTime)],
    ) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        // Rows are locked in one order, by secret id, whatever the batch's:
        // servers flushing uses of the same secrets at once would otherwise
        // each hold a row another waits for (a deadlock on PostgreSQL).
        let mut uses = uses.to_vec();
        uses.sort_unstable_by_key(|(id, _)| *id);
        let mut tx = self.pool().begin().await.map_err(db)?;
        for (id, at) in &uses {
            sqlx::query(
                "UPDATE client_secrets SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(epoch(*at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn credential_changes(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CredentialChange>, StoreError> {
        sqlx::query(
            "SELECT seq, client_id FROM credential_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(CredentialChange {
                seq: row.try_get("seq").map_err(db)?,
                client_id: rows::text(row, "client_id")?
                    .parse()
                    .map_err(|_| StoreError::Corrupt("client_id".into()))?,
            })
        })
        .collect()
    }

    async fn latest_credential_change(&self) -> Result<i64, StoreError> {
        let latest: Option<i64> = sqlx::query("SELECT MAX(seq) AS latest FROM credential_changes")
            .fetch_one(self.pool())
            .await
            .map_err(db)?
            .try_get("latest")
            .map_err(db)?;
        Ok(latest.unwrap_or(0))
    }

    async fn prune_credential_changes(&self, before: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credential_changes WHERE changed_at < $1")
            .bind(epoch(before))
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}
