//! Tessera's token hot path. So far: the signing keys and the settings.

pub mod keys;
pub mod settings;
