//! The storage of accounts: sign-in state, sessions and the audit log.

use crate::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use crate::ids::{SessionId, UserId};
use crate::password::PhcHash;
use crate::session::{LoginState, Session, SessionTokenHash};
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
    /// Counts one more failed sign-in. When the count reaches
    /// `max_attempts`, locks the account until `lock_until` and restarts
    /// the count; answers whether this call locked it (atomically, so only
    /// one of several concurrent failures reports the lock).
    async fn record_login_failure(
        &self,
        id: UserId,
        max_attempts: u32,
        lock_until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Clears the failure count after a successful sign-in.
    async fn clear_login_failures(&self, id: UserId) -> Result<(), StoreError>;
    /// Accepts TOTP time step `step` for the user only if it is later than
    /// every step accepted before (checked and recorded atomically), so a
    /// code works once.
    async fn accept_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError>;
    /// Replaces the user's password hash.
    async fn set_password_hash(&self, id: UserId, hash: &PhcHash) -> Result<(), StoreError>;

    /// Stores a new session under the hash of its token.
    async fn create_session(
        &self,
        session: &Session,
        token_hash: &SessionTokenHash,
    ) -> Result<(), StoreError>;
    /// The session whose token has this hash.
    async fn session_by_token(
        &self,
        token_hash: &SessionTokenHash,
    ) -> Result<Option<Session>, StoreError>;
    /// Records a request made with the session.
    async fn touch_session(&self, id: SessionId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Deletes one session; `false` if there was none.
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError>;
    /// Deletes every session of a user except `keep`.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<(), StoreError>;

    /// Deletes every session last used at or before `idle_cutoff` or
    /// created at or before `absolute_cutoff`: sessions nobody can use.
    async fn delete_expired_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        absolute_cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Appends an event to the audit log.
    async fn record_audit_event(&self, event: &NewAuditEvent) -> Result<(), StoreError>;
    /// Events, newest first.
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
}
