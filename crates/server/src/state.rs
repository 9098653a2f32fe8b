//! The state every handler shares.

use std::sync::Arc;
use tessera_token::TokenEndpoint;

use tessera_admin::Admin;
use tessera_core::store::OpsStore;

use crate::metrics::Metrics;
use crate::settings::Settings;

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<AppInner>);

/// What [`AppState`] holds.
pub struct AppInner {
    /// The use cases: every change anyone can make.
    pub admin: Admin,
    /// Health and gauges.
    pub ops_store: Arc<dyn OpsStore>,
    /// The token endpoint, with its cache, verification, keys and usage.
    pub token: TokenEndpoint,
    /// The server's metrics, and the registry of every metric.
    pub metrics: Metrics,
    /// Configuration.
    pub settings: Arc<Settings>,
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    /// The discovery document, serialised once.
    pub discovery: bytes::Bytes,
}

impl std::fmt::Debug for AppInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInner")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
