//! A model that plays a script: for tests, examples and adversarial
//! scenarios (a model that proposes exactly the dangerous call under test).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::{
    ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason, Usage,
};
use crate::BoxFuture;

/// Tool-call arguments for a [`ScriptedReply`]: a JSON value (serialized), or
/// raw text taken as is, so a script can send invalid JSON.
pub trait ScriptedArguments {
    /// The arguments as the JSON text the model "wrote".
    fn into_arguments(self) -> String;
}

impl ScriptedArguments for Value {
    fn into_arguments(self) -> String {
        self.to_string()
    }
}

impl ScriptedArguments for &str {
    fn into_arguments(self) -> String {
        self.to_owned()
    }
}

impl ScriptedArguments for String {
    fn into_arguments(self) -> String {
        self
    }
}

/// One turn of a [`ScriptedModel`]'s script.
///
/// Tool calls get the ids `call_<turn>_<index>` (`turn` counts from 1 over
/// the whole script) unless the reply is built from a full
/// [`ModelResponse`].
#[derive(Debug)]
pub struct ScriptedReply {
    outcome: Result<ScriptedAnswer, ModelError>,
}

#[derive(Debug)]
struct ScriptedAnswer {
    content: Option<String>,
    /// Name and arguments, or a complete call with its id.
    calls: Vec<(Option<String>, String, String)>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl ScriptedReply {
    fn answer(content: Option<String>, calls: Vec<(Option<String>, String, String)>) -> Self {
        Self {
            outcome: Ok(ScriptedAnswer {
                content,
                calls,
                usage: Usage::default(),
                stop: None,
            }),
        }
    }

    /// The model answers with text.
    pub fn text(text: impl Into<String>) -> Self {
        Self::answer(Some(text.into()), Vec::new())
    }

    /// The model proposes one tool call.
    pub fn tool_call(name: impl Into<String>, arguments: impl ScriptedArguments) -> Self {
        Self::answer(None, vec![(None, name.into(), arguments.into_arguments())])
    }

    /// The model proposes several tool calls at once (parallel calls).
    pub fn tool_calls<N, A>(calls: impl IntoIterator<Item = (N, A)>) -> Self
    where
        N: Into<String>,
        A: ScriptedArguments,
    {
        let calls = calls
            .into_iter()
            .map(|(name, args)| (None, name.into(), args.into_arguments()))
            .collect();
        Self::answer(None, calls)
    }

    /// The call fails with `error`.
    pub fn error(error: ModelError) -> Self {
        Self {
            outcome: Err(error),
        }
    }

    /// The reply is exactly `response` (ids, usage and stop reason included).
    pub fn response(response: ModelResponse) -> Self {
        let calls = response
            .tool_calls
            .into_iter()
            .map(|c| (Some(c.id), c.name, c.arguments))
            .collect();
        Self {
            outcome: Ok(ScriptedAnswer {
                content: response.content,
                calls,
                usage: response.usage,
                stop: Some(response.stop),
            }),
        }
    }

    /// Adds text beside the tool calls (builder style).
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        if let Ok(answer) = &mut self.outcome {
            answer.content = Some(text.into());
        }
        self
    }

    /// Sets the usage reported for this reply (zero by default).
    pub fn with_usage(mut self, usage: Usage) -> Self {
        if let Ok(answer) = &mut self.outcome {
            answer.usage = usage;
        }
        self
    }

    /// Sets the stop reason (by default `ToolUse` when there are tool calls,
    /// `EndTurn` otherwise).
    pub fn with_stop(mut self, stop: StopReason) -> Self {
        if let Ok(answer) = &mut self.outcome {
            answer.stop = Some(stop);
        }
        self
    }

    fn play(self, turn: usize, model: &str) -> Result<ModelResponse, ModelError> {
        let answer = self.outcome?;
        let tool_calls: Vec<ModelToolCall> = answer
            .calls
            .into_iter()
            .enumerate()
            .map(|(index, (id, name, arguments))| ModelToolCall {
                id: id.unwrap_or_else(|| format!("call_{turn}_{index}")),
                name,
                arguments,
            })
            .collect();
        let stop = answer.stop.unwrap_or(if tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        });
        Ok(ModelResponse {
            content: answer.content,
            tool_calls,
            usage: answer.usage,
            stop,
            model: model.to_owned(),
        })
    }
}

/// A [`ModelProvider`] that plays [`ScriptedReply`]s in order and records
/// every request it receives.
///
/// Clones share the script and the record, so a test keeps a handle after
/// giving the model to an engine. Once the script is played, every call
/// fails with [`ModelError::ScriptExhausted`].
///
/// ```
/// use agentsec_runtime::model::{Message, ModelProvider, ModelRequest, ScriptedModel, ScriptedReply};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let model = ScriptedModel::new([ScriptedReply::text("hello")]);
/// let handle = model.clone();
/// let request = ModelRequest::new("be brief", vec![Message::user("hi")]);
/// assert_eq!(model.complete(&request).await.unwrap().content.as_deref(), Some("hello"));
/// assert_eq!(handle.requests(), vec![request.clone()]);
/// assert!(model.complete(&request).await.is_err());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ScriptedModel {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    model: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<ScriptedReply>,
    played: usize,
    requests: Vec<ModelRequest>,
}

impl ScriptedModel {
    /// A model that plays `replies`, named `scripted`.
    pub fn new(replies: impl IntoIterator<Item = ScriptedReply>) -> Self {
        Self::named("scripted", replies)
    }

    /// A model called `name` (also the model name in its responses).
    pub fn named(
        name: impl Into<String>,
        replies: impl IntoIterator<Item = ScriptedReply>,
    ) -> Self {
        let name = name.into();
        Self {
            inner: Arc::new(Inner {
                model: name.clone(),
                name,
                state: Mutex::new(State {
                    script: replies.into_iter().collect(),
                    ..State::default()
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: ScriptedReply) {
        self.state().script.push_back(reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.state().requests.clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<ModelRequest> {
        self.state().requests.last().cloned()
    }

    /// How many replies have been played.
    pub fn played(&self) -> usize {
        self.state().played
    }

    /// How many replies are left.
    pub fn remaining(&self) -> usize {
        self.state().script.len()
    }
}

impl ModelProvider for ScriptedModel {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let outcome = {
            let mut state = self.state();
            state.requests.push(request.clone());
            match state.script.pop_front() {
                Some(reply) => {
                    state.played += 1;
                    let model = request.model.as_deref().unwrap_or(&self.inner.model);
                    reply.play(state.played, model)
                }
                None => Err(ModelError::ScriptExhausted {
                    played: state.played,
                }),
            }
        };
        Box::pin(async move { outcome })
    }
}
