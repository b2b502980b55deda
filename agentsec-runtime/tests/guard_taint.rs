//! The rule of two, per run: untrusted content + private data ⇒ any call
//! that changes state or sends data out needs approval.

use agentsec_runtime::guard::{TaintTracker, UNTRUSTED_USER_INPUT};
use agentsec_runtime::tool::{Effect, EffectKind, Irreversibility, Scope, ToolSpec};

const FETCH: ToolSpec = ToolSpec {
    untrusted: true,
    ..ToolSpec::new("fetch_page", "Fetch a web page.")
};
const ORDERS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List orders.")
};
const CATALOG: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "catalog")],
    scope: Some(Scope::Global),
    pure: false,
    ..ToolSpec::new("search_catalog", "Search the public catalog.")
};
const EMAIL: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Egress, "email")],
    pure: false,
    irreversible: Some(Irreversibility { reason: None }),
    ..ToolSpec::new("send_email", "Send an email.")
};
const NOTE: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Write, "notes")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("save_note", "Save a note.")
};
const READ_AND_SEND: ToolSpec = ToolSpec {
    effects: &[
        Effect::new(EffectKind::Read, "contacts"),
        Effect::new(EffectKind::Egress, "sms"),
    ],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("text_contacts", "Text the user's contacts.")
};

#[test]
fn one_leg_alone_needs_no_approval() {
    let mut untrusted_only = TaintTracker::new();
    untrusted_only.record_call(&FETCH);
    assert!(untrusted_only.requires_approval(&EMAIL).is_none());
    // A write to the user's own notes is itself the private leg (see
    // `a_write_to_the_users_own_data_after_untrusted_content_needs_approval`).
    assert!(untrusted_only.requires_approval(&NOTE).is_some());

    let mut private_only = TaintTracker::new();
    private_only.record_call(&ORDERS);
    assert!(private_only.requires_approval(&EMAIL).is_none());

    // Global data is not private.
    let mut public = TaintTracker::new();
    public.record_call(&FETCH);
    public.record_call(&CATALOG);
    assert!(!public.holds_private_data());
    assert!(public.requires_approval(&EMAIL).is_none());
}

#[test]
fn untrusted_plus_private_requires_approval_for_writes_and_egress() {
    let mut t = TaintTracker::new();
    t.record_call(&ORDERS);
    t.record_call(&FETCH);
    let reason = t.requires_approval(&EMAIL).expect("egress needs approval");
    assert!(
        reason.contains("fetch_page")
            && reason.contains("list_orders")
            && reason.contains("send_email")
    );
    assert!(
        t.requires_approval(&NOTE).is_some(),
        "a write needs approval too"
    );
    // Reads stay allowed.
    assert!(t.requires_approval(&ORDERS).is_none());
    assert!(t.requires_approval(&CATALOG).is_none());
}

#[test]
fn untrusted_user_input_taints_and_a_call_can_supply_the_private_leg() {
    let mut t = TaintTracker::new();
    t.record_untrusted_input(UNTRUSTED_USER_INPUT);
    assert!(t.is_tainted());
    // The call itself reads private data and sends it out.
    let reason = t
        .requires_approval(&READ_AND_SEND)
        .expect("all three legs in one call");
    assert!(reason.contains("text_contacts"));
}

#[test]
fn state_survives_serialization() {
    let mut t = TaintTracker::new();
    t.record_call(&FETCH);
    t.record_call(&ORDERS);
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(
        json["ingested_untrusted"],
        serde_json::json!(["fetch_page"])
    );
    assert_eq!(json["read_private"], serde_json::json!(["list_orders"]));
    let back: TaintTracker = serde_json::from_value(json).unwrap();
    assert_eq!(back, t);
    assert!(back.requires_approval(&EMAIL).is_some());
}

#[test]
fn a_write_to_the_users_own_data_after_untrusted_content_needs_approval() {
    use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
    const ADD_EVENT: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Write, "calendar")],
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("add_calendar_event", "Add an event to the user's calendar.")
    };
    const WRITE_GLOBAL: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Write, "stats")],
        scope: Some(Scope::Global),
        pure: false,
        ..ToolSpec::new("bump_counter", "Count a page view.")
    };
    let mut taint = agentsec_runtime::guard::TaintTracker::new();
    assert!(
        taint.requires_approval(&ADD_EVENT).is_none(),
        "no untrusted content yet"
    );
    taint.record_untrusted_input("fetch_page");
    let reason = taint
        .requires_approval(&ADD_EVENT)
        .expect("the user's own data is the second leg");
    assert!(reason.contains("add_calendar_event"), "{reason}");
    assert!(
        taint.requires_approval(&WRITE_GLOBAL).is_none(),
        "a global write without private data is not"
    );
}
