//! The token endpoint's errors as HTTP responses.
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

use crate::metrics::TokenOutcome;
use crate::request::AuthMethod;

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
    /// The metrics outcome.
    pub outcome: TokenOutcome,
}

impl OAuthError {
    /// The answer to a token error.
    pub fn from_token_error(error: &TokenError, method: AuthMethod) -> Self {
        let (status, code, outcome) = match error {
            TokenError::InvalidRequest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                TokenOutcome::InvalidRequest,
            ),
            TokenError::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                TokenOutcome::InvalidClient,
            ),
            TokenError::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                TokenOutcome::UnsupportedGrantType,
            ),
            TokenError::UnauthorizedClient => (
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                TokenOutcome::UnauthorizedClient,
            ),
            TokenError::InvalidScope(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                TokenOutcome::InvalidScope,
            ),
            TokenError::InvalidTarget(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_target",
                TokenOutcome::InvalidTarget,
            ),
        };
        Self {
            status,
            error: code,
            description: error.description(),
            basic_challenge: status == StatusCode::UNAUTHORIZED && method == AuthMethod::Basic,
            retry_after: None,
            outcome,
        }
    }

    /// A request-level refusal (405, 413, 415) in the OAuth error format.
    pub fn request(status: StatusCode, description: &'static str) -> Self {
        let outcome = match status {
            StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE => TokenOutcome::Rejected,
            _ => TokenOutcome::InvalidRequest,
        };
        Self {
            status,
            error: "invalid_request",
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            outcome,
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
            outcome: TokenOutcome::Error,
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
            outcome: TokenOutcome::RateLimited,
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
            outcome: TokenOutcome::Busy,
        }
    }

    /// The database is unreachable: 503; the cause is logged, not sent.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::debug!(error = %cause, "token request needs the database, which is unavailable");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the service is temporarily unavailable; retry later".into(),
            basic_challenge: false,
            retry_after: Some(5),
            outcome: TokenOutcome::Unavailable,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_counted_under_its_outcome() {
        let cases = [
            (
                OAuthError::from_token_error(&TokenError::InvalidClient, AuthMethod::Basic),
                "invalid_client",
            ),
            (
                OAuthError::from_token_error(&TokenError::UnsupportedGrantType, AuthMethod::Post),
                "unsupported_grant_type",
            ),
            (
                OAuthError::from_token_error(&TokenError::UnauthorizedClient, AuthMethod::Basic),
                "unauthorized_client",
            ),
            (
                OAuthError::request(StatusCode::UNSUPPORTED_MEDIA_TYPE, "x"),
                "rejected",
            ),
            (
                OAuthError::request(StatusCode::METHOD_NOT_ALLOWED, "x"),
                "rejected",
            ),
            (
                OAuthError::request(StatusCode::BAD_REQUEST, "x"),
                "invalid_request",
            ),
            (OAuthError::rate_limited(3), "rate_limited"),
            (OAuthError::busy(), "busy"),
            (OAuthError::unavailable(&"down"), "unavailable"),
            (OAuthError::internal(&"broken"), "error"),
        ];
        for (error, outcome) in cases {
            assert_eq!(error.outcome.as_str(), outcome, "{error:?}");
        }
    }
}
