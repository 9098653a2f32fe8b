//! RFC 9457 problem details: every error of `/api/v1` is
//! `application/problem+json` with `type`, `title`, `status` and `detail`.
//!
//! `type` is `urn:tessera:problem:<slug>` (such as
//! `urn:tessera:problem:validation`), stable for clients to branch on;
//! `field` names the request field a validation error is about. An internal
//! error is a bare 500: its cause is logged here and never sent.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use utoipa::ToSchema;

use tessera_admin::{AdminError, Conflict, SignInError};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details body (RFC 9457 §3).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:tessera:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request field a validation error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer of the management API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Cow<'static, str>,
    field: Option<&'static str>,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            field: None,
            retry_after_seconds: None,
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 422: a field breaks a rule.
    pub fn validation(field: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        );
        e.field = Some(field);
        e
    }

    /// 401: no valid session. Carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Not signed in",
            "sign in with POST /api/v1/sessions and send the token as `Authorization: Bearer <token>`; the session may have ended",
        )
    }

    /// 401: a refused sign-in, the same for every cause.
    pub fn login_refused() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Sign-in refused",
            "invalid email, password or code",
        )
    }

    /// 403: the caller's role may not do this.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "only admins may do this",
        )
    }

    /// 404: nothing here the caller may see.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this path does not accept this method",
        )
    }

    /// 409: a unique value is taken or a limit is reached.
    pub fn conflict(slug: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, "Conflict", detail)
    }

    /// 500: logs the cause, sends nothing of it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "management request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server could not complete the request",
        )
    }

    /// 429: too many attempts; `Retry-After` says how long to wait.
    pub fn too_many_attempts(retry_after_seconds: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "Too many attempts",
            format!("too many attempts; try again in {retry_after_seconds} seconds"),
        );
        e.retry_after_seconds = Some(retry_after_seconds);
        e
    }

    /// 503: the database is down; logs the cause, asks to retry.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::debug!(error = %cause, "management request needs the database, which is unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "the service is temporarily unavailable; retry later",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, safe to show (an internal error says nothing of
    /// its cause).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(what) => Self::not_found(what.as_str()),
            AdminError::Forbidden => Self::forbidden(),
            AdminError::Invalid(invalid) => {
                Self::validation(invalid.field().as_str(), invalid.to_string())
            }
            AdminError::Conflict(conflict @ Conflict::Taken(_)) => {
                Self::conflict("conflict", conflict.to_string())
            }
            AdminError::Conflict(conflict @ Conflict::SecretLimit) => {
                Self::conflict("secret-limit", conflict.to_string())
            }
            AdminError::TooManyAttempts {
                retry_after_seconds,
            } => Self::too_many_attempts(retry_after_seconds),
            AdminError::Unavailable(cause) => Self::unavailable(&cause),
            AdminError::Internal(cause) => Self::internal(&cause),
        }
    }
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Refused => Self::login_refused(),
            SignInError::Failed(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let detail = rejection.body_text();
        match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                status,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON with `Content-Type: application/json`",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "payload-too-large",
                "Payload too large",
                "the body is too large",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => {
                // serde's message, with the path of the offending field.
                let detail = detail
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&detail)
                    .to_owned();
                Self::new(status, "validation", "Invalid request", detail)
            }
            _ => Self::bad_request(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:tessera:problem:{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.into_owned(),
            field: self.field.map(str::to_owned),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="tessera""#),
            );
        }
        response
    }
}

/// A JSON request body whose rejections (bad syntax, a missing, unknown or
/// mistyped field, the wrong content type, a body too large) are problem
/// details rather than plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(ApiError::from)
    }
}

/// Unknown paths under `/api/v1`.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no endpoint at this path; see GET /api/v1/openapi.json",
    )
}

/// A known path with a method it does not accept.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
