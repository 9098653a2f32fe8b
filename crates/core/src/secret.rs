//! Client secrets: generation, naming, the hint, expiry policy and status.
//!
//! A secret is at least 256 bits from the operating system's CSPRNG,
//! written in URL-safe base64. It exists in plain form only in the response
//! that creates it (and in the request that presents it); storage keeps an
//! argon2id hash, the hint (its first three characters) and its metadata.

use crate::actor::ActorRecord;
use crate::ids::{ClientId, SecretId};
use crate::password::PhcHash;
use crate::text::is_deceptive;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

/// How many secrets one application may hold at once.
pub const MAX_SECRETS_PER_APPLICATION: usize = 5;
/// Random bytes in a generated secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Characters of the secret kept and shown as its hint.
pub const HINT_LEN: usize = 3;
/// Under this lifetime the secret is `expiring_soon`, and a new secret gets
/// the advice that one year is recommended.
pub const EXPIRING_SOON: Duration = Duration::days(30);

/// Why a secret request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The name is empty, too long or holds control characters.
    #[error("name must be 1 to 100 printable characters")]
    InvalidName,
    /// `expires_at` is now or in the past.
    #[error("expires_at must be in the future")]
    ExpiryInPast,
    /// `expires_at` is more than one calendar year ahead.
    #[error("expires_at may be at most one year after creation ({max})")]
    ExpiryTooLate {
        /// The latest allowed expiry, RFC 3339.
        max: String,
    },
}

/// A client secret in plain form. It redacts itself in `Debug` and is
/// zeroized when dropped.
#[derive(Clone)]
pub struct PlainSecret(SecretString);

impl PlainSecret {
    /// A new secret of 256 random bits from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// Wraps a secret a client presented.
    pub fn presented(s: String) -> Self {
        Self(SecretString::from(s))
    }

    /// The secret's text; call only to hash, verify or hand it to its owner.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The first three characters, which the owner sees to tell secrets apart.
    pub fn hint(&self) -> String {
        self.expose().chars().take(HINT_LEN).collect()
    }
}

impl std::fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainSecret([REDACTED])")
    }
}

/// A secret's name: 1 to 100 printable characters, such as "Secret by VM".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SecretName(String);

impl SecretName {
    /// Parses a name; surrounding whitespace is trimmed.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let s = s.trim();
        let len = s.chars().count();
        if len == 0 || len > 100 || s.chars().any(is_deceptive) {
            return Err(SecretError::InvalidName);
        }
        Ok(Self(s.to_owned()))
    }

    /// Rebuilds a name read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl AsRef<str> for SecretName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Where a secret is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStatus {
    /// Expires in 30 days or more.
    Active,
    /// Expires in under 30 days.
    ExpiringSoon,
    /// `expires_at` has passed; it yields no token.
    Expired,
}

impl SecretStatus {
    /// Every status, for metrics that must exist before the first event.
    pub const ALL: [Self; 3] = [Self::Active, Self::ExpiringSoon, Self::Expired];

    /// The status at `now` of a secret expiring at `expires_at`. A secret is
    /// expired from its expiry instant on.
    pub fn at(expires_at: OffsetDateTime, now: OffsetDateTime) -> Self {
        if now >= expires_at {
            Self::Expired
        } else if expires_at - now < EXPIRING_SOON {
            Self::ExpiringSoon
        } else {
            Self::Active
        }
    }

    /// The status as shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ExpiringSoon => "expiring_soon",
            Self::Expired => "expired",
        }
    }
}

/// The same instant one calendar year later; 29 February becomes 28 February.
pub fn one_calendar_year_after(t: OffsetDateTime) -> OffsetDateTime {
    let date = t.date();
    let year = date.year() + 1;
    let next = date
        .replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28));
    match next {
        Ok(next) => t.replace_date(next),
        Err(_) => t + Duration::days(365),
    }
}

/// An accepted expiry for a new secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// When the secret stops working.
    pub expires_at: OffsetDateTime,
    /// The lifetime is under 30 days: tell the creator one year is recommended.
    pub short_lifetime: bool,
}

/// Decides a new secret's expiry: one calendar year after `now` when none is
/// asked for; otherwise the asked instant, which must be in the future and
/// no later than one year after `now`. Times are kept to whole seconds.
pub fn resolve_expiry(
    now: OffsetDateTime,
    requested: Option<OffsetDateTime>,
) -> Result<Expiry, SecretError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let max = one_calendar_year_after(now);
    let expires_at = match requested {
        None => max,
        Some(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            let at = at.replace_nanosecond(0).unwrap_or(at);
            if at <= now {
                return Err(SecretError::ExpiryInPast);
            }
            if at > max {
                return Err(SecretError::ExpiryTooLate {
                    max: crate::token::rfc3339(max),
                });
            }
            at
        }
    };
    Ok(Expiry {
        expires_at,
        short_lifetime: expires_at - now < EXPIRING_SOON,
    })
}

/// A secret's metadata, as listed to the people who manage it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRecord {
    /// Identifier, used to delete it.
    pub id: SecretId,
    /// The application it belongs to.
    pub client_id: ClientId,
    /// What its creator called it.
    pub name: SecretName,
    /// Its first three characters.
    pub hint: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who created it.
    pub created_by: ActorRecord,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The last successful token request with it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl SecretRecord {
    /// Its status at `now`.
    pub fn status(&self, now: OffsetDateTime) -> SecretStatus {
        SecretStatus::at(self.expires_at, now)
    }
}

/// What the token endpoint needs of a secret to check one presented to it.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    /// Identifier, to record its use.
    pub id: SecretId,
    /// Its first three characters: only secrets whose hint matches the
    /// presented value are worth an argon2 verification.
    pub hint: String,
    /// The argon2id hash.
    pub hash: PhcHash,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// A new secret, hashed, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// Its metadata.
    pub record: SecretRecord,
    /// The argon2id hash of its value.
    pub hash: PhcHash,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn generated_secret_has_256_bits_in_url_safe_characters() {
        let secret = PlainSecret::generate();
        let text = secret.expose();
        assert_eq!(text.len(), 43);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(text).unwrap().len(), 32);
        assert_ne!(text, PlainSecret::generate().expose());
    }

    #[test]
    fn hint_is_the_first_three_characters() {
        let secret = PlainSecret::presented("abcdefgh".into());
        assert_eq!(secret.hint(), "abc");
    }

    #[test]
    fn debug_of_a_secret_is_redacted() {
        let secret = PlainSecret::presented("super-secret-value".into());
        assert!(!format!("{secret:?}").contains("super"));
    }

    #[test]
    fn default_expiry_is_one_calendar_year() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        let expiry = resolve_expiry(now, None).unwrap();
        assert_eq!(expiry.expires_at, datetime!(2027-03-15 10:30:00 UTC));
        assert!(!expiry.short_lifetime);
    }

    #[test]
    fn one_year_after_leap_day_is_the_28th_of_february() {
        assert_eq!(
            one_calendar_year_after(datetime!(2028-02-29 12:00 UTC)),
            datetime!(2029-02-28 12:00 UTC)
        );
    }

    #[test]
    fn expiry_may_be_exactly_one_year_but_not_a_second_more() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        assert!(resolve_expiry(now, Some(datetime!(2027-03-15 10:30:00 UTC))).is_ok());
        assert!(matches!(
            resolve_expiry(now, Some(datetime!(2027-03-15 10:30:01 UTC))),
            Err(SecretError::ExpiryTooLate { .. })
        ));
    }

    #[test]
    fn expiry_must_be_in_the_future() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        assert_eq!(
            resolve_expiry(now, Some(now)),
            Err(SecretError::ExpiryInPast)
        );
        assert_eq!(
            resolve_expiry(now, Some(datetime!(2020-01-01 0:00 UTC))),
            Err(SecretError::ExpiryInPast)
        );
    }

    #[test]
    fn lifetime_under_30_days_carries_the_advice() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        let short = resolve_expiry(now, Some(now + Duration::days(29))).unwrap();
        assert!(short.short_lifetime);
        let month = resolve_expiry(now, Some(now + Duration::days(30))).unwrap();
        assert!(!month.short_lifetime);
    }

    #[test]
    fn secret_expiring_in_29_days_is_expiring_soon() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        assert_eq!(
            SecretStatus::at(now + Duration::days(29), now),
            SecretStatus::ExpiringSoon
        );
        assert_eq!(
            SecretStatus::at(now + Duration::days(30) - Duration::seconds(1), now),
            SecretStatus::ExpiringSoon
        );
    }

    #[test]
    fn secret_expiring_in_30_days_is_active() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        assert_eq!(
            SecretStatus::at(now + Duration::days(30), now),
            SecretStatus::Active
        );
    }

    #[test]
    fn secret_is_expired_from_its_expiry_instant() {
        let now = datetime!(2026-03-15 10:30:00 UTC);
        assert_eq!(SecretStatus::at(now, now), SecretStatus::Expired);
        assert_eq!(
            SecretStatus::at(now - Duration::seconds(1), now),
            SecretStatus::Expired
        );
        assert_eq!(
            SecretStatus::at(now + Duration::seconds(1), now),
            SecretStatus::ExpiringSoon
        );
    }

    #[test]
    fn secret_names_are_printable_and_at_most_100_characters() {
        assert!(SecretName::parse("Secret by VM").is_ok());
        assert!(SecretName::parse(&"é".repeat(100)).is_ok());
        assert!(SecretName::parse(&"a".repeat(101)).is_err());
        assert!(SecretName::parse("").is_err());
        assert!(SecretName::parse("   ").is_err());
        assert!(SecretName::parse("tab\there").is_err());
    }
}
