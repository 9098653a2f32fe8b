//! Prometheus metrics, in a registry of their own (no globals). Every
//! metric exists from start with its known label values at zero, so
//! dashboards and alerts see it before the first event.

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use tessera_core::secret::SecretStatus;

/// Outcomes of a token request, as the `outcome` label.
pub const TOKEN_OUTCOMES: [&str; 11] = [
    "issued",
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "rate_limited",
    "busy",
    "rejected",
    "unavailable",
    "error",
];

/// Tessera's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `tessera_token_requests_total{outcome}`.
    pub token_requests: IntCounterVec,
    /// `tessera_token_request_duration_seconds{outcome}`.
    pub token_duration: HistogramVec,
    /// `tessera_argon2_verifications_total{result}`: `match` or `mismatch`.
    pub argon2_verifications: IntCounterVec,
    /// `tessera_argon2_queue`: cold verifications admitted, running or waiting.
    pub argon2_queue: IntGauge,
    /// `tessera_secret_cache_lookups_total{result="hit"}`.
    pub cache_hit: IntCounter,
    /// `tessera_secret_cache_lookups_total{result="miss"}`.
    pub cache_miss: IntCounter,
    /// `tessera_secret_cache_entries`.
    pub cache_entries: IntGauge,
    /// `tessera_secret_cache_invalidations_total{source}`: `local` or `change_log`.
    pub cache_invalidations: IntCounterVec,
    /// `tessera_change_log_reads_total{result}`: `ok` or `error`.
    pub change_log_reads: IntCounterVec,
    /// `tessera_last_used_flushes_total{result}`: `ok` or `error`.
    pub last_used_flushes: IntCounterVec,
    /// `tessera_secrets{status}`: stored secrets by status.
    pub secrets: IntGaugeVec,
    /// `tessera_reminders_total{result}`: `sent`, `failed`, `no_recipients`.
    pub reminders: IntCounterVec,
    /// `tessera_reminders_due`: reminders due and still unsent after the
    /// last pass (every try failed).
    pub reminders_due: IntGauge,
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    label: &str,
    values: &[&str],
) -> Result<IntCounterVec, prometheus::Error> {
    let vec = IntCounterVec::new(Opts::new(name, help), &[label])?;
    registry.register(Box::new(vec.clone()))?;
    for value in values {
        vec.with_label_values(&[value]);
    }
    Ok(vec)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let gauge = IntGauge::new(name, help)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let token_requests = IntCounterVec::new(
            Opts::new("tessera_token_requests_total", "Token requests by outcome."),
            &["outcome"],
        )?;
        let token_duration = HistogramVec::new(
            HistogramOpts::new(
                "tessera_token_request_duration_seconds",
                "Time to answer a token request, by outcome.",
            )
            .buckets(vec![
                0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["outcome"],
        )?;
        registry.register(Box::new(token_requests.clone()))?;
        registry.register(Box::new(token_duration.clone()))?;
        for outcome in TOKEN_OUTCOMES {
            token_requests.with_label_values(&[outcome]);
            token_duration.with_label_values(&[outcome]);
        }
        let argon2_verifications = counter_vec(
            &registry,
            "tessera_argon2_verifications_total",
            "argon2id verifications of presented client secrets, by result.",
            "result",
            &["match", "mismatch"],
        )?;
        let argon2_queue = gauge(
            &registry,
            "tessera_argon2_queue",
            "Cold secret verifications admitted and not finished (running or waiting for a worker).",
        )?;
        let cache_lookups = counter_vec(
            &registry,
            "tessera_secret_cache_lookups_total",
            "Lookups in the verified-secret cache, by result.",
            "result",
            &["hit", "miss"],
        )?;
        let cache_entries = gauge(
            &registry,
            "tessera_secret_cache_entries",
            "Verified secrets held in memory.",
        )?;
        let cache_invalidations = counter_vec(
            &registry,
            "tessera_secret_cache_invalidations_total",
            "Applications dropped from the verified-secret cache, by where the change came from.",
            "source",
            &["local", "change_log"],
        )?;
        let change_log_reads = counter_vec(
            &registry,
            "tessera_change_log_reads_total",
            "Reads of the credential change log, by result.",
            "result",
            &["ok", "error"],
        )?;
        let last_used_flushes = counter_vec(
            &registry,
            "tessera_last_used_flushes_total",
            "Batched writes of secrets' last use, by result.",
            "result",
            &["ok", "error"],
        )?;
        let secrets = IntGaugeVec::new(
            Opts::new("tessera_secrets", "Stored client secrets, by status."),
            &["status"],
        )?;
        registry.register(Box::new(secrets.clone()))?;
        for status in SecretStatus::ALL {
            secrets.with_label_values(&[status.as_str()]);
        }
        let reminders = counter_vec(
            &registry,
            "tessera_reminders_total",
            "Expiry reminders by outcome.",
            "result",
            &["sent", "failed", "no_recipients"],
        )?;
        let reminders_due = gauge(
            &registry,
            "tessera_reminders_due",
            "Expiry reminders due and still unsent after the last pass.",
        )?;
        Ok(Self {
            registry,
            reminders,
            reminders_due,
            token_requests,
            token_duration,
            argon2_verifications,
            argon2_queue,
            cache_hit: cache_lookups.with_label_values(&["hit"]),
            cache_miss: cache_lookups.with_label_values(&["miss"]),
            cache_entries,
            cache_invalidations,
            change_log_reads,
            last_used_flushes,
            secrets,
        })
    }

    /// The registry, to register more metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// A count as a gauge value.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
