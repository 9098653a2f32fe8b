//! Tessera's HTTP server: the main listener (the token endpoint and JWKS of
//! `tessera-token`, discovery, the management API and the web page), the
//! operations listener (metrics and health), start-up, and the operations
//! (`service`) that the command line shares with the API and the web page.

pub mod discovery;
pub mod management;
pub mod metrics;
pub mod ops;
pub mod reminders;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

pub use settings::Settings;
pub use startup::Application;
