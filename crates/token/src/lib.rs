//! Tessera's token hot path. So far: the signing keys, the
//! settings and the metrics.

pub mod keys;
pub mod metrics;
pub mod settings;
