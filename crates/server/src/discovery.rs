//! Discovery ([RFC 8414](https://www.rfc-editor.org/rfc/rfc8414)) and the
//! JWKS ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use tessera_core::resource::ResourceCatalog;

use crate::state::AppState;

/// The authorization server metadata, for `issuer`.
pub fn metadata(issuer: &str, catalog: &ResourceCatalog) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": catalog.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
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

/// `GET /.well-known/jwks.json`: the active key, keys published ahead of
/// activation, and retired keys still inside a token lifetime.
pub async fn get_jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // Short, so a newly activated key is fetched soon; verifiers
            // also refetch on an unknown kid.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        state.keys.current().jwks.clone(),
    )
}
