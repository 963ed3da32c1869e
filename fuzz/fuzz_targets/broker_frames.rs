//! Fuzz target `broker_frames`: the check is `ismld::fuzzing::broker_frames` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::broker_frames(data));
