//! Push channels in the pure broker: credit, the signed request, what each answer does
//! (finish, retry after, pause, failure with doubling retries, dead letter), ordering
//! keys, deadlines and restarts, on a virtual clock. (The Worker's sending is tested in
//! tests/e2e/push.test.mjs against a real receiver.)

mod support;

use ismld::proto::push::{signature, PushOutcome};
use serde_json::{json, Value};
use support::Harness;

fn push_channel(h: &mut Harness, push: Value) -> Value {
    let (status, body) = h.http("PUT", "/v1/topics/t/channels/hook", json!({ "push": push }));
    assert_eq!(status, 201, "{body}");
    body
}

/// The driver sends queued push `i` (its deadline starts now).
fn send(h: &mut Harness, i: usize) {
    let (ch, seq, attempt, _, body) = h.pushes[i].clone();
    let signed = h.call(|b, s, now| b.push_starting(now, s, ch, seq, attempt, &body)).unwrap();
    assert!(signed.is_some(), "push {i} is still due");
}

fn report(h: &mut Harness, i: usize, outcome: PushOutcome) {
    let (ch, seq, attempt, _, _) = h.pushes[i].clone();
    h.call(|b, s, now| b.pushed(now, s, ch, seq, attempt, &outcome)).unwrap();
}

#[test]
fn a_push_channel_shows_its_secret_once_and_takes_no_socket_or_pull() {
    let mut h = Harness::new();
    let made = push_channel(
        &mut h,
        json!({ "url": "http://127.0.0.1:1/h", "headers": { "authorization": "Bearer x" } }),
    );
    let secret = made["push"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(made["push"]["headers"]["authorization"], "(hidden)");
    let (status, again) = h.http(
        "PUT",
        "/v1/topics/t/channels/hook",
        json!({ "push": { "url": "http://127.0.0.1:1/h", "headers": { "authorization": "Bearer x" } } }),
    );
    assert_eq!(status, 200);
    assert_eq!(again["push"].get("secret"), None, "shown once");
    assert_eq!(h.stats("hook")["push"]["url"], "http://127.0.0.1:1/h");
    let (status, _) =
        h.http("PUT", "/v1/topics/t/channels/hook", json!({ "push": { "url": "http://127.0.0.1:2/h" } }));
    assert_eq!(status, 409);
    let (status, body) = h.http("POST", "/v1/topics/t/channels/hook/pull", json!({}));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    let s = h.open(Some("hook"));
    h.send(s, json!({ "op": "hello" }));
    let refused = h.inbox(s)[0].clone();
    assert_eq!(refused["op"], "error");
    assert!(refused.to_string().contains("conflict"), "{refused}");
    let (status, _) = h.http("PUT", "/v1/topics/t/channels/bad", json!({ "push": { "url": "file:///etc" } }));
    assert_eq!(status, 400);
}

#[test]
fn deliveries_are_signed_binary_mode_within_max_in_flight() {
    let mut h = Harness::new();
    let made = push_channel(&mut h, json!({ "url": "http://127.0.0.1:1/h", "max_in_flight": 2 }));
    let secret = made["push"]["secret"].as_str().unwrap().to_owned();
    for i in 0..3 {
        h.publish(json!({ "n": i }));
    }
    assert_eq!(h.pushes.len(), 2, "max_in_flight");
    let (_, seq, attempt, headers, body) = h.pushes[0].clone();
    assert_eq!((seq, attempt), (1, 1));
    assert_eq!(body, br#"{"n":0}"#);
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
    let sig =
        signature(&secret, &get("webhook-id"), get("webhook-timestamp").parse().unwrap(), &body).unwrap();
    assert_eq!(get("webhook-signature"), sig);
    assert_eq!(get("ce-type"), "t");
    report(&mut h, 0, PushOutcome::Done);
    assert_eq!(h.pushes.len(), 3, "credit came back");
    let st = h.stats("hook");
    assert_eq!(
        (st["push_ok_total"].as_u64(), st["in_flight"].as_u64(), st["finished_total"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
}

#[test]
fn failures_retry_after_a_doubling_delay_then_dead_letter() {
    let mut h = Harness::new();
    push_channel(&mut h, json!({ "url": "http://127.0.0.1:1/h", "retry_ms": 1000, "max_attempts": 3 }));
    h.publish(json!({ "n": 1 }));
    report(&mut h, 0, PushOutcome::Failed("HTTP 500".into()));
    let st = h.stats("hook");
    assert_eq!((st["deferred"].as_u64(), st["push_failed_total"].as_u64()), (Some(1), Some(1)));
    assert_eq!(st["push_error"], "HTTP 500");
    h.advance(999);
    assert_eq!(h.pushes.len(), 1, "not before retry_ms");
    h.advance(1);
    assert_eq!(h.pushes.len(), 2);
    assert_eq!(h.pushes[1].2, 2, "attempt 2");
    report(&mut h, 1, PushOutcome::Failed("HTTP 502".into()));
    h.advance(1_999);
    assert_eq!(h.pushes.len(), 2, "doubled: 2 s");
    h.advance(1);
    assert_eq!(h.pushes.len(), 3);
    report(&mut h, 2, PushOutcome::Failed("HTTP 503".into()));
    let st = h.stats("hook");
    assert_eq!((st["dead"].as_u64(), st["depth"].as_u64()), (Some(1), Some(0)), "dead at max_attempts");
}

#[test]
fn retry_after_is_no_failure_and_410_pauses_the_channel() {
    let mut h = Harness::new();
    push_channel(&mut h, json!({ "url": "http://127.0.0.1:1/h" }));
    h.publish(json!({ "n": 1 }));
    report(&mut h, 0, PushOutcome::RetryAfter(5_000));
    h.advance(4_999);
    assert_eq!(h.pushes.len(), 1);
    h.advance(1);
    assert_eq!(h.pushes.len(), 2);
    assert_eq!(h.stats("hook")["push_failed_total"], 0);
    report(&mut h, 1, PushOutcome::Gone);
    let st = h.stats("hook");
    assert_eq!((st["paused"].as_bool(), st["ready"].as_u64()), (Some(true), Some(1)));
    assert!(st["push_error"].as_str().unwrap().contains("410"));
    h.advance(60_000);
    assert_eq!(h.pushes.len(), 2, "paused: nothing is pushed");
    assert_eq!(h.http("POST", "/v1/topics/t/channels/hook/unpause", json!({})).0, 200);
    assert_eq!(h.pushes.len(), 3);
    report(&mut h, 2, PushOutcome::Done);
    assert_eq!(h.stats("hook")["push_error"], Value::Null, "cleared by a success");
}

#[test]
fn ordering_keys_hold_and_stale_reports_change_nothing() {
    let mut h = Harness::new();
    push_channel(&mut h, json!({ "url": "http://127.0.0.1:1/h", "timeout_ms": 1000 }));
    h.publish_with(json!({ "n": 1 }), &[("ordering_key", "k")]);
    h.publish_with(json!({ "n": 2 }), &[("ordering_key", "k")]);
    h.publish(json!({ "n": 3 }));
    let seqs: Vec<u64> = h.pushes.iter().map(|p| p.1).collect();
    assert_eq!(seqs, [1, 3], "seq 2 waits behind its key");
    send(&mut h, 0);
    send(&mut h, 1);
    // Sent, no answer within timeout_ms (+ grace): a failure, retried after retry_ms.
    h.advance(6_000);
    assert_eq!(h.stats("hook")["push_error"], "no answer in time");
    report(&mut h, 0, PushOutcome::Done); // the late answer of attempt 1
    assert_eq!(h.stats("hook")["push_ok_total"], 0, "a stale report is ignored");
    h.advance(1_000);
    let retried = h.pushes.iter().rposition(|p| p.1 == 1 && p.2 == 2).expect("seq 1 again");
    report(&mut h, retried, PushOutcome::Done);
    assert!(h.pushes.iter().any(|p| p.1 == 2), "then its key's next");
}

#[test]
fn a_restart_gives_in_flight_pushes_back_without_a_failure() {
    let mut h = Harness::new();
    push_channel(&mut h, json!({ "url": "http://127.0.0.1:1/h", "retry_ms": 10_000 }));
    h.publish(json!({ "n": 1 }));
    h.publish(json!({ "n": 2 }));
    report(&mut h, 1, PushOutcome::Failed("HTTP 500".into()));
    h.restart();
    let again: Vec<(u64, u32)> = h.pushes[2..].iter().map(|p| (p.1, p.2)).collect();
    assert_eq!(again, [(1, 2)], "seq 1 pushed again at once; seq 2 waits for its retry");
    assert_eq!(h.stats("hook")["deferred"], 1, "the waiting retry survived");
    h.advance(10_000);
    assert!(h.pushes.iter().any(|p| p.1 == 2 && p.2 == 2));
}

#[test]
fn a_queued_push_never_fails_unsent_and_its_deadline_starts_when_sent() {
    let mut h = Harness::new();
    let made = push_channel(
        &mut h,
        json!({ "url": "http://127.0.0.1:1/h", "timeout_ms": 1000, "max_in_flight": 3 }),
    );
    let secret = made["push"]["secret"].as_str().unwrap().to_owned();
    for n in 0..3 {
        h.publish(json!({ "n": n }));
    }
    let signed = |h: &mut Harness, i: usize| {
        let (ch, seq, attempt, _, body) = h.pushes[i].clone();
        h.call(|b, s, now| b.push_starting(now, s, ch, seq, attempt, &body)).unwrap()
    };
    let start = |h: &mut Harness, i: usize| signed(h, i).is_some();
    // Signed at queueing and again when sent: same id, the time of sending.
    let (_, _, _, queued, body) = h.pushes[0].clone();
    let get =
        |hs: &[(String, String)], n: &str| hs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
    let queued_ts: u64 = get(&queued, "webhook-timestamp").parse().unwrap();
    // The driver's queue held them for 5.5 s (timeout 1 s + 5 s grace): sent now, the
    // first one's deadline starts now, so it has not failed by the time it is answered.
    h.advance(5_500);
    let now_signed = signed(&mut h, 0).expect("still due");
    let ts: u64 = now_signed[0].1.parse().unwrap();
    assert_eq!((now_signed[0].0.as_str(), ts), ("webhook-timestamp", queued_ts + 5));
    assert_eq!(now_signed[1].0, "webhook-signature");
    assert_eq!(Some(now_signed[1].1.clone()), signature(&secret, &get(&queued, "webhook-id"), ts, &body));
    // No deadline runs while a push waits in the queue: the other two have not failed
    // unsent (past their delivery's deadline), and are sent when their turn comes.
    h.advance(500);
    let st = h.stats("hook");
    assert_eq!(st["push_failed_total"], 0, "nothing failed while queued: {st}");
    assert!(start(&mut h, 1) && start(&mut h, 2), "the queued ones are still due");
    report(&mut h, 0, PushOutcome::Done);
    assert_eq!(h.stats("hook")["push_ok_total"], 1, "the late-started one counts");
    // Once sent, the deadline holds: no answer within timeout + grace is a failure.
    h.advance(5_999);
    assert_eq!(h.stats("hook")["push_failed_total"], 0);
    h.advance(1);
    let st = h.stats("hook");
    assert_eq!(st["push_failed_total"], 2, "the two sent ones timed out: {st}");
    assert!(!start(&mut h, 1), "a timed-out attempt is not sent again (its retry will be)");
    // Paused while queued: given back without a failure, pushed again on unpause.
    h.publish(json!({ "n": 3 }));
    let last = h.pushes.len() - 1;
    assert_eq!(h.http("POST", "/v1/topics/t/channels/hook/pause", json!({})).0, 200);
    assert!(!start(&mut h, last));
    let st = h.stats("hook");
    assert_eq!((st["push_failed_total"].as_u64(), st["in_flight"].as_u64()), (Some(2), Some(0)), "{st}");
    assert_eq!(h.http("POST", "/v1/topics/t/channels/hook/unpause", json!({})).0, 200);
    assert!(h.pushes.len() > last + 1, "pushed again once resumed");
}
