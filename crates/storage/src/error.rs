//! Storage errors.
//!
//! [`StorageError`] is what connecting and migrating return; inside store
//! calls, sqlx errors become [`StoreError`], with unique-constraint
//! violations turned into `Conflict` naming the field.

use tessera_core::store::StoreError;

/// Connecting to or migrating the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no supported database.
    #[error("unsupported database URL (use sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// The SQLite file or its folder could not be created.
    #[error("could not create the database file or folder {path}: {source}")]
    CreateDir {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement around the migrations failed.
    #[error("database migration failed: {0}")]
    Statement(#[from] sqlx::Error),
    /// After the migrations, a row references one that does not exist.
    #[error("database migration left rows referencing missing rows (PRAGMA foreign_key_check)")]
    ForeignKeys,
}

/// Maps a sqlx error to a store error.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// Maps a unique violation to `Conflict(field)`, anything else to `Database`.
pub(crate) fn on_unique(field: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(field),
        _ => db(e),
    }
}
