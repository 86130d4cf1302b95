#!/usr/bin/env bash
# All benchmarks in one run, side by side, then BENCHMARKS.md is rewritten from the results.
# Close other work first: the machine's load shows up in the figures.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
OUT=bench/out
mkdir -p "$OUT"
PY=$(bash scripts/pyenv.sh tests/fixtures/requirements.txt | tail -n 1)

step "benchmark inputs: clips and an untrained 0.6 M-parameter CNN of realistic shape"
"$PY" bench/make_clips.py "$OUT"
"$PY" bench/make_bench_model.py "$OUT/bench-cnn.onnx"
MODELS=(tests/fixtures/models/test-untrained.onnx "$OUT/bench-cnn.onnx")
[ -f models/simsong.onnx ] && MODELS+=(models/simsong.onnx)

bash scripts/build-wasm.sh

step "native (Rust, release)"
cargo bench --features cli --bench pipeline -- "$OUT/clip30_16k.wav" "$OUT/clip30_44k.wav" "${MODELS[@]}" > "$OUT/native.json"
step "wasm in Node"
node bench/wasm_node.mjs "$OUT/clip30_16k.wav" "$OUT/clip30_44k.wav" "${MODELS[@]}" > "$OUT/wasm-node.json"
step "librosa"
"$PY" bench/librosa_bench.py "$OUT/clip30_16k.wav" > "$OUT/librosa.json"

step "writing BENCHMARKS.md"
node bench/report.mjs "$OUT" > BENCHMARKS.md
cat BENCHMARKS.md
