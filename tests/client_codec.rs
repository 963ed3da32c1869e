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
            assert_eq!(d.checkpoint.unwrap().get(), r#"{"n":1}"#);
            assert_eq!(d.event.get(), r#"{"id":"e"}"#);
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
            assert_eq!(v.iter().map(|d| d.event.get()).collect::<Vec<_>>(), ["{}", "[]"])
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
