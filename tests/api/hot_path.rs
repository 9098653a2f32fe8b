//! The token endpoint's hot path: the verified-secret cache and what must
//! get past it at once (deletion, expiry, permission changes), single-flight
//! cold verification, the bounded queue, failure limits, write-behind
//! `last_used_at`, and the metrics that show it.

use crate::helpers::{ServeProcess, TestClient, poll_until, spawn_app, spawn_app_with};
use serde_json::Value;
use std::time::{Duration as StdDuration, Instant};
use tessera_admin::Acting;
use tessera_core::store::prelude::*;
use time::Duration;

const SMS: &str = "search-match-sandbox";
const DMS: &str = "data-manager-sandbox";

async fn status_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Requests a token twice: the second is answered from the cache.
async fn warm(app: &crate::helpers::TestApp, client: &TestClient) {
    app.token_for(client, &[]).await;
    let hits = app
        .metric("tessera_secret_cache_lookups_total", &[("result", "hit")])
        .await;
    app.token_for(client, &[]).await;
    let after = app
        .metric("tessera_secret_cache_lookups_total", &[("result", "hit")])
        .await;
    assert_eq!(after, hits + 1.0, "the second request is a cache hit");
}

#[tokio::test]
async fn repeated_requests_cost_one_argon2_verification() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    for _ in 0..5 {
        app.token_for(&client, &[]).await;
    }
    let verifications = app
        .metric("tessera_argon2_verifications_total", &[("result", "match")])
        .await;
    assert_eq!(verifications, 1.0);
    assert_eq!(
        app.metric("tessera_secret_cache_lookups_total", &[("result", "hit")])
            .await,
        4.0
    );
    assert_eq!(app.metric("tessera_secret_cache_entries", &[]).await, 1.0);
}

#[tokio::test]
async fn a_cached_secret_is_refused_right_after_deletion() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    warm(&app, &client).await;

    app.admin
        .delete_secret(&Acting::cli(), client.client_id, client.secret_id)
        .await
        .unwrap();

    let (status, body) = status_of(app.request_token(&client, &[]).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        app.metric(
            "tessera_secret_cache_invalidations_total",
            &[("source", "local")]
        )
        .await,
        1.0
    );
}

#[tokio::test]
async fn a_cached_secret_deleted_by_another_process_is_refused_within_a_second() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    warm(&app, &client).await;

    // The command line is another process with its own connection.
    let output = app.cli(&[
        "secret",
        "delete",
        "--client-id",
        &client.client_id.to_string(),
        &client.secret_id.to_string(),
    ]);
    assert!(output.status.success());
    poll_until(
        StdDuration::from_secs(1),
        "refused after the deletion",
        || async {
            let status = app.request_token(&client, &[]).await.status();
            assert!(status == 200 || status == 401, "{status}");
            status == 401
        },
    )
    .await;
    assert_eq!(
        app.metric(
            "tessera_secret_cache_invalidations_total",
            &[("source", "change_log")]
        )
        .await,
        1.0
    );
}

#[tokio::test]
async fn a_cached_secret_is_refused_once_it_expires() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let expires_at = app.clock_now() + Duration::minutes(10);
    let (_, value) = app.add_secret(client.client_id, Some(expires_at)).await;
    let short = TestClient {
        client_id: client.client_id,
        secret: value,
        secret_id: client.secret_id,
    };
    warm(&app, &short).await;

    app.clock.advance(Duration::minutes(10));

    let (status, body) = status_of(app.request_token(&short, &[]).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    app.token_for(&client, &[]).await;
}

#[tokio::test]
async fn a_cached_secret_loses_a_removed_permission_at_once() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS, DMS]).await;
    warm(&app, &client).await;
    app.token_for(&client, &[("scope", DMS)]).await;

    app.admin
        .set_permissions(&Acting::cli(), client.client_id, &[SMS])
        .await
        .unwrap();

    let (status, body) = status_of(app.request_token(&client, &[("scope", DMS)]).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
    let body = app.token_for(&client, &[]).await;
    assert_eq!(body["scope"], SMS);
}

#[tokio::test]
async fn deleting_an_application_stops_its_cached_secrets() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    warm(&app, &client).await;

    app.admin
        .delete_application(&Acting::cli(), client.client_id)
        .await
        .unwrap();

    let (status, _) = status_of(app.request_token(&client, &[]).await).await;
    assert_eq!(status, 401);
    assert!(
        app.admin
            .secrets(&Acting::cli(), client.client_id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn fifty_concurrent_cold_requests_share_one_verification() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;

    let requests = (0..50).map(|_| app.request_token(&client, &[]));
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let matched = app
        .metric("tessera_argon2_verifications_total", &[("result", "match")])
        .await;
    let mismatched = app
        .metric(
            "tessera_argon2_verifications_total",
            &[("result", "mismatch")],
        )
        .await;
    assert_eq!((matched, mismatched), (1.0, 0.0));
}

#[tokio::test]
async fn a_full_verification_queue_answers_429_with_retry_after() {
    // One verification at a time, no queue, and a slow hash so that
    // concurrent cold requests find every place taken.
    let app = spawn_app_with(|settings| {
        settings.verification.max_concurrent = 1;
        settings.verification.max_queued = 0;
        settings.argon2.memory_kib = 64 * 1024;
        settings.argon2.iterations = 4;
    })
    .await;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(app.create_client(&[SMS]).await);
    }

    let requests = clients.iter().map(|c| app.request_token(c, &[]));
    let responses = futures::future::join_all(requests).await;

    let mut busy = 0;
    let mut issued = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => issued += 1,
            429 => {
                busy += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(response.headers()["cache-control"], "no-store");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "temporarily_unavailable");
                assert!(body["error_description"].as_str().is_some());
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(issued >= 1, "the admitted request is served");
    assert!(busy >= 1, "the others are refused at once");
    assert_eq!(
        app.metric("tessera_token_requests_total", &[("outcome", "busy")])
            .await,
        f64::from(busy)
    );
}

#[tokio::test]
async fn failures_for_one_client_from_one_address_are_limited_but_its_cached_secret_is_not() {
    let app = spawn_app_with(|settings| {
        settings.verification.max_failures_per_client_address = 3;
        settings.verification.max_failures_per_address = 0;
    })
    .await;
    let client = app.create_client(&[SMS]).await;
    warm(&app, &client).await;
    let id = client.client_id.to_string();
    let wrong = |secret: &'static str| {
        app.post_token(
            &[("grant_type", "client_credentials")],
            Some((id.as_str(), secret)),
        )
    };

    for _ in 0..3 {
        assert_eq!(wrong("not-the-secret").await.status(), 401);
    }
    let limited = wrong("not-the-secret").await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // The real client, answered from the cache, is not held back.
    app.token_for(&client, &[]).await;

    // The window ends.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(wrong("not-the-secret").await.status(), 401);
}

#[tokio::test]
async fn failures_from_one_address_are_limited() {
    let app = spawn_app_with(|settings| {
        settings.verification.max_failures_per_client_address = 0;
        settings.verification.max_failures_per_address = 5;
    })
    .await;
    for _ in 0..5 {
        let id = tessera_core::ids::ClientId::generate().to_string();
        let response = app
            .post_token(
                &[("grant_type", "client_credentials")],
                Some((&id, "guess")),
            )
            .await;
        assert_eq!(response.status(), 401);
    }
    let id = tessera_core::ids::ClientId::generate().to_string();
    let response = app
        .post_token(
            &[("grant_type", "client_credentials")],
            Some((&id, "guess")),
        )
        .await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        app.metric(
            "tessera_token_requests_total",
            &[("outcome", "rate_limited")]
        )
        .await,
        1.0
    );
}

#[tokio::test]
async fn last_used_at_is_written_behind_in_batches() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    for _ in 0..20 {
        app.token_for(&client, &[]).await;
    }
    let at = app
        .wait_for_last_used(client.client_id, client.secret_id)
        .await;
    assert_eq!(at.unix_timestamp(), app.clock_now().unix_timestamp());
    // Twenty uses, one pending entry: a handful of batched writes at most.
    let flushes = app
        .metric("tessera_last_used_flushes_total", &[("result", "ok")])
        .await;
    assert!((1.0..=3.0).contains(&flushes), "{flushes} flushes");
}

#[tokio::test]
async fn last_used_at_is_written_on_graceful_shutdown() {
    let mut app = spawn_app_with(|settings| settings.usage.flush_interval_seconds = 3600).await;
    let client = app.create_client(&[SMS]).await;
    app.token_for(&client, &[]).await;
    let store = app.open_store().await;
    let before = store.secrets(client.client_id).await.unwrap();
    assert_eq!(before[0].last_used_at, None, "not written yet");

    app.stop().await;

    let after = store.secrets(client.client_id).await.unwrap();
    assert_eq!(
        after[0].last_used_at.map(|t| t.unix_timestamp()),
        Some(app.clock_now().unix_timestamp())
    );
    store.close().await;
}

#[tokio::test]
async fn every_metric_is_exported_from_start_and_parses() {
    let app = spawn_app().await;
    for (name, labels) in [
        ("tessera_token_requests_total", &[("outcome", "issued")][..]),
        ("tessera_token_requests_total", &[("outcome", "busy")]),
        (
            "tessera_token_requests_total",
            &[("outcome", "rate_limited")],
        ),
        ("tessera_secret_cache_lookups_total", &[("result", "hit")]),
        ("tessera_secret_cache_lookups_total", &[("result", "miss")]),
        ("tessera_argon2_verifications_total", &[("result", "match")]),
        ("tessera_secret_cache_entries", &[]),
        ("tessera_argon2_queue", &[]),
        ("tessera_last_used_flushes_total", &[("result", "ok")]),
    ] {
        assert_eq!(app.metric(name, labels).await, 0.0, "{name}{labels:?}");
    }
    for status in ["active", "expiring_soon", "expired"] {
        app.metric("tessera_secrets", &[("status", status)]).await;
    }
}

#[tokio::test]
async fn secrets_are_counted_by_status() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    app.add_secret(client.client_id, Some(app.clock_now() + Duration::days(10)))
        .await;
    let mut app = app;
    // The gauge is computed at start and then once a minute; a restart on
    // the same database shows the counts without waiting.
    app.stop().await;
    let restarted = crate::helpers::spawn_app_on(&app).await;
    let deadline = Instant::now() + StdDuration::from_secs(5);
    loop {
        let active = restarted
            .metric("tessera_secrets", &[("status", "active")])
            .await;
        let soon = restarted
            .metric("tessera_secrets", &[("status", "expiring_soon")])
            .await;
        if (active, soon) == (1.0, 1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "active {active}, soon {soon}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_stops_the_binary_gracefully_and_writes_pending_uses() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let mut server =
        ServeProcess::start_on(&app, &[("TESSERA_USAGE__FLUSH_INTERVAL_SECONDS", "3600")]).await;
    let id = client.client_id.to_string();
    assert_eq!(
        server
            .token_status(&app.client, &id, &client.secret, None)
            .await,
        200
    );

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let store = app.open_store().await;
    let secrets = store.secrets(client.client_id).await.unwrap();
    assert!(
        secrets[0].last_used_at.is_some(),
        "the pending use was written on shutdown"
    );
    store.close().await;
}
