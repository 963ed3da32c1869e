//! The publisher socket's session on a virtual clock: Nagle's rule and the linger, batches, answers per
//! publish, resends after a reconnect, the bounded queue, timeouts, idle close.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::client::publisher::{Publisher, PublisherConfig};
use ismld::client::session::{Action, Phase};
use serde_json::Value;

fn cfg() -> PublisherConfig {
    PublisherConfig {
        token: Some("t".into()),
        linger_ms: 5,
        max_batch: 3,
        queue_cap: 5,
        timeout_ms: 1_000,
        idle_ms: 500,
        ..Default::default()
    }
}

fn sent(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { frame } => Some(serde_json::from_str(frame).unwrap()),
            _ => None,
        })
        .collect()
}

fn event(id: &str) -> String {
    format!(r#"{{"specversion":"1.0","id":"{id}","source":"/s","type":"t"}}"#)
}

const WELCOME: &str = r#"{"op":"welcome","topic":"t","channel":null,"session":"1","max_in_flight":1,"heartbeat_ms":30000,"partition":0,"partitions":1}"#;

fn live() -> Publisher {
    live_with(cfg())
}

fn live_with(cfg: PublisherConfig) -> Publisher {
    let mut p = Publisher::new(cfg);
    let (_, acts) = p.publish(0, &event("first"), None, None);
    assert!(matches!(acts[..], [Action::Connect]), "the first publish asks for a socket");
    assert_eq!(sent(&p.opened(0))[0]["op"], "hello");
    let frames = sent(&p.received(1, WELCOME));
    assert_eq!(frames[0]["event"]["id"], "first", "what waited goes out after welcome");
    let ok = format!(
        r#"{{"op":"ok","ref":{},"id":"m1","seq":1,"partition":0,"duplicate":false}}"#,
        frames[0]["ref"]
    );
    assert!(matches!(&p.received(2, &ok)[..], [Action::Published { seq: 1, .. }]));
    assert_eq!(p.phase(), Phase::Live);
    p
}

#[test]
fn a_publish_with_no_frame_out_goes_at_once_and_later_ones_linger_into_one_frame() {
    let mut p = live_with(PublisherConfig { max_batch: 10, ..cfg() });
    let (a, acts) = p.publish(10, &event("a"), None, None);
    let first = sent(&acts);
    assert_eq!(first.len(), 1, "nothing is out, so there is nothing to wait for (no linger)");
    assert_eq!(first[0]["event"]["id"], "a");
    let (b, acts) = p.publish(11, &event("b"), None, None);
    assert!(acts.is_empty(), "a frame is out: this one waits to share the next frame");
    let (c, _) = p.publish(12, &event("c"), None, None);
    let (d, _) = p.publish(12, &event("d"), Some(1_000), None);
    assert_eq!(p.next_timer(), Some(16), "the linger runs from the first one waiting");
    let frames = sent(&p.timer(16));
    assert_eq!(frames.len(), 2, "a batch, then the delayed one alone");
    assert_eq!(frames[0]["events"].as_array().unwrap().len(), 2);
    assert_eq!((frames[1]["delay_ms"].as_u64(), frames[1]["event"]["id"].as_str()), (Some(1_000), Some("d")));
    let ok = format!(
        r#"{{"op":"ok","ref":{},"id":"x","seq":2,"partition":0,"duplicate":false}}"#,
        first[0]["ref"]
    );
    assert!(
        matches!(&p.received(16, &ok)[..], [Action::Published { reference, seq: 2, .. }] if *reference == a)
    );
    let ok = format!(
        r#"{{"op":"ok","ref":{},"results":[{{"id":"x","seq":3,"partition":0,"duplicate":false}},{{"id":"y","seq":4,"partition":0,"duplicate":true}}]}}"#,
        frames[0]["ref"]
    );
    let acts = p.received(17, &ok);
    assert!(
        matches!(&acts[..], [Action::Published { reference: rb, seq: 3, .. }, Action::Published { reference: rc, seq: 4, duplicate: true, .. }] if *rb == b && *rc == c)
    );
    let err =
        format!(r#"{{"op":"error","ref":{},"code":"invalid_request","message":"bad"}}"#, frames[1]["ref"]);
    assert!(
        matches!(&p.received(18, &err)[..], [Action::Answer { reference, ok: false, .. }] if *reference == d)
    );
}

#[test]
fn with_no_linger_a_publish_made_while_a_frame_is_out_waits_for_its_answer() {
    let mut p = live_with(PublisherConfig { linger_ms: 0, max_batch: 10, ..cfg() });
    let first = sent(&p.publish(10, &event("a"), None, None).1);
    assert_eq!(first.len(), 1);
    p.publish(11, &event("b"), None, None);
    p.publish(12, &event("c"), None, None);
    assert_eq!(p.next_timer(), Some(1_010), "no linger timer: only the first one's timeout");
    assert!(sent(&p.timer(13)).is_empty());
    let ok = format!(
        r#"{{"op":"ok","ref":{},"id":"m","seq":2,"partition":0,"duplicate":false}}"#,
        first[0]["ref"]
    );
    let next = sent(&p.received(14, &ok));
    assert_eq!(next.len(), 1, "the answer sends what waited, in one frame");
    assert_eq!(next[0]["events"].as_array().unwrap().len(), 2);
}

#[test]
fn a_full_batch_goes_at_once_and_a_refused_batch_is_retried_one_by_one() {
    let mut p = live_with(PublisherConfig { max_frames: 2, ..cfg() });
    let out = sent(&p.publish(10, &event("a"), None, None).1);
    p.publish(10, &event("b"), None, None);
    p.publish(10, &event("c"), None, None);
    let frames = sent(&p.publish(10, &event("d"), None, None).1);
    assert_eq!(frames[0]["events"].as_array().unwrap().len(), 3, "max_batch reached");
    let ok =
        |r: &Value| format!(r#"{{"op":"ok","ref":{r},"id":"m","seq":2,"partition":0,"duplicate":false}}"#);
    assert!(sent(&p.received(11, &ok(&out[0]["ref"]))).is_empty());
    let err = format!(
        r#"{{"op":"error","ref":{},"code":"invalid_request","message":"event 2 is bad"}}"#,
        frames[0]["ref"]
    );
    let mut again = sent(&p.received(12, &err));
    assert_eq!(again.len(), 2, "each alone, two frames at a time (max_frames)");
    again.extend(sent(&p.received(13, &ok(&again[0]["ref"]))));
    assert_eq!(again.iter().map(|f| f["event"]["id"].as_str().unwrap()).collect::<Vec<_>>(), ["b", "c", "d"]);
}

#[test]
fn while_max_frames_wait_for_their_answer_later_publishes_share_the_next_frame() {
    let mut p = live_with(PublisherConfig { max_batch: 10, max_frames: 1, ..cfg() });
    let first = sent(&p.publish(10, &event("a"), None, None).1);
    assert_eq!(first.len(), 1);
    p.publish(16, &event("b"), None, None);
    p.publish(17, &event("c"), None, None);
    assert!(sent(&p.timer(30)).is_empty(), "the window is full: nothing goes, even after the linger");
    let ok = format!(
        r#"{{"op":"ok","ref":{},"id":"m","seq":2,"partition":0,"duplicate":false}}"#,
        first[0]["ref"]
    );
    let next = sent(&p.received(31, &ok));
    assert_eq!(next.len(), 1, "the answer makes room: what waited goes at once, in one frame");
    let ids: Vec<&str> =
        next[0]["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["b", "c"]);
}

#[test]
fn a_reconnect_resends_what_was_not_answered_and_the_queue_is_bounded() {
    let mut p = live();
    let frames = sent(&p.publish(10, &event("a"), None, None).1);
    assert_eq!(frames.len(), 1);
    assert!(matches!(&p.closed(1006, "", 0.5)[..], [Action::Reconnect { .. }]), "nothing fails");
    p.publish(20, &event("b"), None, None);
    let mut refused = 0;
    for i in 0..5 {
        let (_, acts) = p.publish(20, &event(&format!("q{i}")), None, None);
        refused += acts
            .iter()
            .filter(|a| matches!(a, Action::Answer { code: Some(c), .. } if c == "unavailable"))
            .count();
    }
    assert_eq!(refused, 2, "5 may wait");
    p.opened(30);
    let frames = sent(&p.received(31, WELCOME));
    let ids: Vec<&str> = frames
        .iter()
        .flat_map(|f| match f["events"].as_array() {
            Some(evs) => evs.iter().map(|e| e["id"].as_str().unwrap()).collect::<Vec<_>>(),
            None => vec![f["event"]["id"].as_str().unwrap()],
        })
        .collect();
    assert_eq!(ids, ["a", "b", "q0", "q1", "q2"], "the unanswered one first, then the queue in order");
}

#[test]
fn unanswered_publishes_time_out_and_an_idle_socket_closes() {
    let mut p = live();
    assert_eq!(p.next_timer(), Some(2 + 500), "idle close is scheduled");
    let (a, _) = p.publish(10, &event("a"), None, None);
    p.timer(15);
    assert_eq!(p.next_timer(), Some(1_010));
    let acts = p.timer(1_010);
    assert!(
        matches!(&acts[..], [Action::Answer { reference, code: Some(c), .. }] if *reference == a && c == "timeout")
    );
    assert_eq!(p.pending(), 1, "its frame still waits for the answer, which is then ignored");
    let acts = p.received(1_011, r#"{"op":"ok","ref":2,"id":"m","seq":2,"partition":0,"duplicate":false}"#);
    assert!(acts.is_empty(), "{acts:?}");
    assert!(matches!(&p.timer(1_511)[..], [Action::Close { code: 1000, .. }]));
    assert!(
        matches!(&p.publish(2_000, &event("b"), None, None).1[..], [Action::Connect]),
        "the next publish reopens"
    );
}

#[test]
fn a_final_close_fails_everything_and_the_next_publish_starts_over() {
    let mut p = live();
    let (a, _) = p.publish(10, &event("a"), None, None);
    let acts = p.closed(4003, "no permission", 0.5);
    assert!(
        matches!(&acts[0], Action::Answer { reference, code: Some(c), .. } if *reference == a && c == "forbidden")
    );
    assert!(matches!(acts.last(), Some(Action::Fatal { .. })));
    assert!(matches!(&p.publish(20, &event("b"), None, None).1[..], [Action::Connect]));
    let acts = p.stop();
    assert!(matches!(&acts[0], Action::Answer { code: Some(c), .. } if c == "disconnected"));
}
