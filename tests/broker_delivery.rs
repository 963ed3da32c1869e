//! The broker's delivery rules on a virtual clock (no sleeps): NSQ semantics, credit,
//! settling, deadlines, checkpoints, dead letters, deferral, ordering keys, seek,
//! ephemeral channels, and what survives hibernation and restarts (heartbeats:
//! `broker_heartbeats.rs`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::json;
use support::Harness;

#[test]
fn every_channel_gets_every_event_published_after_it_exists() {
    let mut h = Harness::new();
    h.publish(json!(0)); // before any channel: not delivered to later ones
    let a = h.consumer("a", json!({ "max_in_flight": 10 }));
    let b = h.consumer("b", json!({ "max_in_flight": 10 }));
    h.publish_n(2);
    assert_eq!(h.seqs(a), vec![2, 3]);
    assert_eq!(h.seqs(b), vec![2, 3]);
}

#[test]
fn consumers_of_one_channel_share_its_messages_round_robin() {
    let mut h = Harness::new();
    let c1 = h.consumer("c", json!({ "max_in_flight": 100 }));
    let c2 = h.consumer("c", json!({ "max_in_flight": 100 }));
    h.publish_n(10);
    let (s1, s2) = (h.seqs(c1), h.seqs(c2));
    assert_eq!((s1.len(), s2.len()), (5, 5), "{s1:?} {s2:?}");
    let mut all = [s1, s2].concat();
    all.sort();
    assert_eq!(all, (1..=10).collect::<Vec<u64>>(), "each message to exactly one consumer");
}

#[test]
fn credit_limits_in_flight_and_fin_frees_it() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 2 }));
    h.publish_n(5);
    let first = h.msgs(c);
    assert_eq!(first.iter().map(|m| m["seq"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    let ok = h.ask(c, json!({ "op": "fin", "id": first[0]["id"] }));
    assert_eq!(ok["op"], "ok");
    assert_eq!(h.seqs(c), vec![3], "one credit freed, one delivery");
    assert_eq!(h.ask(c, json!({ "op": "rdy", "count": 0 }))["op"], "ok");
    h.ask(c, json!({ "op": "fin", "id": first[1]["id"] }));
    assert!(h.seqs(c).is_empty(), "rdy 0: nothing more");
    h.ask(c, json!({ "op": "rdy", "count": 5 }));
    assert_eq!(h.seqs(c), vec![4, 5]);
}

#[test]
fn settling_a_message_not_in_flight_is_refused_and_changes_nothing() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({}));
    h.publish_n(1);
    let m = h.msgs(c).remove(0);
    let bad = h.ask(c, json!({ "op": "fin", "id": "00000000000000ff" }));
    assert_eq!((bad["op"].as_str(), bad["code"].as_str()), (Some("error"), Some("not_found")));
    let other = h.consumer("c", json!({}));
    assert_eq!(
        h.ask(other, json!({ "op": "fin", "id": m["id"] }))["code"],
        "not_found",
        "held by another consumer"
    );
    assert_eq!(h.stats("c")["in_flight"], 1);
    assert_eq!(h.ask(c, json!({ "op": "fin", "id": m["id"] }))["op"], "ok");
    assert_eq!(h.ask(c, json!({ "op": "fin", "id": m["id"] }))["code"], "not_found", "a second fin");
}

#[test]
fn req_requeues_with_a_failure_and_a_passed_deadline_redelivers() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "handler_timeout_ms": 1_000 }));
    h.publish_n(1);
    let m = h.msgs(c).remove(0);
    assert_eq!((m["attempt"].as_u64(), m["failures"].as_u64()), (Some(1), Some(0)));
    h.ask(c, json!({ "op": "req", "id": m["id"] }));
    let again = h.msgs(c).remove(0);
    assert_eq!((again["attempt"].as_u64(), again["failures"].as_u64()), (Some(2), Some(1)));
    h.advance(999);
    assert!(h.msgs(c).is_empty(), "not before the deadline");
    h.advance(1);
    let third = h.msgs(c).remove(0);
    assert_eq!((third["attempt"].as_u64(), third["failures"].as_u64()), (Some(3), Some(2)));
    assert_eq!(h.stats("c")["timed_out_total"], 1);
}

#[test]
fn touch_extends_the_deadline_and_saves_the_checkpoint_for_the_redelivery() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "handler_timeout_ms": 1_000 }));
    h.publish_n(1);
    let m = h.msgs(c).remove(0);
    h.advance(900);
    let ok = h.ask(c, json!({ "op": "touch", "id": m["id"], "state": { "step": 1 } }));
    assert_eq!(ok["deadline"].as_u64(), Some(h.now + 1_000));
    h.advance(900);
    assert!(h.msgs(c).is_empty(), "the touch moved the deadline");
    let big = h.ask(c, json!({ "op": "touch", "id": m["id"], "state": "x".repeat(64 * 1024 + 1) }));
    assert_eq!(big["code"], "payload_too_large");
    h.disconnect(c);
    let d = h.consumer("c", json!({}));
    let again = h.msgs(d).remove(0);
    assert_eq!(again["checkpoint"], json!({ "step": 1 }), "the refused checkpoint changed nothing");
    assert_eq!(again["failures"], 0, "closing before the deadline is not a failure");
}

#[test]
fn a_settle_after_the_deadline_is_refused_even_before_the_timer_runs() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "handler_timeout_ms": 1_000 }));
    h.publish_n(1);
    let m = h.msgs(c).remove(0);
    h.now += 1_000; // the alarm has not run yet
    assert_eq!(h.ask(c, json!({ "op": "fin", "id": m["id"] }))["code"], "not_found");
    h.advance(0); // the alarm runs
    let again = h.msgs(c).remove(0);
    assert_eq!(again["failures"], 1, "the deadline passed: a failure, and a new delivery");
}

#[test]
fn shelve_gives_back_with_a_checkpoint_and_no_failure_after_its_delay() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({}));
    h.publish_n(1);
    let m = h.msgs(c).remove(0);
    h.ask(c, json!({ "op": "shelve", "id": m["id"], "state": { "n": 3 }, "delay_ms": 500 }));
    assert_eq!(h.stats("c")["deferred"], 1);
    h.advance(499);
    assert!(h.msgs(c).is_empty());
    h.advance(1);
    let again = h.msgs(c).remove(0);
    assert_eq!((again["failures"].as_u64(), again["attempt"].as_u64()), (Some(0), Some(2)));
    assert_eq!(again["checkpoint"], json!({ "n": 3 }));
}

#[test]
fn max_attempts_dead_letters_a_message_that_redrive_returns() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_attempts": 2, "max_in_flight": 10 }));
    h.publish_n(2);
    let m = h.msgs(c).remove(0);
    h.ask(c, json!({ "op": "req", "id": m["id"], "state": { "tried": 1 } }));
    let m2 = h.msgs(c).into_iter().find(|x| x["id"] == m["id"]).unwrap();
    h.ask(c, json!({ "op": "req", "id": m2["id"] }));
    assert!(h.msgs(c).iter().all(|x| x["id"] != m["id"]), "dead: not redelivered");
    let s = h.stats("c");
    assert_eq!((s["dead"].as_u64(), s["depth"].as_u64()), (Some(1), Some(1)), "{s}");
    let (status, dead) = h.http("GET", "/v1/topics/t/channels/c/dead", json!(null));
    assert_eq!(status, 200);
    assert_eq!(dead["messages"][0]["failures"], 2);
    assert_eq!(dead["messages"][0]["checkpoint"], json!({ "tried": 1 }));
    assert_eq!(h.http("POST", "/v1/topics/t/channels/c/dead/redrive", json!({})).1["redriven"], 1);
    let back = h.msgs(c).into_iter().find(|x| x["id"] == m["id"]).unwrap();
    assert_eq!((back["failures"].as_u64(), back["attempt"].as_u64()), (Some(0), Some(3)));
}

#[test]
fn deferred_publish_waits_for_its_time_and_survives_a_restart() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({}));
    h.publish_with(json!("later"), &[("delay_ms", "5000")]);
    assert!(h.msgs(c).is_empty());
    assert_eq!(h.stats("c")["deferred"], 1);
    h.restart();
    let c = h.consumer("c", json!({}));
    h.advance(4_999);
    assert!(h.msgs(c).is_empty());
    h.advance(1);
    assert_eq!(h.msgs(c)[0]["event"]["data"], "later");
    let (status, _) = h.http_raw(
        "POST",
        "/v1/topics/t/events",
        &[("delay_ms", "604800001")],
        Some("application/json"),
        b"1",
    );
    assert_eq!(status, 400, "at most 7 days");
}

#[test]
fn ordering_keys_deliver_one_at_a_time_in_seq_order_per_key() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    for k in ["a", "b", "a", "a", "b"] {
        h.publish_with(json!(k), &[("ordering_key", k)]);
    }
    let first = h.msgs(c);
    assert_eq!(
        first.iter().map(|m| m["seq"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![1, 2],
        "one per key"
    );
    h.ask(c, json!({ "op": "req", "id": first[0]["id"] }));
    let again = h.msgs(c);
    assert_eq!(again[0]["seq"], 1, "a requeued head goes again before later ones");
    h.ask(c, json!({ "op": "fin", "id": again[0]["id"] }));
    assert_eq!(h.seqs(c), vec![3]);
    h.ask(c, json!({ "op": "fin", "id": first[1]["id"] }));
    assert_eq!(h.seqs(c), vec![5]);
    h.hibernate();
    h.ask(c, json!({ "op": "fin", "id": "0000000000000003" }));
    assert_eq!(h.seqs(c), vec![4], "parked messages wait in storage: the order holds across a reload");
}

#[test]
fn a_deferred_message_blocks_its_key_and_a_dead_one_does_not() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10, "max_attempts": 1 }));
    h.publish_with(json!(1), &[("ordering_key", "k"), ("delay_ms", "500")]);
    h.publish_with(json!(2), &[("ordering_key", "k")]);
    h.publish_with(json!(3), &[("ordering_key", "k")]);
    assert!(h.msgs(c).is_empty(), "seq 1 is deferred and holds its key");
    h.advance(500);
    let m1 = h.msgs(c);
    assert_eq!(m1[0]["seq"], 1);
    h.ask(c, json!({ "op": "req", "id": m1[0]["id"] })); // max_attempts 1: dead
    let m2 = h.msgs(c);
    assert_eq!(m2[0]["seq"], 2, "a dead letter no longer blocks its key");
    h.ask(c, json!({ "op": "fin", "id": m2[0]["id"] }));
    assert_eq!(h.seqs(c), vec![3]);
}

#[test]
fn seek_rewinds_and_skips_by_seq_and_by_time() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    h.publish_n(2);
    h.now += 30_000;
    h.publish_n(2);
    let ms = h.msgs(c);
    for m in &ms {
        h.ask(c, json!({ "op": "fin", "id": m["id"] }));
    }
    let (_, r) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "seq": 3 }));
    assert_eq!(r["ready"], 2);
    let d = h.msgs(c);
    assert_eq!(
        d.iter().map(|m| (m["seq"].as_u64().unwrap(), m["attempt"].as_u64().unwrap())).collect::<Vec<_>>(),
        vec![(3, 1), (4, 1)]
    );
    let (_, r) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "seq": 99 }));
    assert_eq!(r["ready"], 0, "past the head: everything finished");
    assert_eq!(h.ask(c, json!({ "op": "fin", "id": d[0]["id"] }))["code"], "not_found", "seek took it back");
    let time = ismld::proto::event::rfc3339(h.now - 15_000);
    let (_, r) = h.http("POST", "/v1/topics/t/channels/c/seek", json!({ "time": time }));
    assert_eq!(r["ready"], 2, "the events accepted after that time");
    assert_eq!(h.seqs(c), vec![3, 4]);
    assert_eq!(h.http("POST", "/v1/topics/t/channels/nope/seek", json!({ "seq": 1 })).0, 404);
    assert_eq!(h.http("POST", "/v1/topics/t/channels/c/seek", json!({})).0, 400);
}

#[test]
fn a_channel_created_from_an_earlier_seq_gets_the_backlog() {
    let mut h = Harness::new();
    h.publish_n(3);
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/late", json!({ "from_seq": 2 })).0, 201);
    assert_eq!(
        h.http("PUT", "/v1/topics/t/channels/late", json!({ "from_seq": 1 })).0,
        200,
        "exists: unchanged"
    );
    let c = h.consumer("late", json!({ "max_in_flight": 10 }));
    assert_eq!(h.seqs(c), vec![2, 3]);
}

#[test]
fn ephemeral_channels_go_with_their_last_consumer_and_cap_their_backlog() {
    let mut h = Harness::new();
    let c = h.consumer("e#ephemeral", json!({}));
    h.ask(c, json!({ "op": "rdy", "count": 0 }));
    let m = h.msgs(c);
    assert!(m.is_empty());
    let batch: Vec<serde_json::Value> = (0..ismld::core::EPHEMERAL_BACKLOG as usize + 5)
        .map(|i| json!({ "specversion": "1.0", "id": format!("e{i}"), "source": "/s", "type": "t" }))
        .collect();
    for chunk in batch.chunks(1000) {
        let body = serde_json::to_vec(chunk).unwrap();
        assert_eq!(
            h.http_raw("POST", "/v1/topics/t/events", &[], Some("application/cloudevents-batch+json"), &body)
                .0,
            201
        );
    }
    let s = h.stats("e#ephemeral");
    assert_eq!(
        (s["depth"].as_u64(), s["dropped_total"].as_u64()),
        (Some(ismld::core::EPHEMERAL_BACKLOG), Some(5))
    );
    h.ask(c, json!({ "op": "rdy", "count": 1 }));
    assert_eq!(h.seqs(c), vec![6], "the oldest were dropped");
    h.disconnect(c);
    assert_eq!(h.stats("e#ephemeral"), serde_json::Value::Null, "gone with its last consumer");
    let c2 = h.consumer("e#ephemeral", json!({}));
    assert_eq!(h.http("DELETE", "/v1/topics/t/channels/e%23ephemeral", json!(null)).0, 204);
    assert_eq!(h.closed.get(&c2), Some(&4004));
}

#[test]
fn a_hibernated_broker_keeps_in_flight_messages_deadlines_and_credit() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 2, "handler_timeout_ms": 1_000 }));
    h.publish_n(3);
    let m = h.msgs(c);
    assert_eq!(m.len(), 2);
    h.hibernate();
    assert_eq!(
        h.ask(c, json!({ "op": "fin", "id": m[0]["id"] }))["op"],
        "ok",
        "its messages are still its own"
    );
    assert_eq!(h.seqs(c), vec![3], "credit survived");
    h.advance(1_000);
    let again = h.msgs(c);
    assert_eq!(again[0]["seq"], 2, "the deadline survived");
    assert_eq!(again[0]["attempt"], 2);
}

#[test]
fn a_restart_requeues_what_was_in_flight_and_loses_nothing_acknowledged() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    h.publish_n(4);
    let m = h.msgs(c);
    h.ask(c, json!({ "op": "fin", "id": m[0]["id"] }));
    h.ask(c, json!({ "op": "fin", "id": m[2]["id"] }));
    h.restart();
    let d = h.consumer("c", json!({ "max_in_flight": 10 }));
    assert_eq!(h.seqs(d), vec![2, 4], "finished ones are not delivered again");
}

#[test]
fn batched_frames_settle_many_ids_and_deliver_in_msgs() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10, "batch": true }));
    assert_eq!(h.inbox(c)[0]["batch"], true, "the welcome says the server takes batches");
    h.http_raw("POST", "/v1/topics/t/events", &[], Some("application/cloudevents-batch+json"), br#"[{"specversion":"1.0","id":"a","source":"/s","type":"t"},{"specversion":"1.0","id":"b","source":"/s","type":"t"},{"specversion":"1.0","id":"c","source":"/s","type":"t"}]"#);
    let frames = h.inbox(c);
    assert_eq!(frames.iter().filter(|f| f["op"] == "msgs").count(), 1, "one msgs frame for the batch");
    let ids: Vec<serde_json::Value> = h.msgs(c).iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids.len(), 3);
    let ok = h.ask(c, json!({ "op": "fin", "ids": [ids[0], ids[1], "00000000000000ff"] }));
    assert_eq!((ok["settled"].as_u64(), ok["missing"].clone()), (Some(2), json!(["00000000000000ff"])));
    let ok = h.ask(c, json!({ "op": "req", "ids": [ids[2]], "delay_ms": 100 }));
    assert_eq!(ok["settled"], 1);
    assert_eq!(h.stats("c")["deferred"], 1);
    let p = h.publisher();
    let ok = h.ask(p, json!({ "op": "pub", "events": [{ "specversion": "1.0", "id": "x", "source": "/s", "type": "t" }, { "specversion": "1.0", "id": "a", "source": "/s", "type": "t" }] }));
    assert_eq!(ok["results"][0]["seq"], 4);
    assert_eq!(ok["results"][1]["duplicate"], true, "dedup holds over the socket too");
}

#[test]
fn pending_sockets_are_capped_and_closed_without_a_hello_and_store_nothing() {
    let mut h = Harness::new();
    for i in 0..ismld::core::MAX_PENDING_SOCKETS as u64 {
        h.call(|b, _, now| Ok(b.open(now, 1_000 + i, None, None, None))).unwrap().unwrap();
    }
    let refused = h.call(|b, _, now| Ok(b.open(now, 9_999, None, None, None))).unwrap();
    assert_eq!(refused.unwrap_err().code.http_status(), 503);
    assert_eq!(h.store.rows_written, 0, "nothing stored before credentials");
    h.advance(ismld::core::HELLO_TIMEOUT_MS);
    assert_eq!(h.closed.len(), ismld::core::MAX_PENDING_SOCKETS);
    assert!(h.closed.values().all(|&c| c == 4001));
    assert!(h.call(|b, _, now| Ok(b.open(now, 9_999, None, None, None))).unwrap().is_ok(), "room again");
}

#[test]
fn a_wait_only_pull_is_told_a_message_is_ready_and_takes_none() {
    let mut h = Harness::new();
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/c", json!({})).0, 201);
    let (status, w) =
        h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "wait_only": true, "wait_ms": 5000 }));
    assert_eq!(status, 202, "it waits: nothing is ready");
    h.publish(json!({ "n": 1 }));
    assert_eq!(h.pulls.len(), 1);
    assert_eq!(h.pulls[0].0, w["waiter"].as_u64().unwrap());
    assert_eq!(h.pulls[0].1, r#"{"messages":[],"ready":true}"#);
    assert_eq!(h.stats("c")["in_flight"], 0, "nothing was leased");
    let (status, got) = h.http("POST", "/v1/topics/t/channels/c/pull", json!({ "max": 5 }));
    assert_eq!((status, got["messages"].as_array().map(Vec::len)), (200, Some(1)));
}

#[test]
fn an_empty_ordering_key_in_a_pub_frame_is_no_key_as_over_http() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 2 }));
    let p = h.publisher();
    for n in 0..2 {
        let ok = h.ask(p, json!({ "op": "pub", "data": n, "ordering_key": "" }));
        assert_eq!(ok["op"], "ok", "{ok}");
    }
    assert_eq!(h.seqs(c), vec![1, 2], "not ordered: both in flight at once");
}

#[test]
fn an_ephemeral_channel_whose_consumers_a_restart_lost_is_deleted_one_made_by_put_is_kept() {
    let mut h = Harness::new();
    let _c = h.consumer("e#ephemeral", json!({}));
    assert_eq!(h.http("PUT", "/v1/topics/t/channels/p%23ephemeral", json!({})).0, 201);
    h.publish(json!(1));
    h.hibernate();
    assert_ne!(h.stats("e#ephemeral"), serde_json::Value::Null, "hibernation keeps the consumer");
    h.rebuild(false);
    assert_eq!(h.stats("e#ephemeral"), serde_json::Value::Null, "gone with its consumer, as on a disconnect");
    assert_eq!(h.stats("p#ephemeral")["depth"], 1, "never had a consumer: waits for one");
}
