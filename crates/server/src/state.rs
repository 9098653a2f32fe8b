//! The state every handler shares.

use std::sync::Arc;
use tessera_token::TokenEndpoint;

use crate::metrics::Metrics;
use crate::service::Tessera;
use crate::settings::Settings;

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<AppInner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct AppInner {
    /// Operations on records (store, hasher, clock, catalog).
    pub tessera: Tessera,
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

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
