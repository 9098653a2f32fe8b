//! Write-behind `last_used_at`: token requests note which secret they used
//! in memory, and a background task writes the latest use of each secret in
//! one batch per interval (and once more on shutdown), so the hot path never
//! waits on a database write.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tessera_core::ids::SecretId;
use tessera_core::store::{CredentialStore, StoreError};
use time::OffsetDateTime;

use crate::metrics::OkOrError;
use crate::outage::FailureLog;

/// Uses noted since the last flush.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<SecretId, OffsetDateTime>>,
}

impl UsageRecorder {
    /// Notes that `secret` obtained a token at `at`.
    pub fn record(&self, secret: SecretId, at: OffsetDateTime) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let latest = pending.entry(secret).or_insert(at);
        if *latest < at {
            *latest = at;
        }
    }

    /// Writes every noted use. On failure the uses are kept for the next
    /// flush, merged with any noted meanwhile, so none is lost.
    pub async fn flush(&self, store: &dyn CredentialStore) -> Result<usize, StoreError> {
        let batch: Vec<(SecretId, OffsetDateTime)> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        match store.record_secret_use(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                for (secret, at) in batch {
                    self.record(secret, at);
                }
                Err(e)
            }
        }
    }
}

/// Flushes `usage` every `interval` until `stopped`. The last flush, after
/// the listeners have stopped, is the caller's.
pub(crate) async fn run(
    usage: &UsageRecorder,
    store: &dyn CredentialStore,
    flushes: &OkOrError,
    interval: Duration,
    stopped: impl Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut failures =
        FailureLog::new("record secret uses (kept in memory until they are written)");
    loop {
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(interval) => {}
        }
        flush(usage, store, flushes, &mut failures).await;
    }
}

/// Writes pending uses, counting the outcome in `flushes` and logging a
/// failure in `failures`.
pub(crate) async fn flush(
    usage: &UsageRecorder,
    store: &dyn CredentialStore,
    flushes: &OkOrError,
    failures: &mut FailureLog,
) {
    let flushed = usage.flush(store).await;
    match flushed {
        Ok(0) => {}
        Ok(_) => flushes.ok.inc(),
        Err(_) => flushes.error.inc(),
    }
    failures.record(&flushed);
}
