//! The pages, as compile-time `maud` templates: every value is escaped by
//! the template engine, and nothing is inline (no script, no style
//! attribute), so the Content-Security-Policy can forbid both.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use tessera_core::application::Application;
use tessera_core::organisation::Organisation;
use tessera_core::resource::{Environment, ResourceCatalog};
use tessera_core::secret::{SecretRecord, SecretStatus};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use super::ASSETS;

/// A rendered page with its status.
pub struct Page {
    status: StatusCode,
    markup: Markup,
    shown_once: bool,
}

impl Page {
    /// A page answered with `status`.
    pub fn new(status: StatusCode, markup: Markup) -> Self {
        Self {
            status,
            markup,
            shown_once: false,
        }
    }

    /// A page that shows a value once (a new secret, a new password): it
    /// must never be stored by a cache or the browser.
    pub fn shown_once(markup: Markup) -> Self {
        Self {
            status: StatusCode::OK,
            markup,
            shown_once: true,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.markup.into_string())).into_response();
        // Every page is no-store (see the security headers); a page showing
        // a value once also says `private` and forbids back/forward reuse
        // by older caches through `Pragma`.
        if self.shown_once {
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, private"),
            );
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        response
    }
}

/// Who is signed in, for the header of every page.
pub struct Nav<'a> {
    /// The user's email.
    pub email: &'a str,
    /// Whether the user is an admin.
    pub admin: bool,
    /// The CSRF token for the sign-out form.
    pub csrf: &'a str,
    /// The current section: `applications` or `organisations`.
    pub current: &'a str,
}

fn layout(title: &str, nav: Option<&Nav<'_>>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tessera" }
                link rel="stylesheet" href=(ASSETS.css);
                script src=(ASSETS.js) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    div.brand { "Tessera " span.sub { "Manage API Credentials" } }
                    @if let Some(nav) = nav {
                        nav aria-label="Main" {
                            a href="/applications" aria-current=[(nav.current == "applications").then_some("page")] { "Applications" }
                            @if nav.admin {
                                a href="/organisations" aria-current=[(nav.current == "organisations").then_some("page")] { "Organisations" }
                            }
                        }
                        div.who {
                            span.email { (nav.email) }
                            form method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(nav.csrf);
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (content) }
            }
        }
    }
}

/// An error page.
pub fn error_page(status: StatusCode, message: &str) -> Page {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    Page::new(
        status,
        layout(
            title,
            None,
            html! {
                h1 { (title) }
                p.error role="alert" { (message) }
                p { a href="/applications" { "Back to the applications" } }
            },
        ),
    )
}

/// The sign-in page.
pub fn sign_in(
    csrf: &str,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
    lock_hint: &str,
) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            div.narrow {
                h1 { "Sign in" }
                @if let Some(notice) = notice { p.notice role="status" { (notice) } }
                @if let Some(error) = error { p.error #sign-in-error role="alert" { (error) } }
                form.stack method="post" action="/sign-in" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus[email.is_empty()];
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required autofocus[!email.is_empty()];
                    label for="totp_code" { "Code from your authenticator app" }
                    input #totp_code type="text" name="totp_code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required aria-describedby="totp-help";
                    p.help #totp-help { "The 6-digit code your authenticator app shows for Tessera." }
                    button type="submit" { "Sign in" }
                }
                p.help { (lock_hint) }
            }
        },
    )
}

fn utc(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

fn day(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// "in 12 days", "expired 3 days ago".
fn expiry_phrase(expires_at: OffsetDateTime, now: OffsetDateTime) -> String {
    let left = expires_at - now;
    if left <= Duration::ZERO {
        let ago = (-left).whole_days();
        if ago == 0 {
            "expired today".to_owned()
        } else {
            format!("expired {} ago", plural(ago, "day"))
        }
    } else if left < Duration::days(1) {
        "in less than a day".to_owned()
    } else {
        format!("in {}", plural(left.whole_days(), "day"))
    }
}

fn ago(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = now - t;
    if d < Duration::minutes(1) {
        "just now".to_owned()
    } else if d < Duration::hours(1) {
        format!("{} ago", plural(d.whole_minutes(), "minute"))
    } else if d < Duration::days(2) {
        format!("{} ago", plural(d.whole_hours(), "hour"))
    } else {
        format!("{} ago", plural(d.whole_days(), "day"))
    }
}

/// An application's permissions by environment: (production, sandbox).
fn permissions(app: &Application, catalog: &ResourceCatalog) -> (Vec<String>, Vec<String>) {
    let mut production = Vec::new();
    let mut sandbox = Vec::new();
    for id in app.permissions.iter() {
        match catalog.get(id) {
            Some(r) if r.environment == Environment::Production => production.push(r.name.clone()),
            Some(r) => sandbox.push(r.name.clone()),
            None => sandbox.push(id.to_string()),
        }
    }
    (production, sandbox)
}

fn permission_list(names: &[String]) -> Markup {
    html! {
        @if names.is_empty() { span.muted { "none" } }
        @else { ul.plain { @for n in names { li { (n) } } } }
    }
}

fn copy_button(target: &str, label: &str) -> Markup {
    html! {
        button.copy.secondary type="button" data-copy=(target) aria-label=(label) hidden { "Copy" }
    }
}

/// One row of the applications page.
pub struct ApplicationRow<'a> {
    /// The application.
    pub app: &'a Application,
    /// Its organisation's name.
    pub organisation: &'a str,
}

/// The applications page.
pub fn applications(
    nav: &Nav<'_>,
    rows: &[ApplicationRow<'_>],
    catalog: &ResourceCatalog,
    admin_forms: Option<Markup>,
) -> Markup {
    layout(
        "Applications",
        Some(nav),
        html! {
            h1 { "Applications" }
            @if rows.is_empty() {
                p { "There are no applications you may see yet." }
            } @else {
                p.help { "Open an application to see and rotate its client secrets." }
                div.cards {
                    @for row in rows {
                        @let (production, sandbox) = permissions(row.app, catalog);
                        @let cid = row.app.client_id.to_string();
                        @let code_id = format!("client-id-{cid}");
                        section.card.application data-client-id=(cid) {
                            h2 { a href={ "/applications/" (cid) } { (row.app.name.as_ref()) } }
                            dl {
                                dt { "client_id" }
                                dd.copyable { code id=(code_id) { (cid) } (copy_button(&code_id, &format!("Copy the client_id of {}", row.app.name.as_ref()))) }
                                dt { "Organisation" }
                                dd { (row.organisation) }
                                dt { "Production" }
                                dd { (permission_list(&production)) }
                                dt { "Sandbox" }
                                dd { (permission_list(&sandbox)) }
                            }
                        }
                    }
                }
            }
            @if let Some(forms) = admin_forms { (forms) }
        },
    )
}

/// A secret just created, shown on this one answer.
pub struct NewSecret<'a> {
    /// Its name.
    pub name: &'a str,
    /// The value.
    pub value: &'a str,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Advice when it lives under 30 days.
    pub advice: Option<String>,
}

/// Defaults and limits of the "create new secret" form.
pub struct SecretFormLimits {
    /// Today (UTC): the earliest date, refused as not in the future.
    pub today: Date,
    /// One year ahead: the default and the latest date.
    pub latest: Date,
}

/// The values typed into the secret form, kept when it is refused.
#[derive(Default)]
pub struct SecretFormInput<'a> {
    /// The name typed.
    pub name: &'a str,
    /// The date chosen.
    pub expires_on: Option<&'a str>,
    /// Why it was refused.
    pub error: Option<&'a str>,
}

/// The "create new secret" form: in a dialog on the application page, and
/// on a page of its own without script.
pub fn secret_form(
    client_id: &str,
    csrf: &str,
    limits: &SecretFormLimits,
    input: &SecretFormInput<'_>,
) -> Markup {
    let latest = day(limits.latest);
    html! {
        form.stack.secret-form method="post" action={ "/applications/" (client_id) "/secrets" } {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(error) = input.error { p.error role="alert" { (error) } }
            label for="secret-name" { "Name" }
            input #secret-name type="text" name="name" value=(input.name) maxlength="100" required aria-describedby="secret-name-help";
            p.help #secret-name-help { "Say who made it, for example \"Secret by VM\"." }
            label for="secret-expires" { "Expires on (UTC)" }
            input #secret-expires type="date" name="expires_on" value=(input.expires_on.unwrap_or(&latest)) min=(day(limits.today)) max=(latest) required aria-describedby="secret-expires-help";
            p.help #secret-expires-help { "At most one year ahead, which is the default and what we recommend. A shorter life means rotating sooner." }
            p.advice #secret-expires-advice hidden { "This secret will live less than 30 days. One year is recommended unless it is only for a test." }
            div.actions {
                button type="submit" { "Create secret" }
                button.secondary type="button" data-close hidden { "Cancel" }
            }
        }
    }
}

/// Whether a secret was used so recently that deleting it likely breaks a
/// system that still uses it.
pub fn recently_used(secret: &SecretRecord, now: OffsetDateTime) -> bool {
    secret
        .last_used_at
        .is_some_and(|t| now - t < Duration::hours(24))
}

/// The confirmation before deleting a secret.
pub fn delete_form(
    client_id: &str,
    secret: &SecretRecord,
    csrf: &str,
    now: OffsetDateTime,
) -> Markup {
    html! {
        form.stack method="post" action={ "/applications/" (client_id) "/secrets/" (secret.id) "/delete" } {
            input type="hidden" name="csrf" value=(csrf);
            p { "Delete the secret " strong { "“" (secret.name.as_ref()) "”" } " (starts with " code { (secret.hint) } ")? This cannot be undone." }
            @if recently_used(secret, now) {
                p.warning role="alert" {
                    "This secret was used " (ago(secret.last_used_at.unwrap_or(now), now)) ". "
                    strong { "Systems that use it will stop working immediately." }
                    " Make sure they use the new secret first."
                }
            } @else if secret.last_used_at.is_none() {
                p.help { "It has never been used to get a token." }
            }
            div.actions {
                button.danger type="submit" { "Delete “" (secret.name.as_ref()) "”" }
                button.secondary type="button" data-close hidden { "Cancel" }
            }
        }
    }
}

/// Everything the application page shows.
pub struct ApplicationPage<'a> {
    /// The application.
    pub app: &'a Application,
    /// Its organisation's name.
    pub organisation: &'a str,
    /// Its secrets, oldest first.
    pub secrets: &'a [SecretRecord],
    /// The time the page describes.
    pub now: OffsetDateTime,
    /// The CSRF token of the forms.
    pub csrf: &'a str,
    /// The secret just created, on the answer that created it only.
    pub new_secret: Option<NewSecret<'a>>,
    /// A message about what was just done.
    pub notice: Option<&'a str>,
    /// The secret form's limits.
    pub limits: SecretFormLimits,
}

/// The most secrets an application may hold.
const MAX_SECRETS: usize = 5;

/// An application with its secrets.
pub fn application(nav: &Nav<'_>, page: &ApplicationPage<'_>, catalog: &ResourceCatalog) -> Markup {
    let app = page.app;
    let cid = app.client_id.to_string();
    let (production, sandbox) = permissions(app, catalog);
    let full = page.secrets.len() >= MAX_SECRETS;
    layout(
        app.name.as_ref(),
        Some(nav),
        html! {
            p.crumbs { a href="/applications" { "Applications" } " / " }
            h1 { (app.name.as_ref()) }
            @if let Some(new) = &page.new_secret {
                section.one-time #new-secret aria-labelledby="new-secret-title" data-one-time={ "/applications/" (cid) } {
                    h2 #new-secret-title { "New secret “" (new.name) "” created" }
                    p.warning { strong { "Copy it now: it will not be shown again." } " Tessera keeps only a hash of it, so nobody can show it to you later." }
                    label for="new-secret-value" { "Client secret" }
                    div.copyable {
                        input #new-secret-value type="text" readonly value=(new.value) autocomplete="off" spellcheck="false";
                        (copy_button("new-secret-value", "Copy the new client secret"))
                    }
                    p.help { "It expires " (utc(new.expires_at)) "." }
                    @if let Some(advice) = &new.advice { p.advice { (super::session::upper_first(advice)) "." } }
                    p { "Next: put it in the partner system, check below that its " em { "last used" } " appears, then delete the old secret." }
                }
            }
            @if let Some(notice) = page.notice { p.notice role="status" { (notice) } }
            dl.summary {
                dt { "client_id" }
                dd.copyable { code #client-id { (cid) } (copy_button("client-id", "Copy the client_id")) }
                dt { "Organisation" }
                dd { (page.organisation) }
                dt { "Kind" }
                dd { (app.kind.as_str()) }
                dt { "Production" }
                dd { (permission_list(&production)) }
                dt { "Sandbox" }
                dd { (permission_list(&sandbox)) }
            }
            div.heading-row {
                h2 { "Client secrets" }
                @if full {
                    p.help { "This application holds " (MAX_SECRETS) " secrets, the most allowed. Delete one to create another." }
                } @else {
                    a.button href={ "/applications/" (cid) "/secrets/new" } data-dialog="create-secret-dialog" { "Create new secret" }
                }
            }
            @if page.secrets.is_empty() {
                p { "This application has no secret: it cannot get tokens." }
            } @else {
                div.table-wrap {
                    table.secrets {
                        thead { tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Starts with" }
                            th scope="col" { "Created" }
                            th scope="col" { "Expires" }
                            th scope="col" { "Last used" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        } }
                        tbody {
                            @for s in page.secrets {
                                @let status = s.status(page.now);
                                tr data-secret-id=(s.id) data-secret-name=(s.name.as_ref()) {
                                    th scope="row" data-label="Name" { (s.name.as_ref()) }
                                    td data-label="Starts with" { code { (s.hint) "…" } }
                                    td data-label="Created" { (utc(s.created_at)) br; span.muted { "by " (s.created_by.label()) } }
                                    td data-label="Expires" {
                                        (day(s.expires_at.date())) " " span.muted { "(" (expiry_phrase(s.expires_at, page.now)) ")" }
                                        @match status {
                                            SecretStatus::Expired => { " " span.badge.expired { "Expired" } }
                                            SecretStatus::ExpiringSoon => { " " span.badge.soon { "Expires soon" } }
                                            SecretStatus::Active => {}
                                        }
                                    }
                                    td.last-used data-label="Last used" {
                                        @match s.last_used_at {
                                            Some(t) => { (utc(t)) br; span.muted { "(" (ago(t, page.now)) ")" } }
                                            None => { span.muted { "never" } }
                                        }
                                    }
                                    td {
                                        a.button.danger href={ "/applications/" (cid) "/secrets/" (s.id) "/delete" } data-dialog={ "delete-" (s.id) } { "Delete" span.visually-hidden { " “" (s.name.as_ref()) "”" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.help { "Rotation: create a new secret, put it in the partner system, wait until its last used appears, then delete the old secret." }
            @if !full {
                dialog #create-secret-dialog aria-labelledby="create-secret-title" {
                    h2 #create-secret-title { "Create new secret" }
                    (secret_form(&cid, page.csrf, &page.limits, &SecretFormInput::default()))
                }
            }
            @for s in page.secrets {
                dialog id={ "delete-" (s.id) } aria-labelledby={ "delete-title-" (s.id) } {
                    h2 id={ "delete-title-" (s.id) } { "Delete secret" }
                    (delete_form(&cid, s, page.csrf, page.now))
                }
            }
        },
    )
}

/// A form on a page of its own (no script, or a refused submission).
pub fn form_page(nav: &Nav<'_>, title: &str, back: &str, form: Markup) -> Markup {
    layout(
        title,
        Some(nav),
        html! {
            p.crumbs { a href=(back) { "Back" } }
            h1 { (title) }
            div.narrow { (form) }
        },
    )
}

/// What an admin types into the forms of the organisations page, kept when
/// one is refused.
#[derive(Default)]
pub struct AdminFormError<'a> {
    /// Which form: `organisation`, `application` or `user`.
    pub form: &'a str,
    /// Why it was refused.
    pub message: &'a str,
}

/// The organisations page (admins): every organisation and the forms to
/// create organisations, applications and users.
pub fn organisations(
    nav: &Nav<'_>,
    orgs: &[(Organisation, usize)],
    catalog: &ResourceCatalog,
    error: Option<&AdminFormError<'_>>,
    notice: Option<&str>,
) -> Markup {
    let error_for = |form: &str| error.filter(|e| e.form == form).map(|e| e.message);
    layout(
        "Organisations",
        Some(nav),
        html! {
            h1 { "Organisations" }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            div.table-wrap {
                table.organisations {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Country" } th scope="col" { "Applications" } th scope="col" { "Id" } } }
                    tbody {
                        @for (org, count) in orgs {
                            tr {
                                th scope="row" data-label="Name" { (org.name.as_ref()) }
                                td data-label="Country" { (org.country.as_str()) }
                                td data-label="Applications" { (count) }
                                td data-label="Id" { code { (org.id) } }
                            }
                        }
                    }
                }
            }
            div.admin-forms {
                section.card aria-labelledby="new-org-title" {
                    h2 #new-org-title { "New organisation" }
                    form.stack method="post" action="/organisations" {
                        input type="hidden" name="csrf" value=(nav.csrf);
                        @if let Some(m) = error_for("organisation") { p.error role="alert" { (m) } }
                        label for="org-name" { "Name (letters and digits)" }
                        input #org-name type="text" name="name" required pattern="[A-Za-z0-9]+";
                        label for="org-country" { "Country (ISO 3166-1 alpha-2, such as NL)" }
                        input #org-country type="text" name="country" required maxlength="2" autocapitalize="characters";
                        button type="submit" { "Create organisation" }
                    }
                }
                section.card aria-labelledby="new-app-title" {
                    h2 #new-app-title { "New application" }
                    form.stack method="post" action="/applications" {
                        input type="hidden" name="csrf" value=(nav.csrf);
                        @if let Some(m) = error_for("application") { p.error role="alert" { (m) } }
                        label for="app-org" { "Organisation" }
                        select #app-org name="organisation_id" required {
                            @for (org, _) in orgs { option value=(org.id) { (org.name.as_ref()) " (" (org.country.as_str()) ")" } }
                        }
                        label for="app-api" { "API (2 to 5 capital letters, such as SMC)" }
                        input #app-api type="text" name="api" required pattern="[A-Z]{2,5}";
                        label for="app-kind" { "Kind" }
                        select #app-kind name="kind" {
                            option value="partner" { "partner" }
                            option value="partner-alternative" { "partner-alternative (match-connect-sandbox only)" }
                        }
                        fieldset {
                            legend { "Permissions" }
                            @for env in [Environment::Production, Environment::Sandbox] {
                                p.group { (if env == Environment::Production { "Production" } else { "Sandbox" }) }
                                @for r in catalog.iter().filter(|r| r.environment == env) {
                                    label.check { input type="checkbox" name="permission" value=(r.id); " " (r.name) }
                                }
                            }
                        }
                        button type="submit" { "Create application" }
                    }
                }
                section.card aria-labelledby="new-user-title" {
                    h2 #new-user-title { "New user" }
                    form.stack method="post" action="/users" {
                        input type="hidden" name="csrf" value=(nav.csrf);
                        @if let Some(m) = error_for("user") { p.error role="alert" { (m) } }
                        label for="user-email" { "Email" }
                        input #user-email type="email" name="email" required;
                        label for="user-role" { "Role" }
                        select #user-role name="role" {
                            option value="credential-manager" { "credential manager" }
                            option value="admin" { "admin" }
                        }
                        label for="user-org" { "Organisation (credential managers)" }
                        select #user-org name="organisation_id" {
                            option value="" { "none (admins)" }
                            @for (org, _) in orgs { option value=(org.id) { (org.name.as_ref()) } }
                        }
                        button type="submit" { "Create user" }
                    }
                }
            }
        },
    )
}

/// A new user's initial password and TOTP URI, shown on this one answer.
pub fn user_created(nav: &Nav<'_>, email: &str, password: &str, totp_uri: &str) -> Markup {
    layout(
        "User created",
        Some(nav),
        html! {
            section.one-time data-one-time="/organisations" aria-labelledby="user-created-title" {
                h1 #user-created-title { "User " (email) " created" }
                p.warning { strong { "Hand these over now: they will not be shown again." } " The user signs in with the password and a code from an authenticator app enrolled with the TOTP URI." }
                label for="new-user-password" { "Initial password" }
                div.copyable {
                    input #new-user-password type="text" readonly value=(password) autocomplete="off" spellcheck="false";
                    (copy_button("new-user-password", "Copy the initial password"))
                }
                label for="new-user-totp" { "TOTP URI" }
                div.copyable {
                    input #new-user-totp type="text" readonly value=(totp_uri) autocomplete="off" spellcheck="false";
                    (copy_button("new-user-totp", "Copy the TOTP URI"))
                }
            }
            p { a href="/organisations" { "Back to the organisations" } }
        },
    )
}
