//! [`CredentialStore`]: what the token path reads, the last use it writes,
//! and the change log every credential change appends to.
//!
//! [`CredentialStore`]: tessera_core::store::CredentialStore

use std::collections::BTreeSet;

use tessera_core::audit::AuditAction;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::resource::ResourceId;
use tessera_core::store::CredentialChange;
use tessera_core::store::prelude::*;
use time::Duration;

use crate::{T0, TestStore, fixtures, race};

#[tokio::test]
async fn client_credentials_return_the_application_with_its_permissions_and_every_secret_hash() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["search-match", "match-connect"]).await;
    let live = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    // Expired secrets are returned too: the caller checks expiry.
    let expired = fixtures::secret(&store, app.client_id, T0 - Duration::days(1)).await;
    let other = fixtures::application(&store, &org, "DM", &[]).await;
    fixtures::secret(&store, other.client_id, T0 + Duration::days(365)).await;

    let found = store
        .client_credentials(app.client_id)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(*found.application, app);
    let permissions: BTreeSet<_> = ["match-connect", "search-match"]
        .map(|p| ResourceId::parse(p).unwrap())
        .into();
    assert_eq!(found.application.permissions, permissions);
    let mut secrets: Vec<_> = found
        .secrets
        .iter()
        .map(|s| (s.id, s.hash.clone(), s.hint.clone(), s.expires_at))
        .collect();
    secrets.sort_by_key(|s| s.3);
    let expected = [&expired, &live].map(|s| {
        (
            s.record.id,
            s.hash.clone(),
            s.record.hint.clone(),
            s.record.expires_at,
        )
    });
    assert_eq!(secrets, expected);
}

#[tokio::test]
async fn client_credentials_of_an_unknown_client_are_none() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;

    let found = store
        .client_credentials(ClientId::generate())
        .await
        .unwrap();

    assert!(found.is_none());
}

#[tokio::test]
async fn recording_a_secret_use_moves_last_used_at_forward_and_never_back() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let a = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let b = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let last_used = |id: SecretId| {
        let store = &store;
        async move {
            store
                .secrets(app.client_id)
                .await
                .unwrap()
                .into_iter()
                .find(|s| s.id == id)
                .unwrap()
                .last_used_at
        }
    };
    let (a, b) = (a.record.id, b.record.id);

    store
        .record_secret_use(&[
            (a, T0 + Duration::minutes(10)),
            (b, T0 + Duration::minutes(3)),
        ])
        .await
        .unwrap();
    assert_eq!(last_used(a).await, Some(T0 + Duration::minutes(10)));
    assert_eq!(last_used(b).await, Some(T0 + Duration::minutes(3)));

    // A flush that arrives late, with an older use, does not move it back.
    store
        .record_secret_use(&[
            (a, T0 + Duration::minutes(5)),
            (b, T0 + Duration::minutes(7)),
        ])
        .await
        .unwrap();
    assert_eq!(last_used(a).await, Some(T0 + Duration::minutes(10)));
    assert_eq!(last_used(b).await, Some(T0 + Duration::minutes(7)));
}

#[tokio::test]
async fn recording_the_use_of_a_secret_deleted_meanwhile_still_records_the_others() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let kept = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let gone = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    assert!(
        store
            .delete_secret(
                app.client_id,
                gone.record.id,
                T0,
                &fixtures::event(AuditAction::SecretDeleted)
            )
            .await
            .unwrap()
    );

    store
        .record_secret_use(&[
            (gone.record.id, T0 + Duration::minutes(1)),
            (kept.record.id, T0 + Duration::minutes(2)),
        ])
        .await
        .unwrap();

    let secrets = store.secrets(app.client_id).await.unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].last_used_at, Some(T0 + Duration::minutes(2)));
}

/// The changes recorded after `before`, as the other servers read them.
async fn changes_since(store: &TestStore, before: i64) -> Vec<CredentialChange> {
    let changes = store.credential_changes(before, 100).await.unwrap();
    if let Some(last) = changes.last() {
        assert_eq!(store.latest_credential_change().await.unwrap(), last.seq);
    }
    changes
}

#[tokio::test]
async fn deleting_a_secret_appends_a_change_naming_its_client_id() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let before = store.latest_credential_change().await.unwrap();

    let deleted = store
        .delete_secret(
            app.client_id,
            secret.record.id,
            T0,
            &fixtures::event(AuditAction::SecretDeleted),
        )
        .await
        .unwrap();

    assert!(deleted);
    let changes = changes_since(&store, before).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].client_id, app.client_id);
    assert!(changes[0].seq > before);
}

#[tokio::test]
async fn replacing_permissions_appends_a_change_naming_the_client_id() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let before = store.latest_credential_change().await.unwrap();

    store
        .set_permissions(
            app.client_id,
            &Default::default(),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await
        .unwrap();

    let changes = changes_since(&store, before).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].client_id, app.client_id);
}

#[tokio::test]
async fn deleting_an_application_appends_a_change_naming_the_client_id() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let before = store.latest_credential_change().await.unwrap();

    let deleted = store
        .delete_application(
            app.client_id,
            T0,
            &fixtures::event(AuditAction::ApplicationDeleted),
        )
        .await
        .unwrap();

    assert!(deleted);
    let changes = changes_since(&store, before).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].client_id, app.client_id);
}

#[tokio::test]
async fn deleting_a_secret_that_is_not_there_appends_no_change_and_returns_false() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &[]).await;
    let other = fixtures::application(&store, &org, "DM", &[]).await;
    let others_secret = fixtures::secret(&store, other.client_id, T0 + Duration::days(365)).await;
    let before = store.latest_credential_change().await.unwrap();

    let unknown = store
        .delete_secret(
            app.client_id,
            SecretId::generate(),
            T0,
            &fixtures::event(AuditAction::SecretDeleted),
        )
        .await
        .unwrap();
    // Another application's secret is not this application's to delete.
    let not_its_own = store
        .delete_secret(
            app.client_id,
            others_secret.record.id,
            T0,
            &fixtures::event(AuditAction::SecretDeleted),
        )
        .await
        .unwrap();

    assert!(!unknown);
    assert!(!not_its_own);
    assert_eq!(store.latest_credential_change().await.unwrap(), before);
    assert!(changes_since(&store, before).await.is_empty());
    assert_eq!(store.secrets(other.client_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_an_application_that_is_not_there_appends_no_change_and_returns_false() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    assert!(
        store
            .delete_application(
                app.client_id,
                T0,
                &fixtures::event(AuditAction::ApplicationDeleted)
            )
            .await
            .unwrap()
    );
    let before = store.latest_credential_change().await.unwrap();

    let again = store
        .delete_application(
            app.client_id,
            T0,
            &fixtures::event(AuditAction::ApplicationDeleted),
        )
        .await
        .unwrap();
    let unknown = store
        .delete_application(
            ClientId::generate(),
            T0,
            &fixtures::event(AuditAction::ApplicationDeleted),
        )
        .await
        .unwrap();

    assert!(!again);
    assert!(!unknown);
    assert_eq!(store.latest_credential_change().await.unwrap(), before);
}

#[tokio::test]
async fn the_latest_change_is_zero_before_any_change() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;

    assert_eq!(store.latest_credential_change().await.unwrap(), 0);
    assert!(store.credential_changes(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn changes_come_oldest_first_after_the_given_position_and_at_most_limit_of_them() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let mut apps = Vec::new();
    for api in ["AA", "BB", "CC"] {
        apps.push(fixtures::application(&store, &org, api, &[]).await);
    }
    for app in &apps {
        store
            .set_permissions(
                app.client_id,
                &Default::default(),
                T0,
                &fixtures::event(AuditAction::PermissionsChanged),
            )
            .await
            .unwrap();
    }

    let first_two = store.credential_changes(0, 2).await.unwrap();
    let rest = store.credential_changes(first_two[1].seq, 2).await.unwrap();

    let clients: Vec<_> = first_two.iter().chain(&rest).map(|c| c.client_id).collect();
    let expected: Vec<_> = apps.iter().map(|a| a.client_id).collect();
    assert_eq!(clients, expected);
    assert_eq!(first_two.len(), 2);
    assert!(first_two[0].seq < first_two[1].seq && first_two[1].seq < rest[0].seq);
    assert_eq!(store.latest_credential_change().await.unwrap(), rest[0].seq);
}

#[tokio::test]
async fn pruning_forgets_only_the_changes_recorded_before_the_instant() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let old = fixtures::application(&store, &org, "AA", &[]).await;
    let edge = fixtures::application(&store, &org, "BB", &[]).await;
    let new = fixtures::application(&store, &org, "CC", &[]).await;
    let at = [
        (&old, T0 - Duration::hours(25)),
        (&edge, T0 - Duration::hours(24)),
        (&new, T0),
    ];
    for (app, at) in at {
        store
            .set_permissions(
                app.client_id,
                &Default::default(),
                at,
                &fixtures::event(AuditAction::PermissionsChanged),
            )
            .await
            .unwrap();
    }

    store
        .prune_credential_changes(T0 - Duration::hours(24))
        .await
        .unwrap();

    let left: Vec<_> = store
        .credential_changes(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(left, [edge.client_id, new.client_id]);
}

#[tokio::test]
async fn positions_keep_increasing_after_every_change_is_pruned() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    for _ in 0..3 {
        store
            .set_permissions(
                app.client_id,
                &Default::default(),
                T0,
                &fixtures::event(AuditAction::PermissionsChanged),
            )
            .await
            .unwrap();
    }
    // A server that has read everything so far waits after this position.
    let seen = store.latest_credential_change().await.unwrap();
    store
        .prune_credential_changes(T0 + Duration::seconds(1))
        .await
        .unwrap();

    store
        .set_permissions(
            app.client_id,
            &Default::default(),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await
        .unwrap();

    let changes = store.credential_changes(seen, 10).await.unwrap();
    assert_eq!(
        changes.len(),
        1,
        "a change after pruning must not reuse a position"
    );
    assert!(changes[0].seq > seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_flushing_uses_of_the_same_secrets_at_once_in_any_order_all_succeed() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let mut secrets = Vec::new();
    for api in ["AA", "BB", "CC", "DD", "EE", "FF"] {
        let app = fixtures::application(&store, &org, api, &[]).await;
        for _ in 0..5 {
            let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
            secrets.push(secret.record.id);
        }
    }

    // Each server's batch lists the same secrets, in an order of its own
    // (a hash map's), and they flush at the same moment.
    for round in 1..=3 {
        let at = T0 + Duration::minutes(round);
        let results = race(&store, 4, |store, server| {
            let mut batch: Vec<_> = secrets.iter().map(|id| (*id, at)).collect();
            if server % 2 == 1 {
                batch.reverse();
            }
            batch.rotate_left(server * 7);
            async move { store.record_secret_use(&batch).await }
        })
        .await;
        assert!(
            results.iter().all(Result::is_ok),
            "round {round}: {results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uses_flushed_while_their_application_is_deleted_end_without_error() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    for api in ["AA", "BB", "CC", "DD", "EE", "FF", "GG", "HH", "II", "JJ"] {
        let app = fixtures::application(&store, &org, api, &[]).await;
        let mut uses = Vec::new();
        for _ in 0..5 {
            let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
            uses.push((secret.record.id, T0 + Duration::minutes(1)));
        }
        let client_id = app.client_id;

        let results = race(&store, 2, |store, i| {
            let uses = uses.clone();
            async move {
                if i == 0 {
                    store
                        .delete_application(
                            client_id,
                            T0,
                            &fixtures::event(AuditAction::ApplicationDeleted),
                        )
                        .await
                        .map(|_| ())
                } else {
                    store.record_secret_use(&uses).await
                }
            }
        })
        .await;

        assert!(results.iter().all(Result::is_ok), "{api}: {results:?}");
    }
}
