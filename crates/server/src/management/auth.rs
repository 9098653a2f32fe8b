//! Who is calling: the [`Caller`] extractor turns `Authorization: Bearer`
//! into a signed-in user acting from the client's address. What that user
//! may do is decided by the use cases, not here.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};
use tessera_admin::Acting;
use tessera_core::session::{Session, SessionToken};
use tessera_core::user::User;

use super::problem::ApiError;
use crate::state::AppState;

/// The client's address, when the server was started with connection info.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    fn of(parts: &Parts) -> Self {
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// A signed-in user making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The session the request came with.
    pub session: Session,
    /// The user acting from the request's address: what use cases take.
    pub acting: Acting,
}

fn bearer(parts: &Parts) -> Option<SessionToken> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 128)
        .then(|| SessionToken::presented(token))
}

impl Caller {
    /// The caller a session token stands for, if it is live.
    pub async fn of_token(
        state: &AppState,
        token: &SessionToken,
        client_address: ClientAddress,
    ) -> Result<Option<Self>, ApiError> {
        Ok(state
            .admin
            .authenticate(token)
            .await?
            .map(|(user, session)| Self {
                acting: Acting::user(&user, client_address.0),
                user,
                session,
            }))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        Self::of_token(state, &token, ClientAddress::of(parts))
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

/// A signed-in admin. Extracted before the body, so a credential manager
/// is refused with 403 whatever they send; the use case checks again.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        tessera_admin::require_administrator(&caller.acting)?;
        Ok(Self(caller))
    }
}
