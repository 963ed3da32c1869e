//! The `memory://` driver natively: the broker over the in-memory store behind the same
//! HTTP operations and frames as the Worker.
#![cfg(not(target_arch = "wasm32"))]

use ismld::client::memory::MemoryBus;
use ismld::core::Output;
use serde_json::Value;

fn frames(bus: &mut MemoryBus, conn: u64) -> Vec<Value> {
    bus.drain()
        .into_iter()
        .filter_map(|o| match o.inner {
            Output::Send { socket, text, .. } if socket == conn => serde_json::from_str(&text).ok(),
            _ => None,
        })
        .collect()
}

fn http(bus: &mut MemoryBus, method: &str, path: &str, body: &str) -> (u64, Value) {
    let a: Value =
        serde_json::from_str(&bus.http(1, method, path, &[], Some("application/json"), body.as_bytes()))
            .unwrap();
    (
        a["status"].as_u64().unwrap_or(0),
        serde_json::from_str(a["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null),
    )
}

#[test]
fn publishes_delivers_and_finishes_like_the_server() {
    let mut bus = MemoryBus::new(0);
    let a = bus.open(0, "t", Some("c")).unwrap();
    bus.frame(0, a, r#"{"op":"hello","max_in_flight":2}"#);
    assert_eq!(frames(&mut bus, a)[0]["op"], "welcome");
    let (status, p) = http(&mut bus, "POST", "/v1/topics/t/events", r#"{"n":1}"#);
    assert_eq!((status, p["seq"].as_u64(), p["partition"].as_u64()), (201, Some(1), Some(0)));
    let m = frames(&mut bus, a).remove(0);
    assert_eq!(m["event"]["data"]["n"], 1);
    assert_eq!(m["event"]["source"], "/memory");
    bus.frame(2, a, &format!(r#"{{"op":"fin","id":{},"ref":1}}"#, m["id"]));
    assert_eq!(frames(&mut bus, a)[0]["op"], "ok");
    let (_, stats) = http(&mut bus, "GET", "/v1/topics/t", "");
    assert_eq!(stats["channels"][0]["finished_total"], 1);
}

#[test]
fn refuses_like_the_server() {
    let mut bus = MemoryBus::new(0);
    let (status, e) = http(&mut bus, "POST", "/v1/topics/bad@name/events", "1");
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_name")));
    let (status, _) = http(&mut bus, "GET", "/v1/topics/nothing", "");
    assert_eq!(status, 404);
    let (status, _) = http(&mut bus, "POST", "/v1/topics/t/events", "{");
    assert_eq!(status, 400);
}

#[test]
fn the_first_respond_answers_a_request() {
    let mut bus = MemoryBus::new(0);
    let c = bus.open(0, "rpc", Some("r")).unwrap();
    bus.frame(0, c, r#"{"op":"hello"}"#);
    frames(&mut bus, c);
    let a: Value = serde_json::from_str(&bus.http(
        1,
        "POST",
        "/v1/topics/rpc/requests",
        &[],
        Some("application/json"),
        b"{\"a\":1}",
    ))
    .unwrap();
    assert_eq!(a["await"], "response");
    let m = frames(&mut bus, c).remove(0);
    assert_eq!(m["reply"], true);
    bus.frame(2, c, &format!(r#"{{"op":"respond","id":{},"data":{{"sum":3}},"ref":1}}"#, m["id"]));
    let out = bus.drain();
    assert!(
        out.iter().any(|e| e.topic == "rpc"
            && matches!(&e.inner, Output::Response { seq: 1, event } if event.contains("\"sum\":3"))),
        "{out:?}"
    );
}
