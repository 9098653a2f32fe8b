//! Tessera's token hot path. So far: the signing keys.

pub mod keys;
