//! Calls that wait for a person: stored like a paused agent run, decided
//! with the runtime's approvals, run exactly once.
//!
//! A `tools/call` the pipeline says needs approval becomes a run of one call
//! in the store, paused on it: its approval row (id = the call id) is what
//! [`Approvals::pending`](agentsec_runtime::hitl::Approvals::pending) lists
//! and [`Approvals::approve`](agentsec_runtime::hitl::Approvals::approve)
//! signs. When the caller comes back with the approval id, the decision's
//! signature and binding are verified, the intent is written (of two racing
//! calls exactly one writes it), and the call runs through the pipeline with
//! the approval attached. An intent found already means the call ran (or
//! may have): it never runs again.

use agentsec_runtime::call::CallDecision;
use agentsec_runtime::engine::{
    CallIntent, CallStatus, Checkpoints, IntentBegin, IntentOutcome, PendingCall, Phase, RunState,
    StoreCheckpoints,
};
use agentsec_runtime::hitl::{ApprovalDecision, DecisionSigner};
use agentsec_runtime::identity::{CallId, UserIdentity};
use agentsec_runtime::store::{ApprovalRecord, ApprovalStatus, StoreError, UnixMillis};
use agentsec_runtime::tool::{CallContext, Dispatcher, ToolError};
use serde_json::Value;
use uuid::Uuid;

/// Where an [`McpServer`](crate::McpServer) keeps calls waiting for a
/// person: the run store (through its [`StoreCheckpoints`]) and the key that
/// signs and verifies decisions — the same [`DecisionSigner`] key the
/// application's [`Approvals`](agentsec_runtime::hitl::Approvals) uses.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_mcp::ApprovalDesk;
/// use agentsec_runtime::engine::StoreCheckpoints;
/// use agentsec_runtime::hitl::DecisionSigner;
/// use agentsec_runtime::store::{MemoryStore, RunStore};
///
/// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
/// let desk = ApprovalDesk::new(StoreCheckpoints::new(store), DecisionSigner::new(vec![7; 32]).unwrap());
/// # let _ = desk;
/// ```
pub struct ApprovalDesk {
    checkpoints: StoreCheckpoints,
}

/// What the first call of a tool that needs approval left in the store.
pub(crate) struct PendingRequest {
    pub(crate) approval_id: Uuid,
    pub(crate) reason: String,
}

/// Why an approved call did not run (the text goes back to the caller).
pub(crate) type Refusal = String;

impl ApprovalDesk {
    /// A desk over `checkpoints`' store, verifying decisions with `signer`.
    ///
    /// The decision of an approved call is verified by the runtime's one
    /// check, [`StoreCheckpoints::verify_approved`] (signature, run, call,
    /// tool, arguments, deadline and the checkpoints' approval policy), as
    /// for an agent's calls: `signer` becomes the checkpoints' approval key.
    pub fn new(checkpoints: StoreCheckpoints, signer: DecisionSigner) -> Self {
        Self {
            checkpoints: checkpoints.with_approval_key(signer),
        }
    }

    /// The checkpoints the desk stores pending calls with.
    pub fn checkpoints(&self) -> &StoreCheckpoints {
        &self.checkpoints
    }

    /// Stores `call` (already decoded to `canonical` arguments and decided
    /// as needing approval) as a run of one call paused on it.
    pub(crate) async fn request(
        &self,
        call: &CallContext,
        tool: &str,
        canonical: &str,
        decision: &CallDecision,
    ) -> Result<PendingRequest, String> {
        let reason = decision
            .approval_text()
            .unwrap_or_else(|| format!("`{tool}` needs a person's approval"));
        let mut state = RunState::new(
            &call.agent,
            "mcp",
            call.user.clone(),
            format!("MCP tools/call of `{tool}`"),
        );
        state.run_id = call.run_id;
        state.step = call.step;
        state.phase = Phase::ToolCallsProposed;
        state.pending = vec![PendingCall {
            call_id: call.call_id,
            model_call_id: format!("mcp-{}", call.call_id),
            tool: tool.to_owned(),
            arguments: canonical.to_owned(),
            step: call.step,
            status: CallStatus::Proposed,
            decision: Some(decision.clone()),
            grant_jti: None,
            approval: None,
            outcome: None,
        }];
        state.version = 1;
        self.save(&state).await?;
        // The second save writes the approval row, then the paused state.
        state.phase = Phase::AwaitingApproval;
        state.pending[0].status = CallStatus::AwaitingApproval {
            reason: reason.clone(),
        };
        state.version = 2;
        self.save(&state).await?;
        Ok(PendingRequest {
            approval_id: call.call_id.as_uuid(),
            reason,
        })
    }

    /// Runs the call approved as `approval_id` if `caller` asked for it,
    /// with the same tool and arguments, a person approved it with a valid
    /// signature in time, and it has not run yet.
    pub(crate) async fn run_approved(
        &self,
        dispatcher: &Dispatcher,
        caller: &UserIdentity,
        tool: &str,
        raw_args: &str,
        approval_id: Uuid,
    ) -> Result<Result<Value, ToolError>, Refusal> {
        let store = self.checkpoints.store();
        let record = match store.get_approval(approval_id).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => {
                return Err(format!("there is no pending approval {approval_id}"));
            }
            Err(other) => return Err(format!("the approval store failed: {other}")),
        };
        // Someone else's approval id is as good as unknown to this caller.
        if record.requested_by != caller.id {
            return Err(format!("there is no pending approval {approval_id}"));
        }
        if record.tool != tool {
            return Err(format!(
                "approval {approval_id} is for tool `{}`, not `{tool}`",
                record.tool
            ));
        }
        let validated = dispatcher
            .decode(tool, raw_args)
            .map_err(|e| e.model_message())?;
        if validated.digest() != record.args_sha256 {
            return Err(format!(
                "approval {approval_id} is for other arguments: call again with the arguments it was requested with"
            ));
        }
        self.check_status(&record)?;
        let state = match self.checkpoints.load(record.run_id).await {
            Ok(Some(state)) => state,
            Ok(None) => return Err(format!("the call of approval {approval_id} was not found")),
            Err(error) => return Err(format!("the approval store failed: {error}")),
        };
        let Some(pending) = state
            .pending
            .iter()
            .find(|c| c.call_id == record.call_id && c.tool == record.tool)
        else {
            return Err(format!("the call of approval {approval_id} was not found"));
        };
        let decision = ApprovalDecision::from_record(&record)
            .ok_or_else(|| format!("approval {approval_id} is not decided"))?;
        // What the approver approved: the arguments as requested, or as the
        // approver edited them.
        let arguments = decision
            .edited_arguments()
            .unwrap_or(&pending.arguments)
            .to_owned();
        // The one check every executor of an approved call makes: the
        // signed decision, verified against what would run.
        let mut approved_call = pending.clone();
        approved_call.arguments = arguments.clone();
        let proof = self
            .checkpoints
            .verify_approved(&state, &approved_call)
            .await
            .map_err(|error| format!("approval {approval_id} does not verify: {error}"))?;

        let intent = CallIntent {
            run_id: record.run_id,
            call_id: record.call_id,
            tool: tool.to_owned(),
            idempotency_key: record.call_id.to_string(),
            approved: true,
        };
        match self.checkpoints.begin_intent(&intent).await {
            Ok(IntentBegin::Started) => {}
            Ok(IntentBegin::Existing(recorded)) => {
                return Err(match recorded.outcome {
                    Some(IntentOutcome::Executed { .. }) => format!(
                        "approval {approval_id} was used: the call ran once and does not run again"
                    ),
                    Some(IntentOutcome::Failed { .. }) => format!(
                        "approval {approval_id} was used: the call was attempted once and does not run again"
                    ),
                    None => format!(
                        "approval {approval_id} was used: the call started and its outcome is unknown; a person must reconcile it"
                    ),
                });
            }
            Err(error) => return Err(format!("the approval store failed: {error}")),
        }

        let call = CallContext {
            run_id: record.run_id,
            step: pending.step,
            call_id: record.call_id,
            agent: state.agent.clone(),
            user: caller.clone(),
            approval: Some(proof),
            idempotency_key: Some(record.call_id.to_string()),
        };
        let result = dispatcher.dispatch(&call, tool, &arguments).await;
        self.finish(state, record.call_id, &result).await;
        Ok(result)
    }

    /// Why a request is not (yet) approved, in words for the caller: still
    /// pending, expired or rejected. Whether an approval verifies is
    /// [`StoreCheckpoints::verify_approved`]'s to say.
    fn check_status(&self, record: &ApprovalRecord) -> Result<(), Refusal> {
        let id = record.id;
        match record.status {
            ApprovalStatus::Pending if record.expires_at <= UnixMillis::now() => {
                Err(format!("approval {id} expired before anyone decided it"))
            }
            ApprovalStatus::Pending => Err(format!(
                "approval {id} is still pending: a person has not decided it yet"
            )),
            ApprovalStatus::Expired => {
                Err(format!("approval {id} expired before anyone decided it"))
            }
            ApprovalStatus::Rejected => Err(format!(
                "approval {id} was rejected: {}",
                record.reason.as_deref().unwrap_or("no reason given")
            )),
            ApprovalStatus::Approved => Ok(()),
        }
    }

    /// Writes the call's result once and closes the run of one.
    async fn finish(
        &self,
        mut state: RunState,
        call_id: CallId,
        result: &Result<Value, ToolError>,
    ) {
        let outcome = match result {
            Ok(value) => IntentOutcome::Executed {
                content: match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                },
            },
            Err(error) => IntentOutcome::Failed {
                error: error.model_message(),
            },
        };
        if let Err(error) = self
            .checkpoints
            .finish_intent(state.run_id, call_id, &outcome)
            .await
        {
            let error = agentsec_runtime::escape::echo(&error.to_string());
            tracing::error!(run_id = %state.run_id, %call_id, %error, "could not record the result of an approved MCP call");
        }
        if let Some(call) = state.pending.iter_mut().find(|c| c.call_id == call_id) {
            call.status = match result {
                Ok(_) => CallStatus::Executed,
                Err(error) => CallStatus::Failed {
                    error: error.model_message(),
                },
            };
        }
        state.phase = match (result, &outcome) {
            (Ok(_), IntentOutcome::Executed { content }) => Phase::Completed {
                answer: content.clone(),
            },
            (_, _) => Phase::Failed {
                error: match result {
                    Err(error) => error.model_message(),
                    Ok(_) => String::new(),
                },
                transient: false,
            },
        };
        state.version += 1;
        if let Err(error) = self.checkpoints.save(&state).await {
            let error = agentsec_runtime::escape::echo(&error.to_string());
            tracing::error!(run_id = %state.run_id, %error, "could not close the run of an approved MCP call");
        }
    }

    async fn save(&self, state: &RunState) -> Result<(), String> {
        self.checkpoints
            .save(state)
            .await
            .map_err(|e| format!("the approval store failed: {e}"))
    }
}
