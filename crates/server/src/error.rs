//! Errors as HTTP responses.
//!
//! - OAuth routes (`/oauth2/token`) answer `{"error","error_description"}`
//!   (RFC 6749 §5.2) through [`OAuthError`], with `Cache-Control: no-store`
//!   and, for `invalid_client` after HTTP Basic, `WWW-Authenticate`.
//! - An internal failure is logged with its cause and answered as a bare
//!   `server_error`: the cause may hold details a client must not see.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use tessera_core::token::TokenError;

use crate::token::request::AuthMethod;

/// An error answer of the token endpoint.
#[derive(Debug)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The RFC 6749 error code.
    pub error: &'static str,
    /// The `error_description`.
    pub description: Cow<'static, str>,
    /// Add `WWW-Authenticate: Basic` (401 after HTTP Basic).
    pub basic_challenge: bool,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// The metrics outcome, when the status alone does not tell it.
    pub outcome: Option<&'static str>,
}

impl OAuthError {
    /// The answer to a token error.
    pub fn from_token_error(error: &TokenError, method: AuthMethod) -> Self {
        let (status, code) = match error {
            TokenError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            TokenError::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
            TokenError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            TokenError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope"),
            TokenError::InvalidTarget(_) => (StatusCode::BAD_REQUEST, "invalid_target"),
        };
        Self {
            status,
            error: code,
            description: error.description(),
            basic_challenge: status == StatusCode::UNAUTHORIZED && method == AuthMethod::Basic,
            retry_after: None,
            outcome: None,
        }
    }

    /// A request-level refusal (405, 413, 415) in the OAuth error format.
    pub fn request(status: StatusCode, description: &'static str) -> Self {
        Self {
            status,
            error: "invalid_request",
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            outcome: None,
        }
    }

    /// An internal failure: the cause is logged here and not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "token request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the server could not complete the request".into(),
            basic_challenge: false,
            retry_after: None,
            outcome: None,
        }
    }

    /// Too many failed authentications for this client or address: 429,
    /// to retry when the window ends.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "temporarily_unavailable",
            description: "too many failed authentication attempts; retry later".into(),
            basic_challenge: false,
            retry_after: Some(retry_after),
            outcome: Some("rate_limited"),
        }
    }

    /// Every verification slot is taken: 429, to retry in a second.
    pub fn busy() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "temporarily_unavailable",
            description: "the server is busy verifying other clients; retry shortly".into(),
            basic_challenge: false,
            retry_after: Some(1),
            outcome: Some("busy"),
        }
    }

    /// The database is unreachable: 503; the cause is logged, not sent.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "token request needs the database, which is unavailable");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the service is temporarily unavailable; retry later".into(),
            basic_challenge: false,
            retry_after: Some(5),
            outcome: None,
        }
    }

    /// The `outcome` label of this answer in the metrics.
    pub fn outcome(&self) -> &'static str {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        match self.status {
            StatusCode::INTERNAL_SERVER_ERROR => "error",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE => "rejected",
            _ => self.error,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tessera", charset="UTF-8""#),
            );
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
