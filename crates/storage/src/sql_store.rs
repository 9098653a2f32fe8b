//! The store over a sqlx `Any` pool, for SQLite or PostgreSQL.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _};
use time::OffsetDateTime;

use crate::error::StorageError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of `url`, by its scheme.
    fn of(url: &str) -> Result<Self, StorageError> {
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
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// The URL as connected to, for the connection that listens for
    /// change-log notices; it may hold a password, so it is never shown.
    url: Arc<str>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// An SQL expression for the database's current time, in milliseconds
    /// since the Unix epoch.
    pub(crate) fn now_ms_sql(self) -> &'static str {
        match self {
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
            Self::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }
}

/// A stored instant: whole seconds since the Unix epoch.
pub(crate) fn epoch(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Creates the folder and the file of a SQLite file URL such as
/// `sqlite://data/tessera.db`, both owner-only, unless they exist.
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
        tessera_core::private_fs::create_dir(dir).map_err(|source| StorageError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    tessera_core::private_fs::create_file(Path::new(path)).map_err(|source| {
        StorageError::CreateDir {
            path: path.to_owned(),
            source,
        }
    })
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
        Ok(Self {
            pool,
            backend,
            url: url.into(),
        })
    }

    /// Applies pending migrations of this database's dialect.
    ///
    /// SQLite migrations run on one connection with foreign keys off, as
    /// SQLite's procedure for rebuilding a table asks (a dropped parent
    /// would otherwise take its children with it); the references are
    /// checked before the connection is given up, and it is closed, never
    /// returned to the pool with foreign keys off.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = self.pool.acquire().await.map_err(StorageError::Connect)?;
                conn.execute("PRAGMA foreign_keys = OFF").await?;
                let migrated = SQLITE_MIGRATIONS.run(&mut *conn).await;
                let dangling = sqlx::query("PRAGMA foreign_key_check")
                    .fetch_optional(&mut *conn)
                    .await;
                // Closing can only fail on a connection already broken.
                let _ = conn.close().await;
                migrated?;
                if dangling?.is_some() {
                    return Err(StorageError::ForeignKeys);
                }
            }
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The pool, for the store's other modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The database in use.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL connected to (secret: never log it).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
