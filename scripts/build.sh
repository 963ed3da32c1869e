#!/usr/bin/env bash
# Builds everything: the Worker (build/) and the client package (js/dist, js/wasm),
# installing what is missing first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
log "building the Worker"
bash scripts/build-worker.sh
log "building the client package (wasm-pack + tsc)"
bash scripts/build-client.sh
