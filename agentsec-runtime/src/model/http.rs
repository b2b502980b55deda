//! What the HTTP providers share: configuration, the API key from the
//! secret store, and one POST with timeouts, retries and a bounded body.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::ModelError;
use super::retry::{RetryPolicy, is_retryable_status, parse_retry_after, parse_retry_after_ms};
use crate::secrets::SecretStore;

/// The longest provider error message kept in a [`ModelError`].
const MAX_ERROR_MESSAGE_CHARS: usize = 1_000;

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
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| ModelError::Config(format!("TLS setup failed: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// How one attempt went, short of a usable answer.
enum AttemptError {
    Status {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    Timeout,
    Transport(String),
    TooLarge,
}

impl HttpEndpoint {
    /// The model to ask for: the request's, else the configured one.
    pub(crate) fn model_for(&self, requested: Option<&str>) -> Result<String, ModelError> {
        requested
            .or(self.model.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| {
                ModelError::Config(format!("{}: no model configured or requested", self.name))
            })
    }

    async fn api_key(&self) -> Result<Option<SecretString>, ModelError> {
        let Some(source) = &self.key else {
            return Ok(None);
        };
        match source.store.get(&source.secret).await {
            Ok(Some(key)) => Ok(Some(key)),
            Ok(None) => Err(ModelError::MissingKey {
                provider: self.name.clone(),
                secret: source.secret.clone(),
            }),
            Err(source) => Err(ModelError::Secret {
                provider: self.name.clone(),
                source,
            }),
        }
    }

    fn auth_header(&self, key: &SecretString) -> Result<(HeaderName, HeaderValue), ModelError> {
        let invalid = || {
            ModelError::Config(format!(
                "{}: the API key is not a valid header value",
                self.name
            ))
        };
        let (name, value) = match &self.auth {
            AuthHeader::Bearer => (
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())),
            ),
            AuthHeader::Header(name) => (
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?,
                HeaderValue::from_str(key.expose_secret()),
            ),
        };
        let mut value = value.map_err(|_| invalid())?;
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// POSTs `body` to `path` (relative to the base URL) with `headers`,
    /// retrying per the policy, and returns the successful body.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &Value,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Vec<u8>, ModelError> {
        let key = self.api_key().await?;
        let auth = key.as_ref().map(|k| self.auth_header(k)).transpose()?;
        let scrub = |text: String| match &key {
            Some(key) if !key.expose_secret().is_empty() => {
                text.replace(key.expose_secret(), "[REDACTED]")
            }
            _ => text,
        };
        let payload = serde_json::to_vec(body)
            .map_err(|e| ModelError::Config(format!("the request could not be encoded: {e}")))?;
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base_url, path))
            .map_err(|e| ModelError::Config(format!("invalid request URL: {e}")))?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        let mut attempt: u32 = 0;
        loop {
            let error = match self.attempt(&url, &payload, auth.as_ref(), headers).await {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            let attempts = attempt.saturating_add(1);
            let (retryable, retry_after) = match &error {
                AttemptError::Status {
                    status,
                    retry_after,
                    ..
                } => (is_retryable_status(*status), *retry_after),
                AttemptError::Timeout | AttemptError::Transport(_) => (true, None),
                AttemptError::TooLarge => (false, None),
            };
            if retryable && attempt < self.retry.max_retries {
                let wait = self.retry.delay(attempt, retry_after);
                tracing::warn!(
                    provider = %self.name,
                    attempt = attempts,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "model request failed, retrying"
                );
                tokio::time::sleep(wait).await;
                attempt = attempts;
                continue;
            }
            let provider = self.name.clone();
            return Err(match error {
                AttemptError::Status {
                    status: 429,
                    retry_after,
                    message,
                } => ModelError::RateLimited {
                    provider,
                    attempts,
                    retry_after,
                    message: scrub(message),
                },
                AttemptError::Status {
                    status, message, ..
                } => ModelError::Status {
                    provider,
                    status,
                    message: scrub(message),
                },
                AttemptError::Timeout => ModelError::Timeout {
                    provider,
                    timeout: self.timeout,
                    attempts,
                },
                AttemptError::Transport(message) => ModelError::Transport {
                    provider,
                    message: scrub(message),
                },
                AttemptError::TooLarge => ModelError::Malformed {
                    provider,
                    message: format!("the body exceeds {} bytes", self.max_response_bytes),
                },
            });
        }
    }

    async fn attempt(
        &self,
        url: &reqwest::Url,
        payload: &[u8],
        auth: Option<&(HeaderName, HeaderValue)>,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Vec<u8>, AttemptError> {
        let mut request = self
            .client
            .post(url.clone())
            .timeout(self.timeout)
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_vec());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        if response
            .content_length()
            .is_some_and(|len| len > self.max_response_bytes as u64)
        {
            return Err(AttemptError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len().saturating_add(chunk.len()) > self.max_response_bytes {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(AttemptError::Status {
                status,
                retry_after,
                message: error_message(&body),
            })
        }
    }
}

fn transport_error(error: reqwest::Error) -> AttemptError {
    if error.is_timeout() {
        return AttemptError::Timeout;
    }
    // reqwest's own message is terse; the causes say what actually failed.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    AttemptError::Transport(message)
}

/// The wait a response asks for: OpenAI's `retry-after-ms`, else the
/// standard `Retry-After`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    text("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| text("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())))
}

/// The provider's error message: `error.message` (OpenAI and Anthropic
/// alike), `error` as a string, `message`, or else the start of the body.
pub(crate) fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|json| {
        json.pointer("/error/message")
            .or_else(|| json.get("error").filter(|e| e.is_string()))
            .or_else(|| json.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let message = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    let message = if message.is_empty() {
        "(empty body)".to_owned()
    } else {
        message
    };
    truncate_chars(message, MAX_ERROR_MESSAGE_CHARS)
}

fn truncate_chars(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The builder methods both HTTP clients share; expanded inside each
/// builder's `impl`, which has an `http: HttpSettings` field.
macro_rules! http_builder_methods {
    () => {
        /// The provider's name, used in errors and traces.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.http.name = Some(name.into());
            self
        }

        /// The API's base URL (for a local server, a gateway or a proxy).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.http.base_url = Some(url.into());
            self
        }

        /// The model used when a request names none.
        pub fn model(mut self, model: impl Into<String>) -> Self {
            self.http.model = Some(model.into());
            self
        }

        /// Reads the API key from secret `secret` of `store`, for every
        /// request (bring your own key). Without it no key is sent, which
        /// suits local servers.
        pub fn api_key_secret(
            mut self,
            secret: impl Into<String>,
            store: std::sync::Arc<dyn $crate::secrets::SecretStore>,
        ) -> Self {
            self.http.key = Some($crate::model::http::KeySource {
                secret: secret.into(),
                store,
            });
            self
        }

        /// How the key is sent (Azure-style gateways use `api-key`).
        pub fn auth_header(mut self, auth: $crate::model::AuthHeader) -> Self {
            self.http.auth = Some(auth);
            self
        }

        /// The timeout of one request attempt, body included.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.timeout = timeout;
            self
        }

        /// The retry policy for rate limits, server errors and timeouts.
        pub fn retry(mut self, retry: $crate::model::RetryPolicy) -> Self {
            self.http.retry = retry;
            self
        }

        /// A header sent with every request (organisation, project, gateway routing).
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.http.headers.push((name.into(), value.into()));
            self
        }

        /// A query parameter sent with every request (Azure's `api-version`).
        pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.http.query.push((name.into(), value.into()));
            self
        }

        /// The largest response body accepted (8 MiB by default).
        pub fn max_response_bytes(mut self, max: usize) -> Self {
            self.http.max_response_bytes = max;
            self
        }

        /// Uses this reqwest client (custom roots, proxies) instead of the
        /// default one. The timeout is still applied per request.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.http.client = Some(client);
            self
        }
    };
}

pub(crate) use http_builder_methods;
