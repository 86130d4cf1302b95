#!/usr/bin/env bash
# The demo catalog, built once and reused: fetch real game music from Debian (cached under
# $SIMSONG_CACHE), make MP3 previews and a manifest (scripts/demo_catalog.py), then index it with
# the shipped model. Re-running is quick: each step is skipped when its output is up to date.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

need=()
for p in ffmpeg openmpt123; do
    command -v "$p" >/dev/null || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    step "installing ${need[*]} (Debian)"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! [ -f demo-data/catalog.csv ] || [ scripts/demo_catalog.py -nt demo-data/catalog.csv ]; then
    step "demo catalog: fetch, previews, manifest"
    python3 scripts/demo_catalog.py
fi

cargo build --release --features cli --bin simsong
# An index this build cannot read (an older format, e.g. one without tempi) is rebuilt too.
if ! [ -f demo-data/catalog.idx ] || [ demo-data/catalog.csv -nt demo-data/catalog.idx ] ||
    [ models/simsong.onnx -nt demo-data/catalog.idx ] ||
    ! "$CARGO_TARGET_DIR/release/simsong" index info demo-data/catalog.idx >/dev/null 2>&1; then
    step "indexing the demo catalog with models/simsong.onnx"
    # Exit code 2 = some tracks could not be indexed (listed); the index holds the others.
    "$CARGO_TARGET_DIR/release/simsong" index build --manifest demo-data/catalog.csv \
        --model models/simsong.onnx --out demo-data/catalog.idx || [ $? -eq 2 ]
fi
# What pages load: the index published in parts (manifest + parts), from the one-file index.
# A published index this build cannot read (an older format) is published again.
if ! [ -f demo-data/catalog/index.json ] || [ demo-data/catalog.idx -nt demo-data/catalog/index.json ] ||
    ! "$CARGO_TARGET_DIR/release/simsong" index info demo-data/catalog >/dev/null 2>&1; then
    step "publishing the demo catalog for the web (demo-data/catalog/)"
    rm -rf demo-data/catalog
    "$CARGO_TARGET_DIR/release/simsong" index merge demo-data/catalog.idx --out demo-data/catalog
fi
"$CARGO_TARGET_DIR/release/simsong" index info demo-data/catalog
