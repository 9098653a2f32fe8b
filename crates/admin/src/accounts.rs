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
use tessera_core::ids::{SessionId, UserId};
use tessera_core::session::{
    LoginAttempt, Session, SessionToken, check_new_password, matching_totp_step,
};
use tessera_core::store::UserCredentials;
use tessera_core::user::{Email, User};
use time::OffsetDateTime;

use crate::checks::{Admitted, Attempt, BUSY_RETRY_AFTER_SECONDS};
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
    ///
    /// Before any database or argon2 work, the client address must be
    /// within its failure limit and a password-check place must be free
    /// (else [`AdminError::TooManyAttempts`]). The attempt is then reserved
    /// in the database before the password is checked, so concurrent
    /// attempts cannot buy more guesses than sequential ones.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        totp_code: &SecretString,
        client_address: Option<IpAddr>,
    ) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let (attempt, result) = match self.checks.limited(client_address, now.unix_timestamp()) {
            Some(retry_after_seconds) => (
                Attempt::Limited,
                Err(AdminError::TooManyAttempts {
                    retry_after_seconds,
                }
                .into()),
            ),
            None => match self.checks.admit() {
                None => (
                    Attempt::Busy,
                    Err(AdminError::TooManyAttempts {
                        retry_after_seconds: BUSY_RETRY_AFTER_SECONDS,
                    }
                    .into()),
                ),
                Some(admitted) => {
                    self.check_sign_in(admitted, email, password, totp_code, client_address)
                        .await
                }
            },
        };
        if attempt == Attempt::Refused || attempt == Attempt::Locked {
            self.checks.failed(client_address, now.unix_timestamp());
        }
        self.checks.count(attempt);
        result
    }

    /// The checks of a sign-in admitted to the password-check pool.
    async fn check_sign_in(
        &self,
        admitted: Admitted,
        email: &str,
        password: SecretString,
        totp_code: &SecretString,
        client_address: Option<IpAddr>,
    ) -> (Attempt, Result<SignedIn, SignInError>) {
        let now = self.clock.now();
        let credentials = match Email::parse(email) {
            Ok(email) => match self.store.user_credentials(&email).await {
                Ok(found) => found,
                Err(e) => return (Attempt::Refused, Err(AdminError::from(e).into())),
            },
            Err(_) => None,
        };
        let Some(credentials) = credentials else {
            // The same argon2 work as for a real account, so timing tells
            // nothing.
            if let Err(e) = admitted.verify(password, None).await {
                return (Attempt::Refused, Err(e.into()));
            }
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
            let recorded = self.store.record_audit_event(&event).await;
            return (
                Attempt::Refused,
                recorded
                    .map_err(|e| AdminError::from(e).into())
                    .and(Err(SignInError::Refused)),
            );
        };
        match self
            .check_credentials(
                admitted,
                credentials,
                password,
                totp_code,
                client_address,
                now,
            )
            .await
        {
            Ok((attempt, signed_in)) => (attempt, signed_in.ok_or(SignInError::Refused)),
            Err(e) => (Attempt::Refused, Err(e.into())),
        }
    }

    /// Checks a known user's password and code: `Some` session when they
    /// match and the account may sign in.
    async fn check_credentials(
        &self,
        admitted: Admitted,
        credentials: UserCredentials,
        password: SecretString,
        totp_code: &SecretString,
        client_address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(Attempt, Option<SignedIn>), AdminError> {
        let user = credentials.user;
        let reserved = self.reserve_attempt(user.id, now).await?;
        // Verify even when locked, so a locked account costs and answers the same.
        let password_ok = admitted
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
        // stranger cannot use up the owner's codes; a user who may not sign
        // in (invited, disabled) is refused like a wrong password.
        if let LoginAttempt::Reserved { .. } = reserved
            && password_ok
            && user.status.may_sign_in()
            && let Some(step) = step
        {
            accepted = self.store.accept_totp_step(user.id, step).await?;
        }
        if !accepted {
            return self.refuse(&user, reserved, client_address).await;
        }
        self.start_session(user, client_address, now)
            .await
            .map(|signed_in| (Attempt::Success, Some(signed_in)))
    }

    /// Reserves one attempt of `user_id`'s password under the sign-in
    /// policy, before it is checked.
    async fn reserve_attempt(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<LoginAttempt, AdminError> {
        Ok(self
            .store
            .reserve_login_attempt(
                user_id,
                self.login.max_failed_attempts,
                now,
                now + self.login.lockout,
            )
            .await?)
    }

    /// Records a refused sign-in: its failure event, and the lock when it
    /// was the last attempt allowed.
    async fn refuse(
        &self,
        user: &User,
        reserved: LoginAttempt,
        client_address: Option<IpAddr>,
    ) -> Result<(Attempt, Option<SignedIn>), AdminError> {
        let target = user.email.as_ref().to_owned();
        let failure = self.sign_in_event(
            ActorRecord::User {
                id: user.id,
                email: target.clone(),
            },
            Some(user),
            AuditAction::SessionFailed,
            target,
            client_address,
            AuditOutcome::Failure,
        );
        let attempt = match reserved {
            LoginAttempt::Locked => Attempt::Locked,
            LoginAttempt::Reserved { .. } => Attempt::Refused,
        };
        self.refuse_reserved(user, reserved, failure, client_address)
            .await?;
        Ok((attempt, None))
    }

    /// Records `failure` of a reserved attempt, with the account's lock when
    /// it was the last one allowed (the attempt's hold becomes the lock);
    /// an unreserved attempt (the account was locked) records the failure
    /// only.
    async fn refuse_reserved(
        &self,
        user: &User,
        reserved: LoginAttempt,
        failure: NewAuditEvent,
        client_address: Option<IpAddr>,
    ) -> Result<(), AdminError> {
        let LoginAttempt::Reserved { last } = reserved else {
            self.store.record_audit_event(&failure).await?;
            return Ok(());
        };
        let lock = self.sign_in_event(
            ActorRecord::System,
            Some(user),
            AuditAction::AccountLocked,
            user.email.as_ref().to_owned(),
            client_address,
            AuditOutcome::Success,
        );
        let lock_until = self.clock.now() + self.login.lockout;
        self.store
            .record_login_failure(user.id, &failure, last.then_some((lock_until, &lock)))
            .await?;
        if last {
            tracing::warn!(user_id = %user.id, "account locked after repeated failed password checks");
        }
        Ok(())
    }

    /// Stores a new session for `user`, who proved who they are.
    async fn start_session(
        &self,
        user: User,
        client_address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<SignedIn, AdminError> {
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
            ActorRecord::User {
                id: user.id,
                email: user.email.as_ref().to_owned(),
            },
            Some(&user),
            AuditAction::SessionCreated,
            session.id.to_string(),
            client_address,
            AuditOutcome::Success,
        );
        self.store
            .record_sign_in(&session, &token.hash(), &event)
            .await?;
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
        // A disabled user's sessions stop at once, whatever ended them.
        if !user.status.may_sign_in() {
            self.store.delete_session(session.id).await?;
            return Ok(None);
        }
        self.store.touch_session(session.id, now).await?;
        session.last_seen_at = now;
        Ok(Some((user, session)))
    }

    /// Ends the acting user's own session.
    pub async fn sign_out(&self, acting: &Acting, session: &Session) -> Result<(), AdminError> {
        if acting.user_id() != Some(session.user_id) {
            return Err(AdminError::Forbidden);
        }
        let event = self.event(
            acting,
            acting.organisation_id(),
            AuditAction::SessionDeleted,
            session.id.to_string(),
            AuditOutcome::Success,
        );
        self.store.end_session(session.id, &event).await?;
        Ok(())
    }

    /// Changes the acting user's own password after checking the current
    /// one, and ends their other sessions. A wrong current password counts
    /// towards the account's lock like a failed sign-in, reserved before
    /// the check the same way; a locked account changes nothing.
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
        check_new_password(current.expose_secret(), new.expose_secret(), &user.email)
            .map_err(Invalid::from)?;
        let admitted = self.checks.admit().ok_or(AdminError::TooManyAttempts {
            retry_after_seconds: BUSY_RETRY_AFTER_SECONDS,
        })?;
        let now = self.clock.now();
        let reserved = self.reserve_attempt(user.id, now).await?;
        if reserved == LoginAttempt::Locked {
            let state = self.store.login_state(user.id).await?;
            let retry_after_seconds = state
                .locked_until
                .map_or(0, |until| (until - now).whole_seconds())
                .max(1);
            return Err(AdminError::TooManyAttempts {
                retry_after_seconds: u64::try_from(retry_after_seconds).unwrap_or(1),
            });
        }
        if !admitted.verify(current, hash).await? {
            let failure = self.event(
                acting,
                user.organisation_id,
                AuditAction::PasswordChanged,
                target.clone(),
                AuditOutcome::Failure,
            );
            self.refuse_reserved(&user, reserved, failure, acting.client_address())
                .await?;
            return Err(Invalid::WrongCurrentPassword.into());
        }
        let hash = self.hash(new).await?;
        let event = self.event(
            acting,
            user.organisation_id,
            AuditAction::PasswordChanged,
            target,
            AuditOutcome::Success,
        );
        // The right current password ends the attempt like a sign-in would.
        self.store
            .change_password(user.id, &hash, session.id, &event)
            .await?;
        Ok(())
    }
}
