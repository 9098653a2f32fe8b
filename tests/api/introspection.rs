//! Token introspection (RFC 7662) for resource servers: what is active, what
//! stops being active the moment its credential is gone (on this server and
//! on another one on the same database), and who may ask.

use serde_json::{Value, json};
use std::time::Duration;
use tessera_admin::Acting;
use tessera_core::application::ApplicationKind;
use tessera_core::user::Role;
use tessera_token::keys::{Algorithm, SigningKey};

use crate::helpers::{
    TestApp, TestClient, basic_header, claims_of, form_body, poll_until, spawn_app, spawn_app_on,
};

const SANDBOX: &str = "search-match-sandbox";
const DM_SANDBOX: &str = "data-manager-sandbox";

/// A resource server (its own organisation) with one secret.
async fn resource_server(app: &TestApp) -> TestClient {
    let org = app.create_org().await;
    let server = app
        .admin
        .create_application(
            &Acting::cli(),
            org,
            "SMC",
            ApplicationKind::ResourceServer,
            &[] as &[&str],
        )
        .await
        .unwrap();
    let created = app
        .admin
        .create_secret(&Acting::cli(), server.client_id, "Secret by test", None)
        .await
        .unwrap();
    TestClient {
        client_id: server.client_id,
        secret: created.secret.expose().to_owned(),
        secret_id: created.record.id,
    }
}

/// `POST /oauth2/introspect` with `form`, authenticated with HTTP Basic as
/// `caller`.
async fn post_introspect(
    app: &TestApp,
    caller: &TestClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth2/introspect", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            basic_header(&caller.client_id.to_string(), &caller.secret),
        )
        .body(form_body(form))
        .send()
        .await
        .unwrap()
}

/// Introspects `token` as `server`; asserts a 200 with `no-store`.
async fn introspect(app: &TestApp, server: &TestClient, token: &str) -> Value {
    let response = post_introspect(app, server, &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn access_token(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> String {
    app.token_for(client, extra).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn inactive() -> Value {
    json!({"active": false})
}

#[tokio::test]
async fn a_fresh_token_is_active_with_the_rfc_7662_fields() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX, DM_SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    let claims = claims_of(&token);

    let answer = introspect(&app, &server, &token).await;

    let client_id = partner.client_id.to_string();
    assert_eq!(
        answer,
        json!({
            "active": true,
            "scope": "data-manager-sandbox search-match-sandbox",
            "client_id": client_id,
            "token_type": "Bearer",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "nbf": claims["nbf"],
            "sub": client_id,
            "aud": ["https://sandbox.registry.example/data-manager", "https://sandbox.registry.example/search-match"],
            "iss": app.issuer,
            "jti": claims["jti"],
            "org": claims["org"],
        })
    );
    // The token names the secret that obtained it by id, never by value.
    assert_eq!(claims["credential_id"], partner.secret_id.to_string());
    assert!(!token.contains(&partner.secret));

    // client_secret_post works as well as Basic.
    let posted = app
        .client
        .post(format!("{}/oauth2/introspect", app.address))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", &server.client_id.to_string()),
            ("client_secret", &server.secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(posted.json::<Value>().await.unwrap()["active"], true);
}

#[tokio::test]
async fn a_warm_introspection_reads_nothing_from_the_database() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    let loads = || app.metric("tessera_introspection_credential_loads_total", &[]);

    assert_eq!(introspect(&app, &server, &token).await["active"], true);
    let after_first = loads().await;
    assert_eq!(after_first, 1.0, "the first introspection reads the client");
    for _ in 0..5 {
        assert_eq!(introspect(&app, &server, &token).await["active"], true);
    }
    assert_eq!(loads().await, after_first);
    assert_eq!(
        app.metric(
            "tessera_introspection_requests_total",
            &[("outcome", "active")]
        )
        .await,
        6.0
    );
}

#[tokio::test]
async fn deleting_the_secret_makes_its_tokens_inactive_at_once() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let (other_secret_id, other_secret) = app.add_secret(partner.client_id, None).await;
    let other = TestClient {
        client_id: partner.client_id,
        secret: other_secret,
        secret_id: other_secret_id,
    };
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    let kept = access_token(&app, &other, &[]).await;
    assert_eq!(introspect(&app, &server, &token).await["active"], true);

    app.admin
        .delete_secret(&Acting::cli(), partner.client_id, partner.secret_id)
        .await
        .unwrap();

    assert_eq!(introspect(&app, &server, &token).await, inactive());
    // The application's other secret, and its tokens, live on.
    assert_eq!(introspect(&app, &server, &kept).await["active"], true);
    assert_eq!(
        app.metric(
            "tessera_introspection_requests_total",
            &[("outcome", "inactive")]
        )
        .await,
        1.0
    );
}

#[tokio::test]
async fn a_secret_created_after_the_client_was_read_backs_its_tokens() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let first = access_token(&app, &partner, &[]).await;
    assert_eq!(introspect(&app, &server, &first).await["active"], true);

    // Created by another process: no change reaches this server's memory.
    let created = app.cli_json(&[
        "secret",
        "create",
        "--client-id",
        &partner.client_id.to_string(),
        "--name",
        "Secret by CLI",
    ]);
    let newer = TestClient {
        client_id: partner.client_id,
        secret: created["secret"].as_str().unwrap().to_owned(),
        secret_id: created["id"].as_str().unwrap().parse().unwrap(),
    };
    let token = access_token(&app, &newer, &[]).await;
    assert_eq!(introspect(&app, &server, &token).await["active"], true);
}

#[tokio::test]
async fn deleting_the_application_makes_its_tokens_inactive_at_once() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    assert_eq!(introspect(&app, &server, &token).await["active"], true);

    app.admin
        .delete_application(&Acting::cli(), partner.client_id)
        .await
        .unwrap();

    assert_eq!(introspect(&app, &server, &token).await, inactive());
}

#[tokio::test]
async fn removing_a_permission_makes_the_tokens_granting_it_inactive_at_once() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX, DM_SANDBOX]).await;
    let server = resource_server(&app).await;
    let both = access_token(&app, &partner, &[]).await;
    let search_only = access_token(&app, &partner, &[("scope", SANDBOX)]).await;
    let dm_only = access_token(&app, &partner, &[("scope", DM_SANDBOX)]).await;
    for token in [&both, &search_only, &dm_only] {
        assert_eq!(introspect(&app, &server, token).await["active"], true);
    }

    app.admin
        .set_permissions(&Acting::cli(), partner.client_id, &[SANDBOX])
        .await
        .unwrap();

    assert_eq!(introspect(&app, &server, &both).await, inactive());
    assert_eq!(introspect(&app, &server, &dm_only).await, inactive());
    assert_eq!(
        introspect(&app, &server, &search_only).await["active"],
        true
    );
}

#[tokio::test]
async fn an_expired_token_is_inactive() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    let ttl =
        claims_of(&token)["exp"].as_i64().unwrap() - claims_of(&token)["iat"].as_i64().unwrap();

    app.clock.advance(time::Duration::seconds(ttl - 1));
    assert_eq!(introspect(&app, &server, &token).await["active"], true);
    app.clock.advance(time::Duration::seconds(1));
    assert_eq!(introspect(&app, &server, &token).await, inactive());
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_inactive() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let genuine = access_token(&app, &partner, &[]).await;
    // The same claims, signed by a key Tessera does not hold, first under
    // that key's own kid, then pretending to be Tessera's key.
    let claims = claims_of(&genuine);
    let (stranger, _) = SigningKey::generate(Algorithm::Es256).unwrap();
    let forged = stranger.sign_jwt(&claims).unwrap();
    assert_eq!(introspect(&app, &server, &forged).await, inactive());
    let genuine_header = genuine.split('.').next().unwrap();
    let mut parts = forged.splitn(2, '.');
    parts.next();
    let posing = format!("{genuine_header}.{}", parts.next().unwrap());
    assert_eq!(introspect(&app, &server, &posing).await, inactive());
    // The genuine token with its claims altered.
    let mut altered = claims.clone();
    altered["scope"] = "search-match-production".into();
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&altered).unwrap(),
    );
    let mut parts = genuine.split('.');
    let tampered = format!(
        "{}.{payload}.{}",
        parts.next().unwrap(),
        parts.nth(1).unwrap()
    );
    assert_eq!(introspect(&app, &server, &tampered).await, inactive());
    assert_eq!(introspect(&app, &server, &genuine).await["active"], true);
}

#[tokio::test]
async fn garbage_is_inactive_and_a_missing_token_is_invalid_request() {
    let app = spawn_app().await;
    let server = resource_server(&app).await;
    for garbage in [
        "garbage",
        "a.b.c",
        "....",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        &"x".repeat(4000),
    ] {
        assert_eq!(
            introspect(&app, &server, garbage).await,
            inactive(),
            "{garbage}"
        );
    }
    let missing = post_introspect(&app, &server, &[("token_type_hint", "access_token")]).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let repeated = post_introspect(&app, &server, &[("token", "a"), ("token", "b")]).await;
    assert_eq!(repeated.status(), 400);
    let json = app
        .client
        .post(format!("{}/oauth2/introspect", app.address))
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    let get = app
        .client
        .get(format!("{}/oauth2/introspect", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn a_partner_application_cannot_introspect() {
    let app = spawn_app().await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;

    let refused = post_introspect(&app, &partner, &[("token", &token)]).await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // Exactly the answer to a resource server with a wrong secret.
    let wrong = TestClient {
        client_id: server.client_id,
        secret: format!("{}x", server.secret),
        secret_id: server.secret_id,
    };
    let wrong_answer = post_introspect(&app, &wrong, &[("token", &token)]).await;
    assert_eq!(wrong_answer.status(), 401);
    assert_eq!(wrong_answer.json::<Value>().await.unwrap(), body);
    assert_eq!(
        app.metric(
            "tessera_introspection_requests_total",
            &[("outcome", "invalid_client")]
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn a_resource_server_cannot_obtain_a_token() {
    let app = spawn_app().await;
    let server = resource_server(&app).await;
    let id = server.client_id.to_string();
    let grant = ("grant_type", "client_credentials");
    let basic = app
        .post_token(&[grant], Some((id.as_str(), server.secret.as_str())))
        .await;
    let posted = app
        .post_token(
            &[
                grant,
                ("client_id", id.as_str()),
                ("client_secret", server.secret.as_str()),
            ],
            None,
        )
        .await;
    for response in [basic, posted] {
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized_client");
        assert!(body.get("access_token").is_none());
    }
    assert_eq!(
        app.metric(
            "tessera_token_requests_total",
            &[("outcome", "unauthorized_client")]
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn a_deletion_through_another_server_makes_tokens_inactive_here() {
    let app = spawn_app().await;
    let other = spawn_app_on(&app).await;
    let partner = app.create_client(&[SANDBOX]).await;
    let server = resource_server(&app).await;
    let token = access_token(&app, &partner, &[]).await;
    // Warm: this server holds the client in memory.
    assert_eq!(introspect(&app, &server, &token).await["active"], true);
    assert_eq!(introspect(&app, &server, &token).await["active"], true);

    other
        .admin
        .delete_secret(&Acting::cli(), partner.client_id, partner.secret_id)
        .await
        .unwrap();

    poll_until(
        Duration::from_secs(5),
        "introspection turns false",
        || async { introspect(&app, &server, &token).await == inactive() },
    )
    .await;
}

#[tokio::test]
async fn the_command_line_creates_resource_servers_and_validates_them() {
    let app = spawn_app().await;
    let org = app.cli_json(&["org", "create", "--name", "Registry", "--country", "NL"]);
    let org_id = org["id"].as_str().unwrap();
    let created = app.cli_json(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "SMC",
        "--kind",
        "resource-server",
    ]);
    assert_eq!(created["name"], "ResourceServer-NL-Registry-SMC");
    assert_eq!(created["kind"], "resource-server");
    assert_eq!(created["permissions"], json!([]));

    let with_permission = app.cli(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "DM",
        "--kind",
        "resource-server",
        "--permission",
        SANDBOX,
    ]);
    assert!(!with_permission.status.success());
    let stderr = String::from_utf8_lossy(&with_permission.stderr);
    assert!(
        stderr.contains("resource server holds no permissions"),
        "{stderr}"
    );

    let bad_api = app.cli(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "dm",
        "--kind",
        "resource-server",
    ]);
    assert!(!bad_api.status.success());
    let bad_kind = app.cli(&[
        "app", "create", "--org", org_id, "--api", "DM", "--kind", "resource",
    ]);
    assert!(!bad_kind.status.success());
    assert!(String::from_utf8_lossy(&bad_kind.stderr).contains("resource-server"));
    // The same name twice is a conflict.
    let again = app.cli(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "SMC",
        "--kind",
        "resource-server",
    ]);
    assert!(!again.status.success());
}

#[tokio::test]
async fn the_api_and_the_web_page_create_resource_servers() {
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin, None).await;
    let org = app.create_org().await;

    let token = app.login(&admin).await;
    let created = app
        .api_post(
            "/api/v1/applications",
            Some(&token),
            &json!({"organisation_id": org.to_string(), "api": "SMC", "kind": "resource-server"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(
        created["name"]
            .as_str()
            .unwrap()
            .starts_with("ResourceServer-NL-")
    );
    assert_eq!(created["kind"], "resource-server");
    let refused = app
        .api_post(
            "/api/v1/applications",
            Some(&token),
            &json!({"organisation_id": org.to_string(), "api": "DM", "kind": "resource-server", "permissions": [SANDBOX]}),
        )
        .await;
    let refused = crate::helpers::assert_problem(refused, 422).await;
    assert_eq!(refused["field"], "permissions");

    let web = app.web_sign_in(&admin).await;
    let page = app
        .web_get("/organisations", Some(&web.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"option value="resource-server""#));
    let posted = app
        .web_post(
            "/applications",
            Some(&web.cookie),
            &[
                ("csrf", &web.csrf),
                ("organisation_id", &org.to_string()),
                ("api", "DM"),
                ("kind", "resource-server"),
            ],
        )
        .await;
    assert_eq!(posted.status(), 303);
    let apps = app
        .admin
        .applications(&Acting::cli(), Some(org))
        .await
        .unwrap();
    let web_made = apps.iter().find(|a| a.api.as_ref() == "DM").unwrap();
    assert_eq!(web_made.kind, ApplicationKind::ResourceServer);
    assert!(web_made.name.as_ref().starts_with("ResourceServer-"));
}
