//! The web page over real HTTP: sign-in with TOTP into a cookie session,
//! CSRF refusals, the one-time display of a new secret, organisation
//! boundaries, admin-only pages and the security headers.

use crate::helpers::{
    TestApp, TestUser, WebSession, cookie_pair, csrf_of, input_value, set_cookie, spawn_app,
    spawn_app_with,
};
use tessera_admin::Acting;
use tessera_core::application::ApplicationKind;
use tessera_core::ids::{ClientId, OrganisationId};
use tessera_core::user::Role;

/// A credential manager of a new organisation holding one application with
/// one secret (the "old" secret of a rotation).
struct Fixture {
    manager: TestUser,
    org: OrganisationId,
    client_id: ClientId,
    app_name: String,
    old_secret: String,
    old_secret_id: tessera_core::ids::SecretId,
}

async fn fixture(app: &TestApp) -> Fixture {
    let org = app.create_org().await;
    let application = app
        .admin
        .create_application(
            &Acting::cli(),
            org,
            "SMC",
            ApplicationKind::Partner,
            &["search-match-production", "search-match-sandbox"],
        )
        .await
        .unwrap();
    let old = app
        .admin
        .create_secret(&Acting::cli(), application.client_id, "Old secret", None)
        .await
        .unwrap();
    Fixture {
        manager: app.create_user(Role::CredentialManager, Some(org)).await,
        org,
        client_id: application.client_id,
        app_name: application.name.as_ref().to_owned(),
        old_secret: old.secret.expose().to_owned(),
        old_secret_id: old.record.id,
    }
}

async fn secret_count(app: &TestApp, client_id: ClientId) -> usize {
    app.admin
        .secrets(&Acting::cli(), client_id)
        .await
        .unwrap()
        .len()
}

async fn token_status(app: &TestApp, client_id: ClientId, secret: &str) -> u16 {
    app.post_token(
        &[("grant_type", "client_credentials")],
        Some((&client_id.to_string(), secret)),
    )
    .await
    .status()
    .as_u16()
}

async fn create_secret(app: &TestApp, web: &WebSession, client_id: ClientId) -> reqwest::Response {
    app.web_post(
        &format!("/applications/{client_id}/secrets"),
        Some(&web.cookie),
        &[("csrf", &web.csrf), ("name", "Secret by VM")],
    )
    .await
}

#[tokio::test]
async fn web_sign_in_with_totp_sets_a_strict_http_only_session_cookie() {
    let app = spawn_app().await;
    let f = fixture(&app).await;

    // Not signed in: every page leads to the sign-in page.
    let root = app.web_get("/", None).await;
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/sign-in");
    let apps = app.web_get("/applications", None).await;
    assert_eq!(apps.status(), 303);
    assert_eq!(apps.headers()["location"], "/sign-in");

    let page = app.web_get("/sign-in", None).await;
    let pre = set_cookie(&page, "tessera_sign_in").unwrap();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );
    assert!(!pre.contains("Secure"), "plain HTTP issuer: {pre}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains(r#"<label for="totp_code">"#));

    let web = app.web_sign_in(&f.manager).await;
    // The cookie holds a session of the management API: the same token works as a bearer.
    let token = web.cookie.trim_start_matches("tessera_session=");
    assert_eq!(app.api_get("/api/v1/me", Some(token)).await.status(), 200);

    let page = app.web_get("/applications", Some(&web.cookie)).await;
    let html = page.text().await.unwrap();
    assert!(html.contains(&f.app_name));
    assert!(html.contains(&f.client_id.to_string()));
    assert!(html.contains("Search and Match production"));
    assert!(html.contains("Search and Match sandbox"));
    let root = app.web_get("/", Some(&web.cookie)).await;
    assert_eq!(root.headers()["location"], "/applications");
}

#[tokio::test]
async fn web_session_cookie_flags_and_security_headers() {
    let app = spawn_app_with(|s| s.issuer = "https://auth.registry.example".into()).await;
    let f = fixture(&app).await;
    let (cookie, csrf) = app.web_sign_in_form().await;
    app.clock.advance(time::Duration::seconds(30));
    let code = app.totp_code(&f.manager);
    let response = app
        .web_post(
            "/sign-in",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("email", &f.manager.email),
                ("password", &f.manager.password),
                ("totp_code", &code),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let session = set_cookie(&response, "tessera_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(session.contains(flag), "{flag} missing from {session}");
    }
    assert!(
        !session.contains("Max-Age"),
        "a browser-session cookie: {session}"
    );

    let page = app
        .web_get("/applications", Some(&cookie_pair(&session)))
        .await;
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("style=\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );

    // The stylesheet and script: from this origin, cached for a year.
    let css = input_value(&html, r#"<link rel="stylesheet" href=""#).unwrap();
    let js = input_value(&html, r#"<script src=""#).unwrap();
    for asset in [css, js] {
        let response = app.web_get(&asset, None).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=31536000")
        );
    }
    assert_eq!(app.web_get("/assets/app-0.css", None).await.status(), 404);
}

#[tokio::test]
async fn web_wrong_code_and_locked_account_get_one_clear_message() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (cookie, csrf) = app.web_sign_in_form().await;
    let attempt = |code: String| {
        let (cookie, csrf, email, password) = (
            cookie.clone(),
            csrf.clone(),
            f.manager.email.clone(),
            f.manager.password.clone(),
        );
        let app = &app;
        async move {
            app.web_post(
                "/sign-in",
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("email", &email),
                    ("password", &password),
                    ("totp_code", &code),
                ],
            )
            .await
        }
    };
    let wrong = attempt("000000".into()).await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "tessera_session").is_none());
    let message = "Wrong email, password or code. After 5 failed sign-ins in a row an account is locked for 15 minutes.";
    let html = wrong.text().await.unwrap();
    assert!(html.contains(message), "{html}");
    assert!(
        html.contains(&f.manager.email),
        "the email is kept in the form"
    );
    for _ in 0..4 {
        assert_eq!(attempt("000000".into()).await.status(), 401);
    }
    // Locked: the right password and code get the same answer.
    app.clock.advance(time::Duration::seconds(30));
    let locked = attempt(app.totp_code(&f.manager)).await;
    assert_eq!(locked.status(), 401);
    assert!(locked.text().await.unwrap().contains(message));
}

#[tokio::test]
async fn web_forms_without_the_right_csrf_token_change_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;
    let secrets = format!("/applications/{}/secrets", f.client_id);
    let delete = format!(
        "/applications/{}/secrets/{}/delete",
        f.client_id, f.old_secret_id
    );

    // Another session's token is as wrong as none.
    let other = app.web_sign_in(&f.manager).await;
    assert_ne!(other.csrf, web.csrf);
    for csrf in [None, Some("forged"), Some(other.csrf.as_str())] {
        let mut form = vec![("name", "Secret by attacker")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let create = app.web_post(&secrets, Some(&web.cookie), &form).await;
        assert_eq!(create.status(), 403);
        assert!(create.text().await.unwrap().contains("nothing was changed"));
        let removal = app.web_post(&delete, Some(&web.cookie), &form[1..]).await;
        assert_eq!(removal.status(), 403);
        let sign_out = app
            .web_post("/sign-out", Some(&web.cookie), &form[1..])
            .await;
        assert_eq!(sign_out.status(), 403);
    }
    assert_eq!(secret_count(&app, f.client_id).await, 1);
    assert_eq!(token_status(&app, f.client_id, &f.old_secret).await, 200);
    assert_eq!(
        app.web_get("/applications", Some(&web.cookie))
            .await
            .status(),
        200
    );

    // Sign-in (login CSRF): the form token must match its cookie.
    let (cookie, csrf) = app.web_sign_in_form().await;
    app.clock.advance(time::Duration::seconds(30));
    let code = app.totp_code(&f.manager);
    let form = [
        ("csrf", "another value"),
        ("email", f.manager.email.as_str()),
        ("password", f.manager.password.as_str()),
        ("totp_code", code.as_str()),
    ];
    let refused = app.web_post("/sign-in", Some(&cookie), &form).await;
    assert_eq!(refused.status(), 403);
    assert!(set_cookie(&refused, "tessera_session").is_none());
    let mut form = form;
    form[0].1 = &csrf;
    let no_cookie = app.web_post("/sign-in", None, &form).await;
    assert_eq!(no_cookie.status(), 403);
    // The code was not used up by the refused attempts.
    assert_eq!(
        app.web_post("/sign-in", Some(&cookie), &form)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn web_a_new_secret_is_shown_once_and_never_on_the_application_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;

    let created = create_secret(&app, &web, f.client_id).await;
    assert_eq!(created.status(), 200);
    assert!(
        created.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let html = created.text().await.unwrap();
    let value = input_value(
        &html,
        r#"id="new-secret-value" type="text" readonly value=""#,
    )
    .unwrap();
    assert!(value.len() >= 43, "256 bits, base64url");
    assert!(html.contains("it will not be shown again"));
    assert!(html.contains(&format!(r#"data-one-time="/applications/{}""#, f.client_id)));
    assert_eq!(token_status(&app, f.client_id, &value).await, 200);

    let page = app
        .web_get(&format!("/applications/{}", f.client_id), Some(&web.cookie))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains(&value),
        "the application page never holds the secret"
    );
    assert!(html.contains("Secret by VM") && html.contains(&value[..3]));
    assert!(html.contains(&f.manager.email), "created by");
    assert_eq!(secret_count(&app, f.client_id).await, 2);

    // Refused input is shown on the form and changes nothing.
    let too_late = app
        .web_post(
            &format!("/applications/{}/secrets", f.client_id),
            Some(&web.cookie),
            &[
                ("csrf", &web.csrf),
                ("name", "Too late"),
                ("expires_on", "2999-01-01"),
            ],
        )
        .await;
    assert_eq!(too_late.status(), 422);
    assert!(too_late.text().await.unwrap().contains("at most one year"));
    assert_eq!(secret_count(&app, f.client_id).await, 2);
}

#[tokio::test]
async fn web_deleting_a_secret_warns_when_recently_used_and_stops_its_tokens() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;
    assert_eq!(token_status(&app, f.client_id, &f.old_secret).await, 200);
    // Uses are written behind, every second in tests.
    let confirm = format!(
        "/applications/{}/secrets/{}/delete",
        f.client_id, f.old_secret_id
    );
    let mut warned = false;
    for _ in 0..50 {
        let html = app
            .web_get(&confirm, Some(&web.cookie))
            .await
            .text()
            .await
            .unwrap();
        if html.contains("Systems that use it will stop working immediately") {
            assert!(html.contains("Old secret"));
            warned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        warned,
        "the confirmation warns about a secret used recently"
    );

    let deleted = app
        .web_post(&confirm, Some(&web.cookie), &[("csrf", &web.csrf)])
        .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(
        deleted.headers()["location"],
        format!("/applications/{}?notice=secret-deleted", f.client_id).as_str()
    );
    assert_eq!(token_status(&app, f.client_id, &f.old_secret).await, 401);
    assert_eq!(secret_count(&app, f.client_id).await, 0);
}

#[tokio::test]
async fn web_another_organisations_application_is_not_found() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let other = fixture(&app).await;
    let web = app.web_sign_in(&other.manager).await;

    let list = app
        .web_get("/applications", Some(&web.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&other.client_id.to_string()));
    assert!(!list.contains(&f.client_id.to_string()));
    let page = format!("/applications/{}", f.client_id);
    assert_eq!(app.web_get(&page, Some(&web.cookie)).await.status(), 404);
    let create = create_secret(&app, &web, f.client_id).await;
    assert_eq!(create.status(), 404);
    let delete = format!("{page}/secrets/{}/delete", f.old_secret_id);
    assert_eq!(app.web_get(&delete, Some(&web.cookie)).await.status(), 404);
    let removal = app
        .web_post(&delete, Some(&web.cookie), &[("csrf", &web.csrf)])
        .await;
    assert_eq!(removal.status(), 404);
    assert_eq!(secret_count(&app, f.client_id).await, 1);
    assert_eq!(
        app.web_get("/applications/not-a-uuid", Some(&web.cookie))
            .await
            .status(),
        404
    );
    let _ = f.org;
}

#[tokio::test]
async fn web_admin_pages_are_for_admins_only() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let manager = app.web_sign_in(&f.manager).await;
    let page = app
        .web_get("/applications", Some(&manager.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(r#"href="/organisations""#));
    assert_eq!(
        app.web_get("/organisations", Some(&manager.cookie))
            .await
            .status(),
        403
    );
    let csrf = manager.csrf.as_str();
    let refused = [
        (
            "/organisations",
            vec![("csrf", csrf), ("name", "Sneaky"), ("country", "NL")],
        ),
        (
            "/users",
            vec![
                ("csrf", csrf),
                ("email", "x@example.org"),
                ("role", "admin"),
            ],
        ),
        (
            "/applications",
            vec![("csrf", csrf), ("organisation_id", ""), ("api", "SMC")],
        ),
    ];
    for (path, form) in &refused {
        assert_eq!(
            app.web_post(path, Some(&manager.cookie), form)
                .await
                .status(),
            403,
            "{path}"
        );
    }
    assert_eq!(
        app.admin.organisations(&Acting::cli()).await.unwrap().len(),
        1
    );

    let admin_user = app.create_user(Role::Admin, None).await;
    let admin = app.web_sign_in(&admin_user).await;
    let orgs = app.web_get("/organisations", Some(&admin.cookie)).await;
    assert_eq!(orgs.status(), 200);
    let csrf = csrf_of(&orgs.text().await.unwrap());
    let created = app
        .web_post(
            "/organisations",
            Some(&admin.cookie),
            &[("csrf", &csrf), ("name", "WebOrg"), ("country", "de")],
        )
        .await;
    assert_eq!(created.status(), 303);
    let org = app
        .admin
        .organisations(&Acting::cli())
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name.as_ref() == "WebOrg")
        .unwrap();
    let application = app
        .web_post(
            "/applications",
            Some(&admin.cookie),
            &[
                ("csrf", &csrf),
                ("organisation_id", &org.id.to_string()),
                ("api", "DM"),
                ("kind", "partner"),
                ("permission", "data-manager-production"),
                ("permission", "data-manager-sandbox"),
            ],
        )
        .await;
    assert_eq!(application.status(), 303);
    let apps = app
        .admin
        .applications(&Acting::cli(), Some(org.id))
        .await
        .unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].name.as_ref(), "Partner-DE-WebOrg-DM");
    assert_eq!(apps[0].permissions.len(), 2);

    let user = app
        .web_post(
            "/users",
            Some(&admin.cookie),
            &[
                ("csrf", &csrf),
                ("email", "new.manager@example.org"),
                ("role", "credential-manager"),
                ("organisation_id", &org.id.to_string()),
            ],
        )
        .await;
    assert_eq!(user.status(), 200);
    assert!(
        user.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let html = user.text().await.unwrap();
    assert!(
        input_value(&html, r#"id="new-user-totp" type="text" readonly value=""#)
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // A refused form says why, on the page.
    let dup = app
        .web_post(
            "/organisations",
            Some(&admin.cookie),
            &[("csrf", &csrf), ("name", "WebOrg"), ("country", "DE")],
        )
        .await;
    assert_eq!(dup.status(), 409);
    assert!(dup.text().await.unwrap().contains("already taken"));
}

#[tokio::test]
async fn web_sign_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;
    let out = app
        .web_post("/sign-out", Some(&web.cookie), &[("csrf", &web.csrf)])
        .await;
    assert_eq!(out.status(), 303);
    assert!(
        set_cookie(&out, "tessera_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie no longer works, even if a browser kept it.
    let after = app.web_get("/applications", Some(&web.cookie)).await;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/sign-in");
    let token = web.cookie.trim_start_matches("tessera_session=");
    assert_eq!(app.api_get("/api/v1/me", Some(token)).await.status(), 401);
}

#[tokio::test]
async fn web_secrets_expiring_within_a_month_and_expired_ones_are_marked() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let soon = app.clock_now() + time::Duration::days(10);
    app.add_secret(f.client_id, Some(soon)).await;
    let page = format!("/applications/{}", f.client_id);

    let web = app.web_sign_in(&f.manager).await;
    let html = app
        .web_get(&page, Some(&web.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("Expires soon").count(),
        1,
        "only the 10-day secret"
    );
    assert!(html.contains("(in 10 days)") || html.contains("(in 9 days)"));
    assert!(!html.contains(r#"class="badge expired""#));

    // Eleven days later (the session has ended meanwhile: sign in again).
    app.clock.advance(time::Duration::days(11));
    let web = app.web_sign_in(&f.manager).await;
    let html = app
        .web_get(&page, Some(&web.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<span class="badge expired">Expired</span>"#),
        "{html}"
    );
    assert!(html.contains("expired 1 day ago") || html.contains("expired today"));
}
