#!/usr/bin/env bash
# All benchmarks in one run, side by side, then BENCHMARKS.md is rewritten from the results.
# Close other work first: the machine's load shows up in the figures.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh --browser # the inference and cold-start figures run in Chromium
OUT=bench/out
mkdir -p "$OUT"
# The full run's date, for BENCHMARKS.md's header (a section rerun alone states its own time).
printf '{ "date": "%s" }\n' "$(date -u +%Y-%m-%d)" > "$OUT/run.json"
PY=$(bash scripts/pyenv.sh tests/fixtures/requirements.txt | tail -n 1)

step "benchmark inputs: clips and an untrained 0.6 M-parameter CNN of realistic shape"
"$PY" bench/make_clips.py "$OUT"
"$PY" bench/make_bench_model.py "$OUT/bench-cnn.onnx"
cargo build --release --features cli --bin simsong
# The wasm engine loads NNEF exports (committed for the shipped and test models).
"$CARGO_TARGET_DIR/release/simsong" model-export --model "$OUT/bench-cnn.onnx" --out "$OUT/bench-cnn.nnef.tar"
MODELS=(tests/fixtures/models/test-untrained.onnx "$OUT/bench-cnn.onnx")
[ -f models/simsong.onnx ] && MODELS+=(models/simsong.onnx)

# What a store hosts: the size-tuned package build (also what the wasm figures below run).
bash scripts/build-wasm.sh --package
node bench/wasm_size.mjs "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-package/simsong.wasm" \
    --json "$OUT/wasm-size.json" --shipped pkg/simsong_search_bg.wasm pkg/simsong_bg.wasm pkg/simsong_relaxed_bg.wasm

step "native (Rust, release)"
cargo bench --features cli --bench pipeline -- "$OUT/clip30_16k.wav" "$OUT/clip180_16k.wav" "$OUT/clip30_44k.wav" "${MODELS[@]}" > "$OUT/native.json"
step "wasm in Node"
node bench/wasm_node.mjs "$OUT/clip30_16k.wav" "$OUT/clip180_16k.wav" "$OUT/clip30_44k.wav" "${MODELS[@]}" > "$OUT/wasm-node.json"
step "librosa"
"$PY" bench/librosa_bench.py "$OUT/clip30_16k.wav" "$OUT/clip180_16k.wav" > "$OUT/librosa.json"

step "store-scale index in parts: synthetic catalogs of 10k, 100k and 600k tracks"
bash bench/parts/run.sh "$OUT"

step "indexing throughput (native CLI, one thread and all)"
cargo build --release --features cli --bin simsong
INDEX_MODEL=models/simsong.onnx
[ -f "$INDEX_MODEL" ] || INDEX_MODEL="$OUT/bench-cnn.onnx"
node bench/indexing_bench.mjs "$CARGO_TARGET_DIR/release/simsong" "$INDEX_MODEL" "$OUT" > "$OUT/indexing.json"

step "tempo: ours vs librosa on MIDI renders at known tempi (a tuning and a held-out set)"
bash bench/tempo/run.sh "$CARGO_TARGET_DIR/release/simsong" "$OUT"

step "versions: edited real tracks against hard negatives (simsong compare)"
bash bench/versions/run.sh "$CARGO_TARGET_DIR/release/simsong" "$OUT"
bash bench/versions/audit_scale.sh "$CARGO_TARGET_DIR/release/simsong" "$OUT"

step "indexing on a local Dask cluster (Python wheel, 1 and 2 workers) vs the CLI"
PYW=$(bash scripts/pyenv.sh python/requirements.txt | tail -n 1)
bash scripts/build-wheel.sh > /dev/null
"$PYW" bench/distributed_bench.py "$CARGO_TARGET_DIR/release/simsong" "$INDEX_MODEL" "$OUT" > "$OUT/distributed.json"

if [ -f models/simsong.onnx ]; then
    step "inference side by side: tract (wasm, native) vs onnxruntime (web wasm, node native), Node and Chromium"
    (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent)
    # A 30 s 44.1 kHz stereo MP3 (128 kb/s) for the whole-file analysis in Chromium.
    ffmpeg -loglevel error -y -i "$OUT/clip30_44k.wav" -codec:a libmp3lame -b:a 128k "$OUT/clip30_44k.mp3"
    BENCH_MP3="$OUT/clip30_44k.mp3" node bench/inference_bench.mjs models/simsong.onnx > "$OUT/inference.json"
    cargo bench --features cli --bench model_profile -- models/simsong.onnx > "$OUT/model-profile.json"
fi

step "in the browser: cold start and drop-to-results (Chromium)"
node bench/browser_bench.mjs 5 > /dev/null

step "an hour-long MP3: time and peak memory (native CLI, then wasm in Node)"
bash bench/hour_bench.sh "$CARGO_TARGET_DIR/release/simsong" "$INDEX_MODEL" "$OUT" > "$OUT/hour.json"
node bench/hour_wasm.mjs "$OUT/one_hour.mp3" "$INDEX_MODEL" > "$OUT/hour-wasm.json"

step "writing BENCHMARKS.md from bench/results/ (the JSON, committed beside it)"
mkdir -p bench/results
# The visitor's wait at every size measured, with the index's recall, in one file.
node bench/first-result/collect.mjs "$OUT" > "$OUT/first-result.json"
cp "$OUT"/*.json bench/results/
node bench/report.mjs bench/results > BENCHMARKS.md
cat BENCHMARKS.md
