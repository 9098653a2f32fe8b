//! Prometheus metrics, in a registry of their own (no globals). Every
//! metric exists from start with its known label values at zero, so
//! dashboards and alerts see it before the first event.
//!
//! The server's own metrics are here; the token path registers its own
//! ([`tessera_token::metrics::TokenMetrics`]) into the same registry, so
//! `/metrics` shows both.

use prometheus::{Encoder as _, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use tessera_core::secret::SecretStatus;
use tessera_core::store::ReminderOutcome;

/// The server's metrics and the registry every metric is exported from.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `tessera_secrets{status}`: stored secrets by status.
    pub secrets: IntGaugeVec,
    /// `tessera_reminders_total{result}`: `sent`, `failed`, `no_recipients`.
    pub reminders: IntCounterVec,
    /// `tessera_reminders_due`: reminders due and still unsent after the
    /// last pass (every try failed).
    pub reminders_due: IntGauge,
    /// `tessera_database_up`: 1 when the last check reached the database.
    pub database_up: IntGauge,
    /// `tessera_degraded`: 1 while the replica serves without the database
    /// (cached clients only, within the trust window).
    pub degraded: IntGauge,
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
    /// A registry with the server's metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
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
            &ReminderOutcome::ALL.map(|o| o.as_str()),
        )?;
        let reminders_due = gauge(
            &registry,
            "tessera_reminders_due",
            "Expiry reminders due and still unsent after the last pass.",
        )?;
        let database_up = gauge(
            &registry,
            "tessera_database_up",
            "1 when the last check reached the database, 0 when it did not.",
        )?;
        let degraded = gauge(
            &registry,
            "tessera_degraded",
            "1 while this replica serves without the database: cached clients only, \
             within the trust window.",
        )?;
        Ok(Self {
            registry,
            reminders,
            reminders_due,
            secrets,
            database_up,
            degraded,
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
