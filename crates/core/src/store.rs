//! The storage boundary: what Tessera keeps, as a trait the storage crate
//! implements for SQLite and PostgreSQL.
//!
//! Business rules stay in this crate; a store only keeps and finds records,
//! and enforces atomically the few rules that need the database to (unique
//! names, at most five secrets per application).

use crate::application::{Application, Permissions};
use crate::ids::{ClientId, OrganisationId, SecretId};
use crate::organisation::Organisation;
use crate::password::PhcHash;
use crate::secret::{NewSecret, SecretRecord, StoredSecret};
use crate::user::{Email, TotpSecret, User};
use std::sync::Arc;
use time::OffsetDateTime;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field is taken (the field is named, such as `name`).
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// The record it refers to does not exist.
    #[error("not found")]
    NotFound,
    /// The application already has five secrets.
    #[error("secret limit reached")]
    SecretLimitReached,
    /// The database could not be reached or failed.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value no longer parses.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// What the token endpoint needs to authenticate a client.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The application.
    pub application: Arc<Application>,
    /// Its secrets, expired ones included (the caller checks expiry).
    pub secrets: Vec<StoredSecret>,
}

/// A user with what signing in checks.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// argon2id hash of the password.
    pub password_hash: PhcHash,
    /// TOTP shared secret.
    pub totp: TotpSecret,
}

/// A signing key's metadata; the private key stays in the key directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id (`kid`).
    pub kid: String,
    /// JWS algorithm, such as `ES256`.
    pub alg: String,
    /// When it was generated or first seen.
    pub created_at: OffsetDateTime,
    /// When it last became the active key; `None` if never.
    pub activated_at: Option<OffsetDateTime>,
    /// Order of activation: the key with the highest is the active one.
    pub activation_seq: Option<i64>,
}

/// A change to an application's credentials that running servers must
/// apply to what they cache: a secret deleted, permissions replaced, the
/// application deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialChange {
    /// Position in the change log; increases, possibly with gaps.
    pub seq: i64,
    /// The application whose credentials changed.
    pub client_id: ClientId,
}

/// Secrets counted by status (see [`crate::secret::SecretStatus`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretCounts {
    /// Expiring in 30 days or more.
    pub active: u64,
    /// Expiring in under 30 days.
    pub expiring_soon: u64,
    /// Past their expiry, not yet deleted.
    pub expired: u64,
}

/// Persistent storage of everything Tessera knows.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a new organisation; `Conflict("name")` if the name is taken.
    async fn create_organisation(&self, org: &Organisation) -> Result<(), StoreError>;
    /// One organisation.
    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Every organisation, by name.
    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError>;

    /// Stores a new application; `Conflict("name")` if its derived name is taken.
    async fn create_application(&self, app: &Application) -> Result<(), StoreError>;
    /// One application.
    async fn application(&self, client_id: ClientId) -> Result<Option<Application>, StoreError>;
    /// Applications, of one organisation or of all, by name.
    async fn applications(
        &self,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<Application>, StoreError>;
    /// Replaces an application's permissions and records the change for
    /// every server's secret cache; `NotFound` if there is none.
    async fn set_permissions(
        &self,
        client_id: ClientId,
        permissions: &Permissions,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Deletes an application with its secrets and permissions, recording
    /// the change for every server's secret cache; `false` if there was none.
    async fn delete_application(
        &self,
        client_id: ClientId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Stores a new secret, refusing with `SecretLimitReached` when its
    /// application already holds five (checked atomically) and with
    /// `NotFound` when the application does not exist.
    async fn create_secret(&self, secret: &NewSecret) -> Result<(), StoreError>;
    /// An application's secrets' metadata, oldest first.
    async fn secrets(&self, client_id: ClientId) -> Result<Vec<SecretRecord>, StoreError>;
    /// Deletes a secret of an application and records the change for every
    /// server's secret cache; `false` if there was none.
    async fn delete_secret(
        &self,
        client_id: ClientId,
        id: SecretId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// The application and its secret hashes, for the token endpoint.
    async fn client_credentials(
        &self,
        client_id: ClientId,
    ) -> Result<Option<ClientCredentials>, StoreError>;
    /// Records successful token requests: each secret's `last_used_at`
    /// moves forward to the given instant (never back).
    async fn record_secret_use(
        &self,
        uses: &[(SecretId, OffsetDateTime)],
    ) -> Result<(), StoreError>;

    /// Changes recorded after `after` (a sequence number), oldest first, at
    /// most `limit` of them.
    async fn credential_changes(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CredentialChange>, StoreError>;
    /// The sequence number of the latest recorded change, 0 if none.
    async fn latest_credential_change(&self) -> Result<i64, StoreError>;
    /// Forgets changes recorded before `before`.
    async fn prune_credential_changes(&self, before: OffsetDateTime) -> Result<(), StoreError>;
    /// How many secrets are active, expiring soon and expired at `now`.
    async fn secret_counts(&self, now: OffsetDateTime) -> Result<SecretCounts, StoreError>;

    /// Claims the lease `name` for `holder` until `until`, if it is free,
    /// expired at `now`, or already `holder`'s (which extends it). Atomic:
    /// of servers claiming at once, one gets it. Returns whether `holder`
    /// holds it now.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives the lease `name` up, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Stores a new user; `Conflict("email")` if the address is taken.
    async fn create_user(
        &self,
        user: &User,
        password_hash: &PhcHash,
        totp: &TotpSecret,
    ) -> Result<(), StoreError>;
    /// A user with the hashes sign-in checks.
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError>;
    /// Users, of one organisation or of all, by email.
    async fn users(&self, organisation: Option<OrganisationId>) -> Result<Vec<User>, StoreError>;

    /// Registers a signing key; a key already registered is left as it is.
    async fn register_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Makes `kid` the active key from `at` on; `NotFound` if it is not registered.
    async fn activate_signing_key(&self, kid: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Every registered key, in order of activation (never-activated keys first).
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
}
