//! Execute, sealed: approval and grant are checked here, by the pipeline,
//! immediately before the tool's body runs; a panic in the body is caught.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use serde_json::Value;
use tracing::Instrument;

use super::{CallDecision, CallScope, ValidatedCall};
use crate::BoxFuture;
use crate::permission::GrantRequest;
use crate::tool::{CallGrant, Dispatcher, ToolCtx, ToolError};
use crate::trace::SecurityEvent;

/// What executing a call produced.
#[derive(Debug)]
pub(crate) struct Executed {
    /// The id (`jti`) of the grant the call ran under, when one was minted.
    pub(crate) grant_jti: Option<String>,
    /// The tool's result, or why it did not produce one.
    pub(crate) result: Result<Value, ToolError>,
}

impl Dispatcher {
    /// Runs a decided call: refuses it unless `decision` lets it run; for a
    /// call that needs approval (every irreversible tool does, whatever the
    /// decision says) checks that `call` carries an approval of exactly this
    /// tool, call and argument digest; mints the call's grant (or takes
    /// `presented`) and verifies it; then runs the body inside a `tool.call`
    /// span with a panic caught.
    pub(crate) async fn execute(
        &self,
        scope: &CallScope<'_>,
        validated: ValidatedCall,
        decision: &CallDecision,
        presented: Option<&str>,
    ) -> Executed {
        let call = scope.call;
        let spec = validated.spec();
        let refused = |result| Executed {
            grant_jti: None,
            result: Err(result),
        };
        if let Some(error) = decision.refusal(spec.name) {
            return refused(error);
        }
        if spec.is_irreversible() || decision.needs_approval() {
            let Some(proof) = &call.approval else {
                return refused(ToolError::ApprovalRequired {
                    tool: spec.name.to_owned(),
                    reason: "no approval is attached".into(),
                });
            };
            if let Err(reason) = proof.check_digest(spec.name, call.call_id, validated.digest()) {
                return refused(ToolError::ApprovalRequired {
                    tool: spec.name.to_owned(),
                    reason,
                });
            }
        }
        let (grant, grant_jti) = match presented {
            Some(token) => (CallGrant::Jwt(token.to_owned()), None),
            None => {
                let minted = self.grants.mint_local(&GrantRequest {
                    user: &call.user,
                    agent: &call.agent,
                    run: call.run_id,
                    call: call.call_id,
                    step: call.step,
                    spec,
                });
                match minted {
                    Ok(grant) => {
                        let jti = grant.jti();
                        (CallGrant::Local(grant), Some(jti))
                    }
                    Err(source) => {
                        return refused(ToolError::Grant {
                            tool: spec.name.to_owned(),
                            source,
                        });
                    }
                }
            }
        };
        let mut ctx = ToolCtx {
            tool: spec.name,
            run_id: call.run_id,
            step: call.step,
            call_id: call.call_id,
            agent: call.agent.clone(),
            user: call.user.clone(),
            grant,
            authority: Some(self.grants.clone()),
            claims: OnceLock::new(),
            grant_verified: false,
            approval: call.approval.clone(),
            idempotency_key: call.idempotency_key.clone(),
            state: self.state.clone(),
            secrets: self.secrets.clone(),
            redactor: self.redactor_for(scope).clone(),
        };
        if let Err(source) = ctx.verify_grant(spec) {
            return Executed {
                grant_jti,
                result: Err(ToolError::Grant {
                    tool: spec.name.to_owned(),
                    source,
                }),
            };
        }
        if self.events.is_listened_to() {
            self.events.publish(SecurityEvent::ToolCalled {
                run_id: call.run_id,
                agent: call.agent.clone(),
                tool: spec.name.to_owned(),
                call_id: call.call_id,
                irreversible: spec.is_irreversible(),
                args_digest: validated.digest().to_owned(),
            });
        }
        let digest = spec
            .is_irreversible()
            .then(|| validated.digest().to_owned());
        let span = tracing::info_span!(
            "tool.call",
            otel.name = %format_args!("execute_tool {}", spec.name),
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = spec.name,
            gen_ai.tool.call.id = %call.call_id,
            run_id = %call.run_id,
            agent = call.agent.as_str(),
            user = %call.user.id,
            tool = spec.name,
            call_id = %call.call_id,
            step = call.step,
            irreversible = spec.is_irreversible(),
        );
        let registered = match self.lookup(spec.name) {
            Ok(registered) => registered,
            Err(error) => {
                return Executed {
                    grant_jti,
                    result: Err(error),
                };
            }
        };
        let tool = registered.tool.clone();
        let typed = validated.typed;
        // Building the future runs no body code for `async fn`s, but a
        // hand-written `DynTool` may do work (and panic) before returning it.
        let result = match catch_unwind(AssertUnwindSafe(|| tool.execute(&ctx, typed))) {
            Ok(future) => match CatchUnwind(future).instrument(span).await {
                Ok(result) => result,
                Err(payload) => Err(self.panicked(&ctx.redactor, spec.name, payload)),
            },
            Err(payload) => Err(self.panicked(&ctx.redactor, spec.name, payload)),
        };
        if spec.is_irreversible() {
            self.events.publish(SecurityEvent::IrreversibleExecuted {
                run_id: call.run_id,
                agent: call.agent.clone(),
                user: call.user.id.clone(),
                tool: spec.name.to_owned(),
                call_id: call.call_id,
                args_digest: digest.unwrap_or_default(),
                approver: call.approval.as_ref().map(|p| p.approver.clone()),
                succeeded: result.is_ok(),
            });
        }
        Executed { grant_jti, result }
    }

    fn panicked(
        &self,
        redactor: &crate::secrets::Redactor,
        tool: &str,
        payload: Box<dyn Any + Send>,
    ) -> ToolError {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let message = redactor.redact_str(&message).into_owned();
        tracing::error!(tool, panic = %message, "a tool panicked; the call failed and the run goes on");
        ToolError::Panicked {
            tool: tool.to_owned(),
            message,
        }
    }
}

/// A boxed future whose panics come back as `Err` with the panic's payload.
struct CatchUnwind<'a>(BoxFuture<'a, Result<Value, ToolError>>);

impl Future for CatchUnwind<'_> {
    type Output = Result<Result<Value, ToolError>, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
