//! The replay ledger under sustained load, on a simulated clock.
//!
//! Grants are minted and verified in their in-process form (the call
//! pipeline's path) at a steady simulated rate for 90 simulated seconds —
//! three grant lifetimes at the default 30 s, well past the 60 s the issue
//! asks for — so the ledger fills, then forgets expired ids as fast as new
//! ones arrive. Every admission is timed with the wall clock; the bench
//! prints the maximum, the 99.99th percentile, how many took over 1 ms, the
//! ledger's peak allocation and its bound. The mint (no ledger) is timed
//! the same way as a control: on a shared machine a thread is sometimes
//! descheduled for milliseconds, and the control shows how often. Then criterion measures one mint
//! and verify against a ledger in that steady state.
//!
//! `cargo bench -p agentsec-runtime --features test-util --bench replay_ledger`
//! (`REPLAY_RATE` sets the simulated grants per second, default 50,000.)

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::{GrantAuthority, GrantExpectation, GrantRequest};
use agentsec_runtime::tool::ToolSpec;
use criterion::Criterion;

const SPEC: ToolSpec = ToolSpec::new("add", "Add two integers.");
const SIMULATED_SECONDS: u64 = 90;
const START: u64 = 1_800_000_000;

struct Fixture {
    user: UserIdentity,
    run: RunId,
    call: CallId,
}

impl Fixture {
    fn request(&self) -> GrantRequest<'_> {
        GrantRequest {
            user: &self.user,
            agent: "calculator",
            run: self.run,
            call: self.call,
            step: 1,
            spec: &SPEC,
        }
    }

    fn expectation(&self) -> GrantExpectation<'static> {
        GrantExpectation {
            spec: &SPEC,
            run: self.run,
            call: self.call,
        }
    }

    /// Mints and verifies one grant at simulated time `now`.
    fn admit(&self, authority: &GrantAuthority, now: u64) {
        let grant = authority
            .mint_local_at_time(&self.request(), now)
            .expect("mint");
        authority
            .check_local_at_time(&grant, &self.expectation(), &self.user, "calculator", now)
            .expect("a fresh grant is admitted");
    }
}

/// Latencies in nanoseconds, summarised.
struct Latencies(Vec<u32>);

impl Latencies {
    fn push(&mut self, elapsed: Duration) {
        self.0
            .push(elapsed.as_nanos().min(u128::from(u32::MAX)) as u32);
    }

    fn report(mut self, what: &str) {
        let over_1ms = self.0.iter().filter(|&&ns| ns > 1_000_000).count();
        self.0.sort_unstable();
        let at = |q: f64| self.0[((self.0.len() as f64 - 1.0) * q) as usize];
        println!(
            "  {what}: median {} ns, p99.9 {} ns, p99.99 {} µs, max {} µs; over 1 ms: {over_1ms} of {}",
            at(0.5),
            at(0.999),
            at(0.9999) / 1_000,
            self.0.last().copied().unwrap_or(0) / 1_000,
            self.0.len()
        );
    }
}

/// Runs `rate` admissions per simulated second for `SIMULATED_SECONDS`,
/// timing the mint (no ledger: the control for the machine's own pauses)
/// and the verify (MAC and ledger admission) separately.
fn sustained(authority: &GrantAuthority, fixture: &Fixture, rate: u64) {
    let total = (rate * SIMULATED_SECONDS) as usize;
    let mut mint = Latencies(Vec::with_capacity(total));
    let mut verify = Latencies(Vec::with_capacity(total));
    let mut peak_bytes = 0;
    let mut peak_ids = 0;
    let started = Instant::now();
    for second in 0..SIMULATED_SECONDS {
        let now = START + second;
        for _ in 0..rate {
            let t = Instant::now();
            let grant = authority
                .mint_local_at_time(&fixture.request(), now)
                .expect("mint");
            let minted = Instant::now();
            authority
                .check_local_at_time(
                    &grant,
                    &fixture.expectation(),
                    &fixture.user,
                    "calculator",
                    now,
                )
                .expect("a fresh grant is admitted");
            verify.push(minted.elapsed());
            mint.push(minted - t);
        }
        peak_bytes = peak_bytes.max(authority.replay_allocated_bytes());
        peak_ids = peak_ids.max(authority.replay_remembered());
    }
    let wall = started.elapsed();
    println!();
    println!(
        "replay_ledger: {total} grants at {rate}/s for {SIMULATED_SECONDS} simulated s (grant lifetime 30 s) in {:.1} s of wall time",
        wall.as_secs_f64()
    );
    verify.report("verify (MAC + ledger admission)");
    mint.report("mint (MAC only, the control)");
    println!(
        "  ledger: peak {peak_ids} ids remembered, peak {:.1} MB allocated; bound {} ids",
        peak_bytes as f64 / 1e6,
        authority.replay_capacity()
    );
}

fn main() {
    let rate = std::env::var("REPLAY_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50_000);
    let measuring = std::env::args().any(|a| a == "--bench");
    let fixture = Fixture {
        user: UserIdentity::new("alice"),
        run: RunId::new(),
        call: CallId::new(),
    };
    let authority = GrantAuthority::random();
    if measuring {
        sustained(&authority, &fixture, rate);
    } else {
        // `cargo test --benches`: a short run that still crosses expiry.
        for second in 0..40 {
            for _ in 0..100 {
                fixture.admit(&authority, START + second);
            }
        }
        assert!(authority.replay_remembered() <= 31 * 100 + 100);
    }
    // Steady state: the ledger as full as the sustained run left it.
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    // The simulated clock keeps running at `rate` grants a second.
    let mut admitted: u64 = 0;
    c.bench_function("replay_ledger/steady_mint_verify", |b| {
        b.iter(|| {
            let now = START + SIMULATED_SECONDS + admitted / rate;
            admitted += 1;
            fixture.admit(black_box(&authority), now)
        })
    });
    c.final_summary();
}
