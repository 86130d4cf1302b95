#!/usr/bin/env bash
# The demo: builds the wasm engine, fetches and indexes the demo catalog (once), and serves the
# page at http://localhost:${PORT:-8080}/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build-wasm.sh
bash scripts/demo-catalog.sh
step "serving the demo"
exec node scripts/serve.mjs
