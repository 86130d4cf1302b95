#!/usr/bin/env bash
# A synthetic store catalog for the store example page (not committed: generated here).
#   scripts/store-catalog.sh [TRACKS]   (default 600000; ~3 GB on disk and ~6 min at 600k)
# Generates TRACKS tracks drawn from the shipped model's embeddings of real music (scripts/synth_catalog.py),
# imports them and publishes them into demo-data/store/parts/, then prints the page's URL.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
N=${1:-600000}
OUT=demo-data/store
PY=$(bash scripts/pyenv.sh bench/synth/requirements.txt | tail -n 1)
cargo build --release --features cli --bin simsong
BIN="$CARGO_TARGET_DIR/release/simsong"
rm -rf "$OUT"
step "generating $N synthetic tracks"
"$PY" scripts/synth_catalog.py "$N" "$OUT"
"$BIN" index import --model models/simsong.onnx --embeddings "$OUT/embeddings.npy" --tracks "$OUT/tracks.jsonl" \
    --synthetic-segments 8 --out "$OUT/catalog.idx"
step "publishing it in parts"
"$BIN" index merge "$OUT/catalog.idx" --out "$OUT/parts"
rm -f "$OUT/embeddings.npy"
"$BIN" index info "$OUT/parts" | head -12
echo "store page: http://localhost:${PORT:-8080}/demo/store-example.html?index=/$OUT/parts/&track=bgm-0000042 (npm start, or node scripts/serve.mjs)"
