//! The verified-secret cache: after one argon2id verification, the same
//! client_id and secret are answered from memory.
//!
//! - The key is a keyed BLAKE3 hash of the client_id and the presented
//!   secret, truncated to 128 bits, under a random key drawn at start: the
//!   secret itself is never kept, and without the key nobody can aim at an
//!   entry. The key spreads uniformly, so the maps use it as its own hash.
//! - An entry holds only what issuing needs: the application (shared by all
//!   entries of that application), the secret's id (for `last_used_at`) and
//!   its expiry, checked on every hit.
//! - Anything that changes what an application may do (a secret deleted,
//!   permissions replaced, the application deleted) goes through
//!   [`SecretCache::invalidate`], which drops every entry of the application
//!   before the change is acknowledged. A verification that read the
//!   database before such a change can neither put a stale entry back nor
//!   issue from what it read: it carries the application's invalidation
//!   generation from before its read, and [`SecretCache::insert`] and
//!   [`SecretCache::is_current`] refuse it once that generation moved.
//! - Memory is bounded: a full shard evicts an arbitrary entry, which costs
//!   the evicted client one more verification and nothing else.
//! - Entries are trusted only while the change log has been read recently
//!   (see [`SecretCache::synced`]), so a server cut off from the
//!   database stops answering from memory after a configured window.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tessera_core::application::Application;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::store::CredentialsChanged;

/// Number of independently locked parts of the map.
const SHARDS: usize = 16;
/// Number of invalidation generations: applications share one by their
/// client_id's low bits, so a change to one application makes a
/// verification of another start over only when they share it.
const GENERATIONS: usize = 256;

/// The cache key: a keyed hash of client_id and secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(u128);

/// A [`Hasher`] that takes a [`Tag`]'s low bits as the hash: the tag is
/// already a uniformly distributed keyed hash.
#[derive(Default)]
pub struct TagHasher(u64);

impl Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is reached for a `Tag`; fold anything else in.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, n: u128) {
        // Truncation intended: the low 64 bits of a uniform value.
        self.0 = n as u64;
    }
}

type TagMap<V> = HashMap<Tag, V, BuildHasherDefault<TagHasher>>;

/// An application as the cache holds it, shared by the entries of all its
/// verified secrets.
#[derive(Debug)]
pub struct CachedApplication {
    /// The application as it was when its secret was verified.
    pub application: Application,
    /// Cleared when the application changes; its entries are then dead even
    /// before they are swept out.
    valid: AtomicBool,
}

impl CachedApplication {
    fn new(application: &Application) -> Arc<Self> {
        Arc::new(Self {
            application: application.clone(),
            valid: AtomicBool::new(true),
        })
    }
}

/// One verified secret.
#[derive(Debug, Clone)]
struct Entry {
    application: Arc<CachedApplication>,
    secret_id: SecretId,
    /// Unix seconds.
    expires_at: i64,
}

/// What a hit gives the token endpoint.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The application.
    pub application: Arc<CachedApplication>,
    /// The secret that matched.
    pub secret_id: SecretId,
    /// The application's invalidation generation this was verified at
    /// (see [`SecretCache::is_current`]).
    pub generation: u64,
}

/// A lookup's result.
#[derive(Debug)]
pub enum Lookup {
    /// Verified before, unexpired, application unchanged.
    Hit(Verified),
    /// Not cached (or no longer usable): verify against the database.
    Miss,
}

/// The verified-secret cache. See the module documentation.
pub struct SecretCache {
    key: [u8; 32],
    shards: Box<[RwLock<TagMap<Entry>>]>,
    shard_capacity: usize,
    /// Cached applications by client_id, so entries share one copy and an
    /// invalidation finds them. Locked only on inserts and invalidations.
    applications: Mutex<HashMap<ClientId, Arc<CachedApplication>>>,
    /// Invalidation generations, by client_id; bumped by every
    /// invalidation of an application sharing one.
    generations: Box<[AtomicU64]>,
    len: AtomicUsize,
    /// How long entries stay trusted after the change log was last read,
    /// in seconds.
    trust_window: i64,
    /// Unix seconds until which entries may be trusted.
    trust_until: AtomicI64,
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("len", &self.len())
            .field("capacity", &(self.shard_capacity * SHARDS))
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    /// An empty cache holding at most about `capacity` entries (0 disables
    /// caching), trusted for `trust_window_seconds` from `now` (unix
    /// seconds) and from each [`synced`](Self::synced) on.
    pub fn new(capacity: usize, trust_window_seconds: u64, now: i64) -> Self {
        let trust_window = i64::try_from(trust_window_seconds).unwrap_or(i64::MAX);
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        Self {
            key,
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            shard_capacity: capacity.div_ceil(SHARDS),
            applications: Mutex::default(),
            generations: (0..GENERATIONS).map(|_| AtomicU64::new(0)).collect(),
            len: AtomicUsize::new(0),
            trust_window,
            trust_until: AtomicI64::new(now.saturating_add(trust_window)),
        }
    }

    /// The key under which `secret`, presented for `client_id`, is cached.
    pub fn tag(&self, client_id: ClientId, secret: &str) -> Tag {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(client_id.as_uuid().as_bytes());
        hasher.update(secret.as_bytes());
        let hash = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash.as_bytes()[..16]);
        Tag(u128::from_le_bytes(first))
    }

    fn shard(&self, tag: Tag) -> &RwLock<TagMap<Entry>> {
        // The high bits pick the shard; the low bits hash inside it.
        let index = (tag.0 >> 120) as usize % SHARDS;
        &self.shards[index]
    }

    /// Looks `tag` up for `client_id` at `now` (unix seconds).
    pub fn lookup(&self, tag: Tag, client_id: ClientId, now: i64) -> Lookup {
        if now >= self.trust_until.load(Ordering::Acquire) {
            return Lookup::Miss;
        }
        let shard = self
            .shard(tag)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match shard.get(&tag) {
            Some(entry)
                if entry.expires_at > now
                    && entry.application.valid.load(Ordering::Acquire)
                    && entry.application.application.client_id == client_id =>
            {
                Lookup::Hit(Verified {
                    application: entry.application.clone(),
                    secret_id: entry.secret_id,
                    generation: self.generation(client_id),
                })
            }
            _ => Lookup::Miss,
        }
    }

    fn generation_of(&self, client_id: ClientId) -> &AtomicU64 {
        // A v4 UUID's low bits are random.
        let index = (client_id.as_uuid().as_u128() % GENERATIONS as u128) as usize;
        &self.generations[index]
    }

    /// `client_id`'s invalidation generation, to pass to
    /// [`insert`](Self::insert); read it before reading the credentials
    /// from the database.
    pub fn generation(&self, client_id: ClientId) -> u64 {
        self.generation_of(client_id).load(Ordering::Acquire)
    }

    /// Whether no invalidation of `client_id` happened since `generation`
    /// was read: what was read from the database then is still good to
    /// issue from. A change is acknowledged only after its invalidation, so
    /// a verification that passes this check decided before the answer.
    pub fn is_current(&self, client_id: ClientId, generation: u64) -> bool {
        self.generation(client_id) == generation
    }

    /// Caches a verified secret, unless an invalidation of its application
    /// happened since `generation` was read (the verification may have seen
    /// stale data): then `None`, and nothing may be issued from that read.
    /// With the cache disabled, a current verification is returned
    /// uncached, good for this one request.
    pub fn insert(
        &self,
        tag: Tag,
        application: &Application,
        secret_id: SecretId,
        expires_at: i64,
        generation: u64,
    ) -> Option<Verified> {
        let mut applications = self
            .applications
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Invalidations bump the generation while holding this lock, so the
        // check and the insert below are atomic with respect to them.
        if !self.is_current(application.client_id, generation) {
            return None;
        }
        if self.shard_capacity == 0 {
            return Some(Verified {
                application: CachedApplication::new(application),
                secret_id,
                generation,
            });
        }
        let cached = applications
            .entry(application.client_id)
            .or_insert_with(|| CachedApplication::new(application))
            .clone();
        let mut shard = self
            .shard(tag)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.shard_capacity && !shard.contains_key(&tag) {
            let victim = shard.keys().next().copied();
            if let Some(victim) = victim {
                shard.remove(&victim);
                self.len.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let entry = Entry {
            application: cached.clone(),
            secret_id,
            expires_at,
        };
        if shard.insert(tag, entry).is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        Some(Verified {
            application: cached,
            secret_id,
            generation,
        })
    }

    /// Drops every entry of `client_id`. Call it after the change is stored
    /// and before it is acknowledged.
    pub fn invalidate(&self, client_id: ClientId) {
        let removed = {
            let mut applications = self
                .applications
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.generation_of(client_id).fetch_add(1, Ordering::AcqRel);
            applications.remove(&client_id)
        };
        let Some(removed) = removed else { return };
        removed.valid.store(false, Ordering::Release);
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            let before = shard.len();
            shard.retain(|_, entry| !Arc::ptr_eq(&entry.application, &removed));
            self.len.fetch_sub(before - shard.len(), Ordering::Relaxed);
        }
    }

    /// Drops everything, for when changes may have been missed.
    pub fn clear(&self) {
        let mut applications = self
            .applications
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for generation in &self.generations {
            generation.fetch_add(1, Ordering::AcqRel);
        }
        for (_, cached) in applications.drain() {
            cached.valid.store(false, Ordering::Release);
        }
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            self.len.fetch_sub(shard.len(), Ordering::Relaxed);
            shard.clear();
        }
    }

    /// The change log was read at `now` (unix seconds): entries are trusted
    /// for another trust window.
    pub fn synced(&self, now: i64) {
        self.trust_until
            .store(now.saturating_add(self.trust_window), Ordering::Release);
    }

    /// Unix seconds until which entries are trusted without another read
    /// of the change log.
    pub fn trusted_until(&self) -> i64 {
        self.trust_until.load(Ordering::Acquire)
    }

    /// Whether the change log was read recently enough, at `now` (unix
    /// seconds), for what memory holds to be trusted.
    pub fn trusted(&self, now: i64) -> bool {
        now < self.trusted_until()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes one entry takes in the map's table, not counting the table's
    /// spare capacity or the shared application.
    pub const ENTRY_BYTES: usize = size_of::<Tag>() + size_of::<Entry>() + 1;
}

/// Changes committed by this process drop the application's entries at
/// once, before the change is answered.
impl CredentialsChanged for SecretCache {
    fn credentials_changed(&self, client_id: ClientId) {
        self.invalidate(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::application::ApplicationKind;
    use tessera_core::organisation::NewOrganisation;
    use tessera_core::resource::ResourceCatalog;
    use time::OffsetDateTime;

    fn application() -> Arc<Application> {
        let now = OffsetDateTime::UNIX_EPOCH;
        let org = NewOrganisation {
            name: "Example".into(),
            country: "NL".into(),
        }
        .validate(now)
        .unwrap();
        Arc::new(
            Application::create(
                &org,
                "SMC",
                ApplicationKind::Partner,
                &["search-match-sandbox"],
                &ResourceCatalog::default(),
                now,
            )
            .unwrap(),
        )
    }

    fn hit(lookup: Lookup) -> Verified {
        match lookup {
            Lookup::Hit(verified) => verified,
            Lookup::Miss => panic!("expected a hit"),
        }
    }

    #[test]
    fn a_verified_secret_is_a_hit_until_it_expires() {
        let cache = SecretCache::new(100, u64::MAX, 0);
        let app = application();
        let tag = cache.tag(app.client_id, "s3cret");
        let secret = SecretId::generate();
        assert!(
            cache
                .insert(tag, &app, secret, 1_000, cache.generation(app.client_id))
                .is_some()
        );
        assert_eq!(hit(cache.lookup(tag, app.client_id, 999)).secret_id, secret);
        assert!(matches!(
            cache.lookup(tag, app.client_id, 1_000),
            Lookup::Miss
        ));
    }

    #[test]
    fn tags_differ_by_secret_client_and_key() {
        let cache = SecretCache::new(100, u64::MAX, 0);
        let other = SecretCache::new(100, u64::MAX, 0);
        let a = ClientId::generate();
        let b = ClientId::generate();
        assert_eq!(cache.tag(a, "x"), cache.tag(a, "x"));
        assert_ne!(cache.tag(a, "x"), cache.tag(a, "y"));
        assert_ne!(cache.tag(a, "x"), cache.tag(b, "x"));
        assert_ne!(cache.tag(a, "x"), other.tag(a, "x"));
    }

    #[test]
    fn invalidation_drops_every_entry_of_the_application() {
        let cache = SecretCache::new(100, u64::MAX, 0);
        let app = application();
        let first = cache.tag(app.client_id, "one");
        let second = cache.tag(app.client_id, "two");
        cache.insert(
            first,
            &app,
            SecretId::generate(),
            1_000,
            cache.generation(app.client_id),
        );
        cache.insert(
            second,
            &app,
            SecretId::generate(),
            1_000,
            cache.generation(app.client_id),
        );
        assert_eq!(cache.len(), 2);
        let shared = hit(cache.lookup(first, app.client_id, 0)).application;
        assert!(Arc::ptr_eq(
            &shared,
            &hit(cache.lookup(second, app.client_id, 0)).application
        ));
        cache.invalidate(app.client_id);
        assert!(matches!(
            cache.lookup(first, app.client_id, 0),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.lookup(second, app.client_id, 0),
            Lookup::Miss
        ));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_committed_change_told_through_the_hook_drops_the_application() {
        let cache = Arc::new(SecretCache::new(100, u64::MAX, 0));
        let app = application();
        let tag = cache.tag(app.client_id, "s3cret");
        cache.insert(
            tag,
            &app,
            SecretId::generate(),
            1_000,
            cache.generation(app.client_id),
        );
        let hook: Arc<dyn CredentialsChanged> = cache.clone();
        hook.credentials_changed(app.client_id);
        assert!(matches!(cache.lookup(tag, app.client_id, 0), Lookup::Miss));
        assert!(cache.is_empty());
    }

    #[test]
    fn an_insert_that_started_before_an_invalidation_is_dropped() {
        let cache = SecretCache::new(100, u64::MAX, 0);
        let app = application();
        let tag = cache.tag(app.client_id, "s3cret");
        let generation = cache.generation(app.client_id);
        cache.invalidate(app.client_id);
        assert!(!cache.is_current(app.client_id, generation));
        assert!(
            cache
                .insert(tag, &app, SecretId::generate(), 1_000, generation)
                .is_none()
        );
        assert!(matches!(cache.lookup(tag, app.client_id, 0), Lookup::Miss));
    }

    #[test]
    fn another_application_changing_leaves_a_verification_current() {
        let cache = SecretCache::new(100, u64::MAX, 0);
        let app = application();
        let generation = cache.generation(app.client_id);
        // An application whose generation is another one.
        let other = std::iter::repeat_with(ClientId::generate)
            .find(|id| !std::ptr::eq(cache.generation_of(*id), cache.generation_of(app.client_id)))
            .unwrap();
        cache.invalidate(other);
        assert!(cache.is_current(app.client_id, generation));
        cache.clear();
        assert!(
            !cache.is_current(app.client_id, generation),
            "a clear moves every generation"
        );
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = SecretCache::new(32, u64::MAX, 0);
        let app = application();
        for i in 0..1_000 {
            let tag = cache.tag(app.client_id, &i.to_string());
            cache.insert(
                tag,
                &app,
                SecretId::generate(),
                1_000,
                cache.generation(app.client_id),
            );
        }
        assert!(cache.len() <= 32, "{} entries", cache.len());
        assert!(cache.len() >= 16);
    }

    #[test]
    fn nothing_is_trusted_after_the_trust_window() {
        let cache = SecretCache::new(100, 500, 0);
        let app = application();
        let tag = cache.tag(app.client_id, "s3cret");
        cache.insert(
            tag,
            &app,
            SecretId::generate(),
            1_000,
            cache.generation(app.client_id),
        );
        assert!(matches!(
            cache.lookup(tag, app.client_id, 499),
            Lookup::Hit(_)
        ));
        assert!(matches!(
            cache.lookup(tag, app.client_id, 500),
            Lookup::Miss
        ));
        cache.synced(400);
        assert!(matches!(
            cache.lookup(tag, app.client_id, 500),
            Lookup::Hit(_)
        ));
    }

    #[test]
    fn a_zero_capacity_cache_caches_nothing_but_still_refuses_stale_reads() {
        let cache = SecretCache::new(0, u64::MAX, 0);
        let app = application();
        let tag = cache.tag(app.client_id, "s3cret");
        let generation = cache.generation(app.client_id);
        assert!(
            cache
                .insert(tag, &app, SecretId::generate(), 1_000, generation)
                .is_some()
        );
        assert!(cache.is_empty());
        assert!(matches!(cache.lookup(tag, app.client_id, 0), Lookup::Miss));
        cache.invalidate(app.client_id);
        assert!(
            cache
                .insert(tag, &app, SecretId::generate(), 1_000, generation)
                .is_none()
        );
    }
}
