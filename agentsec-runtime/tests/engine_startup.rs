//! A runtime's start-up checks and the recovery of a run the provider
//! failed: the model's API key is checked when the runtime is built; a run
//! that failed for a transient provider error is retried from its last
//! checkpoint; and a runtime with a store keeps an audit trail by default.

mod http_support;
mod model_support;

use std::sync::Arc;

use agentsec_runtime::budget::BudgetSpec;
use agentsec_runtime::engine::{
    Agent, AgentRuntime, AgentSpec, EngineError, Phase, RunOutcome, StoreCheckpoints,
};
use agentsec_runtime::identity::UserIdentity;
use agentsec_runtime::model::{
    ModelError, OpenAiClient, RetryPolicy, ScriptedModel, ScriptedReply,
};
use agentsec_runtime::secrets::MemorySecretStore;
use agentsec_runtime::store::{RunStatus, RunStore, SqliteStore};
use agentsec_runtime::tool::DispatcherBuilder;
use agentsec_runtime::trace::{AuditSink, EventBus, SecurityEvent};
use http_support::{Reply, TestServer};
use model_support::openai::{client, completion};
use serde_json::json;

struct Greeter;

impl Agent for Greeter {
    const SPEC: AgentSpec = AgentSpec {
        name: "greeter",
        prompt: "Greet the user.",
        prompt_version: "1",
        prompt_file: None,
        tools: &[],
        max_iterations: 3,
        budget: BudgetSpec {
            tokens: Some(10_000),
            ..BudgetSpec::UNLIMITED
        },
        model: None,
        untrusted_input: false,
    };

    fn register_tools(builder: DispatcherBuilder) -> DispatcherBuilder {
        builder
    }
}

async fn sqlite() -> Arc<dyn RunStore> {
    Arc::new(SqliteStore::open_in_memory().await.unwrap())
}

#[tokio::test]
async fn a_missing_api_key_fails_the_build_not_a_run() {
    let store = sqlite().await;
    // The key's secret is named, but the store the application passed has
    // no such secret (a typo, or the wrong environment).
    let model = OpenAiClient::builder()
        .base_url("http://127.0.0.1:9/v1")
        .model("gpt-test")
        .api_key_secret("openai_api_key", Arc::new(MemorySecretStore::new()))
        .build()
        .unwrap();
    let built = AgentRuntime::<Greeter>::builder()
        .model(model)
        .checkpoints(StoreCheckpoints::new(store.clone()))
        .build()
        .await;
    match built {
        Err(EngineError::Model {
            agent,
            error: ModelError::MissingKey { secret, .. },
        }) => {
            assert_eq!(agent, "greeter");
            assert_eq!(secret, "openai_api_key");
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a runtime was built without its model's key"),
    }
    // Nothing was recorded.
    let runs = store.list_runs(&Default::default()).await.unwrap();
    assert!(runs.is_empty(), "{runs:?}");
}

#[tokio::test]
async fn a_run_the_provider_failed_is_retried_from_its_checkpoint() {
    // The provider is down (503) for the first request, then answers.
    let server = TestServer::scripted(vec![
        Reply::json(503, json!({"error": {"message": "overloaded"}})),
        Reply::json(
            200,
            completion(
                json!({"role": "assistant", "content": "Hello, Alice!"}),
                "stop",
            ),
        ),
    ])
    .await;
    let store = sqlite().await;
    let runtime = AgentRuntime::<Greeter>::builder()
        .model(client(&server, RetryPolicy::none()))
        .checkpoints(StoreCheckpoints::new(store.clone()))
        .build()
        .await
        .unwrap();
    let failed = runtime
        .start(UserIdentity::new("alice"), "Hi")
        .await
        .unwrap();
    assert!(
        matches!(failed.outcome, RunOutcome::Failed { .. }),
        "{:?}",
        failed.outcome
    );
    assert!(
        matches!(
            failed.state.phase,
            Phase::Failed {
                transient: true,
                ..
            }
        ),
        "{:?}",
        failed.state.phase
    );
    let stored = store.get_run(failed.run_id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Failed);

    let retried = runtime.retry(failed.run_id).await.unwrap();
    assert_eq!(
        retried.outcome,
        RunOutcome::Completed {
            answer: "Hello, Alice!".into()
        }
    );
    assert_eq!(server.request_count(), 2);
    // The retry continued the same run: one user message, one answer.
    assert_eq!(
        retried.state.messages.len(),
        2,
        "{:?}",
        retried.state.messages
    );
    let stored = store.get_run(failed.run_id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Completed);

    // A finished run is not retried.
    match runtime.retry(failed.run_id).await {
        Err(EngineError::NotRetryable { phase, .. }) => assert_eq!(phase, "completed"),
        other => panic!("unexpected {:?}", other.map(|r| r.outcome)),
    }
}

#[tokio::test]
async fn a_run_failed_for_a_permanent_provider_error_is_not_retried() {
    let server = TestServer::scripted(vec![Reply::json(
        400,
        json!({"error": {"message": "unknown model"}}),
    )])
    .await;
    let runtime = AgentRuntime::<Greeter>::builder()
        .model(client(&server, RetryPolicy::none()))
        .build()
        .await
        .unwrap();
    let failed = runtime
        .start(UserIdentity::new("alice"), "Hi")
        .await
        .unwrap();
    assert!(matches!(
        failed.state.phase,
        Phase::Failed {
            transient: false,
            ..
        }
    ));
    assert!(matches!(
        runtime.retry(failed.run_id).await,
        Err(EngineError::NotRetryable { .. })
    ));
    assert_eq!(server.request_count(), 1);
}

/// A budget the greeter's run exceeds: a security event the audit keeps.
fn over_budget() -> ScriptedModel {
    ScriptedModel::new([
        ScriptedReply::text("Hello").with_usage(agentsec_runtime::model::Usage::new(9_000, 2_000))
    ])
}

#[tokio::test]
async fn a_runtime_with_a_store_keeps_an_audit_trail_unless_it_opts_out() {
    let store = sqlite().await;
    let runtime = AgentRuntime::<Greeter>::builder()
        .model(over_budget())
        .checkpoints(StoreCheckpoints::new(store.clone()))
        .build()
        .await
        .unwrap();
    let report = runtime
        .start(UserIdentity::new("alice"), "Hi")
        .await
        .unwrap();
    let audit = runtime.audit().expect("audit is on by default");
    audit.flush().await;
    let log = store.list_audit(0, 100).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["budget_exceeded"], "{:?}", report.outcome);
    assert_eq!(log[0].run_id, Some(report.run_id));
    assert!(store.verify_audit().await.unwrap().is_intact());

    // Opting out is explicit, and then nothing is appended.
    let quiet_store = sqlite().await;
    let quiet = AgentRuntime::<Greeter>::builder()
        .model(over_budget())
        .checkpoints(StoreCheckpoints::new(quiet_store.clone()))
        .without_audit()
        .build()
        .await
        .unwrap();
    assert!(quiet.audit().is_none());
    quiet.start(UserIdentity::new("alice"), "Hi").await.unwrap();
    tokio::task::yield_now().await;
    assert!(quiet_store.list_audit(0, 10).await.unwrap().is_empty());

    // An application that wires its own audit sink gets exactly one entry
    // per event, not two.
    let own_store = sqlite().await;
    let own = AuditSink::spawn(own_store.clone()).unwrap();
    let wired = AgentRuntime::<Greeter>::builder()
        .model(over_budget())
        .checkpoints(StoreCheckpoints::new(own_store.clone()))
        .events(EventBus::default().with(own.clone()))
        .build()
        .await
        .unwrap();
    assert!(wired.audit().is_none());
    wired.start(UserIdentity::new("alice"), "Hi").await.unwrap();
    own.flush().await;
    assert_eq!(own_store.list_audit(0, 10).await.unwrap().len(), 1);
}

#[test]
fn the_audited_kinds_include_screening_and_exfiltration() {
    use agentsec_runtime::identity::RunId;
    use agentsec_runtime::trace::{EventEnvelope, audit_entry};
    let run_id = RunId::new();
    let flagged = EventEnvelope::now(SecurityEvent::InputFlagged {
        run_id,
        agent: "support".into(),
        source: "tool:read_ticket".into(),
        rules: vec!["instruction_override".into()],
    });
    let entry = audit_entry(&flagged).expect("screening is audited");
    assert_eq!(entry.actor, "agent:support");
    assert_eq!(entry.run_id, Some(run_id));
    // Events carry the run id in the form the CLI shows.
    assert_eq!(entry.data["run_id"], run_id.to_string());
}
