//! The OpenAI-compatible client against a local server that fails:
//! provider errors, rate limits, server errors, malformed bodies, timeouts,
//! refused connections, and the API key's handling.

mod http_support;
mod model_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentsec_runtime::model::{ModelError, ModelProvider, OpenAiClient, RetryPolicy};
use agentsec_runtime::secrets::MemorySecretStore;
use http_support::{Reply, TestServer};
use model_support::fast_retry;
use model_support::openai::{KEY, client, completion, hello};
use serde_json::json;

#[tokio::test]
async fn provider_errors_are_not_retried_and_surface_the_message() {
    let server = TestServer::scripted(vec![Reply::json(
        400,
        json!({"error": {"message": "Invalid schema for function 'refund_order'", "type": "invalid_request_error"}}),
    )])
    .await;
    let error = client(&server, fast_retry(3))
        .complete(&hello())
        .await
        .unwrap_err();
    match &error {
        ModelError::Status {
            provider,
            status,
            message,
        } => {
            assert_eq!(provider, "openai");
            assert_eq!(*status, 400);
            assert_eq!(message, "Invalid schema for function 'refund_order'");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!error.is_transient());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_key_echoed_by_the_provider_never_reaches_the_error() {
    let server = TestServer::scripted(vec![Reply::json(
        401,
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}.")}}),
    )])
    .await;
    let error = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(
        shown.contains("Incorrect API key provided: [REDACTED]."),
        "{shown}"
    );

    // A body that is not a completion and quotes the key: the decoder's
    // message would repeat it.
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": KEY}}),
    )])
    .await;
    let error = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(matches!(error, ModelError::Malformed { .. }), "{shown}");
    assert!(
        !shown.contains(KEY) && shown.contains("[REDACTED]"),
        "{shown}"
    );
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_retries() {
    let server = TestServer::scripted(vec![
        Reply::json(429, json!({"error": {"message": "Rate limit reached"}}))
            .with_header("retry-after", "1"),
        Reply::json(200, completion(json!({"content": "done"}), "stop")),
    ])
    .await;
    // Backoff alone would wait at most 2 ms; only the header explains a 1 s wait.
    let retry = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(5));
    let started = Instant::now();
    let response = client(&server, retry).complete(&hello()).await.unwrap();
    assert_eq!(response.content.as_deref(), Some("done"));
    assert_eq!(server.request_count(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn retry_after_is_capped_by_the_policy() {
    let server = TestServer::scripted(vec![
        Reply::json(429, json!({"error": {"message": "slow down"}}))
            .with_header("retry-after", "3600"),
        Reply::json(200, completion(json!({"content": "done"}), "stop")),
    ])
    .await;
    let retry = RetryPolicy::new(1, Duration::from_millis(1), Duration::from_millis(20));
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        client(&server, retry).complete(&hello()),
    )
    .await
    .expect("the one-hour Retry-After was not capped");
    assert!(outcome.is_ok());
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn rate_limit_that_persists_is_reported_with_the_last_retry_after() {
    let limited = || {
        Reply::json(429, json!({"error": {"message": "quota"}})).with_header("retry-after-ms", "3")
    };
    let server = TestServer::scripted(vec![limited(), limited(), limited()]).await;
    let error = client(&server, fast_retry(2))
        .complete(&hello())
        .await
        .unwrap_err();
    match error {
        ModelError::RateLimited {
            attempts,
            retry_after,
            message,
            ..
        } => {
            assert_eq!(attempts, 3);
            assert_eq!(retry_after, Some(Duration::from_millis(3)));
            assert_eq!(message, "quota");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = TestServer::scripted(vec![
        Reply::raw(500, "internal error"),
        Reply::json(502, json!({"error": {"message": "bad gateway"}})),
        Reply::json(200, completion(json!({"content": "ok"}), "stop")),
    ])
    .await;
    let response = client(&server, fast_retry(3))
        .complete(&hello())
        .await
        .unwrap();
    assert_eq!(response.content.as_deref(), Some("ok"));
    assert_eq!(server.request_count(), 3);

    let server = TestServer::scripted(vec![Reply::raw(503, "down"); 3]).await;
    let error = client(&server, fast_retry(2))
        .complete(&hello())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::Status { status: 503, message, .. } if message == "down"),
        "{error:?}"
    );
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn malformed_bodies_are_errors_not_panics() {
    let bodies = [
        "not json at all",
        "",
        "{\"choices\": []}",
        "{\"object\": \"chat.completion\"}",
        "{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {\"arguments\": \"{}\"}}]}}]}",
        "{\"choices\": [{\"message\": {\"content\": \"x\"}}], \"usage\": {\"prompt_tokens\": \"many\"}}",
    ];
    for body in bodies {
        let server = TestServer::scripted(vec![Reply::raw(200, body)]).await;
        let error = client(&server, fast_retry(3))
            .complete(&hello())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ModelError::Malformed { .. }),
            "{body}: {error:?}"
        );
        assert_eq!(
            server.request_count(),
            1,
            "{body}: a malformed body is not retried"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let big = completion(json!({"content": "x".repeat(10_000)}), "stop");
    let server = TestServer::scripted(vec![Reply::json(200, big)]).await;
    let client = OpenAiClient::builder()
        .base_url(&server.base)
        .model("m")
        .max_response_bytes(1_000)
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(matches!(error, ModelError::Malformed { .. }), "{error:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_after_the_retries() {
    let stall = Reply::Stall(Duration::from_secs(5));
    let server = TestServer::scripted(vec![stall.clone(), stall]).await;
    let client = OpenAiClient::builder()
        .base_url(&server.base)
        .model("m")
        .timeout(Duration::from_millis(200))
        .retry(fast_retry(1))
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    match error {
        ModelError::Timeout {
            attempts, timeout, ..
        } => {
            assert_eq!(attempts, 2);
            assert_eq!(timeout, Duration::from_millis(200));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = OpenAiClient::builder()
        .base_url(format!("http://{addr}"))
        .model("m")
        .retry(fast_retry(1))
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(matches!(error, ModelError::Transport { .. }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_missing_key_sends_nothing() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(json!({"content": "x"}), "stop"),
    )])
    .await;
    let client = OpenAiClient::builder()
        .base_url(&server.base)
        .model("m")
        .api_key_secret("not_there", Arc::new(MemorySecretStore::new()))
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(
        matches!(&error, ModelError::MissingKey { secret, .. } if secret == "not_there"),
        "{error:?}"
    );
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn the_key_is_read_per_request_and_never_shown() {
    let store = Arc::new(MemorySecretStore::new().with("openai_key", "sk-first-key-0000000000"));
    let ok = || Reply::json(200, completion(json!({"content": "x"}), "stop"));
    let server = TestServer::scripted(vec![ok(), ok()]).await;
    let client = OpenAiClient::builder()
        .base_url(&server.base)
        .model("m")
        .api_key_secret("openai_key", store.clone())
        .build()
        .unwrap();
    client.complete(&hello()).await.unwrap();
    store.insert("openai_key", "sk-rotated-key-1111111111");
    client.complete(&hello()).await.unwrap();
    let auth: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        auth,
        [
            "Bearer sk-first-key-0000000000",
            "Bearer sk-rotated-key-1111111111"
        ]
    );
    let debug = format!("{client:?}");
    assert!(
        debug.contains("openai_key") && !debug.contains("sk-"),
        "{debug}"
    );
}

/// The TLS stack (rustls on ring) is wired in: an HTTPS request to a server
/// that answers in plain text fails cleanly as a transport error.
#[cfg(feature = "tls")]
#[tokio::test]
async fn https_to_a_server_without_tls_is_a_transport_error() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        if let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    let client = OpenAiClient::builder()
        .base_url(format!("https://{addr}"))
        .model("m")
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(matches!(error, ModelError::Transport { .. }), "{error:?}");
    server.abort();
}
