//! Tests of `event.rs`.

use super::*;

fn lim() -> Limits {
    Limits::default()
}

#[test]
fn accepts_and_adds_time_without_touching_the_rest() {
    let text = r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{"x":1.50}}"#;
    let a = accept(text, 0, &lim()).unwrap();
    assert_eq!(
        a.text,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{"x":1.50},"time":"1970-01-01T00:00:00.000Z"}"#
    );
    assert_eq!(a.meta.id, "a");
    let with_time =
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","time":"2026-01-01T00:00:00Z"}"#;
    assert_eq!(accept(with_time, 0, &lim()).unwrap().text, with_time);
}

#[test]
fn refuses_invalid_events() {
    for bad in [
        "[]",
        "{}",
        r#"{"specversion":"0.3","id":"a","source":"/s","type":"t"}"#,
        r#"{"specversion":"1.0","id":"","source":"/s","type":"t"}"#,
        r#"{"specversion":"1.0","id":1,"source":"/s","type":"t"}"#,
        r#"{"specversion":"1.0","id":"a","type":"t"}"#,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","time":"yesterday"}"#,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":1,"data_base64":"AA=="}"#,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data_base64":"!!"}"#,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","Bad":"x"}"#,
        r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","ext":{"a":1}}"#,
    ] {
        assert_eq!(accept(bad, 0, &lim()).unwrap_err().code, ErrorCode::InvalidRequest, "{bad}");
    }
    let long = format!(
        r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","orderingkey":"{}"}}"#,
        "k".repeat(1025)
    );
    assert!(accept(&long, 0, &lim()).is_err());
    let mut small = lim();
    small.max_event_bytes = 10;
    let e = accept(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t"}"#, 0, &small).unwrap_err();
    assert_eq!(e.code, ErrorCode::PayloadTooLarge);
}

#[test]
fn the_limit_is_the_event_as_sent_not_with_the_time_the_bus_adds() {
    let head = r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":""#;
    let at_limit = |n: usize| format!("{head}{}\"}}", "x".repeat(n - head.len() - 2));
    let max = lim().max_event_bytes;
    let a = accept(&at_limit(max), 0, &lim()).unwrap();
    assert_eq!(at_limit(max).len(), max);
    assert!(a.text.len() > max, "the added time is the bus's");
    assert_eq!(accept(&at_limit(max + 1), 0, &lim()).unwrap_err().code, ErrorCode::PayloadTooLarge);
}

#[test]
fn limits_nesting_and_refuses_lone_surrogates() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(check_json(&deep(128), MAX_JSON_DEPTH).is_ok());
    assert!(check_json(&deep(129), MAX_JSON_DEPTH).is_err());
    let in_string = format!("[\"{}\"]", "[".repeat(500));
    assert!(check_json(&in_string, MAX_JSON_DEPTH).is_ok(), "brackets in strings do not count");
    assert!(check_json(r#"["\\", [[]]]"#, MAX_JSON_DEPTH).is_ok());
    for big in ["6e444", "[-1e309]", r#"{"a":1E400}"#] {
        assert!(check_json(big, 8).is_err(), "{big}");
        assert!(serde_json::from_str::<Value>(big).is_err(), "serde_json refuses {big} too");
    }
    for num in ["0", "-0.5e-3", "[1.7976931348623157e308, 12345678901234567890]", "1e-400"] {
        assert!(check_json(num, 8).is_ok(), "{num}");
    }
    for ok in [r#""\ud83d\ude00""#, r#""\u00e9\n""#, r#"{"k\u0041":"\ud83d\ude00x"}"#] {
        assert!(check_json(ok, 8).is_ok(), "{ok}");
    }
    for lone in [r#""\uda10""#, r#""\ude00""#, r#""\ud83dx""#, r#""\ud83d\ud83d""#, r#""\ud83d\n""#] {
        assert!(check_json(lone, 8).is_err(), "{lone}");
        assert!(serde_json::from_str::<Value>(lone).is_err(), "serde_json refuses {lone} too");
    }
    let ev = format!(r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{}}}"#, deep(200));
    assert!(accept(&ev, 0, &lim()).is_err());
}

#[test]
fn reads_ordering_key_alias_and_deliverafter() {
    let t = r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","partitionkey":"p","deliverafter":"1970-01-01T00:00:01Z"}"#;
    let m = accept(t, 0, &lim()).unwrap().meta;
    assert_eq!(m.ordering_key.as_deref(), Some("p"));
    assert_eq!(m.deliver_at, Some(1000));
    let t = r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","expirytime":"1970-01-01T00:00:02Z"}"#;
    assert_eq!(accept(t, 0, &lim()).unwrap().meta.expires_at, Some(2000));
}

#[test]
fn batches_are_all_or_nothing() {
    let ok = r#"[{"specversion":"1.0","id":"a","source":"/s","type":"t"},{"specversion":"1.0","id":"b","source":"/s","type":"t"}]"#;
    assert_eq!(accept_batch(ok, 0, &lim()).unwrap().len(), 2);
    let bad = r#"[{"specversion":"1.0","id":"a","source":"/s","type":"t"},{"id":"b"}]"#;
    assert!(accept_batch(bad, 0, &lim()).unwrap_err().message.starts_with("event 1"));
    assert!(accept_batch("[]", 0, &lim()).is_err());
}

#[test]
fn plain_json_data_is_kept_byte_for_byte() {
    let body = br#"{"z": 1, "a": 12345678901234567890, "pi": 3.14159265358979323846264338327950288}"#;
    let a = from_plain("i", "/s", "T", Some("application/json"), body, 0, &lim()).unwrap();
    assert!(a.text.contains(std::str::from_utf8(body).unwrap()), "{}", a.text);
    let b = from_binary(
        [("ce-specversion", "1.0"), ("ce-id", "x"), ("ce-source", "/s"), ("ce-type", "t")],
        Some("application/json"),
        body,
        0,
        &lim(),
    )
    .unwrap();
    assert!(b.text.contains(std::str::from_utf8(body).unwrap()));
}

#[test]
fn plain_and_binary_forms() {
    let a = from_plain("i", "/anonymous", "T", Some("application/json"), br#"{"k":[1]}"#, 0, &lim()).unwrap();
    let v: Value = serde_json::from_str(&a.text).unwrap();
    assert_eq!(v["data"]["k"][0], 1);
    assert_eq!(v["type"], "T");
    let a = from_plain("i", "/anonymous", "T", Some("text/json"), br#"{"a":1}"#, 0, &lim()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&a.text).unwrap()["data"]["a"], 1, "text/json is JSON too");
    let a = from_plain("i", "/anonymous", "T", Some("text/plain"), b"hi", 0, &lim()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&a.text).unwrap()["data"], "hi");
    let a = from_plain("i", "/anonymous", "T", None, &[0xff, 0], 0, &lim()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&a.text).unwrap()["data_base64"], "/wA=");
    assert!(from_plain("i", "/a", "T", Some("application/json"), b"{", 0, &lim()).is_err());
    let h =
        [("CE-SpecVersion", "1.0"), ("ce-id", "x"), ("ce-source", "/s%20p"), ("ce-type", "t"), ("host", "h")];
    let a = from_binary(h, Some("text/plain"), b"body", 0, &lim()).unwrap();
    let v: Value = serde_json::from_str(&a.text).unwrap();
    assert_eq!(v["source"], "/s p");
    assert_eq!(v["data"], "body");
    assert!(v.get("host").is_none());
}
