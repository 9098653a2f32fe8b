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
    // Over HTTPS the name carries `__Host-`: only this host, over HTTPS,
    // can set it, and no sibling subdomain can shadow it.
    assert!(set_cookie(&response, "tessera_session").is_none());
    let session = set_cookie(&response, "__Host-tessera_session").unwrap();
    assert!(!session.contains("Domain="), "{session}");
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
    let html = too_late.text().await.unwrap();
    assert_refused_beside(
        &html,
        "secret-expires",
        "Choose a date at most one year ahead",
    );
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
    let html = dup.text().await.unwrap();
    assert_refused_beside(&html, "org-name", "This name is already taken.");
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

/// The opening tag of the element whose id is `id`.
fn tag_with_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no element #{id} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The text of the element whose id is `id`, up to its first child or end.
fn text_of(html: &str, id: &str) -> String {
    let tag = tag_with_id(html, id);
    let start = html.find(tag).unwrap() + tag.len();
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_owned()
}

/// What a person reads: the page without its tags (so without attribute
/// values such as `name="expires_on"`).
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The page says what is wrong with the field `field_id`, beside it and in
/// plain words: the field is marked invalid and described by the message,
/// it is the only field marked so, and nothing on the page reads like an
/// API error (backticks, snake_case field names).
fn assert_refused_beside(html: &str, field_id: &str, message: &str) {
    let field = tag_with_id(html, field_id);
    assert!(field.contains(r#"aria-invalid="true""#), "{field}");
    let error_id = format!("{field_id}-error");
    let described = input_value(field, r#"aria-describedby=""#)
        .unwrap_or_else(|| panic!("{field} has no aria-describedby"));
    assert!(
        described.split(' ').any(|id| id == error_id),
        "{field} is not described by #{error_id}"
    );
    let said = text_of(html, &error_id);
    assert!(
        said.contains(message),
        "#{error_id} says {said:?}, not {message:?}"
    );
    assert_eq!(
        html.matches(r#"aria-invalid="true""#).count(),
        1,
        "only #{field_id} is marked invalid"
    );
    let text = visible_text(html);
    assert!(!text.contains('`'), "backticks on the page: {text}");
    let snake = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.contains('_') && w.split('_').all(|part| !part.is_empty()));
    assert_eq!(snake, None, "a snake_case word on the page: {text}");
}

/// The `value` of the input `id`.
fn value_of(html: &str, id: &str) -> String {
    input_value(tag_with_id(html, id), r#"value=""#).unwrap_or_default()
}

/// Whether the select `id` has the option `value` selected.
fn selected(html: &str, id: &str, value: &str) -> bool {
    let start = html.find(tag_with_id(html, id)).unwrap();
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end].split("<option").any(|option| {
        option.contains(&format!(r#"value="{value}""#)) && option.contains(" selected")
    })
}

/// Whether the permission checkbox `value` is checked.
fn checked(html: &str, value: &str) -> bool {
    html.split("<input").any(|input| {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        tag.contains(r#"name="permission""#)
            && tag.contains(&format!(r#"value="{value}""#))
            && tag.contains(" checked")
    })
}

#[tokio::test]
async fn web_a_refused_secret_form_says_why_beside_the_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;
    let path = format!("/applications/{}/secrets", f.client_id);
    let in_two_months = (app.clock_now() + time::Duration::days(60))
        .date()
        .to_string();
    let post = |name: &'static str, expires_on: String| {
        let (app, web, path) = (&app, &web, &path);
        async move {
            let response = app
                .web_post(
                    path,
                    Some(&web.cookie),
                    &[
                        ("csrf", &web.csrf),
                        ("name", name),
                        ("expires_on", &expires_on),
                    ],
                )
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    // A name of only spaces: the date chosen stays.
    let (status, html) = post("   ", in_two_months.clone()).await;
    assert_eq!(status, 422);
    assert_refused_beside(
        &html,
        "secret-name",
        "Give the secret a name of 1 to 100 characters",
    );
    assert_eq!(value_of(&html, "secret-expires"), in_two_months);

    // A date in the past, a date the page cannot read: the name stays.
    let (status, html) = post("Secret by VM", "2001-02-03".into()).await;
    assert_eq!(status, 422);
    assert_refused_beside(&html, "secret-expires", "Choose a date in the future.");
    assert_eq!(value_of(&html, "secret-name"), "Secret by VM");
    assert_eq!(value_of(&html, "secret-expires"), "2001-02-03");

    let (status, html) = post("Secret by VM", "31/01/2027".into()).await;
    assert_eq!(status, 422);
    assert_refused_beside(&html, "secret-expires", "Enter a date such as 2027-01-31.");
    assert_eq!(value_of(&html, "secret-name"), "Secret by VM");

    assert_eq!(secret_count(&app, f.client_id).await, 1);
}

/// An admin signed in to the web page, with an organisation to choose.
async fn admin_with_org(app: &TestApp) -> (WebSession, OrganisationId) {
    let org = app.create_org().await;
    let admin = app.create_user(Role::Admin, None).await;
    (app.web_sign_in(&admin).await, org)
}

#[tokio::test]
async fn web_a_refused_organisation_form_says_why_beside_the_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (web, _) = admin_with_org(&app).await;
    let post = |name: &'static str, country: &'static str| {
        let (app, web) = (&app, &web);
        async move {
            let response = app
                .web_post(
                    "/organisations",
                    Some(&web.cookie),
                    &[("csrf", &web.csrf), ("name", name), ("country", country)],
                )
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let (status, html) = post("GoodName", "ZZ").await;
    assert_eq!(status, 422);
    assert_refused_beside(
        &html,
        "org-country",
        "Use a two-letter country code, such as NL.",
    );
    assert_eq!(value_of(&html, "org-name"), "GoodName");
    assert_eq!(value_of(&html, "org-country"), "ZZ");

    let (status, html) = post("Not a name!", "NL").await;
    assert_eq!(status, 422);
    assert_refused_beside(&html, "org-name", "Use 1 to 64 letters and digits");
    assert_eq!(value_of(&html, "org-name"), "Not a name!");
    assert_eq!(value_of(&html, "org-country"), "NL");

    assert_eq!(
        app.admin.organisations(&Acting::cli()).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn web_a_refused_application_form_says_why_beside_the_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (web, org) = admin_with_org(&app).await;
    let org_id = org.to_string();
    let post = |form: Vec<(&'static str, String)>| {
        let (app, web) = (&app, &web);
        async move {
            let mut fields = vec![("csrf", web.csrf.as_str())];
            fields.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
            let response = app
                .web_post("/applications", Some(&web.cookie), &fields)
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    // An API code in lower case: the organisation, kind and permissions stay.
    let (status, html) = post(vec![
        ("organisation_id", org_id.clone()),
        ("api", "smc".into()),
        ("kind", "partner".into()),
        ("permission", "search-match-sandbox".into()),
        ("permission", "data-manager-production".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert_refused_beside(&html, "app-api", "Use 2 to 5 capital letters, such as SMC.");
    assert_eq!(value_of(&html, "app-api"), "smc");
    assert!(selected(&html, "app-org", &org_id), "organisation kept");
    assert!(selected(&html, "app-kind", "partner"), "kind kept");
    assert!(checked(&html, "search-match-sandbox") && checked(&html, "data-manager-production"));
    assert!(!checked(&html, "match-connect-sandbox"));

    // A partner-alternative application with a permission it may not hold.
    let (status, html) = post(vec![
        ("organisation_id", org_id.clone()),
        ("api", "MC".into()),
        ("kind", "partner-alternative".into()),
        ("permission", "search-match-sandbox".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert_refused_beside(
        &html,
        "app-permissions",
        "A partner-alternative application may hold only Match-Connect sandbox.",
    );
    assert_eq!(value_of(&html, "app-api"), "MC");
    assert!(selected(&html, "app-kind", "partner-alternative"));
    assert!(checked(&html, "search-match-sandbox"));

    // An organisation id the page cannot read.
    let (status, html) = post(vec![
        ("organisation_id", "not-an-id".into()),
        ("api", "DM".into()),
        ("permission", "data-manager-sandbox".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert_refused_beside(&html, "app-org", "Choose an organisation from the list.");
    assert_eq!(value_of(&html, "app-api"), "DM");
    assert!(checked(&html, "data-manager-sandbox"));

    // The same API twice for one organisation: its derived name is taken.
    let first = vec![("organisation_id", org_id.clone()), ("api", "SMC".into())];
    assert_eq!(post(first.clone()).await.0, 303);
    let (status, html) = post(first).await;
    assert_eq!(status, 409);
    assert_refused_beside(
        &html,
        "app-api",
        "This organisation already has an application for this API.",
    );
    assert_eq!(
        app.admin
            .applications(&Acting::cli(), Some(org))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn web_a_refused_user_form_says_why_beside_the_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (web, org) = admin_with_org(&app).await;
    let org_id = org.to_string();
    let post = |email: &'static str, role: &'static str, organisation: String| {
        let (app, web) = (&app, &web);
        async move {
            let response = app
                .web_post(
                    "/users",
                    Some(&web.cookie),
                    &[
                        ("csrf", &web.csrf),
                        ("email", email),
                        ("role", role),
                        ("organisation_id", &organisation),
                    ],
                )
                .await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let (status, html) = post("not-an-email", "credential-manager", org_id.clone()).await;
    assert_eq!(status, 422);
    assert_refused_beside(
        &html,
        "user-email",
        "Enter an email address, such as name@example.org.",
    );
    assert_eq!(value_of(&html, "user-email"), "not-an-email");
    assert!(selected(&html, "user-role", "credential-manager"));
    assert!(selected(&html, "user-org", &org_id), "organisation kept");

    // A credential manager needs an organisation.
    let (status, html) = post("cm@example.org", "credential-manager", String::new()).await;
    assert_eq!(status, 422);
    assert_refused_beside(
        &html,
        "user-org",
        "Choose the organisation this credential manager belongs to.",
    );
    assert_eq!(value_of(&html, "user-email"), "cm@example.org");

    // The same email twice.
    assert_eq!(
        post("twice@example.org", "admin", String::new()).await.0,
        200
    );
    let (status, html) = post("twice@example.org", "admin", String::new()).await;
    assert_eq!(status, 409);
    assert_refused_beside(
        &html,
        "user-email",
        "A user with this email already exists.",
    );
    assert!(selected(&html, "user-role", "admin"), "role kept");
}

#[tokio::test]
async fn web_a_post_that_is_not_a_form_or_is_too_large_gets_a_clear_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let web = app.web_sign_in(&f.manager).await;
    let path = format!("{}/applications/{}/secrets", app.address, f.client_id);
    let json = app
        .client
        .post(&path)
        .header("cookie", &web.cookie)
        .header("content-type", "application/json")
        .body(r#"{"name":"Secret by VM"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    assert!(
        json.text()
            .await
            .unwrap()
            .contains("This address takes a form.")
    );

    let name = "a".repeat(20 * 1024);
    let large = app
        .web_post(
            &format!("/applications/{}/secrets", f.client_id),
            Some(&web.cookie),
            &[("csrf", &web.csrf), ("name", &name)],
        )
        .await;
    assert_eq!(large.status(), 413);
    assert!(large.text().await.unwrap().contains("it may be too large"));
    assert_eq!(secret_count(&app, f.client_id).await, 1);
}
