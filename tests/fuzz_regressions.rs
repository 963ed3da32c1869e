//! Replays every input the fuzzers ever found a problem with (tests/fuzz_regressions/),
//! through the same checks as the fuzz targets in fuzz/fuzz_targets/.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::proto::event::{accept, accept_batch};
use ismld::proto::frame::{ClientFrame, ServerFrame};
use ismld::proto::Limits;
use std::fs;
use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            out.push((entry.path().display().to_string(), fs::read(entry.path()).unwrap()));
        }
    }
    out
}

#[test]
fn frame_decoder_regressions() {
    for (name, data) in inputs("frame_decode") {
        let Ok(text) = std::str::from_utf8(&data) else { continue };
        if let Err(e) = ClientFrame::decode(text) {
            assert!(!ServerFrame::error(e.reference.as_ref(), &e.error).is_empty(), "{name}");
        }
    }
}

#[test]
fn cloudevent_regressions() {
    let limits = Limits::default();
    for (name, data) in inputs("cloudevent") {
        let Ok(text) = std::str::from_utf8(&data) else { continue };
        if let Ok(a) = accept(text, 1_700_000_000_000, &limits) {
            let again = accept(&a.text, 0, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again.text, a.text, "{name}");
            serde_json::from_str::<serde_json::Value>(&a.text)
                .unwrap_or_else(|e| panic!("{name}: stored events are JSON: {e}"));
        }
        let _ = accept_batch(text, 0, &limits);
    }
}
