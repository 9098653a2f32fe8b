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
    /// most `limit` of them. Sequence numbers become visible in the order
    /// they were given: once a reader sees one, every lower number that
    /// will ever be recorded is visible too (writers of the log are
    /// serialised), so "applied up to N" means every change up to N.
    async fn credential_changes(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CredentialChange>, StoreError>;
    /// The sequence number of the latest recorded change, 0 if none.
    async fn latest_credential_change(&self) -> Result<i64, StoreError>;
    /// Forgets changes recorded before `before`.
    async fn prune_credential_changes(&self, before: OffsetDateTime) -> Result<(), StoreError>;
    /// Subscribes to notices that the change log may have grown, so the
    /// change feed reads it at once rather than at its next poll. Take it
    /// before reading where the log stands: nothing committed after the
    /// subscription goes unnoticed while it lasts.
    async fn change_notices(&self) -> Result<Box<dyn ChangeNotices>, StoreError>;
}

/// A subscription to change-log notices (see
/// [`CredentialStore::change_notices`]). Notices are hints, never the
/// changes themselves: the log is read after each one, and also at an
/// interval, so a lost notice delays a change but never loses it.
#[async_trait::async_trait]
pub trait ChangeNotices: Send {
    /// Returns when a change may have been recorded since the last call;
    /// an error when the subscription broke (subscribe again later).
    async fn changed(&mut self) -> Result<(), StoreError>;
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
