//! Fuzzes CloudEvent validation (structured and batch) and the binary-mode builder: never
//! a panic, and an accepted event is valid JSON that validates again unchanged.
#![no_main]

use ismld::proto::event::{accept, accept_batch, from_binary};
use ismld::proto::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(a) = accept(text, 1_700_000_000_000, &limits) {
            let again = accept(&a.text, 0, &limits).expect("an accepted event validates again");
            assert_eq!(again.text, a.text, "validation is idempotent once time is set");
            serde_json::from_str::<serde_json::Value>(&a.text).expect("stored events are JSON");
        }
        let _ = accept_batch(text, 0, &limits);
    }
    // Binary mode: split the input into a header value and a body.
    let (head, body) = data.split_at(data.len().min(32));
    if let Ok(h) = std::str::from_utf8(head) {
        let headers = [("ce-specversion", "1.0"), ("ce-id", h), ("ce-source", "/f"), ("ce-type", "t")];
        let _ = from_binary(headers, Some("application/json"), body, 0, &limits);
        let _ = from_binary(headers, Some("text/plain"), body, 0, &limits);
    }
});
