//! Applications: the OAuth clients that partner systems authenticate as.
//!
//! Admins create them; an application's name is derived from its
//! organisation and API, never typed, and a partner-alternative application
//! (the test organisation implementers use for Match-Connect) may hold only
//! the `match-connect-sandbox` permission.

use crate::ids::{ClientId, OrganisationId};
use crate::organisation::Organisation;
use crate::resource::{ResourceCatalog, ResourceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use time::OffsetDateTime;

/// The only permission a partner-alternative application may hold.
pub const PARTNER_ALTERNATIVE_PERMISSION: &str = "match-connect-sandbox";

/// Why an application was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// The API code is not 2 to 5 capital letters.
    #[error("api must be 2 to 5 capital letters, such as `SMC` or `DM`")]
    InvalidApi,
    /// The kind is not `partner`, `partner-alternative` or `resource-server`.
    #[error("kind must be `partner`, `partner-alternative` or `resource-server`")]
    InvalidKind,
    /// A permission names no resource of the catalog.
    #[error("`{0}` is not a resource id of the catalog")]
    UnknownResource(String),
    /// A partner-alternative application asked for more than Match-Connect sandbox.
    #[error(
        "a partner-alternative application may hold only the `match-connect-sandbox` permission, not `{0}`"
    )]
    PartnerAlternativePermission(String),
    /// A resource server was given a permission: it obtains no tokens.
    #[error(
        "a resource server holds no permissions (it introspects tokens and obtains none), not `{0}`"
    )]
    ResourceServerPermission(String),
}

/// The API an application calls: 2 to 5 capital letters, such as `SMC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ApiCode(String);

impl ApiCode {
    /// Parses an API code.
    pub fn parse(s: &str) -> Result<Self, ApplicationError> {
        if (2..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApplicationError::InvalidApi)
        }
    }
}

impl AsRef<str> for ApiCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What kind of organisation the application stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ApplicationKind {
    /// A registry member's production or sandbox system.
    #[default]
    Partner,
    /// The "dummy" organisation implementers use to test Match-Connect.
    PartnerAlternative,
    /// One of the registry's APIs: it asks the introspection endpoint
    /// whether a token is active and obtains no tokens itself.
    ResourceServer,
}

impl ApplicationKind {
    /// Parses `partner`, `partner-alternative` or `resource-server`.
    pub fn parse(s: &str) -> Result<Self, ApplicationError> {
        match s {
            "partner" => Ok(Self::Partner),
            "partner-alternative" => Ok(Self::PartnerAlternative),
            "resource-server" => Ok(Self::ResourceServer),
            _ => Err(ApplicationError::InvalidKind),
        }
    }

    /// The kind as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Partner => "partner",
            Self::PartnerAlternative => "partner-alternative",
            Self::ResourceServer => "resource-server",
        }
    }

    /// Whether applications of this kind may obtain tokens: resource
    /// servers may not, they only introspect.
    pub fn obtains_tokens(&self) -> bool {
        !matches!(self, Self::ResourceServer)
    }

    /// Whether applications of this kind may call the introspection
    /// endpoint.
    pub fn introspects(&self) -> bool {
        matches!(self, Self::ResourceServer)
    }

    fn name_prefix(&self) -> &'static str {
        match self {
            Self::Partner => "Partner",
            Self::PartnerAlternative => "PartnerAlternative",
            Self::ResourceServer => "ResourceServer",
        }
    }
}

impl fmt::Display for ApplicationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An application's name, derived as `Partner-{country}-{organisation}-{api}`
/// (`PartnerAlternative-…` for partner-alternative applications,
/// `ResourceServer-…` for resource servers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ApplicationName(String);

impl ApplicationName {
    /// Derives the name; there is no other way to make one.
    pub fn derive(kind: ApplicationKind, organisation: &Organisation, api: &ApiCode) -> Self {
        Self(format!(
            "{}-{}-{}-{}",
            kind.name_prefix(),
            organisation.country.as_str(),
            organisation.name.as_ref(),
            api.as_ref()
        ))
    }

    /// Rebuilds a name read back from storage, where it was derived.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }
}

impl AsRef<str> for ApplicationName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The set of resources an application may be granted.
pub type Permissions = BTreeSet<ResourceId>;

/// Checks a permission set against the catalog and the application's kind.
pub fn validate_permissions<S: AsRef<str>>(
    kind: ApplicationKind,
    requested: &[S],
    catalog: &ResourceCatalog,
) -> Result<Permissions, ApplicationError> {
    let mut permissions = Permissions::new();
    for id in requested {
        let id = id.as_ref();
        let resource = catalog
            .get_str(id)
            .ok_or_else(|| ApplicationError::UnknownResource(id.chars().take(64).collect()))?;
        if kind == ApplicationKind::PartnerAlternative
            && resource.id.as_str() != PARTNER_ALTERNATIVE_PERMISSION
        {
            return Err(ApplicationError::PartnerAlternativePermission(
                resource.id.to_string(),
            ));
        }
        if kind == ApplicationKind::ResourceServer {
            return Err(ApplicationError::ResourceServerPermission(
                resource.id.to_string(),
            ));
        }
        permissions.insert(resource.id.clone());
    }
    Ok(permissions)
}

/// An OAuth client of one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    /// Permanent, generated; never changes and never expires.
    pub client_id: ClientId,
    /// Derived from kind, country, organisation and API.
    pub name: ApplicationName,
    /// The organisation it belongs to.
    pub organisation_id: OrganisationId,
    /// Partner, partner-alternative or resource server.
    pub kind: ApplicationKind,
    /// The API code, such as `SMC`.
    pub api: ApiCode,
    /// The resources it may be granted.
    pub permissions: Permissions,
    /// When an admin created it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Application {
    /// Builds a new application for `organisation`, validating every field.
    pub fn create<S: AsRef<str>>(
        organisation: &Organisation,
        api: &str,
        kind: ApplicationKind,
        permissions: &[S],
        catalog: &ResourceCatalog,
        now: OffsetDateTime,
    ) -> Result<Self, ApplicationError> {
        let api = ApiCode::parse(api)?;
        let permissions = validate_permissions(kind, permissions, catalog)?;
        Ok(Self {
            client_id: ClientId::generate(),
            name: ApplicationName::derive(kind, organisation, &api),
            organisation_id: organisation.id,
            kind,
            api,
            permissions,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organisation::NewOrganisation;
    use time::macros::datetime;

    fn org() -> Organisation {
        NewOrganisation {
            name: "OrganisationName".into(),
            country: "NL".into(),
        }
        .validate(datetime!(2026-01-01 0:00 UTC))
        .unwrap()
    }

    #[test]
    fn partner_application_name_is_derived_from_country_organisation_and_api() {
        let app = Application::create(
            &org(),
            "SMC",
            ApplicationKind::Partner,
            &["search-match-production"],
            &ResourceCatalog::default(),
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        assert_eq!(app.name.as_ref(), "Partner-NL-OrganisationName-SMC");
        assert_eq!(app.client_id.as_uuid().get_version_num(), 4);
    }

    #[test]
    fn partner_alternative_name_starts_with_partner_alternative() {
        let app = Application::create(
            &org(),
            "MC",
            ApplicationKind::PartnerAlternative,
            &["match-connect-sandbox"],
            &ResourceCatalog::default(),
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap();
        assert_eq!(
            app.name.as_ref(),
            "PartnerAlternative-NL-OrganisationName-MC"
        );
    }

    #[test]
    fn partner_alternative_may_hold_only_match_connect_sandbox() {
        let catalog = ResourceCatalog::default();
        let kind = ApplicationKind::PartnerAlternative;
        assert!(validate_permissions(kind, &["match-connect-sandbox"], &catalog).is_ok());
        assert_eq!(
            validate_permissions(kind, &["match-connect-production"], &catalog),
            Err(ApplicationError::PartnerAlternativePermission(
                "match-connect-production".into()
            ))
        );
        assert!(
            validate_permissions(
                ApplicationKind::Partner,
                &["match-connect-production"],
                &catalog
            )
            .is_ok()
        );
    }

    #[test]
    fn resource_server_name_starts_with_resource_server_and_holds_no_permission() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let catalog = ResourceCatalog::default();
        let kind = ApplicationKind::parse("resource-server").unwrap();
        let app = Application::create(&org(), "SMC", kind, &[] as &[&str], &catalog, now).unwrap();
        assert_eq!(app.name.as_ref(), "ResourceServer-NL-OrganisationName-SMC");
        assert!(!kind.obtains_tokens() && kind.introspects());
        assert_eq!(
            Application::create(
                &org(),
                "SMC",
                kind,
                &["search-match-sandbox"],
                &catalog,
                now
            ),
            Err(ApplicationError::ResourceServerPermission(
                "search-match-sandbox".into()
            ))
        );
        assert_eq!(
            Application::create(&org(), "smc", kind, &[] as &[&str], &catalog, now),
            Err(ApplicationError::InvalidApi)
        );
        assert!(ApplicationKind::Partner.obtains_tokens());
        assert!(!ApplicationKind::Partner.introspects());
        assert!(!ApplicationKind::PartnerAlternative.introspects());
    }

    #[test]
    fn permissions_must_name_catalog_resources() {
        assert_eq!(
            validate_permissions(
                ApplicationKind::Partner,
                &["nope"],
                &ResourceCatalog::default()
            ),
            Err(ApplicationError::UnknownResource("nope".into()))
        );
    }

    #[test]
    fn api_codes_are_two_to_five_capital_letters() {
        assert!(ApiCode::parse("DM").is_ok());
        assert!(ApiCode::parse("SMCAB").is_ok());
        assert!(ApiCode::parse("S").is_err());
        assert!(ApiCode::parse("SMCABC").is_err());
        assert!(ApiCode::parse("smc").is_err());
        assert!(ApiCode::parse("S1").is_err());
    }
}
