//! The policy deciding each tool call: an agent never exceeds the user it
//! acts for, scopes hold, global writes need a role, irreversible calls wait
//! for a person, and composed policies let the first denial win.

use agentsec_runtime::identity::UserIdentity;
use agentsec_runtime::permission::{
    AgentPermissions, Decision, DefaultPolicy, DynPolicy, EffectSet, Policy, PolicyRequest,
    PolicySet, RolePolicy, RoleRules,
};
use agentsec_runtime::tool::{Effect, EffectKind, Irreversibility, Scope, ToolSpec};
use serde_json::{Value, json};

const LIST_ORDERS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List the user's orders.")
};

const REFUND: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Write, "payments")],
    scope: Some(Scope::User),
    pure: false,
    irreversible: Some(Irreversibility {
        reason: Some("moves money"),
    }),
    ..ToolSpec::new("refund_order", "Refund an order.")
};

const TEAM_TICKETS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "tickets")],
    scope: Some(Scope::Tenant),
    pure: false,
    ..ToolSpec::new("team_tickets", "List the team's tickets.")
};

const PURGE_CACHE: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Delete, "cache")],
    scope: Some(Scope::Global),
    pure: false,
    ..ToolSpec::new("purge_cache", "Purge the cache.")
};

const PRICE_LIST: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "prices")],
    scope: Some(Scope::Global),
    pure: false,
    ..ToolSpec::new("price_list", "Read public prices.")
};

/// Hand-written: data effect without scope (the macro would refuse it).
const UNSCOPED: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: None,
    pure: false,
    ..ToolSpec::new("unscoped", "Read orders of anyone.")
};

const ADD: ToolSpec = ToolSpec::new("add", "Add two numbers.");

fn decide(
    policy: &dyn DynPolicy,
    user: &UserIdentity,
    agent_permissions: Option<&AgentPermissions>,
    tool: &ToolSpec,
    arguments: Value,
) -> Decision {
    let request = PolicyRequest {
        user,
        agent: "support",
        agent_permissions,
        tool,
        arguments: &arguments,
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(policy.decide_boxed(&request))
}

fn alice() -> UserIdentity {
    UserIdentity::new("alice").with_tenant("acme")
}

#[test]
fn user_scoped_tools_act_on_the_calling_user_only() {
    let policy = DefaultPolicy::new();
    let p = &policy as &dyn DynPolicy;
    assert!(decide(p, &alice(), None, &LIST_ORDERS, json!({ "limit": 5 })).is_allow());
    // Naming yourself is fine.
    assert!(
        decide(
            p,
            &alice(),
            None,
            &LIST_ORDERS,
            json!({ "user_id": "alice" })
        )
        .is_allow()
    );

    for args in [
        json!({ "user_id": "bob" }),
        json!({ "userId": "bob" }),
        json!({ "Owner-ID": "bob" }),
        json!({ "customer_id": 42 }),
        json!({ "filter": { "account_id": "bob" } }),
        json!({ "filters": [{ "limit": 1 }, { "owner_id": "bob" }] }),
        json!({ "user_id": ["alice", "bob"] }),
        json!({ "tenant_id": "globex" }),
        // The names the policy's own list missed before it became the one
        // list in agentsec-core (the macro refused them, the policy did not).
        json!({ "principal": "bob" }),
        json!({ "on_behalf_of": "bob" }),
        json!({ "workspace_id": "globex" }),
        json!({ "uid": "bob" }),
    ] {
        let decision = decide(p, &alice(), None, &LIST_ORDERS, args.clone());
        assert!(decision.is_deny(), "{args}: {decision:?}");
    }

    let anonymous = UserIdentity::new(" ");
    assert!(decide(p, &anonymous, None, &LIST_ORDERS, json!({})).is_deny());
}

#[test]
fn too_deeply_nested_arguments_are_refused_not_half_checked() {
    let mut args = json!({ "limit": 1 });
    for _ in 0..40 {
        args = json!({ "inner": args });
    }
    let decision = decide(&DefaultPolicy::new(), &alice(), None, &LIST_ORDERS, args);
    assert_eq!(
        decision,
        Decision::deny("the arguments are nested too deeply")
    );
}

#[test]
fn tenant_scoped_tools_need_a_user_with_a_tenant() {
    let policy = DefaultPolicy::new();
    assert!(decide(&policy, &alice(), None, &TEAM_TICKETS, json!({})).is_allow());
    assert!(
        decide(
            &policy,
            &UserIdentity::new("solo"),
            None,
            &TEAM_TICKETS,
            json!({})
        )
        .is_deny()
    );
    assert!(
        decide(
            &policy,
            &UserIdentity::new("x").with_tenant(""),
            None,
            &TEAM_TICKETS,
            json!({})
        )
        .is_deny()
    );
    assert!(
        decide(
            &policy,
            &alice(),
            None,
            &TEAM_TICKETS,
            json!({ "org_id": "globex" })
        )
        .is_deny()
    );
    assert!(
        decide(
            &policy,
            &alice(),
            None,
            &TEAM_TICKETS,
            json!({ "org_id": "acme" })
        )
        .is_allow()
    );
}

#[test]
fn global_writes_need_the_named_role() {
    let admin = UserIdentity::new("root").with_roles(["admin"]);
    let policy = DefaultPolicy::new().global_writes_require_role("admin");
    assert!(decide(&policy, &admin, None, &PURGE_CACHE, json!({})).is_allow());
    assert!(decide(&policy, &alice(), None, &PURGE_CACHE, json!({})).is_deny());
    // Reading global data needs no role.
    assert!(decide(&policy, &alice(), None, &PRICE_LIST, json!({})).is_allow());
    // With no role named, global writes are denied to everyone.
    assert!(decide(&DefaultPolicy::new(), &admin, None, &PURGE_CACHE, json!({})).is_deny());
}

#[test]
fn irreversible_tools_require_approval_unless_denied() {
    let policy = DefaultPolicy::new();
    assert_eq!(
        decide(
            &policy,
            &alice(),
            None,
            &REFUND,
            json!({ "order_id": "o-1" })
        ),
        Decision::require_approval("`refund_order` cannot be undone: moves money")
    );
    // A denial is not turned into an approval request.
    assert!(
        decide(
            &policy,
            &alice(),
            None,
            &REFUND,
            json!({ "user_id": "bob" })
        )
        .is_deny()
    );
}

#[test]
fn data_effects_without_a_scope_are_refused() {
    assert!(decide(&DefaultPolicy::new(), &alice(), None, &UNSCOPED, json!({})).is_deny());
    // A pure tool needs no scope.
    assert!(decide(&DefaultPolicy::new(), &alice(), None, &ADD, json!({})).is_allow());
}

#[test]
fn an_agent_narrowed_by_the_application_stays_inside_its_permissions() {
    let policy = DefaultPolicy::new();
    let read_only = AgentPermissions::new(EffectSet::parse(["read:*"]).unwrap());
    assert!(decide(&policy, &alice(), Some(&read_only), &LIST_ORDERS, json!({})).is_allow());
    let refused = decide(&policy, &alice(), Some(&read_only), &REFUND, json!({}));
    assert!(refused.is_deny());
    assert!(refused.reason().unwrap().contains("write:payments"));

    // Effects allowed, tool not listed: still denied.
    let listed =
        AgentPermissions::new(EffectSet::parse(["read:*"]).unwrap()).with_tools(["list_orders"]);
    assert!(decide(&policy, &alice(), Some(&listed), &LIST_ORDERS, json!({})).is_allow());
    assert!(decide(&policy, &alice(), Some(&listed), &TEAM_TICKETS, json!({})).is_deny());

    let only_list = AgentPermissions::from_specs(&[&LIST_ORDERS]);
    assert!(decide(&policy, &alice(), Some(&only_list), &LIST_ORDERS, json!({})).is_allow());
    assert!(
        decide(
            &policy,
            &alice(),
            Some(&only_list),
            &TEAM_TICKETS,
            json!({})
        )
        .is_deny()
    );
}

#[test]
fn an_agent_never_exceeds_the_user_it_acts_for() {
    let policy = DefaultPolicy::new()
        .user_effects_for_role("customer", EffectSet::parse(["read:orders"]).unwrap())
        .user_effects_for_role("billing", EffectSet::parse(["write:payments"]).unwrap());
    let agent = AgentPermissions::from_specs(&[&LIST_ORDERS, &REFUND]);
    let customer = alice().with_roles(["customer"]);
    let billing = alice().with_roles(["customer", "billing"]);

    assert!(decide(&policy, &customer, Some(&agent), &LIST_ORDERS, json!({})).is_allow());
    // The agent may refund, but the customer it acts for may not: denied.
    let refused = decide(&policy, &customer, Some(&agent), &REFUND, json!({}));
    assert!(refused.is_deny(), "{refused:?}");
    assert!(matches!(
        decide(&policy, &billing, Some(&agent), &REFUND, json!({})),
        Decision::RequireApproval { .. }
    ));
    // A user with no configured role may do nothing with effects.
    assert!(
        decide(
            &policy,
            &UserIdentity::new("x"),
            None,
            &LIST_ORDERS,
            json!({})
        )
        .is_deny()
    );

    // Limits may also come from a function.
    let by_function = DefaultPolicy::new().user_effects(|user| {
        if user.id == "alice" {
            EffectSet::parse(["read:orders"]).unwrap()
        } else {
            EffectSet::new()
        }
    });
    assert!(decide(&by_function, &alice(), None, &LIST_ORDERS, json!({})).is_allow());
    assert!(
        decide(
            &by_function,
            &UserIdentity::new("bob"),
            None,
            &LIST_ORDERS,
            json!({})
        )
        .is_deny()
    );
}

#[test]
fn role_policy_allows_what_a_role_names() {
    let policy = RolePolicy::new()
        .role(
            "support",
            RoleRules::new().effects(EffectSet::parse(["read:orders", "read:tickets"]).unwrap()),
        )
        .role("billing", RoleRules::new().tools(["refund_order"]));
    let support = alice().with_roles(["support"]);
    let billing = alice().with_roles(["billing"]);
    assert!(decide(&policy, &support, None, &LIST_ORDERS, json!({})).is_allow());
    assert!(decide(&policy, &support, None, &REFUND, json!({})).is_deny());
    assert!(decide(&policy, &billing, None, &REFUND, json!({})).is_allow());
    assert!(decide(&policy, &billing, None, &LIST_ORDERS, json!({})).is_deny());
    assert!(decide(&policy, &alice(), None, &ADD, json!({})).is_deny());
    assert!(decide(&policy, &support, None, &ADD, json!({})).is_allow());
}

struct Fixed(Decision);

impl Policy for Fixed {
    async fn decide(&self, _request: &PolicyRequest<'_>) -> Decision {
        self.0.clone()
    }
}

#[test]
fn composed_policies_let_the_first_denial_win() {
    let allow = || Fixed(Decision::Allow);
    let deny = |r: &str| Fixed(Decision::deny(r));
    let approve = |r: &str| Fixed(Decision::require_approval(r));
    let user = alice();
    let ask = |set: PolicySet| decide(&set, &user, None, &ADD, json!({}));

    assert_eq!(
        ask(PolicySet::new().with(allow()).with(allow())),
        Decision::Allow
    );
    assert_eq!(
        ask(PolicySet::new()
            .with(allow())
            .with(deny("a"))
            .with(deny("b"))),
        Decision::deny("a")
    );
    assert_eq!(
        ask(PolicySet::new().with(approve("x")).with(deny("a"))),
        Decision::deny("a")
    );
    assert_eq!(
        ask(PolicySet::new()
            .with(allow())
            .with(approve("x"))
            .with(approve("y"))),
        Decision::require_approval("x")
    );
    assert!(ask(PolicySet::new()).is_deny());

    // The default rules and an application rule together.
    let combined = PolicySet::new()
        .with(DefaultPolicy::new())
        .with(RolePolicy::new().role("billing", RoleRules::new().tools(["refund_order"])));
    let billing = alice().with_roles(["billing"]);
    assert!(matches!(
        decide(&combined, &billing, None, &REFUND, json!({})),
        Decision::RequireApproval { .. }
    ));
    assert!(decide(&combined, &alice(), None, &REFUND, json!({})).is_deny());
}

#[test]
fn effect_patterns_are_validated() {
    for bad in ["read", "launch:missiles", "read:", ":orders"] {
        assert!(EffectSet::parse([bad]).is_err(), "{bad}");
    }
    let set = EffectSet::parse(["read:orders", "write:*"]).unwrap();
    assert_eq!(set.to_string(), "read:orders, write:*");
}
