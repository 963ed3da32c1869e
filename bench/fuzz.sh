#!/usr/bin/env bash
# Fuzzes the wire decoders with libFuzzer (cargo fuzz), each for a bounded time.
#   bash bench/fuzz.sh [seconds per target, default 120]
# Crashes land in fuzz/artifacts/<target>/; copy each into tests/fuzz_regressions/<target>/
# so `cargo test` replays it forever (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-120}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.1
mkdir -p fuzz/corpus/frame_decode fuzz/corpus/cloudevent
# Seed the corpora with the golden fixtures and regression inputs.
cp tests/fixtures/frames/*.json fuzz/corpus/frame_decode/ 2>/dev/null || true
cp tests/fixtures/events/*.json fuzz/corpus/cloudevent/ 2>/dev/null || true
for target in frame_decode cloudevent; do
  echo "== $target: ${SECS}s"
  (cd fuzz && cargo fuzz run "$target" -s none -O -- -max_total_time="$SECS" -max_len=65536 2>&1) \
    | grep -E "^(#[0-9]+.*(DONE|pulse)|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" | tail -n 4
done
