#!/usr/bin/env bash
# Builds the two wasm modules and their JS bindings into pkg/ (src/wasm/mod.rs):
#
# - the search module, what every page loads first (a published index and its searches; no
#   decoders, resampler, FFT or model), profile `wasm-search` (fat LTO, size-tuned) always:
#     pkg/simsong_search_bg.wasm + pkg/simsong_search.js
# - the analysis module, loaded when a visitor brings a song (decoding, front end, model), twice
#   from the same source, with one pkg/simsong.js for both (the worker picks the file with
#   WebAssembly.validate):
#     pkg/simsong_bg.wasm          +simd128               (every browser with wasm SIMD)
#     pkg/simsong_relaxed_bg.wasm  +simd128,+relaxed-simd (fused multiply-add in tract's kernels)
#
#   scripts/build-wasm.sh            release profile (tests)
#   scripts/build-wasm.sh --package  the package a store hosts (npm pack, npm start): size-tuned profile
#                                    `wasm-package` (Cargo.toml). binaryen's wasm-opt is not run:
#                                    measured on this module, -Oz cut the raw size 11% but grew
#                                    the gzip size 2.5% (and took 4.5 min).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

profile=release
[ "${1:-}" = "--package" ] && profile=wasm-package

# $1: target features, $2: target dir, $3: scratch folder under pkg/, $4: profile,
# $5: the module's name (pkg/$5.js, pkg/$5_bg.wasm), then cargo's feature arguments.
build() {
    local features=$1 target=$2 scratch=$3 prof=$4 name=$5
    shift 5
    RUSTFLAGS="-C target-feature=$features" CARGO_TARGET_DIR="$target" \
        cargo build --profile "$prof" --target wasm32-unknown-unknown --lib "$@"
    # Names help only when debugging a panic; they cost 2.6 MB (0.45 MB gzip) on every page load.
    wasm-bindgen --target web --out-dir "$ROOT/pkg/.$scratch" --out-name "$name" --remove-name-section \
        --remove-producers-section "$target/wasm32-unknown-unknown/$prof/simsong.wasm"
}

step "building the search module (wasm-search profile)"
# Its own target dir: other features and RUSTFLAGS would otherwise rebuild the others.
build +simd128 "$CARGO_TARGET_DIR/search" simsong_search wasm-search simsong_search \
    --no-default-features --features search-bindings
mkdir -p pkg
mv pkg/.simsong_search/* pkg/
rm -rf pkg/.simsong_search

step "building the analysis module ($profile): simd128, then simd128 + relaxed-simd"
# The relaxed build gets its own target dir: other RUSTFLAGS would otherwise rebuild the first.
# Same module name for both: it is also the module name of the wasm's imports.
build +simd128 "$CARGO_TARGET_DIR" simsong "$profile" simsong
build +simd128,+relaxed-simd "$CARGO_TARGET_DIR/relaxed-simd" simsong_relaxed "$profile" simsong

# One set of JS bindings serves both modules: they must be the same.
if ! cmp -s pkg/.simsong_relaxed/simsong.js pkg/.simsong/simsong.js; then
    echo "error: the two builds' JS bindings differ; one simsong.js cannot load both" >&2
    exit 1
fi
mkdir -p pkg
mv pkg/.simsong/* pkg/
mv pkg/.simsong_relaxed/simsong_bg.wasm pkg/simsong_relaxed_bg.wasm
rm -rf pkg/.simsong pkg/.simsong_relaxed

for f in pkg/simsong_search_bg.wasm pkg/simsong_bg.wasm pkg/simsong_relaxed_bg.wasm; do
    printf '%s: %s bytes (%s gzip)\n' "$f" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)" >&2
done

step "bundling the element and its worker (dist/)"
node scripts/bundle.mjs

if [ "$profile" = wasm-package ]; then
    step "precompressing what a page downloads (Brotli 11, gzip 9: FILE.br, FILE.gz)"
    node scripts/precompress.mjs
fi
