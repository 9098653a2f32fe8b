//! Client authentication for the token endpoint: the verified-secret cache
//! first, then, on a miss, one argon2id verification shared by every
//! concurrent request for the same secret, on a bounded pool.
//!
//! The order of the cold path is deliberate: failure limits first (no
//! database or argon2 work for someone already refused), then admission to
//! the bounded queue (answer "busy" at once rather than build a backlog),
//! then the database, then argon2 on a blocking thread.
//!
//! Nothing is issued from a read that a change overtook: a verification
//! notes the application's invalidation generation before it reads, and if
//! a change to the application was applied meanwhile (a secret deleted, a
//! permission removed, here or through the change feed), it reads the
//! credentials again before caching or issuing. A request sharing another's
//! verification checks the same, so one that joins a flight after a
//! deletion was answered cannot take its result.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tessera_core::Clock;
use tessera_core::application::Application;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::password::{Hasher, PhcHash};
use tessera_core::secret::{PlainSecret, StoredSecret};
use tessera_core::store::{CredentialStore, StoreError};
use tokio::sync::{OnceCell, Semaphore};

use crate::cache::{Lookup, SecretCache, Tag, TagHasher, Verified};
use crate::metrics::{TokenMetrics, count};
use crate::settings::VerificationSettings;
use crate::usage::UsageRecorder;
use tessera_core::limiter::FailureLimiter;

/// Why a client was not authenticated.
#[derive(Debug, Clone)]
pub enum AuthError {
    /// Unknown client, or wrong, expired or deleted secret.
    Refused,
    /// Too many recent failures for this client or address.
    Limited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// Every argon2 worker and queue place is taken.
    Busy,
    /// The database cannot be reached.
    Unavailable(String),
    /// Something else failed; the cause is for the log.
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(_) => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// How a cold verification ended, shared by every request that waited on it.
#[derive(Debug, Clone)]
enum Cold {
    Verified(Verified),
    /// Refused; `known_client` says whether the client_id exists, so only
    /// real clients get a per-client failure window.
    Refused {
        known_client: bool,
    },
    Failed(AuthError),
}

type Flight = Arc<OnceCell<Cold>>;

/// The stored secret a presented one matched.
struct Matched {
    id: SecretId,
    /// Unix seconds.
    expires_at: i64,
    hash: PhcHash,
}

/// Authenticates clients; one per server.
pub struct Authenticator {
    store: Arc<dyn CredentialStore>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    cache: Arc<SecretCache>,
    flights: Mutex<HashMap<Tag, Flight, BuildHasherDefault<TagHasher>>>,
    /// Places for cold verifications: running plus queued.
    admission: Arc<Semaphore>,
    /// Running argon2 verifications.
    workers: Arc<Semaphore>,
    /// Failures of one client_id from one address: someone else's failures,
    /// from their own addresses, never hold a client back.
    by_client_address: FailureLimiter<(ClientId, IpAddr)>,
    by_address: FailureLimiter<IpAddr>,
    usage: Arc<UsageRecorder>,
    metrics: TokenMetrics,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Most tracked keys per failure limiter.
const LIMITER_CAPACITY: usize = 100_000;
/// Reads of one client's credentials overtaken by its own changes before a
/// request gives up with "busy": only an application changed several times
/// within one verification gets there.
const MAX_STALE_READS: usize = 3;

impl Authenticator {
    /// An authenticator reading credentials from `store`, verifying with
    /// `hasher`, remembering verified secrets in `cache` and noting uses in
    /// `usage`.
    pub fn new(
        store: Arc<dyn CredentialStore>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        cache: Arc<SecretCache>,
        usage: Arc<UsageRecorder>,
        settings: &VerificationSettings,
        metrics: TokenMetrics,
    ) -> Self {
        let workers = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Self {
            store,
            hasher,
            clock,
            cache,
            flights: Mutex::default(),
            admission: Arc::new(Semaphore::new(workers + settings.max_queued)),
            workers: Arc::new(Semaphore::new(workers)),
            by_client_address: FailureLimiter::new(
                settings.max_failures_per_client_address,
                settings.failure_window_seconds,
                LIMITER_CAPACITY,
            ),
            by_address: FailureLimiter::new(
                settings.max_failures_per_address,
                settings.failure_window_seconds,
                LIMITER_CAPACITY,
            ),
            usage,
            metrics,
        }
    }

    /// The verified-secret cache.
    pub fn cache(&self) -> &Arc<SecretCache> {
        &self.cache
    }

    /// Authenticates `client_id` with `secret`, presented from `address`.
    pub async fn authenticate(
        &self,
        client_id: ClientId,
        secret: &PlainSecret,
        address: IpAddr,
    ) -> Result<Verified, AuthError> {
        let now = self.clock.now();
        let unix = now.unix_timestamp();
        let tag = self.cache.tag(client_id, secret.expose());
        if let Lookup::Hit(verified) = self.cache.lookup(tag, client_id, unix) {
            self.metrics.cache_hit.inc();
            self.usage.record(verified.secret_id, now);
            return Ok(verified);
        }
        self.metrics.cache_miss.inc();
        let limited = [
            self.by_address.retry_after(address, unix),
            self.by_client_address
                .retry_after((client_id, address), unix),
        ];
        if let Some(retry_after) = limited.into_iter().flatten().max() {
            return Err(AuthError::Limited { retry_after });
        }
        for _ in 0..MAX_STALE_READS {
            match self.single_flight(tag, client_id, secret).await {
                // A change to the application was applied after this
                // verification read it: verify afresh.
                Cold::Verified(verified)
                    if !self.cache.is_current(client_id, verified.generation) => {}
                Cold::Verified(verified) => {
                    self.usage.record(verified.secret_id, now);
                    return Ok(verified);
                }
                Cold::Refused { known_client } => {
                    self.by_address.record_failure(address, unix);
                    if known_client {
                        self.by_client_address
                            .record_failure((client_id, address), unix);
                    }
                    return Err(AuthError::Refused);
                }
                Cold::Failed(error) => return Err(error),
            }
        }
        Err(AuthError::Busy)
    }

    /// Runs one cold verification per tag at a time; concurrent requests
    /// for the same tag wait for it and share its result.
    async fn single_flight(&self, tag: Tag, client_id: ClientId, secret: &PlainSecret) -> Cold {
        let flight = self
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(tag)
            .or_default()
            .clone();
        // Whoever finishes (or abandons) the flight removes it, so a later
        // request starts afresh and a dropped request leaves nothing behind.
        let _land = Landing {
            flights: &self.flights,
            tag,
            flight: &flight,
        };
        flight
            .get_or_init(|| self.verify_cold(tag, client_id, secret))
            .await
            .clone()
    }

    async fn verify_cold(&self, tag: Tag, client_id: ClientId, secret: &PlainSecret) -> Cold {
        // A flight that finished between this request's miss and its joining
        // the table has cached its result: use it rather than verify again.
        let now = self.clock.now().unix_timestamp();
        if let Lookup::Hit(verified) = self.cache.lookup(tag, client_id, now) {
            return Cold::Verified(verified);
        }
        let Ok(_admitted) = self.admission.clone().try_acquire_owned() else {
            return Cold::Failed(AuthError::Busy);
        };
        self.metrics.argon2_queue.inc();
        let outcome = self.verify_admitted(tag, client_id, secret).await;
        self.metrics.argon2_queue.dec();
        outcome.unwrap_or_else(Cold::Failed)
    }

    async fn verify_admitted(
        &self,
        tag: Tag,
        client_id: ClientId,
        secret: &PlainSecret,
    ) -> Result<Cold, AuthError> {
        // Read before the database: an invalidation after this point keeps
        // what we read from being cached or issued.
        let generation = self.cache.generation(client_id);
        let Some(credentials) = self.store.client_credentials(client_id).await? else {
            return Ok(Cold::Refused {
                known_client: false,
            });
        };
        let now = self.clock.now().unix_timestamp();
        // Only secrets whose hint (first three characters) matches are worth
        // an argon2 verification, so a wrong secret usually costs none.
        let hint = secret.hint();
        let candidates: Vec<StoredSecret> = credentials
            .secrets
            .into_iter()
            .filter(|s| s.hint == hint && s.expires_at.unix_timestamp() > now)
            .collect();
        if candidates.is_empty() {
            return Ok(Cold::Refused { known_client: true });
        }
        let _worker = self
            .workers
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let hasher = self.hasher.clone();
        let presented = secret.clone();
        let (matches, mismatches) = (
            self.metrics.argon2_match.clone(),
            self.metrics.argon2_mismatch.clone(),
        );
        let matched: Option<Matched> = tokio::task::spawn_blocking(move || {
            candidates.into_iter().find_map(|candidate| {
                let ok = hasher.verify(presented.expose().as_bytes(), &candidate.hash);
                if ok { &matches } else { &mismatches }.inc();
                ok.then(|| Matched {
                    id: candidate.id,
                    expires_at: candidate.expires_at.unix_timestamp(),
                    hash: candidate.hash,
                })
            })
        })
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
        let Some(matched) = matched else {
            return Ok(Cold::Refused { known_client: true });
        };
        self.settle(tag, client_id, credentials.application, matched, generation)
            .await
    }

    /// Caches and returns a verified secret, unless a change to its
    /// application was applied after `application` was read: then the
    /// credentials are read again, and the secret stands only if it is
    /// still there, unchanged and unexpired (no second argon2 needed).
    async fn settle(
        &self,
        tag: Tag,
        client_id: ClientId,
        mut application: Arc<Application>,
        matched: Matched,
        mut generation: u64,
    ) -> Result<Cold, AuthError> {
        let mut expires_at = matched.expires_at;
        for _ in 0..MAX_STALE_READS {
            if let Some(verified) =
                self.cache
                    .insert(tag, &application, matched.id, expires_at, generation)
            {
                self.metrics.cache_entries.set(count(self.cache.len()));
                return Ok(Cold::Verified(verified));
            }
            generation = self.cache.generation(client_id);
            let Some(fresh) = self.store.client_credentials(client_id).await? else {
                return Ok(Cold::Refused {
                    known_client: false,
                });
            };
            let now = self.clock.now().unix_timestamp();
            let Some(still) = fresh.secrets.iter().find(|s| {
                s.id == matched.id && s.hash == matched.hash && s.expires_at.unix_timestamp() > now
            }) else {
                return Ok(Cold::Refused { known_client: true });
            };
            expires_at = still.expires_at.unix_timestamp();
            application = fresh.application;
        }
        Ok(Cold::Failed(AuthError::Busy))
    }
}

/// Removes a finished or abandoned flight from the table.
struct Landing<'a> {
    flights: &'a Mutex<HashMap<Tag, Flight, BuildHasherDefault<TagHasher>>>,
    tag: Tag,
    flight: &'a Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if flights
            .get(&self.tag)
            .is_some_and(|current| Arc::ptr_eq(current, self.flight))
        {
            flights.remove(&self.tag);
        }
    }
}
