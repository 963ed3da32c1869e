#!/usr/bin/env bash
# Builds the npm package in js/: the client core with wasm-pack, twice (the main entry's
# wasm with feature `client`: sessions and codec, no queue core; and `ismld/memory`'s with
# feature `memory`: the same plus the in-process bus), copied to js/wasm/, then the
# TypeScript into js/dist/. Both wasm builds use their own cargo target directory
# (target/client), so they never invalidate the Worker's build; a wasm whose output is
# newer than every Rust source is not rebuilt.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p target/wasm-pack-cache js/wasm
export WASM_PACK_CACHE="$ROOT/target/wasm-pack-cache"
export CARGO_TARGET_DIR="$ROOT/target/client"

# Newer than every input of the crate?
current() {
  [ -f "$1" ] && [ -z "$(find src Cargo.toml Cargo.lock build.rs proto -newer "$1" -print -quit)" ]
}

wasm() { # feature out-name
  if current "js/wasm/$2_bg.wasm"; then
    log "client core ($1): up to date"
    return
  fi
  log "building the client core, feature $1 (wasm-pack)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z wasm-pack --log-level warn build --target web --release \
    --out-dir "pkg/$1" --out-name "$2" --mode no-install --no-pack . -- --features "$1"
  cp "pkg/$1/$2.js" "pkg/$1/$2.d.ts" "pkg/$1/$2_bg.wasm.d.ts" js/wasm/
  cp "pkg/$1/$2_bg.wasm" "js/wasm/$2_bg.wasm" # last: its time says the copy is complete
}
wasm client ismld
wasm memory ismld_memory

if [ -f js/dist/index.js ] && [ -z "$(find js/src js/tsconfig.json js/wasm -newer js/dist/index.js -print -quit)" ]; then
  log "TypeScript client: up to date"
else
  log "compiling the TypeScript client"
  rm -rf js/dist
  tsc -p js/tsconfig.json
fi
for f in js/wasm/ismld_bg.wasm js/wasm/ismld_memory_bg.wasm; do
  log "$(basename "$f"): $(wc -c < "$f") bytes, $(gzip -9c "$f" | wc -c) gzipped"
done
