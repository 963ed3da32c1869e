//! Fuzz target `nsq_body`: the check is `ismld::fuzzing::nsq_body` (shared with
//! tests/fuzz_regressions.rs, which replays every input ever found).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ismld::fuzzing::nsq_body(data));
