//! Organisations and users: admins only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tessera_core::ids::OrganisationId;
use tessera_core::user::Role;

use super::applications::field_id;
use super::auth::Admin;
use super::problem::{ApiError, ApiJson, Problem};
use super::views::{
    CreateOrganisationRequest, CreateUserRequest, OrganisationView, UserCreated, UserView,
};
use crate::state::AppState;

/// Create an organisation (admins).
#[utoipa::path(
    post,
    path = "/organisations",
    tag = "organisations",
    security(("bearer" = [])),
    request_body = CreateOrganisationRequest,
    responses(
        (status = 201, body = OrganisationView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or country", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "post_organisation", skip_all)]
pub async fn post_organisation(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CreateOrganisationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let org = state
        .admin
        .create_organisation(&caller.acting, &body.name, &body.country)
        .await?;
    Ok((StatusCode::CREATED, Json(OrganisationView::from(&org))))
}

/// Every organisation (admins).
#[utoipa::path(
    get,
    path = "/organisations",
    tag = "organisations",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OrganisationView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "list_organisations", skip_all)]
pub async fn list_organisations(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Vec<OrganisationView>>, ApiError> {
    let orgs = state.admin.organisations(&caller.acting).await?;
    Ok(Json(orgs.iter().map(OrganisationView::from).collect()))
}

/// Create a user (admins); the initial password and TOTP URI are in this
/// response only.
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created; `password` and `totp_uri` are shown this once", body = UserCreated),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "post_user", skip_all)]
pub async fn post_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let role = Role::parse(&body.role).map_err(|e| ApiError::validation("role", e.to_string()))?;
    let organisation_id: Option<OrganisationId> = body
        .organisation_id
        .as_deref()
        .map(|raw| field_id(raw, "organisation_id"))
        .transpose()?;
    let created = state
        .admin
        .create_user(&caller.acting, &body.email, role, organisation_id)
        .await?;
    let body = UserCreated {
        user: UserView::from(&created.user),
        password: created.password,
        totp_uri: created.totp_uri,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Every user (admins).
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<UserView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "list_users", skip_all)]
pub async fn list_users(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = state.admin.users(&caller.acting).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}
