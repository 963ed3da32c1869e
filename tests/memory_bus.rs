//! The `memory://` bus natively: the same delivery, dedup and request rules as the server.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::client::memory::{MemoryBus, Output, MEMORY_SOURCE};
use ismld::proto::publish;
use ismld::proto::ErrorCode;
use serde_json::Value;
fn frames(bus: &mut MemoryBus, conn: u64) -> Vec<Value> {
    bus.drain()
        .into_iter()
        .filter_map(|o| match o {
            Output::Frame { conn: c, frame } if c == conn => serde_json::from_str(&frame).ok(),
            _ => None,
        })
        .collect()
}

fn consumer(bus: &mut MemoryBus, channel: &str) -> u64 {
    let conn = bus.open("t", Some(channel)).unwrap();
    bus.frame(0, conn, r#"{"op":"hello","max_in_flight":2,"handler_timeout_ms":1000}"#);
    conn
}

#[test]
fn publishes_delivers_and_finishes_like_the_server() {
    let mut bus = MemoryBus::new();
    let a = consumer(&mut bus, "c");
    assert_eq!(frames(&mut bus, a)[0]["op"], "welcome");
    let answer = bus.publish(1, "t", Some("application/json"), br#"{"n":1}"#, None, None, false).unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((answer["seq"].as_u64(), answer["duplicate"].as_bool()), (Some(1), Some(false)));
    let got = frames(&mut bus, a);
    assert_eq!(got[0]["op"], "msg");
    assert_eq!(got[0]["event"]["data"]["n"], 1);
    assert_eq!(got[0]["event"]["source"], MEMORY_SOURCE);
    let id = got[0]["id"].as_str().unwrap().to_owned();
    // The deadline passes: redelivered with a failure counted.
    assert_eq!(bus.timeout(), Some(1_001));
    bus.tick(1_001);
    let again = frames(&mut bus, a);
    assert_eq!((again[0]["attempt"].as_u64(), again[0]["failures"].as_u64()), (Some(2), Some(1)));
    bus.frame(1_002, a, &format!(r#"{{"op":"fin","id":"{id}","ref":1}}"#));
    assert_eq!(frames(&mut bus, a)[0], serde_json::json!({"op":"ok","ref":1}));
    let stats: Value = serde_json::from_str(&bus.stats("t").unwrap()).unwrap();
    assert_eq!(stats["channels"][0]["finished_total"], 1);
    assert_eq!(stats["retained"], 0, "finished events are forgotten");
}

#[test]
fn dedups_and_refuses_like_the_server() {
    let mut bus = MemoryBus::new();
    let ev = br#"{"specversion":"1.0","id":"x","source":"/s","type":"t"}"#;
    let ct = Some(publish::STRUCTURED);
    bus.publish(0, "t", ct, ev, None, None, false).unwrap();
    let dup: Value = serde_json::from_str(&bus.publish(1, "t", ct, ev, None, None, false).unwrap()).unwrap();
    assert_eq!((dup["seq"].as_u64(), dup["duplicate"].as_bool()), (Some(1), Some(true)));
    let e = bus.publish(1, "t", ct, b"{}", None, None, false).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert_eq!(bus.open("bad name", None).unwrap_err().code, ErrorCode::InvalidName);
}

#[test]
fn the_first_respond_answers_a_request() {
    let mut bus = MemoryBus::new();
    let a = consumer(&mut bus, "rpc");
    let b = consumer(&mut bus, "rpc");
    bus.drain();
    let req = bus.publish(0, "t", Some("application/json"), br#"{"a":1}"#, None, None, true).unwrap();
    let seq = serde_json::from_str::<Value>(&req).unwrap()["seq"].as_u64().unwrap();
    let out = bus.drain();
    let (conn, msg) = match &out[0] {
        Output::Frame { conn, frame } => (*conn, serde_json::from_str::<Value>(frame).unwrap()),
        other => panic!("{other:?}"),
    };
    assert!(conn == a || conn == b);
    assert_eq!(msg["reply"], true);
    bus.frame(
        1,
        conn,
        &format!(r#"{{"op":"respond","id":"{}","data":{{"sum":3}},"ref":5}}"#, msg["id"].as_str().unwrap()),
    );
    let out = bus.drain();
    let response = out.iter().find_map(|o| match o {
        Output::Response { seq: s, event, .. } if *s == seq => serde_json::from_str::<Value>(event).ok(),
        _ => None,
    });
    let response = response.expect("a response");
    assert_eq!(response["type"], "t.response");
    assert_eq!(response["data"]["sum"], 3);
    // A second respond finds nothing in flight.
    bus.frame(
        2,
        conn,
        &format!(r#"{{"op":"respond","id":"{}","data":1,"ref":6}}"#, msg["id"].as_str().unwrap()),
    );
    assert_eq!(frames(&mut bus, conn)[0]["code"], "not_found");
}
