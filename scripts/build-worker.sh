#!/usr/bin/env bash
# Builds the Worker (build/index.js + build/index_bg.wasm) with worker-build.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
worker-build --release -- --features worker
# Static assets served by Workers Assets: the dashboard and its chart library.
rm -rf build/assets
mkdir -p build/assets/dashboard
cp dashboard/* build/assets/dashboard/
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css build/assets/dashboard/
