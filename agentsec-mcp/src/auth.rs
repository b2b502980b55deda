//! Who calls over HTTP: an OAuth 2.1 bearer token, verified like a session
//! token, for this server as its audience (MCP authorization, 2025-11-25;
//! RFC 6750 challenges; RFC 9728 protected-resource metadata).

use std::sync::Arc;

use agentsec_runtime::identity::{
    AuthError, JwtAuthenticator, JwtAuthenticatorBuilder, UserIdentity,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The path of the RFC 9728 protected-resource metadata.
pub(crate) const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The caller of one HTTP request, verified from its bearer token. The
/// server's handler reads it from the request; tools see it as the call's
/// user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(UserIdentity);

impl Caller {
    /// The verified user.
    pub fn user(&self) -> &UserIdentity {
        &self.0
    }
}

/// How an MCP server over HTTP authenticates its callers.
///
/// The server is an OAuth 2.1 resource server: each request carries
/// `Authorization: Bearer <access token>`, a JWT verified by the runtime's
/// [`JwtAuthenticator`] (pinned algorithm, issuer, expiry) with this
/// server's resource URL as the required audience, so a token minted for
/// another server is refused. The token's subject is the caller.
///
/// - no token: `401` with `WWW-Authenticate: Bearer resource_metadata="…"`;
/// - a token that does not verify (expired, wrong audience or issuer, bad
///   signature): `401` with `error="invalid_token"`;
/// - a valid token without the [required role](Self::require_role): `403`
///   with `error="insufficient_scope"`.
///
/// The RFC 9728 metadata names the resource and its authorization servers.
///
/// ```
/// use agentsec_mcp::HttpAuth;
/// use agentsec_runtime::identity::{JwtAlgorithm, JwtAuthenticator};
///
/// let auth = HttpAuth::new(
///     "https://mcp.example.com/mcp",
///     JwtAuthenticator::builder(JwtAlgorithm::Hs256)
///         .issuer("https://auth.example.com")
///         .hmac_secret(b"an-hs256-secret-of-at-least-32-bytes!!"),
/// )
/// .unwrap()
/// .authorization_server("https://auth.example.com");
/// assert_eq!(
///     auth.metadata_url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(auth.metadata()["authorization_servers"][0], "https://auth.example.com");
/// ```
#[derive(Clone)]
pub struct HttpAuth {
    authenticator: Arc<JwtAuthenticator>,
    resource: String,
    path: String,
    metadata_url: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    required_role: Option<String>,
}

/// Why a request was refused before reaching the server.
#[derive(Debug)]
pub(crate) struct Challenge {
    status: StatusCode,
    error: Option<&'static str>,
    description: Option<String>,
    scope: Option<String>,
    metadata_url: String,
}

impl HttpAuth {
    /// Authentication for the MCP endpoint at `resource` (an absolute
    /// `https://` or `http://` URL without query or fragment, e.g.
    /// `https://mcp.example.com/mcp`), verifying tokens with `tokens` — to
    /// which `resource` is added as the audience.
    pub fn new(
        resource: impl Into<String>,
        tokens: JwtAuthenticatorBuilder,
    ) -> Result<Self, AuthError> {
        let resource = resource.into();
        let (origin, path) = split_resource(&resource).map_err(AuthError::Config)?;
        let authenticator = tokens.audience(resource.clone()).build()?;
        let metadata_url = if path == "/" {
            format!("{origin}{METADATA_PATH}")
        } else {
            format!("{origin}{METADATA_PATH}{path}")
        };
        Ok(Self {
            authenticator: Arc::new(authenticator),
            resource,
            path,
            metadata_url,
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            required_role: None,
        })
    }

    /// Adds an authorization server (its issuer URL) to the metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Adds a scope to the metadata's `scopes_supported`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Requires every caller to have `role` (the authenticator's roles
    /// claim); a valid token without it is refused with `403`
    /// `insufficient_scope`, naming `role` as the scope needed.
    pub fn require_role(mut self, role: impl Into<String>) -> Self {
        self.required_role = Some(role.into());
        self
    }

    /// The resource URL (the audience tokens must name).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path of the MCP endpoint in the resource URL (`/mcp`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the protected-resource metadata is published.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The RFC 9728 protected-resource metadata document.
    pub fn metadata(&self) -> Value {
        let mut document = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes.is_empty() {
            document["scopes_supported"] = json!(self.scopes);
        }
        document
    }

    /// The caller of a request with `headers`, or why it is refused.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Challenge> {
        let challenge = |status, error, description: Option<String>| Challenge {
            status,
            error,
            description,
            scope: None,
            metadata_url: self.metadata_url.clone(),
        };
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(challenge(StatusCode::UNAUTHORIZED, None, None));
        };
        if values.next().is_some() {
            return Err(challenge(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                Some("more than one Authorization header".into()),
            ));
        }
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(token) = token else {
            // Another scheme is no bearer token at all.
            return Err(challenge(StatusCode::UNAUTHORIZED, None, None));
        };
        let user = match self.authenticator.authenticate(token) {
            Ok(user) => user,
            Err(AuthError::Missing) => return Err(challenge(StatusCode::UNAUTHORIZED, None, None)),
            Err(error) => {
                return Err(challenge(
                    StatusCode::UNAUTHORIZED,
                    Some("invalid_token"),
                    Some(error.to_string()),
                ));
            }
        };
        if let Some(role) = &self.required_role
            && !user.has_role(role)
        {
            return Err(Challenge {
                scope: Some(role.clone()),
                ..challenge(
                    StatusCode::FORBIDDEN,
                    Some("insufficient_scope"),
                    Some(format!("the token does not grant `{role}`")),
                )
            });
        }
        Ok(Caller(user))
    }
}

impl Challenge {
    /// The `WWW-Authenticate` value (RFC 6750 §3, RFC 9728 §5.1).
    fn header_value(&self) -> String {
        let mut value = String::from("Bearer");
        let mut params = Vec::new();
        if let Some(error) = self.error {
            params.push(format!("error=\"{error}\""));
        }
        if let Some(description) = &self.description {
            params.push(format!("error_description=\"{}\"", quotable(description)));
        }
        if let Some(scope) = &self.scope {
            params.push(format!("scope=\"{}\"", quotable(scope)));
        }
        params.push(format!(
            "resource_metadata=\"{}\"",
            quotable(&self.metadata_url)
        ));
        value.push(' ');
        value.push_str(&params.join(", "));
        value
    }
}

impl IntoResponse for Challenge {
    fn into_response(self) -> Response {
        let header_value = HeaderValue::from_str(&self.header_value())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        let body = json!({
            "error": self.error.unwrap_or("unauthorized"),
            "error_description": self.description,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header_value);
        response
    }
}

/// `text` with only the characters RFC 6750 allows in a quoted parameter
/// (printable ASCII but `"` and `\`).
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

/// The origin (`https://host:port`) and the path (`/mcp`, at least `/`) of
/// a resource URL.
fn split_resource(resource: &str) -> Result<(String, String), String> {
    let rest = resource
        .strip_prefix("https://")
        .or_else(|| resource.strip_prefix("http://"))
        .ok_or_else(|| format!("the resource `{resource}` is not an http(s) URL"))?;
    if resource.contains(['?', '#']) {
        return Err(format!(
            "the resource `{resource}` has a query or a fragment"
        ));
    }
    let scheme = &resource[..resource.len() - rest.len()];
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("the resource `{resource}` has no host"));
    }
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    Ok((format!("{scheme}{authority}"), path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_urls_split_into_origin_and_path() {
        assert_eq!(
            split_resource("https://mcp.example.com/mcp").unwrap(),
            ("https://mcp.example.com".into(), "/mcp".into())
        );
        assert_eq!(
            split_resource("http://127.0.0.1:8080").unwrap(),
            ("http://127.0.0.1:8080".into(), "/".into())
        );
        assert!(split_resource("ftp://x/mcp").is_err());
        assert!(split_resource("https://x/mcp?a=1").is_err());
        assert!(split_resource("https:///mcp").is_err());
    }

    #[test]
    fn challenge_text_is_quotable() {
        assert_eq!(quotable("uses `\"x\\`"), "uses `?x?`");
    }
}
