//! [`AccountStore`] on the same pool: sessions, sign-in state and the audit
//! log, with the same query text for SQLite and PostgreSQL.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use tessera_core::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use tessera_core::ids::{SessionId, UserId};
use tessera_core::password::PhcHash;
use tessera_core::session::{LoginAttempt, LoginState, Session, SessionTokenHash};
use tessera_core::store::StoreError;
use tessera_core::store::{AccountStore, UserCredentials};
use tessera_core::user::{Email, TotpSecret, User};
use time::OffsetDateTime;

use crate::audit::{AUDIT_COLUMNS, audit_event, insert_audit};
use crate::error::{db, on_unique};
use crate::rows;
use crate::sql_store::{SqlStore, epoch};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn session(row: &AnyRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: rows::text(row, "id")?
            .parse()
            .map_err(|_| corrupt("session id"))?,
        user_id: rows::text(row, "user_id")?
            .parse()
            .map_err(|_| corrupt("session user_id"))?,
        created_at: rows::instant(row, "created_at")?,
        last_seen_at: rows::instant(row, "last_seen_at")?,
    })
}

#[async_trait::async_trait]
impl AccountStore for SqlStore {
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, organisation_id, status, password_hash, totp_secret, created_at \
             FROM users WHERE email = $1",
        )
        .bind(email.as_ref().to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UserCredentials {
            user: rows::user(&row)?,
            password_hash: PhcHash::from_stored(rows::text(&row, "password_hash")?),
            totp: TotpSecret::from_stored(rows::text(&row, "totp_secret")?),
        }))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT id, email, role, organisation_id, status, created_at FROM users WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(db)?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    async fn login_state(&self, id: UserId) -> Result<LoginState, StoreError> {
        let row = sqlx::query("SELECT failed_logins, locked_until FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        let failed: i64 = row.try_get("failed_logins").map_err(db)?;
        let locked: Option<i64> = row.try_get("locked_until").map_err(db)?;
        Ok(LoginState {
            failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
            locked_until: locked
                .map(|s| {
                    OffsetDateTime::from_unix_timestamp(s).map_err(|_| corrupt("locked_until"))
                })
                .transpose()?,
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn reserve_login_attempt(
        &self,
        id: UserId,
        max_attempts: u32,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<LoginAttempt, StoreError> {
        // One statement: the count and the hold are read and written
        // atomically, whatever runs beside it. SET sees the row as it was.
        let row = sqlx::query(
            "UPDATE users SET \
               failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
               locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE NULL END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $4) \
             RETURNING locked_until",
        )
        .bind(id.to_string())
        .bind(i64::from(max_attempts.max(1)))
        .bind(epoch(lock_until))
        .bind(epoch(now))
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(LoginAttempt::Locked);
        };
        let held: Option<i64> = row.try_get("locked_until").map_err(db)?;
        Ok(LoginAttempt::Reserved {
            last: held.is_some(),
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn record_login_failure(
        &self,
        id: UserId,
        failure: &NewAuditEvent,
        lock: Option<(OffsetDateTime, &NewAuditEvent)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        insert_audit(&mut *tx, failure).await?;
        if let Some((until, locked)) = lock {
            // Still held: no success lifted it while this attempt was checked.
            let confirmed = sqlx::query(
                "UPDATE users SET locked_until = $1 WHERE id = $2 AND locked_until IS NOT NULL",
            )
            .bind(epoch(until))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected()
                > 0;
            if confirmed {
                insert_audit(&mut *tx, locked).await?;
            }
        }
        tx.commit().await.map_err(db)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn accept_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id.to_string())
        .execute(self.pool())
        .await
        .map_err(db)?
        .rows_affected();
        Ok(updated > 0)
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn change_password(
        &self,
        id: UserId,
        hash: &PhcHash,
        keep: SessionId,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL \
             WHERE id = $2",
        )
        .bind(hash.as_str().to_owned())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(id.to_string())
            .bind(keep.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    #[tracing::instrument(skip_all, fields(user_id = %session.user_id, session_id = %session.id))]
    async fn record_sign_in(
        &self,
        session: &Session,
        token_hash: &SessionTokenHash,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(session.user_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.id.to_string())
        .bind(token_hash.as_str().to_owned())
        .bind(session.user_id.to_string())
        .bind(epoch(session.created_at))
        .bind(epoch(session.last_seen_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique("token_hash"))?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn session_by_token(
        &self,
        token_hash: &SessionTokenHash,
    ) -> Result<Option<Session>, StoreError> {
        sqlx::query(
            "SELECT id, user_id, created_at, last_seen_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash.as_str().to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(db)?
        .as_ref()
        .map(session)
        .transpose()
    }

    async fn touch_session(&self, id: SessionId, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(epoch(at))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(session_id = %id))]
    async fn end_session(&self, id: SessionId, event: &NewAuditEvent) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(session_id = %id))]
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(db)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn delete_expired_sessions(
        &self,
        idle_cutoff: OffsetDateTime,
        absolute_cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
                .bind(epoch(idle_cutoff))
                .bind(epoch(absolute_cutoff))
                .execute(self.pool())
                .await
                .map_err(db)?
                .rows_affected(),
        )
    }

    #[tracing::instrument(skip_all, fields(action = event.action.as_str()))]
    async fn record_audit_event(&self, event: &NewAuditEvent) -> Result<(), StoreError> {
        insert_audit(self.pool(), event).await
    }

    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE 1 = 1");
        let mut n = 0;
        if query.organisation_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND organisation_id = ${n}"));
        }
        if query.before.is_some() {
            n += 1;
            sql.push_str(&format!(" AND id < ${n}"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql);
        if let Some(org) = query.organisation_id {
            q = q.bind(org.to_string());
        }
        if let Some(before) = query.before {
            q = q.bind(before);
        }
        q.bind(i64::from(query.limit))
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(audit_event)
            .collect()
    }
}
