#!/usr/bin/env bash
# Builds the wasm engine and its JS bindings into pkg/, twice from the same source:
#   pkg/simsong_bg.wasm          +simd128               (every browser with wasm SIMD)
#   pkg/simsong_relaxed_bg.wasm  +simd128,+relaxed-simd (fused multiply-add in tract's kernels)
# and one pkg/simsong.js for both: the worker picks the file with WebAssembly.validate.
#
#   scripts/build-wasm.sh            release profile (tests, npm start)
#   scripts/build-wasm.sh --package  the package a store hosts (npm pack): size-tuned profile
#                                    `wasm-package` (Cargo.toml). binaryen's wasm-opt is not run:
#                                    measured on this module, -Oz cut the raw size 11% but grew
#                                    the gzip size 2.5% (and took 4.5 min).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

profile=release
[ "${1:-}" = "--package" ] && profile=wasm-package

# $1: target features, $2: target dir, $3: scratch folder under pkg/
build() {
    local dir="$2/wasm32-unknown-unknown/$profile"
    RUSTFLAGS="-C target-feature=$1" CARGO_TARGET_DIR="$2" \
        cargo build --profile "$profile" --target wasm32-unknown-unknown --lib
    # Same --out-name for both: it is also the module name of the wasm's imports.
    # Names help only when debugging a panic; they cost 2.6 MB (0.45 MB gzip) on every page load.
    wasm-bindgen --target web --out-dir "$ROOT/pkg/.$3" --out-name simsong --remove-name-section \
        --remove-producers-section "$dir/simsong.wasm"
}

step "building the wasm engine ($profile): simd128, then simd128 + relaxed-simd"
# The relaxed build gets its own target dir: other RUSTFLAGS would otherwise rebuild the first.
build +simd128 "$CARGO_TARGET_DIR" simsong
build +simd128,+relaxed-simd "$CARGO_TARGET_DIR/relaxed-simd" simsong_relaxed

# One set of JS bindings serves both modules: they must be the same.
if ! cmp -s pkg/.simsong_relaxed/simsong.js pkg/.simsong/simsong.js; then
    echo "error: the two builds' JS bindings differ; one simsong.js cannot load both" >&2
    exit 1
fi
mkdir -p pkg
mv pkg/.simsong/* pkg/
mv pkg/.simsong_relaxed/simsong_bg.wasm pkg/simsong_relaxed_bg.wasm
rm -rf pkg/.simsong pkg/.simsong_relaxed

for f in pkg/simsong_bg.wasm pkg/simsong_relaxed_bg.wasm; do
    printf '%s: %s bytes (%s gzip)\n' "$f" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)" >&2
done
