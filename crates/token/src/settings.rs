//! The token path's settings: the `[token]`, `[keys]`, `[cache]`,
//! `[verification]` and `[usage]` sections of the configuration, which the
//! server's settings embed under the same keys (see `config/default.toml`).

use serde::Deserialize;

use crate::keys::Algorithm;

/// `[token]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Access token lifetime, in seconds.
    pub ttl_seconds: u32,
    /// Algorithm of generated signing keys.
    pub algorithm: Algorithm,
}

/// `[keys]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// How often a running server looks for a newly activated key, in seconds.
    pub reload_interval_seconds: u64,
}

/// `[cache]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Most verified secrets kept in memory; 0 disables the cache.
    pub capacity: usize,
    /// How often the change log is read, in milliseconds.
    pub sync_interval_milliseconds: u64,
    /// How long cached secrets keep being trusted when the change log cannot
    /// be read (database down), in seconds.
    pub trust_without_database_seconds: u64,
}

/// `[verification]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSettings {
    /// argon2 verifications running at once; 0 means one per CPU.
    pub max_concurrent: usize,
    /// Cold requests waiting for a verification slot before the endpoint
    /// answers 429.
    pub max_queued: usize,
    /// Failed authentications of one client_id from one address per window;
    /// 0 disables.
    pub max_failures_per_client_address: u32,
    /// Failed authentications from one address per window; 0 disables.
    pub max_failures_per_address: u32,
    /// The failure window, in seconds.
    pub failure_window_seconds: u64,
}

/// `[usage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSettings {
    /// How often recorded uses are written to the database, in seconds.
    pub flush_interval_seconds: u64,
}

/// Every section the token path reads, as the server hands them over.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `[token]`
    pub token: TokenSettings,
    /// `[keys]`
    pub keys: KeySettings,
    /// `[cache]`
    pub cache: CacheSettings,
    /// `[verification]`
    pub verification: VerificationSettings,
    /// `[usage]`
    pub usage: UsageSettings,
}
