//! One signing key, held parsed so that signing a token costs one signature.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tessera_core::store::StoreError;

/// A JWS algorithm Tessera signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (the default).
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    #[serde(rename = "RS256")]
    Rs256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 3] = [Self::Es256, Self::Rs256, Self::EdDsa];

    /// The JWS `alg` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| KeyError::UnknownAlgorithm(s.chars().take(16).collect()))
    }
}

/// A key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not ES256, RS256 or EdDSA.
    #[error("unknown algorithm `{0}` (use ES256, RS256 or EdDSA)")]
    UnknownAlgorithm(String),
    /// Key generation failed.
    #[error("could not generate a key: {0}")]
    Generate(String),
    /// The PEM is not a supported PKCS#8 private key.
    #[error("not a PKCS#8 ES256 (P-256), RS256 (RSA) or EdDSA (Ed25519) private key")]
    Unsupported,
    /// A key file is unusable.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing the key directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Another server claimed the first key's set-up and never finished it.
    #[error("another server is setting up the first signing key and has not finished; retry")]
    SetUpTimedOut,
    /// No key has been activated.
    #[error("no signing key is active (run `tessera keys generate --activate`)")]
    NoActiveKey,
    /// The active key's file is not in the key directory.
    #[error("the active signing key {0} is not in the key directory")]
    ActiveKeyMissing(String),
    /// No key with that kid.
    #[error("no key {0} in the key directory")]
    UnknownKid(String),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A parsed private key with its kid, algorithm and public JWK.
pub struct SigningKey {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The JWS algorithm.
    pub alg: Algorithm,
    inner: Inner,
    jwk: serde_json::Value,
    /// `base64url(header) + "."`, computed once.
    header_prefix: String,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 JWK thumbprint of a canonical JWK.
fn thumbprint(canonical_jwk: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, canonical_jwk.as_bytes()).as_ref())
}

impl SigningKey {
    /// Generates a key; returns it and its PKCS#8 PEM.
    pub fn generate(alg: Algorithm) -> Result<(Self, String), KeyError> {
        let rng = SystemRandom::new();
        let der: Vec<u8> = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Generate("ECDSA P-256".into()))?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| KeyError::Generate("Ed25519".into()))?
                .as_ref()
                .to_vec(),
            Algorithm::Rs256 => {
                // ring cannot generate RSA keys; RustCrypto's rsa can.
                use rsa::pkcs8::EncodePrivateKey as _;
                let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                    .map_err(|e| KeyError::Generate(e.to_string()))?;
                key.to_pkcs8_der()
                    .map_err(|e| KeyError::Generate(e.to_string()))?
                    .as_bytes()
                    .to_vec()
            }
        };
        let key = Self::from_pkcs8(&der)?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
        Ok((key, pem))
    }

    /// Parses a PKCS#8 PEM private key of any supported algorithm.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let parsed = pem::parse(text).map_err(|_| KeyError::Unsupported)?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(KeyError::Unsupported);
        }
        Self::from_pkcs8(parsed.contents())
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        // Each JWK is written as RFC 7638 wants it for the thumbprint: the
        // required members only, in lexicographic order, no whitespace. The
        // values are base64url, which needs no JSON escaping.
        let (alg, inner, canonical) = if let Ok(pair) =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        {
            // Uncompressed point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let (x, y) = point.get(1..).ok_or(KeyError::Unsupported)?.split_at(32);
            let jwk = format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64(x),
                b64(y)
            );
            (Algorithm::Es256, Inner::Ecdsa(pair), jwk)
        } else if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let x = b64(pair.public_key().as_ref());
            let jwk = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            (Algorithm::EdDsa, Inner::Ed25519(pair), jwk)
        } else if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
            let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
            let jwk = format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64(&public.e),
                b64(&public.n)
            );
            (Algorithm::Rs256, Inner::Rsa(pair), jwk)
        } else {
            return Err(KeyError::Unsupported);
        };
        let kid = thumbprint(&canonical);
        let jwk = serde_json::from_str(&canonical).map_err(|_| KeyError::Unsupported)?;
        let header = serde_json::json!({"alg": alg.as_str(), "kid": kid, "typ": "at+jwt"});
        let header_prefix = format!("{}.", b64(header.to_string().as_bytes()));
        Ok(Self {
            kid,
            alg,
            inner,
            jwk,
            header_prefix,
            rng,
        })
    }

    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> serde_json::Value {
        let mut jwk = self.jwk.clone();
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), self.kid.clone().into());
            map.insert("alg".into(), self.alg.as_str().into());
            map.insert("use".into(), "sig".into());
        }
        jwk
    }

    /// Signs `claims` as a JWS compact serialisation with header
    /// `{"alg","kid","typ":"at+jwt"}` (RFC 9068 §2.1).
    pub fn sign_jwt<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let mut jwt = String::with_capacity(self.header_prefix.len() + payload.len() * 4 / 3 + 360);
        jwt.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let signature = self.sign(jwt.as_bytes())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }

    /// Whether `signature` is this key's JWS signature of `message` (the
    /// `header.payload` of a compact JWS), with its own algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let (algorithm, public): (&dyn signature::VerificationAlgorithm, &[u8]) = match &self.inner
        {
            Inner::Ecdsa(pair) => (
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref(),
            ),
            Inner::Ed25519(pair) => (&signature::ED25519, pair.public_key().as_ref()),
            Inner::Rsa(pair) => (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public().as_ref(),
            ),
        };
        signature::UnparsedPublicKey::new(algorithm, public)
            .verify(message, signature)
            .is_ok()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
            Inner::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Inner::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_a_key_that_reloads_with_the_same_kid() {
        for alg in Algorithm::ALL {
            let (key, pem) = SigningKey::generate(alg).unwrap();
            assert_eq!(key.alg, alg);
            let reloaded = SigningKey::from_pem(&pem).unwrap();
            assert_eq!(reloaded.kid, key.kid);
            assert_eq!(reloaded.alg, alg);
            assert_eq!(key.public_jwk()["alg"], alg.as_str());
            assert_eq!(key.public_jwk()["use"], "sig");
        }
    }

    #[test]
    fn kid_is_the_rfc_7638_thumbprint() {
        // The example key of RFC 7638 §3.1.
        let jwk = r#"{"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
        assert_eq!(
            thumbprint(jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn every_algorithm_verifies_its_own_signature_and_no_other() {
        for alg in Algorithm::ALL {
            let (key, _) = SigningKey::generate(alg).unwrap();
            let (other, _) = SigningKey::generate(alg).unwrap();
            let jwt = key.sign_jwt(&serde_json::json!({"sub": "x"})).unwrap();
            let (message, sig) = jwt.rsplit_once('.').unwrap();
            let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
            assert!(key.verify(message.as_bytes(), &sig), "{alg}");
            assert!(!other.verify(message.as_bytes(), &sig), "{alg}");
            assert!(!key.verify(b"tampered", &sig), "{alg}");
        }
    }

    #[test]
    fn signed_token_has_the_rfc_9068_header() {
        let (key, _) = SigningKey::generate(Algorithm::Es256).unwrap();
        let jwt = key.sign_jwt(&serde_json::json!({"sub": "x"})).unwrap();
        let header = jwt.split('.').next().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"})
        );
        assert_eq!(jwt.split('.').count(), 3);
    }

    #[test]
    fn other_pem_blocks_are_refused() {
        assert!(
            SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(SigningKey::from_pem("not pem").is_err());
    }
}
