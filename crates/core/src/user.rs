//! Users: the registry's admins and each organisation's credential managers.
//!
//! Every user signs in with a password and a TOTP code (RFC 6238), so every
//! session is MFA. Both are generated here and handed out exactly once.

use crate::ids::{OrganisationId, UserId};
use crate::text::is_deceptive;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};

/// Issuer label in authenticator apps.
pub const TOTP_ISSUER: &str = "Tessera";

/// Why a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Not an email address.
    #[error("email must be an address such as `name@example.org`")]
    InvalidEmail,
    /// Neither `admin` nor `credential-manager`.
    #[error("role must be `admin` or `credential-manager`")]
    InvalidRole,
    /// A credential manager without an organisation.
    #[error("a credential manager belongs to an organisation: give its id")]
    OrganisationRequired,
    /// The TOTP secret could not be turned into a URI.
    #[error("could not build the TOTP URI: {0}")]
    Totp(String),
}

/// A lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@` with text on both sides, a dot in the
    /// domain, no whitespace, control characters or colons, at most 254
    /// characters. Stored in lower case, so sign-in is case-insensitive.
    pub fn parse(s: &str) -> Result<Self, UserError> {
        let s = s.trim();
        let (local, domain) = s.split_once('@').ok_or(UserError::InvalidEmail)?;
        let bad = |c: char| c.is_whitespace() || is_deceptive(c) || c == ':' || c == '@';
        if s.len() > 254
            || local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || local.chars().any(bad)
            || domain.chars().any(bad)
        {
            return Err(UserError::InvalidEmail);
        }
        Ok(Self(s.to_lowercase()))
    }

    /// Rebuilds an address read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The registry's IT team: every organisation.
    Admin,
    /// Their own organisation's applications and secrets only.
    CredentialManager,
}

impl Role {
    /// Parses `admin` or `credential-manager`.
    pub fn parse(s: &str) -> Result<Self, UserError> {
        match s {
            "admin" => Ok(Self::Admin),
            "credential-manager" => Ok(Self::CredentialManager),
            _ => Err(UserError::InvalidRole),
        }
    }

    /// The role as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CredentialManager => "credential-manager",
        }
    }
}

/// Where a user is in their life (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Created, not yet enrolled.
    Invited,
    /// May sign in.
    Active,
    /// May not sign in; gets no reminders.
    Disabled,
}

impl UserStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Invited, Self::Active, Self::Disabled];

    /// As stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Whether a user of this status may sign in and use a session: only
    /// an active one (an invited user has not chosen a password yet; a
    /// disabled one was stopped).
    pub fn may_sign_in(self) -> bool {
        self == Self::Active
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// A person who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Generated identifier.
    pub id: UserId,
    /// Sign-in name, unique.
    pub email: Email,
    /// Admin or credential manager.
    pub role: Role,
    /// Their organisation; admins may have none.
    pub organisation_id: Option<OrganisationId>,
    /// Invited, active or disabled.
    pub status: UserStatus,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's TOTP shared secret (RFC 6238), base32. Redacted in `Debug`.
#[derive(Clone)]
pub struct TotpSecret(SecretString);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    /// A fresh 160-bit secret, as RFC 4226 recommends.
    pub fn generate() -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; 20]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(SecretString::from(
            totp_rs::Secret::Raw(bytes.to_vec())
                .to_encoded()
                .to_string(),
        ))
    }

    /// Wraps a secret read back from storage.
    pub fn from_stored(base32: String) -> Self {
        Self(SecretString::from(base32))
    }

    /// The base32 text, for storage.
    pub fn expose_base32(&self) -> &str {
        self.0.expose_secret()
    }

    /// The RFC 6238 generator for this secret (SHA-1, 6 digits, 30 s, ±1 step).
    pub fn totp(&self, account: &Email) -> Result<TOTP, UserError> {
        let bytes = totp_rs::Secret::Encoded(self.expose_base32().to_owned())
            .to_bytes()
            .map_err(|e| UserError::Totp(format!("{e:?}")))?;
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            30,
            bytes,
            Some(TOTP_ISSUER.to_owned()),
            account.as_ref().to_owned(),
        )
        .map_err(|e| UserError::Totp(e.to_string()))
    }

    /// The `otpauth://totp/…` URI to enrol an authenticator app.
    pub fn uri(&self, account: &Email) -> Result<SecretString, UserError> {
        Ok(SecretString::from(self.totp(account)?.get_url()))
    }
}

/// A generated initial password (144 random bits, URL-safe). Redacted in
/// `Debug`, zeroized on drop.
pub fn generate_password() -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 18]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("Vera.M@Example.org").unwrap().as_ref(),
            "vera.m@example.org"
        );
        for bad in [
            "",
            "no-at",
            "@example.org",
            "a@b",
            "a b@example.org",
            "a@example.",
            "a:b@example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn totp_uri_names_issuer_and_account() {
        let email = Email::parse("vm@example.org").unwrap();
        let secret = TotpSecret::generate();
        let uri = secret.uri(&email).unwrap();
        let uri = uri.expose_secret();
        assert!(
            uri.starts_with("otpauth://totp/Tessera:vm%40example.org?"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Tessera"));
        assert!(!format!("{secret:?}").contains(secret.expose_base32()));
    }

    #[test]
    fn generated_passwords_differ_and_are_long() {
        let a = generate_password();
        assert_eq!(a.expose_secret().len(), 24);
        assert_ne!(a.expose_secret(), generate_password().expose_secret());
    }
}
