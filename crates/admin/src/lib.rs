//! Tessera's use cases: the only way anything in Tessera changes.
//!
//! Every operation takes who is acting ([`Acting`]: a user, the host's
//! command line or Tessera itself, the scope they act in, and the client
//! address), decides whether they may, validates through `tessera-core`,
//! and makes the change in one store transaction together with its audit
//! event (and, for credentials, its change-log row). Only after the commit
//! does it tell the token cache ([`CredentialsChanged`]); a change that
//! takes something away (a secret, an application, a permission) then
//! waits, bounded, until every live replica has applied it, and answers
//! with the [`Confirmation`](tessera_core::replica::Confirmation) saying
//! which did not. It answers with a typed [`AdminError`] that each surface
//! maps once.
//!
//! The management API, the web page, the command line, the demo and the
//! reminders all call this crate; none of them checks a role, validates a
//! rule or writes an audit event itself.
//!
//! This crate owns the rules of who may do what. It knows no HTTP (no axum,
//! no hyper), no SQL (it holds the store traits of `tessera-core`, not the
//! storage crate), and nothing of the token path.

mod accounts;
mod acting;
mod applications;
mod audit;
mod checks;
mod confirmation;
mod error;
mod keys;
mod organisations;
mod reminders;
mod secrets;
mod users;

pub use accounts::{SignInError, SignedIn};
pub use acting::{Acting, Scope};
pub use checks::{Attempt, CheckLimits};
pub use confirmation::ConfirmationPolicy;
pub use error::{AdminError, Cause, Conflict, Field, Invalid, Missing};
pub use secrets::CreatedSecret;
pub use users::CreatedUser;

use secrecy::{ExposeSecret as _, SecretString};
use std::sync::Arc;
use tessera_core::Clock;

use crate::checks::PasswordChecks;
use tessera_core::password::{Hasher, PhcHash};
use tessera_core::resource::ResourceCatalog;
use tessera_core::session::{LoginPolicy, SessionPolicy};
use tessera_core::store::{CredentialsChanged, Store};

/// Tessera's use cases over one store. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    store: Arc<dyn Store>,
    checks: Arc<PasswordChecks>,
    clock: Arc<dyn Clock>,
    catalog: Arc<ResourceCatalog>,
    sessions: SessionPolicy,
    login: LoginPolicy,
    changed: Option<Arc<dyn CredentialsChanged>>,
    confirmation: ConfirmationPolicy,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("sessions", &self.sessions)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// The session and sign-in policies the use cases apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    /// How long sessions live.
    pub sessions: SessionPolicy,
    /// When failed sign-ins lock an account.
    pub login: LoginPolicy,
    /// How much password-checking work strangers can cause.
    pub checks: CheckLimits,
}

impl Admin {
    /// The use cases over `store`, hashing with `hasher`, at the time of
    /// `clock`, granting resources of `catalog`.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        catalog: Arc<ResourceCatalog>,
        policies: Policies,
    ) -> Self {
        Self {
            store,
            checks: Arc::new(PasswordChecks::new(hasher, policies.checks)),
            clock,
            catalog,
            sessions: policies.sessions,
            login: policies.login,
            changed: None,
            confirmation: ConfirmationPolicy::default(),
        }
    }

    /// The same use cases, telling `changed` of every committed credential
    /// change before answering, so this process's token cache drops it.
    pub fn notifying(mut self, changed: Arc<dyn CredentialsChanged>) -> Self {
        self.changed = Some(changed);
        self
    }

    /// The same use cases at the time of another clock (the demo's old
    /// secret is made "a year ago").
    pub fn at_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    /// The argon2id hasher (configured once: the token endpoint verifies
    /// with the same one).
    pub fn hasher(&self) -> &Hasher {
        self.checks.hasher()
    }

    /// Registers the use cases' metrics (`tessera_sign_in_attempts_total`)
    /// in `registry`.
    pub fn register_metrics(
        &self,
        registry: &prometheus::Registry,
    ) -> Result<(), prometheus::Error> {
        self.checks.register(registry)
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The resource catalog.
    pub fn catalog(&self) -> &Arc<ResourceCatalog> {
        &self.catalog
    }

    /// The session policy.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.sessions
    }

    /// The sign-in policy.
    pub fn login_policy(&self) -> &LoginPolicy {
        &self.login
    }

    /// Tells the token cache that `client_id`'s credentials changed. Called
    /// even when the store answered with an error: the change may have
    /// committed all the same.
    fn credentials_changed(&self, client_id: tessera_core::ids::ClientId) {
        if let Some(changed) = &self.changed {
            changed.credentials_changed(client_id);
        }
    }

    /// Hashes on a blocking thread: argon2 must not stall the executor.
    async fn hash(&self, value: SecretString) -> Result<PhcHash, AdminError> {
        let hasher = self.hasher().clone();
        tokio::task::spawn_blocking(move || hasher.hash(value.expose_secret().as_bytes()))
            .await
            .map_err(AdminError::internal)?
            .map_err(AdminError::internal)
    }
}

/// Refuses with [`AdminError::Forbidden`] unless the actor administers the
/// registry (an admin, or the command line). Every administrators-only use
/// case applies it; a surface may ask it early too, to refuse before it
/// reads a request's body.
pub fn require_administrator(acting: &Acting) -> Result<(), AdminError> {
    if acting.administers() {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}
