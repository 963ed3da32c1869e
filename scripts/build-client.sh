#!/usr/bin/env bash
# Builds the npm package in js/: the client core with wasm-pack (into pkg/, never
# committed), copied to js/wasm/, then the TypeScript into js/dist/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p target/wasm-pack-cache
export WASM_PACK_CACHE="$ROOT/target/wasm-pack-cache"
log "building the client core (wasm-pack)"
CARGO_PROFILE_RELEASE_OPT_LEVEL=z wasm-pack --log-level warn build --target web --release --out-dir pkg --out-name ismld \
  --mode no-install --no-pack . -- --features client
mkdir -p js/wasm
cp pkg/ismld.js pkg/ismld.d.ts pkg/ismld_bg.wasm pkg/ismld_bg.wasm.d.ts js/wasm/
log "compiling the TypeScript client"
rm -rf js/dist
tsc -p js/tsconfig.json
