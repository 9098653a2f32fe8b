//! Signing in and out, and the signed-in user's own account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::auth::{Caller, ClientAddress};
use super::problem::{ApiError, ApiJson, Problem};
use super::views::{
    ChangePasswordRequest, CreateSessionRequest, MeView, OrganisationView, SessionCreated, UserView,
};
use crate::state::AppState;

/// Sign in with email, password and TOTP code.
#[utoipa::path(
    post,
    path = "/sessions",
    tag = "sessions",
    request_body = CreateSessionRequest,
    responses(
        (status = 201, description = "Signed in; the token is shown this once", body = SessionCreated),
        (status = 401, description = "Invalid email, password or code (the same answer for every cause, a locked account included)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "post_session", skip_all)]
pub async fn post_session(
    State(state): State<AppState>,
    ClientAddress(client_address): ClientAddress,
    ApiJson(body): ApiJson<CreateSessionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let signed_in = state
        .admin
        .sign_in(&body.email, body.password, &body.totp_code, client_address)
        .await?;
    let body = SessionCreated {
        token: signed_in.token.expose().to_owned().into(),
        expires_at: signed_in.expires_at,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Sign out: the token stops working at once.
#[utoipa::path(
    delete,
    path = "/sessions/current",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "delete_current_session", skip_all)]
pub async fn delete_current_session(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .sign_out(&caller.acting, &caller.session)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user, their role and organisation.
#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "get_me", skip_all)]
pub async fn get_me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MeView>, ApiError> {
    let organisation = match caller.user.organisation_id {
        Some(id) => Some(OrganisationView::from(
            &state.admin.organisation(&caller.acting, id).await?,
        )),
        None => None,
    };
    Ok(Json(MeView {
        user: UserView::from(&caller.user),
        organisation,
        session_expires_at: state.admin.session_policy().expires_at(&caller.session),
    }))
}

/// Change one's own password; the user's other sessions end.
#[utoipa::path(
    put,
    path = "/me/password",
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password, or the new one is too short", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "put_password", skip_all)]
pub async fn put_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .change_password(
            &caller.acting,
            &caller.session,
            body.current_password,
            body.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
