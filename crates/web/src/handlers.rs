//! The web page's handlers: read the form into typed values, check the
//! CSRF token, call one use case, render or redirect.
//!
//! Everything that changes something answers with a redirect (Post/
//! Redirect/Get), so a reload repeats nothing, except the two answers that
//! show a value once (a new secret, a new user's credentials): those are
//! `no-store`, and their script replaces the history entry with the page's
//! GET address, so a reload shows the page without the value.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use axum_extra::extract::{Form, FormRejection};
use maud::Markup;
use secrecy::ExposeSecret as _;
use std::collections::HashMap;
use tessera_admin::{Field, Scope, SignInError, require_administrator};
use tessera_core::application::Application;
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::secret::{EXPIRING_SOON, SecretRecord, one_calendar_year_after};
use time::OffsetDateTime;

use crate::WebState;
use crate::error::{Refused, WebError};
use crate::forms::{
    ApplicationForm, CsrfForm, OrganisationForm, PageQuery, SecretForm, SignInForm, UserForm,
};
use crate::pages::{self, Nav, Page};
use crate::session::{self, ClientAddress, WebCaller};

/// A submitted form, or the page saying why it could not be read (not a
/// form, or larger than [`crate::MAX_FORM_BYTES`]).
type Submitted<T> = Result<Form<T>, FormRejection>;

/// Why a form's use case did not happen: `Ok` a refusal shown with the
/// form, `Err` an error page.
type Outcome = Result<Refused, WebError>;

fn read<T>(form: Submitted<T>) -> Result<T, WebError> {
    form.map(|Form(form)| form).map_err(WebError::from)
}

fn nav<'a>(caller: &'a WebCaller, csrf: &'a str, current: &'a str) -> Nav<'a> {
    Nav {
        email: caller.user.email.as_ref(),
        admin: caller.is_admin(),
        csrf,
        current,
    }
}

/// An id in a path: one that cannot be read names nothing.
fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError::not_found())
}

fn lock_hint(state: &WebState) -> String {
    let policy = state.admin().login_policy();
    format!(
        "After {} failed sign-ins in a row an account is locked for {} minutes.",
        policy.max_failed_attempts,
        u64::try_from(policy.lockout.whole_seconds())
            .unwrap_or(0)
            .div_ceil(60)
    )
}

/// `GET /`: the applications, or the sign-in page.
pub async fn get_root(caller: Result<WebCaller, WebError>) -> Redirect {
    match caller {
        Ok(_) => Redirect::to("/applications"),
        Err(_) => Redirect::to("/sign-in"),
    }
}

/// `GET /sign-in`.
pub async fn get_sign_in(
    State(state): State<WebState>,
    caller: Result<WebCaller, WebError>,
    uri: Uri,
    jar: CookieJar,
) -> Response {
    if caller.is_ok() {
        return Redirect::to("/applications").into_response();
    }
    let notice = PageQuery::of(&uri)
        .signed_out()
        .then_some("You have signed out.");
    let (token, cookie) = session::new_sign_in_token(&state);
    let page = pages::sign_in(&token, "", None, notice, &lock_hint(&state));
    (jar.add(cookie), Page::new(StatusCode::OK, page)).into_response()
}

/// `POST /sign-in`: email, password and TOTP code, as the API's sign-in.
#[tracing::instrument(name = "web_sign_in", skip_all)]
pub async fn post_sign_in(
    State(state): State<WebState>,
    ClientAddress(client_address): ClientAddress,
    jar: CookieJar,
    form: Submitted<SignInForm>,
) -> Result<Response, WebError> {
    let form = read(form)?;
    if !session::sign_in_token_matches(&state, &jar, &form.csrf) {
        return Err(WebError::Csrf);
    }
    match state
        .admin()
        .sign_in(
            &form.email,
            form.password.clone(),
            &form.totp_code(),
            client_address,
        )
        .await
    {
        Ok(signed_in) => {
            let jar = jar
                .add(session::session_cookie(&state, &signed_in.token))
                .add(session::removal(
                    session::SiteCookie::SignIn,
                    state.secure_cookies(),
                ));
            Ok((jar, Redirect::to("/applications")).into_response())
        }
        // One message for every refusal, a locked account included, as the
        // API answers: it says what may be wrong without telling whether
        // the email exists or is locked.
        Err(SignInError::Refused) => {
            let message = format!(
                "Wrong email, password or code. {} If so, wait and try again later.",
                lock_hint(&state)
            );
            let page = pages::sign_in(
                &form.csrf,
                &form.email,
                Some(&message),
                None,
                &lock_hint(&state),
            );
            Ok(Page::new(StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(SignInError::Failed(e)) => Err(e.into()),
    }
}

/// `POST /sign-out`: ends the session on the server, not only the cookie.
#[tracing::instrument(name = "web_sign_out", skip_all)]
pub async fn post_sign_out(
    State(state): State<WebState>,
    caller: WebCaller,
    form: Submitted<CsrfForm>,
) -> Result<Response, WebError> {
    caller.check_csrf(read(form)?.csrf.as_deref())?;
    state
        .admin()
        .sign_out(&caller.acting, &caller.session)
        .await?;
    let jar = CookieJar::new().add(session::removal(
        session::SiteCookie::Session,
        state.secure_cookies(),
    ));
    Ok((jar, Redirect::to("/sign-in?signed-out")).into_response())
}

/// Organisation names by id: every one for admins, the caller's own for
/// credential managers.
async fn organisation_names(
    state: &WebState,
    caller: &WebCaller,
) -> Result<HashMap<OrganisationId, String>, WebError> {
    let orgs = state.admin().organisations(&caller.acting).await?;
    Ok(orgs
        .into_iter()
        .map(|o| (o.id, o.name.as_ref().to_owned()))
        .collect())
}

/// `GET /applications`: what the caller may see, as `GET /api/v1/applications`.
pub async fn get_applications(
    State(state): State<WebState>,
    caller: WebCaller,
) -> Result<Page, WebError> {
    if caller.acting.scope() == Scope::Nothing {
        return Err(WebError::Page(
            StatusCode::FORBIDDEN,
            "Your account belongs to no organisation.".into(),
        ));
    }
    let apps = state.admin().applications(&caller.acting, None).await?;
    let names = organisation_names(&state, &caller).await?;
    let rows: Vec<pages::ApplicationRow<'_>> = apps
        .iter()
        .map(|app| pages::ApplicationRow {
            app,
            organisation: names.get(&app.organisation_id).map_or("", String::as_str),
        })
        .collect();
    let csrf = caller.csrf_token();
    let markup = pages::applications(
        &nav(&caller, &csrf, "applications"),
        &rows,
        state.admin().catalog(),
        None,
    );
    Ok(Page::new(StatusCode::OK, markup))
}

fn secret_limits(now: OffsetDateTime) -> pages::SecretFormLimits {
    pages::SecretFormLimits {
        today: now.date(),
        latest: one_calendar_year_after(now).date(),
    }
}

/// The application the path names, if the caller may see it.
async fn visible_application(
    state: &WebState,
    caller: &WebCaller,
    raw: &str,
) -> Result<Application, WebError> {
    let client_id: ClientId = path_id(raw)?;
    Ok(state.admin().application(&caller.acting, client_id).await?)
}

async fn application_page(
    state: &WebState,
    caller: &WebCaller,
    app: &Application,
    new_secret: Option<pages::NewSecret<'_>>,
    notice: Option<&str>,
) -> Result<Markup, WebError> {
    let secrets = state.admin().secrets(&caller.acting, app.client_id).await?;
    let organisation = state
        .admin()
        .organisation(&caller.acting, app.organisation_id)
        .await?;
    let now = state.admin().clock().now();
    let csrf = caller.csrf_token();
    let page = pages::ApplicationPage {
        app,
        organisation: organisation.name.as_ref(),
        secrets: &secrets,
        now,
        csrf: &csrf,
        new_secret,
        notice,
        limits: secret_limits(now),
    };
    Ok(pages::application(
        &nav(caller, &csrf, "applications"),
        &page,
        state.admin().catalog(),
    ))
}

/// `GET /applications/{client_id}`: one application and its secrets;
/// another organisation's answers 404, as in the API.
pub async fn get_application(
    State(state): State<WebState>,
    caller: WebCaller,
    Path(raw): Path<String>,
    uri: Uri,
) -> Result<Page, WebError> {
    let app = visible_application(&state, &caller, &raw).await?;
    let notice = PageQuery::of(&uri).notice();
    let markup = application_page(&state, &caller, &app, None, notice).await?;
    Ok(Page::new(StatusCode::OK, markup))
}

fn secret_form_page(
    state: &WebState,
    caller: &WebCaller,
    app: &Application,
    input: &pages::SecretFormInput<'_>,
    status: StatusCode,
) -> Page {
    let csrf = caller.csrf_token();
    let cid = app.client_id.to_string();
    let form = pages::secret_form(
        &cid,
        &csrf,
        &secret_limits(state.admin().clock().now()),
        input,
    );
    let markup = pages::form_page(
        &nav(caller, &csrf, "applications"),
        &format!("Create new secret for {}", app.name.as_ref()),
        &format!("/applications/{cid}"),
        form,
    );
    Page::new(status, markup)
}

/// `GET /applications/{client_id}/secrets/new`: the form without script.
pub async fn get_new_secret(
    State(state): State<WebState>,
    caller: WebCaller,
    Path(raw): Path<String>,
) -> Result<Page, WebError> {
    let app = visible_application(&state, &caller, &raw).await?;
    Ok(secret_form_page(
        &state,
        &caller,
        &app,
        &pages::SecretFormInput::default(),
        StatusCode::OK,
    ))
}

/// What the page advises when a new secret lives less than 30 days.
fn short_lifetime_advice() -> String {
    format!(
        "This secret lives less than {} days; one year is recommended.",
        EXPIRING_SOON.whole_days()
    )
}

/// `POST /applications/{client_id}/secrets`: creates a secret and shows it
/// in this answer, the only time it is ever shown.
#[tracing::instrument(name = "web_post_secret", skip_all)]
pub async fn post_secret(
    State(state): State<WebState>,
    caller: WebCaller,
    Path(raw): Path<String>,
    form: Submitted<SecretForm>,
) -> Result<Response, WebError> {
    let form = read(form)?;
    caller.check_csrf(form.csrf.as_deref())?;
    let app = visible_application(&state, &caller, &raw).await?;
    let created: Result<_, Outcome> = match form.expires_at(state.admin().clock().now()) {
        Ok(expires_at) => state
            .admin()
            .create_secret(&caller.acting, app.client_id, form.name.trim(), expires_at)
            .await
            .map_err(Refused::of),
        Err(refused) => Err(Ok(refused)),
    };
    let created = match created {
        Ok(created) => created,
        Err(refused) => {
            let refused = refused?;
            let input = pages::SecretFormInput {
                name: &form.name,
                expires_on: form.expires_on.as_deref(),
                refused: Some(&refused),
            };
            let page = secret_form_page(&state, &caller, &app, &input, refused.status());
            return Ok(page.into_response());
        }
    };
    let new_secret = pages::NewSecret {
        name: created.record.name.as_ref(),
        value: created.secret.expose(),
        expires_at: created.record.expires_at,
        advice: created.short_lifetime.then(short_lifetime_advice),
    };
    let markup = application_page(&state, &caller, &app, Some(new_secret), None).await?;
    Ok(Page::shown_once(markup).into_response())
}

async fn visible_secret(
    state: &WebState,
    caller: &WebCaller,
    raw_client: &str,
    raw_secret: &str,
) -> Result<(Application, SecretRecord), WebError> {
    let app = visible_application(state, caller, raw_client).await?;
    let id: SecretId = path_id(raw_secret)?;
    let secret = state
        .admin()
        .secret(&caller.acting, app.client_id, id)
        .await?;
    Ok((app, secret))
}

/// `GET /applications/{client_id}/secrets/{secret_id}/delete`: the
/// confirmation without script.
pub async fn get_delete_secret(
    State(state): State<WebState>,
    caller: WebCaller,
    Path((raw_client, raw_secret)): Path<(String, String)>,
) -> Result<Page, WebError> {
    let (app, secret) = visible_secret(&state, &caller, &raw_client, &raw_secret).await?;
    let csrf = caller.csrf_token();
    let cid = app.client_id.to_string();
    let form = pages::delete_form(&cid, &secret, &csrf, state.admin().clock().now());
    let markup = pages::form_page(
        &nav(&caller, &csrf, "applications"),
        "Delete secret",
        &format!("/applications/{cid}"),
        form,
    );
    Ok(Page::new(StatusCode::OK, markup))
}

/// `POST /applications/{client_id}/secrets/{secret_id}/delete`: once
/// every live server refuses the secret, back to the application with the
/// notice; if some did not confirm in time, the application page at once,
/// naming them with the instant each stops on its own.
#[tracing::instrument(name = "web_delete_secret", skip_all)]
pub async fn post_delete_secret(
    State(state): State<WebState>,
    caller: WebCaller,
    Path((raw_client, raw_secret)): Path<(String, String)>,
    form: Submitted<CsrfForm>,
) -> Result<Response, WebError> {
    caller.check_csrf(read(form)?.csrf.as_deref())?;
    let client_id: ClientId = path_id(&raw_client)?;
    let id: SecretId = path_id(&raw_secret)?;
    let confirmation = state
        .admin()
        .delete_secret(&caller.acting, client_id, id)
        .await?;
    if confirmation.is_complete() {
        return Ok(
            Redirect::to(&format!("/applications/{client_id}?notice=secret-deleted"))
                .into_response(),
        );
    }
    let app = state.admin().application(&caller.acting, client_id).await?;
    let notice = pages::unconfirmed_deletion(&confirmation);
    let markup = application_page(&state, &caller, &app, None, Some(&notice)).await?;
    Ok(Page::new(StatusCode::OK, markup).into_response())
}

async fn organisations_page(
    state: &WebState,
    caller: &WebCaller,
    forms: &pages::AdminForms<'_>,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Page, WebError> {
    let acting = &caller.acting;
    let orgs = state.admin().organisations(acting).await?;
    let apps = state.admin().applications(acting, None).await?;
    let rows: Vec<_> = orgs
        .into_iter()
        .map(|o| {
            let count = apps.iter().filter(|a| a.organisation_id == o.id).count();
            (o, count)
        })
        .collect();
    let csrf = caller.csrf_token();
    let markup = pages::organisations(
        &nav(caller, &csrf, "organisations"),
        &rows,
        state.admin().catalog(),
        forms,
        notice,
    );
    Ok(Page::new(status, markup))
}

/// `GET /organisations` (admins).
pub async fn get_organisations(
    State(state): State<WebState>,
    caller: WebCaller,
    uri: Uri,
) -> Result<Page, WebError> {
    require_administrator(&caller.acting)?;
    let notice = PageQuery::of(&uri).notice();
    let forms = pages::AdminForms::Empty;
    organisations_page(&state, &caller, &forms, notice, StatusCode::OK).await
}

/// A refused admin form: the organisations page again, that form as it
/// was submitted, with the reason beside the field it is about.
async fn admin_refused(
    state: &WebState,
    caller: &WebCaller,
    forms: &pages::AdminForms<'_>,
    status: StatusCode,
) -> Result<Response, WebError> {
    Ok(organisations_page(state, caller, forms, None, status)
        .await?
        .into_response())
}

/// `POST /organisations` (admins).
#[tracing::instrument(name = "web_post_organisation", skip_all)]
pub async fn post_organisation(
    State(state): State<WebState>,
    caller: WebCaller,
    form: Submitted<OrganisationForm>,
) -> Result<Response, WebError> {
    require_administrator(&caller.acting)?;
    let form = read(form)?;
    caller.check_csrf(form.csrf.as_deref())?;
    let created = state
        .admin()
        .create_organisation(
            &caller.acting,
            form.name.trim(),
            &form.country.trim().to_uppercase(),
        )
        .await;
    match created.map_err(Refused::of) {
        Ok(_) => Ok(Redirect::to("/organisations?notice=organisation-created").into_response()),
        Err(refused) => {
            let refused = refused?;
            let forms = pages::AdminForms::Organisation(&form, &refused);
            admin_refused(&state, &caller, &forms, refused.status()).await
        }
    }
}

/// `POST /applications` (admins).
#[tracing::instrument(name = "web_post_application", skip_all)]
pub async fn post_application(
    State(state): State<WebState>,
    caller: WebCaller,
    form: Submitted<ApplicationForm>,
) -> Result<Response, WebError> {
    require_administrator(&caller.acting)?;
    let form = read(form)?;
    caller.check_csrf(form.csrf.as_deref())?;
    let created = async {
        let organisation_id = form.organisation_id().map_err(Ok)?;
        let kind = form.kind().map_err(Ok)?;
        state
            .admin()
            .create_application(
                &caller.acting,
                organisation_id,
                form.api.trim(),
                kind,
                &form.permissions,
            )
            .await
            .map_err(|e| match Refused::of(e) {
                // The name is derived from the organisation and the API.
                Ok(Refused::Taken(Field::Name)) => Ok(Refused::Taken(Field::Api)),
                other => other,
            })
    };
    match created.await {
        Ok(app) => Ok(Redirect::to(&format!(
            "/applications/{}?notice=application-created",
            app.client_id
        ))
        .into_response()),
        Err(refused) => {
            let refused = refused?;
            let forms = pages::AdminForms::Application(&form, &refused);
            admin_refused(&state, &caller, &forms, refused.status()).await
        }
    }
}

/// `POST /users` (admins): the new user's password and TOTP URI are in
/// this answer only.
#[tracing::instrument(name = "web_post_user", skip_all)]
pub async fn post_user(
    State(state): State<WebState>,
    caller: WebCaller,
    form: Submitted<UserForm>,
) -> Result<Response, WebError> {
    require_administrator(&caller.acting)?;
    let form = read(form)?;
    caller.check_csrf(form.csrf.as_deref())?;
    let created = async {
        let role = form.role().map_err(Ok)?;
        let organisation_id = form.organisation_id().map_err(Ok)?;
        state
            .admin()
            .create_user(&caller.acting, &form.email, role, organisation_id)
            .await
            .map_err(Refused::of)
    };
    match created.await {
        Ok(created) => {
            let csrf = caller.csrf_token();
            let markup = pages::user_created(
                &nav(&caller, &csrf, "organisations"),
                created.user.email.as_ref(),
                created.password.expose_secret(),
                created.totp_uri.expose_secret(),
            );
            Ok(Page::shown_once(markup).into_response())
        }
        Err(refused) => {
            let refused = refused?;
            let forms = pages::AdminForms::User(&form, &refused);
            admin_refused(&state, &caller, &forms, refused.status()).await
        }
    }
}
