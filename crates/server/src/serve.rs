//! Accepting connections with bounds no client can stretch: hyper's own
//! HTTP/1 server with a header read timeout (which also ends idle
//! keep-alive connections), half-closed requests answered, at most
//! `max_connections` open at once, and a graceful stop that gives up on
//! connections still open after `shutdown_timeout_seconds`.
//!
//! Request bodies get their read deadline from a tower layer on the router
//! ([`body_deadline`]), so every body extractor meets it.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// `[http]`: what a connection may take of the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// A connection that has not sent a complete request head this long
    /// after it opened, or after its previous answer, is closed.
    pub header_read_timeout_seconds: u64,
    /// A request body not received in full this long after its head is
    /// refused.
    pub body_read_timeout_seconds: u64,
    /// Most connections open at once per listener; further ones wait in
    /// the listen queue.
    pub max_connections: usize,
    /// On stop, connections still open this long after it began are closed.
    pub shutdown_timeout_seconds: u64,
}

/// Wait after a failed accept (such as too many open files) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// `router` with the body read deadline of `settings`.
pub fn body_deadline(router: Router, settings: &HttpSettings) -> Router {
    router.layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
        settings.body_read_timeout_seconds,
    )))
}

/// Serves `router` on `listener` until `stopped` completes, then stops
/// accepting and lets open connections finish their requests, for at most
/// the shutdown timeout. Each request carries its peer's [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    stopped: impl Future<Output = ()>,
) {
    let places = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_read_timeout_seconds))
        .half_close(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut accept_failing = false;
    tokio::pin!(stopped);
    loop {
        let place = tokio::select! {
            () = &mut stopped => break,
            place = places.clone().acquire_owned() => place,
        };
        // The semaphore is never closed.
        let Ok(place) = place else { break };
        let accepted = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                if std::mem::take(&mut accept_failing) {
                    tracing::info!("accepting connections again");
                }
                accepted
            }
            Err(e) => {
                if !std::mem::replace(&mut accept_failing, true) {
                    tracing::warn!(error = %e, "cannot accept connections; retrying");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(place);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let bound = Duration::from_secs(settings.shutdown_timeout_seconds);
    if tokio::time::timeout(bound, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown timeout; closing them"
        );
    }
    connections.shutdown().await;
}
