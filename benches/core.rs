//! The broker natively (bench item 9): publish + deliver + fin cycles over the in-memory
//! store, one channel, one batch consumer with `max_in_flight` 100, batches of 1,000
//! messages and batched fins; and the publish of a batch of 1,000 events alone (validation,
//! dedup, append, the answer) to a topic with one channel. `npm run bench` reads the
//! estimates from `target/criterion/core/{cycles_1000,publish_batch_1000}/new/estimates.json`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismld::core::{
    Answer, Broker, Caller, FrameOutcome, MemStore, Operation, Output, Partition, TopicRequest,
};
use ismld::proto::route::TopicOp;
use ismld::proto::{Limits, TopicName};
use std::hint::black_box;

const N: usize = 1_000;

fn ids(out: Vec<Output>) -> Vec<String> {
    let mut ids = Vec::new();
    for o in out {
        if let Output::Send { text, .. } = o {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let list = match v["op"].as_str() {
                Some("msgs") => v["messages"].as_array().cloned().unwrap_or_default(),
                Some("msg") => vec![v],
                _ => Vec::new(),
            };
            ids.extend(list.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)));
        }
    }
    ids
}

fn cycles(c: &mut Criterion) {
    let topic = TopicName::parse("t").expect("name");
    let batch: Vec<serde_json::Value> = (0..N)
        .map(|i| serde_json::json!({ "specversion": "1.0", "id": format!("e{i}"), "source": "/bench", "type": "t" }))
        .collect();
    let body = serde_json::to_vec(&batch).expect("json");
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("cycles_1000", |b| {
        b.iter(|| {
            let mut store = MemStore::new();
            let mut broker = Broker::new(Limits::default(), Partition::default());
            let ch = ismld::proto::ChannelName::parse("c").expect("name");
            broker.open(1, 99, Some(&ch), None, None).expect("open");
            let hello = r#"{"op":"hello","max_in_flight":100,"batch":true}"#;
            if let Ok(FrameOutcome::Authenticate(h)) = broker.frame(1, &mut store, 99, hello, [0; 16]) {
                let caller =
                    Caller { source: "/bench".into(), login: None, may_publish: true, may_subscribe: true };
                broker.hello(1, &mut store, 99, "t", &h, Ok(caller)).expect("hello");
            }
            broker.drain();
            let req = request(&topic, &body);
            let answer = broker.http(2, &mut store, &req).expect("publish");
            assert!(matches!(answer, Answer::Done { status: 201, .. }));
            let mut pending = ids(broker.drain());
            let mut finished = 0;
            while finished < N && !pending.is_empty() {
                let frame = serde_json::json!({ "op": "fin", "ids": pending }).to_string();
                finished += pending.len();
                broker.frame(3, &mut store, 99, &frame, [0; 16]).expect("fin");
                pending = ids(broker.drain());
            }
            assert_eq!(finished, N);
            black_box(store.rows_written);
        })
    });
    let events: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            let data = serde_json::json!({ "i": i, "pad": "x".repeat(64) });
            serde_json::json!({ "specversion": "1.0", "id": format!("e-{i}"), "source": "/bench", "type": "bench.event", "data": data })
        })
        .collect();
    let batch_body = serde_json::to_vec(&events).expect("json");
    g.bench_function("publish_batch_1000", |b| {
        b.iter_batched(
            || {
                let mut store = MemStore::new();
                let mut broker = Broker::new(Limits::default(), Partition::default());
                let (_, op) = Operation::parse("PUT", "/v1/topics/t/channels/c").expect("route");
                let put = TopicRequest { op, body: b"{}", ..request(&topic, &[]) };
                broker.http(1, &mut store, &put).expect("channel");
                (store, broker)
            },
            |(mut store, mut broker)| {
                let req = request(&topic, &batch_body);
                let answer = broker.http(2, &mut store, &req).expect("publish");
                assert!(matches!(answer, Answer::Done { status: 201, .. }));
                black_box(store.rows_written);
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A batch publish of `body` to `topic`.
fn request<'a>(topic: &'a TopicName, body: &'a [u8]) -> TopicRequest<'a> {
    TopicRequest {
        topic,
        op: Operation::Topic(TopicOp::Publish),
        query: &[],
        headers: &[],
        content_type: Some("application/cloudevents-batch+json"),
        body,
        source: "/bench",
        nsq: None,
        entropy: [1; 16],
        routed: Default::default(),
    }
}

criterion_group!(benches, cycles);
criterion_main!(benches);
