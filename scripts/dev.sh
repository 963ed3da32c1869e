#!/usr/bin/env bash
# Starts ismld locally: builds the Worker and runs it in workerd with `wrangler dev`, with
# persistent Durable Object state under .wrangler/state (kept across restarts).
#   IP=127.0.0.1 PORT=8787 ISMLD_ADMIN_TOKEN=... ALLOW_ANONYMOUS=true npm run dev
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
# The npm package (js/dist) too, so the examples run against this bus.
bash scripts/build-client.sh

IP="${IP:-127.0.0.1}"
PORT="${PORT:-8787}"
ALLOW_ANONYMOUS="${ALLOW_ANONYMOUS:-true}"

# The admin token: $ISMLD_ADMIN_TOKEN, else the one kept in .dev.vars, else a new one.
if [ -n "${ISMLD_ADMIN_TOKEN:-}" ]; then
  token="$ISMLD_ADMIN_TOKEN"
elif [ -f .dev.vars ] && grep -q '^ADMIN_TOKEN=' .dev.vars; then
  token="$(grep '^ADMIN_TOKEN=' .dev.vars | head -n1 | cut -d= -f2-)"
else
  token="dev-$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')"
fi
umask 077
printf 'ADMIN_TOKEN=%s\n' "$token" > .dev.vars

url="http://$IP:$PORT"
banner() {
  log "ismld is listening at $url"
  log "dev admin token: $token   (Authorization: Bearer <token>)"
  if [ "$ALLOW_ANONYMOUS" = "true" ]; then
    log "ALLOW_ANONYMOUS=true: requests without credentials are accepted (local dev only;"
    log "  deployments default to false). Run with ALLOW_ANONYMOUS=false to require credentials."
  fi
  log "dashboard: $url/dashboard/ (log in with the admin token); metrics: $url/metrics"
  log "try: curl -X POST $url/v1/topics/hello/events -H 'content-type: application/json' -d '{\"hi\":1}'"
}
log "starting wrangler dev on $url (state in .wrangler/state; it rebuilds on edits to src/)"
# wrangler runs the [build] command (scripts/build-worker.sh), which skips what is current.
wrangler dev --ip "$IP" --port "$PORT" --persist-to .wrangler/state \
  --var "ALLOW_ANONYMOUS:$ALLOW_ANONYMOUS" --show-interactive-dev-session=false &
child=$!
trap 'kill "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true' INT TERM EXIT
# The banner once the bus answers (not before: the URL is printed when it works).
for _ in $(seq 1 1200); do
  if ! kill -0 "$child" 2>/dev/null; then
    wait "$child"
    exit $?
  fi
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/v1/health"; then
    banner
    break
  fi
  sleep 0.1
done
wait "$child"
