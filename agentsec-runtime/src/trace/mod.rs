//! Observability: security events published while runs execute, where they
//! go, and the audit trail.
//!
//! The engine publishes a [`SecurityEvent`] whenever something a security
//! team watches happens — a denied call, an approval requested or decided, a
//! budget cap, a rejected key — on an [`EventBus`], which stamps it (an
//! [`EventEnvelope`]) and hands it to:
//!
//! - the log (`tracing`, target `agentsec::security`, at `WARN`);
//! - in-process subscribers ([`EventBus::subscribe`], a broadcast channel);
//! - every registered [`EventSink`]: [`CollectingSink`] (tests),
//!   [`ChannelSink`] (an `mpsc` channel), [`WebhookSink`] (signed HTTP
//!   POSTs), [`AuditSink`] (the store's hash-chained audit log);
//! - the built-in anomaly rules ([`AnomalyDetector`],
//!   [`EventBus::with_anomaly_detection`]), which publish
//!   [`SecurityEvent::Anomaly`] events of their own.
//!
//! With the `otel` feature, `trace::otel` exports `tracing` spans over OTLP/HTTP.

mod anomaly;
mod audit;
mod bus;
mod envelope;
mod error;
mod events;
#[cfg(feature = "otel")]
pub mod otel;
mod webhook;

/// The digest of a call's arguments, as approvals bind it (see [`crate::tool::args_digest`]).
pub use crate::tool::args_digest;
pub use anomaly::{
    AnomalyConfig, AnomalyDetector, REPEATED_DENIALS, REPEATED_IRREVERSIBLE, TOOL_CALL_RATE,
};
pub use audit::{AuditSink, AuditSinkConfig, AuditStats, audit_entry};
pub use bus::{
    ApprovalNotifier, ChannelSink, CollectingSink, EventBus, EventSink, SUBSCRIBER_CAPACITY,
};
pub use envelope::EventEnvelope;
pub use error::SinkError;
pub use events::SecurityEvent;
pub use webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookConfig, WebhookSink, WebhookStats, sign_body,
};
