//! Discovery ([RFC 8414](https://www.rfc-editor.org/rfc/rfc8414)). The
//! token endpoint and the JWKS it names are `tessera-token`'s.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use tessera_core::resource::ResourceCatalog;
use tessera_token::{INTROSPECTION_PATH, JWKS_PATH, TOKEN_PATH};

use crate::state::AppState;

/// The authorization server metadata, for `issuer`.
pub fn metadata(issuer: &str, catalog: &ResourceCatalog) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": catalog.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        // RFC 7662, for applications of kind resource-server.
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        // No authorization endpoint: client credentials need none.
        "response_types_supported": [],
    })
}

/// `GET /.well-known/oauth-authorization-server` and
/// `GET /.well-known/openid-configuration`.
pub async fn get_metadata(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.discovery.clone(),
    )
}
