//! Fuzz target `credentials`: the check is `ismld::fuzzing::credentials` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::credentials(data));
