//! The management API over real HTTP: each SPEC §4 row for each role,
//! secret rules, the rotation workflow, problem details and OpenAPI.

use crate::helpers::{TestApp, TestClient, TestUser, assert_problem, spawn_app};
use serde_json::{Value, json};
use tessera_admin::Acting;
use tessera_core::ids::OrganisationId;
use tessera_core::user::Role;

/// Two organisations, each with an application and a credential manager,
/// and an admin, all signed in.
struct World {
    app: TestApp,
    org_a: OrganisationId,
    org_b: OrganisationId,
    client_a: TestClient,
    client_b: TestClient,
    admin: String,
    manager_a: String,
    manager_b: String,
    manager_a_user: TestUser,
}

async fn world() -> World {
    let app = spawn_app().await;
    let client_a = app.create_client(&["search-match-sandbox"]).await;
    let client_b = app.create_client(&["match-connect-sandbox"]).await;
    let org_of = |client: &TestClient| {
        let admin = app.admin.clone();
        let id = client.client_id;
        async move {
            admin
                .application(&Acting::cli(), id)
                .await
                .unwrap()
                .organisation_id
        }
    };
    let org_a = org_of(&client_a).await;
    let org_b = org_of(&client_b).await;
    let admin_user = app.create_user(Role::Admin, None).await;
    let manager_a_user = app.create_user(Role::CredentialManager, Some(org_a)).await;
    let manager_b_user = app.create_user(Role::CredentialManager, Some(org_b)).await;
    let admin = app.login(&admin_user).await;
    let manager_a = app.login(&manager_a_user).await;
    let manager_b = app.login(&manager_b_user).await;
    World {
        app,
        org_a,
        org_b,
        client_a,
        client_b,
        admin,
        manager_a,
        manager_b,
        manager_a_user,
    }
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

#[tokio::test]
async fn signed_in_rows_answer_every_role_and_refuse_anonymous_callers() {
    let w = world().await;
    let app = &w.app;
    for path in [
        "/api/v1/me",
        "/api/v1/resources",
        "/api/v1/applications",
        "/api/v1/audit-events",
    ] {
        let body = assert_problem(app.api_get(path, None).await, 401).await;
        assert_eq!(body["type"], "urn:tessera:problem:unauthorized");
        let response = app.api_get(path, Some("not-a-valid-token")).await;
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        for token in [&w.admin, &w.manager_a, &w.manager_b] {
            assert_eq!(app.api_get(path, Some(token)).await.status(), 200, "{path}");
        }
    }

    let me = json_of(app.api_get("/api/v1/me", Some(&w.manager_a)).await, 200).await;
    assert_eq!(me["email"], w.manager_a_user.email);
    assert_eq!(me["role"], "credential-manager");
    assert_eq!(me["organisation"]["id"], w.org_a.to_string());
    let me = json_of(app.api_get("/api/v1/me", Some(&w.admin)).await, 200).await;
    assert_eq!(me["role"], "admin");

    let resources = json_of(
        app.api_get("/api/v1/resources", Some(&w.manager_b)).await,
        200,
    )
    .await;
    assert_eq!(resources.as_array().unwrap().len(), 6);
    assert!(
        resources
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "match-connect-sandbox" && r["environment"] == "sandbox")
    );
}

#[tokio::test]
async fn credential_managers_see_only_their_organisations_applications() {
    let w = world().await;
    let app = &w.app;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = w.client_a.client_id.to_string();
    let b = w.client_b.client_id.to_string();

    let all = json_of(
        app.api_get("/api/v1/applications", Some(&w.admin)).await,
        200,
    )
    .await;
    assert!(ids(&all).contains(&a) && ids(&all).contains(&b));
    let only_b = json_of(
        app.api_get(
            &format!("/api/v1/applications?organisation_id={}", w.org_b),
            Some(&w.admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&only_b), vec![b.clone()]);
    let mine = json_of(
        app.api_get("/api/v1/applications", Some(&w.manager_a))
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&mine), vec![a.clone()]);
    assert_eq!(mine[0]["permissions"], json!(["search-match-sandbox"]));
    // Asking for another organisation does not widen a manager's view.
    let asked = json_of(
        app.api_get(
            &format!("/api/v1/applications?organisation_id={}", w.org_b),
            Some(&w.manager_a),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&asked), vec![a.clone()]);

    let path_a = format!("/api/v1/applications/{a}");
    let detail = json_of(app.api_get(&path_a, Some(&w.manager_a)).await, 200).await;
    assert_eq!(detail["client_id"], a);
    let secret = &detail["secrets"][0];
    assert_eq!(secret["id"], w.client_a.secret_id.to_string());
    assert_eq!(secret["hint"], &w.client_a.secret[..3]);
    assert_eq!(secret["status"], "active");
    assert!(secret.get("secret").is_none());
    assert!(!detail.to_string().contains(&w.client_a.secret));
    assert_eq!(app.api_get(&path_a, Some(&w.admin)).await.status(), 200);
    // Another organisation's application is indistinguishable from none.
    let other = assert_problem(app.api_get(&path_a, Some(&w.manager_b)).await, 404).await;
    let missing = assert_problem(
        app.api_get(
            &format!("/api/v1/applications/{}", uuid::Uuid::new_v4()),
            Some(&w.manager_b),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(other, missing);
    assert_problem(app.api_get(&path_a, None).await, 401).await;
    assert_problem(
        app.api_get("/api/v1/applications/not-a-uuid", Some(&w.admin))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn secrets_are_created_and_deleted_by_own_managers_and_admins_only() {
    let w = world().await;
    let app = &w.app;
    let a = w.client_a.client_id;
    let secrets = format!("/api/v1/applications/{a}/secrets");
    let body = json!({"name": "Secret by VM"});

    assert_problem(app.api_post(&secrets, None, &body).await, 401).await;
    assert_problem(app.api_post(&secrets, Some(&w.manager_b), &body).await, 404).await;
    let by_manager = json_of(app.api_post(&secrets, Some(&w.manager_a), &body).await, 201).await;
    assert_eq!(by_manager["created_by"], w.manager_a_user.email);
    let by_admin = json_of(app.api_post(&secrets, Some(&w.admin), &body).await, 201).await;
    assert_ne!(by_admin["created_by"], w.manager_a_user.email);

    let delete = |id: &Value| format!("{secrets}/{}", id.as_str().unwrap());
    assert_problem(app.api_delete(&delete(&by_manager["id"]), None).await, 401).await;
    assert_problem(
        app.api_delete(&delete(&by_manager["id"]), Some(&w.manager_b))
            .await,
        404,
    )
    .await;
    assert_eq!(
        app.api_delete(&delete(&by_manager["id"]), Some(&w.manager_a))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.api_delete(&delete(&by_admin["id"]), Some(&w.admin))
            .await
            .status(),
        204
    );
    // Deleted already: nothing left to delete.
    assert_problem(
        app.api_delete(&delete(&by_admin["id"]), Some(&w.admin))
            .await,
        404,
    )
    .await;
    let detail = json_of(
        app.api_get(&format!("/api/v1/applications/{a}"), Some(&w.admin))
            .await,
        200,
    )
    .await;
    assert_eq!(detail["secrets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_rows_refuse_credential_managers_with_403() {
    let w = world().await;
    let app = &w.app;
    let a = w.client_a.client_id;
    let permissions = format!("/api/v1/applications/{a}/permissions");
    let new_app = json!({"organisation_id": w.org_b.to_string(), "api": "DM", "kind": "partner", "permissions": ["data-manager-sandbox"]});
    let new_org = json!({"name": "NewMember", "country": "de"});
    let new_user = json!({"email": "cm@example.org", "role": "credential-manager", "organisation_id": w.org_b.to_string()});
    let new_permissions =
        json!({"permissions": ["search-match-sandbox", "search-match-production"]});

    for token in [&w.manager_a, &w.manager_b] {
        let refused = assert_problem(
            app.api_post("/api/v1/organisations", Some(token), &new_org)
                .await,
            403,
        )
        .await;
        assert_eq!(refused["type"], "urn:tessera:problem:forbidden");
        assert_problem(app.api_get("/api/v1/organisations", Some(token)).await, 403).await;
        assert_problem(
            app.api_post("/api/v1/applications", Some(token), &new_app)
                .await,
            403,
        )
        .await;
        assert_problem(
            app.api_put(&permissions, Some(token), &new_permissions)
                .await,
            403,
        )
        .await;
        assert_problem(
            app.api_post("/api/v1/users", Some(token), &new_user).await,
            403,
        )
        .await;
        assert_problem(app.api_get("/api/v1/users", Some(token)).await, 403).await;
    }
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/organisations"),
        (reqwest::Method::GET, "/api/v1/organisations"),
        (reqwest::Method::POST, "/api/v1/applications"),
        (reqwest::Method::PUT, permissions.as_str()),
        (reqwest::Method::POST, "/api/v1/users"),
        (reqwest::Method::GET, "/api/v1/users"),
    ] {
        let body = (method != reqwest::Method::GET).then(|| json!({}));
        assert_problem(app.api(method, path, None, body.as_ref()).await, 401).await;
    }
    // Nothing changed.
    let detail = json_of(
        app.api_get(&format!("/api/v1/applications/{a}"), Some(&w.admin))
            .await,
        200,
    )
    .await;
    assert_eq!(detail["permissions"], json!(["search-match-sandbox"]));

    // The role is refused before the body is looked at.
    assert_problem(
        app.api_post(
            "/api/v1/organisations",
            Some(&w.manager_a),
            &json!({"bogus": true}),
        )
        .await,
        403,
    )
    .await;

    // The admin may do all of it.
    let org = json_of(
        app.api_post("/api/v1/organisations", Some(&w.admin), &new_org)
            .await,
        201,
    )
    .await;
    assert_eq!(org["country"], "DE");
    let orgs = json_of(
        app.api_get("/api/v1/organisations", Some(&w.admin)).await,
        200,
    )
    .await;
    assert!(
        orgs.as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == org["id"])
    );
    let created = json_of(
        app.api_post("/api/v1/applications", Some(&w.admin), &new_app)
            .await,
        201,
    )
    .await;
    assert!(created["name"].as_str().unwrap().starts_with("Partner-NL-"));
    assert!(created["name"].as_str().unwrap().ends_with("-DM"));
    assert!(uuid::Uuid::parse_str(created["client_id"].as_str().unwrap()).is_ok());
    let changed = json_of(
        app.api_put(&permissions, Some(&w.admin), &new_permissions)
            .await,
        200,
    )
    .await;
    assert_eq!(
        changed["permissions"],
        json!(["search-match-production", "search-match-sandbox"])
    );
    let user = json_of(
        app.api_post("/api/v1/users", Some(&w.admin), &new_user)
            .await,
        201,
    )
    .await;
    assert_eq!(user["email"], "cm@example.org");
    assert!(user["password"].as_str().unwrap().len() >= 20);
    assert!(
        user["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let users = json_of(app.api_get("/api/v1/users", Some(&w.admin)).await, 200).await;
    let listed = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "cm@example.org")
        .unwrap();
    assert!(listed.get("password").is_none() && listed.get("totp_uri").is_none());
    assert_eq!(listed["status"], "active");
    assert_eq!(listed["role"], "credential-manager");
    // A second creation of the same email is a conflict.
    assert_problem(
        app.api_post("/api/v1/users", Some(&w.admin), &new_user)
            .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn partner_alternative_applications_hold_only_match_connect_sandbox() {
    let w = world().await;
    let app = &w.app;
    let refused = assert_problem(
        app.api_post(
            "/api/v1/applications",
            Some(&w.admin),
            &json!({"organisation_id": w.org_a.to_string(), "api": "MC", "kind": "partner-alternative", "permissions": ["match-connect-production"]}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("match-connect-sandbox")
    );
    assert_eq!(refused["field"], "permissions");
    let created = json_of(
        app.api_post(
            "/api/v1/applications",
            Some(&w.admin),
            &json!({"organisation_id": w.org_a.to_string(), "api": "MC", "kind": "partner-alternative", "permissions": ["match-connect-sandbox"]}),
        )
        .await,
        201,
    )
    .await;
    assert!(
        created["name"]
            .as_str()
            .unwrap()
            .starts_with("PartnerAlternative-")
    );
    let path = format!(
        "/api/v1/applications/{}/permissions",
        created["client_id"].as_str().unwrap()
    );
    assert_problem(
        app.api_put(
            &path,
            Some(&w.admin),
            &json!({"permissions": ["match-connect-sandbox", "search-match-sandbox"]}),
        )
        .await,
        422,
    )
    .await;
    let unknown = assert_problem(
        app.api_put(
            &path,
            Some(&w.admin),
            &json!({"permissions": ["no-such-api"]}),
        )
        .await,
        422,
    )
    .await;
    assert!(unknown["detail"].as_str().unwrap().contains("no-such-api"));
    let detail = json_of(
        app.api_get(
            &format!(
                "/api/v1/applications/{}",
                created["client_id"].as_str().unwrap()
            ),
            Some(&w.admin),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(detail["permissions"], json!(["match-connect-sandbox"]));
}

#[tokio::test]
async fn rotation_workflow_runs_end_to_end_over_http() {
    let w = world().await;
    let app = &w.app;
    let a = w.client_a.client_id;
    let detail_path = format!("/api/v1/applications/{a}");

    // 1. Create a new secret.
    let created = json_of(
        app.api_post(
            &format!("{detail_path}/secrets"),
            Some(&w.manager_a),
            &json!({"name": "Rotation 2026"}),
        )
        .await,
        201,
    )
    .await;
    let new_secret = created["secret"].as_str().unwrap().to_owned();
    let new_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["hint"], &new_secret[..3]);
    assert_eq!(created["status"], "active");
    assert!(created["last_used_at"].is_null());
    assert!(created.get("advice").is_none());
    let detail = json_of(app.api_get(&detail_path, Some(&w.manager_a)).await, 200).await;
    assert!(!detail.to_string().contains(&new_secret));

    // 2–3. The partner system gets a token with it; its last_used_at appears.
    let new_client = TestClient {
        client_id: a,
        secret: new_secret.clone(),
        secret_id: new_id.parse().unwrap(),
    };
    app.token_for(&new_client, &[]).await;
    let mut used = Value::Null;
    for _ in 0..100 {
        let detail = json_of(app.api_get(&detail_path, Some(&w.manager_a)).await, 200).await;
        used = detail["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == new_id)
            .unwrap()["last_used_at"]
            .clone();
        if !used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(used.as_str().is_some(), "last_used_at never appeared");

    // 4. Delete the old secret: it is refused at once, the new one works.
    assert_eq!(
        app.api_delete(
            &format!("{detail_path}/secrets/{}", w.client_a.secret_id),
            Some(&w.manager_a),
        )
        .await
        .status(),
        204
    );
    let old = app.request_token(&w.client_a, &[]).await;
    assert_eq!(old.status(), 401);
    app.token_for(&new_client, &[]).await;

    // Each step is in the organisation's audit log.
    let audit = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.manager_a))
            .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"secret.created") && actions.contains(&"secret.deleted"));
    assert!(!audit.to_string().contains(&new_secret));
}

#[tokio::test]
async fn secret_requests_follow_every_rule_and_bad_input_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let path = format!("/api/v1/applications/{}/secrets", w.client_a.client_id);
    let token = Some(w.manager_a.as_str());
    let now = app.clock_now();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };

    let cases = [
        (json!({"name": "x", "colour": "red"}), 422, None),
        (json!({}), 422, None),
        (json!({"name": 5}), 422, None),
        (json!({"name": ""}), 422, Some("name")),
        (json!({"name": "n".repeat(101)}), 422, Some("name")),
        (
            json!({"name": "x", "expires_at": "tomorrow"}),
            422,
            Some("expires_at"),
        ),
        (
            json!({"name": "x", "expires_at": rfc(now - time::Duration::days(1))}),
            422,
            Some("expires_at"),
        ),
        (
            json!({"name": "x", "expires_at": rfc(now + time::Duration::days(367))}),
            422,
            Some("expires_at"),
        ),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(app.api_post(&path, token, &body).await, status).await;
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{body}");
        }
    }
    let unknown = assert_problem(
        app.api_post(&path, token, &json!({"name": "x", "colour": "red"}))
            .await,
        422,
    )
    .await;
    assert!(unknown["detail"].as_str().unwrap().contains("colour"));
    let not_json = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&w.manager_a)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415).await;
    let broken = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&w.manager_a)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(broken, 400).await;
    let huge = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&w.manager_a)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    assert_problem(huge, 413).await;
    let detail = json_of(
        app.api_get(
            &format!("/api/v1/applications/{}", w.client_a.client_id),
            token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        detail["secrets"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );

    // A short lifetime is allowed, with the advice.
    let short = json_of(
        app.api_post(
            &path,
            token,
            &json!({"name": "Short", "expires_at": rfc(now + time::Duration::days(7))}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(short["status"], "expiring_soon");
    assert!(short["advice"].as_str().unwrap().contains("one year"));
    // The default is one calendar year.
    let default = json_of(
        app.api_post(&path, token, &json!({"name": "Default"}))
            .await,
        201,
    )
    .await;
    let expires = time::OffsetDateTime::parse(
        default["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((expires - now).whole_days() >= 365);
    // Up to five, then a conflict.
    for i in 0..2 {
        json_of(
            app.api_post(&path, token, &json!({"name": format!("More {i}")}))
                .await,
            201,
        )
        .await;
    }
    let sixth = assert_problem(
        app.api_post(&path, token, &json!({"name": "Sixth"})).await,
        409,
    )
    .await;
    assert_eq!(sixth["type"], "urn:tessera:problem:secret-limit");
}

#[tokio::test]
async fn audit_events_are_visible_per_role() {
    let w = world().await;
    let app = &w.app;
    for (client, token) in [(&w.client_a, &w.manager_a), (&w.client_b, &w.manager_b)] {
        json_of(
            app.api_post(
                &format!("/api/v1/applications/{}/secrets", client.client_id),
                Some(token),
                &json!({"name": "Audited"}),
            )
            .await,
            201,
        )
        .await;
    }
    let all = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.admin)).await,
        200,
    )
    .await;
    let events = all["events"].as_array().unwrap();
    let orgs: Vec<&Value> = events.iter().map(|e| &e["organisation_id"]).collect();
    assert!(orgs.contains(&&json!(w.org_a.to_string())));
    assert!(orgs.contains(&&json!(w.org_b.to_string())));
    let created = events
        .iter()
        .find(|e| e["action"] == "secret.created")
        .unwrap();
    assert_eq!(created["outcome"], "success");
    assert_eq!(created["client_address"], "127.0.0.1");
    assert!(created["actor"].as_str().unwrap().contains('@'));
    assert!(created["occurred_at"].as_str().is_some());
    // Newest first.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));

    let own = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.manager_a))
            .await,
        200,
    )
    .await;
    let own = own["events"].as_array().unwrap();
    assert!(!own.is_empty());
    assert!(
        own.iter()
            .all(|e| e["organisation_id"] == w.org_a.to_string())
    );
    let widened = json_of(
        app.api_get(
            &format!("/api/v1/audit-events?organisation_id={}", w.org_b),
            Some(&w.manager_a),
        )
        .await,
        200,
    )
    .await;
    assert!(
        widened["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["organisation_id"] == w.org_a.to_string())
    );

    // Paging with limit and before.
    let page = json_of(
        app.api_get("/api/v1/audit-events?limit=2", Some(&w.admin))
            .await,
        200,
    )
    .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let before = page["next_before"].as_i64().unwrap();
    let next = json_of(
        app.api_get(
            &format!("/api/v1/audit-events?limit=2&before={before}"),
            Some(&w.admin),
        )
        .await,
        200,
    )
    .await;
    assert!(next["events"][0]["id"].as_i64().unwrap() < before);
    assert_problem(
        app.api_get("/api/v1/audit-events?limit=1001", Some(&w.admin))
            .await,
        422,
    )
    .await;
    assert_problem(
        app.api_get("/api/v1/audit-events?limit=abc", Some(&w.admin))
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problem_details() {
    let app = spawn_app().await;
    let body = assert_problem(app.api_get("/api/v1/nothing-here", None).await, 404).await;
    assert_eq!(body["type"], "urn:tessera:problem:not-found");
    let wrong_method = app.api_get("/api/v1/sessions", None).await;
    assert_eq!(wrong_method.headers()["allow"], "POST");
    assert_problem(wrong_method, 405).await;
    assert_problem(app.api_delete("/api/v1/resources", None).await, 405).await;
}

/// SPEC §4's rows, as (method, path) in OpenAPI's spelling.
const SPEC_ROWS: [(&str, &str); 17] = [
    ("post", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/current"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/resources"),
    ("get", "/api/v1/applications"),
    ("get", "/api/v1/applications/{client_id}"),
    ("post", "/api/v1/applications/{client_id}/secrets"),
    (
        "delete",
        "/api/v1/applications/{client_id}/secrets/{secret_id}",
    ),
    ("post", "/api/v1/organisations"),
    ("get", "/api/v1/organisations"),
    ("post", "/api/v1/applications"),
    ("put", "/api/v1/applications/{client_id}/permissions"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users"),
    ("put", "/api/v1/me/password"),
    ("get", "/api/v1/audit-events"),
    ("get", "/api/v1/openapi.json"),
];

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let doc = json_of(app.api_get("/api/v1/openapi.json", None).await, 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in SPEC_ROWS {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    // The document is generated from the router: every operation it lists
    // is routed (an unrouted path would answer the not-found problem).
    let id = uuid::Uuid::new_v4().to_string();
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{client_id}", &id).replace("{secret_id}", &id);
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let body = (method != reqwest::Method::GET).then(|| json!({}));
            let response = app
                .api(method.clone(), &concrete, None, body.as_ref())
                .await;
            assert_ne!(response.status(), 405, "{method} {path}");
            if response.status() == 404 {
                let problem: Value = response.json().await.unwrap();
                assert_ne!(
                    problem["detail"], "no endpoint at this path; see GET /api/v1/openapi.json",
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    assert_eq!(operations, 17);
}

#[tokio::test]
async fn command_line_changes_are_audited_too() {
    let w = world().await;
    let app = &w.app;
    let org = app.cli_json(&["org", "create", "--name", "ViaCli", "--country", "BE"]);
    let org_id = org["id"].as_str().unwrap();
    let created = app.cli_json(&[
        "secret",
        "create",
        "--client-id",
        &w.client_a.client_id.to_string(),
        "--name",
        "From the CLI",
    ]);
    let log = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.admin)).await,
        200,
    )
    .await;
    let events = log["events"].as_array().unwrap();
    let org_event = events
        .iter()
        .find(|e| e["action"] == "organisation.created" && e["organisation_id"] == org_id)
        .unwrap();
    assert_eq!(org_event["actor"], "cli");
    assert!(org_event["client_address"].is_null());
    let secret_event = events
        .iter()
        .find(|e| e["action"] == "secret.created" && e["actor"] == "cli")
        .unwrap();
    assert_eq!(secret_event["organisation_id"], w.org_a.to_string());
    assert!(
        !log.to_string()
            .contains(created["secret"].as_str().unwrap())
    );
    let output = app.cli(&["app", "delete", &w.client_b.client_id.to_string()]);
    assert!(output.status.success());
    let log = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.manager_b))
            .await,
        200,
    )
    .await;
    let deleted = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "application.deleted")
        .unwrap();
    assert_eq!(deleted["actor"], "cli");
    assert_eq!(deleted["target"], w.client_b.client_id.to_string());
    // The organisation's manager sees the CLI's change to their application.
    let own = json_of(
        app.api_get("/api/v1/audit-events", Some(&w.manager_a))
            .await,
        200,
    )
    .await;
    assert!(
        own["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "cli")
    );
}

#[tokio::test]
async fn the_command_line_prints_the_served_openapi_document() {
    let app = spawn_app().await;
    let served = json_of(app.api_get("/api/v1/openapi.json", None).await, 200).await;
    let output = app.cli(&["openapi"]);
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, served);
}

#[tokio::test]
async fn user_creation_names_the_invalid_field() {
    let w = world().await;
    let app = &w.app;
    let cases = [
        (
            json!({"email": "x@example.org", "role": "owner"}),
            422,
            Some("role"),
        ),
        (
            json!({"email": "not an email", "role": "admin"}),
            422,
            Some("email"),
        ),
        (
            json!({"email": "x@example.org", "role": "credential-manager"}),
            422,
            Some("organisation_id"),
        ),
        (
            json!({"email": "x@example.org", "role": "credential-manager", "organisation_id": "nope"}),
            422,
            Some("organisation_id"),
        ),
        (
            json!({"email": "x@example.org", "role": "credential-manager", "organisation_id": uuid::Uuid::new_v4().to_string()}),
            404,
            None,
        ),
        (json!({"email": "x@example.org"}), 422, None),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(
            app.api_post("/api/v1/users", Some(&w.admin), &body).await,
            status,
        )
        .await;
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{body}");
        }
    }
    let users = json_of(app.api_get("/api/v1/users", Some(&w.admin)).await, 200).await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["email"] != "x@example.org"),
        "nothing was created"
    );
    let org = assert_problem(
        app.api_post(
            "/api/v1/organisations",
            Some(&w.admin),
            &json!({"name": "Has Spaces", "country": "NL"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(org["field"], "name");
    let country = assert_problem(
        app.api_post(
            "/api/v1/organisations",
            Some(&w.admin),
            &json!({"name": "Fine", "country": "XX"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(country["field"], "country");
}

#[tokio::test]
async fn names_that_could_deceive_a_reader_are_refused() {
    let w = world().await;
    let app = &w.app;
    let secrets = format!("/api/v1/applications/{}/secrets", w.client_a.client_id);
    // A right-to-left override (U+202E) makes a name read backwards from
    // that point; a line separator breaks a listing in two.
    for name in [
        "Secret by VM\u{202E}exe.gpj",
        "Secret\u{2028}by VM",
        "Secret\u{200B}",
        "Old\u{0007}",
    ] {
        let refused = assert_problem(
            app.api_post(&secrets, Some(&w.manager_a), &json!({"name": name}))
                .await,
            422,
        )
        .await;
        assert_eq!(refused["field"], "name", "{name:?}");
    }
    for email in ["ann\u{202E}@example.org", "ann@exa\u{2029}mple.org"] {
        let refused = assert_problem(
            app.api_post(
                "/api/v1/users",
                Some(&w.admin),
                &json!({"email": email, "role": "admin"}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(refused["field"], "email", "{email:?}");
    }
    // Nothing was created.
    let detail = json_of(
        app.api_get(
            &format!("/api/v1/applications/{}", w.client_a.client_id),
            Some(&w.manager_a),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(detail["secrets"].as_array().unwrap().len(), 1);
    // Letters of any script stay welcome.
    let created = json_of(
        app.api_post(
            &secrets,
            Some(&w.manager_a),
            &json!({"name": "Clé de Zoë — ВМ"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["name"], "Clé de Zoë — ВМ");
}

#[tokio::test]
async fn answers_that_carry_a_credential_are_never_cached() {
    let w = world().await;
    let app = &w.app;
    let signed_in = app
        .try_login(
            &w.manager_a_user.email,
            &w.manager_a_user.password,
            &app.totp_code_at(&w.manager_a_user, 1),
        )
        .await;
    let created_secret = app
        .api_post(
            &format!("/api/v1/applications/{}/secrets", w.client_a.client_id),
            Some(&w.manager_a),
            &json!({"name": "Secret by VM"}),
        )
        .await;
    let created_user = app
        .api_post(
            "/api/v1/users",
            Some(&w.admin),
            &json!({"email": "new@example.org", "role": "admin"}),
        )
        .await;
    let me = app.api_get("/api/v1/me", Some(&w.manager_a)).await;
    for (what, response, status) in [
        ("session", signed_in, 201),
        ("secret", created_secret, 201),
        ("user", created_user, 201),
        ("me", me, 200),
    ] {
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what}"
        );
    }
}
