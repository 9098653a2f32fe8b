//! Migrations applied to a database that already holds data: nothing a
//! partner depends on is lost on the way.

use std::borrow::Cow;

use sqlx::Connection as _;
use tessera_core::application::{Application, ApplicationKind};
use tessera_core::audit::AuditAction;
use tessera_core::resource::ResourceCatalog;
use tessera_core::store::prelude::*;
use tessera_storage::testing::TestDatabase;
use tessera_storage::{PoolConfig, SqlStore};
use time::Duration;

use crate::{T0, fixtures};

/// The migration that lets applications be resource servers.
const RESOURCE_SERVER_KIND: i64 = 16;

/// Runs the migrations of this database's dialect older than `version`.
async fn migrate_before(url: &str, version: i64) {
    let dialect = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = format!("{}/../../migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(&dir))
        .await
        .unwrap();
    migrator.migrations = Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect(),
    );
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    let _ = conn.close().await;
}

#[tokio::test]
async fn allowing_resource_servers_keeps_every_application_secret_and_permission() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let url = if database.url().starts_with("sqlite:") {
        format!("{}?mode=rwc", database.url())
    } else {
        database.url().to_owned()
    };
    migrate_before(&url, RESOURCE_SERVER_KIND).await;
    let store = SqlStore::connect(database.url(), PoolConfig::default())
        .await
        .unwrap();
    let org = fixtures::organisation(&store, "Acme").await;
    let app = fixtures::application(&store, &org, "SMC", &["search-match-sandbox"]).await;
    let secret = fixtures::secret(&store, app.client_id, T0 + Duration::days(30)).await;

    store.migrate().await.unwrap();

    assert_eq!(
        store.application(app.client_id).await.unwrap(),
        Some(app.clone())
    );
    let secrets = store.secrets(app.client_id).await.unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].id, secret.record.id);
    let credentials = store
        .client_credentials(app.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.secrets.len(), 1);
    // References still hold: deleting the application takes its secrets.
    let server = Application::create(
        &org,
        "SMC",
        ApplicationKind::ResourceServer,
        &[] as &[&str],
        &ResourceCatalog::default(),
        T0,
    )
    .unwrap();
    let event = fixtures::event(AuditAction::ApplicationCreated);
    store.create_application(&server, &event).await.unwrap();
    assert_eq!(
        store
            .application(server.client_id)
            .await
            .unwrap()
            .map(|a| a.kind),
        Some(ApplicationKind::ResourceServer)
    );
    let deleted = fixtures::event(AuditAction::ApplicationDeleted);
    assert!(
        store
            .delete_application(app.client_id, T0, &deleted)
            .await
            .unwrap()
    );
    assert!(store.secrets(app.client_id).await.unwrap().is_empty());
    store.close().await;
}
