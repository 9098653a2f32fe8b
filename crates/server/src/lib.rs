//! Tessera's HTTP server: the token endpoint, discovery and JWKS on the main
//! listener; metrics and health on the operations listener; and the
//! operations (`service`) that the command line shares with the API. The
//! web page is the `tessera-web` crate, whose router `startup` merges.

pub mod discovery;
pub mod error;
pub mod keys;
pub mod management;
pub mod metrics;
pub mod ops;
pub mod reminders;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod token;

pub use settings::Settings;
pub use startup::Application;
