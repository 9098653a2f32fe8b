//! The resource catalog, applications, their permissions and their secrets.
//!
//! A credential manager sees only their organisation's applications;
//! another organisation's answers 404, exactly as one that does not exist.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::application::{Application, ApplicationKind};
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::secret::EXPIRING_SOON;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use super::auth::{Admin, Caller};
use super::problem::{ApiError, ApiJson, Problem};
use super::views::{
    ApplicationDetail, ApplicationView, ConfirmationView, CreateApplicationRequest,
    CreateSecretRequest, PermissionsChanged, ResourceView, SecretCreated, SecretView,
    SetPermissionsRequest,
};
use crate::state::AppState;

/// Parses a path segment; anything unparsable names nothing that exists.
pub(crate) fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// Parses an id given in a body or query.
pub(crate) fn field_id<T: std::str::FromStr>(
    raw: &str,
    field: &'static str,
) -> Result<T, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::validation(field, format!("{field} must be a UUID")))
}

pub(crate) fn query_problem(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

pub(crate) fn path_problem(_: PathRejection) -> ApiError {
    ApiError::not_found("resource")
}

/// The application `client_id` names, if the caller may see it.
pub(crate) async fn visible_application(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<Application, ApiError> {
    let client_id: ClientId = path_id(raw, "application")?;
    Ok(state.admin.application(&caller.acting, client_id).await?)
}

/// The resource catalog.
#[utoipa::path(
    get,
    path = "/resources",
    tag = "applications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ResourceView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "get_resources", skip_all)]
pub async fn get_resources(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<Vec<ResourceView>> {
    Json(
        state
            .admin
            .catalog()
            .iter()
            .map(ResourceView::from)
            .collect(),
    )
}

/// `GET /api/v1/applications` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListApplicationsQuery {
    /// Admins only: one organisation's applications.
    pub organisation_id: Option<String>,
}

/// The applications the caller may see: their organisation's, or, for
/// admins, every one (or one organisation's with `organisation_id`).
#[utoipa::path(
    get,
    path = "/applications",
    tag = "applications",
    security(("bearer" = [])),
    params(ListApplicationsQuery),
    responses(
        (status = 200, body = Vec<ApplicationView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "list_applications", skip_all)]
pub async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListApplicationsQuery>, QueryRejection>,
) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    let Query(query) = query.map_err(query_problem)?;
    // The use case keeps a credential manager to their own organisation,
    // whatever this filter asks.
    let filter: Option<OrganisationId> = query
        .organisation_id
        .as_deref()
        .map(|raw| field_id(raw, "organisation_id"))
        .transpose()?;
    let apps = state.admin.applications(&caller.acting, filter).await?;
    Ok(Json(apps.iter().map(ApplicationView::from).collect()))
}

/// One application with its secrets' metadata.
#[utoipa::path(
    get,
    path = "/applications/{client_id}",
    tag = "applications",
    security(("bearer" = [])),
    params(("client_id" = uuid::Uuid, Path, description = "The application's client_id")),
    responses(
        (status = 200, body = ApplicationDetail),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or another organisation's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "get_application", skip_all)]
pub async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    let Path(raw) = path.map_err(path_problem)?;
    let app = visible_application(&state, &caller, &raw).await?;
    let now = state.admin.clock().now();
    let secrets = state.admin.secrets(&caller.acting, app.client_id).await?;
    Ok(Json(ApplicationDetail {
        application: ApplicationView::from(&app),
        secrets: secrets.iter().map(|s| SecretView::of(s, now)).collect(),
    }))
}

/// Create an application (admins).
#[utoipa::path(
    post,
    path = "/applications",
    tag = "applications",
    security(("bearer" = [])),
    request_body = CreateApplicationRequest,
    responses(
        (status = 201, body = ApplicationView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The derived name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field (a resource server given permissions among them)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "post_application", skip_all)]
pub async fn post_application(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CreateApplicationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let organisation_id: OrganisationId = field_id(&body.organisation_id, "organisation_id")?;
    let kind = match body.kind.as_deref() {
        None => ApplicationKind::Partner,
        Some(k) => {
            ApplicationKind::parse(k).map_err(|e| ApiError::validation("kind", e.to_string()))?
        }
    };
    let app = state
        .admin
        .create_application(
            &caller.acting,
            organisation_id,
            &body.api,
            kind,
            &body.permissions,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ApplicationView::from(&app))))
}

/// Replace an application's permissions (admins). The answer comes once
/// every live replica applied the change, or after `[replicas]
/// confirm_wait_milliseconds`; `confirmation` names the replicas that had
/// not, with the instant each stops on its own.
#[utoipa::path(
    put,
    path = "/applications/{client_id}/permissions",
    tag = "applications",
    security(("bearer" = [])),
    params(("client_id" = uuid::Uuid, Path, description = "The application's client_id")),
    request_body = SetPermissionsRequest,
    responses(
        (status = 200, description = "Replaced", body = PermissionsChanged),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown resource, or a partner-alternative application asked for more than match-connect-sandbox", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "put_permissions", skip_all)]
pub async fn put_permissions(
    State(state): State<AppState>,
    Admin(caller): Admin,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<SetPermissionsRequest>,
) -> Result<Json<PermissionsChanged>, ApiError> {
    let Path(raw) = path.map_err(path_problem)?;
    let client_id: ClientId = path_id(&raw, "application")?;
    let (app, confirmation) = state
        .admin
        .set_permissions(&caller.acting, client_id, &body.permissions)
        .await?;
    Ok(Json(PermissionsChanged {
        application: ApplicationView::from(&app),
        confirmation: ConfirmationView::from(&confirmation),
    }))
}

/// Create a secret; its value is in this response only.
#[utoipa::path(
    post,
    path = "/applications/{client_id}/secrets",
    tag = "secrets",
    security(("bearer" = [])),
    params(("client_id" = uuid::Uuid, Path, description = "The application's client_id")),
    request_body = CreateSecretRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = SecretCreated),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or another organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application already holds 5 secrets", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or expires_at", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "post_secret", skip_all)]
pub async fn post_secret(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<CreateSecretRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(raw) = path.map_err(path_problem)?;
    let app = visible_application(&state, &caller, &raw).await?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|s| {
            OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| {
                ApiError::validation(
                    "expires_at",
                    "expires_at must be an RFC 3339 instant, such as 2027-01-31T00:00:00Z",
                )
            })
        })
        .transpose()?;
    let created = state
        .admin
        .create_secret(&caller.acting, app.client_id, &body.name, expires_at)
        .await?;
    let now = state.admin.clock().now();
    let advice = created.short_lifetime.then(short_lifetime_advice);
    let body = SecretCreated {
        metadata: SecretView::of(&created.record, now),
        secret: created.secret.expose().to_owned().into(),
        advice,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Delete a secret: token requests with it are refused from now on. The
/// answer comes once every live replica refuses it (`204`), or after
/// `[replicas] confirm_wait_milliseconds` with the replicas that did not
/// confirm, each with the instant it stops on its own (`202`).
#[utoipa::path(
    delete,
    path = "/applications/{client_id}/secrets/{secret_id}",
    tag = "secrets",
    security(("bearer" = [])),
    params(
        ("client_id" = uuid::Uuid, Path, description = "The application's client_id"),
        ("secret_id" = uuid::Uuid, Path, description = "The secret's id"),
    ),
    responses(
        (status = 204, description = "Deleted, and every live replica refuses it"),
        (status = 202, description = "Deleted; some replicas had not confirmed in time and are named, each with the latest instant it stops accepting the secret", body = ConfirmationView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application or secret, or another organisation's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "delete_secret", skip_all)]
pub async fn delete_secret(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((raw_client, raw_secret)) = path.map_err(path_problem)?;
    let client_id: ClientId = path_id(&raw_client, "application")?;
    let secret_id: SecretId = path_id(&raw_secret, "secret")?;
    let confirmation = state
        .admin
        .delete_secret(&caller.acting, client_id, secret_id)
        .await?;
    Ok(if confirmation.is_complete() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::ACCEPTED,
            Json(ConfirmationView::from(&confirmation)),
        )
            .into_response()
    })
}

/// The advice given with a secret that lives less than 30 days.
pub(crate) fn short_lifetime_advice() -> String {
    format!(
        "this secret lives less than {} days; one year is recommended",
        EXPIRING_SOON.whole_days()
    )
}
