//! Contract tests of the store traits: what each method's documentation
//! promises, checked on the database the environment selects (a SQLite file
//! by default, a fresh PostgreSQL database when `TESSERA_TEST_POSTGRES_URL`
//! is set), so both dialects keep one contract.
//!
//! One test binary on purpose: modules per trait, not files beside this one.
//! Records a test only needs to exist are made through [`fixtures`].

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed step must fail the test"
)]

mod accounts;
mod admin;
mod credentials;
mod fixtures;
mod keys;
mod migrations;
mod ops;
mod reminders;
mod replicas;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::Connection as _;
use sqlx::Row as _;
use tessera_core::application::Application;
use tessera_core::audit::{AuditQuery, MAX_AUDIT_PAGE, NewAuditEvent};
use tessera_core::organisation::Organisation;
use tessera_core::password::PhcHash;
use tessera_core::secret::SecretRecord;
use tessera_core::session::LoginState;
use tessera_core::store::StoreError;
use tessera_core::store::prelude::*;
use tessera_core::user::User;
use tessera_storage::SqlStore;
use tessera_storage::testing::TestDatabase;
use time::OffsetDateTime;
use time::macros::datetime;

/// The instant the tests' records are made at: whole seconds, as stored.
pub const T0: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

/// A migrated store on a database of its own, dropped with it.
pub struct TestStore {
    store: SqlStore,
    // Dropped after the store: the database, then its folder.
    database: TestDatabase,
    _dir: tempfile::TempDir,
    /// Whether the audit log refuses inserts now.
    refusing: AtomicBool,
}

impl TestStore {
    /// A store on a fresh, migrated database.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(dir.path()).await;
        let store = database.connect().await;
        Self {
            store,
            database,
            _dir: dir,
            refusing: AtomicBool::new(false),
        }
    }

    /// Another store (another pool) on the same database, as another
    /// process would open it.
    pub async fn connect_again(&self) -> SqlStore {
        self.database.connect().await
    }

    /// From now on every insert into the audit log fails.
    pub async fn refuse_audit_events(&self) {
        if !self.refusing.swap(true, Ordering::SeqCst) {
            self.database.refuse_audit_events().await;
        }
    }

    /// Runs `write` while the audit log refuses inserts: it must fail with
    /// the database's error and leave everything as it was.
    pub async fn assert_refused_without_trace<T: Debug>(
        &self,
        write: impl Future<Output = Result<T, StoreError>>,
    ) {
        let before = self.snapshot().await;
        self.refuse_audit_events().await;

        let result = write.await;

        assert!(
            matches!(result, Err(StoreError::Database(_))),
            "the write must fail with its event: {result:?}"
        );
        assert_eq!(self.snapshot().await, before, "the write left a trace");
    }

    /// Every audit event, oldest first.
    pub async fn audit_log(&self) -> Vec<NewAuditEvent> {
        let query = AuditQuery {
            organisation_id: None,
            before: None,
            limit: MAX_AUDIT_PAGE,
        };
        let mut events = self.store.audit_events(&query).await.unwrap();
        assert!(events.len() < MAX_AUDIT_PAGE as usize, "one page holds all");
        events.reverse();
        events.into_iter().map(|e| e.event).collect()
    }

    /// The audit events recorded since the log held `before` of them,
    /// oldest first.
    pub async fn audit_log_since(&self, before: usize) -> Vec<NewAuditEvent> {
        self.audit_log().await.split_off(before)
    }

    /// Everything a write can leave behind, read back: a refused write
    /// leaves this as it was.
    pub async fn snapshot(&self) -> Snapshot {
        let mut conn = sqlx::AnyConnection::connect(self.database.url())
            .await
            .unwrap();
        let mut rows = Vec::new();
        for table in TABLES {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .try_get("n")
                .unwrap();
            rows.push((table, n));
        }
        let _ = conn.close().await;
        let applications = self.store.applications(None).await.unwrap();
        let mut secrets = Vec::new();
        for app in &applications {
            secrets.extend(self.store.secrets(app.client_id).await.unwrap());
        }
        let mut users = Vec::new();
        for user in self.store.users(None).await.unwrap() {
            let hash = self
                .store
                .user_credentials(&user.email)
                .await
                .unwrap()
                .unwrap()
                .password_hash;
            let state = self.store.login_state(user.id).await.unwrap();
            users.push((user, hash, state));
        }
        Snapshot {
            rows,
            organisations: self.store.organisations().await.unwrap(),
            applications,
            secrets,
            users,
            latest_change: self.store.latest_credential_change().await.unwrap(),
            audit_log: self.audit_log().await,
        }
    }
}

/// Every table a write of the store traits changes.
const TABLES: [&str; 9] = [
    "organisations",
    "applications",
    "application_permissions",
    "client_secrets",
    "users",
    "sessions",
    "credential_changes",
    "reminder_deliveries",
    "audit_events",
];

/// What [`TestStore::snapshot`] reads: each table's row count, and the
/// records with every field the store traits read back.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    rows: Vec<(&'static str, i64)>,
    organisations: Vec<Organisation>,
    applications: Vec<Application>,
    secrets: Vec<SecretRecord>,
    users: Vec<(User, PhcHash, LoginState)>,
    latest_change: i64,
    audit_log: Vec<NewAuditEvent>,
}

impl std::ops::Deref for TestStore {
    type Target = SqlStore;

    fn deref(&self) -> &SqlStore {
        &self.store
    }
}

/// Runs `n` calls of `call` at once, each in its own task on a clone of the
/// store, released together; their results in task order.
pub async fn race<T, F, Fut>(store: &SqlStore, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(SqlStore, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let call = call(store.clone(), i);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("a racing call panicked"));
    }
    results
}
