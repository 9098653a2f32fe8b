//! [`KeyStore`]: signing key records, their order of activation, and the
//! lease one of several servers starting at once takes.
//!
//! [`KeyStore`]: tessera_core::store::KeyStore

use tessera_core::audit::{AuditAction, AuditQuery, NewAuditEvent};
use tessera_core::store::prelude::*;
use tessera_core::store::{SigningKeyRecord, StoreError};
use time::{Duration, OffsetDateTime};

use crate::{T0, TestStore, fixtures, race};

fn key(kid: &str, created_at: OffsetDateTime) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        created_at,
        activated_at: None,
        activation_seq: None,
    }
}

async fn kids(store: &TestStore) -> Vec<String> {
    store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect()
}

#[tokio::test]
async fn a_registered_key_is_listed_as_it_was_registered_and_never_activated() {
    let store = TestStore::new().await;

    store.register_signing_key(&key("k1", T0)).await.unwrap();

    assert_eq!(store.signing_keys().await.unwrap(), [key("k1", T0)]);
}

#[tokio::test]
async fn registering_a_key_again_leaves_the_first_record_as_it_is() {
    let store = TestStore::new().await;
    store.register_signing_key(&key("k1", T0)).await.unwrap();
    store
        .activate_signing_key("k1", T0 + Duration::hours(1), &activated())
        .await
        .unwrap();
    let first = store.signing_keys().await.unwrap();

    let mut again = key("k1", T0 + Duration::days(1));
    again.alg = "RS256".into();
    store.register_signing_key(&again).await.unwrap();

    assert_eq!(store.signing_keys().await.unwrap(), first);
    assert_eq!(first[0].alg, "ES256");
    assert_eq!(first[0].activated_at, Some(T0 + Duration::hours(1)));
}

#[tokio::test]
async fn activating_a_key_that_is_not_registered_is_not_found() {
    let store = TestStore::new().await;
    store.register_signing_key(&key("k1", T0)).await.unwrap();

    let result = store.activate_signing_key("k2", T0, &activated()).await;

    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(store.signing_keys().await.unwrap()[0].activation_seq, None);
}

#[tokio::test]
async fn keys_come_in_order_of_activation_with_never_activated_keys_first() {
    let store = TestStore::new().await;
    // Registered in another order than they are activated in.
    for (kid, minutes) in [("a", 0), ("b", 1), ("c", 2), ("d", 3)] {
        store
            .register_signing_key(&key(kid, T0 + Duration::minutes(minutes)))
            .await
            .unwrap();
    }

    store
        .activate_signing_key("c", T0 + Duration::hours(1), &activated())
        .await
        .unwrap();
    store
        .activate_signing_key("a", T0 + Duration::hours(2), &activated())
        .await
        .unwrap();

    let keys = store.signing_keys().await.unwrap();
    let order: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(order, ["b", "d", "c", "a"]);
    assert_eq!(keys[2].activated_at, Some(T0 + Duration::hours(1)));
    assert_eq!(keys[3].activated_at, Some(T0 + Duration::hours(2)));
    assert!(keys[2].activation_seq.unwrap() < keys[3].activation_seq.unwrap());
}

#[tokio::test]
async fn activating_a_key_again_makes_it_the_active_one_again() {
    let store = TestStore::new().await;
    store.register_signing_key(&key("old", T0)).await.unwrap();
    store.register_signing_key(&key("new", T0)).await.unwrap();
    store
        .activate_signing_key("old", T0, &activated())
        .await
        .unwrap();
    store
        .activate_signing_key("new", T0 + Duration::hours(1), &activated())
        .await
        .unwrap();

    // Rolling back to the previous key.
    store
        .activate_signing_key("old", T0 + Duration::hours(2), &activated())
        .await
        .unwrap();

    assert_eq!(kids(&store).await, ["new", "old"]);
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys[1].activated_at, Some(T0 + Duration::hours(2)));
}

#[tokio::test]
async fn a_lease_held_by_one_server_is_refused_to_another_until_it_expires() {
    let store = TestStore::new().await;
    let until = T0 + Duration::seconds(60);

    assert!(store.try_lease("first-key", "a", T0, until).await.unwrap());
    assert!(
        !store
            .try_lease(
                "first-key",
                "b",
                T0 + Duration::seconds(59),
                T0 + Duration::seconds(120)
            )
            .await
            .unwrap()
    );
    // Another lease is another name.
    assert!(store.try_lease("reminders", "b", T0, until).await.unwrap());
    // Expired at its `until`: then anyone may take it, and the old holder
    // no longer holds it.
    assert!(
        store
            .try_lease("first-key", "b", until, until + Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease("first-key", "a", until, until + Duration::seconds(60))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_holder_of_a_lease_extends_it() {
    let store = TestStore::new().await;
    assert!(
        store
            .try_lease("first-key", "a", T0, T0 + Duration::seconds(60))
            .await
            .unwrap()
    );

    let extended = store
        .try_lease(
            "first-key",
            "a",
            T0 + Duration::seconds(30),
            T0 + Duration::seconds(120),
        )
        .await
        .unwrap();

    assert!(extended);
    assert!(
        !store
            .try_lease(
                "first-key",
                "b",
                T0 + Duration::seconds(90),
                T0 + Duration::seconds(150)
            )
            .await
            .unwrap(),
        "the lease runs to its extended end"
    );
}

#[tokio::test]
async fn a_released_lease_is_free_and_only_its_holder_can_release_it() {
    let store = TestStore::new().await;
    let until = T0 + Duration::seconds(60);
    assert!(store.try_lease("first-key", "a", T0, until).await.unwrap());

    store.release_lease("first-key", "b").await.unwrap();
    assert!(!store.try_lease("first-key", "b", T0, until).await.unwrap());

    store.release_lease("first-key", "a").await.unwrap();
    assert!(store.try_lease("first-key", "b", T0, until).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_servers_claiming_a_lease_at_once_exactly_one_gets_it() {
    let store = TestStore::new().await;

    let claims = race(&store, 10, |store, i| async move {
        let holder = format!("server-{i}");
        let got = store
            .try_lease("first-key", &holder, T0, T0 + Duration::seconds(60))
            .await
            .unwrap();
        (holder, got)
    })
    .await;

    let winners: Vec<_> = claims.iter().filter(|(_, got)| *got).collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    // The winner holds it: claiming again extends it; nobody else can.
    let winner = &winners[0].0;
    assert!(
        store
            .try_lease("first-key", winner, T0, T0 + Duration::seconds(60))
            .await
            .unwrap()
    );
    for (holder, _) in claims.iter().filter(|(h, _)| h != winner) {
        assert!(
            !store
                .try_lease("first-key", holder, T0, T0 + Duration::seconds(60))
                .await
                .unwrap()
        );
    }
}

/// The event an activation records in these tests.
fn activated() -> NewAuditEvent {
    fixtures::event(AuditAction::KeyActivated)
}

#[tokio::test]
async fn an_activation_stores_its_event_and_a_refused_one_none() {
    let store = TestStore::new().await;
    store.register_signing_key(&key("k1", T0)).await.unwrap();

    store
        .activate_signing_key("k1", T0, &activated())
        .await
        .unwrap();
    let missing = store.activate_signing_key("nope", T0, &activated()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    let events = store
        .audit_events(&AuditQuery {
            organisation_id: None,
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.action, AuditAction::KeyActivated);
}
