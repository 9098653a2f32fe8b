//! sqlx implementation of the store traits of [`tessera_core::store`] for SQLite (the
//! embedded default) and PostgreSQL (for several replicas).
//!
//! Both dialects run the same query text through sqlx's `Any` driver: the
//! schema uses only types they share (`TEXT` ids, `BIGINT` epoch seconds)
//! and `$n` placeholders, which SQLite accepts too. Each dialect has its own
//! migrations folder.

mod accounts;
mod admin;
mod credentials;
mod error;
mod keys;
mod ops;
mod reminders;
mod rows;
mod sql_store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StorageError;
pub use sql_store::{Backend, PoolConfig, SqlStore};
