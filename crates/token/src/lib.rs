//! Tessera's token hot path: everything between a `POST /oauth2/token` and
//! the signed access token, and what keeps it true to the database.
//!
//! It owns
//! - parsing the token request ([`request`]);
//! - the verified-secret cache ([`cache`]), told of local changes through
//!   [`tessera_core::store::CredentialsChanged`];
//! - failure limits, single flight and the bounded argon2id verification of
//!   secrets not cached;
//! - signing, with the signing keys, their directory and the JWKS ([`keys`]);
//! - the write-behind record of each secret's last use;
//! - the change feed: reading the change log other processes write, so the
//!   cache drops what they changed, and pruning it;
//! - token introspection for resource servers (RFC 7662), answered from
//!   what [`live`] holds of each client's secrets and permissions, kept true
//!   by the same hook and change feed as the cache;
//! - its settings ([`settings`]) and metrics ([`metrics`]).
//!
//! [`TokenEndpoint`] holds its state; [`router`] mounts its routes; the
//! server builds it at start and runs its background tasks.
//!
//! It reaches the database only through the narrow store traits of
//! `tessera-core` ([`CredentialStore`](tessera_core::store::CredentialStore),
//! [`KeyStore`](tessera_core::store::KeyStore)). It must never depend on the
//! admin use cases, the web page, the management API, the server or the
//! storage crate: those depend on it, or meet it only through `tessera-core`.

pub mod cache;
mod error;
mod handler;
mod introspection;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod outage;
pub mod request;
pub mod settings;
mod state;
pub mod sync;
mod usage;
mod verifier;

pub use handler::{JWKS_PATH, MAX_BODY_BYTES, TOKEN_PATH, router};
pub use introspection::INTROSPECTION_PATH;
pub use state::{Dependencies, TokenEndpoint};
