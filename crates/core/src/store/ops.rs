//! What operators watch: whether the database answers, and secrets by
//! status.

use crate::store::StoreError;
use time::OffsetDateTime;

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

/// Health and gauges.
#[async_trait::async_trait]
pub trait OpsStore: Send + Sync + 'static {
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// How many secrets are active, expiring soon and expired at `now`.
    async fn secret_counts(&self, now: OffsetDateTime) -> Result<SecretCounts, StoreError>;
}
