//! The fuzz targets on stable Rust, as CI runs them: every committed corpus
//! input (`fuzz/corpus/<target>/`), then a few thousand inputs per target
//! mutated from the corpus by a fixed-seed generator, and some plain noise.
//! The targets are the functions the cargo-fuzz binaries call
//! (`agentsec_runtime::fuzzing`); they must not panic, and those with a
//! property (the argument decoder's fast path agrees with the slow one, an
//! accepted grant is accepted once) assert it.

use std::path::{Path, PathBuf};

use agentsec_runtime::fuzzing::TARGETS;

/// Mutated inputs per target.
const MUTATIONS: usize = 3_000;
/// Random inputs per target.
const NOISE: usize = 500;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The committed inputs of `target`, sorted by file name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (name.unwrap_or_default(), bytes)
        })
        .collect()
}

/// splitmix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Fragments that matter to JSON and JWT parsers.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b".",
    b"null",
    b"true",
    b"-",
    b"1e999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.5",
    b"\\u0000",
    b"\\ud800",
    b"\\\"",
    b"\xff",
    b"\xc3\xa9",
    b"\n",
    b"==",
    b"eyJ",
    b"\"alg\":\"none\"",
    b"\"exp\":0",
    b"\"nbf\":99999999999",
    b"[[[[[[[[",
];

/// One random edit of `input` (sometimes with a piece of `other`).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.byte();
            }
            2 => out.insert(at, rng.byte()),
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            5 => out.truncate(at),
            6 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                // Repeat a slice: long strings, deep nesting.
                let end = (at + 1 + rng.below(8)).min(out.len());
                let piece = out[at.min(end)..end].to_vec();
                for _ in 0..rng.below(64) {
                    out.splice(at..at, piece.iter().copied());
                }
            }
        }
    }
    out
}

fn run(target: &str, f: fn(&[u8]), origin: &str, input: &[u8]) {
    let outcome = std::panic::catch_unwind(|| f(input));
    assert!(
        outcome.is_ok(),
        "fuzz target `{target}` panicked on {origin}: {:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn every_target_has_a_cargo_fuzz_binary_and_a_seed_corpus() {
    for (name, _) in TARGETS {
        let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&binary)
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        assert!(
            source.contains(&format!("agentsec_runtime::fuzzing::{name}(")),
            "{} does not call the shared target",
            binary.display()
        );
        assert!(
            corpus(name).len() >= 5,
            "the corpus of `{name}` has fewer than 5 inputs"
        );
    }
}

#[test]
fn the_committed_corpus_replays_without_a_panic() {
    for (name, f) in TARGETS {
        for (file, input) in corpus(name) {
            run(name, *f, &format!("corpus file {file}"), &input);
        }
    }
}

#[test]
fn mutated_and_random_inputs_run_without_a_panic() {
    for (index, (name, f)) in TARGETS.iter().enumerate() {
        let seeds = corpus(name);
        let mut rng = Rng(0x00a6_e175_ec00 + index as u64);
        for i in 0..MUTATIONS {
            let (file, seed) = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())].1;
            let input = mutate(&mut rng, seed, other);
            run(name, *f, &format!("mutation {i} of {file}"), &input);
        }
        for i in 0..NOISE {
            let len = rng.below(256);
            let input: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            run(name, *f, &format!("random input {i}"), &input);
        }
    }
}

#[test]
fn the_generator_reaches_the_checks_behind_the_signatures() {
    // Signed seeds get past the MAC: mutating them must keep reaching the
    // claim checks, or the grant and session targets fuzz only the framing.
    use agentsec_runtime::fuzzing::{GRANT_KEY, GRANT_NOW, grant_expectation};
    use agentsec_runtime::permission::{GrantAuthority, GrantError};
    let authority = GrantAuthority::new(GRANT_KEY).unwrap();
    let mut reasons = std::collections::BTreeSet::new();
    for (_, input) in corpus("grant_token") {
        let token = agentsec_runtime::fuzzing::token_from(GRANT_KEY, &input);
        match authority.verify_at_time(&token, &grant_expectation(), GRANT_NOW) {
            Ok(_) => {
                reasons.insert("accepted".to_owned());
            }
            Err(GrantError::Malformed(_)) => {
                reasons.insert("malformed".to_owned());
            }
            Err(e) => {
                reasons.insert(
                    format!("{e:?}")
                        .split([' ', '(', '{'])
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    }
    for expected in [
        "accepted",
        "Expired",
        "TooLong",
        "WrongTool",
        "EffectNotGranted",
        "ScopeMismatch",
        "InvalidSignature",
        "WrongAlgorithm",
        "malformed",
    ] {
        assert!(
            reasons.contains(expected),
            "no seed reaches {expected}: {reasons:?}"
        );
    }
}
