//! Isolate-wide counters for the benchmarks (`bench/`): SQLite rows written by topic
//! objects, and object activations. Served at `GET /v1/_bench/counters` only when the
//! Worker var `BENCH_COUNTERS = "true"` (never set in `wrangler.toml`); otherwise that
//! path is `404`. Counting costs one atomic add; nothing is stored.

use std::sync::atomic::{AtomicU64, Ordering};

static ROWS_WRITTEN: AtomicU64 = AtomicU64::new(0);
static WAKES: AtomicU64 = AtomicU64::new(0);
static STARTS: AtomicU64 = AtomicU64::new(0);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// One SQL statement run by a topic object (a read or a write).
pub fn statement() {
    STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

/// Adds rows written by one SQL statement.
pub fn rows_written(n: usize) {
    ROWS_WRITTEN.fetch_add(n as u64, Ordering::Relaxed);
}

/// One handler invocation of a topic object (fetch, alarm, socket message or close).
pub fn wake() {
    WAKES.fetch_add(1, Ordering::Relaxed);
}

/// A topic object loaded its state (first use, or after eviction / hibernation).
pub fn start() {
    STARTS.fetch_add(1, Ordering::Relaxed);
}

/// The counters as JSON.
pub fn snapshot() -> serde_json::Value {
    serde_json::json!({
        "rows_written": ROWS_WRITTEN.load(Ordering::Relaxed),
        "wakes": WAKES.load(Ordering::Relaxed),
        "starts": STARTS.load(Ordering::Relaxed),
        "statements": STATEMENTS.load(Ordering::Relaxed),
    })
}
