//! Prometheus metrics, in a registry of their own (no globals). Every
//! metric exists from start with its known label values at zero, so
//! dashboards and alerts see it before the first event.

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Outcomes of a token request, as the `outcome` label.
pub const TOKEN_OUTCOMES: [&str; 9] = [
    "issued",
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
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
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0,
            ]),
            &["outcome"],
        )?;
        let argon2_verifications = IntCounterVec::new(
            Opts::new(
                "tessera_argon2_verifications_total",
                "argon2id verifications of presented client secrets, by result.",
            ),
            &["result"],
        )?;
        registry.register(Box::new(token_requests.clone()))?;
        registry.register(Box::new(token_duration.clone()))?;
        registry.register(Box::new(argon2_verifications.clone()))?;
        for outcome in TOKEN_OUTCOMES {
            token_requests.with_label_values(&[outcome]);
            token_duration.with_label_values(&[outcome]);
        }
        for result in ["match", "mismatch"] {
            argon2_verifications.with_label_values(&[result]);
        }
        Ok(Self {
            registry,
            token_requests,
            token_duration,
            argon2_verifications,
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
