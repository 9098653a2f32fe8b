//! Parsing a token request: the form body
//! ([RFC 6749 §4.4.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2))
//! and client authentication
//! ([§2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)); and an
//! introspection request
//! ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)),
//! authenticated the same way.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tessera_core::ids::ClientId;
use tessera_core::secret::PlainSecret;
use tessera_core::token::TokenError;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic`.
    Basic,
    /// `client_id` and `client_secret` in the body.
    Post,
    /// Neither.
    None,
}

/// A parsed token request.
#[derive(Debug)]
pub struct TokenRequest {
    /// The presented client id.
    pub client_id: ClientId,
    /// The presented secret.
    pub secret: PlainSecret,
    /// Requested scope, if any.
    pub scope: Option<String>,
    /// Requested resource indicators (RFC 8707).
    pub resources: Vec<String>,
    /// How the client authenticated.
    pub method: AuthMethod,
}

/// A refusal, with whether Basic was used (for `WWW-Authenticate`).
#[derive(Debug)]
pub struct Refusal {
    /// The OAuth error.
    pub error: TokenError,
    /// How the client tried to authenticate.
    pub method: AuthMethod,
}

fn invalid_request(description: &'static str, method: AuthMethod) -> Refusal {
    Refusal {
        error: TokenError::InvalidRequest(description.into()),
        method,
    }
}

fn invalid_client(method: AuthMethod) -> Refusal {
    Refusal {
        error: TokenError::InvalidClient,
        method,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space
/// and `%XX` a byte; the result must be UTF-8.
fn form_decode(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Client id and secret from `Authorization: Basic`, each form-urlencoded
/// before base64 as RFC 6749 §2.3.1 requires. `None` when malformed.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = zeroize::Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// The parameters of a form body: each name of `singles` at most once,
/// `resource` any number of times; other names are ignored (RFC 6749
/// §3.2) and a parameter without a value is treated as omitted (§3.1).
struct Params {
    singles: Vec<(&'static str, String)>,
    resources: Vec<String>,
}

impl Params {
    fn read(
        body: &[u8],
        singles: &[&'static str],
        method_hint: AuthMethod,
    ) -> Result<Self, Refusal> {
        let body = std::str::from_utf8(body)
            .map_err(|_| invalid_request("the body is not UTF-8", method_hint))?;
        let mut params = Self {
            singles: Vec::new(),
            resources: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(body.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if key == "resource" {
                params.resources.push(value.into_owned());
                continue;
            }
            let Some(name) = singles.iter().find(|name| **name == key) else {
                continue;
            };
            if params.singles.iter().any(|(seen, _)| seen == name) {
                return Err(Refusal {
                    error: TokenError::InvalidRequest(format!("{name} is repeated").into()),
                    method: method_hint,
                });
            }
            params.singles.push((name, value.into_owned()));
        }
        Ok(params)
    }

    /// Takes the value of `name` out.
    fn take(&mut self, name: &str) -> Option<String> {
        let index = self.singles.iter().position(|(seen, _)| *seen == name)?;
        Some(self.singles.swap_remove(index).1)
    }
}

/// How the request presents its client: `Authorization` when present.
fn method_hint(headers: &HeaderMap) -> AuthMethod {
    if headers.contains_key(header::AUTHORIZATION) {
        AuthMethod::Basic
    } else {
        AuthMethod::Post
    }
}

/// The client's id and secret, from HTTP Basic or the body
/// (`client_secret_basic` or `client_secret_post`), never both.
fn client_credentials(
    headers: &HeaderMap,
    params: &mut Params,
) -> Result<(AuthMethod, ClientId, PlainSecret), Refusal> {
    let client_id = params.take("client_id");
    let client_secret = zeroize::Zeroizing::new(params.take("client_secret"));
    let (method, id, secret) = match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            if client_secret.is_some() {
                return Err(invalid_request(
                    "use one client authentication method: HTTP Basic or client_secret in the body, not both",
                    AuthMethod::Basic,
                ));
            }
            let value = value
                .to_str()
                .map_err(|_| invalid_client(AuthMethod::Basic))?;
            let (id, secret) = basic_credentials(value).ok_or(invalid_client(AuthMethod::Basic))?;
            if client_id.as_deref().is_some_and(|body_id| body_id != id) {
                return Err(invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                    AuthMethod::Basic,
                ));
            }
            (AuthMethod::Basic, id, secret)
        }
        None => match (client_id, client_secret.as_deref()) {
            (Some(id), Some(secret)) => (AuthMethod::Post, id, secret.to_owned()),
            _ => return Err(invalid_client(AuthMethod::None)),
        },
    };
    let client_id = id.parse::<ClientId>().map_err(|_| invalid_client(method))?;
    if secret.is_empty() {
        return Err(invalid_client(method));
    }
    Ok((method, client_id, PlainSecret::presented(secret)))
}

/// Parses the body and headers of a token request. `grant_type` is checked
/// first, then client authentication; scope and resources are validated
/// against the client's permissions later.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, Refusal> {
    let method_hint = method_hint(headers);
    let mut params = Params::read(
        body,
        &["grant_type", "client_id", "client_secret", "scope"],
        method_hint,
    )?;
    match params.take("grant_type").as_deref() {
        None => return Err(invalid_request("grant_type is missing", method_hint)),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(Refusal {
                error: TokenError::UnsupportedGrantType,
                method: method_hint,
            });
        }
    }
    let (method, client_id, secret) = client_credentials(headers, &mut params)?;
    Ok(TokenRequest {
        client_id,
        secret,
        scope: params.take("scope"),
        resources: params.resources,
        method,
    })
}

/// A parsed introspection request
/// ([RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)).
#[derive(Debug)]
pub struct IntrospectionRequest {
    /// The resource server's client id.
    pub client_id: ClientId,
    /// Its secret.
    pub secret: PlainSecret,
    /// The token asked about. `token_type_hint` is ignored: Tessera issues
    /// access tokens only.
    pub token: String,
    /// How the resource server authenticated.
    pub method: AuthMethod,
}

/// Parses the body and headers of an introspection request: `token` first,
/// then client authentication, as for the token endpoint.
pub fn parse_introspection(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IntrospectionRequest, Refusal> {
    let method_hint = method_hint(headers);
    let mut params = Params::read(
        body,
        &["token", "token_type_hint", "client_id", "client_secret"],
        method_hint,
    )?;
    let token = params
        .take("token")
        .ok_or_else(|| invalid_request("token is missing", method_hint))?;
    let (method, client_id, secret) = client_credentials(headers, &mut params)?;
    Ok(IntrospectionRequest {
        client_id,
        secret,
        token,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let encoded = STANDARD.encode("my%20client:p%2Bss+word%3A");
        let (id, secret) = basic_credentials(&format!("Basic {encoded}")).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret, "p+ss word:");
    }

    #[test]
    fn malformed_basic_is_none() {
        assert!(basic_credentials("Basic !!!").is_none());
        assert!(basic_credentials(&format!("Basic {}", STANDARD.encode("nocolon"))).is_none());
        assert!(basic_credentials("Bearer abc").is_none());
        assert!(basic_credentials(&format!("Basic {}", STANDARD.encode("a:%ZZ%FF"))).is_none());
    }
}
