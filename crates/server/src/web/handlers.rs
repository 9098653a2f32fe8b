//! The web page's handlers: parse the form, check the session and CSRF
//! token, call the operation the JSON API calls, render or redirect.
//!
//! Everything that changes something answers with a redirect (Post/
//! Redirect/Get), so a reload repeats nothing, except the two answers that
//! show a value once (a new secret, a new user's credentials): those are
//! `no-store`, and their script replaces the history entry with the page's
//! GET address, so a reload shows the page without the value.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use secrecy::{ExposeSecret as _, SecretString};
use std::collections::HashMap;
use tessera_core::application::Application;
use tessera_core::ids::SecretId;
use tessera_core::secret::one_calendar_year_after;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::pages::{self, Nav, Page};
use super::session::{self, WebCaller, WebError};
use crate::management::applications::{path_id, short_lifetime_advice, visible_application};
use crate::management::auth::ClientAddress;
use crate::management::problem::ApiError;
use crate::state::AppState;
use tessera_admin::{AdminError, SignInError};
use tessera_core::application::ApplicationKind;
use tessera_core::ids::{ClientId, OrganisationId};
use tessera_core::user::Role;

/// A submitted `application/x-www-form-urlencoded` form. Repeated fields
/// (permissions) are kept, which `axum::Form` cannot do.
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(WebError::Page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This address takes a form.".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            WebError::Page(
                e.status(),
                "The form could not be read; it may be too large.".into(),
            )
        })?;
        Ok(Self(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What a `?notice=` after a redirect says. Only known codes are shown, so
/// a crafted link cannot put text on the page.
fn notice(query: Option<&str>) -> Option<&'static str> {
    match query_value(query, "notice")?.as_str() {
        "secret-deleted" => {
            Some("The secret was deleted. Token requests with it are refused from now on.")
        }
        "application-created" => {
            Some("Application created. It has no secret yet: create one to hand over.")
        }
        "organisation-created" => Some("Organisation created."),
        _ => None,
    }
}

fn nav<'a>(caller: &'a WebCaller, csrf: &'a str, current: &'a str) -> Nav<'a> {
    Nav {
        email: caller.caller.user.email.as_ref(),
        admin: caller.is_admin(),
        csrf,
        current,
    }
}

fn internal(e: AdminError) -> WebError {
    WebError::from(ApiError::from(e))
}

fn lock_hint(state: &AppState) -> String {
    format!(
        "After {} failed sign-ins in a row an account is locked for {} minutes.",
        state.admin.login_policy().max_failed_attempts,
        u64::try_from(state.admin.login_policy().lockout.whole_seconds())
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
    State(state): State<AppState>,
    caller: Result<WebCaller, WebError>,
    RawQuery(query): RawQuery,
) -> Response {
    if caller.is_ok() {
        return Redirect::to("/applications").into_response();
    }
    let notice = query_value(query.as_deref(), "signed-out").map(|_| "You have signed out.");
    let (token, cookie) = session::new_sign_in_token(&state);
    let page = pages::sign_in(&token, "", None, notice, &lock_hint(&state));
    (
        [(header::SET_COOKIE, cookie)],
        Page::new(StatusCode::OK, page),
    )
        .into_response()
}

/// `POST /sign-in`: email, password and TOTP code, as the API's sign-in.
#[tracing::instrument(name = "web_sign_in", skip_all)]
pub async fn post_sign_in(
    State(state): State<AppState>,
    ClientAddress(client_address): ClientAddress,
    headers: HeaderMap,
    form: FormFields,
) -> Result<Response, WebError> {
    let csrf = form.csrf().unwrap_or_default();
    if !session::sign_in_token_matches(&headers, csrf) {
        return Err(WebError::Csrf);
    }
    let email = form.text("email");
    let password = SecretString::from(form.text("password").to_owned());
    let code = SecretString::from(form.text("totp_code").trim().to_owned());
    match state
        .admin
        .sign_in(email, password, &code, client_address)
        .await
    {
        Ok(signed_in) => {
            let mut response = Redirect::to("/applications").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session::session_cookie(&state, &signed_in.token),
            );
            headers.append(
                header::SET_COOKIE,
                session::clear_cookie(&state, session::SIGN_IN_COOKIE),
            );
            Ok(response)
        }
        // One message for every refusal, a locked account included, as the
        // API answers: it says what may be wrong without telling whether
        // the email exists or is locked.
        Err(SignInError::Refused) => {
            let message = format!(
                "Wrong email, password or code. {} If so, wait and try again later.",
                lock_hint(&state)
            );
            let page = pages::sign_in(csrf, email, Some(&message), None, &lock_hint(&state));
            Ok(Page::new(StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(SignInError::Failed(e)) => Err(internal(e)),
    }
}

/// `POST /sign-out`: ends the session on the server, not only the cookie.
#[tracing::instrument(name = "web_sign_out", skip_all)]
pub async fn post_sign_out(
    State(state): State<AppState>,
    caller: WebCaller,
    form: FormFields,
) -> Result<Response, WebError> {
    caller.check_csrf(form.csrf())?;
    let c = &caller.caller;
    state
        .admin
        .sign_out(&c.acting, &c.session)
        .await
        .map_err(internal)?;
    let mut response = Redirect::to("/sign-in?signed-out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::clear_cookie(&state, session::SESSION_COOKIE),
    );
    Ok(response)
}

/// Organisation names by id: every one for admins, the caller's own for
/// credential managers.
async fn organisation_names(
    state: &AppState,
    caller: &WebCaller,
) -> Result<HashMap<OrganisationId, String>, WebError> {
    let orgs = state
        .admin
        .organisations(&caller.caller.acting)
        .await
        .map_err(internal)?;
    Ok(orgs
        .into_iter()
        .map(|o| (o.id, o.name.as_ref().to_owned()))
        .collect())
}

/// `GET /applications`: what the caller may see, as `GET /api/v1/applications`.
pub async fn get_applications(
    State(state): State<AppState>,
    caller: WebCaller,
) -> Result<Page, WebError> {
    if caller.caller.acting.scope() == tessera_admin::Scope::Nothing {
        return Err(WebError::Page(
            StatusCode::FORBIDDEN,
            "Your account belongs to no organisation.".into(),
        ));
    }
    let apps = state
        .admin
        .applications(&caller.caller.acting, None)
        .await
        .map_err(internal)?;
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
        state.admin.catalog(),
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

async fn organisation_name(
    state: &AppState,
    caller: &WebCaller,
    app: &Application,
) -> Result<String, WebError> {
    Ok(state
        .admin
        .organisation(&caller.caller.acting, app.organisation_id)
        .await
        .map_err(internal)?
        .name
        .as_ref()
        .to_owned())
}

async fn application_page(
    state: &AppState,
    caller: &WebCaller,
    app: &Application,
    new_secret: Option<pages::NewSecret<'_>>,
    notice: Option<&str>,
) -> Result<Markup, WebError> {
    let secrets = state
        .admin
        .secrets(&caller.caller.acting, app.client_id)
        .await
        .map_err(internal)?;
    let organisation = organisation_name(state, caller, app).await?;
    let now = state.admin.clock().now();
    let csrf = caller.csrf_token();
    let page = pages::ApplicationPage {
        app,
        organisation: &organisation,
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
        state.admin.catalog(),
    ))
}

/// `GET /applications/{client_id}`: one application and its secrets;
/// another organisation's answers 404, as in the API.
pub async fn get_application(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Page, WebError> {
    let app = visible_application(&state, &caller.caller, &raw).await?;
    let markup = application_page(&state, &caller, &app, None, notice(query.as_deref())).await?;
    Ok(Page::new(StatusCode::OK, markup))
}

fn secret_form_page(
    state: &AppState,
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
        &secret_limits(state.admin.clock().now()),
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
    State(state): State<AppState>,
    caller: WebCaller,
    Path(raw): Path<String>,
) -> Result<Page, WebError> {
    let app = visible_application(&state, &caller.caller, &raw).await?;
    Ok(secret_form_page(
        &state,
        &caller,
        &app,
        &pages::SecretFormInput::default(),
        StatusCode::OK,
    ))
}

/// The expiry a date in the form stands for: the default (exactly one
/// year) for the default date, else that day at the current time of day.
fn expiry_of(raw: &str, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, ()> {
    let date =
        Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| ())?;
    let default = one_calendar_year_after(now);
    if date == default.date() {
        Ok(None)
    } else {
        Ok(Some(now.replace_date(date)))
    }
}

/// `POST /applications/{client_id}/secrets`: creates a secret and shows it
/// in this answer, the only time it is ever shown.
#[tracing::instrument(name = "web_post_secret", skip_all)]
pub async fn post_secret(
    State(state): State<AppState>,
    caller: WebCaller,
    Path(raw): Path<String>,
    form: FormFields,
) -> Result<Response, WebError> {
    caller.check_csrf(form.csrf())?;
    let app = visible_application(&state, &caller.caller, &raw).await?;
    let name = form.text("name");
    let expires_on = form.get("expires_on");
    let refused = |message: &str, status: StatusCode| {
        let input = pages::SecretFormInput {
            name,
            expires_on,
            error: Some(message),
        };
        secret_form_page(&state, &caller, &app, &input, status).into_response()
    };
    let now = state.admin.clock().now();
    let expires_at = match expires_on.filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(raw) => match expiry_of(raw, now) {
            Ok(at) => at,
            Err(()) => {
                return Ok(refused(
                    "The expiry date must be a date such as 2027-01-31.",
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        },
    };
    let created = match state
        .admin
        .create_secret(
            &caller.caller.acting,
            app.client_id,
            name.trim(),
            expires_at,
        )
        .await
    {
        Ok(created) => created,
        Err(e) => {
            let e = ApiError::from(e);
            if e.status().is_client_error() {
                let message = session::upper_first(e.detail());
                return Ok(refused(&message, e.status()));
            }
            return Err(e.into());
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
    state: &AppState,
    caller: &WebCaller,
    raw_client: &str,
    raw_secret: &str,
) -> Result<(Application, tessera_core::secret::SecretRecord), WebError> {
    let app = visible_application(state, &caller.caller, raw_client).await?;
    let id: SecretId = path_id(raw_secret, "secret")?;
    let secret = state
        .admin
        .secret(&caller.caller.acting, app.client_id, id)
        .await
        .map_err(internal)?;
    Ok((app, secret))
}

/// `GET /applications/{client_id}/secrets/{secret_id}/delete`: the
/// confirmation without script.
pub async fn get_delete_secret(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((raw_client, raw_secret)): Path<(String, String)>,
) -> Result<Page, WebError> {
    let (app, secret) = visible_secret(&state, &caller, &raw_client, &raw_secret).await?;
    let csrf = caller.csrf_token();
    let cid = app.client_id.to_string();
    let form = pages::delete_form(&cid, &secret, &csrf, state.admin.clock().now());
    let markup = pages::form_page(
        &nav(&caller, &csrf, "applications"),
        "Delete secret",
        &format!("/applications/{cid}"),
        form,
    );
    Ok(Page::new(StatusCode::OK, markup))
}

/// `POST /applications/{client_id}/secrets/{secret_id}/delete`.
#[tracing::instrument(name = "web_delete_secret", skip_all)]
pub async fn post_delete_secret(
    State(state): State<AppState>,
    caller: WebCaller,
    Path((raw_client, raw_secret)): Path<(String, String)>,
    form: FormFields,
) -> Result<Redirect, WebError> {
    caller.check_csrf(form.csrf())?;
    let client_id: ClientId = path_id(&raw_client, "application")?;
    let id: SecretId = path_id(&raw_secret, "secret")?;
    state
        .admin
        .delete_secret(&caller.caller.acting, client_id, id)
        .await
        .map_err(internal)?;
    Ok(Redirect::to(&format!(
        "/applications/{client_id}?notice=secret-deleted"
    )))
}

fn require_admin(caller: &WebCaller) -> Result<(), WebError> {
    tessera_admin::require_administrator(&caller.caller.acting).map_err(internal)
}

async fn organisations_page(
    state: &AppState,
    caller: &WebCaller,
    error: Option<&pages::AdminFormError<'_>>,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Page, WebError> {
    let acting = &caller.caller.acting;
    let orgs = state.admin.organisations(acting).await.map_err(internal)?;
    let apps = state
        .admin
        .applications(acting, None)
        .await
        .map_err(internal)?;
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
        state.admin.catalog(),
        error,
        notice,
    );
    Ok(Page::new(status, markup))
}

/// `GET /organisations` (admins).
pub async fn get_organisations(
    State(state): State<AppState>,
    caller: WebCaller,
    RawQuery(query): RawQuery,
) -> Result<Page, WebError> {
    require_admin(&caller)?;
    organisations_page(
        &state,
        &caller,
        None,
        notice(query.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// A refused admin form: the organisations page again, with the reason.
async fn admin_refused(
    state: &AppState,
    caller: &WebCaller,
    form: &str,
    e: ApiError,
) -> Result<Response, WebError> {
    if !e.status().is_client_error() || e.status() == StatusCode::FORBIDDEN {
        return Err(e.into());
    }
    let message = session::upper_first(e.detail());
    let error = pages::AdminFormError {
        form,
        message: &message,
    };
    Ok(
        organisations_page(state, caller, Some(&error), None, e.status())
            .await?
            .into_response(),
    )
}

/// `POST /organisations` (admins).
#[tracing::instrument(name = "web_post_organisation", skip_all)]
pub async fn post_organisation(
    State(state): State<AppState>,
    caller: WebCaller,
    form: FormFields,
) -> Result<Response, WebError> {
    require_admin(&caller)?;
    caller.check_csrf(form.csrf())?;
    match state
        .admin
        .create_organisation(
            &caller.caller.acting,
            form.text("name").trim(),
            &form.text("country").trim().to_uppercase(),
        )
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(Redirect::to("/organisations?notice=organisation-created").into_response()),
        Err(e) => admin_refused(&state, &caller, "organisation", e).await,
    }
}

/// `POST /applications` (admins).
#[tracing::instrument(name = "web_post_application", skip_all)]
pub async fn post_application(
    State(state): State<AppState>,
    caller: WebCaller,
    form: FormFields,
) -> Result<Response, WebError> {
    require_admin(&caller)?;
    caller.check_csrf(form.csrf())?;
    let created = async {
        let organisation_id: OrganisationId =
            form.text("organisation_id").trim().parse().map_err(|_| {
                ApiError::validation("organisation_id", "organisation_id must be a UUID")
            })?;
        let kind = match form.get("kind").filter(|k| !k.is_empty()) {
            None => ApplicationKind::Partner,
            Some(k) => ApplicationKind::parse(k)
                .map_err(|e| ApiError::validation("kind", e.to_string()))?,
        };
        state
            .admin
            .create_application(
                &caller.caller.acting,
                organisation_id,
                form.text("api").trim(),
                kind,
                &form.all("permission"),
            )
            .await
            .map_err(ApiError::from)
    };
    match created.await {
        Ok(app) => Ok(Redirect::to(&format!(
            "/applications/{}?notice=application-created",
            app.client_id
        ))
        .into_response()),
        Err(e) => admin_refused(&state, &caller, "application", e).await,
    }
}

/// `POST /users` (admins): the new user's password and TOTP URI are in
/// this answer only.
#[tracing::instrument(name = "web_post_user", skip_all)]
pub async fn post_user(
    State(state): State<AppState>,
    caller: WebCaller,
    form: FormFields,
) -> Result<Response, WebError> {
    require_admin(&caller)?;
    caller.check_csrf(form.csrf())?;
    let created = async {
        let role = Role::parse(form.text("role"))
            .map_err(|e| ApiError::validation("role", e.to_string()))?;
        let organisation_id: Option<OrganisationId> = form
            .get("organisation_id")
            .filter(|o| !o.is_empty())
            .map(|raw| {
                raw.trim().parse().map_err(|_| {
                    ApiError::validation("organisation_id", "organisation_id must be a UUID")
                })
            })
            .transpose()?;
        state
            .admin
            .create_user(
                &caller.caller.acting,
                form.text("email"),
                role,
                organisation_id,
            )
            .await
            .map_err(ApiError::from)
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
        Err(e) => admin_refused(&state, &caller, "user", e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_default_date_means_the_default_expiry() {
        let now = datetime!(2026-03-10 14:00 UTC);
        assert_eq!(expiry_of("2027-03-10", now), Ok(None));
        assert_eq!(
            expiry_of("2026-04-01", now),
            Ok(Some(datetime!(2026-04-01 14:00 UTC)))
        );
        assert_eq!(expiry_of("tomorrow", now), Err(()));
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert!(notice(Some("notice=secret-deleted")).is_some());
        assert_eq!(notice(Some("notice=%3Cscript%3E")), None);
        assert_eq!(notice(None), None);
    }
}
