//! Throw-away databases for tests (feature `testing`): a fresh SQLite file,
//! or a fresh PostgreSQL database when `TESSERA_TEST_POSTGRES_URL` is set,
//! so one suite runs on whichever database the environment selects.

use std::io::Write as _;
use std::path::Path;
use std::sync::Once;

use sqlx::Connection as _;

use crate::sql_store::{PoolConfig, SqlStore};

/// The environment variable naming a PostgreSQL server (such as
/// `postgres://postgres@127.0.0.1:5432/postgres`) to run tests on.
pub const POSTGRES_URL_VAR: &str = "TESSERA_TEST_POSTGRES_URL";

static SQLITE_NOTICE: Once = Once::new();

/// The database a test runs on. A PostgreSQL database made by
/// [`TestDatabase::create`] is dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    /// PostgreSQL: the server URL and the database to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh SQLite file in `dir`, or, when `TESSERA_TEST_POSTGRES_URL`
    /// is set, a fresh PostgreSQL database on that server.
    ///
    /// # Panics
    /// When the PostgreSQL server cannot be reached or the database cannot
    /// be created: the test cannot run.
    #[expect(
        clippy::expect_used,
        reason = "a test whose database cannot be made must fail"
    )]
    pub async fn create(dir: &Path) -> Self {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(server) if !server.is_empty() => {
                let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("TESSERA_TEST_POSTGRES_URL must reach a PostgreSQL server");
                sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let _ = conn.close().await;
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(base, _)| base);
                Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((server.clone(), name)),
                }
            }
            _ => {
                SQLITE_NOTICE.call_once(|| {
                    // Written past the test harness's capture, once per run.
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: {POSTGRES_URL_VAR} is not set: the suite runs on SQLite only (skipping PostgreSQL)"
                    );
                });
                Self {
                    url: format!("sqlite://{}", dir.join("tessera.db").display()),
                    postgres: None,
                }
            }
        }
    }

    /// Another handle on a database some other [`TestDatabase`] made, as a
    /// second replica would use it; dropping it leaves the database alone.
    pub fn existing(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            postgres: None,
        }
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PostgreSQL made by this value: the server URL (to administer it) and
    /// this database's name. `None` on SQLite and for [`Self::existing`].
    pub fn postgres(&self) -> Option<(&str, &str)> {
        self.postgres
            .as_ref()
            .map(|(server, name)| (server.as_str(), name.as_str()))
    }

    /// From now on the database refuses every audit event, as a full disk
    /// or a broken table would: a trigger raises on each insert into
    /// `audit_events`. The database must be migrated.
    ///
    /// # Panics
    /// When the trigger cannot be installed.
    #[expect(
        clippy::expect_used,
        reason = "a test whose database cannot refuse must fail"
    )]
    pub async fn refuse_audit_events(&self) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        let statements: &[&str] = if self.url.starts_with("postgres") {
            &[
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'the audit log refuses writes'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
            ]
        } else {
            &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
               BEGIN SELECT RAISE(ABORT, 'the audit log refuses writes'); END"]
        };
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("install the trigger refusing audit events");
        }
        let _ = conn.close().await;
    }

    /// Runs one SQL statement on this database, as an operator at the
    /// database's console would (for states no use case makes yet).
    ///
    /// # Panics
    /// When connecting or the statement fails.
    #[expect(clippy::expect_used, reason = "a test whose statement fails must fail")]
    pub async fn execute(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("run the statement");
        let _ = conn.close().await;
    }

    /// A store on this database with the default pool, migrated.
    ///
    /// # Panics
    /// When connecting or migrating fails.
    #[expect(
        clippy::expect_used,
        reason = "a test whose database cannot be opened must fail"
    )]
    pub async fn connect(&self) -> SqlStore {
        let store = SqlStore::connect(&self.url, PoolConfig::default())
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop runs outside any runtime guarantee: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    let mut conn = sqlx::PgConnection::connect(&server).await?;
                    sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                        .execute(&mut conn)
                        .await?;
                    Ok::<_, sqlx::Error>(())
                })?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .join();
        }
    }
}
