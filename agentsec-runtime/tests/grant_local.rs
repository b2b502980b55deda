//! The call pipeline runs every tool under an in-process grant: the tool
//! sees the same verified claims a JWT grant carries, and a JWT presented
//! from outside is still accepted once.

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::{GrantError, GrantExpectation, GrantRequest};
use agentsec_runtime::tool::{
    CallContext, Dispatcher, Effect, EffectKind, Scope, Tool, ToolCtx, ToolError, ToolSpec,
};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Args {}

/// Returns the claims of the grant it runs under.
struct WhoAmI;
impl Tool for WhoAmI {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Read, "orders")],
        scope: Some(Scope::Tenant),
        pure: false,
        ..ToolSpec::new("who_am_i", "Says who it runs for.")
    };
    type Args = Args;
    type Output = serde_json::Value;
    async fn execute(ctx: &ToolCtx, _: Args) -> Result<serde_json::Value, ToolError> {
        let claims = ctx.grant_claims().expect("the pipeline verified a grant");
        Ok(serde_json::to_value(claims).expect("claims serialize"))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn a_tool_sees_the_claims_of_its_in_process_grant() {
    runtime().block_on(async {
        let dispatcher = Dispatcher::builder()
            .tool::<WhoAmI>()
            .build()
            .await
            .unwrap();
        let user = UserIdentity::new("alice")
            .with_tenant("acme")
            .with_roles(["support"]);
        let call = CallContext::new(RunId::new(), 4, "support", user);
        let claims = dispatcher.dispatch(&call, "who_am_i", "{}").await.unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["tenant"], "acme");
        assert_eq!(claims["roles"], serde_json::json!(["support"]));
        assert_eq!(claims["agent"], "support");
        assert_eq!(claims["tool"], "who_am_i");
        assert_eq!(claims["step"], 4);
        assert_eq!(claims["scope"], "tenant");
        assert_eq!(claims["effects"], serde_json::json!(["read:orders"]));
        assert_eq!(claims["call"], serde_json::json!(call.call_id));
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert_eq!(lifetime, 30);
    });
}

#[test]
fn an_exported_grant_presented_by_another_worker_runs_once() {
    runtime().block_on(async {
        let dispatcher = Dispatcher::builder()
            .tool::<WhoAmI>()
            .build()
            .await
            .unwrap();
        let authority = dispatcher.grants().clone();
        let user = UserIdentity::new("alice").with_tenant("acme");
        let (run, call_id) = (RunId::new(), CallId::new());
        let mut call = CallContext::new(run, 1, "support", user.clone());
        call.call_id = call_id;
        let local = authority
            .mint_local(&GrantRequest {
                user: &user,
                agent: "support",
                run,
                call: call_id,
                step: 1,
                spec: &WhoAmI::SPEC,
            })
            .unwrap();
        let jwt = authority.export_jwt(&local, &user, "support").unwrap();
        let claims = dispatcher
            .dispatch_with_grant(&call, "who_am_i", "{}", &jwt)
            .await
            .unwrap();
        assert_eq!(claims["jti"], local.jti());
        let again = dispatcher
            .dispatch_with_grant(&call, "who_am_i", "{}", &jwt)
            .await
            .unwrap_err();
        assert!(
            matches!(
                again,
                ToolError::Grant {
                    source: GrantError::Replayed,
                    ..
                }
            ),
            "{again:?}"
        );
        // The local form of the same grant is a replay too.
        let expected = GrantExpectation {
            spec: &WhoAmI::SPEC,
            run,
            call: call_id,
        };
        assert_eq!(
            authority.check_local(&local, &expected, &user, "support"),
            Err(GrantError::Replayed)
        );
    });
}
