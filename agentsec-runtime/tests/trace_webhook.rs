//! The webhook sink: signed bodies, retries, never blocking the publisher.

mod http_support;

use std::sync::Arc;
use std::time::Duration;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::secrets::MemorySecretStore;
use agentsec_runtime::trace::{
    EventBus, EventEnvelope, SecurityEvent, SinkError, WebhookConfig, WebhookSink,
};
use hmac::{Hmac, Mac};
use http_support::{Recorded, TestServer};
use sha2::Sha256;

const KEY: &str = "whsec-test-key-0123456789";

fn secrets(key: &str) -> Arc<MemorySecretStore> {
    Arc::new(MemorySecretStore::new().with("webhook_key", key))
}

fn config(receiver: &TestServer) -> WebhookConfig {
    WebhookConfig {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        timeout: Duration::from_secs(10),
        ..WebhookConfig::new(format!("{}/hooks/agentsec", receiver.base), "webhook_key")
    }
}

fn denied() -> SecurityEvent {
    SecurityEvent::PermissionDenied {
        run_id: RunId::new(),
        agent: "support".into(),
        user: "alice".into(),
        tool: "refund_order".into(),
        call_id: CallId::new(),
        reason: "payments:write not granted".into(),
    }
}

/// What a receiver does: recompute the HMAC of the raw body with the shared
/// key (independently of the crate's `sign_body`) and compare in constant time.
fn signature_valid(request: &Recorded, key: &str) -> bool {
    let Some(header) = request.header("x-agentsec-signature") else {
        return false;
    };
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(&request.body);
    mac.verify_slice(&sig).is_ok()
}

fn verifying_receiver(key: &'static str) -> impl Fn(&Recorded, usize) -> u16 + Send + Sync {
    move |request, _| {
        if signature_valid(request, key) {
            204
        } else {
            401
        }
    }
}

#[tokio::test]
async fn events_arrive_signed_with_the_key_from_the_secret_store() {
    let receiver = TestServer::with_status(verifying_receiver(KEY)).await;
    let sink = WebhookSink::spawn(config(&receiver), secrets(KEY)).unwrap();
    let bus = EventBus::default().with(sink.clone());
    bus.publish(denied());
    bus.publish(SecurityEvent::KeyRejected {
        key_id: Some("ak_1".into()),
        agent: Some("support".into()),
        reason: "revoked".into(),
    });
    sink.flush().await;

    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.attempts), (2, 0, 2));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/hooks/agentsec");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert!(signature_valid(request, KEY));
    }
    // The body is the envelope; the timestamp header repeats its signed `at`.
    let first: EventEnvelope = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(first.event.kind(), "permission_denied");
    assert_eq!(
        requests[0].header("x-agentsec-timestamp"),
        Some(first.at.0.to_string().as_str())
    );
    let second: EventEnvelope = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(second.event.kind(), "key_rejected");
}

#[tokio::test]
async fn a_sink_holding_the_wrong_key_is_rejected_and_not_retried() {
    let receiver = TestServer::with_status(verifying_receiver(KEY)).await;
    let sink = WebhookSink::spawn(config(&receiver), secrets("not-the-shared-key")).unwrap();
    sink.clone().publish_one(denied());
    sink.flush().await;

    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed), (0, 1));
    // 401 is final: one attempt only.
    assert_eq!(stats.attempts, 1);
    assert_eq!(receiver.requests().len(), 1);
    assert!(!signature_valid(&receiver.requests()[0], KEY));
}

#[tokio::test]
async fn a_tampered_body_fails_verification() {
    let receiver = TestServer::with_status(|_, _| 204).await;
    let sink = WebhookSink::spawn(config(&receiver), secrets(KEY)).unwrap();
    sink.publish_one(denied());
    sink.flush().await;
    let mut request = receiver.requests().remove(0);
    assert!(signature_valid(&request, KEY));
    let text = String::from_utf8(request.body.clone()).unwrap();
    request.body = text.replace("alice", "mallory").into_bytes();
    assert!(!signature_valid(&request, KEY));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_accepted() {
    // 503, 500, then accepted.
    let receiver = TestServer::with_status(|_, index| {
        if index < 2 {
            503 - 3 * index as u16
        } else {
            200
        }
    })
    .await;
    let sink = WebhookSink::spawn(config(&receiver), secrets(KEY)).unwrap();
    sink.publish_one(denied());
    sink.flush().await;

    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.attempts), (1, 0, 3));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // Every retry carries the same signed body.
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn delivery_gives_up_after_max_attempts() {
    let receiver = TestServer::with_status(|_, _| 502).await;
    let sink = WebhookSink::spawn(
        WebhookConfig {
            max_attempts: 4,
            ..config(&receiver)
        },
        secrets(KEY),
    )
    .unwrap();
    sink.publish_one(denied());
    sink.flush().await;
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.attempts), (0, 1, 4));
    assert_eq!(receiver.requests().len(), 4);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_then_given_up() {
    // Bind a port, then close it, so nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let config = WebhookConfig {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..WebhookConfig::new(url, "webhook_key")
    };
    let sink = WebhookSink::spawn(config, secrets(KEY)).unwrap();
    sink.publish_one(denied());
    sink.flush().await;
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.attempts), (0, 1, 3));
}

#[tokio::test]
async fn a_missing_key_sends_nothing() {
    let receiver = TestServer::with_status(|_, _| 204).await;
    let sink = WebhookSink::spawn(config(&receiver), Arc::new(MemorySecretStore::new())).unwrap();
    sink.publish_one(denied());
    sink.flush().await;
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.attempts), (0, 1, 0));
    assert!(receiver.requests().is_empty());
}

/// On a current-thread runtime the delivery task cannot run while the test
/// publishes without awaiting: exactly `queue_capacity` events fit, the rest
/// are dropped and counted, and publishing returned every time.
#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let receiver = TestServer::with_status(verifying_receiver(KEY)).await;
    let sink = WebhookSink::spawn(
        WebhookConfig {
            queue_capacity: 3,
            ..config(&receiver)
        },
        secrets(KEY),
    )
    .unwrap();
    let bus = EventBus::default().with(sink.clone());
    for _ in 0..10 {
        bus.publish(denied());
    }
    assert_eq!(sink.stats().dropped, 7);
    sink.flush().await;
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.dropped), (3, 7));
    assert_eq!(receiver.requests().len(), 3);
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    let result = WebhookSink::spawn(
        WebhookConfig::new("http://127.0.0.1:9/hook", "k"),
        secrets(KEY),
    );
    assert!(matches!(result, Err(SinkError::NoRuntime)));
}

#[tokio::test]
async fn only_http_urls_are_accepted() {
    for url in ["file:///etc/passwd", "not a url", "ftp://example.invalid/x"] {
        let result = WebhookSink::spawn(WebhookConfig::new(url, "k"), secrets(KEY));
        assert!(matches!(result, Err(SinkError::InvalidUrl(_))), "{url}");
    }
}

trait PublishOne {
    fn publish_one(&self, event: SecurityEvent);
}

impl PublishOne for WebhookSink {
    fn publish_one(&self, event: SecurityEvent) {
        agentsec_runtime::trace::EventSink::publish(self, &EventEnvelope::now(event));
    }
}
