//! [`ReplicaStore`]: the running replicas' rows.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use tessera_core::ids::ReplicaId;
use tessera_core::replica::{Replica, ReplicaBeat, Replicas};
use tessera_core::store::{ReplicaStore, StoreError};
use time::OffsetDateTime;

use crate::error::db;
use crate::rows;
use crate::sql_store::{SqlStore, epoch};

/// An instant stored in milliseconds since the Unix epoch.
fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt("heartbeat".into()))
}

fn replica(row: &AnyRow) -> Result<Replica, StoreError> {
    Ok(Replica {
        beat: ReplicaBeat {
            id: rows::text(row, "id")?
                .parse()
                .map_err(|_| StoreError::Corrupt("replica id".into()))?,
            address: rows::text(row, "address")?,
            started_at: rows::instant(row, "started_at")?,
            applied_seq: row.try_get("applied_seq").map_err(db)?,
            trusted_until: rows::instant(row, "trusted_until")?,
        },
        heartbeat_at: from_millis(row.try_get("heartbeat_ms").map_err(db)?)?,
    })
}

#[async_trait::async_trait]
impl ReplicaStore for SqlStore {
    async fn record_replica(&self, beat: &ReplicaBeat) -> Result<(), StoreError> {
        let now = self.backend().now_ms_sql();
        sqlx::query(&format!(
            "INSERT INTO replicas (id, address, started_at, heartbeat_ms, applied_seq, trusted_until) \
             VALUES ($1, $2, $3, {now}, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
             heartbeat_ms = excluded.heartbeat_ms, applied_seq = excluded.applied_seq, \
             trusted_until = excluded.trusted_until"
        ))
        .bind(beat.id.to_string())
        .bind(beat.address.clone())
        .bind(epoch(beat.started_at))
        .bind(beat.applied_seq)
        .bind(epoch(beat.trusted_until))
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn replicas(&self) -> Result<Replicas, StoreError> {
        let now = self.backend().now_ms_sql();
        // One statement, so the time and the rows are read together; the
        // outer join keeps the time when there is no replica.
        let rows = sqlx::query(&format!(
            "SELECT clock.now_ms, r.id, r.address, r.started_at, r.heartbeat_ms, \
             r.applied_seq, r.trusted_until \
             FROM (SELECT {now} AS now_ms) clock LEFT JOIN replicas r ON 1 = 1"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        let now_ms: i64 = match rows.first() {
            Some(row) => row.try_get("now_ms").map_err(db)?,
            None => return Err(StoreError::Corrupt("database time".into())),
        };
        let mut replicas = Vec::with_capacity(rows.len());
        for row in &rows {
            if rows::opt_text(row, "id")?.is_some() {
                replicas.push(replica(row)?);
            }
        }
        Ok(Replicas {
            now: from_millis(now_ms)?,
            replicas,
        })
    }

    async fn remove_replica(&self, id: ReplicaId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn prune_replicas(&self, before: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE trusted_until < $1")
            .bind(epoch(before))
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}
