//! Expiry in the pure broker (contract section 10): an expired message is not delivered
//! (again), and, once expired, no longer holds back later messages of its ordering key.

mod support;

use serde_json::json;
use support::Harness;

#[test]
fn a_deferred_message_that_expires_stops_holding_back_its_ordering_key() {
    let mut h = Harness::new();
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/c", json!({})).0, 201);
    let q = [("ordering_key", "k"), ("delay_ms", "600000"), ("ttl_ms", "1000")];
    h.publish_with(json!({ "n": "a" }), &q);
    h.publish_with(json!({ "n": "b" }), &[("ordering_key", "k")]);
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    assert!(h.seqs(c).is_empty(), "b waits behind the deferred a");
    h.advance(999);
    assert!(h.seqs(c).is_empty(), "a has not expired yet");
    h.advance(1);
    assert_eq!(h.seqs(c), [2], "a expired: b goes, not ten minutes later");
    let st = h.stats("c");
    assert_eq!((st["expired_total"].as_u64(), st["deferred"].as_u64()), (Some(1), Some(0)), "{st}");
    h.advance(600_000);
    assert!(h.seqs(c).is_empty(), "a is never delivered");
}

#[test]
fn a_message_given_back_with_a_delay_past_its_expiry_is_dropped_at_its_expiry() {
    let mut h = Harness::new();
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/c", json!({})).0, 201);
    h.publish_with(json!({ "n": "a" }), &[("ordering_key", "k"), ("ttl_ms", "5000")]);
    h.publish_with(json!({ "n": "b" }), &[("ordering_key", "k")]);
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    let got = h.msgs(c);
    assert_eq!(got.len(), 1, "b waits behind a");
    let id = got[0]["id"].clone();
    assert_eq!(h.ask(c, json!({ "op": "req", "id": id, "delay_ms": 600_000 }))["op"], "ok");
    assert!(h.seqs(c).is_empty());
    h.advance(5_000);
    assert_eq!(h.seqs(c), [2], "a expired while deferred: b goes");
    assert_eq!(h.stats("c")["expired_total"], 1);
}
