//! Signing in and out, sessions and password changes.
//!
//! Signing in answers one way for every failure (unknown email, wrong
//! password, wrong or replayed code, locked account) and spends one argon2
//! verification in each case, so neither the answer nor its timing tells
//! whether an account exists.

use secrecy::{ExposeSecret as _, SecretString};
use std::net::IpAddr;
use tessera_core::actor::ActorRecord;
use tessera_core::audit::{AuditAction, AuditOutcome, NewAuditEvent};
use tessera_core::ids::SessionId;
use tessera_core::session::{Session, SessionToken, check_new_password, matching_totp_step};
use tessera_core::user::{Email, User};
use time::OffsetDateTime;

use crate::{Acting, Admin, AdminError, Invalid};

/// Why a sign-in was refused. Callers answer every refusal alike.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown email, wrong password, wrong or replayed code, or a locked
    /// account.
    #[error("invalid email, password or code")]
    Refused,
    /// Storage or hashing failed.
    #[error(transparent)]
    Failed(#[from] AdminError),
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

impl Admin {
    /// An audit event of a sign-in attempt: not made by an [`Acting`] yet,
    /// since nobody is signed in.
    fn sign_in_event(
        &self,
        actor: ActorRecord,
        user: Option<&User>,
        action: AuditAction,
        target: String,
        client_address: Option<IpAddr>,
        outcome: AuditOutcome,
    ) -> NewAuditEvent {
        NewAuditEvent {
            occurred_at: self.clock.now(),
            actor,
            organisation_id: user.and_then(|u| u.organisation_id),
            action,
            target: Some(target),
            client_address,
            outcome,
        }
    }

    /// Signs a user in with email, password and TOTP code.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        totp_code: &SecretString,
        client_address: Option<IpAddr>,
    ) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let credentials = match Email::parse(email) {
            Ok(email) => self
                .store
                .user_credentials(&email)
                .await
                .map_err(AdminError::from)?,
            Err(_) => None,
        };
        let Some(credentials) = credentials else {
            self.verify(password, None).await?;
            let stranger = ActorRecord::anonymous(email);
            let target = stranger.label().to_owned();
            let event = self.sign_in_event(
                stranger,
                None,
                AuditAction::SessionFailed,
                target,
                client_address,
                AuditOutcome::Failure,
            );
            self.store
                .record_audit_event(&event)
                .await
                .map_err(AdminError::from)?;
            return Err(SignInError::Refused);
        };
        let user = credentials.user;
        let as_user = ActorRecord::User {
            id: user.id,
            email: user.email.as_ref().to_owned(),
        };
        let target = user.email.as_ref().to_owned();
        let state = self
            .store
            .login_state(user.id)
            .await
            .map_err(AdminError::from)?;
        let locked = state.is_locked(now);
        // Verify even when locked, so a locked account costs and answers the same.
        let password_ok = self
            .verify(password, Some(credentials.password_hash))
            .await?;
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
                .map_err(AdminError::from)?;
        }
        if !accepted {
            let failure = self.sign_in_event(
                as_user,
                Some(&user),
                AuditAction::SessionFailed,
                target.clone(),
                client_address,
                AuditOutcome::Failure,
            );
            if locked {
                self.store
                    .record_audit_event(&failure)
                    .await
                    .map_err(AdminError::from)?;
            } else {
                let lock = self.sign_in_event(
                    ActorRecord::System,
                    Some(&user),
                    AuditAction::AccountLocked,
                    target,
                    client_address,
                    AuditOutcome::Success,
                );
                let just_locked = self
                    .store
                    .record_login_failure(
                        user.id,
                        self.login.max_failed_attempts,
                        now + self.login.lockout,
                        &failure,
                        &lock,
                    )
                    .await
                    .map_err(AdminError::from)?;
                if just_locked {
                    tracing::warn!(user_id = %user.id, "account locked after repeated failed sign-ins");
                }
            }
            return Err(SignInError::Refused);
        }
        // Sessions that ended without a sign-out are swept here, so the
        // table holds only usable ones without a background task.
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
        let event = self.sign_in_event(
            as_user,
            Some(&user),
            AuditAction::SessionCreated,
            session.id.to_string(),
            client_address,
            AuditOutcome::Success,
        );
        self.store
            .record_sign_in(&session, &token.hash(), &event)
            .await
            .map_err(AdminError::from)?;
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
    ) -> Result<Option<(User, Session)>, AdminError> {
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

    /// Ends the acting user's own session.
    pub async fn sign_out(&self, acting: &Acting, session: &Session) -> Result<(), AdminError> {
        if acting.user_id() != Some(session.user_id) {
            return Err(AdminError::Forbidden);
        }
        let organisation = self
            .store
            .user(session.user_id)
            .await?
            .and_then(|u| u.organisation_id);
        let event = self.event(
            acting,
            organisation,
            AuditAction::SessionDeleted,
            session.id.to_string(),
            AuditOutcome::Success,
        );
        self.store.end_session(session.id, &event).await?;
        Ok(())
    }

    /// Changes the acting user's own password after checking the current
    /// one, and ends their other sessions.
    pub async fn change_password(
        &self,
        acting: &Acting,
        session: &Session,
        current: SecretString,
        new: SecretString,
    ) -> Result<(), AdminError> {
        if acting.user_id() != Some(session.user_id) {
            return Err(AdminError::Forbidden);
        }
        let user = self
            .store
            .user(session.user_id)
            .await?
            .ok_or(AdminError::Forbidden)?;
        let target = user.email.as_ref().to_owned();
        let credentials = self.store.user_credentials(&user.email).await?;
        let hash = credentials.map(|c| c.password_hash);
        let policy = check_new_password(current.expose_secret(), new.expose_secret());
        if !self.verify(current, hash).await? {
            let event = self.event(
                acting,
                user.organisation_id,
                AuditAction::PasswordChanged,
                target,
                AuditOutcome::Failure,
            );
            self.store.record_audit_event(&event).await?;
            return Err(Invalid::WrongCurrentPassword.into());
        }
        policy.map_err(Invalid::from)?;
        let hash = self.hash(new).await?;
        let event = self.event(
            acting,
            user.organisation_id,
            AuditAction::PasswordChanged,
            target,
            AuditOutcome::Success,
        );
        self.store
            .change_password(user.id, &hash, session.id, &event)
            .await?;
        Ok(())
    }
}
