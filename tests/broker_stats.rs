//! A channel's `attached` consumers in its stats: one entry per socket consumer, with its
//! credit, what is in flight to it and what it delivered, finished and gave back.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::Harness;

fn attached(h: &mut Harness, channel: &str) -> Vec<Value> {
    h.stats(channel)["attached"].as_array().cloned().unwrap_or_default()
}

#[test]
fn each_consumer_socket_is_listed_with_its_credit_and_counters() {
    let mut h = Harness::new();
    let a = h.consumer("c", json!({ "max_in_flight": 3 }));
    let b = h.consumer("c", json!({ "max_in_flight": 1, "batch": true }));
    let list = attached(&mut h, "c");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["session"], format!("{a:x}"), "the welcome's session, in attach order");
    assert_eq!(list[1]["session"], format!("{b:x}"));
    assert_eq!(list[0]["source"], "/anonymous");
    assert_eq!((list[0]["max_in_flight"].as_u64(), list[1]["max_in_flight"].as_u64()), (Some(3), Some(1)));
    assert_eq!((list[0]["batch"].as_bool(), list[1]["batch"].as_bool()), (Some(false), Some(true)));
    assert!(list[0]["connected_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", list[0]);
    assert!(list[0].get("address").is_none(), "no address given by this driver");

    h.publish_n(4);
    let got = h.msgs(a);
    assert_eq!(got.len(), 3);
    h.ask(a, json!({ "op": "fin", "id": got[0]["id"] }));
    h.ask(a, json!({ "op": "req", "id": got[1]["id"] }));
    h.ask(a, json!({ "op": "rdy", "count": 7 }));
    let list = attached(&mut h, "c");
    let of_a = list.iter().find(|x| x["session"] == format!("{a:x}")).cloned().unwrap_or_default();
    let counts = |x: &Value, k: &str| x[k].as_u64().unwrap_or(u64::MAX);
    assert_eq!(counts(&of_a, "max_in_flight"), 7, "rdy changes the credit shown");
    assert_eq!(counts(&of_a, "finished"), 1);
    assert_eq!(counts(&of_a, "requeued"), 1);
    let in_flight: u64 = list.iter().map(|x| counts(x, "in_flight")).sum();
    let delivered: u64 = list.iter().map(|x| counts(x, "delivered")).sum();
    assert_eq!(
        in_flight,
        h.stats("c")["in_flight"].as_u64().unwrap_or(0),
        "the entries add up to the channel's"
    );
    assert_eq!(delivered, h.stats("c")["delivered_total"].as_u64().unwrap_or(0));

    // A closed socket leaves the list; a socket that kept its place across hibernation
    // stays, its counters started again.
    h.disconnect(b);
    assert_eq!(attached(&mut h, "c").len(), 1);
    h.hibernate();
    let list = attached(&mut h, "c");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["session"], format!("{a:x}"));
    assert_eq!(list[0]["finished"], 0);
    assert_eq!(list[0]["in_flight"], h.stats("c")["in_flight"]);
}

#[test]
fn publisher_sockets_and_other_channels_are_not_listed() {
    let mut h = Harness::new();
    let _p = h.publisher();
    let _x = h.consumer("x", json!({}));
    let _y = h.consumer("y", json!({}));
    assert_eq!(attached(&mut h, "x").len(), 1);
    assert_eq!(attached(&mut h, "y").len(), 1);
}

#[test]
fn expired_events_leave_depth_before_the_cursor_reaches_them() {
    let mut h = Harness::new();
    h.http("PUT", "/v1/topics/t/channels/c", json!({}));
    for (i, ttl) in [Some("1000"), None, Some("1000"), Some("5000"), None].into_iter().enumerate() {
        let query: Vec<(&str, &str)> = ttl.map(|t| ("ttl_ms", t)).into_iter().collect();
        let body = json!({ "n": i }).to_string();
        let (status, _) =
            h.http_raw("POST", "/v1/topics/t/events", &query, Some("application/json"), body.as_bytes());
        assert_eq!(status, 201);
    }
    let depth = |h: &mut Harness| {
        let s = h.stats("c");
        (s["depth"].as_u64().unwrap(), s["ready"].as_u64().unwrap(), s["expired_total"].as_u64().unwrap())
    };
    assert_eq!(depth(&mut h), (5, 5, 0));
    h.advance(1_000);
    assert_eq!(depth(&mut h), (3, 3, 2), "two expired, not delivered yet: out of depth, counted already");
    h.advance(4_000);
    assert_eq!(depth(&mut h), (2, 2, 3));
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    assert_eq!(h.seqs(c), vec![2, 5], "only what had no expiry is delivered");
    assert_eq!(depth(&mut h), (2, 0, 3), "in flight; the expired ones counted once, not again when passed");
    let (status, seek) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "seq": 1 }));
    assert_eq!((status, seek["ready"].as_u64()), (200, Some(2)), "a seek counts only what can be delivered");
    let (status, _) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "seq": 1, "partition": 0 }));
    assert_eq!(status, 200, "partition 0 of a topic of one");
    let (status, e) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "seq": 1, "partition": 3 }));
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_request")), "{e}");
}

#[test]
fn messages_given_back_leave_depth_when_they_expire_with_no_consumer() {
    let mut h = Harness::new();
    h.http("PUT", "/v1/topics/t/channels/c", json!({}));
    let publish = |h: &mut Harness, query: &[(&str, &str)]| {
        let (status, _) = h.http_raw("POST", "/v1/topics/t/events", query, Some("application/json"), b"{}");
        assert_eq!(status, 201);
    };
    // Deferred 3 s, expiring at 0.5 s; and one requeued by its consumer, expiring at 2 s.
    publish(&mut h, &[("delay_ms", "3000"), ("ttl_ms", "500")]);
    publish(&mut h, &[("ttl_ms", "2000")]);
    let c = h.consumer("c", json!({ "max_in_flight": 1 }));
    let got = h.inbox(c);
    let m = got.iter().find(|f| f["op"] == "msg").expect("the second is delivered").clone();
    h.send(c, json!({ "op": "req", "id": m["id"], "delay_ms": 0 }));
    h.disconnect(c);
    let gauges = |h: &mut Harness| {
        let s = h.stats("c");
        let g = |k: &str| s[k].as_u64().unwrap();
        (g("depth"), g("ready"), g("deferred"), g("expired_total"))
    };
    assert_eq!(gauges(&mut h), (2, 1, 1, 0));
    h.advance(1_000);
    assert_eq!(gauges(&mut h), (1, 1, 0, 1), "the deferred one expired");
    h.advance(1_000);
    assert_eq!(gauges(&mut h), (0, 0, 0, 2), "the requeued one expired");
    h.advance(5_000);
    let c = h.consumer("c", json!({ "max_in_flight": 5 }));
    assert!(h.seqs(c).is_empty(), "neither is delivered");
    assert_eq!(gauges(&mut h), (0, 0, 0, 2), "each counted once");
}
