//! The checks of the fuzz targets (`fuzz/fuzz_targets/`), here so that
//! `tests/fuzz_regressions.rs` replays every input a fuzzer ever found through exactly the
//! same code. Each takes arbitrary bytes and panics only on a real defect: a panic in the
//! code under test, or a broken invariant it states.
#![doc(hidden)]

use crate::client::memory::MemoryBus;
use crate::core::Output;
use crate::proto::event::{accept, accept_batch, from_binary};
use crate::proto::frame::{ClientFrame, ServerFrame};
use crate::proto::grpc::{self, Method, Protocol};
use crate::proto::{auth, nsq, Limits};

/// A fuzz target's check.
pub type Check = fn(&[u8]);

/// Every fuzz target, by name (the directory names under `tests/fuzz_regressions/`).
pub const TARGETS: [(&str, Check); 7] = [
    ("frame_decode", frame_decode),
    ("cloudevent", cloudevent),
    ("broker_frames", broker_frames),
    ("credentials", credentials),
    ("nsq_body", nsq_body),
    ("connect_body", connect_body),
    ("filter", filter),
];

/// Any text decodes as a frame or is refused with an answerable error.
pub fn frame_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match ClientFrame::decode(text) {
        Ok(frame) => {
            let _ = frame.encode();
        }
        Err(e) => {
            let _ = ServerFrame::error(e.reference.as_ref(), &e.error);
        }
    }
}

/// CloudEvent validation: an accepted event is JSON and validates again unchanged.
pub fn cloudevent(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(a) = accept(text, 1_700_000_000_000, &limits) {
            let again = accept(&a.text, 0, &limits).expect("an accepted event validates again");
            assert_eq!(again.text, a.text, "validation is idempotent once time is set");
            serde_json::from_str::<serde_json::Value>(&a.text).expect("stored events are JSON");
        }
        let _ = accept_batch(text, 0, &limits);
    }
    let (head, body) = data.split_at(data.len().min(32));
    if let Ok(h) = std::str::from_utf8(head) {
        let headers = [("ce-specversion", "1.0"), ("ce-id", h), ("ce-source", "/f"), ("ce-type", "t")];
        for ct in ["application/json", "text/plain"] {
            if let Ok(a) = from_binary(headers, Some(ct), body, 0, &limits) {
                serde_json::from_str::<serde_json::Value>(&a.text).expect("made events are JSON");
            }
        }
    }
}

/// The broker fed any sequence of frames (one per line) on a consumer socket and a
/// publisher socket, with time passing (`#` lines) and publishes (`!` lines): no panic,
/// every frame it sends is JSON, and a consumer never holds more than its credit from a
/// delivery made when its credit allowed it.
pub fn broker_frames(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut bus = MemoryBus::new(0);
    let mut now = 1_000_000;
    let (Ok(c), Ok(p)) = (bus.open(now, "t", Some("c")), bus.open(now, "t", None)) else { return };
    bus.frame(now, c, r#"{"op":"hello","max_in_flight":3,"handler_timeout_ms":1000,"batch":true}"#);
    bus.frame(now, p, r#"{"op":"hello"}"#);
    for i in 0..4 {
        bus.http(
            now,
            "POST",
            "/v1/topics/t/events",
            &[],
            Some("application/json"),
            format!("{i}").as_bytes(),
        );
    }
    for (n, line) in text.lines().take(64).enumerate() {
        if let Some(ms) = line.strip_prefix('#') {
            now += ms.trim().parse::<u64>().unwrap_or(1_000).min(10_000_000);
            bus.tick(now);
        } else if let Some(body) = line.strip_prefix('!') {
            let _ =
                bus.http(now, "POST", "/v1/topics/t/events", &[], Some("application/json"), body.as_bytes());
        } else {
            bus.frame(now, if n % 3 == 2 { p } else { c }, line);
        }
        for e in bus.drain() {
            if let Output::Send { text, .. } = e.inner {
                serde_json::from_str::<serde_json::Value>(&text).expect("every frame is JSON");
            }
        }
    }
}

/// `Authorization` headers and tokens: any bytes are read or refused, never a panic; a
/// token verifies only with its key.
pub fn credentials(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = auth::parse_authorization(text);
    let key = b"fuzzing key of 32 bytes, exactly";
    if let Ok(claims) = auth::verify_token(text, key, 1_700_000_000) {
        assert_eq!(auth::verify_token(&auth::sign_token(&claims, key), key, 1_700_000_000), Ok(claims));
    }
    for p in text.split(',') {
        let _ = auth::valid_pattern(p) && auth::pattern_matches(p, "orders.eu");
    }
}

/// NSQ `/pub` and `/mpub` bodies in every framing, and their query strings.
pub fn nsq_body(data: &[u8]) {
    let limits = Limits::default();
    for framing in [nsq::Framing::One, nsq::Framing::Lines, nsq::Framing::Binary] {
        if let Ok(messages) = nsq::split(framing, data, &limits) {
            assert!(
                messages.iter().map(|m| m.len()).sum::<usize>() <= data.len(),
                "messages come from the body"
            );
        }
    }
    if let Ok(q) = std::str::from_utf8(data) {
        let pairs: Vec<(&str, &str)> =
            q.split('&').map(|kv| kv.split_once('=').unwrap_or((kv, ""))).collect();
        let _ = nsq::parse_query(false, pairs.iter().copied(), &limits);
        let _ = nsq::parse_query(true, pairs.iter().copied(), &limits);
    }
}

/// Connect and gRPC-Web request bodies in every protocol: the topic is read without
/// decoding, and whatever decodes is an ordinary publish body.
pub fn connect_body(data: &[u8]) {
    for ct in
        ["application/proto", "application/json", "application/grpc-web+proto", "application/grpc-web+json"]
    {
        let Some(protocol) = Protocol::from_content_type(ct) else { continue };
        let peeked = grpc::peek_topic(protocol, data);
        for method in [Method::Publish, Method::PublishBatch] {
            if let Ok(call) = grpc::decode(method, protocol, data) {
                let body =
                    serde_json::from_str::<serde_json::Value>(&call.body).expect("a decoded call is JSON");
                if let Ok((topic, events)) = &peeked {
                    assert_eq!(topic, &call.topic, "the peeked topic is the decoded one");
                    if call.batch {
                        assert_eq!(
                            body.as_array().map(Vec::len),
                            Some(*events),
                            "the peeked count is the decoded one"
                        );
                    }
                }
            }
        }
    }
}

/// Channel filters: any JSON parses or is refused; a parsed filter evaluates on an event
/// without a panic and round-trips through its JSON form.
pub fn filter(data: &[u8]) {
    use crate::core::filter::{EventAttributes, Filter};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let event = EventAttributes::from_json(
        r#"{"specversion":"1.0","id":"1","source":"/s","type":"order.created","subject":"x","amount":42,"flag":true}"#,
    );
    let candidates =
        [serde_json::from_str::<serde_json::Value>(text).ok(), Some(serde_json::json!({ "sql": text }))];
    for v in candidates.into_iter().flatten() {
        if let (Ok(f), Ok(e)) = (Filter::parse(&v), &event) {
            let _ = f.matches(e);
            assert_eq!(Filter::parse(&f.to_json()).ok(), Some(f), "a filter round-trips");
        }
    }
    let _ = EventAttributes::from_json(text);
}
