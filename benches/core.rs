//! The pure core natively (bench item 9): publish + deliver + fin cycles, one channel, one
//! consumer with `max_in_flight` 100, batches of 1,000 messages. `npm run bench` reads the
//! estimate from `target/criterion/core_cycles_1000/new/estimates.json`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ismld::core::{ConsumerSettings, Effect, NewMessage, Topic};
use ismld::proto::frame::Settle;
use ismld::proto::{ChannelName, Limits};
use std::hint::black_box;

const N: u64 = 1_000;

fn cycles(c: &mut Criterion) {
    let settings = ConsumerSettings { handler_timeout_ms: 60_000, max_attempts: 0, heartbeat_ms: 60_000 };
    let channel = ChannelName::parse("c").expect("a valid name");
    let batch = vec![NewMessage::default(); N as usize];
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(N));
    g.bench_function("cycles_1000", |b| {
        b.iter(|| {
            let mut t = Topic::new(Limits::default());
            let consumer = t.attach(0, &channel, settings, 100);
            t.publish(1, &batch).expect("publish");
            let mut finished = 0;
            while finished < N {
                let delivered: Vec<u64> = t
                    .drain_effects()
                    .into_iter()
                    .filter_map(|e| match e {
                        Effect::Deliver(d) => Some(d.seq),
                        _ => None,
                    })
                    .collect();
                for seq in delivered {
                    t.settle(2, consumer, Settle::Fin, seq, None, 0).expect("fin");
                    finished += 1;
                }
            }
            black_box(t.drain_effects());
        })
    });
    g.finish();
}

criterion_group!(benches, cycles);
criterion_main!(benches);
