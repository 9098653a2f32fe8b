//! Accounts: signing in and out, sessions, password changes and the audit
//! log, shared by the management API (and later the web page).
//!
//! Signing in answers one way for every failure (unknown email, wrong
//! password, wrong or replayed code, locked account) and spends one argon2
//! verification in each case, so neither the answer nor its timing tells
//! whether an account exists.

use secrecy::{ExposeSecret as _, SecretString};
use std::sync::Arc;
use tessera_core::Clock;
use tessera_core::audit::{
    Actor, AuditAction, AuditEvent, AuditOutcome, AuditQuery, NewAuditEvent,
};
use tessera_core::ids::{OrganisationId, SessionId};
use tessera_core::password::{Hasher, PhcHash};
use tessera_core::session::{
    LoginPolicy, Session, SessionPolicy, SessionToken, check_new_password, matching_totp_step,
};
use tessera_core::store::Store;
use tessera_core::user::{Email, User};
use time::{Duration, OffsetDateTime};

use crate::service::{ServiceError, Tessera, hash_off_thread};
use crate::settings::Settings;

/// Why a sign-in was refused. Callers answer every refusal alike.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, wrong or replayed code, or a locked
    /// account.
    #[error("invalid email, password or code")]
    Refused,
    /// Storage or hashing failed.
    #[error(transparent)]
    Internal(#[from] ServiceError),
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The current password given is wrong.
    #[error("current_password is not correct")]
    WrongCurrent,
    /// The new password breaks the policy.
    #[error("{0}")]
    Policy(#[from] tessera_core::session::PasswordPolicyError),
    /// Storage or hashing failed.
    #[error(transparent)]
    Internal(#[from] ServiceError),
}

/// A successful sign-in: the token exists in plain form only here.
#[derive(Debug)]
pub struct SignedIn {
    /// The bearer token, to hand over once.
    pub token: SessionToken,
    /// The session.
    pub session: Session,
    /// Who signed in.
    pub user: User,
    /// When the session ends unless used.
    pub expires_at: OffsetDateTime,
}

/// Where a request came from and who made it, for the audit log.
#[derive(Debug, Clone)]
pub struct AuditContext {
    /// Who acted.
    pub actor: Actor,
    /// The client's network address.
    pub client_address: Option<String>,
}

/// Account operations over the store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    sessions: SessionPolicy,
    login: LoginPolicy,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("sessions", &self.sessions)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
    ServiceError::Internal(Box::new(e))
}

/// Verifies on a blocking thread; without a hash, spends the same time
/// against the dummy hash and answers `false`.
async fn verify_off_thread(
    hasher: &Hasher,
    secret: SecretString,
    hash: Option<PhcHash>,
) -> Result<bool, ServiceError> {
    let hasher = hasher.clone();
    tokio::task::spawn_blocking(move || {
        let secret = secret.expose_secret().as_bytes();
        match &hash {
            Some(hash) => hasher.verify(secret, hash),
            None => hasher.verify_dummy(secret),
        }
    })
    .await
    .map_err(internal)
}

impl Accounts {
    /// Account operations with the policies of `settings`.
    pub fn new(tessera: &Tessera, settings: &Settings) -> Self {
        Self {
            store: tessera.store().clone(),
            hasher: tessera.hasher().clone(),
            clock: tessera.clock().clone(),
            sessions: SessionPolicy {
                idle_timeout: Duration::seconds(i64::from(settings.sessions.idle_timeout_seconds)),
                absolute_timeout: Duration::seconds(i64::from(
                    settings.sessions.absolute_timeout_seconds,
                )),
            },
            login: LoginPolicy {
                max_failed_attempts: settings.login.max_failed_attempts,
                lockout: Duration::seconds(i64::from(settings.login.lockout_seconds)),
            },
        }
    }

    /// The session policy.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.sessions
    }

    /// Records an audit event. A failure to record is logged: the change it
    /// describes has already happened and must still be answered.
    pub async fn audit(
        &self,
        context: &AuditContext,
        organisation_id: Option<OrganisationId>,
        action: AuditAction,
        target: Option<String>,
        outcome: AuditOutcome,
    ) {
        let event = NewAuditEvent {
            occurred_at: self.clock.now(),
            actor: context.actor.clone(),
            organisation_id,
            action,
            target,
            client_address: context.client_address.clone(),
            outcome,
        };
        if let Err(e) = self.store.record_audit_event(&event).await {
            tracing::error!(error = %e, action = action.as_str(), "could not record an audit event");
        }
    }

    /// Audit events, newest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, ServiceError> {
        Ok(self.store.audit_events(query).await?)
    }

    /// Signs a user in with email, password and TOTP code.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        totp_code: &SecretString,
        client_address: Option<String>,
    ) -> Result<SignedIn, LoginError> {
        let now = self.clock.now();
        let typed: String = email.trim().chars().take(254).collect();
        let credentials = match Email::parse(email) {
            Ok(email) => self
                .store
                .user_credentials(&email)
                .await
                .map_err(ServiceError::from)?,
            Err(_) => None,
        };
        let Some(credentials) = credentials else {
            verify_off_thread(&self.hasher, password, None).await?;
            let context = AuditContext {
                actor: Actor::Anonymous {
                    email: typed.clone(),
                },
                client_address,
            };
            self.audit(
                &context,
                None,
                AuditAction::SessionFailed,
                Some(typed),
                AuditOutcome::Failure,
            )
            .await;
            return Err(LoginError::Refused);
        };
        let user = credentials.user;
        let context = AuditContext {
            actor: Actor::User {
                id: user.id,
                email: user.email.as_ref().to_owned(),
            },
            client_address,
        };
        let target = Some(user.email.as_ref().to_owned());
        let state = self
            .store
            .login_state(user.id)
            .await
            .map_err(ServiceError::from)?;
        let locked = state.is_locked(now);
        // Verify even when locked, so a locked account costs and answers the same.
        let password_ok =
            verify_off_thread(&self.hasher, password, Some(credentials.password_hash)).await?;
        let step = matching_totp_step(
            &credentials.totp,
            &user.email,
            totp_code.expose_secret(),
            now,
        );
        let mut accepted = false;
        // The step is recorded only after the password matched, so a
        // stranger cannot use up the owner's codes.
        if !locked
            && password_ok
            && let Some(step) = step
        {
            accepted = self
                .store
                .accept_totp_step(user.id, step)
                .await
                .map_err(ServiceError::from)?;
        }
        if !accepted {
            self.audit(
                &context,
                user.organisation_id,
                AuditAction::SessionFailed,
                target.clone(),
                AuditOutcome::Failure,
            )
            .await;
            if !locked {
                let lock_until = now + self.login.lockout;
                let just_locked = self
                    .store
                    .record_login_failure(user.id, self.login.max_failed_attempts, lock_until)
                    .await
                    .map_err(ServiceError::from)?;
                if just_locked {
                    tracing::warn!(user_id = %user.id, "account locked after repeated failed sign-ins");
                    let system = AuditContext {
                        actor: Actor::System,
                        client_address: context.client_address.clone(),
                    };
                    self.audit(
                        &system,
                        user.organisation_id,
                        AuditAction::AccountLocked,
                        target,
                        AuditOutcome::Success,
                    )
                    .await;
                }
            }
            return Err(LoginError::Refused);
        }
        self.store
            .clear_login_failures(user.id)
            .await
            .map_err(ServiceError::from)?;
        // Sessions that ended without a logout are swept here, so the table
        // holds only usable ones without a background task.
        if let Err(e) = self
            .store
            .delete_expired_sessions(
                now - self.sessions.idle_timeout,
                now - self.sessions.absolute_timeout,
            )
            .await
        {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
        let token = SessionToken::generate();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let session = Session {
            id: SessionId::generate(),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
        };
        self.store
            .create_session(&session, &token.hash())
            .await
            .map_err(ServiceError::from)?;
        self.audit(
            &context,
            user.organisation_id,
            AuditAction::SessionCreated,
            Some(session.id.to_string()),
            AuditOutcome::Success,
        )
        .await;
        let expires_at = self.sessions.expires_at(&session);
        Ok(SignedIn {
            token,
            session,
            user,
            expires_at,
        })
    }

    /// The user and session a bearer token stands for, if it is live; the
    /// session's idle timer restarts. An expired session is deleted.
    pub async fn authenticate(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(User, Session)>, ServiceError> {
        let Some(mut session) = self.store.session_by_token(&token.hash()).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.sessions.is_live(&session, now) {
            self.store.delete_session(session.id).await?;
            return Ok(None);
        }
        let Some(user) = self.store.user(session.user_id).await? else {
            return Ok(None);
        };
        self.store.touch_session(session.id, now).await?;
        session.last_seen_at = now;
        Ok(Some((user, session)))
    }

    /// Ends a session.
    pub async fn logout(
        &self,
        user: &User,
        session: &Session,
        context: &AuditContext,
    ) -> Result<(), ServiceError> {
        self.store.delete_session(session.id).await?;
        self.audit(
            context,
            user.organisation_id,
            AuditAction::SessionDeleted,
            Some(session.id.to_string()),
            AuditOutcome::Success,
        )
        .await;
        Ok(())
    }

    /// Changes a user's own password after checking the current one, and
    /// ends the user's other sessions.
    pub async fn change_password(
        &self,
        user: &User,
        session: &Session,
        current: SecretString,
        new: SecretString,
        context: &AuditContext,
    ) -> Result<(), PasswordChangeError> {
        let target = Some(user.email.as_ref().to_owned());
        let credentials = self
            .store
            .user_credentials(&user.email)
            .await
            .map_err(ServiceError::from)?;
        let hash = credentials.map(|c| c.password_hash);
        let policy = check_new_password(current.expose_secret(), new.expose_secret());
        if !verify_off_thread(&self.hasher, current, hash).await? {
            self.audit(
                context,
                user.organisation_id,
                AuditAction::PasswordChanged,
                target,
                AuditOutcome::Failure,
            )
            .await;
            return Err(PasswordChangeError::WrongCurrent);
        }
        policy?;
        let hash = hash_off_thread(&self.hasher, new).await?;
        self.store
            .set_password_hash(user.id, &hash)
            .await
            .map_err(ServiceError::from)?;
        self.store
            .delete_user_sessions(user.id, Some(session.id))
            .await
            .map_err(ServiceError::from)?;
        self.audit(
            context,
            user.organisation_id,
            AuditAction::PasswordChanged,
            target,
            AuditOutcome::Success,
        )
        .await;
        Ok(())
    }
}
