#!/usr/bin/env bash
# `npm run bench`: builds what is measured (the Worker, the client package), installs
# nats-server when absent (Debian package), and runs bench/run.mjs, which writes
# bench/RESULTS.md. `npm run bench -- --quick` for a short smoke run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  log "installing nats-server (apt)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y -q nats-server || { $sudo apt-get update -q && $sudo apt-get install -y -q nats-server; }
fi
log "building the Worker and the client package"
bash scripts/build-worker.sh >/dev/null 2>&1 || bash scripts/build-worker.sh
bash scripts/build-client.sh >/dev/null 2>&1 || bash scripts/build-client.sh
node bench/run.mjs "$@"
