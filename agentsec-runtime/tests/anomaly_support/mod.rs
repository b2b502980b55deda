//! The harness of the anomaly rule tests: a detector in front of a
//! collecting sink, fed events at chosen times.

#![allow(dead_code)]

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::store::UnixMillis;
use agentsec_runtime::trace::{
    AnomalyConfig, AnomalyDetector, CollectingSink, EventEnvelope, EventSink, SecurityEvent,
    args_digest,
};

pub const MINUTE: i64 = 60_000;

pub struct Harness {
    pub seen: CollectingSink,
    pub detector: AnomalyDetector<CollectingSink>,
}

impl Harness {
    pub fn new(config: AnomalyConfig) -> Self {
        let seen = CollectingSink::default();
        let detector = AnomalyDetector::with_config(seen.clone(), config);
        Self { seen, detector }
    }

    pub fn at(&self, at: i64, event: SecurityEvent) {
        self.detector
            .publish(&EventEnvelope::new(UnixMillis(at), event));
    }

    /// The anomalies raised so far: (rule, run, agent).
    pub fn anomalies(&self) -> Vec<(String, Option<RunId>, Option<String>)> {
        self.seen
            .events()
            .into_iter()
            .filter_map(|event| match event {
                SecurityEvent::Anomaly {
                    rule,
                    run_id,
                    agent,
                    ..
                } => Some((rule, run_id, agent)),
                _ => None,
            })
            .collect()
    }

    pub fn rules(&self) -> Vec<String> {
        self.anomalies()
            .into_iter()
            .map(|(rule, _, _)| rule)
            .collect()
    }
}

pub fn denied(run_id: RunId, agent: &str) -> SecurityEvent {
    SecurityEvent::PermissionDenied {
        run_id,
        agent: agent.into(),
        user: "alice".into(),
        tool: "delete_customer".into(),
        call_id: CallId::new(),
        reason: "customers:delete not granted".into(),
    }
}

pub fn refused(run_id: RunId) -> SecurityEvent {
    SecurityEvent::ToolRefused {
        run_id,
        tool: "shell".into(),
        call_id: CallId::new(),
        error: "unknown tool".into(),
    }
}

pub fn called(
    run_id: RunId,
    agent: &str,
    tool: &str,
    args: &str,
    irreversible: bool,
) -> SecurityEvent {
    called_as(run_id, agent, tool, args, irreversible, CallId::new())
}

pub fn called_as(
    run_id: RunId,
    agent: &str,
    tool: &str,
    args: &str,
    irreversible: bool,
    call_id: CallId,
) -> SecurityEvent {
    SecurityEvent::ToolCalled {
        run_id,
        agent: agent.into(),
        tool: tool.into(),
        call_id,
        irreversible,
        args_digest: args_digest(args),
    }
}
