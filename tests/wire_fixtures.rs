//! Golden wire fixtures (tests/fixtures/), shared with the JS tests: every frame fixture
//! decodes to the op its name says, every event fixture validates unchanged.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::proto::codec::ServerMessage;
use ismld::proto::event::accept;
use ismld::proto::frame::ClientFrame;
use ismld::proto::Limits;
use std::fs;
use std::path::Path;

fn fixtures(kind: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(kind);
    let mut out: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.path().file_stem().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn frame_fixtures_decode() {
    let all = fixtures("frames");
    assert!(all.len() >= 3);
    for (name, text) in all {
        let frame = ClientFrame::decode(text.trim()).unwrap_or_else(|e| panic!("{name}: {:?}", e.error));
        assert_eq!(frame.op(), name, "fixture {name}.json holds a {name} frame");
    }
}

#[test]
fn client_frame_fixtures_encode_back_to_the_same_json() {
    for (name, text) in fixtures("frames") {
        let frame = ClientFrame::decode(text.trim()).unwrap_or_else(|e| panic!("{name}: {:?}", e.error));
        let a: serde_json::Value = serde_json::from_str(&frame.encode()).unwrap();
        let b: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(a, b, "{name}: the client's encoder writes what the fixture holds");
    }
}

#[test]
fn server_frame_fixtures_decode_on_the_client() {
    let all = fixtures("server-frames");
    assert!(all.len() >= 5);
    for (name, text) in all {
        let frame = ServerMessage::decode(text.trim()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frame.op(), name, "fixture {name}.json holds a {name} frame");
    }
}

#[test]
fn event_fixtures_validate_unchanged() {
    for (name, text) in fixtures("events") {
        let a = accept(text.trim(), 0, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.text, text.trim(), "{name}: the bus never changes an event that has a time");
    }
}
