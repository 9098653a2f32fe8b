//! The web session: a session token of the use cases in a cookie, the
//! signed-in [`WebCaller`] it stands for, and the CSRF tokens that every
//! state-changing form carries.
//!
//! The cookie `tessera_session` holds the same token a JSON client gets
//! from `POST /api/v1/sessions` (both come from `Admin::sign_in`), so the
//! web page shares the sessions table, its idle and absolute expiry, the
//! lockout and the audit log. It is `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it) and `Secure` when the
//! issuer is `https://`.
//!
//! CSRF: besides SameSite, every form holds a synchronizer token, an
//! HMAC-SHA256 keyed with the session token. It needs no storage and works
//! on every replica; without the session token (which no script can read)
//! it cannot be computed. The sign-in form, before any session, uses a
//! random value in a short-lived cookie, submitted again in the form
//! (double submit), so no other site can sign a browser into an account.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use tessera_admin::Acting;
use tessera_core::session::{Session, SessionToken};
use tessera_core::user::{Role, User};

use crate::WebState;
use crate::error::WebError;

/// The site's cookies. Over HTTPS their names carry the `__Host-` prefix,
/// so browsers accept them only `Secure`, for the whole site and from this
/// host alone (no sibling subdomain can set or shadow them); on plain-http
/// loopback (the demo), where browsers refuse that prefix, they go without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteCookie {
    /// The session.
    Session,
    /// The sign-in form's double-submit cookie.
    SignIn,
}

impl SiteCookie {
    /// The cookie's name on a site that is HTTPS (`secure`) or not.
    pub fn name(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Self::Session, true) => "__Host-tessera_session",
            (Self::Session, false) => "tessera_session",
            (Self::SignIn, true) => "__Host-tessera_sign_in",
            (Self::SignIn, false) => "tessera_sign_in",
        }
    }
}
/// How long a sign-in form stays usable.
const SIGN_IN_COOKIE_SECONDS: i64 = 15 * 60;
/// What the HMAC of the CSRF token signs; a new version invalidates old forms.
const CSRF_CONTEXT: &[u8] = b"tessera web csrf v1";

/// A cookie of this site: whole site, no script, never sent by another
/// site's page, `Secure` (and `__Host-`) when the site is HTTPS.
fn cookie(which: SiteCookie, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((which.name(secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

/// The cookie for a new session. No `Max-Age`: the server ends the session
/// (idle and absolute expiry), the browser forgets it on close.
pub fn session_cookie(state: &WebState, token: &SessionToken) -> Cookie<'static> {
    cookie(
        SiteCookie::Session,
        token.expose().to_owned(),
        state.secure_cookies(),
    )
}

/// A cookie that removes the site's cookie `which` (empty, `Max-Age=0`).
pub fn removal(which: SiteCookie, secure: bool) -> Cookie<'static> {
    let mut removal = cookie(which, String::new(), secure);
    removal.set_max_age(time::Duration::ZERO);
    removal
}

/// A new random sign-in CSRF value and its cookie, usable for 15 minutes.
pub fn new_sign_in_token(state: &WebState) -> (String, Cookie<'static>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let mut cookie = cookie(SiteCookie::SignIn, value.clone(), state.secure_cookies());
    cookie.set_max_age(time::Duration::seconds(SIGN_IN_COOKIE_SECONDS));
    (value, cookie)
}

/// Whether the sign-in form's token matches its cookie. Compared through
/// BLAKE3 digests, whose equality is constant-time.
pub fn sign_in_token_matches(state: &WebState, jar: &CookieJar, submitted: &str) -> bool {
    let name = SiteCookie::SignIn.name(state.secure_cookies());
    match jar.get(name).map(Cookie::value) {
        Some(expected) if !expected.is_empty() => {
            blake3::hash(expected.as_bytes()) == blake3::hash(submitted.as_bytes())
        }
        _ => false,
    }
}

/// The client's address, when the server was started with connection info
/// (`into_make_service_with_connect_info::<SocketAddr>()`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

fn csrf_key(token: &SessionToken) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.expose().as_bytes())
}

/// A signed-in user of the web page, from the session cookie.
#[derive(Debug, Clone)]
pub struct WebCaller {
    /// The user.
    pub user: User,
    /// The session of the cookie.
    pub session: Session,
    /// The user acting from the request's address: what use cases take.
    pub acting: Acting,
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

    /// Whether the user is an admin: for which links a page shows, never
    /// for what a use case allows.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

impl FromRequestParts<WebState> for WebCaller {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let secure = state.secure_cookies();
        let raw = jar
            .get(SiteCookie::Session.name(secure))
            .map(Cookie::value)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(WebError::SignIn {
                clear: false,
                secure,
            })?;
        let token = SessionToken::presented(raw);
        let Ok(ClientAddress(client_address)) =
            ClientAddress::from_request_parts(parts, state).await;
        let (user, session) = state
            .admin()
            .authenticate(&token)
            .await?
            // An ended session: sign in again, and drop the stale cookie.
            .ok_or(WebError::SignIn {
                clear: true,
                secure,
            })?;
        Ok(Self {
            acting: Acting::user(&user, client_address),
            user,
            session,
            token,
        })
    }
}
