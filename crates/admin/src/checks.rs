//! The bounded work strangers can cause: every argon2 password check made
//! for a person (signing in, and the current password of a password
//! change) runs here, on a pool of its own, so a flood of sign-ins can
//! neither grow memory nor take the token endpoint's verifications.
//!
//! A check first needs a place (running or queued): when every place is
//! taken the answer is "busy" at once rather than a backlog. Failed
//! sign-ins are also counted per client address, and an address past its
//! limit is refused before any database or argon2 work.

use prometheus::{IntCounterVec, Opts, Registry};
use secrecy::{ExposeSecret as _, SecretString};
use std::net::IpAddr;
use std::sync::Arc;
use tessera_core::limiter::FailureLimiter;
use tessera_core::password::{Hasher, PhcHash};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AdminError;

/// How much password-checking work is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckLimits {
    /// argon2 password checks running at once.
    pub max_concurrent: usize,
    /// Checks waiting for a running place; beyond that, "busy".
    pub max_queued: usize,
    /// Failed sign-ins from one client address per window; 0 disables.
    pub max_failures_per_address: u32,
    /// The failure window, in seconds.
    pub failure_window_seconds: u64,
}

/// How a sign-in attempt ended, as `tessera_sign_in_attempts_total` counts
/// it. Every refusal answers alike; only the metric tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Signed in.
    Success,
    /// The credentials were checked and are wrong (this counts towards the
    /// account's lock), or the email is unknown.
    Refused,
    /// The account is locked: the credentials were not counted.
    Locked,
    /// The client address is past its failure limit: nothing was checked.
    Limited,
    /// Every check place was taken: nothing was checked.
    Busy,
}

impl Attempt {
    /// Every value, for the metric's labels.
    pub const ALL: [Self; 5] = [
        Self::Success,
        Self::Refused,
        Self::Locked,
        Self::Limited,
        Self::Busy,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::Locked => "locked",
            Self::Limited => "limited",
            Self::Busy => "busy",
        }
    }
}

/// Most client addresses tracked by the failure limiter.
const LIMITER_CAPACITY: usize = 100_000;

/// Seconds a caller told "busy" should wait before trying again.
pub(crate) const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// The password-check pool, the sign-in failure limit per address, and
/// their metric.
pub(crate) struct PasswordChecks {
    hasher: Hasher,
    /// Places for checks: running plus queued.
    admission: Arc<Semaphore>,
    /// Running checks.
    workers: Arc<Semaphore>,
    by_address: FailureLimiter<IpAddr>,
    attempts: IntCounterVec,
}

impl PasswordChecks {
    pub(crate) fn new(hasher: Hasher, limits: CheckLimits) -> Self {
        let workers = limits.max_concurrent.max(1);
        let attempts = IntCounterVec::new(
            Opts::new(
                "tessera_sign_in_attempts_total",
                "Sign-in attempts by result: success, refused (checked and wrong), locked, \
                 limited (client address over its failure limit) and busy (no check place).",
            ),
            &["result"],
        )
        .unwrap_or_else(|e| unreachable!("the metric's name and label are valid: {e}"));
        for attempt in Attempt::ALL {
            attempts.with_label_values(&[attempt.as_str()]);
        }
        Self {
            hasher,
            admission: Arc::new(Semaphore::new(workers.saturating_add(limits.max_queued))),
            workers: Arc::new(Semaphore::new(workers)),
            by_address: FailureLimiter::new(
                limits.max_failures_per_address,
                limits.failure_window_seconds,
                LIMITER_CAPACITY,
            ),
            attempts,
        }
    }

    pub(crate) fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// Registers the metric in `registry`.
    pub(crate) fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.attempts.clone()))
    }

    /// Counts an attempt's end.
    pub(crate) fn count(&self, attempt: Attempt) {
        self.attempts.with_label_values(&[attempt.as_str()]).inc();
    }

    /// `Some(seconds to wait)` when `address` is past its failure limit.
    pub(crate) fn limited(&self, address: Option<IpAddr>, now: i64) -> Option<u64> {
        self.by_address.retry_after(address?, now)
    }

    /// Counts a failed sign-in from `address`.
    pub(crate) fn failed(&self, address: Option<IpAddr>, now: i64) {
        if let Some(address) = address {
            self.by_address.record_failure(address, now);
        }
    }

    /// A place for one check, or `None` when all are taken.
    pub(crate) fn admit(&self) -> Option<Admitted> {
        self.admission
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|place| Admitted {
                _place: place,
                workers: self.workers.clone(),
                hasher: self.hasher.clone(),
            })
    }
}

/// A check's place in the pool, held until the check ends.
pub(crate) struct Admitted {
    _place: OwnedSemaphorePermit,
    workers: Arc<Semaphore>,
    hasher: Hasher,
}

impl Admitted {
    /// Verifies `secret` against `hash` on a blocking thread once a running
    /// place is free; without a hash, spends the same time against the
    /// dummy hash and answers `false`.
    pub(crate) async fn verify(
        self,
        secret: SecretString,
        hash: Option<PhcHash>,
    ) -> Result<bool, AdminError> {
        let _running = self
            .workers
            .acquire_owned()
            .await
            .map_err(AdminError::internal)?;
        let hasher = self.hasher;
        tokio::task::spawn_blocking(move || {
            let secret = secret.expose_secret().as_bytes();
            match &hash {
                Some(hash) => hasher.verify(secret, hash),
                None => hasher.verify_dummy(secret),
            }
        })
        .await
        .map_err(AdminError::internal)
    }
}
