//! Replays every input a fuzzer ever found a problem with (tests/fuzz_regressions/<target>/)
//! through the same checks as the fuzz targets (`ismld::fuzzing`, fuzz/fuzz_targets/).
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use std::fs;
use std::path::Path;

#[test]
fn every_regression_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for (target, check) in ismld::fuzzing::TARGETS {
        for entry in fs::read_dir(root.join(target)).into_iter().flatten().flatten() {
            if entry.path().is_file() {
                let data = fs::read(entry.path()).unwrap();
                let name = entry.path().display().to_string();
                std::panic::catch_unwind(|| check(&data)).unwrap_or_else(|_| panic!("{name}"));
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "the regression inputs are there");
}
