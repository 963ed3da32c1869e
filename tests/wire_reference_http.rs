//! Keeps the wire reference (`docs/PROTOCOL.md`) true, part 2: routes, limits and
//! constants, metric families, gRPC and NSQ codes, stats fields, push settings and
//! headers, and the worked examples (message ids, FNV-1a, webhook signatures) recomputed.
#![cfg(not(target_arch = "wasm32"))] // native: wasm-pack builds every test target

mod wire;

use ismld::proto::grpc::{Code, RpcError};
use ismld::proto::http::{AttachedConsumer, ChannelStats, TopicStats};
use ismld::proto::nsq::{self, Framing, NsqError};
use ismld::proto::push::{self, PushConfig};
use ismld::proto::route::{Route, ROUTES};
use ismld::proto::{id, metrics, partition, ApiError, ErrorCode, Limits};
use std::collections::{BTreeMap, BTreeSet};
use wire::*;

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
