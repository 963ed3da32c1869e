//! Fuzz target `cloudevent`: the check is `ismld::fuzzing::cloudevent` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::cloudevent(data));
