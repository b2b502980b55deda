//! A sink that POSTs each event, signed, to an HTTP endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

use super::{EventEnvelope, EventSink, SinkError};
use crate::secrets::SecretStore;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Agentsec-Signature";
/// The header carrying the event's time in unix milliseconds (the same value
/// as the body's signed `at` field, so a receiver can reject stale replays).
pub const TIMESTAMP_HEADER: &str = "X-Agentsec-Timestamp";

/// Where and how a [`WebhookSink`] delivers.
///
/// ```
/// use agentsec_runtime::trace::WebhookConfig;
/// let config = WebhookConfig::new("https://siem.example/hooks/agentsec", "webhook_hmac_key");
/// assert_eq!(config.max_attempts, 5);
/// ```
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The endpoint events are POSTed to.
    pub url: String,
    /// The name of the HMAC key in the secret store (read for every
    /// delivery, so a rotated key takes effect without a restart).
    pub secret_name: String,
    /// Events waiting for delivery; past this, new events are dropped and counted.
    pub queue_capacity: usize,
    /// Attempts per event, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles per retry.
    pub initial_backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// The timeout of one attempt.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Defaults: a queue of 1024, 5 attempts, backoff from 200 ms to 10 s,
    /// 10 s per attempt.
    pub fn new(url: impl Into<String>, secret_name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret_name: secret_name.into(),
            queue_capacity: 1024,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Counters of a [`WebhookSink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Events the endpoint accepted (2xx).
    pub delivered: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Events given up on: attempts exhausted, a 4xx answer, or no key.
    pub failed: u64,
    /// HTTP attempts made, retries included.
    pub attempts: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    attempts: AtomicU64,
}

enum Command {
    Deliver(EventEnvelope),
    Flush(oneshot::Sender<()>),
}

/// POSTs every event as JSON (an [`EventEnvelope`]) to a webhook, signed
/// with an HMAC key from the secret store.
///
/// Headers: `Content-Type: application/json`, [`SIGNATURE_HEADER`]
/// (`sha256=<hex HMAC-SHA256 of the body>`, see [`sign_body`]) and
/// [`TIMESTAMP_HEADER`]. Failed attempts (network errors, timeouts, 5xx, 408,
/// 429) are retried with exponential backoff; other answers are final.
/// Delivery happens on a background task fed by a bounded queue, one event
/// at a time in publication order, so [`EventSink::publish`] never waits:
/// when the queue is full the event is dropped and counted
/// ([`WebhookStats::dropped`]). Redirects are not followed, so a signed
/// event goes only where it was configured to.
///
/// ```no_run
/// use std::sync::Arc;
/// use agentsec_runtime::secrets::MemorySecretStore;
/// use agentsec_runtime::trace::{EventBus, WebhookConfig, WebhookSink};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let secrets = Arc::new(MemorySecretStore::new().with("webhook_key", "a long random key"));
/// let webhook = WebhookSink::spawn(WebhookConfig::new("https://siem.example/hook", "webhook_key"), secrets)?;
/// let bus = EventBus::default().with(webhook.clone());
/// # let _ = bus;
/// // ... at shutdown:
/// webhook.flush().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebhookSink {
    queue: mpsc::Sender<Command>,
    counters: Arc<Counters>,
}

impl WebhookSink {
    /// Starts the delivery task with a default HTTP client (rustls with the
    /// system's roots when the `tls` feature is on).
    pub fn spawn(config: WebhookConfig, secrets: Arc<dyn SecretStore>) -> Result<Self, SinkError> {
        let client = default_client(config.timeout)?;
        Self::spawn_with_client(config, secrets, client)
    }

    /// Starts the delivery task with `client`. Its own redirect policy
    /// applies; the default client follows none.
    pub fn spawn_with_client(
        config: WebhookConfig,
        secrets: Arc<dyn SecretStore>,
        client: reqwest::Client,
    ) -> Result<Self, SinkError> {
        let url =
            reqwest::Url::parse(&config.url).map_err(|e| SinkError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SinkError::InvalidUrl(format!(
                "unsupported scheme `{}`",
                url.scheme()
            )));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SinkError::NoRuntime)?;
        let (queue, commands) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            url,
            config,
            secrets,
            client,
            counters: counters.clone(),
        };
        runtime.spawn(worker.run(commands));
        Ok(Self { queue, counters })
    }

    /// The counters so far.
    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            attempts: self.counters.attempts.load(Ordering::Relaxed),
        }
    }

    /// Waits until every event queued before this call has been delivered
    /// or given up on (for shutdown and tests).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl EventSink for WebhookSink {
    fn publish(&self, envelope: &EventEnvelope) {
        if self
            .queue
            .try_send(Command::Deliver(envelope.clone()))
            .is_err()
        {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "agentsec::security", kind = envelope.event.kind(), "webhook queue full: event dropped");
        }
    }
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("stats", &self.stats())
            .finish()
    }
}

/// `sha256=<hex HMAC-SHA256 of body under key>`: the value of
/// [`SIGNATURE_HEADER`]. A receiver recomputes it over the raw body it got
/// and compares in constant time.
///
/// ```
/// use agentsec_runtime::trace::sign_body;
/// // RFC 4231 test case 2.
/// assert_eq!(
///     sign_body(b"Jefe", b"what do ya want for nothing?"),
///     "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
/// );
/// ```
pub fn sign_body(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Worker {
    url: reqwest::Url,
    config: WebhookConfig,
    secrets: Arc<dyn SecretStore>,
    client: reqwest::Client,
    counters: Arc<Counters>,
}

/// How one attempt ended.
enum Attempt {
    Delivered,
    Retry(String),
    GiveUp(String),
}

impl Worker {
    async fn run(self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Deliver(envelope) => self.deliver(&envelope).await,
                Command::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn deliver(&self, envelope: &EventEnvelope) {
        let body = match serde_json::to_vec(envelope) {
            Ok(body) => body,
            Err(error) => return self.give_up(envelope, &format!("encoding failed: {error}")),
        };
        let mut backoff = self.config.initial_backoff;
        let attempts = self.config.max_attempts.max(1);
        for attempt in 1..=attempts {
            match self.attempt(envelope, &body).await {
                Attempt::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Attempt::GiveUp(why) => return self.give_up(envelope, &why),
                Attempt::Retry(why) if attempt == attempts => {
                    return self.give_up(
                        envelope,
                        &format!("{attempts} attempts failed, last: {why}"),
                    );
                }
                Attempt::Retry(why) => {
                    tracing::debug!(target: "agentsec::security", attempt, %why, "webhook delivery failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }

    async fn attempt(&self, envelope: &EventEnvelope, body: &[u8]) -> Attempt {
        let key = match self.secrets.get(&self.config.secret_name).await {
            Ok(Some(key)) => key,
            Ok(None) => {
                return Attempt::GiveUp(format!("secret `{}` not found", self.config.secret_name));
            }
            Err(error) => return Attempt::Retry(error.to_string()),
        };
        let signature = sign_body(key.expose_secret().as_bytes(), body);
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .client
            .post(self.url.clone())
            .timeout(self.config.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, envelope.at.0.to_string())
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Attempt::Delivered
                } else if status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Attempt::Retry(format!("HTTP {status}"))
                } else {
                    Attempt::GiveUp(format!("HTTP {status}"))
                }
            }
            // Errors carry the URL but never the headers, so no signature leaks here.
            Err(error) => Attempt::Retry(error.to_string()),
        }
    }

    fn give_up(&self, envelope: &EventEnvelope, why: &str) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(target: "agentsec::security", kind = envelope.event.kind(), %why, "webhook delivery gave up");
    }
}

/// A client that follows no redirects, with rustls on `ring` and the
/// operating system's roots when the `tls` feature is on.
fn default_client(timeout: Duration) -> Result<reqwest::Client, SinkError> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout);
    #[cfg(feature = "tls")]
    let builder =
        builder.tls_backend_preconfigured(crate::tls::client_config().map_err(SinkError::Client)?);
    builder
        .build()
        .map_err(|e| SinkError::Client(e.to_string()))
}
