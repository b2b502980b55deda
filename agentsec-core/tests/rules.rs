//! Each tool and agent rule: a spec that breaks it, and the nearest spec
//! that does not.

use agentsec_core::rules::MAX_ITERATIONS;
use agentsec_core::{
    AgentRule, AgentSpec, BudgetSpec, Effect, EffectKind, Irreversibility, Scope, ToolRule,
    ToolSpec, is_valid_tool_name,
};

const IRREVERSIBLE: Option<Irreversibility> = Some(Irreversibility {
    reason: Some("cannot be undone"),
});

fn with(effects: &'static [Effect], scope: Option<Scope>) -> ToolSpec {
    ToolSpec {
        effects,
        scope,
        pure: effects.is_empty(),
        ..ToolSpec::new("tool", "A tool.")
    }
}

fn broken(spec: ToolSpec) -> Vec<ToolRule> {
    spec.violations()
}

const READ: &[Effect] = &[Effect::new(EffectKind::Read, "orders")];
const WRITE: &[Effect] = &[Effect::new(EffectKind::Write, "orders")];
const DELETE: &[Effect] = &[Effect::new(EffectKind::Delete, "orders")];
const EGRESS: &[Effect] = &[Effect::new(EffectKind::Egress, "email")];

#[test]
fn a_well_formed_spec_breaks_nothing() {
    assert_eq!(ToolSpec::new("add", "Add.").check(), Ok(()));
    assert_eq!(with(READ, Some(Scope::User)).check(), Ok(()));
    let refund = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..with(WRITE, Some(Scope::User))
    };
    assert_eq!(refund.check(), Ok(()));
}

#[test]
fn tool_name_grammar() {
    assert!(is_valid_tool_name("a"));
    assert!(is_valid_tool_name(&"x".repeat(64)));
    assert!(!is_valid_tool_name(&"x".repeat(65)));
    assert!(!is_valid_tool_name(""));
    for bad in ["a b", "a.b", "a/b", "é", "a\u{0}"] {
        assert!(!is_valid_tool_name(bad), "{bad:?}");
    }
    let spec = ToolSpec::new("list orders", "List.");
    assert_eq!(spec.check(), Err(ToolRule::InvalidName));
}

#[test]
fn description_required() {
    assert_eq!(
        ToolSpec::new("t", "  ").check(),
        Err(ToolRule::MissingDescription)
    );
}

#[test]
fn not_pure_needs_an_effect() {
    let spec = ToolSpec {
        pure: false,
        ..ToolSpec::new("t", "T.")
    };
    assert_eq!(broken(spec), [ToolRule::NoEffect]);
}

#[test]
fn pure_has_no_effects_and_no_scope() {
    let spec = ToolSpec {
        pure: true,
        ..with(READ, Some(Scope::User))
    };
    assert_eq!(
        broken(spec),
        [ToolRule::PureWithEffects, ToolRule::PureWithScope]
    );
    let spec = ToolSpec {
        scope: Some(Scope::Global),
        ..ToolSpec::new("t", "T.")
    };
    assert_eq!(broken(spec), [ToolRule::PureWithScope]);
}

#[test]
fn empty_resource_refused() {
    const BLANK: &[Effect] = &[Effect::new(EffectKind::Read, " ")];
    assert_eq!(
        broken(with(BLANK, Some(Scope::User))),
        [ToolRule::EmptyResource]
    );
}

#[test]
fn data_effects_need_a_scope_egress_does_not() {
    for effects in [READ, WRITE] {
        assert_eq!(
            broken(with(effects, None)),
            [ToolRule::DataEffectWithoutScope]
        );
    }
    let send = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..with(EGRESS, None)
    };
    assert_eq!(send.check(), Ok(()));
}

#[test]
fn delete_and_egress_must_be_irreversible() {
    assert_eq!(
        with(DELETE, Some(Scope::User)).check(),
        Err(ToolRule::DeleteNotIrreversible)
    );
    assert_eq!(
        with(EGRESS, None).check(),
        Err(ToolRule::EgressNotIrreversible)
    );
    let fixed = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..with(DELETE, Some(Scope::User))
    };
    assert_eq!(fixed.check(), Ok(()));
}

#[test]
fn irreversible_needs_a_change() {
    let spec = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..with(READ, Some(Scope::User))
    };
    assert_eq!(spec.check(), Err(ToolRule::IrreversibleWithoutChange));
    let pure = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..ToolSpec::new("t", "T.")
    };
    assert_eq!(pure.check(), Err(ToolRule::IrreversibleWithoutChange));
}

#[test]
fn check_is_usable_in_const() {
    const SPEC: ToolSpec = ToolSpec {
        effects: DELETE,
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("purge", "Purge.")
    };
    const BROKEN: bool = matches!(SPEC.check(), Err(ToolRule::DeleteNotIrreversible));
    const { assert!(BROKEN) };
}

#[test]
fn every_rule_has_a_message_and_help() {
    for rule in ToolRule::ALL {
        assert!(!rule.message().is_empty() && !rule.help().is_empty());
        assert!(rule.to_string().contains("\n= help: "), "{rule:?}");
    }
}

fn agent(tools: &'static [ToolSpec]) -> AgentSpec {
    AgentSpec {
        name: "a",
        prompt: "P.",
        prompt_version: "000000000000",
        prompt_file: None,
        tools,
        max_iterations: 3,
        budget: BudgetSpec {
            tokens: Some(1),
            ..BudgetSpec::UNLIMITED
        },
        model: None,
        untrusted_input: false,
    }
}

#[test]
fn agent_rules() {
    assert_eq!(agent(&[]).check(), Ok(()));
    for n in [0, MAX_ITERATIONS + 1] {
        let spec = AgentSpec {
            max_iterations: n,
            ..agent(&[])
        };
        assert_eq!(spec.check(), Err(AgentRule::MaxIterations));
    }
    let spec = AgentSpec {
        budget: BudgetSpec::UNLIMITED,
        ..agent(&[])
    };
    assert_eq!(spec.check(), Err(AgentRule::NoBudget));

    const TWO: &[ToolSpec] = &[ToolSpec::new("x", "X."), ToolSpec::new("x", "Y.")];
    assert_eq!(
        agent(TWO).check(),
        Err(AgentRule::DuplicateToolName { tool: "x" })
    );

    const BAD_TOOL: &[ToolSpec] = &[ToolSpec {
        effects: DELETE,
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("purge", "Purge.")
    }];
    let err = agent(BAD_TOOL).check().unwrap_err();
    assert_eq!(
        err,
        AgentRule::Tool {
            tool: "purge",
            rule: ToolRule::DeleteNotIrreversible
        }
    );
    assert!(err.to_string().starts_with("tool `purge`: deletes data"));
}

#[test]
fn lethal_trifecta() {
    const READ_PRIVATE: ToolSpec = ToolSpec {
        effects: READ,
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("read", "Read.")
    };
    const FETCH: ToolSpec = ToolSpec {
        untrusted: true,
        ..ToolSpec::new("fetch", "Fetch.")
    };
    // An egress tool that is not irreversible breaks its own rule first;
    // the trifecta holds only once that one is waived, so check the
    // function directly too.
    const SEND: ToolSpec = ToolSpec {
        effects: EGRESS,
        pure: false,
        ..ToolSpec::new("send", "Send.")
    };
    assert!(agentsec_core::has_lethal_trifecta(&[
        READ_PRIVATE,
        FETCH,
        SEND
    ]));
    assert!(!agentsec_core::has_lethal_trifecta(&[READ_PRIVATE, SEND]));
    const SEND_APPROVED: ToolSpec = ToolSpec {
        irreversible: IRREVERSIBLE,
        ..SEND
    };
    const SAFE: &[ToolSpec] = &[READ_PRIVATE, FETCH, SEND_APPROVED];
    assert_eq!(agent(SAFE).check(), Ok(()));
}
