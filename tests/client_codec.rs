//! The client's frame codec (src/proto/codec.rs): what it encodes the server's decoder
//! reads back unchanged, and it decodes what the server encodes (msg, msgs, batched oks).
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::proto::codec::{Delivered, OkAnswer, ServerMessage};
use ismld::proto::frame::{
    msg_fields, msg_frame, ClientFrame, Hello, Json, MsgHeader, PubFrame, ServerFrame, Settle, SettleIds,
};
use serde_json::value::RawValue;
use serde_json::Value;

fn raw(s: &str) -> Json {
    RawValue::from_string(s.to_owned()).unwrap()
}

#[test]
fn client_frames_round_trip() {
    let frames = vec![
        ClientFrame::Hello(Hello {
            token: Some("t".into()),
            max_in_flight: Some(3),
            heartbeat_ms: Some(5_000),
            ..Default::default()
        }),
        ClientFrame::Rdy { count: 0, reference: Some(Value::from(1)) },
        ClientFrame::Settle {
            verb: Settle::Shelve,
            ids: SettleIds::One("a".into()),
            state: Some(raw(r#"{"n":1}"#)),
            delay_ms: Some(10),
            reference: Some(Value::from(2)),
        },
        ClientFrame::Respond {
            id: "b".into(),
            data: raw("[1]"),
            datacontenttype: Some("application/json".into()),
            reference: None,
        },
        ClientFrame::Pub(PubFrame {
            event: None,
            data: Some(raw("{}")),
            events: None,
            ordering_key: Some("k".into()),
            delay_ms: None,
            ttl_ms: None,
            reference: Some(Value::from("r")),
        }),
        ClientFrame::Settle {
            verb: Settle::Fin,
            ids: SettleIds::Many(vec!["a".into(), "b".into()]),
            state: None,
            delay_ms: None,
            reference: Some(Value::from(3)),
        },
        ClientFrame::Ping,
    ];
    for f in frames {
        let text = f.encode();
        let back = ClientFrame::decode(&text).unwrap_or_else(|e| panic!("{text}: {:?}", e.error));
        assert_eq!(back.encode(), text);
        assert_eq!(back.op(), f.op());
    }
}

#[test]
fn decodes_what_the_server_encodes() {
    let welcome = ServerFrame::Welcome {
        topic: "t",
        channel: Some("c"),
        session: "1",
        max_in_flight: 2,
        heartbeat_ms: 30_000,
        batch: Some(true),
        partition: 0,
        partitions: 1,
    };
    assert!(matches!(
        ServerMessage::decode(&welcome.encode()).unwrap(),
        ServerMessage::Welcome { max_in_flight: 2, batch: true, .. }
    ));
    let h = MsgHeader {
        id: "x",
        seq: 7,
        partition: 0,
        attempt: 2,
        failures: 1,
        deadline: 9,
        reply: true,
        checkpoint: Some(r#"{"n":1}"#),
    };
    match ServerMessage::decode(&msg_frame(&h, r#"{"id":"e"}"#)).unwrap() {
        ServerMessage::Msg(d) => {
            assert_eq!((d.seq, d.attempt, d.failures, d.reply), (7, 2, 1, true));
            assert_eq!(d.checkpoint.as_deref(), Some(r#"{"n":1}"#));
            assert_eq!(d.event, r#"{"id":"e"}"#);
        }
        other => panic!("{other:?}"),
    }
    let no_cp = msg_frame(&MsgHeader { checkpoint: None, ..h }, "{}");
    assert!(matches!(
        ServerMessage::decode(&no_cp).unwrap(),
        ServerMessage::Msg(Delivered { checkpoint: None, .. })
    ));
    let msgs =
        format!(r#"{{"op":"msgs","messages":[{{{}}},{{{}}}]}}"#, msg_fields(&h, "{}"), msg_fields(&h, "[]"));
    match ServerMessage::decode(&msgs).unwrap() {
        ServerMessage::Msgs(v) => {
            assert_eq!(v.iter().map(|d| d.event.as_str()).collect::<Vec<_>>(), ["{}", "[]"])
        }
        other => panic!("{other:?}"),
    }
    let ok = r#"{"op":"ok","ref":3,"settled":1,"missing":["b"]}"#;
    assert!(matches!(
        ServerMessage::decode(ok).unwrap(),
        ServerMessage::Ok(OkAnswer { settled: Some(1), .. })
    ));
    let ok = r#"{"op":"ok","ref":4,"results":[{"id":"a","seq":1,"partition":0,"duplicate":false}]}"#;
    assert!(
        matches!(ServerMessage::decode(ok).unwrap(), ServerMessage::Ok(OkAnswer { results: Some(r), .. }) if r[0].seq == 1)
    );
    assert!(ServerMessage::decode(r#"{"op":"nope"}"#).is_err());
    assert!(ServerMessage::decode(r#"{"op":"msg"}"#).is_err());
}

#[test]
fn decodes_leniently_where_the_client_can_and_names_what_is_wrong() {
    // A ref that is not a number is not one of the client's.
    let ok = ServerMessage::decode(r#"{"op":"ok","ref":"theirs"}"#).unwrap();
    assert!(matches!(ok, ServerMessage::Ok(OkAnswer { reference: None, .. })));
    for (bad, why) in [
        ("[1]", "object"),
        ("7", "object"),
        (r#"{"op":"msgs","messages":{}}"#, "list"),
        (r#"{"op":"msgs","messages":[1]}"#, "object"),
        (r#"{"op":"msg","id":"a","seq":"1","deadline":1,"event":{}}"#, "seq"),
    ] {
        let e = ServerMessage::decode(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn settings_keep_defaults_and_refuse_wrong_types() {
    use ismld::client::publisher::PublisherConfig;
    use ismld::client::session::SessionConfig;
    let s = SessionConfig::from_json(r#"{"token":"t","max_in_flight":3,"client_id":null}"#).unwrap();
    assert_eq!((s.token.as_deref(), s.max_in_flight, s.heartbeat_ms, s.batch), (Some("t"), 3, 30_000, true));
    assert!(SessionConfig::from_json(r#"{"max_in_flight":"3"}"#).unwrap_err().contains("max_in_flight"));
    assert!(SessionConfig::from_json(r#"{"max_in_flight":5000000000}"#).is_err(), "over u32");
    assert!(SessionConfig::from_json("[]").is_err());
    let p = PublisherConfig::from_json(r#"{"linger_ms":0,"refresh":true}"#).unwrap();
    assert_eq!((p.linger_ms, p.refresh, p.max_batch), (0, true, 500));
    assert!(PublisherConfig::from_json(r#"{"refresh":1}"#).is_err());
}

#[test]
fn json_text_spliced_into_frames_reads_back_as_sent() {
    use ismld::proto::codec::{check_json_text, respond_frame, with_member};
    let data = r#"{"ok": [1, 2.5, "x"]}"#;
    match ClientFrame::decode(&respond_frame("m1", data, Some("application/json"), 4)).unwrap() {
        ClientFrame::Respond { id, data: d, datacontenttype, reference } => {
            assert_eq!((id.as_str(), d.get()), ("m1", data));
            assert_eq!(datacontenttype.as_deref(), Some("application/json"));
            assert_eq!(reference, Some(Value::from(4)));
        }
        other => panic!("{other:?}"),
    }
    let fin = ClientFrame::Settle {
        verb: Settle::Fin,
        ids: SettleIds::One("m1".into()),
        state: None,
        delay_ms: None,
        reference: Some(Value::from(5)),
    };
    for state in ["null", r#"{"n":1}"#, "[]", "\"s\""] {
        match ClientFrame::decode(&with_member(fin.encode(), "state", state)).unwrap() {
            ClientFrame::Settle { state: Some(s), reference, .. } => {
                assert_eq!((s.get(), reference), (state, Some(Value::from(5))));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(check_json_text(" [] ").is_ok() && check_json_text("7").is_ok());
    for bad in ["", "{", "1 2", "{'a':1}", "[1,]"] {
        assert!(check_json_text(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_delivery_keeps_the_event_text_through_to_its_action() {
    use ismld::client::session::Action;
    let h = MsgHeader {
        id: "m\"1",
        seq: 3,
        partition: 1,
        attempt: 1,
        failures: 0,
        deadline: 9,
        reply: false,
        checkpoint: None,
    };
    let event = r#"{ "specversion" : "1.0", "data": {"big": 12345678901234567890} }"#;
    let Ok(ServerMessage::Msg(d)) = ServerMessage::decode(&msg_frame(&h, event)) else { panic!() };
    assert_eq!(d.event, event, "the event is passed on byte for byte");
    let action = Action::from(d);
    let json = Action::list_json(&[action, Action::Connect]);
    assert!(
        json.contains(r#""event":{ "specversion" : "1.0", "data": {"big": 12345678901234567890} }"#),
        "{json}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["do"], "deliver");
    assert_eq!(v[0]["id"], "m\"1");
    assert_eq!((v[0]["seq"].as_u64(), v[0]["partition"].as_u64()), (Some(3), Some(1)));
    assert_eq!(v[0]["checkpoint"], Value::Null);
    assert_eq!(v[1]["do"], "connect");
}

mod spans {
    use ismld::proto::flat::{elements, members};
    use proptest::prelude::*;
    use serde_json::Value;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            "[\"\\\\{}\\[\\],: ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((".{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn read(raw: &str) -> Value {
        serde_json::from_str(raw).unwrap()
    }

    /// A value as read back from its text (serde_json's float parsing is not exact both
    /// ways, but it reads the same digits the same way).
    fn reread(v: &Value) -> Value {
        read(&v.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The span scanner finds exactly what serde_json reads, compact or pretty-printed.
        #[test]
        fn member_and_element_spans_are_what_serde_reads(v in json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            match &v {
                Value::Object(o) => {
                    let m = members(&text).expect("an object");
                    prop_assert_eq!(m.len(), o.len());
                    for ((k, raw), (ek, ev)) in m.iter().zip(o) {
                        prop_assert_eq!(k, ek);
                        prop_assert_eq!(read(raw), reread(ev));
                    }
                }
                Value::Array(a) => {
                    let e = elements(&text).expect("an array");
                    prop_assert_eq!(e.len(), a.len());
                    for (raw, ev) in e.iter().zip(a) {
                        prop_assert_eq!(read(raw), reread(ev));
                    }
                }
                _ => prop_assert!(members(&text).is_none() && elements(&text).is_none()),
            }
        }
    }
}
