//! Fuzz target `frame_decode`: the check is `ismld::fuzzing::frame_decode` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::frame_decode(data));
