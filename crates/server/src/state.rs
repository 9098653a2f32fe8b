//! The state every handler shares.

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::service::Tessera;
use crate::settings::Settings;
use crate::token::usage::UsageRecorder;
use crate::token::verifier::Authenticator;
use tessera_token::keys::KeyRing;
use tessera_token::metrics::TokenMetrics;

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<AppInner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct AppInner {
    /// Operations on records (store, hasher, clock, catalog).
    pub tessera: Tessera,
    /// Client authentication: the verified-secret cache and cold verification.
    pub auth: Authenticator,
    /// Uses of secrets not yet written to the database.
    pub usage: Arc<UsageRecorder>,
    /// Signing keys.
    pub keys: KeyRing,
    /// The server's metrics, and the registry of every metric.
    pub metrics: Metrics,
    /// The token path's metrics.
    pub token_metrics: TokenMetrics,
    /// Configuration.
    pub settings: Arc<Settings>,
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    /// The discovery document, serialised once.
    pub discovery: bytes::Bytes,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
