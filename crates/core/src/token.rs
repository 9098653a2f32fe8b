//! Access tokens: the OAuth error codes of the token endpoint
//! ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)),
//! resource selection by `scope` or `resource`
//! ([RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)), and the JWT claims
//! ([RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).

use crate::application::Permissions;
use crate::ids::{ClientId, OrganisationId, SecretId};
use crate::resource::{Resource, ResourceCatalog};
use serde::Serialize;
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats an instant as RFC 3339 (for messages; never fails on valid times).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// An error of the token endpoint. `Display` is the RFC 6749 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed request: missing or repeated parameter, two client
    /// authentication methods, bad encoding.
    #[error("invalid_request")]
    InvalidRequest(Cow<'static, str>),
    /// No client authentication, unknown client, or a wrong, expired or
    /// deleted secret: one answer for all, so nothing is learnt from it.
    #[error("invalid_client")]
    InvalidClient,
    /// An authenticated client whose kind may not obtain tokens (a
    /// resource server).
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// A `grant_type` other than `client_credentials`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// A `scope` the application does not hold.
    #[error("invalid_scope")]
    InvalidScope(Cow<'static, str>),
    /// A `resource` the application does not hold (RFC 8707 §2).
    #[error("invalid_target")]
    InvalidTarget(Cow<'static, str>),
}

impl TokenError {
    /// The human-readable `error_description`; it never repeats a credential.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Self::InvalidRequest(d) | Self::InvalidScope(d) | Self::InvalidTarget(d) => d.clone(),
            Self::InvalidClient => "client authentication failed".into(),
            Self::UnsupportedGrantType => "only grant_type=client_credentials is supported".into(),
            Self::UnauthorizedClient => {
                "this client is a resource server: it may introspect tokens, not obtain them".into()
            }
        }
    }
}

/// The `aud` claim: a string for one audience, an array for several
/// ([RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Audience<'a> {
    /// One audience.
    One(&'a str),
    /// Several audiences.
    Many(Vec<&'a str>),
}

/// The claims of an access token (RFC 9068 §2.2, plus `org` and
/// `credential_id`).
#[derive(Debug, Clone, Serialize)]
pub struct AccessTokenClaims<'a> {
    /// The issuer URL.
    pub iss: &'a str,
    /// The client, as subject: there is no end user in client credentials.
    pub sub: ClientId,
    /// The client.
    pub client_id: ClientId,
    /// The audiences of the granted resources.
    pub aud: Audience<'a>,
    /// The granted resource ids, space-separated.
    pub scope: &'a str,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique token id.
    pub jti: &'a str,
    /// The client's organisation.
    pub org: OrganisationId,
    /// The id of the client secret that obtained the token (never the
    /// secret): introspection answers `active: false` once it is gone.
    pub credential_id: SecretId,
}

/// Decides which resources a token grants.
///
/// With neither `scope` nor `resource`, every resource the application
/// holds. `scope` names resource ids; `resource` names audience URIs. When
/// both are given, the grant is the scope's resources and every `resource`
/// must be the audience of one of them. Anything asked for that the
/// application does not hold is refused, never silently dropped.
pub fn select_resources<'c>(
    catalog: &'c ResourceCatalog,
    permissions: &Permissions,
    scope: Option<&str>,
    resources: &[&str],
) -> Result<Vec<&'c Resource>, TokenError> {
    let held = |r: &Resource| permissions.contains(&r.id);
    let mut granted: Vec<&Resource> = Vec::new();
    let push = |granted: &mut Vec<&'c Resource>, r: &'c Resource| {
        if !granted.iter().any(|g| g.id == r.id) {
            granted.push(r);
        }
    };
    if let Some(scope) = scope {
        for token in scope.split(' ').filter(|t| !t.is_empty()) {
            match catalog.get_str(token) {
                Some(r) if held(r) => push(&mut granted, r),
                _ => {
                    return Err(TokenError::InvalidScope(
                        "the requested scope includes a resource this client does not hold".into(),
                    ));
                }
            }
        }
        if granted.is_empty() {
            return Err(TokenError::InvalidScope("scope is empty".into()));
        }
    }
    if !resources.is_empty() {
        let scoped = scope.is_some();
        let mut targets: Vec<&Resource> = Vec::new();
        for uri in resources {
            match catalog.by_audience(uri) {
                Some(r) if held(r) && (!scoped || granted.iter().any(|g| g.id == r.id)) => {
                    push(&mut targets, r)
                }
                _ => {
                    return Err(TokenError::InvalidTarget(
                        "a requested resource is not one this client may be granted".into(),
                    ));
                }
            }
        }
        granted = targets;
    }
    if scope.is_none() && resources.is_empty() {
        granted = catalog.iter().filter(|r| held(r)).collect();
    }
    if granted.is_empty() {
        return Err(TokenError::InvalidScope(
            "this client holds no resource permission".into(),
        ));
    }
    granted.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceId;

    fn perms(ids: &[&str]) -> Permissions {
        ids.iter()
            .map(|id| ResourceId::parse(id).unwrap())
            .collect()
    }

    fn ids(resources: &[&Resource]) -> Vec<String> {
        resources.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn no_scope_and_no_resource_grants_everything_held() {
        let catalog = ResourceCatalog::default();
        let held = perms(&["search-match-sandbox", "data-manager-sandbox"]);
        let granted = select_resources(&catalog, &held, None, &[]).unwrap();
        assert_eq!(
            ids(&granted),
            ["data-manager-sandbox", "search-match-sandbox"]
        );
    }

    #[test]
    fn scope_narrows_to_the_named_resources() {
        let catalog = ResourceCatalog::default();
        let held = perms(&["search-match-sandbox", "data-manager-sandbox"]);
        let granted = select_resources(&catalog, &held, Some("search-match-sandbox"), &[]).unwrap();
        assert_eq!(ids(&granted), ["search-match-sandbox"]);
    }

    #[test]
    fn scope_not_held_is_invalid_scope() {
        let catalog = ResourceCatalog::default();
        let held = perms(&["search-match-sandbox"]);
        for scope in [
            "search-match-production",
            "nonsense",
            "search-match-sandbox unknown",
            " ",
        ] {
            assert!(
                matches!(
                    select_resources(&catalog, &held, Some(scope), &[]),
                    Err(TokenError::InvalidScope(_))
                ),
                "{scope}"
            );
        }
    }

    #[test]
    fn resource_selects_by_audience_and_refuses_what_is_not_held() {
        let catalog = ResourceCatalog::default();
        let held = perms(&["search-match-sandbox", "data-manager-sandbox"]);
        let granted = select_resources(
            &catalog,
            &held,
            None,
            &["https://sandbox.registry.example/data-manager"],
        )
        .unwrap();
        assert_eq!(ids(&granted), ["data-manager-sandbox"]);
        assert!(matches!(
            select_resources(
                &catalog,
                &held,
                None,
                &["https://api.registry.example/data-manager"]
            ),
            Err(TokenError::InvalidTarget(_))
        ));
        assert!(matches!(
            select_resources(&catalog, &held, None, &["https://elsewhere.example/"]),
            Err(TokenError::InvalidTarget(_))
        ));
    }

    #[test]
    fn resource_outside_the_requested_scope_is_invalid_target() {
        let catalog = ResourceCatalog::default();
        let held = perms(&["search-match-sandbox", "data-manager-sandbox"]);
        assert!(matches!(
            select_resources(
                &catalog,
                &held,
                Some("search-match-sandbox"),
                &["https://sandbox.registry.example/data-manager"]
            ),
            Err(TokenError::InvalidTarget(_))
        ));
    }

    #[test]
    fn audience_is_a_string_for_one_and_an_array_for_several() {
        assert_eq!(
            serde_json::to_string(&Audience::One("a")).unwrap(),
            r#""a""#
        );
        assert_eq!(
            serde_json::to_string(&Audience::Many(vec!["a", "b"])).unwrap(),
            r#"["a","b"]"#
        );
    }

    #[test]
    fn token_error_displays_its_rfc_6749_code() {
        assert_eq!(TokenError::InvalidClient.to_string(), "invalid_client");
        assert_eq!(
            TokenError::InvalidTarget("x".into()).to_string(),
            "invalid_target"
        );
    }
}
