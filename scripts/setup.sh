#!/usr/bin/env bash
# Installs everything ismld's build, dev server and tests need, idempotently and at pinned
# versions, skipping what is already there. Needs only rustup/cargo and Node + npm.
#   bash scripts/setup.sh            # the Worker and client toolchain (dev)
#   bash scripts/setup.sh --browsers # and Debian's Chromium + ChromeDriver and Mono (tests)
#   bash scripts/setup.sh --dotnet   # and Debian's Mono (the C# client)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate pinned in Cargo.toml
WORKER_BUILD_VERSION=0.8.7     # must match the worker crate's 0.8.x
WASM_PACK_VERSION=0.15.1       # builds and tests the client core (the npm package's wasm)

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "rust target wasm32-unknown-unknown: present"
else
  log "installing rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

for component in clippy rustfmt; do
  if rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "rust component $component: present"
  else
    log "installing rust component $component"
    rustup component add "$component"
  fi
done

have() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

if have wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (cargo install, a few minutes once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if have worker-build "$WORKER_BUILD_VERSION"; then
  log "worker-build $WORKER_BUILD_VERSION: present"
else
  log "installing worker-build $WORKER_BUILD_VERSION (cargo install, a few minutes once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --force
fi

if have wasm-pack "$WASM_PACK_VERSION"; then
  log "wasm-pack $WASM_PACK_VERSION: present"
else
  # The npm package of wasm-pack downloads from GitHub; cargo is the offline-safe way.
  log "installing wasm-pack $WASM_PACK_VERSION (cargo install, a few minutes once)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --force
fi

# Debian's Chromium and ChromeDriver for the browser tests (wasm-pack test, Playwright).
if [ "${1:-}" != "--browsers" ]; then
  :
elif [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  log "chromium + chromedriver: present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
else
  log "installing Debian's chromium and chromium-driver (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Debian's Mono and Newtonsoft.Json for the C# client (dotnet/, scripts/build-dotnet.sh):
# with --dotnet, and with --browsers (the test toolchain, as npm test runs it).
case "${1:-}" in
  --dotnet | --browsers)
    if command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1 &&
      [ -f /usr/lib/mono/4.5/System.Net.Http.dll ] && [ -f /usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll ]; then
      log "mono + Newtonsoft.Json: present ($(mono --version 2>/dev/null | head -1))"
    else
      log "installing Debian's Mono and Newtonsoft.Json for the C# client (apt-get)"
      SUDO=""
      [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mono-mcs mono-runtime \
        libmono-system-net-http4.0-cil libnewtonsoft-json-cil-dev >/dev/null
    fi
    ;;
esac

# npm devDependencies: Node 22 (wrangler needs >= 22.12), wrangler + workerd, binaryen,
# esbuild, ws. `npm ci` is not used: this registry lacks some optional platform packages.
stamp=node_modules/.ismld-installed
if [ -f "$stamp" ] && [ "$stamp" -nt package.json ] && [ "$stamp" -nt package-lock.json ]; then
  log "npm devDependencies: present"
else
  log "installing npm devDependencies (npm install)"
  npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
log "node for the tools: $(node --version) ($(command -v node))"
