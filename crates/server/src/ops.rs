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

use tessera_token::outage::FailureLog;

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

/// `GET /healthz`: the process is up (always 200), with the database's
/// state on a second line: `database: up` or `database: down`.
async fn get_healthz(State(state): State<AppState>) -> String {
    let database = match state.ops_store.ping().await {
        Ok(()) => "up",
        Err(_) => "down",
    };
    format!("ok\ndatabase: {database}\n")
}

/// The replica's state, as `/readyz` and the gauges report it.
enum Readiness {
    /// The database answers: every request can be served.
    Ready,
    /// The database does not answer, but cached clients get tokens until
    /// this instant (unix seconds).
    Degraded(i64),
    /// Neither: nothing can be served.
    Unavailable,
}

/// Checks the database and the trust window, and sets the gauges.
async fn readiness(state: &AppState) -> Readiness {
    let reached = state.ops_store.ping().await.is_ok();
    let now = state.admin.clock().now().unix_timestamp();
    let trusted_until = state.token.serves_cached_clients_until();
    let readiness = match (reached, trusted_until > now) {
        (true, _) => Readiness::Ready,
        (false, true) => Readiness::Degraded(trusted_until),
        (false, false) => Readiness::Unavailable,
    };
    state.metrics.database_up.set(i64::from(reached));
    state
        .metrics
        .degraded
        .set(i64::from(matches!(readiness, Readiness::Degraded(_))));
    readiness
}

/// `GET /readyz`: 200 while the replica can serve: `ready`, or `degraded`
/// while the database is unreachable but cached clients are still served
/// (so a load balancer keeps every replica during an outage); 503 once
/// nothing can be served.
async fn get_readyz(State(state): State<AppState>) -> impl IntoResponse {
    match readiness(&state).await {
        Readiness::Ready => (StatusCode::OK, "ready\n".to_owned()),
        Readiness::Degraded(until) => {
            let until = time::OffsetDateTime::from_unix_timestamp(until)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            (
                StatusCode::OK,
                format!(
                    "degraded: the database is unreachable; cached clients are served until {until}\n"
                ),
            )
        }
        Readiness::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable: the database is unreachable and the cache is no longer trusted\n"
                .to_owned(),
        ),
    }
}

/// Every second until `stopped`: checks the database and the trust window
/// for the gauges, and logs the database going away and coming back, once
/// each.
pub async fn watch_database(state: AppState, stopped: impl Future<Output = ()>) {
    tokio::pin!(stopped);
    let mut failures = FailureLog::new("reach the database");
    loop {
        failures.record(&state.ops_store.ping().await);
        readiness(&state).await;
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(WATCH_INTERVAL) => {}
        }
    }
}

const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Once a minute until `stopped`: counts stored secrets by status for the
/// `tessera_secrets` gauge. Idempotent, so every replica may do it.
pub async fn count_secrets(state: AppState, stopped: impl Future<Output = ()>) {
    tokio::pin!(stopped);
    let mut failures = FailureLog::new("count secrets");
    loop {
        let now = state.admin.clock().now();
        let counted = state.ops_store.secret_counts(now).await;
        failures.record(&counted);
        if let Ok(counts) = counted {
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
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(COUNT_INTERVAL) => {}
        }
    }
}

const COUNT_INTERVAL: Duration = Duration::from_secs(60);
