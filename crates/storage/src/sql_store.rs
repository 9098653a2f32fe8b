//! The store over a sqlx `Any` pool, for SQLite or PostgreSQL.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _, Row as _};
use tessera_core::application::{Application, ApplicationName, Permissions};
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::organisation::Organisation;
use tessera_core::password::PhcHash;
use tessera_core::resource::ResourceId;
use tessera_core::secret::{EXPIRING_SOON, MAX_SECRETS_PER_APPLICATION, NewSecret, SecretRecord};
use tessera_core::store::{
    ClientCredentials, CredentialChange, ExpiringSecret, ReminderOutcome, SecretCounts,
    SigningKeyRecord, Store, StoreError, UserCredentials,
};
use tessera_core::user::{Email, TotpSecret, User};
use time::OffsetDateTime;

use crate::error::{StorageError, db, on_unique};
use crate::rows;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of `url`, by its scheme.
    pub fn of(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StorageError::UnsupportedUrl)
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a caller waits for a free connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL: longest a statement may run before the server cancels it.
    pub statement_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Tessera's store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

fn epoch(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Creates the folder of a SQLite file URL such as `sqlite://data/tessera.db`.
fn create_sqlite_dir(url: &str) -> Result<(), StorageError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

impl SqlStore {
    /// Connects to the database `url` names. A SQLite file (and its folder)
    /// is created if missing and put in WAL mode.
    pub async fn connect(url: &str, config: PoolConfig) -> Result<Self, StorageError> {
        install_default_drivers();
        let backend = Backend::of(url)?;
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            create_sqlite_dir(&url)?;
            if !url.contains("mode=") && !url.contains(":memory:") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let statement_timeout_ms = config.statement_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    } else {
                        // A statement stuck behind a lock must fail, not hold
                        // a connection and its caller forever.
                        conn.execute(
                            format!("SET statement_timeout = {statement_timeout_ms}").as_str(),
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(StorageError::Connect)?;
        Ok(Self { pool, backend })
    }

    /// Applies pending migrations of this database's dialect.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the store's other modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn permissions_of(&self, client_id: ClientId) -> Result<Permissions, StoreError> {
        let rows =
            sqlx::query("SELECT resource_id FROM application_permissions WHERE client_id = $1")
                .bind(client_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.iter()
            .map(|r| {
                ResourceId::parse(&rows::text(r, "resource_id")?)
                    .map_err(|_| StoreError::Corrupt("resource_id".into()))
            })
            .collect()
    }
}

/// Records, inside the transaction making it, a change running servers must
/// apply to their secret caches.
async fn record_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client_id: ClientId,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO credential_changes (client_id, changed_at) VALUES ($1, $2)")
        .bind(client_id.to_string())
        .bind(epoch(at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Ends a transaction that deleted `deleted` rows of `client_id`'s: with
/// none, nothing changed and it is rolled back; otherwise the change is
/// recorded for the servers' caches and committed. Returns whether anything
/// was deleted.
async fn commit_deletion(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    client_id: ClientId,
    at: OffsetDateTime,
    deleted: u64,
) -> Result<bool, StoreError> {
    if deleted == 0 {
        return Ok(false);
    }
    record_change(&mut tx, client_id, at).await?;
    tx.commit().await.map_err(db)?;
    Ok(true)
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
const SECRET_COLUMNS: &str =
    "id, client_id, name, hint, created_at, created_by, expires_at, last_used_at";

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(organisation = %org.id))]
    async fn create_organisation(&self, org: &Organisation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organisations (id, name, country, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(org.id.to_string())
        .bind(org.name.as_ref().to_owned())
        .bind(org.country.as_str().to_owned())
        .bind(epoch(org.created_at))
        .execute(&self.pool)
        .await
        .map_err(on_unique("name"))?;
        Ok(())
    }

    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, country, created_at FROM organisations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::organisation)
            .transpose()
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        sqlx::query("SELECT id, name, country, created_at FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::organisation)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(client_id = %app.client_id))]
    async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
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
        tx.commit().await.map_err(db)
    }

    async fn application(&self, client_id: ClientId) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE client_id = $1"
        ))
        .bind(client_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let mut app = rows::application(&row)?;
        app.permissions = self.permissions_of(client_id).await?;
        Ok(Some(app))
    }

    async fn applications(
        &self,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<Application>, StoreError> {
        let filtered = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE organisation_id = $1 ORDER BY name"
        );
        let all = format!("SELECT {APPLICATION_COLUMNS} FROM applications ORDER BY name");
        let query = match organisation {
            Some(org) => sqlx::query(&filtered).bind(org.to_string()),
            None => sqlx::query(&all),
        };
        let mut apps = query
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::application)
            .collect::<Result<Vec<_>, _>>()?;
        for app in &mut apps {
            app.permissions = self.permissions_of(app.client_id).await?;
        }
        Ok(apps)
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn set_permissions(
        &self,
        client_id: ClientId,
        permissions: &Permissions,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let found =
            sqlx::query("UPDATE applications SET updated_at = updated_at WHERE client_id = $1")
                .bind(client_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
        if found == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM application_permissions WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_permissions(&mut tx, client_id, permissions).await?;
        record_change(&mut tx, client_id, at).await?;
        tx.commit().await.map_err(db)
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn delete_application(
        &self,
        client_id: ClientId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Children first: SQLite enforces the cascade only when a connection
        // enables foreign keys, and this must not depend on it.
        for table in ["client_secrets", "application_permissions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE client_id = $1"))
                .bind(client_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let deleted = sqlx::query("DELETE FROM applications WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        commit_deletion(tx, client_id, at, deleted).await
    }

    #[tracing::instrument(skip_all, fields(client_id = %secret.record.client_id, secret_id = %secret.record.id))]
    async fn create_secret(&self, secret: &NewSecret) -> Result<(), StoreError> {
        let r = &secret.record;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Touching the application row first serialises concurrent creations
        // for one application (a row lock on PostgreSQL, the write lock on
        // SQLite), so the count below cannot be raced past five.
        let found = sqlx::query("UPDATE applications SET updated_at = $1 WHERE client_id = $2")
            .bind(epoch(r.created_at))
            .bind(r.client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        if found == 0 {
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
            "INSERT INTO client_secrets (id, client_id, name, hint, hash, created_at, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.to_string())
        .bind(r.client_id.to_string())
        .bind(r.name.as_ref().to_owned())
        .bind(r.hint.clone())
        .bind(secret.hash.as_str().to_owned())
        .bind(epoch(r.created_at))
        .bind(r.created_by.clone())
        .bind(epoch(r.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn secrets(&self, client_id: ClientId) -> Result<Vec<SecretRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SECRET_COLUMNS} FROM client_secrets WHERE client_id = $1 ORDER BY created_at, id"
        ))
        .bind(client_id.to_string())
        .fetch_all(&self.pool)
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
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let deleted = sqlx::query("DELETE FROM client_secrets WHERE id = $1 AND client_id = $2")
            .bind(id.to_string())
            .bind(client_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        commit_deletion(tx, client_id, at, deleted).await
    }

    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    async fn client_credentials(
        &self,
        client_id: ClientId,
    ) -> Result<Option<ClientCredentials>, StoreError> {
        let Some(application) = self.application(client_id).await? else {
            return Ok(None);
        };
        let secrets = sqlx::query(
            "SELECT id, hint, hash, expires_at FROM client_secrets WHERE client_id = $1",
        )
        .bind(client_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(rows::stored_secret)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ClientCredentials {
            application: Arc::new(application),
            secrets,
        }))
    }

    async fn record_secret_use(
        &self,
        uses: &[(SecretId, OffsetDateTime)],
    ) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        for (id, at) in uses {
            sqlx::query(
                "UPDATE client_secrets SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(epoch(*at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn credential_changes(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<CredentialChange>, StoreError> {
        sqlx::query(
            "SELECT seq, client_id FROM credential_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(CredentialChange {
                seq: row.try_get("seq").map_err(db)?,
                client_id: rows::text(row, "client_id")?
                    .parse()
                    .map_err(|_| StoreError::Corrupt("client_id".into()))?,
            })
        })
        .collect()
    }

    async fn latest_credential_change(&self) -> Result<i64, StoreError> {
        let latest: Option<i64> = sqlx::query("SELECT MAX(seq) AS latest FROM credential_changes")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?
            .try_get("latest")
            .map_err(db)?;
        Ok(latest.unwrap_or(0))
    }

    async fn prune_credential_changes(&self, before: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credential_changes WHERE changed_at < $1")
            .bind(epoch(before))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn secret_counts(&self, now: OffsetDateTime) -> Result<SecretCounts, StoreError> {
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM(CASE WHEN expires_at <= $1 THEN 1 ELSE 0 END), 0) AS expired, \
               COALESCE(SUM(CASE WHEN expires_at > $1 AND expires_at < $2 THEN 1 ELSE 0 END), 0) AS expiring_soon, \
               COALESCE(SUM(CASE WHEN expires_at >= $2 THEN 1 ELSE 0 END), 0) AS active \
             FROM client_secrets",
        )
        .bind(epoch(now))
        .bind(epoch(now + EXPIRING_SOON))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let count = |col: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(col).map_err(db)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(col.to_owned()))
        };
        Ok(SecretCounts {
            active: count("active")?,
            expiring_soon: count("expiring_soon")?,
            expired: count("expired")?,
        })
    }

    async fn secrets_expiring_before(
        &self,
        before: OffsetDateTime,
    ) -> Result<Vec<ExpiringSecret>, StoreError> {
        sqlx::query(
            "SELECT s.id, s.client_id, s.name, s.hint, s.created_at, s.created_by, s.expires_at, \
                    s.last_used_at, a.name AS application_name, a.organisation_id \
             FROM client_secrets s JOIN applications a ON a.client_id = s.client_id \
             WHERE s.expires_at < $1 ORDER BY s.expires_at, s.id",
        )
        .bind(epoch(before))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(ExpiringSecret {
                secret: rows::secret_record(row)?,
                application_name: ApplicationName::from_stored(rows::text(
                    row,
                    "application_name",
                )?),
                organisation_id: rows::text(row, "organisation_id")?
                    .parse()
                    .map_err(|_| StoreError::Corrupt("organisation_id".into()))?,
            })
        })
        .collect()
    }

    async fn claim_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO reminder_deliveries \
               (secret_id, due_at, status, attempts, claimed_by, claimed_until, updated_at) \
             VALUES ($1, $2, 'sending', 1, $3, $4, $5) \
             ON CONFLICT (secret_id, due_at) DO UPDATE SET status = 'sending', \
               attempts = reminder_deliveries.attempts + 1, claimed_by = excluded.claimed_by, \
               claimed_until = excluded.claimed_until, updated_at = excluded.updated_at \
             WHERE reminder_deliveries.status = 'failed' \
                OR (reminder_deliveries.status = 'sending' AND reminder_deliveries.claimed_until <= $5)",
        )
        .bind(secret.to_string())
        .bind(epoch(due_at))
        .bind(holder.to_owned())
        .bind(epoch(until))
        .bind(epoch(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn finish_reminder(
        &self,
        secret: SecretId,
        due_at: OffsetDateTime,
        holder: &str,
        outcome: ReminderOutcome,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE reminder_deliveries SET status = $1, updated_at = $2 \
             WHERE secret_id = $3 AND due_at = $4 AND claimed_by = $5",
        )
        .bind(outcome.as_str())
        .bind(epoch(now))
        .bind(secret.to_string())
        .bind(epoch(due_at))
        .bind(holder.to_owned())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
        )
        .bind(name.to_owned())
        .bind(holder.to_owned())
        .bind(epoch(until))
        .bind(epoch(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    async fn create_user(
        &self,
        user: &User,
        password_hash: &PhcHash,
        totp: &TotpSecret,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, role, organisation_id, password_hash, totp_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_ref().to_owned())
        .bind(user.role.as_str())
        .bind(user.organisation_id.map(|o| o.to_string()))
        .bind(password_hash.as_str().to_owned())
        .bind(totp.expose_base32().to_owned())
        .bind(epoch(user.created_at))
        .execute(&self.pool)
        .await
        .map_err(on_unique("email"))?;
        Ok(())
    }

    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, organisation_id, password_hash, totp_secret, created_at \
             FROM users WHERE email = $1",
        )
        .bind(email.as_ref().to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UserCredentials {
            user: rows::user(&row)?,
            password_hash: PhcHash::from_stored(rows::text(&row, "password_hash")?),
            totp: TotpSecret::from_stored(rows::text(&row, "totp_secret")?),
        }))
    }

    async fn users(&self, organisation: Option<OrganisationId>) -> Result<Vec<User>, StoreError> {
        let columns = "id, email, role, organisation_id, created_at";
        let filtered =
            format!("SELECT {columns} FROM users WHERE organisation_id = $1 ORDER BY email");
        let all = format!("SELECT {columns} FROM users ORDER BY email");
        let query = match organisation {
            Some(org) => sqlx::query(&filtered).bind(org.to_string()),
            None => sqlx::query(&all),
        };
        query
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn register_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (kid) DO NOTHING",
        )
        .bind(key.kid.clone())
        .bind(key.alg.clone())
        .bind(epoch(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(kid = %kid))]
    async fn activate_signing_key(&self, kid: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE signing_keys SET activated_at = $1, \
             activation_seq = (SELECT COALESCE(MAX(activation_seq), 0) + 1 FROM signing_keys) \
             WHERE kid = $2",
        )
        .bind(epoch(at))
        .bind(kid.to_owned())
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        sqlx::query(
            "SELECT kid, alg, created_at, activated_at, activation_seq FROM signing_keys \
             ORDER BY COALESCE(activation_seq, 0), created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(rows::signing_key)
        .collect()
    }
}
