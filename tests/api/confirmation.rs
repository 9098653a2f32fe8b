//! A deletion is answered only once every live replica refuses what it
//! took away: through another replica's API, through the command line in
//! another process, and against cold verifications already running. A
//! replica that cannot confirm is named in the answer with the instant it
//! stops on its own, and the answer still comes within the bounded wait.

use crate::helpers::{ServeProcess, TestApp, spawn_app, spawn_app_with};
use serde_json::Value;
use std::time::{Duration as StdDuration, Instant};
use tessera_admin::Acting;
use tessera_core::user::Role;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SMS: &str = "search-match-sandbox";

/// A `tessera serve` on `app`'s database, failure limits off (deleted
/// secrets are presented on purpose), waiting at most `wait_ms` for the
/// other replicas when it deletes.
async fn replica(app: &TestApp, wait_ms: &str) -> ServeProcess {
    ServeProcess::start_on(
        app,
        &[
            ("TESSERA_REMINDERS__ENABLED", "false"),
            ("TESSERA_VERIFICATION__MAX_FAILURES_PER_CLIENT_ADDRESS", "0"),
            ("TESSERA_VERIFICATION__MAX_FAILURES_PER_ADDRESS", "0"),
            ("TESSERA_REPLICAS__CONFIRM_WAIT_MILLISECONDS", wait_ms),
        ],
    )
    .await
}

/// A secret created through `server`'s API: (id, value).
async fn create_secret(
    app: &TestApp,
    server: &ServeProcess,
    session: &str,
    client_id: &str,
) -> (String, String) {
    let created: Value = app
        .client
        .post(format!(
            "{}/api/v1/applications/{client_id}/secrets",
            server.address
        ))
        .bearer_auth(session)
        .json(&serde_json::json!({"name": "Rotation"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Deletes a secret through `server`'s API.
async fn delete_secret(
    app: &TestApp,
    server: &ServeProcess,
    session: &str,
    client_id: &str,
    id: &str,
) -> reqwest::Response {
    app.client
        .delete(format!(
            "{}/api/v1/applications/{client_id}/secrets/{id}",
            server.address
        ))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
}

/// A manager of a fresh client's organisation, signed in through `server`.
async fn managed_client(app: &TestApp, server: &ServeProcess) -> (String, String) {
    let client = app.create_client(&[SMS]).await;
    let org = app.organisation_of(client.client_id).await;
    let manager = app.create_user(Role::CredentialManager, Some(org)).await;
    (
        client.client_id.to_string(),
        server.login(&app.client, &manager).await,
    )
}

#[tokio::test]
async fn a_deletion_through_one_replica_is_refused_by_another_before_its_answer_arrives() {
    let app = spawn_app().await;
    let (a, b) = (replica(&app, "3000").await, replica(&app, "3000").await);
    let (client_id, session) = managed_client(&app, &a).await;

    for round in 0..200 {
        let (id, secret) = create_secret(&app, &a, &session, &client_id).await;
        // B holds the secret in its cache when it is deleted.
        for _ in 0..2 {
            assert_eq!(
                b.token_status(&app.client, &client_id, &secret, None).await,
                200
            );
        }
        let deleted = delete_secret(&app, &a, &session, &client_id, &id).await;
        assert_eq!(
            deleted.status(),
            204,
            "round {round}: every replica confirmed"
        );
        assert_eq!(
            b.token_status(&app.client, &client_id, &secret, None).await,
            401,
            "round {round}: B still accepted the secret after A's answer"
        );
    }
}

/// Sends SIGSTOP or SIGCONT to `server`.
fn signal(server: &ServeProcess, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The one unconfirmed replica of a `202` answer, which must be `server`.
fn unconfirmed_entry(body: &Value, server: &ServeProcess) -> Value {
    assert_eq!(body["confirmed"], false, "{body}");
    let unconfirmed = body["unconfirmed"].as_array().unwrap();
    assert_eq!(unconfirmed.len(), 1, "{body}");
    let entry = unconfirmed[0].clone();
    assert_eq!(
        format!("http://{}", entry["address"].as_str().unwrap()),
        server.address,
        "{body}"
    );
    entry
}

#[tokio::test]
async fn a_stopped_replica_is_named_with_its_deadline_and_the_answer_still_comes_in_time() {
    let app = spawn_app().await;
    let a = replica(&app, "1000").await;
    let b = replica(&app, "1000").await;
    let (client_id, session) = managed_client(&app, &a).await;
    let (first, secret) = create_secret(&app, &a, &session, &client_id).await;
    let (second, _) = create_secret(&app, &a, &session, &client_id).await;
    assert_eq!(
        b.token_status(&app.client, &client_id, &secret, None).await,
        200
    );

    signal(&b, "-STOP");
    let stopped_at = tessera_core::Clock::now(&tessera_core::SystemClock);

    // B's heartbeat is still fresh: it is waited for, for the bounded wait.
    let started = Instant::now();
    let deleted = delete_secret(&app, &a, &session, &client_id, &first).await;
    let took = started.elapsed();
    assert_eq!(deleted.status(), 202);
    let body: Value = deleted.json().await.unwrap();
    let entry = unconfirmed_entry(&body, &b);
    assert_eq!(entry["heartbeat_lapsed"], false, "{body}");
    assert!(
        took >= StdDuration::from_millis(900) && took < StdDuration::from_millis(2500),
        "answered after {took:?}, the wait is 1 s"
    );
    // Its deadline: its trust window (300 s by default) from its last
    // heartbeat, which came before it was stopped.
    let stops_by = OffsetDateTime::parse(entry["stops_by"].as_str().unwrap(), &Rfc3339).unwrap();
    let window = time::Duration::seconds(300);
    assert!(
        stops_by > stopped_at + window - time::Duration::seconds(5)
            && stops_by <= stopped_at + window + time::Duration::seconds(1),
        "stops_by {stops_by}, stopped at {stopped_at}"
    );

    // Once its heartbeat has lapsed (2 s), it is no longer waited for, but
    // still named: it may answer from memory until its deadline.
    tokio::time::sleep(StdDuration::from_millis(2500)).await;
    let started = Instant::now();
    let deleted = delete_secret(&app, &a, &session, &client_id, &second).await;
    let took = started.elapsed();
    assert_eq!(deleted.status(), 202);
    let body: Value = deleted.json().await.unwrap();
    let entry = unconfirmed_entry(&body, &b);
    assert_eq!(entry["heartbeat_lapsed"], true, "{body}");
    assert!(
        took < StdDuration::from_millis(500),
        "waited {took:?} for a lapsed replica"
    );

    // Woken up, B applies both deletions before it answers from memory.
    signal(&b, "-CONT");
    crate::helpers::poll_until(StdDuration::from_secs(2), "B refuses", || async {
        b.token_status(&app.client, &client_id, &secret, None).await == 401
    })
    .await;
}

#[tokio::test]
async fn a_secret_deleted_by_the_command_line_is_refused_by_the_server_before_the_command_returns()
{
    let app = spawn_app().await;
    for round in 0..20 {
        let client = app.create_client(&[SMS]).await;
        app.token_for(&client, &[]).await;
        app.token_for(&client, &[]).await;

        let client_id = client.client_id.to_string();
        let secret_id = client.secret_id.to_string();
        // The server runs on this test's runtime: the command runs beside
        // it, not blocking it.
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "--json",
                "secret",
                "delete",
                "--client-id",
                &client_id,
                &secret_id,
            ])
            .current_dir(app.dir.path())
            .env("TESSERA_DATABASE_URL", app.database.url())
            .env("TESSERA_KEYS_DIR", &app.keys_dir)
            .env("TESSERA_LOG__LEVEL", "warn")
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();

        let response = app.request_token(&client, &[]).await;
        assert_eq!(
            response.status(),
            401,
            "round {round}: the server still accepted the secret after the command returned: {printed}"
        );
        assert_eq!(printed["deleted"], secret_id.as_str());
        assert_eq!(printed["confirmed"], true, "{printed}");
        assert_eq!(printed["replicas_confirmed"], 1, "{printed}");
        assert_eq!(printed["unconfirmed"], serde_json::json!([]));
    }
}

#[tokio::test]
async fn cold_requests_racing_a_deletion_never_get_a_token_after_its_answer() {
    // A costly hash widens the window in which verifications run.
    let app = spawn_app_with(|s| {
        s.argon2.memory_kib = 65_536;
        s.verification.max_failures_per_client_address = 0;
        s.verification.max_failures_per_address = 0;
    })
    .await;
    let admin = app.create_user(Role::Admin, None).await;
    let session = app.login(&admin).await;
    let mut late_tokens = Vec::new();
    for round in 0..10 {
        let client = app.create_client(&[SMS]).await;
        let client = std::sync::Arc::new(client);
        // Cold verifications of the secret, started before the deletion.
        let early: Vec<_> = (0..4)
            .map(|_| {
                let (app_client, url, client) = (
                    app.client.clone(),
                    format!("{}/oauth2/token", app.address),
                    client.clone(),
                );
                tokio::spawn(async move { token_request(&app_client, &url, &client).await })
            })
            .collect();
        tokio::time::sleep(StdDuration::from_millis(2)).await;
        let path = format!(
            "/api/v1/applications/{}/secrets/{}",
            client.client_id, client.secret_id
        );
        let deleted = app.api_delete(&path, Some(&session)).await;
        let answered = Instant::now();
        assert_eq!(deleted.status(), 204);
        // Requests sent after the answer, while the early verification may
        // still be running.
        let url = format!("{}/oauth2/token", app.address);
        let late =
            futures::future::join_all((0..4).map(|_| token_request(&app.client, &url, &client)))
                .await;
        for (status, _) in &late {
            if *status == 200 {
                late_tokens.push(format!("round {round}: a request sent after the answer"));
            }
        }
        for handle in early {
            let (status, received) = handle.await.unwrap();
            if status == 200 && received > answered {
                late_tokens.push(format!(
                    "round {round}: a token received {:?} after the answer",
                    received - answered
                ));
            }
        }
    }
    assert!(late_tokens.is_empty(), "{late_tokens:#?}");
}

/// A token request with `client`'s secret: its status and when it arrived.
async fn token_request(
    client: &reqwest::Client,
    url: &str,
    test_client: &crate::helpers::TestClient,
) -> (u16, Instant) {
    let status = client
        .post(url)
        .header(
            "authorization",
            crate::helpers::basic_header(&test_client.client_id.to_string(), &test_client.secret),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (status, Instant::now())
}

#[tokio::test]
async fn a_permission_removed_or_an_application_deleted_answers_with_its_confirmation() {
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin, None).await;
    let session = app.login(&admin).await;
    let client = app.create_client(&[SMS, "data-manager-sandbox"]).await;
    let response = app
        .api_put(
            &format!("/api/v1/applications/{}/permissions", client.client_id),
            Some(&session),
            &serde_json::json!({"permissions": [SMS]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["permissions"], serde_json::json!([SMS]));
    assert_eq!(body["confirmation"]["confirmed"], true, "{body}");
    assert_eq!(body["confirmation"]["replicas_confirmed"], 1, "{body}");

    let confirmation = app
        .admin
        .delete_application(&Acting::cli(), client.client_id)
        .await
        .unwrap();
    assert!(confirmation.is_complete());
    assert_eq!(confirmation.confirmed, 1);
}
