//! Organisations: the registry's members, each with a name and a country.

use crate::ids::OrganisationId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Why an organisation field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationError {
    /// The name is empty, too long, or holds something other than letters and digits.
    #[error(
        "organisation name must be 1 to 64 ASCII letters and digits, such as `OrganisationName`"
    )]
    InvalidName,
    /// The country is not an ISO 3166-1 alpha-2 code.
    #[error("country must be an ISO 3166-1 alpha-2 code, such as `NL`")]
    InvalidCountry,
}

/// An organisation's name: 1 to 64 ASCII letters and digits, because it
/// becomes part of every application name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrganisationName(String);

impl OrganisationName {
    /// Longest accepted name.
    pub const MAX_LEN: usize = 64;

    /// Parses a name, refusing anything but 1 to 64 ASCII letters and digits.
    pub fn parse(s: &str) -> Result<Self, OrganisationError> {
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(OrganisationError::InvalidName);
        }
        Ok(Self(s.to_owned()))
    }
}

impl AsRef<str> for OrganisationName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, checked against the official list
/// and kept in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses a code such as `NL` (case-insensitive); `XX` and other
    /// unassigned codes are refused.
    pub fn parse(s: &str) -> Result<Self, OrganisationError> {
        let upper = s.to_ascii_uppercase();
        let bytes: [u8; 2] = upper
            .as_bytes()
            .try_into()
            .map_err(|_| OrganisationError::InvalidCountry)?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(OrganisationError::InvalidCountry);
        }
        celes::Country::from_alpha2(&upper).map_err(|_| OrganisationError::InvalidCountry)?;
        Ok(Self(bytes))
    }

    /// The two upper-case letters.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.as_str().to_owned()
    }
}

/// A member of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    /// Generated identifier.
    pub id: OrganisationId,
    /// Letters and digits, unique.
    pub name: OrganisationName,
    /// Where the organisation is.
    pub country: CountryCode,
    /// When an admin created it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A request to create an organisation, still unvalidated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// Proposed name.
    pub name: String,
    /// Proposed country code.
    pub country: String,
}

impl NewOrganisation {
    /// Validates the fields and gives the organisation a fresh id.
    pub fn validate(&self, now: OffsetDateTime) -> Result<Organisation, OrganisationError> {
        Ok(Organisation {
            id: OrganisationId::generate(),
            name: OrganisationName::parse(&self.name)?,
            country: CountryCode::parse(&self.country)?,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_checked_against_the_real_list() {
        assert_eq!(CountryCode::parse("NL").unwrap().as_str(), "NL");
        assert_eq!(CountryCode::parse("de").unwrap().as_str(), "DE");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("ZZ").is_err());
        assert!(CountryCode::parse("NLD").is_err());
        assert!(CountryCode::parse("N").is_err());
        assert!(CountryCode::parse("1A").is_err());
    }

    #[test]
    fn organisation_names_are_letters_and_digits_only() {
        assert!(OrganisationName::parse("OrganisationName").is_ok());
        assert!(OrganisationName::parse("Org42").is_ok());
        assert!(OrganisationName::parse("").is_err());
        assert!(OrganisationName::parse("Two Words").is_err());
        assert!(OrganisationName::parse("Dash-Name").is_err());
        assert!(OrganisationName::parse("Ünicode").is_err());
        assert!(OrganisationName::parse(&"a".repeat(65)).is_err());
    }
}
