//! Secrets past the redactor (issue 14, item 5), each hole with an 8-byte
//! canary registered with the runtime's redactor: a tool name and a tool-call
//! id the model writes, the input of `submit()`, a provider's error body,
//! and the security events (and their `WARN` log lines) that name them.
//! Nothing may reach the store, the steps, the next model request, an event
//! or the log. Against SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use agentsec::BoxFuture;
use agentsec::engine::{AgentRuntime, RunOutcome, StoreCheckpoints};
use agentsec::model::{
    ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason, Usage,
};
use agentsec::store::RunStore;
use durable_support::*;

/// Eight bytes, no credential shape: only the registration catches it.
const CANARY: &str = "Zq7vkP2x";

/// Every log line of this test binary (the only subscriber it installs).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "the canary leaked into {what}: {text}"
    );
}

/// What the model does, and every request it was sent (as JSON).
#[derive(Clone)]
struct Leaky {
    fail: bool,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Leaky {
    fn new(fail: bool) -> Self {
        Self {
            fail,
            requests: Arc::default(),
        }
    }
}

impl ModelProvider for Leaky {
    fn name(&self) -> &str {
        "leaky"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let mut requests = self.requests.lock().unwrap();
        requests.push(serde_json::to_string(&request.messages).unwrap());
        let first = requests.len() == 1;
        drop(requests);
        let answer = if self.fail {
            // A provider echoing the request in its error body.
            Err(ModelError::Status {
                provider: "leaky".into(),
                status: 400,
                message: format!("invalid request near `{CANARY}`"),
            })
        } else if first {
            Ok(ModelResponse {
                content: None,
                tool_calls: vec![ModelToolCall::new(
                    format!("call-{CANARY}"),
                    format!("lookup_balance{CANARY}"),
                    r#"{"account":"checking"}"#,
                )],
                usage: Usage::new(10, 5),
                stop: StopReason::ToolUse,
                model: "leaky".into(),
            })
        } else {
            Ok(ModelResponse {
                content: Some("done".into()),
                tool_calls: Vec::new(),
                usage: Usage::new(10, 5),
                stop: StopReason::EndTurn,
                model: "leaky".into(),
            })
        };
        Box::pin(async move { answer })
    }
}

async fn leaky_runtime(store: &Arc<dyn RunStore>, model: Leaky) -> AgentRuntime<PaymentsAgent> {
    let runtime = AgentRuntime::<PaymentsAgent>::builder()
        .model(model)
        .state(SideEffects::new(
            std::env::temp_dir().join("agentsec-unused"),
        ))
        .checkpoints(StoreCheckpoints::new(store.clone()))
        .build()
        .await
        .unwrap();
    let _ = runtime.redactor().register("canary", CANARY);
    runtime
}

async fn stored(store: &Arc<dyn RunStore>, run_id: agentsec::identity::RunId) -> String {
    let run = store.get_run(run_id).await.unwrap();
    let steps = store.list_steps(run_id).await.unwrap();
    format!(
        "{} {}",
        run.state,
        serde_json::to_string(&steps.iter().map(|s| &s.data).collect::<Vec<_>>()).unwrap()
    )
}

async fn tool_names_and_call_ids_from_the_model(backend: Backend) {
    let logs = logs();
    let store = backend.open().await;
    let model = Leaky::new(false);
    let runtime = leaky_runtime(&store, model.clone()).await;
    let mut events = runtime.dispatcher().events().subscribe();
    let report = runtime.start(alice(), "Balance?").await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_clean(
        "the stored run and steps",
        &stored(&store, report.run_id).await,
    );
    let requests = model.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_clean("the next model request", &requests[1]);
    let mut seen = 0;
    while let Ok(envelope) = events.try_recv() {
        seen += 1;
        assert_clean(
            "a security event",
            &serde_json::to_string(&envelope).unwrap(),
        );
    }
    assert!(seen > 0, "the unknown tool was refused with an event");
    assert_clean("the log", &String::from_utf8_lossy(&logs.0.lock().unwrap()));
    backend.cleanup().await;
}

async fn submitted_input(backend: Backend) {
    let logs = logs();
    let store = backend.open().await;
    let runtime = leaky_runtime(&store, Leaky::new(false)).await;
    let state = runtime
        .submit(
            alice(),
            format!("my password is {CANARY}, check my balance"),
        )
        .await
        .unwrap();
    assert_clean(
        "the submitted state",
        &serde_json::to_string(&state.messages).unwrap(),
    );
    assert_clean(
        "the stored run and steps",
        &stored(&store, state.run_id).await,
    );
    assert_clean("the log", &String::from_utf8_lossy(&logs.0.lock().unwrap()));
    backend.cleanup().await;
}

async fn provider_error_bodies(backend: Backend) {
    let logs = logs();
    let store = backend.open().await;
    let runtime = leaky_runtime(&store, Leaky::new(true)).await;
    let report = runtime.start(alice(), "Balance?").await.unwrap();
    let RunOutcome::Failed { error } = &report.outcome else {
        panic!("{:?}", report.outcome);
    };
    assert!(error.contains("[REDACTED:canary]"), "{error}");
    assert_clean("the failed phase", error);
    assert_clean(
        "the stored run and steps",
        &stored(&store, report.run_id).await,
    );
    assert_clean("the log", &String::from_utf8_lossy(&logs.0.lock().unwrap()));
    backend.cleanup().await;
}

on_sqlite_and_postgres!(
    tool_names_and_call_ids_from_the_model,
    submitted_input,
    provider_error_bodies,
);
