//! Compile-time rules: every rule has a failing case with its error snapshot
//! (`ui/fail/*.stderr`), every accepted form a passing case (`ui/pass`).
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p agentsec-tests --test ui`
//! and review them: the error messages are part of the product.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
