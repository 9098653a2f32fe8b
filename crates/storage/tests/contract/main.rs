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
mod ops;
mod reminders;

use std::future::Future;
use std::sync::Arc;

use tessera_core::audit::{AuditQuery, MAX_AUDIT_PAGE, NewAuditEvent};
use tessera_core::store::prelude::*;
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
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

impl TestStore {
    /// A store on a fresh, migrated database.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(dir.path()).await;
        let store = database.connect().await;
        Self {
            store,
            _database: database,
            _dir: dir,
        }
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
