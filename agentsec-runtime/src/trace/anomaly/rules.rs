//! The state the anomaly rules keep, and the rules themselves.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::{AnomalyConfig, REPEATED_DENIALS, REPEATED_IRREVERSIBLE, TOOL_CALL_RATE};
use crate::identity::{CallId, RunId};
use crate::store::UnixMillis;
use crate::trace::{EventEnvelope, SecurityEvent};

/// The rules with their state behind one lock (sinks are called
/// synchronously and briefly, so a plain mutex is enough).
pub(crate) struct AnomalyRules {
    config: AnomalyConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    denials: HashMap<RunId, DenialCount>,
    rates: HashMap<String, AgentRate>,
    irreversible: HashMap<(String, String, String), Vec<(i64, CallId)>>,
}

struct DenialCount {
    count: u32,
    last: i64,
}

struct AgentRate {
    /// Call times inside the sliding window, oldest first.
    recent: VecDeque<i64>,
    /// The fixed window (index of `rate_window`-long slots) being counted
    /// into the moving average, and its count so far.
    slot: i64,
    slot_count: u32,
    /// Moving average of calls per window over closed slots.
    average: f64,
    /// When the rule last fired for this agent; it fires at most once per window.
    last_fired: Option<i64>,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

impl AnomalyRules {
    pub(crate) fn new(config: AnomalyConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The anomalies `envelope` raises, stamped with its time.
    pub(crate) fn observe(&self, envelope: &EventEnvelope) -> Vec<EventEnvelope> {
        let at = envelope.at.0;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut raised = Vec::new();
        match &envelope.event {
            SecurityEvent::PermissionDenied { run_id, agent, .. } => {
                raised.extend(self.denial(&mut state, *run_id, Some(agent), at));
                raised.extend(self.call(&mut state, *run_id, agent, at));
            }
            SecurityEvent::ToolRefused { run_id, .. } => {
                raised.extend(self.denial(&mut state, *run_id, None, at));
            }
            SecurityEvent::ToolCalled {
                run_id,
                agent,
                tool,
                call_id,
                irreversible,
                args_digest,
            } => {
                raised.extend(self.call(&mut state, *run_id, agent, at));
                if *irreversible {
                    let call = IrreversibleCall {
                        run_id: *run_id,
                        agent,
                        tool,
                        call_id: *call_id,
                        args_digest,
                    };
                    raised.extend(self.irreversible(&mut state, call, at));
                }
            }
            SecurityEvent::IrreversibleExecuted {
                run_id,
                agent,
                tool,
                call_id,
                args_digest,
                ..
            } => {
                let call = IrreversibleCall {
                    run_id: *run_id,
                    agent,
                    tool,
                    call_id: *call_id,
                    args_digest,
                };
                raised.extend(self.irreversible(&mut state, call, at));
            }
            _ => {}
        }
        raised
            .into_iter()
            .map(|event| EventEnvelope::new(UnixMillis(at), event))
            .collect()
    }

    fn denial(
        &self,
        state: &mut State,
        run_id: RunId,
        agent: Option<&String>,
        at: i64,
    ) -> Option<SecurityEvent> {
        let retention = millis(self.config.retention);
        if state.denials.len() >= self.config.max_tracked && !state.denials.contains_key(&run_id) {
            state.denials.retain(|_, d| at - d.last < retention);
        }
        let entry = state
            .denials
            .entry(run_id)
            .or_insert(DenialCount { count: 0, last: at });
        entry.count = entry.count.saturating_add(1);
        entry.last = at;
        // Fire once, when the count reaches the threshold, not on every denial after it.
        (entry.count == self.config.denials_per_run.max(1)).then(|| SecurityEvent::Anomaly {
            run_id: Some(run_id),
            agent: agent.cloned(),
            rule: REPEATED_DENIALS.into(),
            description: format!(
                "{} tool calls denied or refused in one run (threshold {})",
                entry.count, self.config.denials_per_run
            ),
        })
    }

    fn call(
        &self,
        state: &mut State,
        run_id: RunId,
        agent: &str,
        at: i64,
    ) -> Option<SecurityEvent> {
        let window = millis(self.config.rate_window);
        let alpha = self.config.rate_smoothing.clamp(0.0, 1.0);
        if state.rates.len() >= self.config.max_tracked && !state.rates.contains_key(agent) {
            let retention = millis(self.config.retention);
            state
                .rates
                .retain(|_, r| r.recent.back().is_some_and(|last| at - last < retention));
        }
        let slot = at.div_euclid(window);
        let rate = state.rates.entry(agent.to_owned()).or_insert(AgentRate {
            recent: VecDeque::new(),
            slot,
            slot_count: 0,
            average: 0.0,
            last_fired: None,
        });
        if slot > rate.slot {
            // Close the slot being counted, then decay over the empty ones
            // that passed since (capped: after that many the average is ~0).
            rate.average = alpha * f64::from(rate.slot_count) + (1.0 - alpha) * rate.average;
            let empty = (slot - rate.slot - 1).min(1000);
            rate.average *= (1.0 - alpha).powi(i32::try_from(empty).unwrap_or(1000));
            rate.slot = slot;
            rate.slot_count = 0;
        }
        rate.slot_count = rate.slot_count.saturating_add(1);
        rate.recent.push_back(at);
        while rate
            .recent
            .front()
            .is_some_and(|first| *first <= at - window)
        {
            rate.recent.pop_front();
        }
        let count = rate.recent.len();
        let threshold =
            (self.config.rate_ratio * rate.average).max(f64::from(self.config.rate_floor));
        let cooled = rate.last_fired.is_none_or(|fired| at - fired >= window);
        // Precision loss is irrelevant here: counts are far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let over = count as f64 > threshold;
        if !(over && cooled) {
            return None;
        }
        rate.last_fired = Some(at);
        Some(SecurityEvent::Anomaly {
            run_id: Some(run_id),
            agent: Some(agent.to_owned()),
            rule: TOOL_CALL_RATE.into(),
            description: format!(
                "{count} tool calls in {}s, against a moving average of {:.1} per window (threshold {:.1})",
                window / 1000,
                rate.average,
                threshold
            ),
        })
    }

    fn irreversible(
        &self,
        state: &mut State,
        call: IrreversibleCall<'_>,
        at: i64,
    ) -> Option<SecurityEvent> {
        let window = millis(self.config.repeat_window);
        if state.irreversible.len() >= self.config.max_tracked {
            state
                .irreversible
                .retain(|_, calls| calls.iter().any(|(seen, _)| at - seen < window));
        }
        let key = (
            call.agent.to_owned(),
            call.tool.to_owned(),
            call.args_digest.to_owned(),
        );
        let calls = state.irreversible.entry(key).or_default();
        calls.retain(|(seen, _)| at - seen < window);
        // The same call seen twice (requested, then executed) is one call.
        if calls.iter().any(|(_, id)| *id == call.call_id) {
            return None;
        }
        calls.push((at, call.call_id));
        (calls.len() >= 2).then(|| SecurityEvent::Anomaly {
            run_id: Some(call.run_id),
            agent: Some(call.agent.to_owned()),
            rule: REPEATED_IRREVERSIBLE.into(),
            description: format!(
                "irreversible tool `{}` called {} times with identical arguments within {}s",
                call.tool,
                calls.len(),
                window / 1000
            ),
        })
    }
}

struct IrreversibleCall<'a> {
    run_id: RunId,
    agent: &'a str,
    tool: &'a str,
    call_id: CallId,
    args_digest: &'a str,
}
