//! The token endpoint's state, [`TokenEndpoint`]: what the handler and the
//! background tasks share, built once at start.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::Clock;
use tessera_core::password::Hasher;
use tessera_core::resource::ResourceCatalog;
use tessera_core::store::{CredentialStore, CredentialsChanged, KeyStore, StoreError};

use crate::cache::SecretCache;
use crate::keys::KeyRing;
use crate::live::LiveCredentials;
use crate::metrics::TokenMetrics;
use crate::outage::FailureLog;
use crate::settings::TokenConfig;
use crate::sync::{self, ChangeFeedTask, ReplicaIdentity};
use crate::usage::{self, UsageRecorder};
use crate::verifier::Authenticator;

/// What the token path works with and does not own.
pub struct Dependencies {
    /// Client credentials, last use and the change log.
    pub credentials: Arc<dyn CredentialStore>,
    /// Signing key records.
    pub keys: Arc<dyn KeyStore>,
    /// Verifies presented secrets against their argon2id hashes.
    pub hasher: Hasher,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The resources tokens may be granted for.
    pub catalog: Arc<ResourceCatalog>,
}

/// The token endpoint: cheaply cloned, shared by its handler and its
/// background tasks.
#[derive(Clone)]
pub struct TokenEndpoint(pub(crate) Arc<Inner>);

/// What [`TokenEndpoint`] holds.
pub(crate) struct Inner {
    /// Client credentials, last use and the change log.
    pub(crate) credentials: Arc<dyn CredentialStore>,
    /// Signing key records, for reloading the key ring.
    pub(crate) key_store: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The resources tokens are granted for.
    pub(crate) catalog: Arc<ResourceCatalog>,
    /// The verified-secret cache, failure limits and cold verification.
    pub(crate) auth: Authenticator,
    /// What introspection knows of clients' secrets and permissions.
    pub(crate) live: LiveCredentials,
    /// Uses of secrets not yet written to the database.
    pub(crate) usage: Arc<UsageRecorder>,
    /// Signing keys.
    pub(crate) keys: KeyRing,
    pub(crate) metrics: TokenMetrics,
    /// The token path's settings.
    pub(crate) config: TokenConfig,
    /// The issuer URL, without a trailing slash.
    pub(crate) issuer: String,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("issuer", &self.0.issuer)
            .field("auth", &self.0.auth)
            .finish_non_exhaustive()
    }
}

/// A change this process committed: the cache and introspection drop the
/// application, and `tessera_secret_cache_invalidations_total{source="local"}`
/// counts it.
impl CredentialsChanged for TokenEndpoint {
    fn credentials_changed(&self, client_id: tessera_core::ids::ClientId) {
        self.0.auth.cache().credentials_changed(client_id);
        self.0.live.invalidate(client_id);
        self.0.metrics.cache_invalidations_local.inc();
    }
}

impl TokenEndpoint {
    /// The token endpoint of `issuer`, signing with `keys` and counting in
    /// `metrics`; its verified-secret cache starts empty.
    pub fn new(
        dependencies: Dependencies,
        keys: KeyRing,
        config: TokenConfig,
        issuer: String,
        metrics: TokenMetrics,
    ) -> Self {
        let Dependencies {
            credentials,
            keys: key_store,
            hasher,
            clock,
            catalog,
        } = dependencies;
        let cache = Arc::new(SecretCache::new(
            config.cache.capacity,
            config.cache.trust_without_database_seconds,
            clock.now().unix_timestamp(),
        ));
        let usage = Arc::new(UsageRecorder::default());
        let auth = Authenticator::new(
            credentials.clone(),
            hasher,
            clock.clone(),
            cache,
            usage.clone(),
            &config.verification,
            metrics.clone(),
        );
        let live = LiveCredentials::new(config.cache.capacity);
        Self(Arc::new(Inner {
            credentials,
            key_store,
            clock,
            catalog,
            auth,
            live,
            usage,
            keys,
            metrics,
            config,
            issuer,
        }))
    }

    /// Until when (unix seconds) cached clients are served without the
    /// database: the last read of the change log plus the trust window.
    pub fn serves_cached_clients_until(&self) -> i64 {
        self.0.auth.cache().trusted_until()
    }

    /// The hook through which changes this process commits drop what the
    /// cache holds for the application, before they are answered.
    pub fn invalidation_hook(&self) -> Arc<dyn CredentialsChanged> {
        Arc::new(self.clone())
    }

    /// Starts the change feed of this process, registered as `replica`:
    /// call it before serving the first request, so that no change
    /// committed from then on can be missed. Then run
    /// [`sync_change_log`](Self::sync_change_log) with it.
    pub async fn start_change_feed(
        &self,
        replica: ReplicaIdentity,
    ) -> Result<ChangeFeedTask, StoreError> {
        let inner = &self.0;
        ChangeFeedTask::start(
            inner.credentials.as_ref(),
            inner.clock.as_ref(),
            inner.auth.cache(),
            self.trust_window(),
            replica,
        )
        .await
    }

    fn trust_window(&self) -> i64 {
        i64::try_from(self.0.config.cache.trust_without_database_seconds).unwrap_or(i64::MAX)
    }

    /// Runs the change feed until `stopped`: reads the change log at each
    /// notice of a commit and every `[cache] sync_interval_milliseconds`,
    /// dropping from the cache what other processes changed, and beats in
    /// the replica row.
    pub async fn sync_change_log(self, feed: ChangeFeedTask, stopped: impl Future<Output = ()>) {
        let inner = &self.0;
        let interval = Duration::from_millis(inner.config.cache.sync_interval_milliseconds.max(10));
        feed.polling_every(interval)
            .run(
                inner.credentials.clone(),
                inner.clock.as_ref(),
                inner.auth.cache(),
                &inner.live,
                &inner.metrics,
                stopped,
            )
            .await;
    }

    /// Once a minute until `stopped`, forgets change log rows past their
    /// retention.
    pub async fn prune_change_log(self, stopped: impl Future<Output = ()>) {
        sync::prune(self.0.credentials.as_ref(), self.0.clock.as_ref(), stopped).await;
    }

    /// Writes noted uses every `[usage] flush_interval_seconds` until
    /// `stopped`. The last flush, after the listeners have stopped, is the
    /// caller's ([`Self::flush_usage`]).
    pub async fn flush_usage_periodically(self, stopped: impl Future<Output = ()>) {
        let inner = &self.0;
        let interval = Duration::from_secs(inner.config.usage.flush_interval_seconds.max(1));
        usage::run(
            &inner.usage,
            inner.credentials.as_ref(),
            &inner.metrics.last_used_flushes,
            interval,
            stopped,
        )
        .await;
    }

    /// Writes every use noted so far.
    pub async fn flush_usage(&self) {
        let inner = &self.0;
        usage::flush(
            &inner.usage,
            inner.credentials.as_ref(),
            &inner.metrics.last_used_flushes,
            &mut FailureLog::new("record secret uses at shutdown"),
        )
        .await;
    }

    /// Every `[keys] reload_interval_seconds` until `stopped`, picks up keys
    /// activated by `tessera keys activate` (or another replica).
    pub async fn reload_keys(self, stopped: impl Future<Output = ()>) {
        let inner = &self.0;
        let interval = Duration::from_secs(inner.config.keys.reload_interval_seconds.max(1));
        tokio::pin!(stopped);
        let mut failures =
            FailureLog::new("reload signing keys (still signing with the current key)");
        loop {
            tokio::select! {
                () = &mut stopped => return,
                () = tokio::time::sleep(interval) => {}
            }
            let reloaded = inner
                .keys
                .reload(inner.key_store.as_ref(), inner.clock.as_ref())
                .await;
            failures.record(&reloaded);
        }
    }
}
