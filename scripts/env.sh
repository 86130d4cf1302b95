# Sourced by the other scripts: where caches and build output live (outside the checkout, so a
# fresh clone reuses them) and the pinned wasm-bindgen CLI on PATH.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SIMSONG_CACHE=${SIMSONG_CACHE:-$HOME/.cache/simsong}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$SIMSONG_CACHE/target}
# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock")
export WASM_BINDGEN_VERSION
export WASM_BINDGEN_ROOT="$SIMSONG_CACHE/wasm-bindgen-$WASM_BINDGEN_VERSION"
export PATH="$WASM_BINDGEN_ROOT/bin:$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
step() { printf '\n==> %s\n' "$*" >&2; }
