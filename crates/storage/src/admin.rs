//! [`AdminStore`]: organisations, applications with their permissions and
//! secrets, and users.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};
use std::collections::HashMap;
use tessera_core::application::{Application, Permissions};
use tessera_core::audit::NewAuditEvent;
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::organisation::Organisation;
use tessera_core::password::PhcHash;
use tessera_core::resource::ResourceId;
use tessera_core::secret::{MAX_SECRETS_PER_APPLICATION, NewSecret, SecretRecord};
use tessera_core::store::{AdminStore, StoreError};
use tessera_core::user::{TotpSecret, User};
use time::OffsetDateTime;

use crate::audit::insert_audit;
use crate::error::{db, on_unique};
use crate::rows;
use crate::sql_store::{Backend, SqlStore, epoch};

fn resource_id(row: &AnyRow) -> Result<ResourceId, StoreError> {
    ResourceId::parse(&rows::text(row, "resource_id")?)
        .map_err(|_| StoreError::Corrupt("resource_id".into()))
}

/// The application with its permissions, if there is one.
pub(crate) async fn load_application(
    pool: &AnyPool,
    client_id: ClientId,
) -> Result<Option<Application>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications WHERE client_id = $1"
    ))
    .bind(client_id.to_string())
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let mut app = rows::application(&row)?;
    app.permissions = permissions_of(pool, client_id).await?;
    Ok(Some(app))
}

pub(crate) async fn permissions_of(
    pool: &AnyPool,
    client_id: ClientId,
) -> Result<Permissions, StoreError> {
    let rows = sqlx::query("SELECT resource_id FROM application_permissions WHERE client_id = $1")
        .bind(client_id.to_string())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            ResourceId::parse(&rows::text(r, "resource_id")?)
                .map_err(|_| StoreError::Corrupt("resource_id".into()))
        })
        .collect()
}

/// The PostgreSQL channel on which a committed change-log row is announced.
pub(crate) const CHANGES_CHANNEL: &str = "tessera_credential_changes";

/// Records, inside the transaction making it, a change running servers must
/// apply to their secret caches, and the audit event that records it.
///
/// On PostgreSQL the log is locked first, for the rest of the transaction:
/// writers of the log then commit in the order of their sequence numbers,
/// so a reader that sees number N sees every lower one that will ever
/// exist, and "applied up to N" is exact. Deletions are rare; the lock is
/// held only from here to the commit, after every other row is taken. The
/// notice is delivered to listeners when (and only if) the transaction
/// commits.
async fn record_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    client_id: ClientId,
    at: OffsetDateTime,
    event: &NewAuditEvent,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("LOCK TABLE credential_changes IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    sqlx::query("INSERT INTO credential_changes (client_id, changed_at) VALUES ($1, $2)")
        .bind(client_id.to_string())
        .bind(epoch(at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    if backend == Backend::Postgres {
        sqlx::query(&format!(
            "SELECT 1 AS sent FROM pg_notify('{CHANGES_CHANNEL}', '')"
        ))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    insert_audit(&mut **tx, event).await
}

/// Ends a transaction that deleted `deleted` rows of `client_id`'s: with
/// none, nothing changed and it is rolled back; otherwise the change is
/// recorded for the servers' caches and in the audit log, and committed.
/// Returns whether anything was deleted.
async fn commit_deletion(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    client_id: ClientId,
    at: OffsetDateTime,
    deleted: u64,
    event: &NewAuditEvent,
) -> Result<bool, StoreError> {
    if deleted == 0 {
        return Ok(false);
    }
    record_change(&mut tx, backend, client_id, at, event).await?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// Takes `client_id`'s application row for the rest of `tx` (a row lock
/// on PostgreSQL, the write lock on SQLite); `false` if there is none.
/// Every change to an application's credentials takes it first, so changes
/// running at once wait in one order instead of deadlocking.
async fn take_application(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client_id: ClientId,
) -> Result<bool, StoreError> {
    let found = sqlx::query("UPDATE applications SET updated_at = updated_at WHERE client_id = $1")
        .bind(client_id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db)?
        .rows_affected();
    Ok(found > 0)
}

/// Inserts an application's permission rows inside `tx`.
async fn insert_permissions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client_id: ClientId,
    permissions: &Permissions,
) -> Result<(), StoreError> {
    for resource in permissions {
        sqlx::query("INSERT INTO application_permissions (client_id, resource_id) VALUES ($1, $2)")
            .bind(client_id.to_string())
            .bind(resource.as_str().to_owned())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    Ok(())
}

const APPLICATION_COLUMNS: &str = "client_id, name, organisation_id, kind, api, created_at";
const SECRET_COLUMNS: &str = "id, client_id, name, hint, created_at, created_by_kind, created_by_user_id, created_by, \
     expires_at, last_used_at";

#[async_trait::async_trait]
impl AdminStore for SqlStore {
    #[tracing::instrument(skip_all, fields(organisation = %org.id))]
    async fn create_organisation(
        &self,
        org: &Organisation,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO organisations (id, name, country, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(org.id.to_string())
        .bind(org.name.as_ref().to_owned())
        .bind(org.country.as_str().to_owned())
        .bind(epoch(org.created_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique("name"))?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, country, created_at FROM organisations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::organisation)
            .transpose()
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, country, created_at FROM organisations ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(rows::organisation)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(client_id = %app.client_id))]
    async fn create_application(
        &self,
        app: &Application,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO applications (client_id, name, organisation_id, kind, api, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(app.client_id.to_string())
        .bind(app.name.as_ref().to_owned())
        .bind(app.organisation_id.to_string())
        .bind(app.kind.as_str())
        .bind(app.api.as_ref().to_owned())
        .bind(epoch(app.created_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique("name"))?;
        insert_permissions(&mut tx, app.client_id, &app.permissions).await?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn application(&self, client_id: ClientId) -> Result<Option<Application>, StoreError> {
        load_application(self.pool(), client_id).await
    }

    async fn applications(
        &self,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<Application>, StoreError> {
        // Two queries whatever the number of applications: the rows, then
        // every permission of the same selection.
        let (apps_sql, permissions_sql) = match organisation {
            Some(_) => (
                format!(
                    "SELECT {APPLICATION_COLUMNS} FROM applications \
                     WHERE organisation_id = $1 ORDER BY name"
                ),
                "SELECT p.client_id, p.resource_id FROM application_permissions p \
                 JOIN applications a ON a.client_id = p.client_id WHERE a.organisation_id = $1",
            ),
            None => (
                format!("SELECT {APPLICATION_COLUMNS} FROM applications ORDER BY name"),
                "SELECT client_id, resource_id FROM application_permissions",
            ),
        };
        let bind = |sql| {
            let query = sqlx::query(sql);
            match organisation {
                Some(org) => query.bind(org.to_string()),
                None => query,
            }
        };
        let mut apps = bind(&apps_sql)
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(rows::application)
            .collect::<Result<Vec<_>, _>>()?;
        let mut permissions: HashMap<ClientId, Permissions> = HashMap::new();
        for row in bind(permissions_sql)
            .fetch_all(self.pool())
            .await
            .map_err(db)?
        {
            let client_id = rows::text(&row, "client_id")?
                .parse()
                .map_err(|_| StoreError::Corrupt("client_id".into()))?;
            permissions
                .entry(client_id)
                .or_default()
                .insert(resource_id(&row)?);
        }
        for app in &mut apps {
            app.permissions = permissions.remove(&app.client_id).unwrap_or_default();
        }
        Ok(apps)
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn set_permissions(
        &self,
        client_id: ClientId,
        permissions: &Permissions,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        if !take_application(&mut tx, client_id).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM application_permissions WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_permissions(&mut tx, client_id, permissions).await?;
        record_change(&mut tx, self.backend(), client_id, at, event).await?;
        tx.commit().await.map_err(db)
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn delete_application(
        &self,
        client_id: ClientId,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        // The application row first, as every other change to its
        // credentials takes it: a permission change running at once would
        // otherwise hold the rows deleted below while waiting for the row
        // this deletion holds (a deadlock on PostgreSQL).
        if !take_application(&mut tx, client_id).await? {
            return Ok(false);
        }
        // Children first: SQLite enforces the cascade only when a connection
        // enables foreign keys, and this must not depend on it.
        // The secrets one at a time in id order, the order record_secret_use
        // locks them in: a flush of their uses running at once would
        // otherwise hold a secret this deletion waits for while waiting for
        // one it holds (a deadlock on PostgreSQL). None can be added
        // meanwhile: creating a secret takes the application row, held above.
        let mut secrets = sqlx::query("SELECT id FROM client_secrets WHERE client_id = $1")
            .bind(client_id.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(|row| {
                rows::text(row, "id")?
                    .parse::<SecretId>()
                    .map_err(|_| StoreError::Corrupt("secret id".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        secrets.sort_unstable();
        for id in secrets {
            sqlx::query("DELETE FROM client_secrets WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("DELETE FROM application_permissions WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let deleted = sqlx::query("DELETE FROM applications WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        commit_deletion(tx, self.backend(), client_id, at, deleted, event).await
    }

    #[tracing::instrument(skip_all, fields(client_id = %secret.record.client_id, secret_id = %secret.record.id))]
    async fn create_secret(
        &self,
        secret: &NewSecret,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let r = &secret.record;
        let mut tx = self.pool().begin().await.map_err(db)?;
        // Taking the application row first serialises concurrent creations
        // for one application, so the count below cannot be raced past five.
        if !take_application(&mut tx, r.client_id).await? {
            return Err(StoreError::NotFound);
        }
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM client_secrets WHERE client_id = $1")
                .bind(r.client_id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
                .try_get("n")
                .map_err(db)?;
        if count >= MAX_SECRETS_PER_APPLICATION as i64 {
            return Err(StoreError::SecretLimitReached);
        }
        sqlx::query(
            "INSERT INTO client_secrets (id, client_id, name, hint, hash, created_at, \
             created_by_kind, created_by_user_id, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.id.to_string())
        .bind(r.client_id.to_string())
        .bind(r.name.as_ref().to_owned())
        .bind(r.hint.clone())
        .bind(secret.hash.as_str().to_owned())
        .bind(epoch(r.created_at))
        .bind(r.created_by.kind().as_str())
        .bind(r.created_by.user_id().map(|id| id.to_string()))
        .bind(r.created_by.label().to_owned())
        .bind(epoch(r.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn secrets(&self, client_id: ClientId) -> Result<Vec<SecretRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SECRET_COLUMNS} FROM client_secrets WHERE client_id = $1 ORDER BY created_at, id"
        ))
        .bind(client_id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(db)?
        .iter()
        .map(rows::secret_record)
        .collect()
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id, secret_id = %id))]
    async fn delete_secret(
        &self,
        client_id: ClientId,
        id: SecretId,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let deleted = sqlx::query("DELETE FROM client_secrets WHERE id = $1 AND client_id = $2")
            .bind(id.to_string())
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        commit_deletion(tx, self.backend(), client_id, at, deleted, event).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    async fn create_user(
        &self,
        user: &User,
        password_hash: &PhcHash,
        totp: &TotpSecret,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO users (id, email, role, organisation_id, status, password_hash, totp_secret, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_ref().to_owned())
        .bind(user.role.as_str())
        .bind(user.organisation_id.map(|o| o.to_string()))
        .bind(user.status.as_str())
        .bind(password_hash.as_str().to_owned())
        .bind(totp.expose_base32().to_owned())
        .bind(epoch(user.created_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique("email"))?;
        insert_audit(&mut *tx, event).await?;
        tx.commit().await.map_err(db)
    }

    async fn users(&self, organisation: Option<OrganisationId>) -> Result<Vec<User>, StoreError> {
        let columns = "id, email, role, organisation_id, status, created_at";
        let filtered =
            format!("SELECT {columns} FROM users WHERE organisation_id = $1 ORDER BY email");
        let all = format!("SELECT {columns} FROM users ORDER BY email");
        let query = match organisation {
            Some(org) => sqlx::query(&filtered).bind(org.to_string()),
            None => sqlx::query(&all),
        };
        query
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(rows::user)
            .collect()
    }
}
