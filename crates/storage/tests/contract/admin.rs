//! [`AdminStore`]: organisations, applications with their permissions and
//! secrets, and users; unique names, and at most five secrets; each write
//! with exactly its audit event, or not at all.
//!
//! [`AdminStore`]: tessera_core::store::AdminStore

use std::fmt::Display;
use std::net::IpAddr;

use tessera_core::application::Permissions;
use tessera_core::audit::{ActorRecord, AuditAction, AuditOutcome, AuditQuery, NewAuditEvent};
use tessera_core::ids::{ClientId, OrganisationId, SecretId, UserId};
use tessera_core::resource::ResourceId;
use tessera_core::secret::{MAX_SECRETS_PER_APPLICATION, SecretRecord};
use tessera_core::store::StoreError;
use tessera_core::store::prelude::*;
use tessera_core::user::{TotpSecret, User, UserStatus};
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

#[tokio::test]
async fn every_user_status_is_kept_as_stored() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    for (n, status) in UserStatus::ALL.into_iter().enumerate() {
        let mut user = fixtures::new_user(&format!("u{n}@acme.example"), Some(&acme));
        user.status = status;
        store
            .create_user(
                &user,
                &fixtures::hash("pw"),
                &TotpSecret::generate(),
                &fixtures::event(AuditAction::UserCreated),
            )
            .await
            .unwrap();
        assert_eq!(store.user(user.id).await.unwrap(), Some(user));
    }
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

/// `actor`'s act `action` on `target` concerning `organisation_id`, from
/// `client_address`, a minute after [`T0`].
fn event(
    actor: ActorRecord,
    organisation_id: Option<OrganisationId>,
    action: AuditAction,
    target: impl Display,
    client_address: Option<IpAddr>,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: T0 + Duration::minutes(1),
        actor,
        organisation_id,
        action,
        target: Some(target.to_string()),
        client_address,
        outcome: AuditOutcome::Success,
    }
}

/// How `user` is recorded acting.
fn actor(user: &User) -> ActorRecord {
    ActorRecord::User {
        id: user.id,
        email: user.email.as_ref().to_owned(),
    }
}

fn v4() -> Option<IpAddr> {
    Some(IpAddr::from([198, 51, 100, 4]))
}

fn v6() -> Option<IpAddr> {
    Some("2001:db8::6".parse().unwrap())
}

/// Asserts that `event`, and nothing else, was recorded since the log held
/// `before` events, and that its organisation's page lists it.
async fn assert_recorded_exactly(store: &TestStore, before: usize, event: &NewAuditEvent) {
    assert_eq!(
        store.audit_log_since(before).await,
        std::slice::from_ref(event)
    );
    if let Some(organisation_id) = event.organisation_id {
        let page = store
            .audit_events(&AuditQuery {
                organisation_id: Some(organisation_id),
                before: None,
                limit: 1,
            })
            .await
            .unwrap();
        assert_eq!(page[0].event, *event);
    }
}

#[tokio::test]
async fn creating_an_organisation_records_exactly_its_event_with_the_acting_admin() {
    let store = TestStore::new().await;
    let admin = fixtures::user(&store, "admin@example.org", None).await;
    let before = store.audit_log().await.len();
    let org = fixtures::new_organisation("Acme");
    let created = event(
        actor(&admin),
        Some(org.id),
        AuditAction::OrganisationCreated,
        org.id,
        v6(),
    );

    store.create_organisation(&org, &created).await.unwrap();

    assert_recorded_exactly(&store, before, &created).await;
}

#[tokio::test]
async fn creating_an_application_records_exactly_its_event_with_the_acting_manager() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let manager = fixtures::user(&store, "ann@acme.example", Some(&org)).await;
    let before = store.audit_log().await.len();
    let app = fixtures::new_application(&org, "SMC", &["search-match"]);
    let created = event(
        actor(&manager),
        Some(org.id),
        AuditAction::ApplicationCreated,
        app.client_id,
        v4(),
    );

    store.create_application(&app, &created).await.unwrap();

    assert_recorded_exactly(&store, before, &created).await;
}

#[tokio::test]
async fn replacing_permissions_records_exactly_its_event_with_the_acting_admin() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let admin = fixtures::user(&store, "admin@example.org", None).await;
    let app = fixtures::application(&store, &org, "SMC", &["aa"]).await;
    let before = store.audit_log().await.len();
    let changed = event(
        actor(&admin),
        Some(org.id),
        AuditAction::PermissionsChanged,
        app.client_id,
        v6(),
    );

    store
        .set_permissions(app.client_id, &permissions(&["bb"]), T0, &changed)
        .await
        .unwrap();

    assert_recorded_exactly(&store, before, &changed).await;
}

#[tokio::test]
async fn deleting_an_application_records_exactly_its_event_with_the_command_line() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["aa"]).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let before = store.audit_log().await.len();
    let deleted = event(
        ActorRecord::Cli,
        Some(org.id),
        AuditAction::ApplicationDeleted,
        app.client_id,
        None,
    );

    assert!(
        store
            .delete_application(app.client_id, T0, &deleted)
            .await
            .unwrap()
    );

    assert_recorded_exactly(&store, before, &deleted).await;
}

#[tokio::test]
async fn creating_a_secret_records_exactly_its_event_with_the_acting_manager() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let manager = fixtures::user(&store, "ann@acme.example", Some(&org)).await;
    let app = fixtures::application(&store, &org, "SMC", &[]).await;
    let before = store.audit_log().await.len();
    let secret = fixtures::new_secret(app.client_id, T0, T0 + Duration::days(365));
    let created = event(
        actor(&manager),
        Some(org.id),
        AuditAction::SecretCreated,
        secret.record.id,
        v4(),
    );

    store.create_secret(&secret, &created).await.unwrap();

    assert_recorded_exactly(&store, before, &created).await;
}

#[tokio::test]
async fn deleting_a_secret_records_exactly_its_event_with_the_acting_manager() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let manager = fixtures::user(&store, "ann@acme.example", Some(&org)).await;
    let app = fixtures::application(&store, &org, "SMC", &[]).await;
    let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let before = store.audit_log().await.len();
    let deleted = event(
        actor(&manager),
        Some(org.id),
        AuditAction::SecretDeleted,
        secret.record.id,
        v6(),
    );

    assert!(
        store
            .delete_secret(app.client_id, secret.record.id, T0, &deleted)
            .await
            .unwrap()
    );

    assert_recorded_exactly(&store, before, &deleted).await;
}

#[tokio::test]
async fn creating_a_user_records_exactly_its_event_with_the_command_line() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let before = store.audit_log().await.len();
    let user = fixtures::new_user("ann@acme.example", Some(&org));
    let created = event(
        ActorRecord::Cli,
        Some(org.id),
        AuditAction::UserCreated,
        user.email.as_ref(),
        None,
    );

    store
        .create_user(
            &user,
            &fixtures::hash("ann"),
            &TotpSecret::generate(),
            &created,
        )
        .await
        .unwrap();

    assert_recorded_exactly(&store, before, &created).await;
}

#[tokio::test]
async fn a_secret_keeps_who_created_it_as_a_user_the_command_line_or_tessera() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let creators = [
        ActorRecord::User {
            id: UserId::generate(),
            email: "ann@acme.example".into(),
        },
        ActorRecord::Cli,
        ActorRecord::System,
    ];
    let mut made: Vec<SecretRecord> = Vec::new();
    for (hour, created_by) in (1..).zip(creators) {
        let mut secret = fixtures::new_secret(
            app.client_id,
            T0 + Duration::hours(hour),
            T0 + Duration::days(365),
        );
        secret.record.created_by = created_by;
        store
            .create_secret(&secret, &fixtures::event(AuditAction::SecretCreated))
            .await
            .unwrap();
        made.push(secret.record);
    }

    assert_eq!(store.secrets(app.client_id).await.unwrap(), made);
}

#[tokio::test]
async fn a_name_conflict_records_no_event() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    fixtures::application(&store, &org, "SMC", &[]).await;
    fixtures::user(&store, "ann@acme.example", Some(&org)).await;
    let before = store.audit_log().await;

    let organisation = store
        .create_organisation(
            &fixtures::new_organisation("Acme"),
            &fixtures::event(AuditAction::OrganisationCreated),
        )
        .await;
    let application = store
        .create_application(
            &fixtures::new_application(&org, "SMC", &[]),
            &fixtures::event(AuditAction::ApplicationCreated),
        )
        .await;
    let user = store
        .create_user(
            &fixtures::new_user("ann@acme.example", Some(&org)),
            &fixtures::hash("twin"),
            &TotpSecret::generate(),
            &fixtures::event(AuditAction::UserCreated),
        )
        .await;

    assert!(matches!(organisation, Err(StoreError::Conflict("name"))));
    assert!(matches!(application, Err(StoreError::Conflict("name"))));
    assert!(matches!(user, Err(StoreError::Conflict("email"))));
    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn a_refused_sixth_secret_records_no_event() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let expires = T0 + Duration::days(365);
    for _ in 0..MAX_SECRETS_PER_APPLICATION {
        fixtures::secret(&store, app.client_id, expires).await;
    }
    let before = store.audit_log().await;

    let refused = store
        .create_secret(
            &fixtures::new_secret(app.client_id, T0, expires),
            &fixtures::event(AuditAction::SecretCreated),
        )
        .await;

    assert!(matches!(refused, Err(StoreError::SecretLimitReached)));
    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn a_change_to_a_missing_application_records_no_event() {
    let store = TestStore::new().await;
    fixtures::some_application(&store).await;
    let before = store.audit_log().await;
    let missing = ClientId::generate();

    let replaced = store
        .set_permissions(
            missing,
            &permissions(&["aa"]),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        )
        .await;
    let secret = store
        .create_secret(
            &fixtures::new_secret(missing, T0, T0 + Duration::days(365)),
            &fixtures::event(AuditAction::SecretCreated),
        )
        .await;

    assert!(
        matches!(replaced, Err(StoreError::NotFound)),
        "{replaced:?}"
    );
    assert!(matches!(secret, Err(StoreError::NotFound)), "{secret:?}");
    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn deleting_what_is_not_there_records_no_event() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &[]).await;
    let other = fixtures::application(&store, &org, "DM", &[]).await;
    let others_secret = fixtures::secret(&store, other.client_id, T0 + Duration::days(365)).await;
    let before = store.audit_log().await;

    let results = [
        store
            .delete_application(
                ClientId::generate(),
                T0,
                &fixtures::event(AuditAction::ApplicationDeleted),
            )
            .await,
        store
            .delete_secret(
                app.client_id,
                SecretId::generate(),
                T0,
                &fixtures::event(AuditAction::SecretDeleted),
            )
            .await,
        // Another application's secret is not this one's to delete.
        store
            .delete_secret(
                app.client_id,
                others_secret.record.id,
                T0,
                &fixtures::event(AuditAction::SecretDeleted),
            )
            .await,
    ];

    assert!(
        results.iter().all(|r| matches!(r, Ok(false))),
        "{results:?}"
    );
    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn an_organisation_is_not_created_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    fixtures::organisation(&store, "Acme").await;
    let org = fixtures::new_organisation("Beta");

    store
        .assert_refused_without_trace(
            store.create_organisation(&org, &fixtures::event(AuditAction::OrganisationCreated)),
        )
        .await;
}

#[tokio::test]
async fn an_application_is_not_created_with_its_permissions_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    fixtures::application(&store, &org, "DM", &["aa"]).await;
    let app = fixtures::new_application(&org, "SMC", &["aa", "bb"]);

    store
        .assert_refused_without_trace(
            store.create_application(&app, &fixtures::event(AuditAction::ApplicationCreated)),
        )
        .await;
}

#[tokio::test]
async fn permissions_are_not_replaced_when_their_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["aa", "bb"]).await;

    store
        .assert_refused_without_trace(store.set_permissions(
            app.client_id,
            &permissions(&["cc"]),
            T0,
            &fixtures::event(AuditAction::PermissionsChanged),
        ))
        .await;
}

#[tokio::test]
async fn an_application_is_not_deleted_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["aa", "bb"]).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(30)).await;

    store
        .assert_refused_without_trace(store.delete_application(
            app.client_id,
            T0,
            &fixtures::event(AuditAction::ApplicationDeleted),
        ))
        .await;
}

#[tokio::test]
async fn a_secret_is_not_created_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;
    let secret = fixtures::new_secret(app.client_id, T0, T0 + Duration::days(30));

    store
        .assert_refused_without_trace(
            store.create_secret(&secret, &fixtures::event(AuditAction::SecretCreated)),
        )
        .await;
}

#[tokio::test]
async fn a_secret_is_not_deleted_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let app = fixtures::some_application(&store).await;
    let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(365)).await;

    store
        .assert_refused_without_trace(store.delete_secret(
            app.client_id,
            secret.record.id,
            T0,
            &fixtures::event(AuditAction::SecretDeleted),
        ))
        .await;
}

#[tokio::test]
async fn a_user_is_not_created_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    fixtures::user(&store, "admin@example.org", None).await;
    let user = fixtures::new_user("ann@acme.example", Some(&org));

    store
        .assert_refused_without_trace(store.create_user(
            &user,
            &fixtures::hash("ann"),
            &TotpSecret::generate(),
            &fixtures::event(AuditAction::UserCreated),
        ))
        .await;
}
