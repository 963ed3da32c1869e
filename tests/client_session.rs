//! The client session state machine on a virtual clock: refs, backoff, reconnect, pings.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::client::session::{Action, Phase, Session, SessionConfig};
use ismld::proto::frame::{msg_frame, MsgHeader, OkFrame, ServerFrame, Settle};
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
    ServerFrame::Welcome {
        topic: "t",
        channel: Some("c"),
        session: "1",
        max_in_flight: 3,
        heartbeat_ms: 30_000,
        batch: None,
        partition: 0,
        partitions: 1,
    }
    .encode()
}

fn msg(id: &str) -> String {
    let h = MsgHeader {
        id,
        seq: 1,
        partition: 0,
        attempt: 1,
        failures: 0,
        deadline: 9,
        reply: false,
        checkpoint: None,
    };
    msg_frame(&h, "{}")
}

fn live() -> Session {
    let mut s = Session::new(cfg());
    let hello = sent(&s.opened(0));
    assert!(hello[0].contains(r#""op":"hello""#) && hello[0].contains(r#""max_in_flight":3"#));
    s.received(0, &welcome());
    assert_eq!(s.phase(), Phase::Live);
    s
}

#[test]
fn settles_are_answered_by_ref_and_only_once() {
    let mut s = live();
    s.received(1, &msg("a"));
    let (r, acts) = s.settle(Settle::Fin, "a", Some(r#"{"n":1}"#), None);
    assert!(sent(&acts)[0].contains(r#""op":"fin""#));
    // A second fin of the same message is refused locally.
    let (r2, acts2) = s.settle(Settle::Fin, "a", None, None);
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
    assert_eq!(s.next_timer(), Some(20 + 2_000));
    assert!(sent(&s.timer(2_019)).is_empty());
    assert_eq!(sent(&s.timer(2_020)), vec![r#"{"op":"rdy","count":3}"#]);
    s.handler_done(3_000, true);
    s.handler_done(3_001, false);
    assert_eq!(s.next_timer(), Some(4_001), "success reset the doubling");
}

#[test]
fn losing_the_socket_aborts_handlers_and_refuses_their_settles() {
    let mut s = live();
    s.received(1, &msg("a"));
    let (r, _) = s.settle(Settle::Touch, "a", None, None);
    let acts = s.closed(1006, "gone", 0.5);
    assert!(matches!(&acts[0], Action::Abort { ids } if ids == &["a".to_string()]));
    assert!(matches!(&acts[1], Action::Answer { reference, ok: false, .. } if *reference == r));
    assert!(matches!(acts.last(), Some(Action::Reconnect { after_ms: 250 })));
    let (_, acts) = s.settle(Settle::Fin, "a", None, None);
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
    s.stop();
    assert!(s.closed(1000, "", 0.5).is_empty());
}

#[test]
fn pings_every_heartbeat_while_live() {
    let mut s = live();
    assert_eq!(s.next_timer(), Some(30_000));
    assert_eq!(sent(&s.timer(30_000)), vec![r#"{"op":"ping"}"#]);
    assert_eq!(s.next_timer(), Some(60_000));
}

#[test]
fn a_refused_hello_is_fatal() {
    let mut s = Session::new(cfg());
    s.opened(0);
    let err = r#"{"op":"error","code":"invalid_request","message":"heartbeat_ms must be 5000..=120000"}"#;
    assert!(matches!(&s.received(1, err)[0], Action::Fatal { .. }));
}
