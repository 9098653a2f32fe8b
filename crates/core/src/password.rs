//! argon2id hashing of everything Tessera must recognise but never keep:
//! client secrets and user passwords.
//!
//! Hashes are PHC strings carrying their own parameters, so raising the
//! cost later leaves existing hashes verifiable. These calls take tens of
//! milliseconds of CPU: async callers run them on a blocking thread.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

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

/// Hashes and verifies with one set of argon2id parameters.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    dummy: PhcHash,
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
        match PasswordHash::new(hash.as_str()) {
            Ok(parsed) => self.argon.verify_password(secret, &parsed).is_ok(),
            Err(_) => false,
        }
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
    fn debug_never_shows_the_hash() {
        let hash = cheap().hash(b"x").unwrap();
        assert_eq!(format!("{hash:?}"), "PhcHash(..)");
    }
}
