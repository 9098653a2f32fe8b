//! The token path's Prometheus metrics, registered into the registry the
//! server passes in. Every metric exists from start with its known label
//! values at zero, and every labelled series is resolved once here, so the
//! hot path counts without a label lookup.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// How a token request ended: the `outcome` label of
/// `tessera_token_requests_total` and `tessera_token_request_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenOutcome {
    /// A token was issued.
    Issued,
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unauthorized_client`: a resource server asked for a token.
    UnauthorizedClient,
    /// `invalid_scope`.
    InvalidScope,
    /// `invalid_target`.
    InvalidTarget,
    /// Too many failed authentications for the client or address (429).
    RateLimited,
    /// Every verification slot was taken (429).
    Busy,
    /// Refused before parsing: wrong method, body too large, wrong content
    /// type (405, 413, 415).
    Rejected,
    /// The database was unavailable (503).
    Unavailable,
    /// An internal failure (500).
    Error,
}

impl TokenOutcome {
    /// Every outcome, in the order of their metric series.
    pub const ALL: [Self; 12] = [
        Self::Issued,
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::UnsupportedGrantType,
        Self::UnauthorizedClient,
        Self::InvalidScope,
        Self::InvalidTarget,
        Self::RateLimited,
        Self::Busy,
        Self::Rejected,
        Self::Unavailable,
        Self::Error,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::RateLimited => "rate_limited",
            Self::Busy => "busy",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
            Self::Error => "error",
        }
    }

    /// Its place in [`Self::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

/// How an introspection request ended: the `outcome` label of
/// `tessera_introspection_requests_total` and
/// `tessera_introspection_request_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntrospectionOutcome {
    /// Answered `active: true`.
    Active,
    /// Answered `active: false`.
    Inactive,
    /// `invalid_request` (no `token`, a repeated parameter, bad encoding).
    InvalidRequest,
    /// `invalid_client`, a partner application among them.
    InvalidClient,
    /// Too many failed authentications for the client or address (429).
    RateLimited,
    /// Every verification slot was taken (429).
    Busy,
    /// Wrong method, body too large, wrong content type (405, 413, 415).
    Rejected,
    /// The database was unavailable (503).
    Unavailable,
    /// An internal failure (500).
    Error,
}

impl IntrospectionOutcome {
    /// Every outcome, in the order of their metric series.
    pub const ALL: [Self; 9] = [
        Self::Active,
        Self::Inactive,
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::RateLimited,
        Self::Busy,
        Self::Rejected,
        Self::Unavailable,
        Self::Error,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::RateLimited => "rate_limited",
            Self::Busy => "busy",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
            Self::Error => "error",
        }
    }

    /// The outcome of an error answer shared with the token endpoint.
    pub fn of_error(outcome: TokenOutcome) -> Self {
        match outcome {
            TokenOutcome::InvalidClient => Self::InvalidClient,
            TokenOutcome::RateLimited => Self::RateLimited,
            TokenOutcome::Busy => Self::Busy,
            TokenOutcome::Rejected => Self::Rejected,
            TokenOutcome::Unavailable => Self::Unavailable,
            TokenOutcome::Error | TokenOutcome::Issued => Self::Error,
            TokenOutcome::InvalidRequest
            | TokenOutcome::UnsupportedGrantType
            | TokenOutcome::UnauthorizedClient
            | TokenOutcome::InvalidScope
            | TokenOutcome::InvalidTarget => Self::InvalidRequest,
        }
    }
}

/// A pair of series for an operation that succeeds or fails
/// (`result="ok"` and `result="error"`).
#[derive(Clone, Debug)]
pub struct OkOrError {
    /// `result="ok"`.
    pub ok: IntCounter,
    /// `result="error"`.
    pub error: IntCounter,
}

/// The token path's metrics, each series resolved once.
#[derive(Clone, Debug)]
pub struct TokenMetrics {
    /// `tessera_token_requests_total{outcome}`, by [`TokenOutcome`].
    requests: [IntCounter; TokenOutcome::ALL.len()],
    /// `tessera_token_request_duration_seconds{outcome}`, by [`TokenOutcome`].
    durations: [Histogram; TokenOutcome::ALL.len()],
    /// `tessera_introspection_requests_total{outcome}`, by [`IntrospectionOutcome`].
    introspections: [IntCounter; IntrospectionOutcome::ALL.len()],
    /// `tessera_introspection_request_duration_seconds{outcome}`.
    introspection_durations: [Histogram; IntrospectionOutcome::ALL.len()],
    /// `tessera_introspection_credential_loads_total`: what the database was
    /// asked about a token's credential (a client not in memory yet, or a
    /// credential newer than what memory holds).
    pub introspection_loads: IntCounter,
    /// `tessera_argon2_verifications_total{result="match"}`.
    pub argon2_match: IntCounter,
    /// `tessera_argon2_verifications_total{result="mismatch"}`.
    pub argon2_mismatch: IntCounter,
    /// `tessera_argon2_queue`: cold verifications admitted, running or waiting.
    pub argon2_queue: IntGauge,
    /// `tessera_secret_cache_lookups_total{result="hit"}`.
    pub cache_hit: IntCounter,
    /// `tessera_secret_cache_lookups_total{result="miss"}`.
    pub cache_miss: IntCounter,
    /// `tessera_secret_cache_entries`.
    pub cache_entries: IntGauge,
    /// `tessera_secret_cache_invalidations_total{source="local"}`.
    pub cache_invalidations_local: IntCounter,
    /// `tessera_secret_cache_invalidations_total{source="change_log"}`.
    pub cache_invalidations_change_log: IntCounter,
    /// `tessera_change_log_reads_total{result}`.
    pub change_log_reads: OkOrError,
    /// `tessera_last_used_flushes_total{result}`.
    pub last_used_flushes: OkOrError,
}

/// Registers a counter with one label, resolving each of `values`.
fn counters<const N: usize>(
    registry: &Registry,
    name: &str,
    help: &str,
    label: &str,
    values: [&str; N],
) -> Result<[IntCounter; N], prometheus::Error> {
    let vec = IntCounterVec::new(Opts::new(name, help), &[label])?;
    registry.register(Box::new(vec.clone()))?;
    Ok(values.map(|value| vec.with_label_values(&[value])))
}

/// Registers the counter and the duration histogram of an endpoint, by
/// outcome, resolving each of `outcomes`.
fn requests_by_outcome<const N: usize>(
    registry: &Registry,
    endpoint: &str,
    what: &str,
    outcomes: [&str; N],
) -> Result<([IntCounter; N], [Histogram; N]), prometheus::Error> {
    let requests = counters(
        registry,
        &format!("tessera_{endpoint}_requests_total"),
        &format!("{what} requests by outcome."),
        "outcome",
        outcomes,
    )?;
    let duration = HistogramVec::new(
        HistogramOpts::new(
            format!("tessera_{endpoint}_request_duration_seconds"),
            format!(
                "Time to answer a {} request, by outcome.",
                what.to_lowercase()
            ),
        )
        .buckets(vec![
            0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
            0.1, 0.25, 0.5, 1.0,
        ]),
        &["outcome"],
    )?;
    registry.register(Box::new(duration.clone()))?;
    let durations = outcomes.map(|outcome| duration.with_label_values(&[outcome]));
    Ok((requests, durations))
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let gauge = IntGauge::new(name, help)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

fn ok_or_error(
    registry: &Registry,
    name: &str,
    help: &str,
) -> Result<OkOrError, prometheus::Error> {
    let [ok, error] = counters(registry, name, help, "result", ["ok", "error"])?;
    Ok(OkOrError { ok, error })
}

impl TokenMetrics {
    /// Registers every token path metric in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let (requests, durations) = requests_by_outcome(
            registry,
            "token",
            "Token",
            TokenOutcome::ALL.map(TokenOutcome::as_str),
        )?;
        let (introspections, introspection_durations) = requests_by_outcome(
            registry,
            "introspection",
            "Introspection",
            IntrospectionOutcome::ALL.map(IntrospectionOutcome::as_str),
        )?;
        let introspection_loads = IntCounter::new(
            "tessera_introspection_credential_loads_total",
            "Database reads of a token's credential by the introspection endpoint.",
        )?;
        registry.register(Box::new(introspection_loads.clone()))?;
        let [argon2_match, argon2_mismatch] = counters(
            registry,
            "tessera_argon2_verifications_total",
            "argon2id verifications of presented client secrets, by result.",
            "result",
            ["match", "mismatch"],
        )?;
        let argon2_queue = gauge(
            registry,
            "tessera_argon2_queue",
            "Cold secret verifications admitted and not finished (running or waiting for a worker).",
        )?;
        let [cache_hit, cache_miss] = counters(
            registry,
            "tessera_secret_cache_lookups_total",
            "Lookups in the verified-secret cache, by result.",
            "result",
            ["hit", "miss"],
        )?;
        let cache_entries = gauge(
            registry,
            "tessera_secret_cache_entries",
            "Verified secrets held in memory.",
        )?;
        let [cache_invalidations_local, cache_invalidations_change_log] = counters(
            registry,
            "tessera_secret_cache_invalidations_total",
            "Applications dropped from the verified-secret cache, by where the change came from.",
            "source",
            ["local", "change_log"],
        )?;
        let change_log_reads = ok_or_error(
            registry,
            "tessera_change_log_reads_total",
            "Reads of the credential change log, by result.",
        )?;
        let last_used_flushes = ok_or_error(
            registry,
            "tessera_last_used_flushes_total",
            "Batched writes of secrets' last use, by result.",
        )?;
        Ok(Self {
            requests,
            durations,
            introspections,
            introspection_durations,
            introspection_loads,
            argon2_match,
            argon2_mismatch,
            argon2_queue,
            cache_hit,
            cache_miss,
            cache_entries,
            cache_invalidations_local,
            cache_invalidations_change_log,
            change_log_reads,
            last_used_flushes,
        })
    }

    /// Counts a token request that ended with `outcome` after `seconds`.
    pub fn observe_request(&self, outcome: TokenOutcome, seconds: f64) {
        self.requests[outcome.index()].inc();
        self.durations[outcome.index()].observe(seconds);
    }

    /// Counts an introspection request that ended with `outcome` after
    /// `seconds`.
    pub fn observe_introspection(&self, outcome: IntrospectionOutcome, seconds: f64) {
        let index = outcome as usize;
        self.introspections[index].inc();
        self.introspection_durations[index].observe(seconds);
    }
}

/// A count as a gauge value.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_in_the_order_of_their_series() {
        for (i, outcome) in TokenOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome.index(), i);
        }
        for (i, outcome) in IntrospectionOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome as usize, i);
        }
    }

    #[test]
    fn every_series_is_exported_from_start_and_counted_in_its_place() {
        let registry = Registry::new();
        let metrics = TokenMetrics::register(&registry).unwrap();
        metrics.observe_request(TokenOutcome::Busy, 0.001);
        let families = registry.gather();
        let requests = families
            .iter()
            .find(|f| f.name() == "tessera_token_requests_total")
            .unwrap();
        assert_eq!(requests.get_metric().len(), TokenOutcome::ALL.len());
        for metric in requests.get_metric() {
            let outcome = metric.get_label()[0].value();
            let expected = if outcome == "busy" { 1.0 } else { 0.0 };
            assert_eq!(metric.get_counter().get_value(), expected, "{outcome}");
        }
        for (name, series) in [
            ("tessera_token_request_duration_seconds", 12),
            ("tessera_introspection_requests_total", 9),
            ("tessera_introspection_request_duration_seconds", 9),
            ("tessera_introspection_credential_loads_total", 1),
            ("tessera_argon2_verifications_total", 2),
            ("tessera_argon2_queue", 1),
            ("tessera_secret_cache_lookups_total", 2),
            ("tessera_secret_cache_entries", 1),
            ("tessera_secret_cache_invalidations_total", 2),
            ("tessera_change_log_reads_total", 2),
            ("tessera_last_used_flushes_total", 2),
        ] {
            let family = families.iter().find(|f| f.name() == name).unwrap();
            assert_eq!(family.get_metric().len(), series, "{name}");
        }
    }
}
