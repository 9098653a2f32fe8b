//! The management API (`/api/v1`): sessions, the caller's account,
//! applications and their secrets, organisations, users and the audit log.
//!
//! Handlers parse the request, check who may do it ([`auth::Caller`]),
//! call the shared operations and map the result; every error is an
//! RFC 9457 problem ([`problem::ApiError`]). The routes are registered
//! through `utoipa-axum`, so the OpenAPI 3.1 document served at
//! `/api/v1/openapi.json` is generated from the very registrations that
//! route requests and cannot drift from them.

pub mod admin;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod problem;
pub mod sessions;
pub mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, Paths};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Where the management API is mounted.
pub const API_PREFIX: &str = "/api/v1";
/// Largest accepted request body: every request here is a small JSON object.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera management API",
        description = "Manage organisations, applications (OAuth clients), their client secrets and users. Sign in with POST /api/v1/sessions and send the token as `Authorization: Bearer <token>`. Errors are RFC 9457 problem details (`application/problem+json`).",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "sessions", description = "Signing in and out"),
        (name = "account", description = "The signed-in user"),
        (name = "applications", description = "Resources, applications and permissions"),
        (name = "secrets", description = "Client secrets and their rotation"),
        (name = "organisations", description = "Registry members (admins)"),
        (name = "users", description = "Admins and credential managers (admins)"),
        (name = "audit", description = "Who did what, when and from where"),
        (name = "meta", description = "This description"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token from POST /api/v1/sessions"))
                    .build(),
            ),
        );
    }
}

/// The serialised OpenAPI document, shared by its handler.
#[derive(Debug, Clone)]
struct OpenApiJson(Arc<String>);

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn get_openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    let mut response = json.as_str().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The routes (relative to [`API_PREFIX`]) and the document describing them
/// (with full paths).
pub fn api() -> (Router<AppState>, OpenApiDoc) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::post_session))
        .routes(routes!(sessions::delete_current_session))
        .routes(routes!(sessions::get_me))
        .routes(routes!(sessions::put_password))
        .routes(routes!(applications::get_resources))
        .routes(routes!(
            applications::list_applications,
            applications::post_application
        ))
        .routes(routes!(applications::get_application))
        .routes(routes!(applications::put_permissions))
        .routes(routes!(applications::post_secret))
        .routes(routes!(applications::delete_secret))
        .routes(routes!(admin::post_organisation, admin::list_organisations))
        .routes(routes!(admin::post_user, admin::list_users))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(get_openapi))
        .split_for_parts();
    let mut paths = Paths::new();
    for (path, item) in std::mem::take(&mut doc.paths.paths) {
        paths.paths.insert(format!("{API_PREFIX}{path}"), item);
    }
    doc.paths = paths;
    (router, doc)
}

/// The OpenAPI document of the management API.
pub fn openapi() -> OpenApiDoc {
    api().1
}

/// The management API, mounted at [`API_PREFIX`]: unknown paths and
/// methods answer problem details too.
pub fn router() -> Router<AppState> {
    let (api, doc) = api();
    let json = doc.to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise the OpenAPI document");
        String::from("{}")
    });
    let api = api
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(Extension(OpenApiJson(Arc::new(json))))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Every answer here is one caller's data, and some carry a session
        // token, a new secret or a new user's password: none is cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new().nest(API_PREFIX, api)
}
