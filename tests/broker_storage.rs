//! What the broker promises about storage: memory does not grow with what is retained,
//! each finished event is pruned at its own time, a storage failure changes nothing
//! (and acknowledges nothing), and first deliveries cost no row of their own.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use ismld::proto::Limits;
use serde_json::{json, Value};
use support::Harness;

fn batch(from: usize, n: usize) -> Vec<u8> {
    let events: Vec<Value> = (from..from + n)
        .map(|i| json!({ "specversion": "1.0", "id": format!("e{i}"), "source": "/s", "type": "t", "data": i }))
        .collect();
    serde_json::to_vec(&events).unwrap()
}

fn publish_batch(h: &mut Harness, from: usize, n: usize) -> (u16, Value) {
    h.http_raw(
        "POST",
        "/v1/topics/t/events",
        &[],
        Some("application/cloudevents-batch+json"),
        &batch(from, n),
    )
}

#[test]
fn start_up_holds_the_same_whatever_the_backlog_dead_letters_and_deferrals() {
    let mut small = Harness::new();
    small.http("PUT", "/v1/topics/t/channels/lagging", json!({}));
    publish_batch(&mut small, 0, 10);
    small.hibernate();
    let empty_held = small.broker.footprint();

    let mut h = Harness::new();
    h.http("PUT", "/v1/topics/t/channels/lagging", json!({}));
    let dl = h.consumer("dl", json!({ "max_in_flight": 1000, "max_attempts": 1, "batch": true }));
    for i in 0..20 {
        assert_eq!(publish_batch(&mut h, i * 1000, 1000).0, 201);
    }
    // A thousand dead letters and a thousand deferred messages on another channel.
    for _ in 0..2 {
        let ids: Vec<Value> = h.msgs(dl).iter().map(|m| m["id"].clone()).collect();
        h.ask(dl, json!({ "op": "req", "ids": ids }));
    }
    h.publish_with(json!("later"), &[("delay_ms", "3600000")]);
    h.disconnect(dl); // what it held goes back to ready rows, in storage
    h.hibernate();
    let s = h.stats("lagging");
    assert_eq!(s["depth"], 20_001, "{s}");
    assert!(h.stats("dl")["dead"].as_u64().unwrap() >= 1000);
    // One page of read-ahead per channel, whatever the backlog (20,000 events here).
    let pages = 2 * 64;
    assert!(
        h.broker.footprint() <= empty_held + pages + 10,
        "held {} vs {} for an empty topic",
        h.broker.footprint(),
        empty_held
    );
    // ... and it still delivers, from storage, in order.
    let c = h.consumer("lagging", json!({ "max_in_flight": 3 }));
    assert_eq!(h.seqs(c), vec![1, 2, 3]);
}

#[test]
fn a_dead_letter_at_seq_1_does_not_stop_later_events_from_being_pruned() {
    let mut h = Harness::with_limits(Limits { retention_ms: 60_000, ..Limits::default() });
    let c = h.consumer("c", json!({ "max_in_flight": 100, "max_attempts": 1, "batch": true }));
    publish_batch(&mut h, 0, 50);
    let ms = h.msgs(c);
    h.ask(c, json!({ "op": "req", "id": ms[0]["id"] })); // seq 1: dead
    let rest: Vec<Value> = ms[1..].iter().map(|m| m["id"].clone()).collect();
    assert_eq!(h.ask(c, json!({ "op": "fin", "ids": rest }))["settled"], 49);
    assert_eq!(h.store.event_count(), 50);
    h.advance(60_000);
    assert_eq!(h.store.event_count(), 1, "2..=50 pruned at their time; the dead letter stays");
    let (_, body) = h.http("GET", "/v1/topics/t", json!(null));
    assert_eq!(body["retained"], 1);
    let (_, dead) = h.http("GET", "/v1/topics/t/channels/c/dead", json!(null));
    assert_eq!(dead["messages"][0]["seq"], 1, "and is still listed with its event");
    assert_eq!(h.http("POST", "/v1/topics/t/channels/c/dead/redrive", json!({})).1["redriven"], 1);
    assert_eq!(h.seqs(c), vec![1]);
    h.restart();
    assert_eq!(h.broker.head(), 50, "the head survives pruning");
}

#[test]
fn an_ok_is_never_queued_for_a_write_that_failed_and_nothing_changes() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 5 }));
    h.publish_n(2);
    let ms = h.msgs(c);
    h.inbox.clear();
    h.store.fail_writes_after(Some(0));
    h.send(c, json!({ "op": "fin", "id": ms[0]["id"], "ref": 1 }));
    assert!(
        h.inbox(c).iter().all(|f| f["op"] != "ok"),
        "no ok for a fin whose commit failed: {:?}",
        h.inbox(c)
    );
    h.store.fail_writes_after(None);
    assert_eq!(h.stats("c")["in_flight"], 2, "the fin did not happen");
    assert_eq!(
        h.ask(c, json!({ "op": "fin", "id": ms[0]["id"] }))["op"],
        "ok",
        "the broker was rebuilt and goes on"
    );
    assert_eq!(h.stats("c")["finished_total"], 1);
}

#[test]
fn a_batch_whose_storage_fails_half_way_stores_nothing() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 100 }));
    assert_eq!(publish_batch(&mut h, 0, 10).0, 201);
    h.msgs(c);
    h.store.fail_writes_after(Some(5));
    let (status, body) = publish_batch(&mut h, 10, 10);
    assert_eq!(status, 500, "{body}");
    h.store.fail_writes_after(None);
    assert_eq!(h.store.event_count(), 10, "all or nothing");
    assert_eq!(h.broker.head(), 10, "memory was rebuilt from storage too");
    assert!(h.msgs(c).is_empty(), "nothing delivered");
    let (status, body) = publish_batch(&mut h, 10, 10);
    assert_eq!(
        (status, body["results"][0]["seq"].as_u64(), body["results"][0]["duplicate"].as_bool()),
        (201, Some(11), Some(false))
    );
}

#[test]
fn first_deliveries_with_batched_fins_cost_about_one_row_per_event() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 100, "batch": true }));
    let before = h.store.rows_written;
    publish_batch(&mut h, 0, 100);
    let ids: Vec<Value> = h.msgs(c).iter().map(|m| m["id"].clone()).collect();
    assert_eq!(h.ask(c, json!({ "op": "fin", "ids": ids }))["settled"], 100);
    let rows = h.store.rows_written - before;
    assert!(rows <= 110, "{rows} rows for 100 events published, delivered and finished");
    h.restart();
    let d = h.consumer("c", json!({ "max_in_flight": 100 }));
    assert!(h.seqs(d).is_empty(), "and nothing finished is delivered again");
}

#[test]
fn a_lease_survives_a_restart_and_its_unfinished_messages_come_back() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10, "batch": true }));
    publish_batch(&mut h, 0, 5);
    let ms = h.msgs(c);
    let some: Vec<Value> = ms[..3].iter().map(|m| m["id"].clone()).collect();
    h.ask(c, json!({ "op": "fin", "ids": some }));
    h.restart();
    let d = h.consumer("c", json!({ "max_in_flight": 10 }));
    assert_eq!(h.seqs(d), vec![4, 5]);
}

#[test]
fn a_delivery_stays_with_its_consumer_across_a_hibernation_and_comes_back_after_a_restart() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 4 }));
    h.publish_n(3);
    let held = h.msgs(c);
    assert_eq!(held.len(), 3);
    h.hibernate();
    let d = h.consumer("c", json!({ "max_in_flight": 4 }));
    h.publish_n(2);
    let (to_c, to_d) = (h.seqs(c), h.seqs(d));
    assert!(to_c.iter().chain(&to_d).all(|&s| s >= 4), "c: {to_c:?}, d: {to_d:?}");
    assert_eq!(to_c.len() + to_d.len(), 2, "what c holds stays with it: only the new ones go out");
    h.send(c, json!({ "op": "fin", "id": held[1]["id"] }));
    h.restart();
    let e = h.consumer("c", json!({ "max_in_flight": 10 }));
    let mut back = h.seqs(e);
    back.sort_unstable();
    assert_eq!(back, vec![1, 3, 4, 5], "what c and d held comes back, but not the finished one");
}

#[test]
fn a_message_at_a_time_with_its_own_fin_costs_three_rows_an_event() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    let before = h.store.rows_written;
    for i in 0..50 {
        h.publish(json!({ "n": i }));
        let m = h.msgs(c);
        assert_eq!(m.len(), 1);
        h.send(c, json!({ "op": "fin", "id": m[0]["id"] }));
    }
    let rows = h.store.rows_written - before;
    // The event's row, then the channel row twice: with the delivery (which it lists, so a
    // restart counts the attempt) and with the `fin`. No lease row to insert and delete.
    assert_eq!(rows, 150, "{rows} rows for 50 events published, delivered and finished one by one");
    h.restart();
    let d = h.consumer("c", json!({ "max_in_flight": 100 }));
    assert!(h.seqs(d).is_empty(), "nothing finished is delivered again");
}

#[test]
fn a_delivery_kept_in_the_channel_row_counts_as_an_attempt_after_a_restart() {
    let mut h = Harness::new();
    let c = h.consumer("c", json!({ "max_in_flight": 10 }));
    h.publish(json!({ "n": 1 }));
    assert_eq!(h.msgs(c)[0]["attempt"], 1);
    h.restart();
    let d = h.consumer("c", json!({ "max_in_flight": 10 }));
    let m = h.msgs(d);
    assert_eq!((m[0]["attempt"].as_u64(), m[0]["failures"].as_u64()), (Some(2), Some(0)), "{m:?}");
}

#[test]
fn pairs_past_the_dedup_memory_stay_duplicates_and_new_pairs_read_no_spill_table() {
    let mut h = Harness::with_limits(Limits { dedup_memory_pairs: 10, ..Limits::default() });
    let lookups = |h: &Harness| h.store.spill_lookups.get();
    let seqs = |answer: &Value| -> Vec<(u64, bool)> {
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["seq"].as_u64().unwrap(), r["duplicate"].as_bool().unwrap()))
            .collect()
    };
    let (status, first) = publish_batch(&mut h, 0, 50); // 40 pairs spilled
    assert_eq!(status, 201, "{first}");
    let (_, fresh) = publish_batch(&mut h, 50, 50);
    assert!(seqs(&fresh).iter().all(|&(_, dup)| !dup));
    assert_eq!(lookups(&h), 0, "new pairs are answered by the Bloom filter of spilled hashes");
    let (_, again) = publish_batch(&mut h, 0, 50);
    assert_eq!(
        seqs(&again),
        (1..=50).map(|s| (s, true)).collect::<Vec<_>>(),
        "spilled pairs stay duplicates"
    );
    assert_eq!(lookups(&h), 50, "each found in the spill table");

    // After a restart the Bloom filter is rebuilt from the spill tables: spilled pairs are
    // still duplicates, and new ones still read no table.
    h.restart();
    let (_, again) = publish_batch(&mut h, 0, 100);
    assert!(seqs(&again).iter().all(|&(_, dup)| dup), "{again}");
    let before = lookups(&h);
    let (_, fresh) = publish_batch(&mut h, 100, 10);
    assert!(seqs(&fresh).iter().all(|&(_, dup)| !dup));
    assert_eq!(lookups(&h), before, "new pairs after a restart read no spill table");
    h.advance(Limits::default().dedup_window_ms + 1);
    let (_, fresh) = publish_batch(&mut h, 200, 50);
    assert!(seqs(&fresh).iter().all(|&(_, dup)| !dup));
    let after = lookups(&h);
    let (_, fresh) = publish_batch(&mut h, 300, 50);
    assert!(seqs(&fresh).iter().all(|&(_, dup)| !dup));
    assert_eq!(lookups(&h), after, "and not once the window has passed");
}

#[test]
fn a_busy_topic_keeps_at_most_two_windows_of_spilled_pairs_and_their_duplicates() {
    let window = 1_000;
    let mut h =
        Harness::with_limits(Limits { dedup_memory_pairs: 10, dedup_window_ms: window, ..Limits::default() });
    let dups = |answer: &Value| {
        answer["results"].as_array().unwrap().iter().filter(|r| r["duplicate"] == true).count()
    };
    // 20 new pairs every 100 ms for 6 windows, a restart in the middle; each round also
    // republishes the pairs of 900 ms before (still inside the window, long spilled).
    let (mut most, mut rows_from) = (0, 0);
    for round in 0..60 {
        if round == 20 {
            rows_from = h.store.rows_written;
        }
        h.advance(100);
        if round == 30 {
            h.restart();
        }
        let (status, fresh) = publish_batch(&mut h, round * 20, 20);
        assert_eq!((status, dups(&fresh)), (201, 0), "round {round}: {fresh}");
        if round >= 9 {
            let (_, again) = publish_batch(&mut h, (round - 9) * 20, 20);
            assert_eq!(dups(&again), 20, "round {round}: pairs of 900 ms before are duplicates: {again}");
        }
        most = most.max(h.store.spilled_pairs());
    }
    // A generation begins with the first spill a window after the one before began (11
    // rounds of 20 pairs here), and the older one is emptied whole when it does: never
    // more than two generations of pairs.
    assert!(most <= 440, "at most {most} pairs spilled at once");
    assert!(most >= 200, "spilling at all: {most}");
    // Each new pair: its event row and its spill row. Emptying a table writes no row.
    let per_event = (h.store.rows_written - rows_from) as f64 / (40.0 * 20.0);
    assert!(per_event <= 2.01, "{per_event} rows written per event");
    h.advance(2 * window + 1);
    publish_batch(&mut h, 10_000, 1);
    assert_eq!(h.store.spilled_pairs(), 0, "every pair left the window: both tables emptied");
}

#[test]
fn a_smaller_dedup_memory_after_a_restart_forgets_no_pair_of_the_window() {
    let mut h = Harness::with_limits(Limits { dedup_memory_pairs: 50, ..Limits::default() });
    let dups = |answer: &Value| {
        answer["results"].as_array().unwrap().iter().filter(|r| r["duplicate"] == true).count()
    };
    let (status, _) = publish_batch(&mut h, 0, 60); // 10 pairs spilled, 50 in memory
    assert_eq!(status, 201);
    assert_eq!(h.store.spilled_pairs(), 10);
    h.limits.dedup_memory_pairs = 20;
    h.restart();
    let (_, again) = publish_batch(&mut h, 0, 60);
    assert_eq!(dups(&again), 60, "every pair of the window is still a duplicate: {again}");
    assert_eq!(h.store.spilled_pairs(), 40, "the 30 pairs the new memory cannot hold were spilled at start");
    // A larger memory again: the spilled pairs are read back, nothing is lost either.
    h.limits.dedup_memory_pairs = 100;
    h.restart();
    let (_, again) = publish_batch(&mut h, 0, 60);
    assert_eq!(dups(&again), 60, "{again}");
}
