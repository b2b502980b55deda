//! The cost of the guarded path: a two-integer `add` tool called (a) as a
//! plain async fn and (b) through `Dispatcher::dispatch`, the whole call
//! pipeline: strict decoding, the policy and the outgoing checks, the grant
//! minted and verified, the body run with a panic caught, the result
//! serialized and redacted. The parts of (b) are measured on their own too:
//! the grant in its JWT form (`grant_mint_verify`, for a grant presented
//! from another process) and in the in-process form the pipeline mints
//! (`grant_local_mint_verify`).
//!
//! `cargo bench -p agentsec --bench guarded_call`

mod common;

use std::hint::black_box;

use agentsec::identity::CallId;
use agentsec::permission::{GrantAuthority, GrantExpectation, GrantRequest};
use agentsec::prelude::*;
use agentsec::tool_api::{ArgLimits, decode_args};
use criterion::Criterion;

/// Add two integers.
#[tool(pure)]
async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

const GROUP: &str = "guarded_call";
/// The target for the guarded dispatch (issue 8): 1.3 µs median.
const TARGET_NS: f64 = 1_300.0;
/// The target for a grant minted and verified (issue 17): 1.5 µs median.
const GRANT_TARGET_NS: f64 = 1_500.0;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let dispatcher = rt
        .block_on(Dispatcher::builder().tool::<Add>().build())
        .expect("add has no needs");
    let call = CallContext::new(RunId::new(), 1, "calculator", UserIdentity::new("alice"));
    let user = UserIdentity::new("alice");
    let authority = GrantAuthority::random();
    let schema = <Add as Tool>::schema();
    let (run, call_id) = (RunId::new(), CallId::new());
    let request = GrantRequest {
        user: &user,
        agent: "calculator",
        run,
        call: call_id,
        step: 1,
        spec: &<Add as Tool>::SPEC,
    };
    let expectation = GrantExpectation {
        spec: &<Add as Tool>::SPEC,
        run,
        call: call_id,
    };

    let mut group = c.benchmark_group(GROUP);
    group.bench_function("direct", |b| {
        b.to_async(&rt)
            .iter(|| async { add(black_box(2), black_box(40)).await })
    });
    group.bench_function("dispatch", |b| {
        b.to_async(&rt).iter(|| async {
            dispatcher
                .dispatch(&call, "add", black_box(r#"{"a": 2, "b": 40}"#))
                .await
        })
    });
    group.bench_function("grant_mint", |b| {
        b.iter(|| authority.mint(black_box(&request)))
    });
    group.bench_function("grant_mint_verify", |b| {
        b.iter(|| {
            let grant = authority.mint(black_box(&request)).expect("mint");
            authority.verify(&grant.token, &expectation)
        })
    });
    group.bench_function("grant_local_mint_verify", |b| {
        b.iter(|| {
            let grant = authority.mint_local(black_box(&request)).expect("mint");
            authority.check_local(&grant, &expectation, &user, "calculator")
        })
    });
    group.bench_function("decode_args", |b| {
        b.iter(|| {
            decode_args::<AddArgs>(
                schema,
                black_box(r#"{"a": 2, "b": 40}"#),
                ArgLimits::default(),
            )
        })
    });
    group.finish();
}

fn summary() {
    if !common::measuring() {
        return;
    }
    let (Some(direct), Some(dispatch)) = (
        common::median_ns(GROUP, "direct"),
        common::median_ns(GROUP, "dispatch"),
    ) else {
        println!(
            "guarded_call: no estimates found under {:?}",
            common::output_directory()
        );
        return;
    };
    println!();
    println!(
        "guarded_call: direct {}, guarded dispatch {} (ratio {:.0}x)",
        common::human(direct),
        common::human(dispatch),
        dispatch / direct
    );
    for part in [
        "grant_mint",
        "grant_mint_verify",
        "grant_local_mint_verify",
        "decode_args",
    ] {
        if let Some(ns) = common::median_ns(GROUP, part) {
            println!(
                "  {part}: {} ({:.0}% of the dispatch)",
                common::human(ns),
                ns / dispatch * 100.0
            );
        }
    }
    common::report_at_most("guarded dispatch", dispatch, TARGET_NS);
    if let Some(local) = common::median_ns(GROUP, "grant_local_mint_verify") {
        common::report_at_most(
            "grant mint + verify (in-process form)",
            local,
            GRANT_TARGET_NS,
        );
    }
}

fn main() {
    let mut c = common::criterion();
    bench(&mut c);
    c.final_summary();
    summary();
}
