//! [`CredentialStore`]: what the token path reads and writes.

use sqlx::{Connection as _, Row as _};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::store::{
    ChangeNotices, ClientCredentials, CredentialChange, CredentialStore, StoreError,
};
use time::OffsetDateTime;

use crate::admin::{CHANGES_CHANNEL, load_application};
use crate::error::db;
use crate::rows;
use crate::sql_store::{Backend, SqlStore, epoch};

/// How often SQLite's commit counter is looked at: a read of one integer
/// from the connection's own memory, so it costs next to nothing.
const SQLITE_NOTICE_INTERVAL: Duration = Duration::from_millis(5);

/// PostgreSQL: the log's writers `NOTIFY` in their transaction; this
/// connection `LISTEN`s.
struct PgNotices(sqlx::postgres::PgListener);

#[async_trait::async_trait]
impl ChangeNotices for PgNotices {
    async fn changed(&mut self) -> Result<(), StoreError> {
        // `None`: the connection was lost and notices with it; the caller
        // reads the log anyway, and the next call reconnects.
        self.0.try_recv().await.map_err(db)?;
        // Notices already received are covered by the same read.
        while self.0.next_buffered().is_some() {}
        Ok(())
    }
}

/// SQLite: `PRAGMA data_version` on a connection of its own changes when
/// another connection (of this process or another) commits.
struct SqliteNotices {
    connection: sqlx::SqliteConnection,
    version: i64,
}

impl SqliteNotices {
    async fn version(connection: &mut sqlx::SqliteConnection) -> Result<i64, StoreError> {
        sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(connection)
            .await
            .map_err(db)
    }
}

#[async_trait::async_trait]
impl ChangeNotices for SqliteNotices {
    async fn changed(&mut self) -> Result<(), StoreError> {
        loop {
            tokio::time::sleep(SQLITE_NOTICE_INTERVAL).await;
            let version = Self::version(&mut self.connection).await?;
            if version != self.version {
                self.version = version;
                return Ok(());
            }
        }
    }
}

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

    async fn change_notices(&self) -> Result<Box<dyn ChangeNotices>, StoreError> {
        match self.backend() {
            Backend::Postgres => {
                let mut listener = sqlx::postgres::PgListener::connect(self.url())
                    .await
                    .map_err(db)?;
                listener.listen(CHANGES_CHANNEL).await.map_err(db)?;
                Ok(Box::new(PgNotices(listener)))
            }
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(self.url())
                    .await
                    .map_err(db)?;
                let version = SqliteNotices::version(&mut connection).await?;
                Ok(Box::new(SqliteNotices {
                    connection,
                    version,
                }))
            }
        }
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
