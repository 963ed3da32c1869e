//! Heartbeats on a virtual clock: a consumer holding messages is closed when it stays
//! silent, an idle one sets no timer (so idle topics never wake their object) and is
//! closed once a message reaches it, and the runtime's answers to pings count as life.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::json;
use support::Harness;

#[test]
fn a_silent_consumer_holding_messages_is_closed_and_an_idle_one_sets_no_timer() {
    let mut h = Harness::new();
    let idle = h.consumer("i", json!({ "heartbeat_ms": 5_000 }));
    h.ask(idle, json!({ "op": "rdy", "count": 0 }));
    assert_eq!(h.broker.poll_timeout(), None, "an idle consumer never wakes the object");
    let c = h.consumer("c", json!({ "heartbeat_ms": 5_000, "handler_timeout_ms": 60_000 }));
    h.publish_n(1);
    h.msgs(c);
    h.msgs(idle);
    h.advance(9_999);
    assert!(!h.closed.contains_key(&c));
    h.advance(1);
    assert_eq!(h.closed.get(&c), Some(&4008));
    assert_eq!(h.closed.get(&idle), None, "holding nothing, it is not checked");
    let d = h.consumer("c", json!({}));
    let m = h.msgs(d).remove(0);
    assert_eq!(m["failures"], 0, "closed before its deadline: requeued without a failure");
}

#[test]
fn an_idle_consumer_silent_past_its_heartbeat_is_closed_once_a_message_reaches_it() {
    let mut h = Harness::new();
    let gone = h.consumer("c", json!({ "heartbeat_ms": 5_000 }));
    h.advance(60_000);
    assert_eq!(h.closed.get(&gone), None, "holding nothing, it is not checked (no timer)");
    h.publish_n(1);
    assert_eq!(h.msgs(gone).len(), 1, "the bus cannot tell yet: it delivers");
    h.advance(0);
    assert_eq!(h.closed.get(&gone), Some(&4008), "silent since long before: closed at once");
    let live = h.consumer("c", json!({}));
    let m = h.msgs(live).remove(0);
    assert_eq!((m["attempt"].as_u64(), m["failures"].as_u64()), (Some(2), Some(0)), "back without a failure");
}

#[test]
fn a_pong_from_the_runtime_counts_as_a_sign_of_life() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "heartbeat_ms": 5_000 }));
    h.publish_n(1);
    h.msgs(c);
    h.now += 10_000;
    assert_eq!(h.broker.due_heartbeats(h.now), vec![c]);
    h.broker.seen(c, h.now - 1_000);
    h.advance(0);
    assert!(!h.closed.contains_key(&c), "the auto-response timestamp kept it alive");
}
