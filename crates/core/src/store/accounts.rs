//! The storage of accounts: sign-in state, sessions and the audit log.

use crate::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use crate::ids::{SessionId, UserId};
use crate::password::PhcHash;
use crate::session::{LoginAttempt, LoginState, Session, SessionTokenHash};
use crate::store::StoreError;
use crate::user::{Email, TotpSecret, User};
use time::OffsetDateTime;

/// A user with what signing in checks.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// argon2id hash of the password.
    pub password_hash: PhcHash,
    /// TOTP shared secret.
    pub totp: TotpSecret,
}

/// Persistent storage of sessions, sign-in state and audit events.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// A user with the hashes sign-in checks.
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError>;
    /// One user, by id.
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// A user's sign-in state.
    async fn login_state(&self, id: UserId) -> Result<LoginState, StoreError>;
    /// Reserves one sign-in attempt before its credentials are checked, in
    /// one atomic statement, so concurrent attempts are counted exactly as
    /// sequential ones: each counts as a failure until it succeeds. The
    /// attempt that reaches `max_attempts` holds the account locked until
    /// `lock_until` while it is checked (a success lifts the hold, a failure
    /// confirms it with [`AccountStore::record_login_failure`]) and restarts
    /// the count. A locked account (at `now`), or a user that no longer
    /// exists, gets [`LoginAttempt::Locked`] and nothing is counted.
    async fn reserve_login_attempt(
        &self,
        id: UserId,
        max_attempts: u32,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<LoginAttempt, StoreError>;
    /// Records a reserved attempt that failed: `failure`, and for the last
    /// attempt before the lock, the lock until the given instant with its
    /// event (unless a success lifted the hold meanwhile). One transaction.
    async fn record_login_failure(
        &self,
        id: UserId,
        failure: &NewAuditEvent,
        lock: Option<(OffsetDateTime, &NewAuditEvent)>,
    ) -> Result<(), StoreError>;
    /// Accepts TOTP time step `step` for the user only if it is later than
    /// every step accepted before (checked and recorded atomically), so a
    /// code works once.
    async fn accept_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError>;
    /// Replaces the user's password hash, clears their failure count and
    /// lock (the current password was right), ends every session of theirs
    /// but `keep`, and records `event`, in one transaction.
    async fn change_password(
        &self,
        id: UserId,
        hash: &PhcHash,
        keep: SessionId,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;

    /// A successful sign-in: clears the user's failure count, stores the
    /// new session under the hash of its token and records `event`, in one
    /// transaction.
    async fn record_sign_in(
        &self,
        session: &Session,
        token_hash: &SessionTokenHash,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// The session whose token has this hash.
    async fn session_by_token(
        &self,
        token_hash: &SessionTokenHash,
    ) -> Result<Option<Session>, StoreError>;
    /// Records a request made with the session.
    async fn touch_session(&self, id: SessionId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Ends a session and records `event` (a sign-out), in one
    /// transaction; `false`, and no event, if there was no such session.
    async fn end_session(&self, id: SessionId, event: &NewAuditEvent) -> Result<bool, StoreError>;
    /// Deletes a session that can no longer be used; `false` if there was none.
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError>;

    /// Deletes every session last used at or before `idle_cutoff` or
    /// created at or before `absolute_cutoff`: sessions nobody can use.
    async fn delete_expired_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        absolute_cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Appends an event that goes with no other change (a refused sign-in
    /// by a stranger, a refused password change) to the audit log.
    async fn record_audit_event(&self, event: &NewAuditEvent) -> Result<(), StoreError>;
    /// Events, newest first.
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
}
