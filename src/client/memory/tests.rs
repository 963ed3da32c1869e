//! The driver's own duty: a storage failure in a call rolls back its writes, answers the
//! contract's error, and the next call works on a broker loaded again from storage (with
//! the sockets that were open).

use super::*;
use serde_json::Value;

fn answer(bus: &mut MemoryBus, method: &str, path: &str, body: &str) -> (u64, Value) {
    let a: Value =
        serde_json::from_str(&bus.http(1, method, path, &[], Some("application/json"), body.as_bytes()))
            .unwrap_or(Value::Null);
    (
        a["status"].as_u64().unwrap_or(0),
        serde_json::from_str(a["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null),
    )
}

fn frames(bus: &mut MemoryBus) -> Vec<Value> {
    bus.drain()
        .into_iter()
        .filter_map(|e| match e.inner {
            Output::Send { text, .. } => serde_json::from_str(&text).ok(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_storage_failure_changes_nothing_and_the_next_call_works() {
    let mut bus = MemoryBus::new(0);
    let c = bus.open(0, "t", Some("c")).unwrap();
    bus.frame(0, c, r#"{"op":"hello","max_in_flight":5}"#);
    assert_eq!(frames(&mut bus)[0]["op"], "welcome");
    assert_eq!(answer(&mut bus, "POST", "/v1/topics/t/events", r#"{"n":1}"#).0, 201);
    assert_eq!(frames(&mut bus).len(), 1, "event 1 delivered");

    bus.topics.get_mut("t").unwrap().store.fail_writes_after(Some(0));
    let (status, e) = answer(&mut bus, "POST", "/v1/topics/t/events", r#"{"n":2}"#);
    assert_eq!((status, e["error"]["code"].as_str()), (500, Some("internal")));
    assert!(frames(&mut bus).is_empty(), "nothing delivered of a publish that failed");
    assert!(bus.topics["t"].broker.is_none(), "the broker is dropped");
    assert_eq!(bus.timeout(), Some(0), "and loaded again at once");

    bus.topics.get_mut("t").unwrap().store.fail_writes_after(None);
    let (status, p) = answer(&mut bus, "POST", "/v1/topics/t/events", r#"{"n":3}"#);
    assert_eq!((status, p["seq"].as_u64()), (201, Some(2)), "the failed publish took no seq");
    let m = frames(&mut bus);
    assert_eq!(m.len(), 1, "the open consumer still gets deliveries: {m:?}");
    assert_eq!(m[0]["event"]["data"]["n"], 3);
    let (_, stats) = answer(&mut bus, "GET", "/v1/topics/t", "");
    assert_eq!((stats["seq"].as_u64(), stats["channels"][0]["in_flight"].as_u64()), (Some(2), Some(2)));
}
