//! The web session: the management API's session token in a cookie, and
//! the CSRF tokens that every state-changing form carries.
//!
//! The cookie `tessera_session` holds the same token a JSON client gets
//! from `POST /api/v1/sessions`, so the web page shares the sessions table,
//! its idle and absolute expiry, the lockout and the audit log. It is
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! sends it) and `Secure` when the issuer is `https://`.
//!
//! CSRF: besides SameSite, every form holds a synchronizer token, an
//! HMAC-SHA256 keyed with the session token. It needs no storage and works
//! on every replica; without the session token (which no script can read)
//! it cannot be computed. The sign-in form, before any session, uses a
//! random value in a short-lived cookie, submitted again in the form
//! (double submit), so no other site can sign a browser into an account.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use tessera_core::session::SessionToken;

use super::pages;
use crate::management::auth::{Caller, ClientAddress};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The sign-in form's double-submit cookie.
pub const SIGN_IN_COOKIE: &str = "tessera_sign_in";
/// How long a sign-in form stays usable.
const SIGN_IN_COOKIE_SECONDS: u32 = 15 * 60;
/// What the HMAC of the CSRF token signs; a new version invalidates old forms.
const CSRF_CONTEXT: &[u8] = b"tessera web csrf v1";

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// Whether cookies must be `Secure`: the issuer, which is the public URL
/// the browser uses, is HTTPS. A proxy header could be forged by a client,
/// the configured issuer cannot.
fn secure(state: &AppState) -> bool {
    state.issuer.starts_with("https://")
}

fn set_cookie(state: &AppState, name: &str, value: &str, extra: &str) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{extra}{secure}");
    // Values are base64url and names fixed, so this cannot fail; an empty
    // header (ignored by browsers) is the fallback anyway.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` for a new session. No `Max-Age`: the server ends the
/// session (idle and absolute expiry), the browser forgets it on close.
pub fn session_cookie(state: &AppState, token: &SessionToken) -> HeaderValue {
    set_cookie(state, SESSION_COOKIE, token.expose(), "")
}

/// `Set-Cookie` that removes cookie `name`.
pub fn clear_cookie(state: &AppState, name: &str) -> HeaderValue {
    set_cookie(state, name, "", "; Max-Age=0")
}

/// A new random sign-in CSRF value and its `Set-Cookie`.
pub fn new_sign_in_token(state: &AppState) -> (String, HeaderValue) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let cookie = set_cookie(
        state,
        SIGN_IN_COOKIE,
        &value,
        &format!("; Max-Age={SIGN_IN_COOKIE_SECONDS}"),
    );
    (value, cookie)
}

/// Whether the sign-in form's token matches its cookie. Compared through
/// BLAKE3 digests, whose equality is constant-time.
pub fn sign_in_token_matches(headers: &HeaderMap, submitted: &str) -> bool {
    match cookie(headers, SIGN_IN_COOKIE) {
        Some(expected) if !expected.is_empty() => {
            blake3::hash(expected.as_bytes()) == blake3::hash(submitted.as_bytes())
        }
        _ => false,
    }
}

fn csrf_key(token: &SessionToken) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.expose().as_bytes())
}

/// A signed-in user of the web page.
#[derive(Debug, Clone)]
pub struct WebCaller {
    /// The same caller the JSON API sees: role, organisation, audit context.
    pub caller: Caller,
    token: SessionToken,
}

impl WebCaller {
    /// The CSRF token to put in this user's forms.
    pub fn csrf_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&csrf_key(&self.token), CSRF_CONTEXT))
    }

    /// Refuses a form whose CSRF token is missing or wrong, before anything
    /// is changed. `ring::hmac::verify` compares in constant time.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
        let tag = submitted
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim()).ok())
            .ok_or(WebError::Csrf)?;
        ring::hmac::verify(&csrf_key(&self.token), CSRF_CONTEXT, &tag).map_err(|_| WebError::Csrf)
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.caller.is_admin()
    }
}

impl FromRequestParts<AppState> for WebCaller {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let raw = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(WebError::SignIn { clear: false })?;
        let token = SessionToken::presented(&raw);
        let client_address = ClientAddress::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddress(None));
        let caller = Caller::of_token(state, &token, client_address)
            .await
            .map_err(WebError::from)?
            // An ended session: sign in again, and drop the stale cookie.
            .ok_or(WebError::SignIn { clear: true })?;
        Ok(Self { caller, token })
    }
}

/// Why a web request is not answered with its page.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in, or the session ended: go to the sign-in page.
    SignIn {
        /// Whether to remove a stale session cookie.
        clear: bool,
    },
    /// The form's CSRF token is missing or wrong: nothing was changed.
    Csrf,
    /// An error page with this status and message.
    Page(StatusCode, String),
}

impl From<crate::management::problem::ApiError> for WebError {
    fn from(e: crate::management::problem::ApiError) -> Self {
        let status = e.status();
        let message = match status {
            StatusCode::NOT_FOUND => "There is no such page.".to_owned(),
            StatusCode::FORBIDDEN => "Only admins may open this page.".to_owned(),
            StatusCode::UNAUTHORIZED => "Please sign in.".to_owned(),
            s if s.is_server_error() => {
                "Something went wrong on our side. Please try again in a moment.".to_owned()
            }
            _ => upper_first(e.detail()),
        };
        Self::Page(status, message)
    }
}

/// The message with its first letter in capitals.
pub fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { clear } => {
                let mut response = Redirect::to("/sign-in").into_response();
                if clear {
                    // The state is not at hand here; a cookie without
                    // `Secure` still removes a `Secure` one of that name.
                    let text = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
                    if let Ok(value) = HeaderValue::from_str(&text) {
                        response.headers_mut().insert(header::SET_COOKIE, value);
                    }
                }
                response
            }
            Self::Csrf => pages::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.",
            )
            .into_response(),
            Self::Page(status, message) => pages::error_page(status, &message).into_response(),
        }
    }
}
