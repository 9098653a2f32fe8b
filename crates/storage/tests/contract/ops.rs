//! [`OpsStore`]: health and the secret gauges.
//!
//! [`OpsStore`]: tessera_core::store::OpsStore

use tessera_core::secret::{EXPIRING_SOON, SecretStatus};
use tessera_core::store::prelude::*;
use tessera_core::store::{SecretCounts, StoreError};
use time::Duration;

use crate::{T0, TestStore, fixtures};

#[tokio::test]
async fn ping_succeeds_while_the_database_answers_and_fails_once_it_cannot() {
    let store = TestStore::new().await;

    store.ping().await.unwrap();

    store.close().await;
    let closed = store.ping().await;
    assert!(matches!(closed, Err(StoreError::Database(_))), "{closed:?}");
}

#[tokio::test]
async fn secret_counts_are_zero_without_secrets() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;

    let counts = store.secret_counts(T0).await.unwrap();

    assert_eq!(counts, SecretCounts::default());
}

#[tokio::test]
async fn secrets_are_counted_by_their_status_at_the_given_instant() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let apps = [
        fixtures::application(&store, &org, "AA", &[]).await,
        fixtures::application(&store, &org, "BB", &[]).await,
    ];
    let now = T0 + Duration::days(10);
    // Each boundary and either side of it, over two applications.
    let expiries = [
        now - Duration::days(3),
        now - Duration::seconds(1),
        now,
        now + Duration::seconds(1),
        now + EXPIRING_SOON - Duration::seconds(1),
        now + EXPIRING_SOON,
        now + EXPIRING_SOON + Duration::seconds(1),
        now + Duration::days(365),
    ];
    for (i, expires_at) in expiries.iter().enumerate() {
        fixtures::secret(&store, apps[i % 2].client_id, *expires_at).await;
    }

    let counts = store.secret_counts(now).await.unwrap();

    // The same statuses as the domain gives each secret.
    let of = |status| {
        expiries
            .iter()
            .filter(|e| SecretStatus::at(**e, now) == status)
            .count() as u64
    };
    let expected = SecretCounts {
        active: of(SecretStatus::Active),
        expiring_soon: of(SecretStatus::ExpiringSoon),
        expired: of(SecretStatus::Expired),
    };
    assert_eq!(
        expected,
        SecretCounts {
            active: 3,
            expiring_soon: 2,
            expired: 3
        }
    );
    assert_eq!(counts, expected);
}
