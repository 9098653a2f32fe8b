//! The resource catalog: the APIs, one per environment, that tokens grant.
//!
//! Each resource has an id (what `scope` names and permissions hold) and an
//! audience URI (what `resource` names, RFC 8707, and what `aud` carries).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A resource id: lower-case letters, digits and dashes, 1 to 64 characters,
/// such as `match-connect-sandbox`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceId(String);

/// The text is not a well-formed resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource ids are 1 to 64 lower-case letters, digits and dashes")]
pub struct InvalidResourceId;

impl ResourceId {
    /// Parses a resource id.
    pub fn parse(s: &str) -> Result<Self, InvalidResourceId> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidResourceId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ResourceId {
    type Error = InvalidResourceId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> Self {
        id.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a resource runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Live data.
    Production,
    /// Test data, for implementers.
    Sandbox,
}

/// One API in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// What permissions and `scope` name.
    pub id: ResourceId,
    /// Human-readable name.
    pub name: String,
    /// Production or sandbox.
    pub environment: Environment,
    /// The `aud` value of tokens for this resource (RFC 8707 resource indicator).
    pub audience: String,
}

/// The catalog is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Two resources share an id.
    #[error("resource `{0}` is listed twice")]
    DuplicateId(String),
    /// Two resources share an audience, so `resource=` would be ambiguous.
    #[error("audience `{0}` belongs to two resources")]
    DuplicateAudience(String),
    /// An audience that is not an absolute URI.
    #[error("audience `{0}` of resource `{1}` must be an absolute http(s) URI")]
    InvalidAudience(String, String),
    /// No resources at all.
    #[error("the resource catalog is empty")]
    Empty,
}

/// Every resource Tessera can grant, by id and by audience.
#[derive(Debug, Clone)]
pub struct ResourceCatalog {
    by_id: BTreeMap<ResourceId, Resource>,
    by_audience: BTreeMap<String, ResourceId>,
}

impl ResourceCatalog {
    /// Builds a catalog, refusing duplicate ids or audiences.
    pub fn new(resources: Vec<Resource>) -> Result<Self, CatalogError> {
        if resources.is_empty() {
            return Err(CatalogError::Empty);
        }
        let mut by_id = BTreeMap::new();
        let mut by_audience = BTreeMap::new();
        for resource in resources {
            let aud = resource.audience.as_str();
            if !(aud.starts_with("https://") || aud.starts_with("http://")) || aud.contains(' ') {
                return Err(CatalogError::InvalidAudience(
                    resource.audience.clone(),
                    resource.id.to_string(),
                ));
            }
            if by_audience
                .insert(resource.audience.clone(), resource.id.clone())
                .is_some()
            {
                return Err(CatalogError::DuplicateAudience(resource.audience));
            }
            let id = resource.id.clone();
            if by_id.insert(id.clone(), resource).is_some() {
                return Err(CatalogError::DuplicateId(id.to_string()));
            }
        }
        Ok(Self { by_id, by_audience })
    }

    /// The six resources of the default catalog.
    pub fn default_resources() -> Vec<Resource> {
        let entry = |id: &str, name: &str, environment, audience: &str| Resource {
            id: ResourceId(id.to_owned()),
            name: name.to_owned(),
            environment,
            audience: audience.to_owned(),
        };
        use Environment::{Production, Sandbox};
        vec![
            entry(
                "search-match-production",
                "Search and Match production",
                Production,
                "https://api.registry.example/search-match",
            ),
            entry(
                "search-match-sandbox",
                "Search and Match sandbox",
                Sandbox,
                "https://sandbox.registry.example/search-match",
            ),
            entry(
                "match-connect-production",
                "Match-Connect production",
                Production,
                "https://api.registry.example/match-connect",
            ),
            entry(
                "match-connect-sandbox",
                "Match-Connect sandbox",
                Sandbox,
                "https://sandbox.registry.example/match-connect",
            ),
            entry(
                "data-manager-production",
                "Data Manager production",
                Production,
                "https://api.registry.example/data-manager",
            ),
            entry(
                "data-manager-sandbox",
                "Data Manager sandbox",
                Sandbox,
                "https://sandbox.registry.example/data-manager",
            ),
        ]
    }

    /// The resource with this id.
    pub fn get(&self, id: &ResourceId) -> Option<&Resource> {
        self.by_id.get(id)
    }

    /// The resource with this id, given as text.
    pub fn get_str(&self, id: &str) -> Option<&Resource> {
        ResourceId::parse(id)
            .ok()
            .and_then(|id| self.by_id.get(&id))
    }

    /// The resource whose audience is `uri`.
    pub fn by_audience(&self, uri: &str) -> Option<&Resource> {
        self.by_audience.get(uri).and_then(|id| self.by_id.get(id))
    }

    /// Every resource, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.by_id.values()
    }
}

impl Default for ResourceCatalog {
    fn default() -> Self {
        // The default resources are distinct by construction.
        let resources = Self::default_resources();
        let mut by_id = BTreeMap::new();
        let mut by_audience = BTreeMap::new();
        for r in resources {
            by_audience.insert(r.audience.clone(), r.id.clone());
            by_id.insert(r.id.clone(), r);
        }
        Self { by_id, by_audience }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_has_the_six_resources() {
        let catalog = ResourceCatalog::new(ResourceCatalog::default_resources()).unwrap();
        assert_eq!(catalog.iter().count(), 6);
        let mc = catalog.get_str("match-connect-sandbox").unwrap();
        assert_eq!(mc.environment, Environment::Sandbox);
        assert_eq!(
            catalog
                .by_audience("https://api.registry.example/data-manager")
                .unwrap()
                .id
                .as_str(),
            "data-manager-production"
        );
    }

    #[test]
    fn catalog_refuses_duplicate_audiences() {
        let mut resources = ResourceCatalog::default_resources();
        resources[1].audience = resources[0].audience.clone();
        assert!(matches!(
            ResourceCatalog::new(resources),
            Err(CatalogError::DuplicateAudience(_))
        ));
    }

    #[test]
    fn resource_ids_are_lower_case_words_and_dashes() {
        assert!(ResourceId::parse("search-match-production").is_ok());
        assert!(ResourceId::parse("Search").is_err());
        assert!(ResourceId::parse("a b").is_err());
        assert!(ResourceId::parse("").is_err());
    }
}
