//! Signing in and out over HTTP: TOTP replay and skew, lockout, session
//! lifetimes, password changes, and that no credential reaches the logs.

use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use tessera_admin::Acting;
use tessera_core::user::Role;
use time::Duration;

async fn manager(app: &TestApp) -> TestUser {
    let org = app.create_org().await;
    app.create_user(Role::CredentialManager, Some(org)).await
}

async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let page: Value = app
        .api_get("/api/v1/audit-events?limit=1000", Some(token))
        .await
        .json()
        .await
        .unwrap();
    page["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_totp_code_works_once_and_only_within_one_step_of_skew() {
    let app = spawn_app().await;
    let user = manager(&app).await;
    app.clock.advance(Duration::seconds(30));

    let code = app.totp_code(&user);
    let first = app.try_login(&user.email, &user.password, &code).await;
    assert_eq!(first.status(), 201);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["token"].as_str().unwrap().len(), 43);
    assert!(body["expires_at"].as_str().is_some());
    // The same code again is a replay.
    let replay = assert_problem(app.try_login(&user.email, &user.password, &code).await, 401).await;
    assert_eq!(replay["detail"], "invalid email, password or code");

    // One step behind or ahead is accepted; two are not.
    app.clock.advance(Duration::seconds(120));
    let behind = app.totp_code_at(&user, -1);
    assert_eq!(
        app.try_login(&user.email, &user.password, &behind)
            .await
            .status(),
        201
    );
    app.clock.advance(Duration::seconds(120));
    let ahead = app.totp_code_at(&user, 1);
    assert_eq!(
        app.try_login(&user.email, &user.password, &ahead)
            .await
            .status(),
        201
    );
    // An older step than the last accepted one is refused even if in the window.
    let current = app.totp_code_at(&user, 0);
    if current != ahead {
        assert_eq!(
            app.try_login(&user.email, &user.password, &current)
                .await
                .status(),
            401
        );
    }
    app.clock.advance(Duration::seconds(300));
    let near: Vec<String> = (-1..=1).map(|s| app.totp_code_at(&user, s)).collect();
    for far in [-2, 2] {
        let code = app.totp_code_at(&user, far);
        if !near.contains(&code) {
            assert_eq!(
                app.try_login(&user.email, &user.password, &code)
                    .await
                    .status(),
                401
            );
        }
    }
    // Wrong codes of every shape.
    for wrong in ["000000", "12345", "abcdef", ""] {
        if !near.contains(&wrong.to_owned()) {
            assert_problem(app.try_login(&user.email, &user.password, wrong).await, 401).await;
        }
    }
}

#[tokio::test]
async fn an_unknown_email_is_answered_exactly_like_a_wrong_password() {
    let app = spawn_app().await;
    let user = manager(&app).await;
    let code = app.totp_code(&user);
    let wrong_password = app.try_login(&user.email, "not-the-password", &code).await;
    let unknown = app
        .try_login("nobody@example.org", &user.password, &code)
        .await;
    let malformed = app.try_login("not an email", &user.password, &code).await;
    let a = assert_problem(wrong_password, 401).await;
    let b = assert_problem(unknown, 401).await;
    let c = assert_problem(malformed, 401).await;
    assert_eq!(a, b);
    assert_eq!(b, c);
    let missing_field = assert_problem(
        app.api_post("/api/v1/sessions", None, &json!({"email": user.email}))
            .await,
        422,
    )
    .await;
    assert!(
        missing_field["detail"]
            .as_str()
            .unwrap()
            .contains("password")
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_the_lockout_time() {
    let app = spawn_app().await;
    let user = manager(&app).await;
    let admin = app.create_user(Role::Admin, None).await;
    let admin_token = app.login(&admin).await;

    for _ in 0..5 {
        app.clock.advance(Duration::seconds(30));
        let code = app.totp_code(&user);
        assert_eq!(
            app.try_login(&user.email, "wrong-password", &code)
                .await
                .status(),
            401
        );
    }
    // Locked: even the right credentials are refused, with the same answer.
    app.clock.advance(Duration::seconds(30));
    let locked = assert_problem(
        app.try_login(&user.email, &user.password, &app.totp_code(&user))
            .await,
        401,
    )
    .await;
    assert_eq!(locked["detail"], "invalid email, password or code");

    let log = events(&app, &admin_token).await;
    let lock = log
        .iter()
        .find(|e| e["action"] == "account.locked")
        .expect("the lock is audited");
    assert_eq!(lock["target"], user.email);
    assert_eq!(
        lock["organisation_id"],
        user.organisation_id.unwrap().to_string()
    );
    let failures = log
        .iter()
        .filter(|e| e["action"] == "session.failed" && e["target"] == user.email)
        .count();
    assert_eq!(failures, 6);
    assert!(log.iter().any(|e| e["action"] == "session.created"));

    // After the lockout time the right credentials work again.
    app.clock.advance(Duration::seconds(900));
    let token = app.login(&user).await;
    assert_eq!(app.api_get("/api/v1/me", Some(&token)).await.status(), 200);
}

#[tokio::test]
async fn sessions_end_when_idle_at_their_absolute_limit_and_on_logout() {
    let app = spawn_app().await;
    let user = manager(&app).await;

    // Idle: 30 minutes without a request.
    let token = app.login(&user).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.api_get("/api/v1/me", Some(&token)).await.status(), 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.api_get("/api/v1/me", Some(&token)).await.status(), 200);
    app.clock.advance(Duration::minutes(30));
    assert_problem(app.api_get("/api/v1/me", Some(&token)).await, 401).await;

    // Absolute: 12 hours however busy.
    let token = app.login(&user).await;
    for _ in 0..24 {
        app.clock.advance(Duration::minutes(29));
        assert_eq!(app.api_get("/api/v1/me", Some(&token)).await.status(), 200);
    }
    app.clock.advance(Duration::minutes(25));
    assert_problem(app.api_get("/api/v1/me", Some(&token)).await, 401).await;

    // Logout.
    let token = app.login(&user).await;
    assert_eq!(
        app.api_delete("/api/v1/sessions/current", Some(&token))
            .await
            .status(),
        204
    );
    assert_problem(app.api_get("/api/v1/me", Some(&token)).await, 401).await;
    assert_problem(
        app.api_delete("/api/v1/sessions/current", Some(&token))
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn a_user_changes_their_password_and_other_sessions_end() {
    let app = spawn_app().await;
    let mut user = manager(&app).await;
    let token = app.login(&user).await;
    let other = app.login(&user).await;
    let path = "/api/v1/me/password";

    let wrong = assert_problem(
        app.api_put(
            path,
            Some(&token),
            &json!({"current_password": "nope", "new_password": "a brand new passphrase"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(wrong["field"], "current_password");
    let short = assert_problem(
        app.api_put(
            path,
            Some(&token),
            &json!({"current_password": user.password, "new_password": "short"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(short["field"], "new_password");
    assert_problem(
        app.api_put(
            path,
            None,
            &json!({"current_password": "a", "new_password": "b"}),
        )
        .await,
        401,
    )
    .await;
    assert_problem(
        app.api_put(path, Some(&token), &json!({"current_password": user.password, "new_password": "a brand new passphrase", "x": 1}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        app.api_put(
            path,
            Some(&token),
            &json!({"current_password": user.password, "new_password": "a brand new passphrase"})
        )
        .await
        .status(),
        204
    );
    // This session goes on; the other one ended.
    assert_eq!(app.api_get("/api/v1/me", Some(&token)).await.status(), 200);
    assert_problem(app.api_get("/api/v1/me", Some(&other)).await, 401).await;
    // The old password no longer signs in; the new one does.
    app.clock.advance(Duration::seconds(30));
    let old = app
        .try_login(&user.email, &user.password, &app.totp_code(&user))
        .await;
    assert_eq!(old.status(), 401);
    user.password = "a brand new passphrase".into();
    app.login(&user).await;
    let log = events(&app, &token).await;
    assert!(
        log.iter()
            .any(|e| e["action"] == "password.changed" && e["outcome"] == "success")
    );
    assert!(
        log.iter()
            .any(|e| e["action"] == "password.changed" && e["outcome"] == "failure")
    );
}

/// Runs the real `tessera serve` with every log level on, drives a whole
/// management session, and checks that no credential reached its output.
#[tokio::test]
async fn no_credential_appears_in_the_server_logs() {
    let app = spawn_app().await;
    let org = app.create_org().await;
    let client = reqwest::Client::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve"])
        .current_dir(app.dir.path())
        .env("TESSERA_DATABASE_URL", app.database.url())
        .env("TESSERA_KEYS_DIR", &app.keys_dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_OPS_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG__FORMAT", "json")
        .env("RUST_LOG", "trace")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut address = None;
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        if line.contains("\"serving\"") {
            let v: Value = serde_json::from_str(&line).unwrap();
            address = v["issuer"].as_str().map(str::to_owned);
            break;
        }
    }
    let base = address.expect("the server says where it serves");

    // A user made with the CLI, as an operator would.
    let made = app.cli_json(&[
        "user",
        "create",
        "--email",
        "logs@example.org",
        "--role",
        "credential-manager",
        "--org",
        &org.to_string(),
    ]);
    let password = made["password"].as_str().unwrap().to_owned();
    let totp = totp_rs::TOTP::from_url_unchecked(made["totp_uri"].as_str().unwrap()).unwrap();
    let code = totp.generate_current().unwrap();
    let application = app
        .admin
        .create_application(
            &Acting::cli(),
            org,
            "SMC",
            tessera_core::application::ApplicationKind::Partner,
            &["search-match-sandbox"],
        )
        .await
        .unwrap();

    let login: Value = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": "logs@example.org", "password": password, "totp_code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let secret: Value = client
        .post(format!(
            "{base}/api/v1/applications/{}/secrets",
            application.client_id
        ))
        .bearer_auth(&token)
        .json(&json!({"name": "Logged"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret_value = secret["secret"].as_str().unwrap().to_owned();
    let issued: Value = client
        .post(format!("{base}/oauth2/token"))
        .basic_auth(application.client_id.to_string(), Some(&secret_value))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    let new_password = "a brand new passphrase for logs";
    let changed = client
        .put(format!("{base}/api/v1/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": password, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let failed = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": "logs@example.org", "password": "a wrong password guess", "totp_code": "987654"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let out = client
        .delete(format!("{base}/api/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);

    // Stop the server (SIGTERM through `kill`, by its id) and read everything it wrote.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    drop(rx);
    let logs = reader.join().unwrap();
    assert!(logs.contains("post_session"), "the logs cover the session");
    for (what, value) in [
        ("password", password.as_str()),
        ("new password", new_password),
        ("wrong password", "a wrong password guess"),
        ("TOTP code", code.as_str()),
        ("session token", token.as_str()),
        ("client secret", secret_value.as_str()),
        ("access token", access_token.as_str()),
    ] {
        assert!(
            !logs.contains(value),
            "the {what} appears in the server's logs"
        );
    }
}

#[tokio::test]
async fn the_same_code_sent_twice_at_once_signs_in_only_once() {
    let app = spawn_app().await;
    let user = manager(&app).await;
    app.clock.advance(Duration::seconds(30));
    let code = app.totp_code(&user);
    let (a, b) = tokio::join!(
        app.try_login(&user.email, &user.password, &code),
        app.try_login(&user.email, &user.password, &code)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 401]);
}
