//! The token endpoint: `POST /oauth2/token`, client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)),
//! issuing RFC 9068 JWT access tokens; and the JWKS
//! ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)) that verifies them.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::time::Instant;
use tessera_core::application::Application;
use tessera_core::ids::SecretId;
use tessera_core::token::{AccessTokenClaims, Audience, TokenError, select_resources};

use crate::error::OAuthError;
use crate::introspection::{INTROSPECTION_PATH, introspect_method_not_allowed, post_introspect};
use crate::metrics::TokenOutcome;
use crate::request::{self, AuthMethod, TokenRequest};
use crate::state::TokenEndpoint;
use crate::verifier::AuthError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// Path of the JWKS.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The token endpoint's routes, `POST /oauth2/token` and
/// `POST /oauth2/introspect` (any other method is answered 405) and
/// `GET /.well-known/jwks.json`, with their state given, to merge into a
/// router of any state.
pub fn router<S>(endpoint: TokenEndpoint) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            TOKEN_PATH,
            post(post_token)
                .fallback(token_method_not_allowed)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(
            INTROSPECTION_PATH,
            post(post_introspect)
                .fallback(introspect_method_not_allowed)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(JWKS_PATH, get(get_jwks))
        .with_state(endpoint)
}

/// `POST /oauth2/token`.
#[tracing::instrument(name = "post_token", skip_all)]
async fn post_token(
    State(state): State<TokenEndpoint>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = match handle(&state, peer, &headers, body).await {
        Ok(response) => (TokenOutcome::Issued, response),
        Err(error) => (error.outcome, error.into_response()),
    };
    state
        .0
        .metrics
        .observe_request(outcome, started.elapsed().as_secs_f64());
    response
}

/// Any other method on `/oauth2/token`: refused, and counted like every
/// other answer of the endpoint.
async fn token_method_not_allowed(State(state): State<TokenEndpoint>) -> Response {
    let error = OAuthError::request(
        StatusCode::METHOD_NOT_ALLOWED,
        "the token endpoint accepts only POST",
    );
    state.0.metrics.observe_request(error.outcome, 0.0);
    error.into_response()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded")
}

/// The body of a form request: 415 for another content type, 413 past
/// [`MAX_BODY_BYTES`].
pub(crate) fn form_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::request(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 8 KiB",
            )
        } else {
            OAuthError::request(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })
}

/// The answer to a client that was not authenticated.
pub(crate) fn auth_refusal(error: AuthError, method: AuthMethod) -> OAuthError {
    match error {
        AuthError::Refused => OAuthError::from_token_error(&TokenError::InvalidClient, method),
        AuthError::Limited { retry_after } => OAuthError::rate_limited(retry_after),
        AuthError::Busy => OAuthError::busy(),
        AuthError::Unavailable(cause) => OAuthError::unavailable(&cause),
        AuthError::Internal(cause) => OAuthError::internal(&cause),
    }
}

async fn handle(
    state: &TokenEndpoint,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = form_body(headers, body)?;
    let request = request::parse(headers, &body)
        .map_err(|refusal| OAuthError::from_token_error(&refusal.error, refusal.method))?;
    let method = request.method;
    let verified = state
        .0
        .auth
        .authenticate(request.client_id, &request.secret, peer.ip())
        .await
        .map_err(|e| auth_refusal(e, method))?;
    let application = &verified.application.application;
    if !application.kind.obtains_tokens() {
        return Err(OAuthError::from_token_error(
            &TokenError::UnauthorizedClient,
            method,
        ));
    }
    issue(state, application, verified.secret_id, &request).map_err(|e| match e {
        IssueFailure::Refused(error) => OAuthError::from_token_error(&error, method),
        IssueFailure::Internal(cause) => OAuthError::internal(&cause),
    })
}

enum IssueFailure {
    Refused(TokenError),
    Internal(String),
}

/// Grants the requested resources and signs the token.
fn issue(
    state: &TokenEndpoint,
    application: &Application,
    credential_id: SecretId,
    request: &TokenRequest,
) -> Result<Response, IssueFailure> {
    let state = &*state.0;
    let resources: Vec<&str> = request.resources.iter().map(String::as_str).collect();
    let granted = select_resources(
        &state.catalog,
        &application.permissions,
        request.scope.as_deref(),
        &resources,
    )
    .map_err(IssueFailure::Refused)?;
    let scope = granted
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let aud = match granted.as_slice() {
        [one] => Audience::One(one.audience.as_str()),
        many => Audience::Many(many.iter().map(|r| r.audience.as_str()).collect()),
    };
    let now = state.clock.now().unix_timestamp();
    let ttl = i64::from(state.config.token.ttl_seconds);
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let claims = AccessTokenClaims {
        iss: &state.issuer,
        sub: application.client_id,
        client_id: application.client_id,
        aud,
        scope: &scope,
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: &jti,
        org: application.organisation_id,
        credential_id,
    };
    let token = state
        .keys
        .current()
        .active
        .sign_jwt(&claims)
        .map_err(|e| IssueFailure::Internal(e.to_string()))?;
    let body = serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    });
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /.well-known/jwks.json`: the active key, keys published ahead of
/// activation, and retired keys still inside a token lifetime.
async fn get_jwks(State(state): State<TokenEndpoint>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // Short, so a newly activated key is fetched soon; verifiers
            // also refetch on an unknown kid.
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        state.0.keys.current().jwks.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_content_type_accepts_parameters_and_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_form(&headers));
        assert!(!is_form(&HeaderMap::new()));
    }
}
