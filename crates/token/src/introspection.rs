//! Token introspection, `POST /oauth2/introspect`
//! ([RFC 7662](https://www.rfc-editor.org/rfc/rfc7662)), for resource
//! servers: applications of kind `resource-server`, authenticated like
//! partners (`client_secret_basic` or `client_secret_post`, through the
//! verified-secret cache).
//!
//! A token is active when Tessera signed it with a key it still publishes,
//! it is inside its lifetime, and the secret that obtained it, its
//! application and every permission it grants still exist
//! ([`crate::live`]). Anything else, garbage included, is `active: false`
//! and nothing more (§2.2).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::token::TokenError;

use crate::error::OAuthError;
use crate::handler::{auth_refusal, form_body};
use crate::keys::KeySet;
use crate::live::{FRESHNESS_MARGIN_SECONDS, Standing};
use crate::metrics::IntrospectionOutcome;
use crate::request;
use crate::state::TokenEndpoint;
use crate::verifier::AuthError;

/// Path of the introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";

/// The JOSE header of a token, as far as it matters here.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: String,
    typ: Option<String>,
}

/// The claims of a token Tessera issued (every one required: a token
/// without them is not one of ours).
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    client_id: ClientId,
    aud: serde_json::Value,
    scope: String,
    iat: i64,
    nbf: Option<i64>,
    exp: i64,
    jti: String,
    org: OrganisationId,
    credential_id: SecretId,
}

/// The claims of `token` if Tessera issued it with a key of `keys`, for
/// `issuer`, and it is valid at `now` (unix seconds). `nbf` is allowed the
/// small skew between replicas' clocks; `exp` none.
fn verified_claims(keys: &KeySet, issuer: &str, token: &str, now: i64) -> Option<Claims> {
    let (message, signature) = token.rsplit_once('.')?;
    let (header, payload) = message.split_once('.')?;
    let header: JoseHeader = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.typ.as_deref() != Some("at+jwt") {
        return None;
    }
    let key = keys.verifier(&header.kid)?;
    if header.alg != key.alg.as_str() {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !key.verify(message.as_bytes(), &signature) {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let fresh = claims.exp > now
        && claims
            .nbf
            .is_none_or(|nbf| nbf <= now.saturating_add(FRESHNESS_MARGIN_SECONDS));
    (fresh && claims.iss == issuer && claims.sub == claims.client_id.to_string()).then_some(claims)
}

/// `POST /oauth2/introspect`.
#[tracing::instrument(name = "post_introspect", skip_all)]
pub(crate) async fn post_introspect(
    State(state): State<TokenEndpoint>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = match handle(&state, peer, &headers, body).await {
        Ok((active, response)) => (
            if active {
                IntrospectionOutcome::Active
            } else {
                IntrospectionOutcome::Inactive
            },
            response,
        ),
        Err(error) => (
            IntrospectionOutcome::of_error(error.outcome),
            error.into_response(),
        ),
    };
    state
        .0
        .metrics
        .observe_introspection(outcome, started.elapsed().as_secs_f64());
    response
}

/// Any other method on `/oauth2/introspect`.
pub(crate) async fn introspect_method_not_allowed() -> OAuthError {
    OAuthError::request(
        StatusCode::METHOD_NOT_ALLOWED,
        "the introspection endpoint accepts only POST",
    )
}

async fn handle(
    state: &TokenEndpoint,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(bool, Response), OAuthError> {
    let body = form_body(headers, body)?;
    let request = request::parse_introspection(headers, &body)
        .map_err(|refusal| OAuthError::from_token_error(&refusal.error, refusal.method))?;
    let method = request.method;
    let verified = state
        .0
        .auth
        .authenticate(request.client_id, &request.secret, peer.ip())
        .await
        .map_err(|e| auth_refusal(e, method))?;
    // A partner may not learn about tokens: the same answer as a wrong
    // secret, so introspection tells it nothing.
    if !verified.application.application.kind.introspects() {
        return Err(OAuthError::from_token_error(
            &TokenError::InvalidClient,
            method,
        ));
    }
    let inner = &*state.0;
    let now = inner.clock.now().unix_timestamp();
    let claims = verified_claims(&inner.keys.current(), &inner.issuer, &request.token, now);
    let body = match claims {
        Some(claims)
            if backed(state, &claims, now)
                .await
                .map_err(|e| auth_refusal(e, method))? =>
        {
            let mut body = serde_json::json!({
                "active": true,
                "scope": claims.scope,
                "client_id": claims.client_id,
                "token_type": "Bearer",
                "exp": claims.exp,
                "iat": claims.iat,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "jti": claims.jti,
                "org": claims.org,
            });
            if let (Some(nbf), Some(map)) = (claims.nbf, body.as_object_mut()) {
                map.insert("nbf".into(), nbf.into());
            }
            body
        }
        _ => serde_json::json!({"active": false}),
    };
    let active = body["active"] == true;
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok((active, response))
}

/// Whether the credential that obtained the token, its application and its
/// granted permissions still exist: from memory when the client is held and
/// the change feed is current, else from the database.
async fn backed(state: &TokenEndpoint, claims: &Claims, now: i64) -> Result<bool, AuthError> {
    let inner = &*state.0;
    // Past the trust window the change feed may have missed a deletion:
    // memory speaks for nothing then.
    let trusted = inner.auth.cache().trusted(now);
    if trusted && let Some(standing) = inner.live.get(claims.client_id) {
        if standing.backs(claims.credential_id, &claims.scope) {
            return Ok(true);
        }
        if !standing.may_predate(claims.iat) {
            return Ok(false);
        }
    }
    let generation = inner.live.generation();
    let credentials = inner
        .credentials
        .client_credentials(claims.client_id)
        .await?;
    inner.metrics.introspection_loads.inc();
    let standing = Arc::new(Standing::read(credentials, now));
    let backs = standing.backs(claims.credential_id, &claims.scope);
    if trusted {
        inner.live.insert(claims.client_id, standing, generation);
    }
    Ok(backs)
}
