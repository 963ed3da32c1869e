//! The client session state machine on a virtual clock: refs, backoff, reconnect, pings.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::client::session::{Action, Phase, Session, SessionConfig};
use ismld::proto::frame::{msg_fields, msg_frame, MsgHeader, OkFrame, ServerFrame, Settle};
use serde_json::Value;
fn cfg() -> SessionConfig {
    SessionConfig { token: Some("t".into()), max_in_flight: 3, backoff_ms: 1_000, ..Default::default() }
}

fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { frame } => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn welcome() -> String {
    welcome_with(None)
}

fn welcome_with(batch: Option<bool>) -> String {
    ServerFrame::Welcome {
        topic: "t",
        channel: Some("c"),
        session: "1",
        max_in_flight: 3,
        heartbeat_ms: 30_000,
        batch,
        partition: 0,
        partitions: 1,
    }
    .encode()
}

fn header(id: &str) -> MsgHeader<'_> {
    MsgHeader {
        id,
        seq: 1,
        partition: 0,
        attempt: 1,
        failures: 0,
        deadline: 9,
        reply: false,
        checkpoint: None,
    }
}

fn msg(id: &str) -> String {
    msg_frame(&header(id), "{}")
}

fn live() -> Session {
    live_with(None)
}

fn live_with(batch: Option<bool>) -> Session {
    let mut s = Session::new(cfg());
    let hello = sent(&s.opened(0));
    assert!(hello[0].contains(r#""op":"hello""#) && hello[0].contains(r#""max_in_flight":3"#));
    assert!(hello[0].contains(r#""batch":true"#), "batched deliveries are asked for");
    s.received(0, &welcome_with(batch));
    assert_eq!(s.phase(), Phase::Live);
    s
}

#[test]
fn settles_are_answered_by_ref_and_only_once() {
    let mut s = live();
    s.received(1, &msg("a"));
    let (r, acts) = s.settle(1, Settle::Fin, "a", Some(r#"{"n":1}"#), None);
    assert!(sent(&acts)[0].contains(r#""op":"fin""#));
    // A second fin of the same message is refused locally.
    let (r2, acts2) = s.settle(1, Settle::Fin, "a", None, None);
    assert!(matches!(&acts2[0], Action::Answer { reference, ok: false, .. } if *reference == r2));
    let reference = Value::from(r);
    let ok = OkFrame { reference: Some(&reference), ..Default::default() };
    assert!(matches!(&s.received(2, &ok.encode())[0], Action::Answer { ok: true, .. }));
    // An ok nobody waits for is ignored.
    assert!(s.received(3, &ok.encode()).is_empty());
}

#[test]
fn a_throw_backs_off_with_rdy_zero_then_restores_credit() {
    let mut s = live();
    assert_eq!(sent(&s.handler_done(10, false)), vec![r#"{"op":"rdy","count":0}"#]);
    assert!(sent(&s.handler_done(20, false)).is_empty(), "already at rdy 0");
    assert_eq!(s.next_timer(0), Some(20 + 2_000));
    assert!(sent(&s.timer(2_019)).is_empty());
    assert_eq!(sent(&s.timer(2_020)), vec![r#"{"op":"rdy","count":3}"#]);
    s.handler_done(3_000, true);
    s.handler_done(3_001, false);
    assert_eq!(s.next_timer(0), Some(4_001), "success reset the doubling");
}

#[test]
fn losing_the_socket_aborts_handlers_and_refuses_their_settles() {
    let mut s = live();
    s.received(1, &msg("a"));
    let (r, _) = s.settle(1, Settle::Touch, "a", None, None);
    let acts = s.closed(1006, "gone", 0.5);
    assert!(matches!(&acts[0], Action::Abort { ids } if ids == &["a".to_string()]));
    assert!(matches!(&acts[1], Action::Answer { reference, ok: false, .. } if *reference == r));
    assert!(matches!(acts.last(), Some(Action::Reconnect { after_ms: 250 })));
    let (_, acts) = s.settle(1, Settle::Fin, "a", None, None);
    assert!(matches!(&acts[0], Action::Answer { code: Some(c), .. } if c == "disconnected"));
    // Credit changes made while away are sent after the next welcome.
    assert!(s.set_max_in_flight(5).is_empty());
    s.opened(100);
    assert_eq!(sent(&s.received(101, &welcome())), vec![r#"{"op":"rdy","count":5}"#]);
}

#[test]
fn fatal_closes_stop_reconnecting() {
    let mut s = live();
    let acts = s.closed(4003, "no", 0.5);
    assert!(matches!(&acts[0], Action::Fatal { code, .. } if code == "forbidden"));
    assert_eq!(s.phase(), Phase::Stopped);
    let mut s = live();
    s.stop(0);
    assert!(s.closed(1000, "", 0.5).is_empty());
}

#[test]
fn pings_every_heartbeat_while_live() {
    let mut s = live();
    assert_eq!(s.next_timer(1), Some(30_000));
    assert_eq!(sent(&s.timer(30_000)), vec![r#"{"op":"ping"}"#]);
    assert_eq!(s.next_timer(30_001), Some(60_000));
}

#[test]
fn a_refused_hello_is_fatal() {
    let mut s = Session::new(cfg());
    s.opened(0);
    let err = r#"{"op":"error","code":"invalid_request","message":"heartbeat_ms must be 5000..=120000"}"#;
    assert!(matches!(&s.received(1, err)[0], Action::Fatal { .. }));
}

fn answers(actions: &[Action]) -> Vec<(u64, bool, Option<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Answer { reference, ok, code, .. } => Some((*reference, *ok, code.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_batching_server_gets_coalesced_acks_answered_per_message() {
    let mut s = live_with(Some(true));
    let fields: Vec<String> =
        ["a", "b", "c"].iter().map(|id| format!("{{{}}}", msg_fields(&header(id), "{}"))).collect();
    let msgs = format!(r#"{{"op":"msgs","messages":[{}]}}"#, fields.join(","));
    let delivered = s.received(1, &msgs);
    assert_eq!(delivered.iter().filter(|a| matches!(a, Action::Deliver { .. })).count(), 3);
    let (ra, acts) = s.settle(2, Settle::Fin, "a", None, None);
    assert!(acts.is_empty(), "waits for the flush");
    let (rb, _) = s.settle(2, Settle::Fin, "b", None, None);
    let (rc, _) = s.settle(2, Settle::Req, "c", None, Some(5));
    assert_eq!(s.next_timer(2), Some(2), "a flush is due at once");
    let frames = sent(&s.timer(2));
    assert_eq!(frames.len(), 2);
    let fin: Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(fin["ids"], serde_json::json!(["a", "b"]));
    assert!(fin.get("id").is_none());
    let req: Value = serde_json::from_str(&frames[1]).unwrap();
    assert_eq!(
        (req["id"].as_str(), req["delay_ms"].as_u64()),
        (Some("c"), Some(5)),
        "a group of one is the single form"
    );
    let ok = format!(r#"{{"op":"ok","ref":{},"settled":1,"missing":["b"]}}"#, fin["ref"]);
    let got = answers(&s.received(3, &ok));
    assert_eq!(got, vec![(ra, true, None), (rb, false, Some("not_found".into()))]);
    let ok = format!(r#"{{"op":"ok","ref":{}}}"#, req["ref"]);
    assert_eq!(answers(&s.received(3, &ok)), vec![(rc, true, None)]);
}

#[test]
fn coalesced_touches_estimate_the_deadline_and_stateful_settles_go_alone_in_order() {
    let mut s = live_with(Some(true));
    s.received(1, &msg("a"));
    s.received(1, &msg("b"));
    s.settle(10, Settle::Touch, "a", None, None);
    let (rb, _) = s.settle(10, Settle::Touch, "b", None, None);
    // A settle with state flushes what waits first, then goes alone.
    let frames = sent(&s.settle(11, Settle::Fin, "a", Some("{}"), None).1);
    assert_eq!(frames.len(), 2);
    assert!(frames[0].contains(r#""ids":["a","b"]"#) && frames[1].contains(r#""state":{}"#));
    let touch: Value = serde_json::from_str(&frames[0]).unwrap();
    let ok = format!(r#"{{"op":"ok","ref":{},"settled":2,"missing":[]}}"#, touch["ref"]);
    let acts = s.received(12, &ok);
    assert!(acts.iter().any(|a| matches!(a, Action::Answer { reference, deadline: Some(d), .. } if *reference == rb && *d == 11 + 60_000)));
}

#[test]
fn a_v1_server_gets_single_settles() {
    let mut s = live();
    s.received(1, &msg("a"));
    let (_, acts) = s.settle(2, Settle::Fin, "a", None, None);
    assert_eq!(sent(&acts).len(), 1, "sent at once, no ids");
    assert!(sent(&acts)[0].contains(r#""id":"a""#));
    assert_eq!(s.next_timer(2), Some(30_000));
}

#[test]
fn a_refused_batch_puts_its_messages_back_and_a_close_fails_waiting_acks() {
    let mut s = live_with(Some(true));
    for id in ["a", "b", "c"] {
        s.received(1, &msg(id));
    }
    let (ra, _) = s.settle(2, Settle::Fin, "a", None, None);
    let (rb, _) = s.settle(2, Settle::Fin, "b", None, None);
    let frame: Value = serde_json::from_str(&sent(&s.timer(2))[0]).unwrap();
    let err = format!(r#"{{"op":"error","ref":{},"code":"internal","message":"x"}}"#, frame["ref"]);
    assert_eq!(answers(&s.received(3, &err)).len(), 2);
    assert_eq!(s.in_flight(), 3, "a and b are in flight again");
    let (rc, _) = s.settle(4, Settle::Fin, "c", None, None);
    let acts = s.closed(1006, "", 0.5);
    assert!(answers(&acts).contains(&(rc, false, Some("disconnected".into()))));
    assert!(!answers(&acts).iter().any(|(r, ..)| *r == ra || *r == rb));
}

#[test]
fn a_token_provider_gets_one_retry_after_4001() {
    let mut s = Session::new(SessionConfig { refresh: true, ..cfg() });
    s.opened(0);
    let refused = r#"{"op":"error","code":"unauthorized","message":"token expired"}"#;
    assert!(s.received(1, refused).is_empty(), "the close decides");
    let acts = s.closed(4001, "", 0.5);
    assert!(matches!(acts.last(), Some(Action::Reconnect { .. })), "{acts:?}");
    s.set_token(Some("fresh".into()));
    assert!(sent(&s.opened(2))[0].contains(r#""token":"fresh""#));
    s.received(3, &welcome());
    // After a welcome a 4001 is again retried once ...
    assert!(matches!(s.closed(4001, "revoked", 0.5).last(), Some(Action::Reconnect { .. })));
    s.opened(4);
    // ... but a second one in a row is final.
    let acts = s.closed(4001, "revoked", 0.5);
    assert!(
        matches!(acts.last(), Some(Action::Fatal { code, message }) if code == "unauthorized" && message == "revoked")
    );
    // Without a provider the first 4001 is final, with the hello's error as the reason.
    let mut s = Session::new(cfg());
    s.opened(0);
    s.received(1, refused);
    assert!(
        matches!(s.closed(4001, "", 0.5).last(), Some(Action::Fatal { message, .. }) if message == "token expired")
    );
}
