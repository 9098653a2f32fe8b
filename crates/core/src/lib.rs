//! Tessera's domain: the rules of organisations, applications, resources,
//! client secrets, users and access tokens; who acts ([`actor`]); and the
//! store traits they are kept behind ([`store`], one per consumer).
//!
//! Owns: names and ids as types that cannot hold bad values, the secret
//! and password policies, argon2id hashing, token claims, the audit event.
//! Must not depend on any other Tessera crate, nor on HTTP (axum, hyper),
//! SQL (sqlx) or an async runtime's I/O: the storage crate implements the
//! store traits, the other crates parse requests into these types.

pub mod actor;
pub mod application;
pub mod audit;
pub mod clock;
pub mod ids;
pub mod limiter;
pub mod organisation;
pub mod password;
pub mod private_fs;
pub mod reminder;
pub mod replica;
pub mod resource;
pub mod secret;
pub mod session;
pub mod store;
pub mod text;
pub mod token;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
