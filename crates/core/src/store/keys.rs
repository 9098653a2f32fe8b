//! Signing key records: which keys exist and which is active, so every
//! replica agrees; the private keys stay in the key directory.

use crate::audit::NewAuditEvent;
use crate::store::StoreError;
use time::OffsetDateTime;

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

/// Signing key records and the lease that lets one of several servers
/// starting at once generate the first key.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Registers a signing key; a key already registered is left as it is.
    async fn register_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Makes `kid` the active key from `at` on and records `event`, in one
    /// transaction; `NotFound`, and no event, if it is not registered.
    async fn activate_signing_key(
        &self,
        kid: &str,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Every registered key, in order of activation (never-activated keys first).
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

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
}
