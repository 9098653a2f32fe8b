//! What the token path reads and writes: nothing but the credentials of the
//! client asking, the time a secret was last used, and the change feed that
//! keeps every server's cache true to the database.

use crate::application::Application;
use crate::ids::{ClientId, SecretId};
use crate::secret::StoredSecret;
use crate::store::StoreError;
use std::sync::Arc;
use time::OffsetDateTime;

/// What the token endpoint needs to authenticate a client.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The application.
    pub application: Arc<Application>,
    /// Its secrets, expired ones included (the caller checks expiry).
    pub secrets: Vec<StoredSecret>,
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

/// The token path's storage.
#[async_trait::async_trait]
pub trait CredentialStore: Send + Sync + 'static {
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
}

/// Told of every credential change this process commits (a secret deleted,
/// permissions replaced, an application deleted), before the change is
/// answered: the token path's cache implements it, so a change applies to
/// this process's very next token request. Other processes learn of it from
/// the change log ([`CredentialStore::credential_changes`]).
pub trait CredentialsChanged: Send + Sync + 'static {
    /// `client_id`'s credentials changed: forget what was verified for it.
    fn credentials_changed(&self, client_id: ClientId);
}
