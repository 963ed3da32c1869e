//! Unit tests of the client-frame decoder.

use super::*;

#[test]
fn decodes_settle_with_null_state_as_present() {
    let f = ClientFrame::decode(r#"{"op":"fin","id":"x","state":null,"ref":7,"extra":1}"#).unwrap();
    match f {
        ClientFrame::Settle { verb: Settle::Fin, ids: SettleIds::One(id), state, reference, .. } => {
            assert_eq!(id, "x");
            assert_eq!(state.unwrap().get(), "null");
            assert_eq!(reference, Some(Value::from(7)));
        }
        other => panic!("{other:?}"),
    }
    let f = ClientFrame::decode(r#"{"op":"touch","id":"x"}"#).unwrap();
    assert!(matches!(f, ClientFrame::Settle { state: None, .. }));
}

#[test]
fn decodes_batched_settles_and_refuses_mixed_forms() {
    let f = ClientFrame::decode(r#"{"op":"req","ids":["a","b"],"delay_ms":5,"ref":1}"#).unwrap();
    assert!(
        matches!(f, ClientFrame::Settle { verb: Settle::Req, ids: SettleIds::Many(ref v), .. } if v.len() == 2)
    );
    for bad in [
        r#"{"op":"fin","id":"a","ids":["b"]}"#,
        r#"{"op":"fin","ids":[]}"#,
        r#"{"op":"touch","ids":["a"],"state":{}}"#,
        r#"{"op":"shelve","ids":["a"]}"#,
        r#"{"op":"pub","event":{},"events":[]}"#,
    ] {
        assert!(ClientFrame::decode(bad).is_err(), "{bad}");
    }
    let many =
        format!(r#"{{"op":"fin","ids":{}}}"#, serde_json::to_string(&vec!["x"; MAX_SETTLE_IDS + 1]).unwrap());
    assert!(ClientFrame::decode(&many).is_err());
    let p = ClientFrame::decode(r#"{"op":"pub","events":[{"a":1}],"ref":2,"ttl_ms":9}"#).unwrap();
    assert!(matches!(p, ClientFrame::Pub(PubFrame { events: Some(_), ttl_ms: Some(9), .. })));
    let h = ClientFrame::decode(r#"{"op":"hello","batch":true}"#).unwrap();
    assert!(matches!(h, ClientFrame::Hello(Hello { batch: true, .. })));
}

#[test]
fn refuses_unknown_and_malformed_keeping_ref() {
    let e = ClientFrame::decode(r#"{"op":"nope","ref":"a"}"#).unwrap_err();
    assert_eq!(e.error.code, ErrorCode::InvalidRequest);
    assert_eq!(e.reference, Some(Value::from("a")));
    let e = ClientFrame::decode(r#"{"op":"rdy","count":"x","ref":"b"}"#).unwrap_err();
    assert_eq!(e.reference, Some(Value::from("b")));
    assert!(ClientFrame::decode("[1]").is_err());
    assert!(ClientFrame::decode("{").is_err());
    assert!(ClientFrame::decode(r#"{"op":"fin"}"#).is_err());
    assert!(ClientFrame::decode(r#"{"op":"pub","ref":1}"#).is_err());
    assert!(ClientFrame::decode(r#"{"op":"rdy","count":-1}"#).is_err());
}

#[test]
fn encodes_msg_around_raw_json() {
    let h = MsgHeader {
        id: "0000000000000001",
        seq: 1,
        partition: 0,
        attempt: 1,
        failures: 0,
        deadline: 5,
        reply: false,
        checkpoint: None,
    };
    let text = msg_frame(&h, r#"{"id":"1"}"#);
    assert_eq!(
        text,
        r#"{"op":"msg","id":"0000000000000001","seq":1,"partition":0,"attempt":1,"failures":0,"deadline":5,"reply":false,"checkpoint":null,"event":{"id":"1"}}"#
    );
    let v: Value =
        serde_json::from_str(&msg_frame(&MsgHeader { checkpoint: Some(r#"{"n":2}"#), ..h }, "{}")).unwrap();
    assert_eq!(v["checkpoint"]["n"], 2);
    assert_eq!(ok_frame(None), r#"{"op":"ok","ref":null}"#);
    let missing = ["a"];
    let ok = OkFrame { reference: None, settled: Some(2), missing: Some(&missing), ..Default::default() };
    assert_eq!(ok.encode(), r#"{"op":"ok","ref":null,"settled":2,"missing":["a"]}"#);
}

#[test]
fn client_ops_are_what_the_decoder_takes() {
    let smallest = |op: &str| match op {
        "rdy" => r#"{"op":"rdy","count":1}"#.to_owned(),
        "fin" | "touch" | "req" | "shelve" => format!(r#"{{"op":"{op}","id":"x"}}"#),
        "respond" => r#"{"op":"respond","id":"x","data":1}"#.to_owned(),
        "pub" => r#"{"op":"pub","data":1}"#.to_owned(),
        _ => format!(r#"{{"op":"{op}"}}"#),
    };
    for op in CLIENT_OPS {
        let f = ClientFrame::decode(&smallest(op)).unwrap_or_else(|e| panic!("{op}: {:?}", e.error));
        assert_eq!(f.op(), op);
        // A new variant fails to compile here: give its op a place in CLIENT_OPS (and in
        // docs/PROTOCOL.md, whose test reads CLIENT_OPS).
        match f {
            ClientFrame::Hello(_)
            | ClientFrame::Rdy { .. }
            | ClientFrame::Settle { .. }
            | ClientFrame::Respond { .. }
            | ClientFrame::Pub(_)
            | ClientFrame::Ping => {}
        }
    }
    let unique: std::collections::BTreeSet<_> = CLIENT_OPS.iter().collect();
    assert_eq!(unique.len(), CLIENT_OPS.len());
    assert!(ClientFrame::decode(r#"{"op":"pong"}"#).is_err(), "only listed ops decode");
}
