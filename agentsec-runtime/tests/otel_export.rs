//! OpenTelemetry export: spans emitted through the layer arrive at a local
//! OTLP/HTTP receiver as protobuf, with their names, nesting and attributes.
#![cfg(feature = "otel")]

mod http_support;

use std::collections::HashMap;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::trace::otel;
use http_support::TestServer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tracing_subscriber::layer::SubscriberExt;

fn string_attrs(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv
                .value
                .as_ref()
                .and_then(|v: &AnyValue| v.value.as_ref())?
            {
                any_value::Value::StringValue(s) => s.clone(),
                any_value::Value::IntValue(i) => i.to_string(),
                any_value::Value::BoolValue(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

/// Only requests to the traces path are accepted, as a collector would.
fn collector(request: &http_support::Recorded, _: usize) -> u16 {
    if request.method == "POST" && request.target == "/v1/traces" {
        200
    } else {
        404
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_attributes_arrive_over_otlp_http() {
    let receiver = TestServer::with_status(collector).await;
    let endpoint = format!("{}/v1/traces", receiver.base);
    let (layer, exporter) = otel::layer(&endpoint, "agentsec-test").unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);

    let run_id = RunId::new();
    let call_id = CallId::new();
    tracing::subscriber::with_default(subscriber, || {
        let run = tracing::info_span!(
            "agent.run",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "support",
            run_id = %run_id,
            user = "alice",
        );
        let _run = run.enter();
        let call = tracing::info_span!(
            "tool.call",
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = "refund_order",
            run_id = %run_id,
            call_id = %call_id,
            step = 2u64,
        );
        let _call = call.enter();
    });

    let flushing = exporter.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .unwrap()
        .unwrap();

    let requests = receiver.requests();
    assert!(!requests.is_empty(), "nothing was exported");
    let mut spans: Vec<Span> = Vec::new();
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/v1/traces");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
        let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
        for resource_spans in export.resource_spans {
            let resource = resource_spans.resource.expect("a resource");
            assert_eq!(
                string_attrs(&resource.attributes)
                    .get("service.name")
                    .map(String::as_str),
                Some("agentsec-test")
            );
            for scope_spans in resource_spans.scope_spans {
                assert_eq!(
                    scope_spans.scope.as_ref().map(|s| s.name.as_str()),
                    Some(otel::SCOPE)
                );
                spans.extend(scope_spans.spans);
            }
        }
    }
    let by_name: HashMap<&str, &Span> = spans.iter().map(|s| (s.name.as_str(), s)).collect();
    assert_eq!(spans.len(), 2, "{:?}", by_name.keys());
    let run = by_name["agent.run"];
    let call = by_name["tool.call"];

    let run_attrs = string_attrs(&run.attributes);
    assert_eq!(run_attrs["gen_ai.operation.name"], "invoke_agent");
    assert_eq!(run_attrs["gen_ai.agent.name"], "support");
    assert_eq!(run_attrs["run_id"], run_id.to_string());
    assert_eq!(run_attrs["user"], "alice");

    let call_attrs = string_attrs(&call.attributes);
    assert_eq!(call_attrs["gen_ai.operation.name"], "execute_tool");
    assert_eq!(call_attrs["gen_ai.tool.name"], "refund_order");
    assert_eq!(call_attrs["run_id"], run_id.to_string());
    assert_eq!(call_attrs["call_id"], call_id.to_string());
    assert_eq!(call_attrs["step"], "2");

    // The tool call is a child of the run, in the same trace.
    assert_eq!(call.trace_id, run.trace_id);
    assert_eq!(call.parent_span_id, run.span_id);
    assert!(run.parent_span_id.is_empty());
    assert!(run.end_time_unix_nano >= call.end_time_unix_nano);

    tokio::task::spawn_blocking(move || exporter.shutdown())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_refuses_is_reported_by_flush() {
    // A receiver that answers 404 on every path: the export fails, and the
    // failure reaches the caller instead of vanishing.
    let receiver = TestServer::with_status(|_, _| 404).await;
    let (layer, exporter) = otel::layer(&format!("{}/v1/traces", receiver.base), "t").unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let _span = tracing::info_span!("agent.run", run_id = "run_x").entered();
    });
    let flushing = exporter.clone();
    let flushed = tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .unwrap();
    assert!(
        matches!(flushed, Err(otel::OtelError::Export(_))),
        "{flushed:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
    let _ = tokio::task::spawn_blocking(move || exporter.shutdown()).await;
}

#[test]
fn a_malformed_endpoint_is_an_error() {
    let result = otel::layer::<tracing_subscriber::Registry>("not a url \u{0}", "t");
    assert!(matches!(result, Err(otel::OtelError::Build(_))));
}
