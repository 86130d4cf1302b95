#!/usr/bin/env bash
# The browser end-to-end tests alone (Chromium, Firefox ESR and WebKitGTK; see tests/e2e/), as the last
# step of scripts/test.sh runs them. Screenshots land in test-artifacts/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f pkg/simsong_search_bg.wasm ] && [ -f pkg/simsong_bg.wasm ] && [ -f pkg/simsong_relaxed_bg.wasm ] || bash scripts/build-wasm.sh
[ -x "$CARGO_TARGET_DIR/release/simsong" ] || cargo build --release --features cli --bin simsong
[ -d node_modules/playwright-core ] && [ -d node_modules/puppeteer-core ] && [ -d node_modules/webdriver ] && [ -d node_modules/esbuild ] || npm ci --no-audit --no-fund
# The pages load the bundles (dist/): made from the sources in www/ as they are now (~1 s).
node scripts/bundle.mjs
step "browser end-to-end tests: Chromium (Playwright), and the core journeys in Firefox ESR (WebDriver BiDi) and WebKitGTK (WebDriver, Xvfb) too; screenshots in test-artifacts/"
# One file at a time: each starts its own Chromium, and CI machines are small.
SIMSONG_BIN="$CARGO_TARGET_DIR/release/simsong" node --test --test-concurrency=1 tests/e2e/
