#!/usr/bin/env bash
# The whole test suite: formatting and lints, native core tests, then end-to-end tests of
# the built Worker in workerd (real Durable Object SQLite storage, real WebSockets).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (native, and the Worker for wasm32)"
cargo clippy --all-targets -q -- -D warnings
cargo clippy --features worker --target wasm32-unknown-unknown -q -- -D warnings

log "native tests of the core and the wire (cargo test)"
cargo test -q

log "building the Worker"
bash scripts/build-worker.sh >/dev/null 2>&1 || bash scripts/build-worker.sh

log "end-to-end tests against the Worker in workerd (node --test)"
node --test --test-concurrency=1 tests/e2e/*.test.mjs
