//! [`AdminStore`]: organisations, applications with their permissions and
//! secrets, and users; unique names, and at most five secrets.
//!
//! [`AdminStore`]: tessera_core::store::AdminStore

use tessera_core::application::Permissions;
use tessera_core::audit::AuditAction;
use tessera_core::ids::{ClientId, OrganisationId};
use tessera_core::resource::ResourceId;
use tessera_core::secret::MAX_SECRETS_PER_APPLICATION;
use tessera_core::store::StoreError;
use tessera_core::store::prelude::*;
use tessera_core::user::TotpSecret;
use time::Duration;

use crate::{T0, TestStore, fixtures, race};

fn permissions(ids: &[&str]) -> Permissions {
    ids.iter().map(|p| ResourceId::parse(p).unwrap()).collect()
}

#[tokio::test]
async fn an_organisation_is_found_by_id_and_organisations_come_by_name() {
    let store = TestStore::new().await;
    let zeta = fixtures::organisation(&store, "Zeta").await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let mid = fixtures::organisation(&store, "Mid").await;

    assert_eq!(
        store.organisation(zeta.id).await.unwrap(),
        Some(zeta.clone())
    );
    assert_eq!(
        store
            .organisation(OrganisationId::generate())
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.organisations().await.unwrap(), [acme, mid, zeta]);
}

#[tokio::test]
async fn an_organisation_name_that_is_taken_is_a_name_conflict() {
    let store = TestStore::new().await;
    fixtures::organisation(&store, "Acme").await;

    let result = store
        .create_organisation(
            &fixtures::new_organisation("Acme"),
            &fixtures::event(AuditAction::OrganisationCreated),
        )
        .await;

    assert!(
        matches!(result, Err(StoreError::Conflict("name"))),
        "{result:?}"
    );
    assert_eq!(store.organisations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_application_is_stored_with_its_permissions() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::new_application(&org, "SMC", &["search-match", "match-connect"]);

    store
        .create_application(&app, &fixtures::event(AuditAction::ApplicationCreated))
        .await
        .unwrap();

    assert_eq!(store.application(app.client_id).await.unwrap(), Some(app));
    assert_eq!(store.application(ClientId::generate()).await.unwrap(), None);
}

#[tokio::test]
async fn an_application_whose_derived_name_is_taken_is_a_name_conflict_and_stores_nothing() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    fixtures::application(&store, &org, "SMC", &[]).await;
    // Same organisation, kind and API: the same derived name.
    let twin = fixtures::new_application(&org, "SMC", &["search-match"]);

    let result = store
        .create_application(&twin, &fixtures::event(AuditAction::ApplicationCreated))
        .await;

    assert!(
        matches!(result, Err(StoreError::Conflict("name"))),
        "{result:?}"
    );
    assert_eq!(store.application(twin.client_id).await.unwrap(), None);
    assert_eq!(store.applications(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn applications_of_one_organisation_or_of_all_come_by_name_with_their_permissions() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let beta = fixtures::organisation(&store, "Beta").await;
    let acme_smc = fixtures::application(&store, &acme, "SMC", &["search-match"]).await;
    let beta_dm =
        fixtures::application(&store, &beta, "DM", &["match-connect", "search-match"]).await;
    let acme_dm = fixtures::application(&store, &acme, "DM", &[]).await;

    let of_acme = store.applications(Some(acme.id)).await.unwrap();
    let all = store.applications(None).await.unwrap();
    let of_nobody = store
        .applications(Some(OrganisationId::generate()))
        .await
        .unwrap();

    assert_eq!(of_acme, [acme_dm.clone(), acme_smc.clone()]);
    assert_eq!(all, [acme_dm, acme_smc, beta_dm]);
    assert_eq!(
        all[2].permissions,
        permissions(&["match-connect", "search-match"])
    );
    assert!(of_nobody.is_empty());
}

#[tokio::test]
async fn replacing_permissions_replaces_the_whole_set() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["aa", "bb"]).await;
    let other = fixtures::application(&store, &org, "DM", &["aa"]).await;

    store
        .set_permissions(
            app.client_id,
            &permissions(&["bb", "cc"]),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await
        .unwrap();
    let replaced = store.application(app.client_id).await.unwrap().unwrap();
    store
        .set_permissions(
            app.client_id,
            &permissions(&[]),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await
        .unwrap();
    let emptied = store.application(app.client_id).await.unwrap().unwrap();

    assert_eq!(replaced.permissions, permissions(&["bb", "cc"]));
    assert!(emptied.permissions.is_empty());
    assert_eq!(
        store
            .application(other.client_id)
            .await
            .unwrap()
            .unwrap()
            .permissions,
        permissions(&["aa"])
    );
}

#[tokio::test]
async fn replacing_the_permissions_of_a_missing_application_is_not_found_and_changes_nothing() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;

    let result = store
        .set_permissions(
            ClientId::generate(),
            &permissions(&["aa"]),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await;

    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(store.latest_credential_change().await.unwrap(), 0);
}

#[tokio::test]
async fn deleting_an_application_deletes_its_secrets_and_permissions_and_only_its_own() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["aa"]).await;
    let other = fixtures::application(&store, &org, "DM", &["aa"]).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    fixtures::secret(&store, other.client_id, T0 + Duration::days(365)).await;

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

    assert_eq!(store.application(app.client_id).await.unwrap(), None);
    assert!(store.secrets(app.client_id).await.unwrap().is_empty());
    assert!(
        store
            .client_credentials(app.client_id)
            .await
            .unwrap()
            .is_none()
    );
    let kept = store
        .client_credentials(other.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.secrets.len(), 1);
    assert_eq!(kept.application.permissions, permissions(&["aa"]));
    // Its permissions went with it: an application of the same name starts
    // with only what it is given.
    let again = fixtures::application(&store, &org, "SMC", &["bb"]).await;
    assert_eq!(
        store
            .application(again.client_id)
            .await
            .unwrap()
            .unwrap()
            .permissions,
        permissions(&["bb"])
    );
}

#[tokio::test]
async fn secrets_are_listed_oldest_first() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let expires = T0 + Duration::days(365);
    let second =
        fixtures::secret_created_at(&store, app.client_id, T0 + Duration::hours(2), expires).await;
    let first =
        fixtures::secret_created_at(&store, app.client_id, T0 + Duration::hours(1), expires).await;
    let third =
        fixtures::secret_created_at(&store, app.client_id, T0 + Duration::hours(3), expires).await;

    let listed = store.secrets(app.client_id).await.unwrap();

    assert_eq!(listed, [first.record, second.record, third.record]);
}

#[tokio::test]
async fn a_secret_for_a_missing_application_is_not_found() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;
    let orphan = fixtures::new_secret(ClientId::generate(), T0, T0 + Duration::days(365));

    let result = store
        .create_secret(&orphan, &fixtures::event(AuditAction::SecretCreated))
        .await;

    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert!(
        store
            .secrets(orphan.record.client_id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_sixth_secret_is_refused_and_a_deletion_makes_room_again() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let expires = T0 + Duration::days(365);
    let mut secrets = Vec::new();
    for _ in 0..MAX_SECRETS_PER_APPLICATION {
        secrets.push(fixtures::secret(&store, app.client_id, expires).await);
    }

    let sixth = fixtures::new_secret(app.client_id, T0, expires);
    let refused = store
        .create_secret(&sixth, &fixtures::event(AuditAction::SecretCreated))
        .await;
    assert!(
        matches!(refused, Err(StoreError::SecretLimitReached)),
        "{refused:?}"
    );
    assert_eq!(store.secrets(app.client_id).await.unwrap().len(), 5);

    assert!(
        store
            .delete_secret(
                app.client_id,
                secrets[0].record.id,
                T0,
                &fixtures::event(AuditAction::SecretDeleted)
            )
            .await
            .unwrap()
    );
    store
        .create_secret(&sixth, &fixtures::event(AuditAction::SecretCreated))
        .await
        .unwrap();
    assert_eq!(store.secrets(app.client_id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn the_limit_is_per_application() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let full = fixtures::application(&store, &org, "SMC", &[]).await;
    let other = fixtures::application(&store, &org, "DM", &[]).await;
    let expires = T0 + Duration::days(365);
    for _ in 0..MAX_SECRETS_PER_APPLICATION {
        fixtures::secret(&store, full.client_id, expires).await;
    }

    store
        .create_secret(
            &fixtures::new_secret(other.client_id, T0, expires),
            &fixtures::event(AuditAction::SecretCreated),
        )
        .await
        .unwrap();

    assert_eq!(store.secrets(other.client_id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sixth_secret_is_refused_even_when_creations_race() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;

    let results = race(&store, 10, |store, _| async move {
        let secret = fixtures::new_secret(app.client_id, T0, T0 + Duration::days(365));
        store
            .create_secret(&secret, &fixtures::event(AuditAction::SecretCreated))
            .await
    })
    .await;

    let created = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::SecretLimitReached)))
        .count();
    assert_eq!((created, refused), (5, 5), "{results:?}");
    assert_eq!(store.secrets(app.client_id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_user_email_that_is_taken_is_an_email_conflict() {
    let store = TestStore::new().await;
    fixtures::user(&store, "admin@example.org", None).await;
    let twin = fixtures::new_user("admin@example.org", None);

    let result = store
        .create_user(
            &twin,
            &fixtures::hash("twin"),
            &TotpSecret::generate(),
            &fixtures::event(AuditAction::UserCreated),
        )
        .await;

    assert!(
        matches!(result, Err(StoreError::Conflict("email"))),
        "{result:?}"
    );
    assert_eq!(store.user(twin.id).await.unwrap(), None);
}

#[tokio::test]
async fn users_of_one_organisation_or_of_all_come_by_email() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let beta = fixtures::organisation(&store, "Beta").await;
    let zoe = fixtures::user(&store, "zoe@acme.example", Some(&acme)).await;
    let admin = fixtures::user(&store, "admin@example.org", None).await;
    let bob = fixtures::user(&store, "bob@beta.example", Some(&beta)).await;
    let ann = fixtures::user(&store, "ann@acme.example", Some(&acme)).await;

    assert_eq!(
        store.users(Some(acme.id)).await.unwrap(),
        [ann.clone(), zoe.clone()]
    );
    assert_eq!(store.users(None).await.unwrap(), [admin, ann, bob, zoe]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_deleted_while_its_permissions_are_replaced_ends_either_way_without_error() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    for api in ["AA", "BB", "CC", "DD", "EE", "FF", "GG", "HH"] {
        let app = fixtures::application(&store, &org, api, &["aa", "bb"]).await;
        fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
        let client_id = app.client_id;

        let results = race(&store, 2, |store, i| async move {
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
                store
                    .set_permissions(
                        client_id,
                        &permissions(&["cc"]),
                        T0,
                        &fixtures::event(AuditAction::PermissionsChanged),
                    )
                    .await
            }
        })
        .await;

        let (deleted, replaced) = (&results[0], &results[1]);
        assert!(deleted.is_ok(), "{api}: {deleted:?}");
        assert!(
            matches!(replaced, Ok(()) | Err(StoreError::NotFound)),
            "{api}: {replaced:?}"
        );
        assert_eq!(store.application(client_id).await.unwrap(), None);
    }
}
