//! Records the tests need only to exist: organisations, applications,
//! secrets, users and sessions, and the audit event each write records.
//! Every write a test makes just to arrange its records goes through here,
//! so a change to those writes' signatures is adapted in this one place; a
//! test of a write's own contract calls it directly.

use tessera_core::application::{ApiCode, Application, ApplicationKind, ApplicationName};
use tessera_core::audit::{ActorRecord, AuditAction, AuditOutcome, NewAuditEvent};
use tessera_core::ids::{ClientId, OrganisationId, SecretId, SessionId, UserId};
use tessera_core::organisation::{CountryCode, Organisation, OrganisationName};
use tessera_core::password::PhcHash;
use tessera_core::resource::ResourceId;
use tessera_core::secret::{NewSecret, SecretName, SecretRecord};
use tessera_core::session::{Session, SessionTokenHash};
use tessera_core::store::prelude::*;
use tessera_core::user::{Email, Role, TotpSecret, User, UserStatus};
use tessera_storage::SqlStore;
use time::OffsetDateTime;

use crate::T0;

/// An organisation named `name` in the Netherlands, not yet stored.
pub fn new_organisation(name: &str) -> Organisation {
    Organisation {
        id: OrganisationId::generate(),
        name: OrganisationName::parse(name).unwrap(),
        country: CountryCode::parse("NL").unwrap(),
        created_at: T0,
    }
}

/// A partner application of `org` for `api` holding `permissions`, not yet
/// stored; its name is derived, so two for one organisation and API clash.
pub fn new_application(org: &Organisation, api: &str, permissions: &[&str]) -> Application {
    let api = ApiCode::parse(api).unwrap();
    Application {
        client_id: ClientId::generate(),
        name: ApplicationName::derive(ApplicationKind::Partner, org, &api),
        organisation_id: org.id,
        kind: ApplicationKind::Partner,
        api,
        permissions: permissions
            .iter()
            .map(|p| ResourceId::parse(p).unwrap())
            .collect(),
        created_at: T0,
    }
}

/// A secret of `client_id` created at `created_at`, not yet stored; its
/// hash is unique to it.
pub fn new_secret(
    client_id: ClientId,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> NewSecret {
    let id = SecretId::generate();
    NewSecret {
        record: SecretRecord {
            id,
            client_id,
            name: SecretName::parse("production").unwrap(),
            hint: "abc".into(),
            created_at,
            created_by: ActorRecord::User {
                id: UserId::generate(),
                email: "admin@example.org".into(),
            },
            expires_at,
            last_used_at: None,
        },
        hash: hash(&id.to_string()),
    }
}

/// A credential manager of `org` (an admin when `None`), not yet stored.
pub fn new_user(email: &str, org: Option<&Organisation>) -> User {
    User {
        id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        role: if org.is_some() {
            Role::CredentialManager
        } else {
            Role::Admin
        },
        organisation_id: org.map(|o| o.id),
        status: UserStatus::Active,
        created_at: T0,
    }
}

/// A stand-in argon2id PHC string, distinct per `salt`: the store keeps
/// hashes and never computes one.
pub fn hash(salt: &str) -> PhcHash {
    PhcHash::from_stored(format!(
        "$argon2id$v=19$m=19456,t=2,p=1${}$aGFzaA",
        salt.replace('-', "")
    ))
}

/// An audit event of `action` by the command line at [`T0`], successful,
/// with no organisation, target or address: what a write that only
/// arranges a test's records, or whose event the test does not look at,
/// records.
pub fn event(action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: T0,
        actor: ActorRecord::Cli,
        organisation_id: None,
        action,
        target: None,
        client_address: None,
        outcome: AuditOutcome::Success,
    }
}

/// [`event`] of `action` concerning `organisation_id` and `target`.
fn event_on(
    action: AuditAction,
    organisation_id: Option<OrganisationId>,
    target: impl std::fmt::Display,
) -> NewAuditEvent {
    NewAuditEvent {
        organisation_id,
        target: Some(target.to_string()),
        ..event(action)
    }
}

/// A stored organisation named `name`.
pub async fn organisation(store: &SqlStore, name: &str) -> Organisation {
    let org = new_organisation(name);
    let event = event_on(AuditAction::OrganisationCreated, Some(org.id), org.id);
    store.create_organisation(&org, &event).await.unwrap();
    org
}

/// A stored partner application of `org` for `api` with `permissions`.
pub async fn application(
    store: &SqlStore,
    org: &Organisation,
    api: &str,
    permissions: &[&str],
) -> Application {
    let app = new_application(org, api, permissions);
    let event = event_on(AuditAction::ApplicationCreated, Some(org.id), app.client_id);
    store.create_application(&app, &event).await.unwrap();
    app
}

/// A stored organisation with one stored application (no permissions).
pub async fn some_application(store: &SqlStore) -> Application {
    let org = organisation(store, "Acme").await;
    application(store, &org, "SMC", &[]).await
}

/// A stored secret of `client_id`, created at [`T0`], expiring at `expires_at`.
pub async fn secret(
    store: &SqlStore,
    client_id: ClientId,
    expires_at: OffsetDateTime,
) -> NewSecret {
    secret_created_at(store, client_id, T0, expires_at).await
}

/// A stored secret of `client_id` created at `created_at`.
pub async fn secret_created_at(
    store: &SqlStore,
    client_id: ClientId,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> NewSecret {
    let secret = new_secret(client_id, created_at, expires_at);
    let event = event_on(AuditAction::SecretCreated, None, secret.record.id);
    store.create_secret(&secret, &event).await.unwrap();
    secret
}

/// A stored user with `email`: a credential manager of `org`, or an admin.
pub async fn user(store: &SqlStore, email: &str, org: Option<&Organisation>) -> User {
    let user = new_user(email, org);
    let email: &str = user.email.as_ref();
    let event = event_on(AuditAction::UserCreated, user.organisation_id, email);
    store
        .create_user(
            &user,
            &hash(&user.id.to_string()),
            &TotpSecret::generate(),
            &event,
        )
        .await
        .unwrap();
    user
}

/// A stored session of `user`, found by the hash `token_hash`: a sign-in,
/// so it also clears the user's failed sign-ins and lock.
pub async fn session(
    store: &SqlStore,
    user: UserId,
    token_hash: &str,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
) -> Session {
    let session = Session {
        id: SessionId::generate(),
        user_id: user,
        created_at,
        last_seen_at,
    };
    store
        .record_sign_in(
            &session,
            &token(token_hash),
            &event(AuditAction::SessionCreated),
        )
        .await
        .unwrap();
    session
}

/// A session token hash.
pub fn token(hash: &str) -> SessionTokenHash {
    SessionTokenHash::from_stored(hash.to_owned())
}
