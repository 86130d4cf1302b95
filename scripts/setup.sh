#!/usr/bin/env bash
# Installs whatever the demo, the tests and the benchmarks need and is missing; quick when all
# is there. Usage: scripts/setup.sh [--browser]   (--browser: also the three browser engines the
# end-to-end tests run in, from Debian: chromium + chromium-driver, firefox-esr, and WebKitGTK's
# webkit2gtk-driver with xvfb for its display, and ffmpeg for the Opus test and the benchmarks)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! [ -x "$WASM_BINDGEN_ROOT/bin/wasm-bindgen" ] ||
    ! "$WASM_BINDGEN_ROOT/bin/wasm-bindgen" --version | grep -q " $WASM_BINDGEN_VERSION\$"; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $WASM_BINDGEN_ROOT (once, ~10 min)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$WASM_BINDGEN_ROOT"
fi

if [ "${1:-}" = "--browser" ] && ! { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ] && [ -x /usr/bin/firefox-esr ] &&
    [ -x /usr/bin/WebKitWebDriver ] && [ -x /usr/bin/Xvfb ] && [ -x /usr/bin/ffmpeg ]; }; then
    # ffmpeg: the browser tests encode an Opus file (a format only the browser decodes) and the
    # benchmarks a 30 s MP3.
    step "installing Debian's chromium, chromium-driver, firefox-esr, webkit2gtk-driver, xvfb and ffmpeg"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        chromium chromium-driver firefox-esr webkit2gtk-driver xvfb ffmpeg >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if ! [ -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "npm ci"
    npm ci --no-audit --no-fund
fi
