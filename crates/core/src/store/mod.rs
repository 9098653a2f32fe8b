//! The storage boundary: what Tessera keeps, as traits the storage crate
//! implements once for SQLite and PostgreSQL.
//!
//! There is one trait per consumer, so each part of Tessera can reach only
//! the records it works on:
//! - [`CredentialStore`]: the token path (client lookup, last use, the
//!   change feed);
//! - [`KeyStore`]: signing key records and the start-up lease;
//! - [`AdminStore`]: organisations, applications, secrets and users, each
//!   change recorded with its audit event;
//! - [`AccountStore`]: sign-in state, sessions and the audit log;
//! - [`ReminderStore`]: expiry reminders;
//! - [`OpsStore`]: health and the gauges operators watch;
//! - [`ReplicaStore`]: the running replicas, their heartbeats and how far
//!   each has applied the change log.
//!
//! [`Store`] is all of them, for the code that wires Tessera together.
//! Business rules stay in this crate; a store only keeps and finds records,
//! and enforces atomically the few rules that need the database to (unique
//! names, at most five secrets per application).

mod accounts;
mod admin;
mod credentials;
mod keys;
mod ops;
mod reminders;
mod replicas;

pub use accounts::{AccountStore, UserCredentials};
pub use admin::AdminStore;
pub use credentials::{
    ChangeNotices, ClientCredentials, CredentialChange, CredentialStore, CredentialsChanged,
};
pub use keys::{KeyStore, SigningKeyRecord};
pub use ops::{OpsStore, SecretCounts};
pub use reminders::{ExpiringSecret, ReminderOutcome, ReminderStore};
pub use replicas::ReplicaStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field is taken (the field is named, such as `name`).
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// The record it refers to does not exist.
    #[error("not found")]
    NotFound,
    /// The application already has five secrets.
    #[error("secret limit reached")]
    SecretLimitReached,
    /// The database could not be reached or failed.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value no longer parses.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// Every store trait: what the storage crate provides and start-up wires
/// into each part. Parts take the narrower trait they need.
pub trait Store:
    CredentialStore + KeyStore + AdminStore + AccountStore + ReminderStore + OpsStore + ReplicaStore
{
}

impl<T> Store for T where
    T: CredentialStore
        + KeyStore
        + AdminStore
        + AccountStore
        + ReminderStore
        + OpsStore
        + ReplicaStore
{
}

/// Brings every store trait's methods into scope: `use
/// tessera_core::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        AccountStore as _, AdminStore as _, CredentialStore as _, KeyStore as _, OpsStore as _,
        ReminderStore as _, ReplicaStore as _,
    };
}
