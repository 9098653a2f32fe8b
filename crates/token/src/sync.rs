//! Keeping the verified-secret cache true to the database when the change
//! was made elsewhere: by `tessera secret delete` in another process, or by
//! another replica.
//!
//! Every such change writes a row to the change log in the transaction that
//! makes it. Each server reads the rows after the last one it saw and drops
//! the applications they name: at once when the store gives notice of a
//! commit (PostgreSQL `LISTEN`/`NOTIFY`, SQLite's commit counter), and every
//! `sync_interval_milliseconds` whatever happens, as the safety net. The log
//! is durable, so a server that could not read it for a while catches up
//! from where it stopped; a lost notice only delays a change.
//!
//! After applying, the server beats in its replica row with the position it
//! has applied, which is what a change's answer waits for; and only a beat
//! that was written extends how long its cache is trusted, so the row's
//! `trusted_until` is always the latest instant the cache can still answer
//! from memory.
//!
//! The log's writers are serialised, so numbers become visible in order; a
//! number skipped over (a transaction rolled back) is still remembered as
//! a gap and looked for again for a while, which costs nothing when it
//! never comes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::Clock;
use tessera_core::ids::{ClientId, ReplicaId};
use tessera_core::replica::ReplicaBeat;
use tessera_core::store::{
    ChangeNotices, CredentialChange, CredentialStore, ReplicaStore, StoreError,
};
use time::OffsetDateTime;
use tokio::time::Instant;

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

    /// The position applied: every change up to it has been applied (the
    /// log's numbers become visible in order).
    pub fn applied(&self) -> i64 {
        self.last_seen
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

/// This process as a replica: who it is and where its row is kept.
pub struct ReplicaIdentity {
    /// Its row.
    pub store: Arc<dyn ReplicaStore>,
    /// Drawn at start.
    pub id: ReplicaId,
    /// Where it listens, to name it to people.
    pub address: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// Longest time between two beats.
    pub heartbeat: Duration,
}

impl std::fmt::Debug for ReplicaIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaIdentity")
            .field("id", &self.id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// How long after its trust window a stopped replica's row is kept.
const STALE_REPLICA_SECONDS: i64 = 60 * 60;

/// How long to wait before subscribing to notices again after a broken
/// subscription (the log is still polled meanwhile).
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// The change feed of one process, started before its first request is
/// served: nothing committed after it starts is missed.
pub struct ChangeFeedTask {
    feed: ChangeFeed,
    notices: Option<Box<dyn ChangeNotices>>,
    replica: ReplicaIdentity,
    /// The position last written to the replica row, and when.
    beaten: (i64, Instant),
    /// How long the cache is trusted after a beat, in seconds.
    trust_window: i64,
    /// How often the log is read without a notice: the safety net.
    poll: Duration,
}

impl std::fmt::Debug for ChangeFeedTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeedTask")
            .field("feed", &self.feed)
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

impl ChangeFeedTask {
    /// Subscribes to notices, then notes where the log stands (in that
    /// order, so a change committed in between is noticed) and writes the
    /// replica's first row. Call it before serving: the cache is empty, so
    /// earlier changes do not matter, and later ones are all applied.
    pub(crate) async fn start(
        store: &dyn CredentialStore,
        clock: &dyn Clock,
        cache: &SecretCache,
        trust_window: i64,
        replica: ReplicaIdentity,
    ) -> Result<Self, StoreError> {
        let notices = match store.change_notices().await {
            Ok(notices) => Some(notices),
            Err(e) => {
                tracing::warn!(error = %e, "no change-log notices; reading the log at its interval only");
                None
            }
        };
        let feed = ChangeFeed::starting_after(store.latest_credential_change().await?);
        let now = clock.now().unix_timestamp();
        let mut task = Self {
            feed,
            notices,
            replica,
            beaten: (i64::MIN, Instant::now()),
            trust_window,
            poll: Duration::MAX,
        };
        task.beat(cache, now).await?;
        // Rows of replicas that stopped without removing theirs (killed)
        // count for nothing once their trust window has ended; clear them.
        let horizon = clock.now() - time::Duration::seconds(STALE_REPLICA_SECONDS);
        if let Err(e) = task.replica.store.prune_replicas(horizon).await {
            tracing::warn!(error = %e, "could not remove the rows of stopped replicas");
        }
        Ok(task)
    }

    /// Writes the replica row with the position applied; once written, the
    /// cache is trusted until the instant it says.
    async fn beat(&mut self, cache: &SecretCache, now: i64) -> Result<(), StoreError> {
        let applied = self.feed.applied();
        let trusted_until = now.saturating_add(self.trust_window);
        let beat = ReplicaBeat {
            id: self.replica.id,
            address: self.replica.address.clone(),
            started_at: self.replica.started_at,
            applied_seq: applied,
            trusted_until: OffsetDateTime::from_unix_timestamp(trusted_until)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        };
        self.replica.store.record_replica(&beat).await?;
        cache.synced(now);
        self.beaten = (applied, Instant::now());
        Ok(())
    }

    /// Reads the change log at each notice and at least every poll
    /// interval ([`Self::polling_every`]) and heartbeat until
    /// `stopped`, dropping what changed from `cache`, and beats in the
    /// replica row after each change and at least every heartbeat.
    pub(crate) async fn run(
        mut self,
        store: Arc<dyn CredentialStore>,
        clock: &dyn Clock,
        cache: &SecretCache,
        live: &LiveCredentials,
        metrics: &TokenMetrics,
        stopped: impl Future<Output = ()>,
    ) {
        let interval = self.poll.min(self.replica.heartbeat);
        let mut last_read: Option<i64> = None;
        let mut read_failures = FailureLog::new("read the credential change log");
        let mut beat_failures = FailureLog::new("write this replica's heartbeat");
        let notice = Arc::new(tokio::sync::Notify::new());
        let forwarder = tokio::spawn(forward_notices(
            self.notices.take(),
            store.clone(),
            notice.clone(),
        ));
        let _forwarder = AbortOnDrop(forwarder);
        tokio::pin!(stopped);
        loop {
            let now = clock.now().unix_timestamp();
            match self.feed.read(store.as_ref(), now).await {
                Ok(changed) => {
                    metrics.change_log_reads.ok.inc();
                    read_failures.succeeded();
                    // Rows older than the log keeps may be gone: after so
                    // long without a read, start from an empty cache.
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
                    last_read = Some(now);
                    let (beaten, at) = self.beaten;
                    if beaten != self.feed.applied() || at.elapsed() >= self.replica.heartbeat {
                        beat_failures.record(&self.beat(cache, now).await);
                    }
                }
                Err(e) => {
                    metrics.change_log_reads.error.inc();
                    read_failures.failed(&e);
                }
            }
            tokio::select! {
                () = &mut stopped => return,
                () = tokio::time::sleep(interval) => {}
                () = notice.notified() => {}
            }
        }
    }

    /// The same feed, reading the log at least every `interval` without a
    /// notice.
    pub fn polling_every(self, interval: Duration) -> Self {
        Self {
            poll: interval,
            ..self
        }
    }

    /// This process's replica.
    pub fn replica_id(&self) -> ReplicaId {
        self.replica.id
    }

    /// Longest time between two beats.
    pub fn heartbeat(&self) -> Duration {
        self.replica.heartbeat
    }
}

/// Ends a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Turns the store's notices into wake-ups of the feed (a [`Notify`] keeps
/// one that arrives while the feed is reading), subscribing again after a
/// pause when the subscription breaks.
///
/// [`Notify`]: tokio::sync::Notify
async fn forward_notices(
    mut notices: Option<Box<dyn ChangeNotices>>,
    store: Arc<dyn CredentialStore>,
    notice: Arc<tokio::sync::Notify>,
) {
    let mut broken = false;
    loop {
        match &mut notices {
            Some(subscription) => match subscription.changed().await {
                Ok(()) => notice.notify_one(),
                Err(e) => {
                    if !broken {
                        tracing::warn!(error = %e, "change-log notices stopped; reading the log at its interval until they return");
                    }
                    broken = true;
                    notices = None;
                    // Whatever was missed meanwhile is read now.
                    notice.notify_one();
                }
            },
            None => {
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                if let Ok(subscription) = store.change_notices().await {
                    if broken {
                        tracing::info!("change-log notices are back");
                    }
                    broken = false;
                    notices = Some(subscription);
                    notice.notify_one();
                }
            }
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
