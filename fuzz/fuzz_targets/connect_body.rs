//! Fuzz target `connect_body`: the check is `ismld::fuzzing::connect_body` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::connect_body(data));
