//! Several servers on one database: changes reach every replica's cache
//! within a second, first starts agree on one signing key, and a database
//! outage leaves cached clients served and everything else refused with
//! 503 until the database returns.

use crate::helpers::{
    ServeProcess, TestApp, TestClient, poll_until, spawn_app, spawn_app_on_with, spawn_app_with,
};
use serde_json::Value;
use std::time::{Duration as StdDuration, Instant};
use tessera_admin::Acting;
use time::Duration;

const SMS: &str = "search-match-sandbox";
const DMS: &str = "data-manager-sandbox";

/// Requests tokens from `app` until the answer has `status`, returning how
/// long that took; fails after two seconds.
async fn time_until(
    app: &TestApp,
    client: &TestClient,
    extra: &[(&str, &str)],
    status: u16,
) -> StdDuration {
    poll_until(StdDuration::from_secs(2), "token status", || async {
        app.request_token(client, extra).await.status() == status
    })
    .await
}

#[tokio::test]
async fn a_secret_deleted_through_one_replica_is_refused_by_another_within_a_second() {
    let a = spawn_app().await;
    // Replica B reads the change log at the default interval.
    let b = spawn_app_on_with(&a, |s| s.cache.sync_interval_milliseconds = 250).await;
    let mut worst = StdDuration::ZERO;
    for _ in 0..50 {
        let client = a.create_client(&[SMS]).await;
        b.token_for(&client, &[]).await;
        b.token_for(&client, &[]).await;

        a.admin
            .delete_secret(&Acting::cli(), client.client_id, client.secret_id)
            .await
            .unwrap();
        worst = worst.max(time_until(&b, &client, &[], 401).await);
    }
    eprintln!("deletion reached the other replica within {worst:?} (worst of 50)");
    assert!(worst < StdDuration::from_secs(1), "{worst:?}");
}

#[tokio::test]
async fn a_permission_removed_through_one_replica_is_refused_by_another_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_app_on_with(&a, |s| s.cache.sync_interval_milliseconds = 250).await;
    let mut worst = StdDuration::ZERO;
    for _ in 0..10 {
        let client = a.create_client(&[SMS, DMS]).await;
        b.token_for(&client, &[("scope", DMS)]).await;

        a.admin
            .set_permissions(&Acting::cli(), client.client_id, &[SMS])
            .await
            .unwrap();
        worst = worst.max(time_until(&b, &client, &[("scope", DMS)], 400).await);
    }
    eprintln!("permission change reached the other replica within {worst:?} (worst of 10)");
    assert!(worst < StdDuration::from_secs(1), "{worst:?}");
}

/// Runs SQL on the PostgreSQL server of `app`'s database.
async fn admin(app: &TestApp, sql: &str) {
    use sqlx::Connection as _;
    let (server, _) = app.database.postgres().unwrap();
    let mut conn = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

/// Refuses new connections to `app`'s database and ends the open ones.
async fn cut_database(app: &TestApp) {
    let (_, name) = app.database.postgres().unwrap();
    admin(
        app,
        &format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#),
    )
    .await;
    admin(
        app,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
}

async fn restore_database(app: &TestApp) {
    let (_, name) = app.database.postgres().unwrap();
    admin(
        app,
        &format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#),
    )
    .await;
}

/// `/readyz`: its status and the first word of its body.
async fn ready(app: &TestApp) -> (u16, String) {
    let response = app
        .client
        .get(format!("{}/readyz", app.ops_address))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let word = body
        .split([':', '\n'])
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, word)
}

/// A server on PostgreSQL (the outage is made there) that waits at most a
/// second for a connection and trusts its cache `trust` seconds without the
/// database; `None`, with a note, on SQLite.
async fn outage_app(trust: u64) -> Option<TestApp> {
    let app = spawn_app_with(|s| {
        s.database.acquire_timeout_seconds = 1;
        s.cache.trust_without_database_seconds = trust;
    })
    .await;
    if app.database.postgres().is_none() {
        eprintln!("note: the outage tests need PostgreSQL (TESSERA_TEST_POSTGRES_URL); skipped");
        return None;
    }
    Some(app)
}

#[tokio::test]
async fn during_a_database_outage_cached_clients_get_tokens_and_others_get_503() {
    let Some(app) = outage_app(300).await else {
        return;
    };
    let cached = app.create_client(&[SMS]).await;
    let uncached = app.create_client(&[SMS]).await;
    app.token_for(&cached, &[]).await;
    app.wait_for_last_used(cached.client_id, cached.secret_id)
        .await;
    let org = app.create_org().await;
    let manager = app
        .create_user(tessera_core::user::Role::CredentialManager, Some(org))
        .await;
    let session = app.login(&manager).await;

    cut_database(&app).await;
    app.clock.advance(Duration::seconds(30));

    // Cached: still served, from memory.
    for _ in 0..3 {
        app.token_for(&cached, &[]).await;
    }
    // Anything needing the database: 503 with Retry-After, quickly.
    let response = app.request_token(&uncached, &[]).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Still ready, so load balancers keep sending partners here.
    assert_eq!(ready(&app).await, (200, "degraded".to_owned()));
    // The management API needs the database too.
    let response = app.api_get("/api/v1/me", Some(&session)).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));

    restore_database(&app).await;

    // Recovery without a restart.
    let started = Instant::now();
    while ready(&app).await != (200, "ready".to_owned()) {
        assert!(started.elapsed() < StdDuration::from_secs(10));
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    app.token_for(&uncached, &[]).await;
    // The uses accepted during the outage are written, none lost.
    let store = app.open_store().await;
    let deadline = Instant::now() + StdDuration::from_secs(5);
    loop {
        use tessera_core::store::prelude::*;
        let secrets = store.secrets(cached.client_id).await.unwrap();
        if secrets[0].last_used_at.map(|t| t.unix_timestamp())
            == Some(app.clock_now().unix_timestamp())
        {
            break;
        }
        assert!(Instant::now() < deadline, "outage uses not written");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    store.close().await;
}

#[tokio::test]
async fn cached_clients_are_trusted_only_for_the_configured_outage_window() {
    let Some(app) = outage_app(60).await else {
        return;
    };
    let cached = app.create_client(&[SMS]).await;
    app.token_for(&cached, &[]).await;

    cut_database(&app).await;
    app.token_for(&cached, &[]).await;
    app.clock.advance(Duration::seconds(61));
    let response = app.request_token(&cached, &[]).await;
    assert_eq!(
        response.status(),
        503,
        "no longer trusted without the database"
    );
    assert_eq!(ready(&app).await, (503, "unavailable".to_owned()));

    restore_database(&app).await;
    let started = Instant::now();
    loop {
        if app.request_token(&cached, &[]).await.status() == 200 {
            break;
        }
        assert!(started.elapsed() < StdDuration::from_secs(10));
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn replicas_starting_together_on_an_empty_database_share_one_key() {
    let first = spawn_app().await;
    if first.database.postgres().is_none() {
        eprintln!(
            "note: the concurrent-start test needs PostgreSQL (TESSERA_TEST_POSTGRES_URL); skipped"
        );
        return;
    }
    // A fresh database, and two real processes started at once on it with
    // one shared (empty) key folder.
    let (server, _) = first.database.postgres().unwrap();
    let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
    admin(&first, &format!(r#"CREATE DATABASE "{name}""#)).await;
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    let url = format!("{base}/{name}");
    let keys = first.dir.path().join("shared-keys");
    let servers: Vec<ServeProcess> = (0..2)
        .map(|_| ServeProcess::spawn(first.dir.path(), &url, &keys, &[]))
        .collect();

    let mut kids = Vec::new();
    for server in &servers {
        server.wait_ready(&first.client).await;
        let jwks: Value = first
            .client
            .get(format!("{}/.well-known/jwks.json", server.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let set: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        kids.push(set);
    }
    drop(servers);
    admin(&first, &format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#)).await;
    assert_eq!(kids[0].len(), 1, "{kids:?}");
    assert_eq!(kids[0], kids[1], "both replicas publish the same one key");
    let files = std::fs::read_dir(&keys).unwrap().count();
    assert_eq!(files, 1, "one key was generated, not one per replica");
}

/// A replica for the propagation test: every deleted secret it is polled
/// with ends in a failure, and the test measures propagation, not the
/// failure limits.
async fn replica(app: &TestApp) -> ServeProcess {
    ServeProcess::start_on(
        app,
        &[
            ("TESSERA_REMINDERS__ENABLED", "false"),
            ("TESSERA_VERIFICATION__MAX_FAILURES_PER_CLIENT_ADDRESS", "0"),
            ("TESSERA_VERIFICATION__MAX_FAILURES_PER_ADDRESS", "0"),
        ],
    )
    .await
}

/// Polls `server` until the token request answers `status`; the time it took.
async fn server_time_until(
    app: &TestApp,
    server: &ServeProcess,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
    status: u16,
) -> StdDuration {
    poll_until(StdDuration::from_secs(2), "token status", || async {
        server
            .token_status(&app.client, client_id, secret, scope)
            .await
            == status
    })
    .await
}

#[tokio::test]
async fn two_serve_processes_apply_changes_made_through_the_other_within_a_second() {
    let app = spawn_app().await;
    let (a, b) = (replica(&app).await, replica(&app).await);
    let client = app.create_client(&[SMS, DMS]).await;
    let client_id = client.client_id.to_string();
    let org = app
        .admin
        .application(&Acting::cli(), client.client_id)
        .await
        .unwrap()
        .organisation_id;
    let manager = app
        .create_user(tessera_core::user::Role::CredentialManager, Some(org))
        .await;
    let admin = app.create_user(tessera_core::user::Role::Admin, None).await;
    let manager_session = a.login(&app.client, &manager).await;

    // Secrets created and deleted through replica A's API; replica B has
    // each one cached when it is deleted.
    let mut worst = StdDuration::ZERO;
    for _ in 0..50 {
        let created: Value = app
            .client
            .post(format!(
                "{}/api/v1/applications/{client_id}/secrets",
                a.address
            ))
            .bearer_auth(&manager_session)
            .json(&serde_json::json!({"name": "Rotation"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = created["secret"].as_str().unwrap();
        let id = created["id"].as_str().unwrap();
        assert_eq!(
            b.token_status(&app.client, &client_id, secret, None).await,
            200
        );
        assert_eq!(
            b.token_status(&app.client, &client_id, secret, None).await,
            200
        );

        let deleted = app
            .client
            .delete(format!(
                "{}/api/v1/applications/{client_id}/secrets/{id}",
                a.address
            ))
            .bearer_auth(&manager_session)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        worst = worst.max(server_time_until(&app, &b, &client_id, secret, None, 401).await);
    }
    eprintln!(
        "two processes: a deletion through A was refused by B within {worst:?} (worst of 50)"
    );
    assert!(worst < StdDuration::from_secs(1), "{worst:?}");

    // A permission removed through A's API.
    let admin_session = a.login(&app.client, &admin).await;
    assert_eq!(
        b.token_status(&app.client, &client_id, &client.secret, Some(DMS))
            .await,
        200
    );
    let changed = app
        .client
        .put(format!(
            "{}/api/v1/applications/{client_id}/permissions",
            a.address
        ))
        .bearer_auth(&admin_session)
        .json(&serde_json::json!({"permissions": [SMS]}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let took = server_time_until(&app, &b, &client_id, &client.secret, Some(DMS), 400).await;
    eprintln!("two processes: a permission removed through A was refused by B within {took:?}");
    assert!(took < StdDuration::from_secs(1));
}
