//! The operations listener: `/metrics`, `/healthz`, `/readyz`. It is
//! separate from the main listener so it can stay off the public network.
//! Also the gauges operators watch that no request path keeps.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::future::Future;
use std::time::Duration;
use tessera_core::secret::SecretStatus;

use crate::metrics::count;
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
    match state.ops_store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

/// Once a minute until `stopped`: counts stored secrets by status for the
/// `tessera_secrets` gauge. Idempotent, so every replica may do it.
pub async fn count_secrets(state: AppState, stopped: impl Future<Output = ()>) {
    tokio::pin!(stopped);
    loop {
        let now = state.admin.clock().now();
        match state.ops_store.secret_counts(now).await {
            Ok(counts) => {
                for (status, n) in [
                    (SecretStatus::Active, counts.active),
                    (SecretStatus::ExpiringSoon, counts.expiring_soon),
                    (SecretStatus::Expired, counts.expired),
                ] {
                    state
                        .metrics
                        .secrets
                        .with_label_values(&[status.as_str()])
                        .set(count(usize::try_from(n).unwrap_or(usize::MAX)));
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not count secrets"),
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(COUNT_INTERVAL) => {}
        }
    }
}

const COUNT_INTERVAL: Duration = Duration::from_secs(60);
