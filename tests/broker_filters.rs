//! Channel filters in the pure broker: a non-matching event never counts in `depth` and
//! is counted in `filtered_total` once, when it is published (a channel with a backlog
//! and no consumer included), across restarts.

mod support;

use serde_json::json;
use support::Harness;

fn publish_region(h: &mut Harness, region: &str) {
    let e = json!({ "specversion": "1.0", "id": format!("{region}-{}", h.now), "source": "/s", "type": "t", "region": region, "data": 1 });
    let (status, _) = h.http_raw(
        "POST",
        "/v1/topics/t/events",
        &[],
        Some("application/cloudevents+json"),
        e.to_string().as_bytes(),
    );
    assert_eq!(status, 201);
    h.advance(1);
}

#[test]
fn a_filtered_event_leaves_depth_when_published() {
    let mut h = Harness::new();
    let (status, _) =
        h.http("PUT", "/v1/topics/t/channels/eu", json!({ "filter": { "exact": { "region": "eu" } } }));
    assert_eq!(status, 201);
    for r in ["eu", "us", "eu", "us", "us"] {
        publish_region(&mut h, r);
    }
    let st = h.stats("eu");
    assert_eq!(
        (st["depth"].as_u64(), st["ready"].as_u64(), st["filtered_total"].as_u64()),
        (Some(2), Some(2), Some(3))
    );
    h.advance(2_000); // the channel row is written lazily
    h.restart();
    let st = h.stats("eu");
    assert_eq!(
        (st["depth"].as_u64(), st["filtered_total"].as_u64()),
        (Some(2), Some(3)),
        "kept across a restart"
    );

    let c = h.consumer("eu", json!({ "max_in_flight": 10 }));
    let msgs = h.msgs(c);
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        h.send(c, json!({ "op": "fin", "id": m["id"] }));
    }
    let st = h.stats("eu");
    assert_eq!(
        (st["depth"].as_u64(), st["filtered_total"].as_u64(), st["finished_total"].as_u64()),
        (Some(0), Some(3), Some(2)),
        "counted once"
    );
    publish_region(&mut h, "us");
    publish_region(&mut h, "eu");
    let st = h.stats("eu");
    assert_eq!((st["filtered_total"].as_u64(), h.msgs(c).len()), (Some(4), 1));
}

#[test]
fn peek_shows_the_next_messages_without_delivering_them() {
    let mut h = Harness::new();
    assert_eq!(
        h.http("PUT", "/v1/topics/t/channels/eu", json!({ "filter": { "exact": { "region": "eu" } } })).0,
        201
    );
    for r in ["eu", "us", "eu", "eu"] {
        publish_region(&mut h, r);
    }
    let (status, body) = h.http_raw("GET", "/v1/topics/t/channels/eu/peek", &[("limit", "2")], None, b"");
    assert_eq!(status, 200);
    let seqs: Vec<u64> =
        body["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 3], "the filtered one is not shown");
    assert_eq!(body["messages"][0]["event"]["region"], "eu");
    assert_eq!(body["messages"][0]["attempts"], 0);
    let st = h.stats("eu");
    assert_eq!(
        (st["in_flight"].as_u64(), st["delivered_total"].as_u64()),
        (Some(0), Some(0)),
        "nothing delivered"
    );
    // A message given back comes first, with its attempts: a req (delivered again at once
    // to the same consumer), then the consumer leaves.
    let c = h.consumer("eu", json!({ "max_in_flight": 1 }));
    let m = h.msgs(c).remove(0);
    h.send(c, json!({ "op": "req", "id": m["id"] }));
    h.disconnect(c);
    let (_, body) = h.http_raw("GET", "/v1/topics/t/channels/eu/peek", &[], None, b"");
    let first = &body["messages"][0];
    assert_eq!(
        (first["seq"].as_u64(), first["attempts"].as_u64(), first["failures"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
}

#[test]
fn an_event_both_filtered_out_and_expired_is_counted_once() {
    let mut h = Harness::new();
    h.http("PUT", "/v1/topics/t/channels/eu", json!({ "filter": { "exact": { "region": "eu" } } }));
    for (region, ttl) in
        [("eu", None), ("us", Some("1000")), ("eu", Some("1000")), ("us", Some("1000")), ("eu", None)]
    {
        let e = json!({ "specversion": "1.0", "id": format!("{region}-{}", h.now), "source": "/s", "type": "t", "region": region });
        let query: Vec<(&str, &str)> = ttl.map(|t| ("ttl_ms", t)).into_iter().collect();
        let body = e.to_string();
        let ct = Some("application/cloudevents+json");
        assert_eq!(h.http_raw("POST", "/v1/topics/t/events", &query, ct, body.as_bytes()).0, 201);
        h.advance(1);
    }
    let counts = |h: &mut Harness| {
        let st = h.stats("eu");
        let n = |k: &str| st[k].as_u64().unwrap();
        (n("depth"), n("ready"), n("filtered_total"), n("expired_total"))
    };
    assert_eq!(counts(&mut h), (3, 3, 2, 0));
    h.advance(1_000);
    // The filter judged these three at publish; the two that did not match are out of
    // `depth` already, and the one that matched stays in it until the cursor passes it
    // (on an unfiltered channel it would leave at once: broker_stats.rs).
    assert_eq!(counts(&mut h), (3, 3, 2, 0), "nothing subtracted twice");
    let c = h.consumer("eu", json!({ "max_in_flight": 10 }));
    assert_eq!(h.seqs(c), vec![1, 5]);
    assert_eq!(counts(&mut h), (2, 0, 2, 1), "each skipped event counted once, as filtered or as expired");
}

#[test]
fn a_peek_looks_at_most_ten_thousand_seqs_past_the_position() {
    let mut h = Harness::new();
    let (status, _) =
        h.http("PUT", "/v1/topics/t/channels/eu", json!({ "filter": { "exact": { "region": "eu" } } }));
    assert_eq!(status, 201);
    publish_region(&mut h, "eu");
    let peek = |h: &mut Harness| {
        let (status, body) = h.http("GET", "/v1/topics/t/channels/eu/peek", serde_json::Value::Null);
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().map(Vec::len).unwrap_or(0)
    };
    assert_eq!(peek(&mut h), 1);
    let c = h.consumer("eu", json!({ "max_in_flight": 1 }));
    let got = h.msgs(c);
    assert_eq!(h.ask(c, json!({ "op": "fin", "id": got[0]["id"] }))["op"], "ok");
    h.disconnect(c);
    // Paused, so the position stays where it is while 10,000 skipped events pile up.
    assert_eq!(h.http("POST", "/v1/topics/t/channels/eu/pause", json!({})).0, 200);
    for _ in 0..10_000 {
        publish_region(&mut h, "us");
    }
    publish_region(&mut h, "eu");
    assert_eq!(peek(&mut h), 0, "the matching event lies past the 10,000 seqs a peek reads");
}
