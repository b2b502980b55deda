//! What the HTTP providers share: configuration, the API key from the
//! secret store, and one POST with timeouts, retries and a bounded body.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::ModelError;
use super::retry::RetryPolicy;
use crate::secrets::SecretStore;

mod builder;
mod send;

pub(crate) use builder::http_builder_methods;

/// How the API key is sent to the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthHeader {
    /// `Authorization: Bearer <key>` (OpenAI and most compatible servers).
    Bearer,
    /// `<name>: <key>` (Anthropic's `x-api-key`, Azure-style `api-key`).
    Header(String),
}

/// Where the API key comes from: a secret's name in a store. The key is read
/// for every request, so a rotated key is picked up without a restart.
#[derive(Clone)]
pub(crate) struct KeySource {
    pub(crate) secret: String,
    pub(crate) store: Arc<dyn SecretStore>,
}

/// The settings both HTTP client builders collect.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    pub(crate) name: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) key: Option<KeySource>,
    pub(crate) auth: Option<AuthHeader>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) max_response_bytes: usize,
    pub(crate) client: Option<reqwest::Client>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            name: None,
            base_url: None,
            model: None,
            key: None,
            auth: None,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            headers: Vec::new(),
            query: Vec::new(),
            max_response_bytes: 8 * 1024 * 1024,
            client: None,
        }
    }
}

/// Defaults a provider fills in for what the builder left unset.
pub(crate) struct ProviderDefaults {
    pub(crate) name: &'static str,
    pub(crate) base_url: &'static str,
    pub(crate) auth: AuthHeader,
}

/// A built HTTP endpoint.
pub(crate) struct HttpEndpoint {
    pub(crate) name: String,
    pub(crate) base_url: String,
    pub(crate) model: Option<String>,
    key: Option<KeySource>,
    auth: AuthHeader,
    timeout: Duration,
    retry: RetryPolicy,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    max_response_bytes: usize,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("key_secret", &self.key.as_ref().map(|k| k.secret.as_str()))
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpSettings {
    pub(crate) fn build(self, defaults: ProviderDefaults) -> Result<HttpEndpoint, ModelError> {
        let base_url = self
            .base_url
            .unwrap_or_else(|| defaults.base_url.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|e| ModelError::Config(format!("invalid base URL `{base_url}`: {e}")))?;
        match url.scheme() {
            "http" => {}
            "https" if cfg!(feature = "tls") => {}
            "https" => {
                return Err(ModelError::Config(format!(
                    "`{base_url}` needs HTTPS, but agentsec-runtime was built without its `tls` feature"
                )));
            }
            other => {
                return Err(ModelError::Config(format!(
                    "unsupported URL scheme `{other}`"
                )));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ModelError::Config(format!("invalid header name `{name}`")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ModelError::Config(format!("invalid value for header `{name}`")))?;
            headers.append(header, value);
        }
        let auth = self.auth.unwrap_or(defaults.auth);
        if let AuthHeader::Header(name) = &auth {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ModelError::Config(format!("invalid auth header name `{name}`")))?;
        }
        let client = match self.client {
            Some(client) => client,
            None => default_client()?,
        };
        Ok(HttpEndpoint {
            name: self.name.unwrap_or_else(|| defaults.name.to_owned()),
            base_url,
            model: self.model,
            key: self.key,
            auth,
            timeout: self.timeout,
            retry: self.retry,
            headers,
            query: self.query,
            max_response_bytes: self.max_response_bytes,
            client,
        })
    }
}

/// A reqwest client speaking HTTP/1.1, with rustls on `ring` and the
/// operating system's roots when the `tls` feature is on. The TLS config is
/// passed explicitly so no process-wide crypto provider has to be installed.
fn default_client() -> Result<reqwest::Client, ModelError> {
    let builder = reqwest::Client::builder();
    #[cfg(feature = "tls")]
    let builder = builder.tls_backend_preconfigured(tls_config()?);
    builder
        .build()
        .map_err(|e| ModelError::Config(format!("building the HTTP client failed: {e}")))
}

#[cfg(feature = "tls")]
fn tls_config() -> Result<rustls::ClientConfig, ModelError> {
    crate::tls::client_config().map_err(ModelError::Config)
}
