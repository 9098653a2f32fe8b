//! Tessera's domain: the rules of organisations, applications, resources,
//! client secrets, users and access tokens, and the store boundary they are
//! kept behind.
//!
//! Nothing here knows HTTP or SQL: the server parses requests into these
//! types and the storage crate implements [`store::Store`].

pub mod actor;
pub mod application;
pub mod audit;
pub mod clock;
pub mod ids;
pub mod organisation;
pub mod password;
pub mod reminder;
pub mod resource;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
