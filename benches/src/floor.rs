//! The floor: the least a token endpoint can do for one request. It parses
//! the request with Tessera's own parser, selects the same resources, signs
//! the same claims with the same key, and answers the same body and
//! headers. No database, no argon2, no cache, no middleware: whatever
//! Tessera costs above this is the price of checking the secret and of its
//! plumbing.

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tessera_core::application::{ApplicationKind, Permissions, validate_permissions};
use tessera_core::ids::{OrganisationId, SecretId};
use tessera_core::resource::ResourceCatalog;
use tessera_core::token::{AccessTokenClaims, Audience, select_resources};
use tessera_core::{Clock as _, SystemClock};
use tessera_token::keys::SigningKey;
use tessera_token::request;

/// The permissions of every benchmark application, so the floor's tokens
/// carry the same `aud` and `scope` as Tessera's: two resources, hence an
/// `aud` array.
pub const PERMISSIONS: [&str; 2] = ["search-match-production", "match-connect-production"];

/// What the floor needs to answer.
struct Floor {
    key: SigningKey,
    issuer: String,
    ttl: i64,
    catalog: ResourceCatalog,
    permissions: Permissions,
    organisation: OrganisationId,
    /// Stands for the secret that obtained each token: the floor has none.
    credential: SecretId,
}

/// Serves the floor on `listen` until the process is killed.
pub async fn serve(
    listen: SocketAddr,
    key_file: &Path,
    issuer: String,
    ttl: u32,
) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(key_file)
        .with_context(|| format!("Failed to read {}", key_file.display()))?;
    let key = SigningKey::from_pem(&pem).context("Failed to parse the signing key")?;
    let catalog = ResourceCatalog::new(ResourceCatalog::default_resources())
        .context("Failed to build the resource catalog")?;
    let permissions = validate_permissions(ApplicationKind::Partner, &PERMISSIONS, &catalog)
        .context("Failed to build the permissions")?;
    let floor = Arc::new(Floor {
        key,
        issuer,
        ttl: i64::from(ttl),
        catalog,
        permissions,
        organisation: OrganisationId::generate(),
        credential: SecretId::generate(),
    });
    let app = Router::new()
        .route("/oauth2/token", post(post_token))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("Failed to listen on {listen}"))?;
    axum::serve(listener, app)
        .await
        .context("The floor server failed")
}

async fn post_token(State(floor): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(request) = request::parse(&headers, &body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let resources: Vec<&str> = request.resources.iter().map(String::as_str).collect();
    let Ok(granted) = select_resources(
        &floor.catalog,
        &floor.permissions,
        request.scope.as_deref(),
        &resources,
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let scope = granted
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let aud = match granted.as_slice() {
        [one] => Audience::One(one.audience.as_str()),
        many => Audience::Many(many.iter().map(|r| r.audience.as_str()).collect()),
    };
    let now = SystemClock.now().unix_timestamp();
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let claims = AccessTokenClaims {
        iss: &floor.issuer,
        sub: request.client_id,
        client_id: request.client_id,
        aud,
        scope: &scope,
        iat: now,
        nbf: now,
        exp: now + floor.ttl,
        jti: &jti,
        org: floor.organisation,
        credential_id: floor.credential,
    };
    let Ok(token) = floor.key.sign_jwt(&claims) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let body = serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": floor.ttl,
        "scope": scope,
    });
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
