#!/usr/bin/env bash
# Builds the Worker (build/index.js + build/index_bg.wasm) with worker-build.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# Its own target directory: the client (features "client") builds the same crate with
# other features, and one shared directory would make each build invalidate the other.
# opt-level "z": the smallest code (measured: 1,130 -> 1,007 KB).
export CARGO_TARGET_DIR="$ROOT/target/worker"
# Nothing to do when the build is newer than every input (a warm `npm run dev`).
if [ "${1:-}" != "--force" ] && [ -f build/index_bg.wasm ] && [ -f build/index.js ] && [ -d build/assets/dashboard ] &&
  [ -z "$(find src Cargo.toml Cargo.lock build.rs proto dashboard scripts/build-worker.sh -newer build/index_bg.wasm -print -quit)" ]; then
  log "Worker: up to date"
  exit 0
fi
CARGO_PROFILE_RELEASE_OPT_LEVEL=z worker-build --release -- --features worker
# worker-build keeps the wasm names section (~180 KB, a fifth of the file); panics still
# report their file and line without it. Same feature set as worker-build's wasm-opt run.
"$WASM_OPT_BIN" build/index_bg.wasm --strip-debug -o build/index_bg.wasm \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
# Static assets served by Workers Assets: the dashboard and its chart library.
rm -rf build/assets
mkdir -p build/assets/dashboard
cp dashboard/* build/assets/dashboard/
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css build/assets/dashboard/
