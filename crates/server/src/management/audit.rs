//! Reading the audit log.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use tessera_core::audit::DEFAULT_AUDIT_PAGE;
use tessera_core::ids::OrganisationId;
use utoipa::IntoParams;

use super::applications::{field_id, query_problem};
use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::views::{AuditEventView, AuditPage};
use crate::state::AppState;

/// `GET /api/v1/audit-events` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditEventsQuery {
    /// At most this many events (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Only events with a smaller id: the previous page's `next_before`.
    pub before: Option<i64>,
    /// Admins only: one organisation's events.
    pub organisation_id: Option<String>,
}

/// Who did what, when and from where, newest first: every event for
/// admins, their organisation's for credential managers.
#[utoipa::path(
    get,
    path = "/audit-events",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditEventsQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(name = "list_audit_events", skip_all)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditEventsQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(query) = query.map_err(query_problem)?;
    // The use case keeps a credential manager to their own organisation,
    // whatever this filter asks.
    let organisation_id: Option<OrganisationId> = query
        .organisation_id
        .as_deref()
        .map(|raw| field_id(raw, "organisation_id"))
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    let events = state
        .admin
        .audit_events(&caller.acting, organisation_id, query.before, limit)
        .await?;
    let next_before = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        events: events.iter().map(AuditEventView::from).collect(),
        next_before,
    }))
}
