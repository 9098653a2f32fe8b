//! Keeping the verified-secret cache true to the database when the change
//! was made elsewhere: by `tessera secret delete` in another process, or by
//! another replica.
//!
//! Every such change writes a row to the change log in the transaction that
//! makes it. Each server reads the rows after the last one it saw, every
//! `sync_interval_milliseconds`, and drops the applications they name. The
//! log is durable, so a server that could not read it for a while catches
//! up from where it stopped; nothing depends on a notification arriving.
//!
//! Sequence numbers can commit out of order on PostgreSQL (a transaction
//! that took number 7 may commit after one that took 8), so a number skipped
//! over is remembered as a gap and looked for again for a while.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tessera_core::Clock;
use tessera_core::ids::ClientId;
use tessera_core::store::{CredentialChange, CredentialStore, StoreError};

use crate::cache::SecretCache;
use crate::live::LiveCredentials;
use crate::metrics::{TokenMetrics, count};
use crate::outage::FailureLog;

/// How long a skipped sequence number is awaited, in seconds: far longer
/// than any transaction that writes the log runs.
const GAP_PATIENCE_SECONDS: i64 = 60;
/// Most gaps remembered.
const MAX_GAPS: usize = 10_000;
/// Rows read per query.
const BATCH: u32 = 1_000;

/// Where a server is in the change log.
#[derive(Debug)]
pub struct ChangeFeed {
    /// Highest sequence number seen.
    last_seen: i64,
    /// Numbers below `last_seen` not seen yet, with when they were noticed.
    gaps: BTreeMap<i64, i64>,
}

impl ChangeFeed {
    /// A feed starting after `last_seen` (the latest change at start: the
    /// cache is empty then, so earlier changes do not matter).
    pub fn starting_after(last_seen: i64) -> Self {
        Self {
            last_seen,
            gaps: BTreeMap::new(),
        }
    }

    /// The sequence number to read after.
    fn read_after(&self) -> i64 {
        self.gaps
            .keys()
            .next()
            .map_or(self.last_seen, |first| first - 1)
    }

    /// Takes rows read at `now` (unix seconds), returning the applications
    /// whose cached entries must go. Rows already applied are skipped.
    pub fn apply(&mut self, rows: &[CredentialChange], now: i64) -> Vec<ClientId> {
        let mut changed = Vec::new();
        for row in rows {
            if row.seq > self.last_seen {
                // A jump wider than we track (a sequence restarted far ahead)
                // is not a set of transactions still committing.
                if row.seq - self.last_seen <= MAX_GAPS as i64 {
                    for missing in (self.last_seen + 1)..row.seq {
                        if self.gaps.len() < MAX_GAPS {
                            self.gaps.insert(missing, now);
                        }
                    }
                }
                self.last_seen = row.seq;
                changed.push(row.client_id);
            } else if self.gaps.remove(&row.seq).is_some() {
                changed.push(row.client_id);
            }
        }
        self.gaps
            .retain(|_, noticed| now - *noticed < GAP_PATIENCE_SECONDS);
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// Reads every change after the last applied one and returns the
    /// applications to drop.
    pub async fn read(
        &mut self,
        store: &dyn CredentialStore,
        now: i64,
    ) -> Result<Vec<ClientId>, StoreError> {
        let mut changed = Vec::new();
        let mut after = self.read_after();
        loop {
            let rows = store.credential_changes(after, BATCH).await?;
            changed.extend(self.apply(&rows, now));
            match rows.last() {
                Some(last) if rows.len() == BATCH as usize => after = last.seq,
                _ => break,
            }
        }
        changed.sort_unstable();
        changed.dedup();
        Ok(changed)
    }
}

/// Reads the change log every `interval` until `stopped`, dropping what
/// changed from `cache` and from introspection's `live` index, and
/// extending the time the cache is trusted after each successful read.
pub(crate) async fn run(
    store: &dyn CredentialStore,
    clock: &dyn Clock,
    cache: &SecretCache,
    live: &LiveCredentials,
    metrics: &TokenMetrics,
    interval: Duration,
    stopped: impl Future<Output = ()>,
) {
    let mut feed: Option<ChangeFeed> = None;
    let mut last_read: Option<i64> = None;
    let mut failures = FailureLog::new("read the credential change log");
    tokio::pin!(stopped);
    loop {
        let now = clock.now().unix_timestamp();
        match read_once(store, &mut feed, now).await {
            Ok(changed) => {
                metrics.change_log_reads.ok.inc();
                failures.succeeded();
                // Rows older than the log keeps may be gone: after so long
                // without a read, start from an empty cache.
                if last_read.is_some_and(|t| now - t >= CHANGE_LOG_RETENTION_SECONDS / 2) {
                    tracing::warn!(
                        "the change log was unreadable for long; emptying the secret cache"
                    );
                    cache.clear();
                    live.clear();
                }
                for client_id in changed {
                    cache.invalidate(client_id);
                    live.invalidate(client_id);
                    metrics.cache_invalidations_change_log.inc();
                }
                metrics.cache_entries.set(count(cache.len()));
                cache.synced(now);
                last_read = Some(now);
            }
            Err(e) => {
                metrics.change_log_reads.error.inc();
                failures.failed(&e);
            }
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

async fn read_once(
    store: &dyn CredentialStore,
    feed: &mut Option<ChangeFeed>,
    now: i64,
) -> Result<Vec<ClientId>, StoreError> {
    match feed {
        Some(feed) => feed.read(store, now).await,
        None => {
            *feed = Some(ChangeFeed::starting_after(
                store.latest_credential_change().await?,
            ));
            Ok(Vec::new())
        }
    }
}

/// How long the change log keeps rows, in seconds.
pub const CHANGE_LOG_RETENTION_SECONDS: i64 = 24 * 60 * 60;

/// Once a minute until `stopped`: forgets change log rows older than
/// [`CHANGE_LOG_RETENTION_SECONDS`]. Idempotent, so every replica may do it.
pub(crate) async fn prune(
    store: &dyn CredentialStore,
    clock: &dyn Clock,
    stopped: impl Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut failures = FailureLog::new("prune the credential change log");
    loop {
        let horizon = clock.now() - time::Duration::seconds(CHANGE_LOG_RETENTION_SECONDS);
        failures.record(&store.prune_credential_changes(horizon).await);
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(HOUSEKEEPING_INTERVAL) => {}
        }
    }
}

const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64, client_id: ClientId) -> CredentialChange {
        CredentialChange { seq, client_id }
    }

    #[test]
    fn new_rows_name_their_applications_once() {
        let a = ClientId::generate();
        let b = ClientId::generate();
        let mut feed = ChangeFeed::starting_after(10);
        let changed = feed.apply(&[change(11, a), change(12, b), change(13, a)], 0);
        assert_eq!(changed.len(), 2);
        assert!(changed.contains(&a) && changed.contains(&b));
        assert!(feed.apply(&[change(13, a)], 0).is_empty());
        assert_eq!(feed.read_after(), 13);
    }

    #[test]
    fn a_row_committed_late_behind_a_newer_one_is_still_applied() {
        let a = ClientId::generate();
        let b = ClientId::generate();
        let mut feed = ChangeFeed::starting_after(10);
        assert_eq!(feed.apply(&[change(12, a)], 0), vec![a]);
        assert_eq!(feed.read_after(), 10, "11 is awaited");
        assert_eq!(feed.apply(&[change(11, b), change(12, a)], 1), vec![b]);
        assert_eq!(feed.read_after(), 12);
    }

    #[test]
    fn a_gap_that_never_fills_is_given_up() {
        let a = ClientId::generate();
        let mut feed = ChangeFeed::starting_after(10);
        feed.apply(&[change(12, a)], 0);
        feed.apply(&[], GAP_PATIENCE_SECONDS);
        assert_eq!(feed.read_after(), 12);
    }

    #[test]
    fn rows_at_or_before_the_start_are_ignored() {
        let mut feed = ChangeFeed::starting_after(10);
        assert!(feed.apply(&[change(9, ClientId::generate())], 0).is_empty());
    }
}
