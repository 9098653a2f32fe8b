//! Tessera's HTTP server: the main listener (the token endpoint and JWKS of
//! `tessera-token`, discovery, the management API and the web page), the
//! operations listener (metrics and health), settings, start-up, and the
//! reminders' scheduler and mail.
//!
//! Owns: listeners, routers, the management API's translation of requests
//! into use cases (`tessera-admin`) and of their errors into problem
//! details, and the wiring of every part. It is the only crate that knows
//! them all; none of them depends on it. No handler here checks a role,
//! validates a rule, writes SQL or writes an audit event.

mod discovery;
pub mod management;
pub mod metrics;
mod ops;
pub mod reminders;
pub mod serve;
pub mod settings;
pub mod startup;
mod state;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
