//! One POST with the key from the store, a timeout per attempt, retries
//! with backoff and a bounded body.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{AuthHeader, HttpEndpoint};
use crate::model::ModelError;
use crate::model::retry::{is_retryable_status, parse_retry_after, parse_retry_after_ms};

/// The longest provider error message kept in a [`ModelError`].
const MAX_ERROR_MESSAGE_CHARS: usize = 1_000;

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
    /// Decodes a response body with `parse` as a request for the
    /// configured model would (the model names the response when the body
    /// does not); `parse`'s error becomes [`ModelError::Malformed`].
    pub(crate) fn decode<T>(
        &self,
        body: &[u8],
        parse: impl FnOnce(&[u8], &str) -> Result<T, String>,
    ) -> Result<T, ModelError> {
        parse(body, self.model.as_deref().unwrap_or_default()).map_err(|message| {
            ModelError::Malformed {
                provider: self.name.clone(),
                message,
            }
        })
    }

    pub(crate) fn model_for(&self, requested: Option<&str>) -> Result<String, ModelError> {
        requested
            .or(self.model.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| {
                ModelError::Config(format!("{}: no model configured or requested", self.name))
            })
    }

    /// Checks that the configured API key (if any) is readable and usable
    /// as a header, without sending anything.
    pub(crate) async fn check_key(&self) -> Result<(), ModelError> {
        if let Some(key) = self.api_key().await? {
            self.auth_header(&key)?;
        }
        Ok(())
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
    /// retrying per the policy, and decodes the successful body with
    /// `decode`, whose error becomes [`ModelError::Malformed`]. Every message
    /// that ends up in an error has the API key scrubbed out.
    pub(crate) async fn post_json<T>(
        &self,
        path: &str,
        body: &Value,
        headers: &[(HeaderName, HeaderValue)],
        decode: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, ModelError> {
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
                Ok(body) => {
                    return decode(&body).map_err(|message| ModelError::Malformed {
                        provider: self.name.clone(),
                        message: scrub(message),
                    });
                }
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
