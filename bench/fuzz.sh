#!/usr/bin/env bash
# Fuzzes the wire decoders, the credentials, the NSQ and Connect bodies, the filters and
# the broker's frame handling with libFuzzer (cargo fuzz), each for a number of runs.
#   bash bench/fuzz.sh [runs per target, default 10000000] [targets...]
# Crashes land in fuzz/artifacts/<target>/; copy each into tests/fuzz_regressions/<target>/
# so `cargo test` replays it forever (tests/fuzz_regressions.rs). The corpora are kept in
# fuzz/corpus/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-10000000}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(frame_decode cloudevent broker_frames credentials nsq_body connect_body filter)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.1
for t in "${TARGETS[@]}"; do mkdir -p "fuzz/corpus/$t"; done
# Seed the corpora with the golden fixtures, the TCK expressions and the regression inputs.
cp tests/fixtures/frames/*.json fuzz/corpus/frame_decode/ 2>/dev/null || true
cp tests/fixtures/frames/*.json fuzz/corpus/broker_frames/ 2>/dev/null || true
cp tests/fixtures/events/*.json fuzz/corpus/cloudevent/ 2>/dev/null || true
grep -h "expression:" tests/fixtures/cesql_tck/*.yaml | sed 's/^ *expression: *//' | split -l 1 - fuzz/corpus/filter/tck- 2>/dev/null || true
for t in "${TARGETS[@]}"; do
  [ -d "tests/fuzz_regressions/$t" ] && cp tests/fuzz_regressions/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
done
for target in "${TARGETS[@]}"; do
  echo "== $target: $RUNS runs"
  start=$(date +%s)
  (cd fuzz && cargo fuzz run "$target" -s none -O -- -runs="$RUNS" -max_len=65536 2>&1) \
    | grep -E "^(#[0-9]+.*(DONE|pulse)|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" | tail -n 3
  echo "   $(( $(date +%s) - start )) s"
done
