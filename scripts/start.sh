#!/usr/bin/env bash
# The demo: builds the wasm modules as a store hosts them (the size-tuned package build, served
# gzip-compressed by scripts/serve.mjs), fetches and indexes the demo catalog (once), and serves
# the page at http://localhost:${PORT:-8080}/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build-wasm.sh --package
bash scripts/demo-catalog.sh
step "serving the demo"
exec node scripts/serve.mjs
