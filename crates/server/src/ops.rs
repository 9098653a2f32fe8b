//! The operations listener: `/metrics`, `/healthz`, `/readyz`. It is
//! separate from the main listener so it can stay off the public network.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// The ops router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(get_healthz))
        .route("/readyz", get(get_readyz))
        .with_state(state)
}

/// `GET /metrics`: Prometheus text format.
async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// `GET /healthz`: the process is up.
async fn get_healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers, so every request can be served.
async fn get_readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.tessera.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
