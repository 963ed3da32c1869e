//! Keeps the wire reference (`docs/PROTOCOL.md`) true, part 1: error and close codes,
//! client and server frame ops and fields, and the JSON examples, compared in both
//! directions with the code's own definitions (`wire_reference_http.rs` has the rest; the
//! table reading is in `wire/mod.rs`).
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

mod wire;

use ismld::proto::close;
use ismld::proto::codec::ServerMessage;
use ismld::proto::frame::{
    msg_fields, msg_frame, ClientFrame, Hello, MsgHeader, OkFrame, PubFrame, ServerFrame, Settle, SettleIds,
    CLIENT_OPS,
};
use ismld::proto::http::BatchItem;
use ismld::proto::server_frame::SERVER_OPS;
use ismld::proto::{ApiError, ErrorCode};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use wire::*;

#[test]
fn every_marked_table_is_known() {
    let marked: BTreeSet<String> = DOC
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<!-- wire:")?.strip_suffix(" -->").map(str::to_owned))
        .collect();
    assert_eq!(marked, set(TABLES.iter().copied()), "the marked tables are the ones this test reads");
    for t in TABLES {
        assert!(!table(t).is_empty());
    }
}

#[test]
fn error_codes_and_statuses() {
    let doc: BTreeMap<String, u64> = table("errors").iter().map(|r| (key(&r[0]), int(&r[1]))).collect();
    let code: BTreeMap<String, u64> =
        ErrorCode::ALL.iter().map(|c| (c.as_str().to_owned(), u64::from(c.http_status()))).collect();
    assert_eq!(doc, code);
    keys(&table("errors"));
}

#[test]
fn close_codes() {
    let rows = table("close");
    keys(&rows);
    let doc: BTreeMap<u16, (String, bool)> = rows
        .iter()
        .map(|r| {
            let final_ = match r[2].as_str() {
                "yes" => true,
                "no" => false,
                other => panic!("the final column says yes or no, not {other:?}"),
            };
            (key(&r[0]).parse().unwrap(), (r[1].clone(), final_))
        })
        .collect();
    let code: BTreeMap<u16, (String, bool)> =
        close::ALL.iter().map(|(c, name)| (*c, (name.to_string(), close::is_final(*c)))).collect();
    assert_eq!(doc, code);
}

#[test]
fn client_frame_ops_are_what_the_decoder_takes() {
    let rows = table("client-frames");
    let ops = keys(&rows);
    assert_eq!(ops, set(CLIENT_OPS), "documented ops = frame::CLIENT_OPS");
    for op in &ops {
        // A known op without its fields is refused for a missing field, never as unknown.
        if let Err(e) = ClientFrame::decode(&format!(r#"{{"op":"{op}"}}"#)) {
            assert!(!e.error.message.contains("unknown op"), "{op}: {}", e.error.message);
        }
    }
    let e = ClientFrame::decode(r#"{"op":"nope"}"#).unwrap_err();
    assert!(e.error.message.contains("unknown op"));
}

/// Every client frame with every field it takes, as the client codec encodes it.
fn client_frames() -> Vec<ClientFrame> {
    let raw = |t: &str| RawValue::from_string(t.to_owned()).unwrap();
    let r = Some(Value::from(1));
    let mut frames = vec![
        ClientFrame::Hello(Hello {
            login: Some("l".into()),
            secret: Some("s".into()),
            token: Some("t".into()),
            client_id: Some("c".into()),
            max_in_flight: Some(1),
            handler_timeout_ms: Some(1_000),
            max_attempts: Some(1),
            heartbeat_ms: Some(5_000),
            batch: true,
        }),
        ClientFrame::Rdy { count: 1, reference: r.clone() },
        ClientFrame::Respond {
            id: "x".into(),
            data: raw("1"),
            datacontenttype: Some("application/json".into()),
            reference: r.clone(),
        },
        ClientFrame::Pub(PubFrame {
            event: Some(raw("{}")),
            data: Some(raw("1")),
            events: Some(raw("[]")),
            ordering_key: Some("k".into()),
            delay_ms: Some(1),
            ttl_ms: Some(1),
            reference: r.clone(),
        }),
        ClientFrame::Ping,
    ];
    for verb in [Settle::Fin, Settle::Touch, Settle::Req, Settle::Shelve] {
        // `delay_ms` means something for req and shelve only; `ids` is refused on shelve.
        let delay_ms = matches!(verb, Settle::Req | Settle::Shelve).then_some(1);
        let one = SettleIds::One("x".into());
        frames.push(ClientFrame::Settle {
            verb,
            ids: one,
            state: Some(raw("{}")),
            delay_ms,
            reference: r.clone(),
        });
        if verb != Settle::Shelve {
            let many = SettleIds::Many(vec!["x".into()]);
            frames.push(ClientFrame::Settle { verb, ids: many, state: None, delay_ms, reference: r.clone() });
        }
    }
    frames
}

#[test]
fn client_frame_fields() {
    let mut code: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in client_frames() {
        code.entry(f.op().to_owned()).or_default().extend(fields(&f.encode()));
    }
    let doc: BTreeMap<String, BTreeSet<String>> =
        table("client-frames").iter().map(|r| (key(&r[0]), listed_fields(&r[1]))).collect();
    assert_eq!(doc, code);
}

#[test]
fn server_frame_ops_and_fields() {
    let rows = table("server-frames");
    assert_eq!(keys(&rows), set(SERVER_OPS), "documented ops = server_frame::SERVER_OPS");
    let h = MsgHeader {
        id: "000000000000002a",
        seq: 42,
        partition: 0,
        attempt: 1,
        failures: 0,
        deadline: 1,
        reply: false,
        checkpoint: Some("{}"),
    };
    let welcome = ServerFrame::Welcome {
        topic: "t",
        channel: Some("c"),
        session: "s",
        max_in_flight: 1,
        heartbeat_ms: 30_000,
        batch: Some(true),
        partition: 0,
        partitions: 1,
    };
    let reference = Value::from(1);
    let missing = ["x"];
    let results = [BatchItem { id: "x".into(), seq: 1, partition: 0, duplicate: false }];
    let ok = OkFrame {
        reference: Some(&reference),
        id: Some("x"),
        seq: Some(1),
        partition: Some(0),
        duplicate: Some(false),
        deadline: Some(1),
        settled: Some(1),
        missing: Some(&missing),
        results: Some(&results),
    };
    let sent = [
        welcome.encode(),
        msg_frame(&h, "{}"),
        format!("{{\"op\":\"msgs\",\"messages\":[{{{}}}]}}", msg_fields(&h, "{}")),
        ok.encode(),
        ServerFrame::error(Some(&reference), &ApiError::invalid("x")),
        ServerFrame::Pong.encode(),
    ];
    let mut code: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for text in &sent {
        let m = ServerMessage::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        code.insert(m.op().to_owned(), fields(text));
    }
    let doc: BTreeMap<String, BTreeSet<String>> =
        rows.iter().map(|r| (key(&r[0]), listed_fields(&r[1]))).collect();
    assert_eq!(doc, code);
}

/// The JSON values of the reference's `json` blocks: a block is one value, or one per line.
fn json_examples() -> Vec<Value> {
    let mut out = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in DOC.lines() {
        match (&mut block, line.trim()) {
            (None, "```json") => block = Some(Vec::new()),
            (Some(lines), "```") => {
                let text = lines.join("\n");
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) => out.push(v),
                    Err(_) => {
                        for l in lines.iter().filter(|l| !l.trim().is_empty()) {
                            out.push(serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")));
                        }
                    }
                }
                block = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    out
}

#[test]
fn json_examples_are_valid_frames_and_bodies() {
    let examples = json_examples();
    assert!(examples.len() > 10);
    let mut frames = 0;
    for v in &examples {
        let text = v.to_string();
        let Some(op) = v.get("op").and_then(Value::as_str) else {
            if let Some(e) = v.get("error") {
                let e: ApiError = serde_json::from_value(e.clone()).unwrap_or_else(|x| panic!("{text}: {x}"));
                assert!(ErrorCode::ALL.contains(&e.code));
            }
            continue;
        };
        frames += 1;
        if SERVER_OPS.contains(&op) {
            let m = ServerMessage::decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.op(), op);
        } else {
            let f = ClientFrame::decode(&text).unwrap_or_else(|e| panic!("{text}: {:?}", e.error));
            assert_eq!(f.op(), op);
        }
    }
    assert!(frames >= 5, "the frame examples were read");
}
