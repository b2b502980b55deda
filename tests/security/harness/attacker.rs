//! The attacker: a scripted model that is fully compromised by any
//! instruction it can read.
//!
//! It plays the user task's tool calls turn by turn, like a model doing its
//! job. When the results of its last turn contain the planted injection —
//! found by its goal text, so spotlighting (which wraps the text but keeps
//! it) does not hide it, while withheld content does — it plays the injected
//! task's calls instead, then goes back to the user task. This is the worst
//! case for the framework: the model obeys every instruction it sees.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use agentsec::BoxFuture;
use agentsec::model::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use serde_json::Value;

/// What the model says in one turn.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Tool calls: name and arguments.
    Calls(Vec<(String, Value)>),
    /// A final answer.
    Answer(String),
}

/// One turn of a plan; it may depend on what the model has seen so far.
#[derive(Clone)]
pub struct Step(Arc<dyn Fn(&Seen<'_>) -> Reply + Send + Sync>);

impl Step {
    /// One tool call.
    pub fn call(name: &str, args: Value) -> Self {
        Self::calls([(name, args)])
    }

    /// Several tool calls in one turn.
    pub fn calls<'a>(calls: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        let calls: Vec<(String, Value)> =
            calls.into_iter().map(|(n, a)| (n.to_owned(), a)).collect();
        Self(Arc::new(move |_| Reply::Calls(calls.clone())))
    }

    /// A fixed answer.
    pub fn answer(text: &str) -> Self {
        let text = text.to_owned();
        Self(Arc::new(move |_| Reply::Answer(text.clone())))
    }

    /// A turn computed from what the model has seen (the data it read).
    pub fn with(f: impl Fn(&Seen<'_>) -> Reply + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The same step `n` times (a model stuck in a loop).
    pub fn repeat(self, n: usize) -> Vec<Step> {
        vec![self; n]
    }
}

/// What the model has in front of it: the request.
pub struct Seen<'a> {
    request: &'a ModelRequest,
}

impl<'a> Seen<'a> {
    /// Every tool result (and error) text, oldest first.
    pub fn results(&self) -> impl Iterator<Item = &'a str> {
        self.request.messages.iter().filter_map(|m| match m {
            Message::Tool { content, .. } => Some(content.as_str()),
            _ => None,
        })
    }

    /// The tool results of the last turn only.
    pub fn last_results(&self) -> Vec<&'a str> {
        let start = self
            .request
            .messages
            .iter()
            .rposition(|m| matches!(m, Message::Assistant { .. }))
            .map_or(0, |i| i + 1);
        self.request
            .messages
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| match m {
                Message::Tool { content, .. } => Some(content.as_str()),
                _ => None,
            })
            .collect()
    }

    /// All tool results, joined.
    pub fn all(&self) -> String {
        self.results().collect::<Vec<_>>().join("\n")
    }

    /// Whether some tool result contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.results().any(|r| r.contains(needle))
    }

    /// The text from `start` up to (not including) the first character in
    /// `stops`, in the first tool result holding `start`.
    pub fn extract(&self, start: &str, stops: &[char]) -> Option<String> {
        self.results().find_map(|r| {
            let at = r.find(start)?;
            let rest = r.get(at..)?;
            let end = rest.find(|c| stops.contains(&c)).unwrap_or(rest.len());
            rest.get(..end).map(str::to_owned)
        })
    }

    /// The system prompt the model was given.
    pub fn system(&self) -> &'a str {
        &self.request.system
    }
}

struct State {
    benign: VecDeque<Step>,
    attack: VecDeque<Step>,
    /// The injected instruction's text; `None` for a benign model.
    goal: Option<String>,
    hijacked: bool,
    turn: usize,
    requests: Vec<ModelRequest>,
}

/// A fully compromised model (see the module documentation). Clones share
/// the plan and the record of requests.
#[derive(Clone)]
pub struct AttackerModel(Arc<Mutex<State>>);

/// Tokens each turn reports: enough for token budgets to mean something.
pub const TURN_USAGE: Usage = Usage::new(400, 60);

impl AttackerModel {
    /// A model that plays `benign`; when it reads `goal` it plays `attack`.
    pub fn new(benign: Vec<Step>, goal: Option<&str>, attack: Vec<Step>) -> Self {
        Self(Arc::new(Mutex::new(State {
            benign: benign.into(),
            attack: attack.into(),
            goal: goal.map(str::to_owned),
            hijacked: false,
            turn: 0,
            requests: Vec::new(),
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the model read the injection and turned to the attacker's task.
    pub fn hijacked(&self) -> bool {
        self.state().hijacked
    }

    /// Every request the model received.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.state().requests.clone()
    }

    fn next(state: &mut State, request: &ModelRequest) -> Reply {
        let seen = Seen { request };
        if !state.hijacked
            && let Some(goal) = &state.goal
            && seen
                .last_results()
                .iter()
                .any(|r| r.contains(goal.as_str()))
        {
            state.hijacked = true;
        }
        let step = match state.hijacked {
            true => state
                .attack
                .pop_front()
                .or_else(|| state.benign.pop_front()),
            false => state.benign.pop_front(),
        };
        match step {
            Some(step) => (step.0)(&seen),
            None => Reply::Answer("I have nothing more to do.".into()),
        }
    }
}

impl ModelProvider for AttackerModel {
    fn name(&self) -> &str {
        "attacker"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let response = {
            let mut state = self.state();
            state.requests.push(request.clone());
            state.turn += 1;
            let turn = state.turn;
            match Self::next(&mut state, request) {
                Reply::Answer(text) => ModelResponse {
                    content: Some(text),
                    tool_calls: Vec::new(),
                    usage: TURN_USAGE,
                    stop: StopReason::EndTurn,
                    model: "attacker".into(),
                },
                Reply::Calls(calls) => ModelResponse {
                    content: None,
                    tool_calls: calls
                        .into_iter()
                        .enumerate()
                        .map(|(i, (name, args))| {
                            ModelToolCall::new(format!("call_{turn}_{i}"), name, args.to_string())
                        })
                        .collect(),
                    usage: TURN_USAGE,
                    stop: StopReason::ToolUse,
                    model: "attacker".into(),
                },
            }
        };
        Box::pin(async move { Ok(response) })
    }
}
