//! Keeps the wire reference (`docs/PROTOCOL.md`) true: every table marked
//! `<!-- wire:{name} -->` there is compared, in both directions, with the code's own
//! definitions (error and close codes, frame ops and fields, routes, limits, constants,
//! metric families, gRPC and NSQ codes, stats fields, push settings and headers), and
//! the worked examples (message ids, FNV-1a, webhook signatures, JSON frames) are
//! recomputed.
//!
//! The convention: a marker line, then a Markdown table; its header row and separator are
//! skipped; a row's first cell holds one backticked key; numbers are written without
//! separators.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

use ismld::proto::close;
use ismld::proto::codec::ServerMessage;
use ismld::proto::frame::{
    msg_fields, msg_frame, ClientFrame, Hello, MsgHeader, OkFrame, PubFrame, ServerFrame, Settle, SettleIds,
    CLIENT_OPS,
};
use ismld::proto::grpc::{Code, RpcError};
use ismld::proto::http::{AttachedConsumer, BatchItem, ChannelStats, TopicStats};
use ismld::proto::nsq::{self, Framing, NsqError};
use ismld::proto::push::{self, PushConfig};
use ismld::proto::route::{Route, ROUTES};
use ismld::proto::server_frame::SERVER_OPS;
use ismld::proto::{id, metrics, partition, ApiError, ErrorCode, Limits};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const DOC: &str = include_str!("../docs/PROTOCOL.md");

/// Every marked table this test reads.
const TABLES: &[&str] = &[
    "message-ids",
    "errors",
    "routes",
    "topic-stats",
    "channel-stats",
    "attached-consumer",
    "metrics",
    "fnv",
    "push-settings",
    "push-headers",
    "signature",
    "client-frames",
    "server-frames",
    "close",
    "nsq-codes",
    "grpc-codes",
    "limits",
    "fixed-limits",
    "constants",
];

/// The rows of the table after `<!-- wire:{name} -->`, as cells.
fn table(name: &str) -> Vec<Vec<String>> {
    let marker = format!("<!-- wire:{name} -->");
    let lines: Vec<&str> = DOC.lines().collect();
    let at: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.trim() == marker).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "docs/PROTOCOL.md has the marker {marker} once");
    let rows: Vec<&str> = lines[at[0] + 1..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'))
        .copied()
        .collect();
    assert!(rows.len() > 2, "a table with a header, a separator and rows follows {marker}");
    assert!(rows[1].contains("---"), "the second line after {marker} is the separator");
    rows[2..]
        .iter()
        .map(|r| {
            let r = r.trim().trim_start_matches('|').trim_end_matches('|');
            r.split('|').map(|c| c.trim().to_owned()).collect()
        })
        .collect()
}

/// Every backticked span of a cell.
fn ticks(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The one backticked span of a key cell.
fn key(cell: &str) -> String {
    let t = ticks(cell);
    assert_eq!(t.len(), 1, "the cell {cell:?} holds one backticked key");
    t[0].clone()
}

/// Every whole number of a cell.
fn ints(cell: &str) -> Vec<u64> {
    cell.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
}

/// The number a cell starts with.
fn int(cell: &str) -> u64 {
    let digits: String = cell.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("the cell {cell:?} starts with a number"))
}

/// The first cell's key of every row.
fn keys(rows: &[Vec<String>]) -> BTreeSet<String> {
    let list: Vec<String> = rows.iter().map(|r| key(&r[0])).collect();
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "no key is listed twice: {list:?}");
    set
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

/// The keys of a JSON object's text, without `op`.
fn fields(json: &str) -> BTreeSet<String> {
    let v: Value = serde_json::from_str(json).unwrap();
    v.as_object().unwrap().keys().filter(|k| *k != "op").cloned().collect()
}

/// A row's fields column: backticked names, or none.
fn listed_fields(cell: &str) -> BTreeSet<String> {
    ticks(cell).into_iter().collect()
}

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

#[test]
fn routes() {
    let rows = table("routes");
    let doc = keys(&rows);
    let code: BTreeSet<String> = ROUTES.iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert_eq!(doc, code, "documented routes = route::ROUTES");
    for r in &doc {
        let (method, path) = r.split_once(' ').unwrap();
        let concrete =
            path.replace("{topic}", "orders").replace("{channel}", "audit").replace("{login}", "bob");
        Route::parse(method, &concrete).unwrap_or_else(|e| panic!("{r}: {e}"));
    }
}

/// Every field of a `Limits`, by name (a new field fails to compile here).
fn limit_fields(l: &Limits) -> BTreeMap<&'static str, u64> {
    let Limits {
        max_event_bytes,
        max_batch_events,
        max_batch_bytes,
        max_checkpoint_bytes,
        max_in_flight,
        min_handler_timeout_ms,
        max_handler_timeout_ms,
        min_heartbeat_ms,
        max_heartbeat_ms,
        max_delay_ms,
        max_topic_events,
        max_frame_bytes,
        retention_ms,
        dedup_window_ms,
        dedup_memory_pairs,
        max_channels,
    } = l.clone();
    BTreeMap::from([
        ("max_event_bytes", max_event_bytes as u64),
        ("max_batch_events", max_batch_events as u64),
        ("max_batch_bytes", max_batch_bytes as u64),
        ("max_checkpoint_bytes", max_checkpoint_bytes as u64),
        ("max_in_flight", u64::from(max_in_flight)),
        ("min_handler_timeout_ms", min_handler_timeout_ms),
        ("max_handler_timeout_ms", max_handler_timeout_ms),
        ("min_heartbeat_ms", min_heartbeat_ms),
        ("max_heartbeat_ms", max_heartbeat_ms),
        ("max_delay_ms", max_delay_ms),
        ("max_topic_events", max_topic_events),
        ("max_frame_bytes", max_frame_bytes as u64),
        ("retention_ms", retention_ms),
        ("dedup_window_ms", dedup_window_ms),
        ("dedup_memory_pairs", dedup_memory_pairs as u64),
        ("max_channels", max_channels as u64),
    ])
}

#[test]
fn limits_their_variables_and_defaults() {
    let defaults = limit_fields(&Limits::default());
    let vars = table("limits");
    assert_eq!(keys(&vars), set(Limits::VARS), "documented variables = Limits::VARS");
    let mut covered = BTreeSet::new();
    for row in &vars {
        let var = key(&row[0]);
        let lowered = limit_fields(&Limits::default().with_overrides([(var.as_str(), "0".to_owned())]));
        let changed: Vec<&str> = defaults.keys().filter(|f| defaults[*f] != lowered[*f]).copied().collect();
        assert_eq!(changed.len(), 1, "{var} sets one limit: {changed:?}");
        assert_eq!(int(&row[1]), defaults[changed[0]], "the default of {var}");
        assert!(covered.insert(changed[0]), "{} has one variable", changed[0]);
    }
    let fixed = table("fixed-limits");
    for row in &fixed {
        let field = key(&row[0]);
        let value = defaults.get(field.as_str()).unwrap_or_else(|| panic!("{field} is a field of Limits"));
        assert_eq!(int(&row[1]), *value, "{field}");
        assert!(covered.insert(defaults.get_key_value(field.as_str()).unwrap().0), "{field} is listed once");
    }
    assert_eq!(covered, defaults.keys().copied().collect(), "every limit is documented");
}

#[test]
fn constants() {
    use ismld::core;
    use ismld::proto::{auth, event, frame, http};
    let code: BTreeMap<String, u64> = [
        ("core::HELLO_TIMEOUT_MS", core::HELLO_TIMEOUT_MS),
        ("core::MAX_PENDING_SOCKETS", core::MAX_PENDING_SOCKETS as u64),
        ("core::EPHEMERAL_BACKLOG", core::EPHEMERAL_BACKLOG),
        ("core::REQUEST_TIMEOUT_MS.0", core::REQUEST_TIMEOUT_MS.0),
        ("core::REQUEST_TIMEOUT_MS.1", core::REQUEST_TIMEOUT_MS.1),
        ("frame::MAX_SETTLE_IDS", frame::MAX_SETTLE_IDS as u64),
        ("http::MAX_PULL_WAIT_MS", http::MAX_PULL_WAIT_MS),
        ("partition::MAX_PARTITIONS", u64::from(partition::MAX_PARTITIONS)),
        ("auth::DEFAULT_TOKEN_TTL_S", auth::DEFAULT_TOKEN_TTL_S),
        ("auth::MAX_TOKEN_TTL_S", auth::MAX_TOKEN_TTL_S),
        ("auth::SECRET_BYTES", auth::SECRET_BYTES as u64),
        ("event::MAX_ORDERING_KEY_BYTES", event::MAX_ORDERING_KEY_BYTES as u64),
        ("event::MAX_JSON_DEPTH", event::MAX_JSON_DEPTH as u64),
        ("push::MAX_TIMEOUT_MS", push::MAX_TIMEOUT_MS),
        ("push::MAX_RETRY_MS", push::MAX_RETRY_MS),
        ("filter::MAX_FILTER_BYTES", core::filter::MAX_FILTER_BYTES as u64),
        ("filter::MAX_FILTER_DEPTH", core::filter::MAX_FILTER_DEPTH as u64),
        ("filter::MAX_EXPRESSION_BYTES", core::filter::MAX_EXPRESSION_BYTES as u64),
        ("id::MAX_SEQ", id::MAX_SEQ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let rows = table("constants");
    keys(&rows);
    let doc: BTreeMap<String, u64> = rows.iter().map(|r| (key(&r[0]), int(&r[1]))).collect();
    assert_eq!(doc, code);
}

#[test]
fn metric_families() {
    let text = metrics::render("0.0.0", &[]);
    let code: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| {
            let mut p = l.strip_prefix("# TYPE ")?.split(' ');
            Some((p.next()?.to_owned(), p.next()?.to_owned()))
        })
        .collect();
    let rows = table("metrics");
    keys(&rows);
    let doc: BTreeMap<String, String> = rows.iter().map(|r| (key(&r[0]), r[1].clone())).collect();
    assert_eq!(doc, code);
}

#[test]
fn grpc_codes_and_their_mapping() {
    let rows = table("grpc-codes");
    keys(&rows);
    let doc: BTreeMap<String, (u64, u64)> =
        rows.iter().map(|r| (key(&r[0]), (int(&r[1]), int(&r[2])))).collect();
    let code: BTreeMap<String, (u64, u64)> = Code::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), (u64::from(c.number()), u64::from(c.http_status()))))
        .collect();
    assert_eq!(doc, code, "documented codes = grpc::Code::ALL");
    let pairs: Vec<(String, String)> =
        rows.iter().flat_map(|r| ticks(&r[3]).into_iter().map(move |e| (e, key(&r[0])))).collect();
    let doc_map: BTreeMap<String, String> = pairs.iter().cloned().collect();
    assert_eq!(doc_map.len(), pairs.len(), "each error code is listed under one gRPC code");
    let code_map: BTreeMap<String, String> = ErrorCode::ALL
        .iter()
        .map(|e| (e.as_str().to_owned(), RpcError::from(ApiError::new(*e, "x")).code.as_str().to_owned()))
        .collect();
    assert_eq!(doc_map, code_map, "each error code maps to the gRPC code that lists it");
}

#[test]
fn nsq_codes() {
    let rows = table("nsq-codes");
    keys(&rows);
    let doc: BTreeMap<String, (Vec<u64>, String)> =
        rows.iter().map(|r| (key(&r[0]), (ints(&r[1]), key(&r[2])))).collect();
    let source = include_str!("../src/proto/nsq.rs");
    let valid: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    for (nsq_code, (_, api)) in &doc {
        assert!(source.contains(&format!("\"{nsq_code}\"")), "{nsq_code} is a code of proto/nsq.rs");
        assert!(valid.contains(api.as_str()), "{api} is an error code");
    }
    let check = |e: &NsqError| {
        let (statuses, api) = doc.get(e.nsq).unwrap_or_else(|| panic!("{} is documented", e.nsq));
        assert!(statuses.contains(&u64::from(e.status)), "{} answers {}", e.nsq, e.status);
        assert_eq!(api, e.error.code.as_str(), "{} carries {api}", e.nsq);
    };
    // Every error met while publishing, in both dialects of its answer.
    for c in ErrorCode::ALL {
        for mpub in [false, true] {
            check(&NsqError::from_api(ApiError::new(c, "x"), mpub));
        }
    }
    // Every refusal of the query and the body.
    let l = Limits::default();
    let q = |mpub: bool, s: &'static str| {
        nsq::parse_query(mpub, s.split('&').filter_map(|p| p.split_once('=')), &l)
    };
    for bad in ["x=1", "topic=a@b", "topic=t&defer=-1"] {
        check(&q(false, bad).unwrap_err());
    }
    let small = Limits { max_event_bytes: 2, max_batch_bytes: 16, ..Limits::default() };
    let mut cut = 1i32.to_be_bytes().to_vec();
    cut.extend(9i32.to_be_bytes());
    let bodies: [(Framing, &[u8]); 5] = [
        (Framing::One, b""),
        (Framing::One, b"abc"),
        (Framing::Lines, b"abcdefghijklmnopq"),
        (Framing::Binary, &0i32.to_be_bytes()),
        (Framing::Binary, &cut),
    ];
    for (framing, body) in bodies {
        check(&nsq::split(framing, body, &small).unwrap_err());
    }
}

#[test]
fn stats_fields() {
    let push = PushConfig { url: "https://x".into(), ..Default::default() };
    let each = ChannelStats { partition: Some(0), ..Default::default() };
    let channel = ChannelStats {
        filter: Some(serde_json::json!({ "exact": { "type": "t" } })),
        push: Some(push),
        push_error: Some("x".into()),
        partition: Some(0),
        partitions: Some(vec![each]),
        ..Default::default()
    };
    let doc = keys(&table("channel-stats"));
    assert_eq!(doc, fields(&serde_json::to_string(&channel).unwrap()), "ChannelStats");
    let attached = AttachedConsumer { address: Some("a".into()), partition: Some(0), ..Default::default() };
    let doc = keys(&table("attached-consumer"));
    assert_eq!(doc, fields(&serde_json::to_string(&attached).unwrap()), "AttachedConsumer");
    let topic = TopicStats { partition: Some(0), ..Default::default() };
    let doc = keys(&table("topic-stats"));
    assert_eq!(doc, fields(&serde_json::to_string(&topic).unwrap()), "TopicStats");
}

#[test]
fn push_settings() {
    let full = PushConfig {
        url: "https://example.com/hook".into(),
        headers: BTreeMap::from([("authorization".to_owned(), "Bearer x".to_owned())]),
        ..Default::default()
    }
    .checked(&[1; 16])
    .unwrap();
    let doc = keys(&table("push-settings"));
    assert_eq!(doc, fields(&serde_json::to_string(&full).unwrap()), "PushConfig");
}

#[test]
fn push_request_headers() {
    let config = PushConfig { url: "https://example.com/hook".into(), ..Default::default() }
        .checked(&[2; 16])
        .unwrap();
    let event = r#"{"specversion":"1.0","id":"o-1","source":"/shop","type":"order.created","subject":"s","time":"2026-11-22T10:00:00Z","orderingkey":"k","datacontenttype":"application/json","data":{"total":12}}"#;
    let r = push::request(&config, event, "000000000000002a", 42, 0, 1, 1_795_377_260_000).unwrap();
    let code: BTreeSet<String> = r
        .headers
        .iter()
        .map(|(k, _)| if k.starts_with("ce-") { "ce-{attribute}".to_owned() } else { k.clone() })
        .collect();
    assert_eq!(keys(&table("push-headers")), code);
    assert_eq!(r.body, br#"{"total":12}"#);
    let get = |name: &str| r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("webhook-id"), "000000000000002a-1");
    assert_eq!(get("webhook-timestamp"), "1795377260");
    assert_eq!(get("ce-source"), "/shop");
}

#[test]
fn signature_examples() {
    for row in table("signature") {
        let [secret, id, ts, body, sig] = [0, 1, 2, 3, 4].map(|i| key(&row[i]));
        let made = push::signature(&secret, &id, ts.parse().unwrap(), body.as_bytes()).unwrap();
        assert_eq!(made, sig, "{id}");
    }
}

#[test]
fn fnv_examples() {
    for row in table("fnv") {
        let input = key(&row[0]).replace("\\n", "\n");
        let h = partition::fnv1a32(input.as_bytes());
        assert_eq!(u64::from(h), int(&row[1]), "{input:?}");
        assert_eq!(u64::from(h % 4), int(&row[2]), "{input:?} mod 4");
        assert_eq!(u64::from(h % 8), int(&row[3]), "{input:?} mod 8");
        assert_eq!(partition::route(Some(&input), "", None, 8), Some(h % 8));
    }
}

#[test]
fn message_id_examples() {
    for row in table("message-ids") {
        let mid = key(&row[0]);
        let (p, seq) = (int(&row[1]) as u32, int(&row[2]));
        assert_eq!(id::message_id(p, seq), mid);
        assert_eq!(id::parse_message_id(&mid), Some((p, seq)));
    }
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
