//! [`ReplicaStore`]: each replica's row, written at every heartbeat and
//! read with the database's own time; and the notices that wake a change
//! feed when another connection commits a change.
//!
//! [`ReplicaStore`]: tessera_core::store::ReplicaStore

use std::time::Duration as StdDuration;
use tessera_core::audit::AuditAction;
use tessera_core::ids::ReplicaId;
use tessera_core::replica::ReplicaBeat;
use tessera_core::store::prelude::*;
use time::Duration;

use crate::{T0, TestStore, fixtures};

fn beat(applied_seq: i64, trusted_until: time::OffsetDateTime) -> ReplicaBeat {
    ReplicaBeat {
        id: ReplicaId::generate(),
        address: "127.0.0.1:8080".into(),
        started_at: T0,
        applied_seq,
        trusted_until,
    }
}

#[tokio::test]
async fn a_heartbeat_creates_the_row_then_moves_it_forward_in_the_databases_time() {
    let store = TestStore::new().await;
    let empty = store.replicas().await.unwrap();
    assert!(empty.replicas.is_empty());

    let mut first = beat(3, T0 + Duration::minutes(5));
    store.record_replica(&first).await.unwrap();
    let read = store.replicas().await.unwrap();
    assert_eq!(read.replicas.len(), 1);
    assert_eq!(read.replicas[0].beat, first);
    let age = read.now - read.replicas[0].heartbeat_at;
    assert!(
        age >= Duration::ZERO && age < Duration::seconds(5),
        "heartbeat {age} before the database's now"
    );
    assert!((read.now - empty.now).abs() < Duration::seconds(5));

    tokio::time::sleep(StdDuration::from_millis(20)).await;
    first.applied_seq = 9;
    first.trusted_until = T0 + Duration::minutes(6);
    store.record_replica(&first).await.unwrap();
    let again = store.replicas().await.unwrap();
    assert_eq!(again.replicas.len(), 1, "the same row, moved");
    assert_eq!(again.replicas[0].beat, first);
    assert!(again.replicas[0].heartbeat_at > read.replicas[0].heartbeat_at);
}

#[tokio::test]
async fn a_removed_replica_is_gone_and_pruning_keeps_those_still_trusted() {
    let store = TestStore::new().await;
    let stopped = beat(1, T0 + Duration::minutes(5));
    let expired = beat(1, T0 - Duration::seconds(1));
    let trusted = beat(1, T0 + Duration::minutes(5));
    for replica in [&stopped, &expired, &trusted] {
        store.record_replica(replica).await.unwrap();
    }

    store.remove_replica(stopped.id).await.unwrap();
    store.prune_replicas(T0).await.unwrap();

    let left: Vec<_> = store
        .replicas()
        .await
        .unwrap()
        .replicas
        .into_iter()
        .map(|r| r.beat.id)
        .collect();
    assert_eq!(left, vec![trusted.id]);
}

#[tokio::test]
async fn a_change_committed_by_another_connection_is_noticed() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let mut notices = store.change_notices().await.unwrap();
    // Nothing committed yet: no notice (SQLite's counter may move once for
    // the writes above; drain it first).
    let _ = tokio::time::timeout(StdDuration::from_millis(100), notices.changed()).await;
    assert!(
        tokio::time::timeout(StdDuration::from_millis(100), notices.changed())
            .await
            .is_err(),
        "a notice with nothing committed"
    );

    let other = store.connect_again().await;
    assert!(
        other
            .delete_secret(
                app.client_id,
                secret.record.id,
                T0,
                &fixtures::event(AuditAction::SecretDeleted)
            )
            .await
            .unwrap()
    );

    tokio::time::timeout(StdDuration::from_secs(1), notices.changed())
        .await
        .expect("the commit is noticed within a second")
        .unwrap();
    other.close().await;
}
