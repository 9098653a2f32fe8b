//! The "Manage API Credentials" web page: server-rendered HTML over
//! Tessera's use cases.
//!
//! This crate owns everything a browser sees: the routes under `/`,
//! `/sign-in`, `/applications`, `/organisations`, `/users` and `/assets`,
//! the cookie session and its CSRF tokens (`session`), the forms and how
//! they are read (`forms`), the pages (`pages`) and how a refusal reads to
//! a person (`error`). A handler reads the form into typed values,
//! calls one [`tessera_admin::Admin`] use case and renders the answer; who
//! may do what, the domain rules and the audit events are the use cases'.
//! Forms work as plain POSTs; one small script, served from `/assets`, adds
//! copy buttons, dialogs and the one-time display of a new secret. Every
//! page carries a strict Content-Security-Policy: nothing inline, nothing
//! from elsewhere.
//!
//! It depends on `tessera-admin` and `tessera-core` only, never on the
//! server, the management API, the token path or the storage crate: the
//! server merges [`router`] beside its own routes and hands it a
//! [`WebState`], and that is all the two know of each other.

mod error;
mod forms;
mod handlers;
mod pages;
mod session;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::LazyLock;
use tessera_admin::Admin;

/// What the web page's handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebState {
    admin: Admin,
    secure_cookies: bool,
}

impl WebState {
    /// The web page over `admin`, served at `public_url` (the issuer). Its
    /// cookies are `Secure` when that URL is `https://`: the configured URL
    /// is the one the browser uses, while a proxy header could be forged by
    /// a client.
    pub fn new(admin: Admin, public_url: &str) -> Self {
        Self {
            admin,
            secure_cookies: public_url.starts_with("https://"),
        }
    }

    /// The use cases.
    pub(crate) fn admin(&self) -> &Admin {
        &self.admin
    }

    /// Whether cookies carry `Secure`.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
}

/// Largest accepted form: every form here is a few short fields.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// The assets' URLs carry a digest of their content, so they can be cached
/// for a year and a new build is still fetched at once.
pub(crate) struct Assets {
    /// `/assets/app-<digest>.css`.
    pub(crate) css: String,
    /// `/assets/app-<digest>.js`.
    pub(crate) js: String,
}

fn digest(content: &str) -> String {
    blake3::hash(content.as_bytes()).to_hex()[..12].to_owned()
}

/// The asset URLs of this build.
pub(crate) static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: format!("/assets/app-{}.css", digest(CSS)),
    js: format!("/assets/app-{}.js", digest(JS)),
});

/// `GET /assets/{file}`.
async fn get_asset(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    let (body, content_type) = if path == ASSETS.css {
        (CSS, "text/css; charset=utf-8")
    } else if path == ASSETS.js {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return pages::error_page(StatusCode::NOT_FOUND, "There is no such page.").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// The policy of every page: scripts, styles, images, forms and fetches
/// from this origin only, nothing inline, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Adds the security headers to every web answer. Pages are never cached:
/// they show one user's records, and one of them shows a new secret.
async fn security_headers(mut response: Response) -> Response {
    let headers: &mut HeaderMap = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, value);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The web page's routes, to merge beside `/api/v1`, `/oauth2/token` and
/// `/.well-known/*`. The server must serve them with
/// `into_make_service_with_connect_info::<SocketAddr>()`, so that audit
/// events carry the client's address.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(handlers::get_root))
        .route(
            "/sign-in",
            get(handlers::get_sign_in).post(handlers::post_sign_in),
        )
        .route("/sign-out", post(handlers::post_sign_out))
        .route(
            "/applications",
            get(handlers::get_applications).post(handlers::post_application),
        )
        .route("/applications/{client_id}", get(handlers::get_application))
        .route(
            "/applications/{client_id}/secrets",
            post(handlers::post_secret),
        )
        .route(
            "/applications/{client_id}/secrets/new",
            get(handlers::get_new_secret),
        )
        .route(
            "/applications/{client_id}/secrets/{secret_id}/delete",
            get(handlers::get_delete_secret).post(handlers::post_delete_secret),
        )
        .route(
            "/organisations",
            get(handlers::get_organisations).post(handlers::post_organisation),
        )
        .route("/users", post(handlers::post_user))
        .route("/assets/{file}", get(get_asset))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(map_response(security_headers))
        .with_state(state)
}
