//! The one path of a tool call.
//!
//! Every tool call, whoever starts it — the engine inside a run,
//! [`Dispatcher::dispatch`] for a single call — goes through the same steps,
//! implemented once, here:
//!
//! ```text
//! model JSON ─► decode once: strict (no duplicate keys, no unknown fields at any
//!               depth, size and depth limits) ─► ValidatedCall { spec, typed
//!               arguments, canonical JSON, digest }
//!           ─► decide: policy (async) · rule of two · links carrying data ·
//!               outgoing checks ─► CallDecision
//!           ─► approval: bound to the digest of the canonical arguments, so the
//!               approver sees exactly the bytes that run
//!           ─► grant minted for exactly this allowed call, verified
//!           ─► execute, sealed: the tool has `execute` only; a panic in its body
//!               becomes a recorded error and the process goes on
//!           ─► protect the output: redact · screen · spotlight
//! ```
//!
//! A tool cannot skip a step: [`Tool`](crate::tool::Tool) and
//! [`DynTool`](crate::tool::DynTool) have no method that runs a call other
//! than `execute`, which only this module calls, after the checks. Nor can
//! the code around it: the public ways in are [`Dispatcher::dispatch`] and
//! the engine, both the whole pipeline; [`Dispatcher::decode`] and
//! [`Dispatcher::decide`] only look.

mod approval;
mod context;
mod decide;
mod decode;
mod execute;
mod outgoing;
mod output;
mod provenance;
mod record;
pub(crate) mod strict;

pub use approval::ApprovalProof;
pub use context::CallContext;
pub use decide::{ApprovalReason, CallDecision, CallScope, PROVENANCE_POLICY};
pub use decode::ValidatedCall;
pub use provenance::{
    ArgumentProvenance, MAX_LEAVES, MAX_NEEDLES, MAX_SCAN_BYTES, MAX_SOURCE_BYTES, MAX_VALUE_BYTES,
    Origin, Provenance, ProvenanceReport, SourceRef, ValueSources,
};
pub use record::{ApprovalRecord, CallOutcome};

use serde_json::Value;

use crate::tool::{Dispatcher, ToolError};
use crate::trace::SecurityEvent;

impl Dispatcher {
    /// Runs the model's call of `name` with `raw_args` through the whole
    /// pipeline, under a grant minted for exactly this call. A call the
    /// policy denies, that needs an approval `call` does not carry, or whose
    /// outgoing message is refused, does not run: the error says why.
    ///
    /// ```
    /// use agentsec_runtime::identity::{RunId, UserIdentity};
    /// use agentsec_runtime::tool::{
    ///     CallContext, Dispatcher, Effect, EffectKind, Irreversibility, Scope, Tool, ToolCtx,
    ///     ToolError, ToolSpec,
    /// };
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Args { order_id: String }
    /// struct Refund;
    /// impl Tool for Refund {
    ///     const SPEC: ToolSpec = ToolSpec {
    ///         effects: &[Effect::new(EffectKind::Write, "payments")],
    ///         pure: false,
    ///         scope: Some(Scope::User),
    ///         irreversible: Some(Irreversibility { reason: Some("moves money") }),
    ///         ..ToolSpec::new("refund", "Refund an order.")
    ///     };
    ///     type Args = Args;
    ///     type Output = String;
    ///     async fn execute(_: &ToolCtx, args: Args) -> Result<String, ToolError> {
    ///         Ok(format!("refunded {}", args.order_id))
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::builder().tool::<Refund>().build().await.unwrap();
    /// let call = CallContext::new(RunId::new(), 1, "support", UserIdentity::new("alice"));
    /// let err = dispatcher.dispatch(&call, "refund", r#"{"order_id": "o1"}"#).await.unwrap_err();
    /// assert!(matches!(err, ToolError::ApprovalRequired { .. }));
    /// # });
    /// ```
    pub async fn dispatch(
        &self,
        call: &CallContext,
        name: &str,
        raw_args: &str,
    ) -> Result<Value, ToolError> {
        self.run_call(call, name, raw_args, None).await
    }

    /// [`dispatch`](Self::dispatch) under a grant obtained elsewhere (another
    /// worker, or a test presenting a forged one) instead of a fresh one. The
    /// grant is verified like any other; every other step is the same.
    pub async fn dispatch_with_grant(
        &self,
        call: &CallContext,
        name: &str,
        raw_args: &str,
        grant: &str,
    ) -> Result<Value, ToolError> {
        self.run_call(call, name, raw_args, Some(grant)).await
    }

    async fn run_call(
        &self,
        call: &CallContext,
        name: &str,
        raw_args: &str,
        grant: Option<&str>,
    ) -> Result<Value, ToolError> {
        let validated = match self.decode(name, raw_args) {
            Ok(validated) => validated,
            Err(error) => {
                self.publish_refused(call, name, &error);
                return Err(error);
            }
        };
        // A call on its own is a run of one: its redactor holds the
        // runtime's secrets and whatever this call reads.
        let redactor = self.redactor.scoped();
        let scope = CallScope {
            redactor: Some(&redactor),
            ..CallScope::new(call)
        };
        let decision = self.decide(&scope, &validated).await;
        if let Some(error) = decision.refusal(validated.spec().name) {
            return Err(error);
        }
        let spec = validated.spec();
        let executed = self.execute(&scope, validated, &decision, grant).await;
        let value = executed.result?;
        Ok(self.protect_value(&scope, spec, value))
    }

    /// Publishes that a call was refused before it could run.
    pub(crate) fn publish_refused(&self, call: &CallContext, tool: &str, error: &ToolError) {
        self.events.publish(SecurityEvent::ToolRefused {
            run_id: call.run_id,
            tool: tool.to_owned(),
            call_id: call.call_id,
            error: error.model_message(),
        });
    }
}
