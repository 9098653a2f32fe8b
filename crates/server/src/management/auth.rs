//! Who is calling: the [`Caller`] extractor turns `Authorization: Bearer`
//! into a signed-in user, and decides what that user may see.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;
use tessera_core::audit::{Actor, AuditAction, AuditOutcome};
use tessera_core::ids::OrganisationId;
use tessera_core::session::{Session, SessionToken};
use tessera_core::user::{Role, User};

use super::problem::ApiError;
use crate::accounts::{Accounts, AuditContext};
use crate::state::AppState;

impl AppState {
    /// Account operations with this server's policies.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(&self.tessera, &self.settings)
    }
}

/// The client's address, when the server was started with connection info.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl ClientAddress {
    fn of(parts: &Parts) -> Self {
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
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
    /// Where it came from.
    pub client_address: Option<String>,
}

impl Caller {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses with 403 unless the caller is an admin. Admin-only routes are
    /// no secret, so refusing them openly leaks nothing.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Whether the caller may see the records of `organisation`: admins
    /// every organisation's, credential managers their own only.
    pub fn may_access(&self, organisation: OrganisationId) -> bool {
        self.is_admin() || self.user.organisation_id == Some(organisation)
    }

    /// Records a change the caller made successfully.
    pub async fn audit_success(
        &self,
        state: &AppState,
        organisation_id: Option<OrganisationId>,
        action: AuditAction,
        target: String,
    ) {
        state
            .accounts()
            .audit(
                &self.audit_context(),
                organisation_id,
                action,
                Some(target),
                AuditOutcome::Success,
            )
            .await;
    }

    /// The audit context of the caller's requests.
    pub fn audit_context(&self) -> AuditContext {
        AuditContext {
            actor: Actor::User {
                id: self.user.id,
                email: self.user.email.as_ref().to_owned(),
            },
            client_address: self.client_address.clone(),
        }
    }
}

fn bearer(parts: &Parts) -> Option<SessionToken> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 128)
        .then(|| SessionToken::presented(token))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let (user, session) = state
            .accounts()
            .authenticate(&token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Self {
            user,
            session,
            client_address: ClientAddress::of(parts).0,
        })
    }
}

/// A signed-in admin. Extracted before the body, so a credential manager
/// is refused with 403 whatever they send.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_admin()?;
        Ok(Self(caller))
    }
}
