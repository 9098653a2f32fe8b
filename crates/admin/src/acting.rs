//! Who is acting, in what scope, from where: what every use case takes.

use std::net::IpAddr;
use tessera_core::actor::{ActingUser, Actor};
use tessera_core::ids::OrganisationId;
use tessera_core::user::{Role, User};

/// The records an actor may see and work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every organisation's: admins, the command line, Tessera itself.
    Everything,
    /// One organisation's: a credential manager's own.
    Organisation(OrganisationId),
    /// None: a credential manager who belongs to no organisation.
    Nothing,
}

impl Scope {
    /// Whether records of `organisation` are inside the scope.
    pub fn covers(&self, organisation: OrganisationId) -> bool {
        match self {
            Self::Everything => true,
            Self::Organisation(own) => *own == organisation,
            Self::Nothing => false,
        }
    }
}

/// Who is acting, the scope they act in, and where their request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    actor: Actor,
    scope: Scope,
    client_address: Option<IpAddr>,
}

impl Acting {
    /// A signed-in user, over HTTP from `client_address`.
    pub fn user(user: &User, client_address: Option<IpAddr>) -> Self {
        let scope = match (user.role, user.organisation_id) {
            (Role::Admin, _) => Scope::Everything,
            (Role::CredentialManager, Some(org)) => Scope::Organisation(org),
            (Role::CredentialManager, None) => Scope::Nothing,
        };
        Self {
            actor: Actor::User(ActingUser::from(user)),
            scope,
            client_address,
        }
    }

    /// The `tessera` command line on the host: whoever has a shell there
    /// already holds the database.
    pub fn cli() -> Self {
        Self {
            actor: Actor::Cli,
            scope: Scope::Everything,
            client_address: None,
        }
    }

    /// Tessera itself (reminders, locks).
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            scope: Scope::Everything,
            client_address: None,
        }
    }

    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// What they may see.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Where the request came from.
    pub fn client_address(&self) -> Option<IpAddr> {
        self.client_address
    }

    /// The signed-in user acting, if a user acts.
    pub fn user_id(&self) -> Option<tessera_core::ids::UserId> {
        match &self.actor {
            Actor::User(u) => Some(u.id),
            Actor::Cli | Actor::System => None,
        }
    }

    /// Whether the actor administers the registry: an admin, or the
    /// command line on the host. Only they create and change
    /// organisations, applications, permissions and users.
    pub fn administers(&self) -> bool {
        match &self.actor {
            Actor::User(u) => u.role == Role::Admin,
            Actor::Cli => true,
            Actor::System => false,
        }
    }
}
