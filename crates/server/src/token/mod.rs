//! The token endpoint: `POST /oauth2/token`, client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)),
//! issuing RFC 9068 JWT access tokens.

pub mod request;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;
use tessera_core::application::Application;
use tessera_core::ids::SecretId;
use tessera_core::secret::StoredSecret;
use tessera_core::token::{AccessTokenClaims, Audience, TokenError, select_resources};

use crate::error::OAuthError;
use crate::state::AppState;
use request::TokenRequest;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// `POST /oauth2/token`.
#[tracing::instrument(name = "post_token", skip_all)]
pub async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = match handle(&state, &headers, body).await {
        Ok(response) => ("issued", response),
        Err(error) => (error.outcome(), error.into_response()),
    };
    state
        .metrics
        .token_requests
        .with_label_values(&[outcome])
        .inc();
    state
        .metrics
        .token_duration
        .with_label_values(&[outcome])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Any other method on `/oauth2/token`.
pub async fn token_method_not_allowed() -> OAuthError {
    OAuthError::request(
        StatusCode::METHOD_NOT_ALLOWED,
        "the token endpoint accepts only POST",
    )
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded")
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::request(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 8 KiB",
            )
        } else {
            OAuthError::request(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })?;
    let request = request::parse(headers, &body)
        .map_err(|refusal| OAuthError::from_token_error(&refusal.error, refusal.method))?;
    let method = request.method;
    let client = authenticate(state, &request).await.map_err(|e| match e {
        AuthFailure::Refused => OAuthError::from_token_error(&TokenError::InvalidClient, method),
        AuthFailure::Internal(cause) => OAuthError::internal(&cause),
    })?;
    issue(state, &client.application, &request).map_err(|e| match e {
        IssueFailure::Refused(error) => OAuthError::from_token_error(&error, method),
        IssueFailure::Internal(cause) => OAuthError::internal(&cause),
    })
}

/// A client whose secret checked out.
struct Authenticated {
    application: Arc<Application>,
}

enum AuthFailure {
    Refused,
    Internal(String),
}

/// Checks the presented secret against the application's unexpired secrets.
/// Only secrets whose hint (first three characters) matches are worth an
/// argon2 verification, so a wrong secret usually costs none.
async fn authenticate(
    state: &AppState,
    request: &TokenRequest,
) -> Result<Authenticated, AuthFailure> {
    let tessera = &state.tessera;
    let credentials = tessera
        .store()
        .client_credentials(request.client_id)
        .await
        .map_err(|e| AuthFailure::Internal(e.to_string()))?
        .ok_or(AuthFailure::Refused)?;
    let now = tessera.clock().now();
    let hint = request.secret.hint();
    let candidates: Vec<StoredSecret> = credentials
        .secrets
        .into_iter()
        .filter(|s| s.hint == hint && s.expires_at > now)
        .collect();
    if candidates.is_empty() {
        return Err(AuthFailure::Refused);
    }
    let hasher = tessera.hasher().clone();
    let secret = request.secret.clone();
    let metrics = state.metrics.clone();
    let matched: Option<SecretId> = tokio::task::spawn_blocking(move || {
        candidates
            .into_iter()
            .find(|candidate| {
                let ok = hasher.verify(secret.expose().as_bytes(), &candidate.hash);
                let result = if ok { "match" } else { "mismatch" };
                metrics
                    .argon2_verifications
                    .with_label_values(&[result])
                    .inc();
                ok
            })
            .map(|c| c.id)
    })
    .await
    .map_err(|e| AuthFailure::Internal(e.to_string()))?;
    let secret_id = matched.ok_or(AuthFailure::Refused)?;
    tessera
        .store()
        .record_secret_use(&[(secret_id, now)])
        .await
        .map_err(|e| AuthFailure::Internal(e.to_string()))?;
    Ok(Authenticated {
        application: credentials.application,
    })
}

enum IssueFailure {
    Refused(TokenError),
    Internal(String),
}

/// Grants the requested resources and signs the token.
fn issue(
    state: &AppState,
    application: &Application,
    request: &TokenRequest,
) -> Result<Response, IssueFailure> {
    let tessera = &state.tessera;
    let resources: Vec<&str> = request.resources.iter().map(String::as_str).collect();
    let granted = select_resources(
        tessera.catalog(),
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
    let now = tessera.clock().now().unix_timestamp();
    let ttl = i64::from(state.settings.token.ttl_seconds);
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
