#![no_main]

// The target's body is shared with the stable `fuzz_replay` test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentsec_runtime::fuzzing::grant_token(data);
});
