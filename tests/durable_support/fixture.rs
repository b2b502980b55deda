//! The fixture of the HITL tests: a store, durable checkpoints, the
//! payments runtime and the approvals service.

use std::path::PathBuf;
use std::sync::Arc;

use agentsec::engine::{AgentRuntime, PendingCall, RunOutcome, RunState, StoreCheckpoints};
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::model::Message;
use agentsec::prelude::*;
use agentsec::store::{RunStatus, RunStore};

use super::*;

pub struct Fixture {
    pub backend: Backend,
    pub store: Arc<dyn RunStore>,
    pub checkpoints: StoreCheckpoints,
    pub runtime: AgentRuntime<PaymentsAgent>,
    pub approvals: Approvals,
    pub effects: PathBuf,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Self {
        Self::with(backend, |c| c).await
    }

    pub async fn with(
        backend: Backend,
        configure: impl FnOnce(StoreCheckpoints) -> StoreCheckpoints,
    ) -> Self {
        let store = backend.open().await;
        let checkpoints = configure(
            StoreCheckpoints::new(store.clone())
                .with_owner("test")
                .with_approval_key(signer()),
        );
        let effects = backend.effects();
        let runtime = runtime(&checkpoints, &effects, PlanModel::payment_and_transfer()).await;
        let approvals = Approvals::new(&checkpoints, signer());
        Self {
            backend,
            store,
            checkpoints,
            runtime,
            approvals,
            effects,
        }
    }

    /// Starts a run that pauses on a payment and a transfer.
    pub async fn paused_run(&self) -> (RunId, Vec<PendingCall>) {
        let report = self
            .runtime
            .start(alice(), "Pay acme, top up savings")
            .await
            .unwrap();
        match report.outcome {
            RunOutcome::AwaitingApproval { pending } => (report.run_id, pending),
            other => panic!("{other:?}"),
        }
    }

    pub fn payments(&self) -> Vec<serde_json::Value> {
        SideEffects::of(&self.effects, "send_payment")
    }

    pub fn transfers(&self) -> Vec<serde_json::Value> {
        SideEffects::of(&self.effects, "book_transfer")
    }

    pub async fn status(&self, run_id: RunId) -> RunStatus {
        self.store.get_run(run_id).await.unwrap().status
    }

    pub async fn done(self) {
        self.backend.cleanup().await;
    }
}

pub fn signer() -> DecisionSigner {
    DecisionSigner::new(SIGNING_KEY.to_vec()).unwrap()
}

pub fn tool_result(state: &RunState, tool: &str) -> (String, bool) {
    state
        .messages
        .iter()
        .find_map(|m| match m {
            Message::Tool {
                name,
                content,
                is_error,
                ..
            } if name == tool => Some((content.clone(), *is_error)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result for {tool}"))
}

pub async fn approve_all(f: &Fixture, pending: &[PendingCall]) {
    for call in pending {
        f.approvals
            .approve(call.call_id.as_uuid(), &bob())
            .await
            .unwrap();
    }
}
