//! Channel filters natively, per event: reading an event's attributes from its stored JSON
//! (with 1 KiB of `data`, which is skipped), then an `exact` filter and a CESQL filter on
//! them. `cargo bench --bench filter`.

use criterion::{criterion_group, criterion_main, Criterion};
use ismld::core::filter::{EventAttributes, Filter};
use serde_json::json;
use std::hint::black_box;

fn filters(c: &mut Criterion) {
    let event = json!({
        "specversion": "1.0", "id": "01J9Z3K4T8M2", "source": "/shop/eu", "type": "order.created",
        "subject": "orders/42", "time": "2025-01-01T12:00:00.000Z", "datacontenttype": "application/json",
        "amount": 25, "orderingkey": "customer-7",
        "data": {"lines": vec![json!({"sku": "A-1", "qty": 1, "note": "x".repeat(24)}); 16]},
    })
    .to_string();
    let attributes = EventAttributes::from_json(&event).expect("an event");
    let exact = Filter::parse(&json!({"exact": {"type": "order.created"}})).expect("a filter");
    let sql = Filter::parse(&json!({"sql": "type LIKE 'order.%' AND EXISTS subject AND amount > 10"}))
        .expect("a filter");
    assert!(exact.matches(&attributes) && sql.matches(&attributes));

    let mut g = c.benchmark_group("filter");
    g.bench_function("attributes_from_json", |b| b.iter(|| EventAttributes::from_json(black_box(&event))));
    g.bench_function("exact", |b| b.iter(|| exact.matches(black_box(&attributes))));
    g.bench_function("sql", |b| b.iter(|| sql.matches(black_box(&attributes))));
    g.bench_function("parse_sql", |b| {
        let text = json!({"sql": "type LIKE 'order.%' AND EXISTS subject AND amount > 10"});
        b.iter(|| Filter::parse(black_box(&text)))
    });
    g.finish();
}

criterion_group!(benches, filters);
criterion_main!(benches);
