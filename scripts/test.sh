#!/usr/bin/env bash
# The whole test suite: formatting and lints, native core tests, then end-to-end tests of
# the built Worker in workerd (real Durable Object SQLite storage, real WebSockets).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# A clean run writes about 3 GB under target/ and 0.9 GB of node_modules: say so up front
# when the disk is short, rather than let a linker fail halfway with "No space left".
free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((4 * 1024 * 1024)) ]; then
  log "warning: $((${free_kb:-0} / 1024)) MB free on the disk of $ROOT; a clean run needs about 4 GB"
fi
bash scripts/setup.sh --browsers

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (native, and the Worker for wasm32)"
cargo clippy --all-targets -q -- -D warnings
cargo clippy --features worker --target wasm32-unknown-unknown -q -- -D warnings
cargo clippy --features client --target wasm32-unknown-unknown -q -- -D warnings
cargo clippy --features memory --target wasm32-unknown-unknown -q -- -D warnings

log "native tests of the core and the wire (cargo test)"
cargo test -q

log "building the Worker"
bash scripts/build-worker.sh >/dev/null 2>&1 || bash scripts/build-worker.sh

log "building the client package (wasm-pack + tsc)"
bash scripts/build-client.sh

log "the client core in headless Chromium against the Worker (wasm-pack test)"
mkdir -p tests/out
node tests/e2e/serve-worker.mjs > tests/out/serve-worker.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# workerd's first start on a cold machine (compiling the Worker's wasm) can take a while.
for _ in $(seq 1 1200); do grep -q '^URL ' tests/out/serve-worker.log && break; sleep 0.1; done
if ! grep -q '^URL ' tests/out/serve-worker.log; then
  echo "the Worker did not start within 120 s:" >&2
  cat tests/out/serve-worker.log >&2
  exit 1
fi
read -r _ ISMLD_TEST_URL _ ISMLD_TEST_TOKEN < <(grep '^URL ' tests/out/serve-worker.log)
export ISMLD_TEST_URL ISMLD_TEST_TOKEN WASM_PACK_CACHE="$ROOT/target/wasm-pack-cache"
touch tests/out/browser-test-start
wasm-pack --log-level warn test --headless --chrome --chromedriver /usr/bin/chromedriver --mode no-install \
  . --features client --test browser_client
kill $server 2>/dev/null || true
# chromedriver leaves the browser's profile (~10 MB) in the temp directory: remove the
# ones this run made, so that repeated runs do not fill the disk.
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'org.chromium.Chromium.*' -newer tests/out/browser-test-start \
  -exec rm -rf {} + 2>/dev/null || true

log "generating the Connect clients' code from proto/ (buf generate)"
npx --no-install buf generate

log "building the C# client (Mono: scripts/build-dotnet.sh; run by tests/e2e/dotnet.test.mjs)"
bash scripts/build-dotnet.sh

log "end-to-end tests against the Worker in workerd (node --test)"
# --test-force-exit: a failed test that leaves a socket open must not hang the run.
node --test --test-concurrency=1 --test-force-exit --test-timeout=180000 tests/e2e/*.test.mjs
