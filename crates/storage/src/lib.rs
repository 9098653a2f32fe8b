//! sqlx implementation of the store traits of [`tessera_core::store`] for
//! SQLite (the embedded default) and PostgreSQL (for several replicas):
//! one module per trait.
//!
//! Both dialects run the same query text through sqlx's `Any` driver: the
//! schema uses only types they share (`TEXT` ids, `BIGINT` epoch seconds)
//! and `$n` placeholders, which SQLite accepts too. Each dialect has its own
//! migrations folder. A write that changes state stores its audit event
//! (and, for credentials, its change-log row) in the same transaction.
//!
//! Owns: SQL, migrations, the connection pool. Must not depend on the use
//! cases, the token path, the web page or the server: it keeps and finds
//! records, and the few rules the database must enforce atomically.

mod accounts;
mod admin;
mod audit;
mod credentials;
mod error;
mod keys;
mod ops;
mod reminders;
mod replicas;
mod rows;
mod sql_store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StorageError;
pub use sql_store::{PoolConfig, SqlStore};
