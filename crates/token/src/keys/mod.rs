//! Signing keys: generation, the PEM key directory, the JWKS, and the key
//! ring the token endpoint signs with.
//!
//! Private keys are PKCS#8 PEM files named `<kid>.pem`, where the kid is the
//! key's RFC 7638 JWK thumbprint. Which key is active is recorded in the
//! database, so every replica agrees, and a running server picks up a newly
//! activated key without a restart ([`KeyRing::reload`]). A retired key stays
//! in the JWKS for one token lifetime, so tokens it signed keep validating.

mod ring_keys;

pub use ring_keys::{Algorithm, KeyError, SigningKey};

use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_core::Clock;
use tessera_core::audit::NewAuditEvent;
use tessera_core::store::{KeyStore, SigningKeyRecord};
use time::{Duration, OffsetDateTime};

/// How long past a token lifetime a retired key is still published, for
/// clock skew and caches.
pub const RETIRED_KEY_GRACE: Duration = Duration::seconds(60);

/// The folder of PEM files.
#[derive(Debug, Clone)]
pub struct KeyDirectory {
    dir: PathBuf,
}

impl KeyDirectory {
    /// The key directory at `dir` (created when a key is first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Generates a key, writes it as `<kid>.pem` readable by the owner only,
    /// and returns it.
    pub fn generate(&self, alg: Algorithm) -> Result<SigningKey, KeyError> {
        let (key, pem) = SigningKey::generate(alg)?;
        self.write(&key.kid, &pem)?;
        Ok(key)
    }

    fn write(&self, kid: &str, pem: &str) -> Result<(), KeyError> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(format!("{kid}.pem"));
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io)?;
        std::io::Write::write_all(&mut file, pem.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Every key in the folder, by kid. A file that is not a supported
    /// private key is an error naming it: a broken key directory should stop
    /// a start, not be half-used.
    pub fn load_all(&self) -> Result<BTreeMap<String, Arc<SigningKey>>, KeyError> {
        self.load_cached(&mut ParsedKeys::default())
    }

    /// Like [`Self::load_all`], parsing only files that are new or changed
    /// since `cache` saw them (parsing an RSA key costs milliseconds).
    pub fn load_cached(
        &self,
        cache: &mut ParsedKeys,
    ) -> Result<BTreeMap<String, Arc<SigningKey>>, KeyError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| KeyError::Io { path, source }
        };
        let mut seen = BTreeMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cache.0.clear();
                return Ok(BTreeMap::new());
            }
            Err(source) => return Err(io(&self.dir)(source)),
        };
        for entry in entries {
            let path = entry.map_err(io(&self.dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pem") {
                continue;
            }
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(io(&path))?;
            let key = match cache.0.get(&path) {
                Some((at, key)) if *at == modified => key.clone(),
                _ => {
                    let pem = std::fs::read_to_string(&path).map_err(io(&path))?;
                    Arc::new(SigningKey::from_pem(&pem).map_err(|e| KeyError::BadFile {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?)
                }
            };
            seen.insert(path, (modified, key));
        }
        cache.0 = seen;
        Ok(cache
            .0
            .values()
            .map(|(_, key)| (key.kid.clone(), key.clone()))
            .collect())
    }
}

/// Keys already parsed, by file and modification time.
#[derive(Debug, Default)]
pub struct ParsedKeys(BTreeMap<PathBuf, (std::time::SystemTime, Arc<SigningKey>)>);

/// The active key's record: the one activated last.
pub fn active_record(records: &[SigningKeyRecord]) -> Option<&SigningKeyRecord> {
    records
        .iter()
        .filter(|r| r.activation_seq.is_some())
        .max_by_key(|r| r.activation_seq)
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    tessera_core::private_fs::create_dir(dir).map_err(|source| KeyError::Io {
        path: dir.display().to_string(),
        source,
    })
}

/// The audit event of activating a key, made by the caller: what is
/// audited is decided by the use cases, not by the token path.
pub type ActivationEvent<'a> = &'a (dyn Fn(&str) -> NewAuditEvent + Send + Sync);

/// Registers every key of the directory in the store and makes sure one is
/// active: on a first start with no key, one of `alg` is generated; with
/// keys but none active, the newest becomes active, recorded with the
/// event `activated` makes for it.
pub async fn ensure_active_key(
    store: &dyn KeyStore,
    dir: &KeyDirectory,
    alg: Algorithm,
    clock: &dyn Clock,
    activated: ActivationEvent<'_>,
) -> Result<(), KeyError> {
    // Replicas starting together on an empty database must not each
    // activate a key of their own: one claims the set-up, the others wait
    // until it has activated a key.
    let holder = uuid::Uuid::new_v4().to_string();
    let waited = std::time::Instant::now();
    loop {
        if active_record(&store.signing_keys().await?).is_some() {
            // Still register keys added to the folder by hand.
            register_all(store, &dir.load_all()?, clock).await?;
            return Ok(());
        }
        let now = clock.now();
        if store
            .try_lease(KEY_SETUP_LEASE, &holder, now, now + KEY_SETUP_LEASE_TIME)
            .await?
        {
            let result = set_up_first_key(store, dir, alg, clock, activated).await;
            store.release_lease(KEY_SETUP_LEASE, &holder).await?;
            return result;
        }
        if waited.elapsed() > KEY_SETUP_WAIT {
            return Err(KeyError::SetUpTimedOut);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The lease of the server setting up the first key.
const KEY_SETUP_LEASE: &str = "signing-key-setup";
/// How long that lease lasts if its holder dies before releasing it.
const KEY_SETUP_LEASE_TIME: Duration = Duration::seconds(30);
/// How long a starting server waits for another to set up the first key.
const KEY_SETUP_WAIT: std::time::Duration = std::time::Duration::from_secs(45);

async fn set_up_first_key(
    store: &dyn KeyStore,
    dir: &KeyDirectory,
    alg: Algorithm,
    clock: &dyn Clock,
    activated: ActivationEvent<'_>,
) -> Result<(), KeyError> {
    let mut keys = dir.load_all()?;
    if keys.is_empty() {
        let key = dir.generate(alg)?;
        tracing::info!(kid = %key.kid, alg = %key.alg, "generated a first signing key");
        keys.insert(key.kid.clone(), Arc::new(key));
    }
    let records = register_all(store, &keys, clock).await?;
    if active_record(&records).is_none() {
        // Newest key in the directory becomes active.
        let newest = records
            .iter()
            .filter(|r| keys.contains_key(&r.kid))
            .max_by_key(|r| (r.created_at, r.kid.clone()));
        if let Some(newest) = newest {
            store
                .activate_signing_key(&newest.kid, clock.now(), &activated(&newest.kid))
                .await?;
            tracing::info!(kid = %newest.kid, "activated signing key");
        }
    }
    Ok(())
}

/// Registers keys found in the directory that the store does not know yet,
/// and returns every key record.
pub async fn register_all(
    store: &dyn KeyStore,
    keys: &BTreeMap<String, Arc<SigningKey>>,
    clock: &dyn Clock,
) -> Result<Vec<SigningKeyRecord>, KeyError> {
    let records = store.signing_keys().await?;
    let unknown: Vec<_> = keys
        .values()
        .filter(|k| !records.iter().any(|r| r.kid == k.kid))
        .collect();
    if unknown.is_empty() {
        return Ok(records);
    }
    for key in unknown {
        store
            .register_signing_key(&SigningKeyRecord {
                kid: key.kid.clone(),
                alg: key.alg.to_string(),
                created_at: clock.now(),
                activated_at: None,
                activation_seq: None,
            })
            .await?;
    }
    Ok(store.signing_keys().await?)
}

/// What the token endpoint signs with and the JWKS publishes, swapped as a
/// whole when keys change.
#[derive(Debug)]
pub struct KeySet {
    /// The key that signs new tokens.
    pub active: Arc<SigningKey>,
    /// The serialised JWKS document.
    pub jwks: bytes::Bytes,
    /// The kids in the JWKS, to tell when it must be rebuilt.
    published: Vec<String>,
    /// The keys of the JWKS by kid, to verify tokens with: a token signed
    /// by a key no longer published is past its lifetime.
    verifiers: BTreeMap<String, Arc<SigningKey>>,
}

impl KeySet {
    /// The published key with this kid, if any.
    pub fn verifier(&self, kid: &str) -> Option<&SigningKey> {
        self.verifiers.get(kid).map(Arc::as_ref)
    }
}

/// The current [`KeySet`], readable without locks on the hot path.
#[derive(Debug)]
pub struct KeyRing {
    current: ArcSwap<KeySet>,
    dir: KeyDirectory,
    token_ttl: Duration,
    parsed: std::sync::Mutex<ParsedKeys>,
}

impl KeyRing {
    /// Loads the active key and the published ones.
    pub async fn load(
        store: &dyn KeyStore,
        dir: KeyDirectory,
        token_ttl: Duration,
        clock: &dyn Clock,
    ) -> Result<Self, KeyError> {
        let mut parsed = ParsedKeys::default();
        let keys = dir.load_cached(&mut parsed)?;
        let records = register_all(store, &keys, clock).await?;
        let set = build_key_set(&keys, &records, token_ttl, clock.now())?;
        Ok(Self {
            current: ArcSwap::from_pointee(set),
            dir,
            token_ttl,
            parsed: std::sync::Mutex::new(parsed),
        })
    }

    /// The current key set.
    pub fn current(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }

    /// Re-reads the directory and the store; swaps the key set if the active
    /// key or the published keys changed. Returns whether it did.
    pub async fn reload(&self, store: &dyn KeyStore, clock: &dyn Clock) -> Result<bool, KeyError> {
        let keys = {
            let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
            self.dir.load_cached(&mut parsed)?
        };
        let records = register_all(store, &keys, clock).await?;
        let fresh = build_key_set(&keys, &records, self.token_ttl, clock.now())?;
        let current = self.current.load();
        if fresh.active.kid == current.active.kid && fresh.published == current.published {
            return Ok(false);
        }
        tracing::info!(active = %fresh.active.kid, published = ?fresh.published, "signing keys changed");
        self.current.store(Arc::new(fresh));
        Ok(true)
    }
}

/// The JWKS holds the active key, keys not yet activated (published ahead,
/// so caches have them before they sign), and retired keys whose last token
/// may still be valid.
fn build_key_set(
    keys: &BTreeMap<String, Arc<SigningKey>>,
    records: &[SigningKeyRecord],
    token_ttl: Duration,
    now: OffsetDateTime,
) -> Result<KeySet, KeyError> {
    let active_record = active_record(records).ok_or(KeyError::NoActiveKey)?;
    let active = keys
        .get(&active_record.kid)
        .cloned()
        .ok_or_else(|| KeyError::ActiveKeyMissing(active_record.kid.clone()))?;
    let activated: Vec<&SigningKeyRecord> = records
        .iter()
        .filter(|r| r.activation_seq.is_some())
        .collect();

    let mut published = Vec::new();
    for record in records {
        if !keys.contains_key(&record.kid) {
            continue;
        }
        let keep = match record.activation_seq {
            None => true,
            Some(seq) => {
                // Retired when the next key was activated.
                let retired_at = activated
                    .iter()
                    .filter(|r| r.activation_seq > Some(seq))
                    .filter_map(|r| r.activated_at)
                    .min();
                match retired_at {
                    None => true,
                    Some(at) => now < at + token_ttl + RETIRED_KEY_GRACE,
                }
            }
        };
        if keep {
            published.push(record.kid.clone());
        }
    }
    let jwks = serde_json::json!({
        "keys": published
            .iter()
            .filter_map(|kid| keys.get(kid))
            .map(|k| k.public_jwk())
            .collect::<Vec<_>>()
    });
    let verifiers = published
        .iter()
        .filter_map(|kid| keys.get(kid).map(|key| (kid.clone(), key.clone())))
        .collect();
    Ok(KeySet {
        active,
        jwks: bytes::Bytes::from(jwks.to_string()),
        published,
        verifiers,
    })
}
