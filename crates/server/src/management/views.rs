//! The JSON shapes of the management API, described for OpenAPI.
//!
//! Request bodies refuse unknown fields. Values shown once (a new secret,
//! a new user's password and TOTP URI, a session token) are held in
//! self-redacting types and exposed only when the response is written.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use tessera_core::actor::ActorKind;
use tessera_core::application::Application;
use tessera_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use tessera_core::organisation::Organisation;
use tessera_core::replica::Confirmation;
use tessera_core::resource::Resource;
use tessera_core::secret::{SecretRecord, SecretStatus};
use tessera_core::user::{Role, User, UserStatus};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

/// `POST /api/v1/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// The user's email.
    pub email: String,
    /// The user's password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The current 6-digit code of the user's authenticator.
    #[schema(value_type = String, example = "123456")]
    pub totp_code: SecretString,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The bearer token for `Authorization: Bearer …`, shown this once.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String)]
    pub token: SecretString,
    /// When the session ends unless used sooner (it ends at the latest
    /// `absolute_timeout_seconds` after sign-in).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use.
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// The new password, at least 12 characters.
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    /// Identifier.
    pub id: Uuid,
    /// Letters and digits.
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&Organisation> for OrganisationView {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.as_ref().to_owned(),
            country: o.country.as_str().to_owned(),
            created_at: o.created_at,
        }
    }
}

/// `POST /api/v1/organisations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisationRequest {
    /// 1 to 64 ASCII letters and digits, such as `OrganisationName`.
    pub name: String,
    /// ISO 3166-1 alpha-2 code, such as `NL`.
    pub country: String,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Identifier.
    pub id: Uuid,
    /// Sign-in email.
    pub email: String,
    /// `admin` or `credential-manager`.
    #[schema(value_type = String, example = "credential-manager")]
    pub role: Role,
    /// Their organisation; admins may have none.
    pub organisation_id: Option<Uuid>,
    /// `invited`, `active` or `disabled`.
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.as_ref().to_owned(),
            role: u.role,
            organisation_id: u.organisation_id.map(|o| o.as_uuid()),
            status: u.status,
            created_at: u.created_at,
        }
    }
}

/// `GET /api/v1/me`: the caller, with their organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// Their organisation, if any.
    pub organisation: Option<OrganisationView>,
    /// When the current session ends unless used.
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: OffsetDateTime,
}

/// `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Sign-in email.
    pub email: String,
    /// `admin` or `credential-manager`.
    pub role: String,
    /// Required for credential managers.
    #[serde(default)]
    pub organisation_id: Option<String>,
}

/// A new user, with the credentials to hand over this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreated {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// The generated initial password, shown this once.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String)]
    pub password: SecretString,
    /// `otpauth://totp/…` to enrol an authenticator, shown this once.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String)]
    pub totp_uri: SecretString,
}

/// A resource of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    /// What permissions and `scope` name.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// `production` or `sandbox`.
    pub environment: String,
    /// The `aud` of tokens for it.
    pub audience: String,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            environment: serde_json::to_value(r.environment)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            audience: r.audience.clone(),
        }
    }
}

/// An application (OAuth client).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The permanent `client_id`.
    pub client_id: Uuid,
    /// Derived: `Partner-{country}-{organisation}-{api}` (`PartnerAlternative-…`,
    /// `ResourceServer-…` for the other kinds).
    pub name: String,
    /// Its organisation.
    pub organisation_id: Uuid,
    /// `partner`, `partner-alternative` or `resource-server`.
    pub kind: String,
    /// 2 to 5 capital letters.
    pub api: String,
    /// Resource ids it may be granted.
    pub permissions: Vec<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&Application> for ApplicationView {
    fn from(a: &Application) -> Self {
        Self {
            client_id: a.client_id.as_uuid(),
            name: a.name.as_ref().to_owned(),
            organisation_id: a.organisation_id.as_uuid(),
            kind: a.kind.as_str().to_owned(),
            api: a.api.as_ref().to_owned(),
            permissions: a.permissions.iter().map(|p| p.to_string()).collect(),
            created_at: a.created_at,
        }
    }
}

/// A replica that had not applied a change when it was answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnconfirmedReplicaView {
    /// The replica's id (drawn at each start of `tessera serve`).
    pub replica: Uuid,
    /// Where it listens.
    pub address: String,
    /// The latest instant at which it stops honouring what was taken
    /// away: the end of its cache's trust window, unless it confirms
    /// sooner.
    #[serde(with = "time::serde::rfc3339")]
    pub stops_by: OffsetDateTime,
    /// Its heartbeat had lapsed, so it was not waited for.
    pub heartbeat_lapsed: bool,
}

/// How far a change that takes something away had reached the replicas
/// when it was answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationView {
    /// Every replica that could still honour what was taken away has
    /// stopped: `unconfirmed` is empty.
    pub confirmed: bool,
    /// Replicas that confirmed (this one included).
    pub replicas_confirmed: usize,
    /// Replicas that did not confirm within the wait, soonest to stop first.
    pub unconfirmed: Vec<UnconfirmedReplicaView>,
    /// The replica list could not be read: other replicas stop by their
    /// trust windows at the latest.
    pub replicas_unknown: bool,
}

impl From<&Confirmation> for ConfirmationView {
    fn from(c: &Confirmation) -> Self {
        Self {
            confirmed: c.is_complete(),
            replicas_confirmed: c.confirmed,
            unconfirmed: c
                .unconfirmed
                .iter()
                .map(|u| UnconfirmedReplicaView {
                    replica: u.id.as_uuid(),
                    address: u.address.clone(),
                    stops_by: u.stops_by,
                    heartbeat_lapsed: u.heartbeat_lapsed,
                })
                .collect(),
            replicas_unknown: c.unknown,
        }
    }
}

/// An application whose permissions were replaced, with how far the
/// change had reached the replicas.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionsChanged {
    /// The application with its new permissions.
    #[serde(flatten)]
    pub application: ApplicationView,
    /// Whether every live replica applied the change before the answer.
    pub confirmation: ConfirmationView,
}

/// One application with its secrets (never their values).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDetail {
    /// The application.
    #[serde(flatten)]
    pub application: ApplicationView,
    /// Its secrets, oldest first.
    pub secrets: Vec<SecretView>,
}

/// `POST /api/v1/applications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationRequest {
    /// The organisation it belongs to.
    pub organisation_id: String,
    /// 2 to 5 capital letters, such as `SMC`.
    pub api: String,
    /// `partner` (the default), `partner-alternative`, or `resource-server`
    /// (an API that introspects tokens: it obtains none and holds no
    /// permissions).
    #[serde(default)]
    pub kind: Option<String>,
    /// Resource ids.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// `PUT /api/v1/applications/{client_id}/permissions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPermissionsRequest {
    /// The complete new set of resource ids.
    pub permissions: Vec<String>,
}

/// A client secret's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// Identifier, to delete it.
    pub id: Uuid,
    /// What its creator called it.
    pub name: String,
    /// Its first three characters.
    pub hint: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who created it.
    pub created_by: String,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// `active`, `expiring_soon` (under 30 days) or `expired`.
    #[schema(value_type = String, example = "active")]
    pub status: SecretStatus,
    /// The last successful token request with it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl SecretView {
    /// The view of `r` at `now`.
    pub fn of(r: &SecretRecord, now: OffsetDateTime) -> Self {
        Self {
            id: r.id.as_uuid(),
            name: r.name.as_ref().to_owned(),
            hint: r.hint.clone(),
            created_at: r.created_at,
            created_by: r.created_by.label().to_owned(),
            expires_at: r.expires_at,
            status: r.status(now),
            last_used_at: r.last_used_at,
        }
    }
}

/// `POST /api/v1/applications/{client_id}/secrets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecretRequest {
    /// 1 to 100 printable characters, such as "Secret by VM".
    pub name: String,
    /// RFC 3339; default and latest: one calendar year from now.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A new secret: its value is in this response and nowhere else, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretCreated {
    /// The metadata.
    #[serde(flatten)]
    pub metadata: SecretView,
    /// The secret, shown this once.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String)]
    pub secret: SecretString,
    /// Present when the lifetime is under 30 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Increases with each event; pass the last one as `before` for the next page.
    pub id: i64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Who acted: `user` (a signed-in user), `anonymous` (a refused
    /// sign-in with an unknown email), `cli` (the command line on the
    /// host) or `system` (Tessera itself).
    #[schema(value_type = String, example = "user")]
    pub actor_kind: ActorKind,
    /// An email (for a user or a stranger), or `cli` or `system`.
    pub actor: String,
    /// The acting user's id, when a known user acted.
    pub actor_user_id: Option<Uuid>,
    /// The organisation concerned.
    pub organisation_id: Option<Uuid>,
    /// Such as `secret.created`, `session.failed`, `account.locked`.
    #[schema(value_type = String, example = "secret.created")]
    pub action: AuditAction,
    /// A client_id, secret id, session id or email.
    pub target: Option<String>,
    /// The client's IP address.
    pub client_address: Option<String>,
    /// `success` or `failure`.
    #[schema(value_type = String, example = "success")]
    pub outcome: AuditOutcome,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(e: &AuditEvent) -> Self {
        let ev = &e.event;
        Self {
            id: e.id,
            occurred_at: ev.occurred_at,
            actor_kind: ev.actor.kind(),
            actor: ev.actor.label().to_owned(),
            actor_user_id: ev.actor.user_id().map(|id| id.as_uuid()),
            organisation_id: ev.organisation_id.map(|o| o.as_uuid()),
            action: ev.action,
            target: ev.target.clone(),
            client_address: ev.client_address.map(|a| a.to_string()),
            outcome: ev.outcome,
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEventView>,
    /// Pass as `before` to read the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}
