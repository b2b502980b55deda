//! OpenTelemetry export of the runtime's `tracing` spans (feature `otel`).
//!
//! Spans go over OTLP/HTTP with protobuf bodies to a collector (the
//! OpenTelemetry Collector, Jaeger, Tempo, a vendor's endpoint), batched by
//! the SDK on a thread of its own, so exporting never runs on the engine's
//! tasks. Span fields become attributes: the runtime's spans carry `run_id`,
//! `agent`, `user`, `step`, `tool`, `prompt_version` and the GenAI semantic
//! conventions' `gen_ai.operation.name`, `gen_ai.tool.name`, ...
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! # fn main() -> Result<(), agentsec_runtime::trace::otel::OtelError> {
//! let (layer, exporter) =
//!     agentsec_runtime::trace::otel::layer("http://127.0.0.1:4318/v1/traces", "support-bot")?;
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     let run = tracing::info_span!("agent.run", gen_ai.operation.name = "invoke_agent", run_id = "run_1");
//!     let _entered = run.enter();
//! });
//! exporter.shutdown()?; // flushes what is still batched
//! # Ok(()) }
//! ```

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

/// The timeout of one export request.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The instrumentation scope spans are reported under.
pub const SCOPE: &str = "agentsec";

/// The `tracing` layer that hands spans to the exporter.
pub type OtelLayer<S> = tracing_opentelemetry::OpenTelemetryLayer<S, Tracer>;

/// Why the export could not be set up, flushed or shut down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The exporter could not be built (a malformed endpoint, ...).
    #[error("building the OTLP exporter failed: {0}")]
    Build(String),
    /// Flushing or shutting down failed (the collector unreachable, a timeout).
    #[error("OTLP export failed: {0}")]
    Export(String),
}

/// The running export pipeline. Keep it for the life of the process and
/// call [`shutdown`](Self::shutdown) at exit (dropping the last clone shuts
/// it down too), or [`force_flush`](Self::force_flush) to send what is
/// batched now. Both block until the collector answered or timed out: from
/// async code, call them inside `tokio::task::spawn_blocking`.
#[derive(Clone, Debug)]
pub struct OtelExporter {
    provider: SdkTracerProvider,
}

impl OtelExporter {
    /// Starts exporting to `endpoint`, the full URL of the collector's traces
    /// endpoint (`http://host:4318/v1/traces`), with resource attribute
    /// `service.name = service_name`.
    pub fn new(endpoint: &str, service_name: &str) -> Result<Self, OtelError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(blocking_client()?)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| OtelError::Build(e.to_string()))?;
        let resource = Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(Self { provider })
    }

    /// A `tracing` layer feeding this exporter; add it to a subscriber
    /// (`tracing_subscriber::registry().with(layer)`).
    pub fn layer<S>(&self) -> OtelLayer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer(SCOPE))
    }

    /// Exports every finished span now.
    pub fn force_flush(&self) -> Result<(), OtelError> {
        self.provider
            .force_flush()
            .map_err(|e| OtelError::Export(e.to_string()))
    }

    /// Flushes and stops the pipeline; spans ended after it are dropped.
    pub fn shutdown(&self) -> Result<(), OtelError> {
        self.provider
            .shutdown()
            .map_err(|e| OtelError::Export(e.to_string()))
    }
}

/// A layer exporting spans to `endpoint` as `service_name`, and the
/// exporter to flush and shut down (see [`OtelExporter::new`]).
pub fn layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<(OtelLayer<S>, OtelExporter), OtelError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = OtelExporter::new(endpoint, service_name)?;
    Ok((exporter.layer(), exporter))
}

/// reqwest's blocking client (the SDK exports from a thread of its own,
/// outside any tokio runtime), following no redirects, with this crate's TLS
/// set-up when the `tls` feature is on. It is built on a thread of its own
/// because building a blocking client inside an async context panics.
fn blocking_client() -> Result<reqwest::blocking::Client, OtelError> {
    let build = || {
        let builder = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(EXPORT_TIMEOUT);
        #[cfg(feature = "tls")]
        let builder = builder
            .tls_backend_preconfigured(crate::tls::client_config().map_err(OtelError::Build)?);
        builder.build().map_err(|e| OtelError::Build(e.to_string()))
    };
    std::thread::Builder::new()
        .name("agentsec-otel-client".into())
        .spawn(build)
        .map_err(|e| OtelError::Build(format!("spawning a thread failed: {e}")))?
        .join()
        .map_err(|_| OtelError::Build("building the HTTP client panicked".into()))?
}
