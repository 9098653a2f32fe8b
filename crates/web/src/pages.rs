//! The pages, as compile-time `maud` templates: every value is escaped by
//! the template engine, and nothing is inline (no script, no style
//! attribute), so the Content-Security-Policy can forbid both.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use std::borrow::Cow;
use tessera_admin::Field;
use tessera_core::application::Application;
use tessera_core::organisation::Organisation;
use tessera_core::replica::Confirmation;
use tessera_core::resource::{Environment, ResourceCatalog};
use tessera_core::secret::{SecretRecord, SecretStatus};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use crate::ASSETS;
use crate::error::Refused;
use crate::forms::{ApplicationForm, OrganisationForm, UserForm};

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

/// A refusal shown beside the field it is about: the message's element id
/// (`<field id>-error`) and its words.
struct Beside {
    id: String,
    message: Cow<'static, str>,
}

/// The message for `field`, whose input has id `input`, if the refusal is
/// about it.
fn beside(refused: Option<&Refused>, field: Field, input: &str) -> Option<Beside> {
    refused
        .filter(|r| r.field() == Some(field))
        .map(|r| Beside {
            id: format!("{input}-error"),
            message: r.message(),
        })
}

/// The refusal a form shows above its fields: one about none of `fields`.
fn above<'a>(refused: Option<&'a Refused>, fields: &[Field]) -> Option<&'a Refused> {
    refused.filter(|r| r.field().is_none_or(|f| !fields.contains(&f)))
}

/// `aria-describedby` of a field: its message first, then its help.
fn described_by(error: Option<&Beside>, help: Option<&str>) -> Option<String> {
    let ids: Vec<&str> = error
        .map(|e| e.id.as_str())
        .into_iter()
        .chain(help)
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// `aria-invalid` of a field.
fn invalid(error: Option<&Beside>) -> Option<&'static str> {
    error.map(|_| "true")
}

/// The message beside a field, between its label and the field itself, so
/// it is read before what is typed.
fn field_error(error: Option<&Beside>) -> Markup {
    html! {
        @if let Some(e) = error { p.field-error id=(e.id) { (e.message) } }
    }
}

/// The message of a refusal about none of a form's fields, above them.
fn form_error(refused: Option<&Refused>) -> Markup {
    html! {
        @if let Some(r) = refused { p.error role="alert" { (r.message()) } }
    }
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
    pub refused: Option<&'a Refused>,
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
    let name = beside(input.refused, Field::Name, "secret-name");
    let expires = beside(input.refused, Field::ExpiresAt, "secret-expires");
    html! {
        form.stack.secret-form method="post" action={ "/applications/" (client_id) "/secrets" } {
            input type="hidden" name="csrf" value=(csrf);
            (form_error(above(input.refused, &[Field::Name, Field::ExpiresAt])))
            label for="secret-name" { "Name" }
            (field_error(name.as_ref()))
            input #secret-name type="text" name="name" value=(input.name) maxlength="100" required aria-invalid=[invalid(name.as_ref())] aria-describedby=[described_by(name.as_ref(), Some("secret-name-help"))] autofocus[name.is_some()];
            p.help #secret-name-help { "Say who made it, for example \"Secret by VM\"." }
            label for="secret-expires" { "Expires on (UTC)" }
            (field_error(expires.as_ref()))
            input #secret-expires type="date" name="expires_on" value=(input.expires_on.unwrap_or(&latest)) min=(day(limits.today)) max=(latest) required aria-invalid=[invalid(expires.as_ref())] aria-describedby=[described_by(expires.as_ref(), Some("secret-expires-help"))] autofocus[expires.is_some()];
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

/// The notice of a deletion some servers had not confirmed in time: each
/// is named with the latest instant it stops accepting the secret.
pub fn unconfirmed_deletion(confirmation: &Confirmation) -> String {
    if confirmation.unconfirmed.is_empty() {
        return "The secret was deleted, but whether other servers refuse it could not be \
                checked: each stops accepting it at the end of its trust window at the latest."
            .to_owned();
    }
    let servers = confirmation
        .unconfirmed
        .iter()
        .map(|u| {
            let state = if u.heartbeat_lapsed {
                "not responding"
            } else {
                "did not confirm in time"
            };
            format!(
                "{} ({state}; stops by {} at the latest)",
                u.address,
                utc(u.stops_by)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "The secret was deleted. {} server(s) refuse it already; not yet confirmed: {servers}.",
        confirmation.confirmed
    )
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
                    @if let Some(advice) = &new.advice { p.advice { (advice) } }
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

/// The admin forms of the organisations page: empty, or one of them as it
/// was submitted, with why it was refused.
#[derive(Default)]
pub enum AdminForms<'a> {
    /// Every form empty.
    #[default]
    Empty,
    /// The organisation form, refused.
    Organisation(&'a OrganisationForm, &'a Refused),
    /// The application form, refused.
    Application(&'a ApplicationForm, &'a Refused),
    /// The user form, refused.
    User(&'a UserForm, &'a Refused),
}

/// The organisations page (admins): every organisation and the forms to
/// create organisations, applications and users.
pub fn organisations(
    nav: &Nav<'_>,
    orgs: &[(Organisation, usize)],
    catalog: &ResourceCatalog,
    forms: &AdminForms<'_>,
    notice: Option<&str>,
) -> Markup {
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
                (organisation_form(nav.csrf, forms))
                (application_form(nav.csrf, orgs, catalog, forms))
                (user_form(nav.csrf, orgs, forms))
            }
        },
    )
}

fn organisation_form(csrf: &str, forms: &AdminForms<'_>) -> Markup {
    let empty = OrganisationForm::default();
    let (input, refused) = match forms {
        AdminForms::Organisation(input, refused) => (*input, Some(*refused)),
        _ => (&empty, None),
    };
    let name = beside(refused, Field::Name, "org-name");
    let country = beside(refused, Field::Country, "org-country");
    html! {
        section.card aria-labelledby="new-org-title" {
            h2 #new-org-title { "New organisation" }
            form.stack method="post" action="/organisations" {
                input type="hidden" name="csrf" value=(csrf);
                (form_error(above(refused, &[Field::Name, Field::Country])))
                label for="org-name" { "Name (letters and digits)" }
                (field_error(name.as_ref()))
                input #org-name type="text" name="name" value=(input.name) required pattern="[A-Za-z0-9]+" aria-invalid=[invalid(name.as_ref())] aria-describedby=[described_by(name.as_ref(), None)] autofocus[name.is_some()];
                label for="org-country" { "Country (ISO 3166-1 alpha-2, such as NL)" }
                (field_error(country.as_ref()))
                input #org-country type="text" name="country" value=(input.country) required maxlength="2" autocapitalize="characters" aria-invalid=[invalid(country.as_ref())] aria-describedby=[described_by(country.as_ref(), None)] autofocus[country.is_some()];
                button type="submit" { "Create organisation" }
            }
        }
    }
}

fn application_form(
    csrf: &str,
    orgs: &[(Organisation, usize)],
    catalog: &ResourceCatalog,
    forms: &AdminForms<'_>,
) -> Markup {
    let empty = ApplicationForm::default();
    let (input, refused) = match forms {
        AdminForms::Application(input, refused) => (*input, Some(*refused)),
        _ => (&empty, None),
    };
    let org = beside(refused, Field::OrganisationId, "app-org");
    let api = beside(refused, Field::Api, "app-api");
    let kind = beside(refused, Field::Kind, "app-kind");
    let permissions = beside(refused, Field::Permissions, "app-permissions");
    let fields = [
        Field::OrganisationId,
        Field::Api,
        Field::Kind,
        Field::Permissions,
    ];
    let kinds = [
        ("partner", "partner"),
        (
            "partner-alternative",
            "partner-alternative (match-connect-sandbox only)",
        ),
        (
            "resource-server",
            "resource-server (introspects tokens, no permissions)",
        ),
    ];
    html! {
        section.card aria-labelledby="new-app-title" {
            h2 #new-app-title { "New application" }
            form.stack method="post" action="/applications" {
                input type="hidden" name="csrf" value=(csrf);
                (form_error(above(refused, &fields)))
                label for="app-org" { "Organisation" }
                (field_error(org.as_ref()))
                select #app-org name="organisation_id" required aria-invalid=[invalid(org.as_ref())] aria-describedby=[described_by(org.as_ref(), None)] autofocus[org.is_some()] {
                    @for (o, _) in orgs {
                        @let id = o.id.to_string();
                        option value=(id) selected[input.organisation_id.trim() == id] { (o.name.as_ref()) " (" (o.country.as_str()) ")" }
                    }
                }
                label for="app-api" { "API (2 to 5 capital letters, such as SMC)" }
                (field_error(api.as_ref()))
                input #app-api type="text" name="api" value=(input.api) required pattern="[A-Z]{2,5}" aria-invalid=[invalid(api.as_ref())] aria-describedby=[described_by(api.as_ref(), None)] autofocus[api.is_some()];
                label for="app-kind" { "Kind" }
                (field_error(kind.as_ref()))
                select #app-kind name="kind" aria-invalid=[invalid(kind.as_ref())] aria-describedby=[described_by(kind.as_ref(), None)] autofocus[kind.is_some()] {
                    @for (value, label) in kinds {
                        option value=(value) selected[input.kind.trim() == value] { (label) }
                    }
                }
                fieldset #app-permissions aria-invalid=[invalid(permissions.as_ref())] aria-describedby=[described_by(permissions.as_ref(), None)] {
                    legend { "Permissions" }
                    (field_error(permissions.as_ref()))
                    @for env in [Environment::Production, Environment::Sandbox] {
                        p.group { (if env == Environment::Production { "Production" } else { "Sandbox" }) }
                        @for r in catalog.iter().filter(|r| r.environment == env) {
                            label.check { input type="checkbox" name="permission" value=(r.id) checked[input.permissions.iter().any(|p| p == r.id.as_str())]; " " (r.name) }
                        }
                    }
                }
                button type="submit" { "Create application" }
            }
        }
    }
}

fn user_form(csrf: &str, orgs: &[(Organisation, usize)], forms: &AdminForms<'_>) -> Markup {
    let empty = UserForm::default();
    let (input, refused) = match forms {
        AdminForms::User(input, refused) => (*input, Some(*refused)),
        _ => (&empty, None),
    };
    let email = beside(refused, Field::Email, "user-email");
    let role = beside(refused, Field::Role, "user-role");
    let org = beside(refused, Field::OrganisationId, "user-org");
    let roles = [
        ("credential-manager", "credential manager"),
        ("admin", "admin"),
    ];
    html! {
        section.card aria-labelledby="new-user-title" {
            h2 #new-user-title { "New user" }
            form.stack method="post" action="/users" {
                input type="hidden" name="csrf" value=(csrf);
                (form_error(above(refused, &[Field::Email, Field::Role, Field::OrganisationId])))
                label for="user-email" { "Email" }
                (field_error(email.as_ref()))
                input #user-email type="email" name="email" value=(input.email) required aria-invalid=[invalid(email.as_ref())] aria-describedby=[described_by(email.as_ref(), None)] autofocus[email.is_some()];
                label for="user-role" { "Role" }
                (field_error(role.as_ref()))
                select #user-role name="role" aria-invalid=[invalid(role.as_ref())] aria-describedby=[described_by(role.as_ref(), None)] autofocus[role.is_some()] {
                    @for (value, label) in roles {
                        option value=(value) selected[input.role.trim() == value] { (label) }
                    }
                }
                label for="user-org" { "Organisation (credential managers)" }
                (field_error(org.as_ref()))
                select #user-org name="organisation_id" aria-invalid=[invalid(org.as_ref())] aria-describedby=[described_by(org.as_ref(), None)] autofocus[org.is_some()] {
                    option value="" { "none (admins)" }
                    @for (o, _) in orgs {
                        @let id = o.id.to_string();
                        option value=(id) selected[input.organisation_id.trim() == id] { (o.name.as_ref()) }
                    }
                }
                button type="submit" { "Create user" }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::ids::ReplicaId;
    use tessera_core::replica::Unconfirmed;

    #[test]
    fn an_unconfirmed_deletion_names_each_server_with_its_deadline() {
        let stops_by = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let confirmation = Confirmation {
            confirmed: 2,
            unconfirmed: vec![Unconfirmed {
                id: ReplicaId::generate(),
                address: "10.0.0.7:8080".into(),
                stops_by,
                heartbeat_lapsed: true,
            }],
            unknown: false,
        };
        let notice = unconfirmed_deletion(&confirmation);
        assert!(notice.contains("2 server(s) refuse it already"), "{notice}");
        assert!(notice.contains("10.0.0.7:8080 (not responding"), "{notice}");
        assert!(notice.contains(&utc(stops_by)), "{notice}");
        let unknown = Confirmation {
            unknown: true,
            ..Confirmation::default()
        };
        assert!(unconfirmed_deletion(&unknown).contains("could not be checked"));
    }
}
