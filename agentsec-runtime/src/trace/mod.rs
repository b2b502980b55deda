//! Observability: security events published while runs execute.
//!
//! The engine publishes a [`SecurityEvent`] whenever something a security
//! team watches happens — a denied call, an approval requested or decided, a
//! budget warning — to every [`EventSink`] registered with the runtime.

mod events;

pub use events::{CollectingSink, EventBus, EventSink, SecurityEvent};
