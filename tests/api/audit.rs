//! The audit log as every surface writes it: each change names its actor's
//! kind, and a change whose audit event cannot be written does not happen.

use serde_json::Value;
use tessera_core::user::Role;

use crate::helpers::{ServeProcess, TestApp, assert_problem, spawn_app};

/// The audit events an admin reads through the API, newest first.
async fn audit_events(app: &TestApp) -> Vec<Value> {
    let admin = app.create_user(Role::Admin, None).await;
    let token = app.login(&admin).await;
    let page = app
        .api_get("/api/v1/audit-events?limit=1000", Some(&token))
        .await;
    assert_eq!(page.status(), 200);
    let body: Value = page.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

/// The events of `action` on targets starting with `target`.
fn events<'a>(all: &'a [Value], action: &str, target: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|e| e["action"] == action)
        .filter(|e| e["target"].as_str().is_some_and(|t| t.starts_with(target)))
        .collect()
}

#[tokio::test]
async fn a_secret_deleted_on_the_command_line_is_audited_as_the_command_line() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;

    let output = app.cli(&[
        "secret",
        "delete",
        "--client-id",
        &client.client_id.to_string(),
        &client.secret_id.to_string(),
    ]);
    assert!(output.status.success(), "{output:?}");

    let all = audit_events(&app).await;
    let deleted = events(
        &all,
        "secret.deleted",
        &format!("{}/{}", client.client_id, client.secret_id),
    );
    assert_eq!(deleted.len(), 1, "{all:#?}");
    assert_eq!(deleted[0]["actor_kind"], "cli");
    assert_eq!(deleted[0]["actor"], "cli");
    assert_eq!(deleted[0]["actor_user_id"], Value::Null);
}

#[tokio::test]
async fn the_demo_data_is_audited_as_the_command_line() {
    let app = spawn_app().await;
    let mut demo = ServeProcess::spawn_with(&app, &["serve", "--demo"], &[("NO_COLOR", "1")]).await;

    let all = audit_events(&app).await;
    demo.stop();
    for action in [
        "organisation.created",
        "application.created",
        "user.created",
        "secret.created",
    ] {
        let made: Vec<_> = events(&all, action, "")
            .into_iter()
            .filter(|e| e["actor_kind"] == "cli")
            .collect();
        let expected = if action == "secret.created" { 2 } else { 1 };
        // The admin reading the log was created (by the command line) too.
        let expected = expected + usize::from(action == "user.created");
        assert_eq!(made.len(), expected, "{action}: {all:#?}");
    }
    // Only the admin reading the log signed in; the demo's reminder went
    // out as Tessera itself.
    assert!(
        all.iter()
            .filter(|e| e["action"] != "session.created")
            .all(|e| e["actor_kind"] == "cli" || e["actor_kind"] == "system"),
        "{all:#?}"
    );
    assert_eq!(events(&all, "reminder.sent", "")[0]["actor_kind"], "system");
}

#[tokio::test]
async fn a_secret_deleted_on_the_web_page_is_audited_as_its_user() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;
    let org = app.organisation_of(client.client_id).await;
    let manager = app.create_user(Role::CredentialManager, Some(org)).await;
    let web = app.web_sign_in(&manager).await;

    let deleted = app
        .web_post(
            &format!(
                "/applications/{}/secrets/{}/delete",
                client.client_id, client.secret_id
            ),
            Some(&web.cookie),
            &[("csrf", &web.csrf)],
        )
        .await;
    assert_eq!(deleted.status(), 303);

    let all = audit_events(&app).await;
    let deleted = events(
        &all,
        "secret.deleted",
        &format!("{}/{}", client.client_id, client.secret_id),
    );
    assert_eq!(deleted.len(), 1, "{all:#?}");
    assert_eq!(deleted[0]["actor_kind"], "user");
    assert_eq!(deleted[0]["actor"], manager.email.as_str());
    assert_eq!(deleted[0]["client_address"], "127.0.0.1");
    assert!(deleted[0]["actor_user_id"].is_string());
}

#[tokio::test]
async fn a_change_whose_audit_event_cannot_be_written_is_not_made() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;
    let org = app.organisation_of(client.client_id).await;
    let manager = app.create_user(Role::CredentialManager, Some(org)).await;
    let admin = app.create_user(Role::Admin, None).await;
    let manager_token = app.login(&manager).await;
    let admin_token = app.login(&admin).await;
    let secret_path = format!(
        "/api/v1/applications/{}/secrets/{}",
        client.client_id, client.secret_id
    );

    app.refuse_audit_events().await;

    // Through the API: deleting the secret fails, and the secret stays.
    let refused = app.api_delete(&secret_path, Some(&manager_token)).await;
    assert_problem(refused, 503).await;
    // Through the command line: the same.
    let output = app.cli(&[
        "secret",
        "delete",
        "--client-id",
        &client.client_id.to_string(),
        &client.secret_id.to_string(),
    ]);
    assert!(!output.status.success());
    // Neither can a secret, an application or an organisation be created,
    // nor permissions changed.
    let created = app
        .api_post(
            &format!("/api/v1/applications/{}/secrets", client.client_id),
            Some(&manager_token),
            &serde_json::json!({"name": "Unaudited"}),
        )
        .await;
    assert!(created.status().is_server_error());
    let organisation = app
        .api_post(
            "/api/v1/organisations",
            Some(&admin_token),
            &serde_json::json!({"name": "Unaudited", "country": "NL"}),
        )
        .await;
    assert!(organisation.status().is_server_error());
    let permissions = app
        .api_put(
            &format!("/api/v1/applications/{}/permissions", client.client_id),
            Some(&admin_token),
            &serde_json::json!({"permissions": ["search-match-production"]}),
        )
        .await;
    assert!(permissions.status().is_server_error());

    // Nothing changed: the secret still gets a token with its old scope,
    // and the application still lists exactly that one secret.
    let token = app.token_for(&client, &[]).await;
    assert_eq!(token["scope"], "search-match-sandbox");
    let detail = app
        .api_get(
            &format!("/api/v1/applications/{}", client.client_id),
            Some(&manager_token),
        )
        .await;
    assert_eq!(detail.status(), 200);
    let detail: Value = detail.json().await.unwrap();
    let secrets = detail["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["id"], client.secret_id.to_string());
    assert_eq!(
        detail["permissions"],
        serde_json::json!(["search-match-sandbox"])
    );
    let organisations = app
        .api_get("/api/v1/organisations", Some(&admin_token))
        .await;
    let organisations: Value = organisations.json().await.unwrap();
    assert!(
        organisations
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["name"] != "Unaudited")
    );
}

#[tokio::test]
async fn key_activations_are_audited_by_who_made_them() {
    let app = spawn_app().await;
    let first = app.cli_json(&["keys", "list"])[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let generated = app.cli_json(&["keys", "generate", "--activate"]);
    let second = generated["kid"].as_str().unwrap();

    let all = audit_events(&app).await;
    let activated = events(&all, "key.activated", "");
    assert_eq!(activated.len(), 2, "{all:#?}");
    // Newest first: the command line's, then Tessera's own first key.
    assert_eq!(activated[0]["target"], second);
    assert_eq!(activated[0]["actor_kind"], "cli");
    assert_eq!(activated[1]["target"], first.as_str());
    assert_eq!(activated[1]["actor_kind"], "system");
}

#[tokio::test]
async fn a_stranger_signing_in_as_system_is_audited_as_a_stranger() {
    let app = spawn_app().await;
    for email in ["system", "cli"] {
        let response = app.try_login(email, "guess", "000000").await;
        assert_problem(response, 401).await;
    }

    let all = audit_events(&app).await;
    for email in ["system", "cli"] {
        let failed = events(&all, "session.failed", email);
        assert_eq!(failed.len(), 1, "{all:?}");
        assert_eq!(failed[0]["actor_kind"], "anonymous", "{:?}", failed[0]);
    }
}
