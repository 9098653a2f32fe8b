//! The replica rows: each `serve` process beats in them, and the use cases
//! read them to wait for a change to reach every replica (see
//! [`crate::replica`]).

use crate::ids::ReplicaId;
use crate::replica::{ReplicaBeat, Replicas};
use crate::store::StoreError;
use time::OffsetDateTime;

/// Replica registration, heartbeats and the list the use cases wait on.
#[async_trait::async_trait]
pub trait ReplicaStore: Send + Sync + 'static {
    /// Writes the replica's row (creating it if it is missing, as after a
    /// prune), with the database's current time as its heartbeat.
    async fn record_replica(&self, beat: &ReplicaBeat) -> Result<(), StoreError>;
    /// Every replica row, with the database's current time.
    async fn replicas(&self) -> Result<Replicas, StoreError>;
    /// Removes a replica's row: it stopped and holds nothing any more.
    async fn remove_replica(&self, id: ReplicaId) -> Result<(), StoreError>;
    /// Removes the rows of replicas whose trust window ended before
    /// `before`: they refuse everything and will never be waited for.
    async fn prune_replicas(&self, before: OffsetDateTime) -> Result<(), StoreError>;
}
