//! argon2id hashing of everything Tessera must recognise but never keep:
//! client secrets and user passwords.
//!
//! Hashes are PHC strings carrying their own parameters, so raising the
//! cost later leaves existing hashes verifiable. These calls take tens of
//! milliseconds of CPU: async callers run them on a blocking thread.
//!
//! Verification works in memory kept for reuse rather than allocating the
//! 19 MiB of a check afresh: checks run on whichever blocking thread is
//! free, and fresh allocations from many threads leave the allocator
//! holding far more memory than is ever in use. Kept, the memory in use is
//! what the callers' concurrency bounds allow, and no more.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use zeroize::Zeroize;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Config {
    /// OWASP's current recommendation for argon2id: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The parameters or a stored hash are unusable.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The configured parameters are outside what argon2 accepts.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Hashing failed.
    #[error("argon2 hashing failed: {0}")]
    Hash(String),
}

/// An argon2id PHC string, such as `$argon2id$v=19$m=19456,t=2,p=1$…`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhcHash(String);

impl PhcHash {
    /// Wraps a hash read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhcHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A hash is not a secret, but it is an offline-guessing target.
        f.write_str("PhcHash(..)")
    }
}

/// Hashes and verifies with one set of argon2id parameters. Clones share
/// their working memory.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    dummy: PhcHash,
    memory: Arc<Memory>,
}

/// Most working memories kept for reuse: more than any configured
/// concurrency, so only an absurd configuration allocates afresh.
const MAX_KEPT_MEMORIES: usize = 64;

/// argon2 working memories not in use, wiped.
#[derive(Default)]
struct Memory(Mutex<Vec<Vec<Block>>>);

impl Memory {
    /// Working memory of `blocks` blocks, reused when one is kept.
    fn take(&self, blocks: usize) -> Vec<Block> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut memory = kept.unwrap_or_default();
        memory.resize(blocks, Block::default());
        memory
    }

    /// Wipes `memory` (it held what a secret derived) and keeps it.
    fn give_back(&self, mut memory: Vec<Block>) {
        memory.iter_mut().for_each(Zeroize::zeroize);
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < MAX_KEPT_MEMORIES {
            kept.push(memory);
        }
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", self.argon.params())
            .finish()
    }
}

impl Hasher {
    /// A hasher with these parameters.
    pub fn new(config: Argon2Config) -> Result<Self, HashError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self {
            argon,
            dummy: PhcHash(String::new()),
            memory: Arc::default(),
        };
        hasher.dummy = hasher.hash(b"tessera-dummy-credential")?;
        Ok(hasher)
    }

    /// Hashes `secret` with a fresh random salt.
    pub fn hash(&self, secret: &[u8]) -> Result<PhcHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(secret, &salt)
            .map(|h| PhcHash(h.to_string()))
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    /// Whether `secret` matches `hash`; a malformed hash matches nothing.
    pub fn verify(&self, secret: &[u8], hash: &PhcHash) -> bool {
        PasswordHash::new(hash.as_str())
            .ok()
            .and_then(|parsed| self.verify_parsed(secret, &parsed))
            .unwrap_or(false)
    }

    /// Recomputes `hash` (with its own algorithm, version, parameters and
    /// salt) for `secret` in kept memory and compares in constant time, as
    /// argon2's own verifier does; `None` when the hash is unusable.
    fn verify_parsed(&self, secret: &[u8], hash: &PasswordHash<'_>) -> Option<bool> {
        let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
        let version = hash
            .version
            .map(Version::try_from)
            .transpose()
            .ok()?
            .unwrap_or_default();
        let params = Params::try_from(hash).ok()?;
        let expected = hash.hash?;
        let mut salt = [0u8; 64];
        let salt = hash.salt?.decode_b64(&mut salt).ok()?;
        let mut computed = [0u8; Output::MAX_LENGTH];
        let computed = computed.get_mut(..expected.len())?;
        let mut memory = self.memory.take(params.block_count());
        let argon = Argon2::new(algorithm, version, params);
        let hashed = argon.hash_password_into_with_memory(secret, salt, computed, &mut memory);
        self.memory.give_back(memory);
        hashed.ok()?;
        let matched = Output::new(computed).ok()? == expected;
        computed.zeroize();
        Some(matched)
    }

    /// Spends the time of one verification and answers `false`: used when
    /// there is nothing to verify against, so timing does not tell whether
    /// an account exists.
    pub fn verify_dummy(&self, secret: &[u8]) -> bool {
        let _ = self.verify(secret, &self.dummy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(Argon2Config {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hash_is_argon2id_phc_and_verifies_only_the_original() {
        let hasher = cheap();
        let hash = hasher.hash(b"correct horse").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(hasher.verify(b"correct horse", &hash));
        assert!(!hasher.verify(b"correct horsf", &hash));
    }

    #[test]
    fn default_parameters_are_owasps() {
        let hash = Hasher::new(Argon2Config::default())
            .unwrap()
            .hash(b"x")
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn malformed_hash_matches_nothing() {
        assert!(!cheap().verify(b"x", &PhcHash::from_stored("garbage".into())));
        assert!(!cheap().verify_dummy(b"tessera-dummy-credential"));
    }

    #[test]
    fn hashes_of_other_parameters_verify_in_reused_memory() {
        let small = cheap();
        let large = Hasher::new(Argon2Config {
            memory_kib: 4096,
            iterations: 2,
            parallelism: 2,
        })
        .unwrap();
        let (a, b) = (small.hash(b"one").unwrap(), large.hash(b"two").unwrap());
        for _ in 0..3 {
            assert!(small.verify(b"two", &b) && large.verify(b"one", &a));
            assert!(!small.verify(b"one", &b) && !large.verify(b"two", &a));
        }
        assert_eq!(
            small.memory.0.lock().unwrap().len(),
            1,
            "one memory, reused"
        );
    }

    #[test]
    fn debug_never_shows_the_hash() {
        let hash = cheap().hash(b"x").unwrap();
        assert_eq!(format!("{hash:?}"), "PhcHash(..)");
    }
}
