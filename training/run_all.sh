#!/usr/bin/env bash
# The shipped model from scratch, in one command:
#
#   training/run_all.sh
#
# 1. training/prepare_data.sh   fetch + extract Debian game music, render labelled MIDI clips,
#                               splits by package / piece, log-mel export with the Rust CLI
# 2. training/train.py          train on CPU (Debian's python3-torch via training/torchenv.sh),
#                               export models/simsong.onnx (BN folded, opset 17, metadata)
# 3. simsong eval               model vs. 20-MFCC baseline on the held-out test split, written to
#                               models/eval-test.json (the numbers in models/MODEL.md)
#
# Env: everything prepare_data.sh reads (SIMSONG_CACHE, JOBS, SEED, MAX_PIECES, ...), plus
#      TRAIN_MINUTES (default 45), TRAIN_ARGS (extra train.py options).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
data=$cache/training-data
seed=${SEED:-1234}

cargo build --release --features cli --bin simsong
bin=${CARGO_TARGET_DIR:-$cache/target}/release/simsong
BIN=$bin training/prepare_data.sh

PY=$(training/torchenv.sh | tail -n 1)
# shellcheck disable=SC2086
nice -n 10 "$PY" training/train.py --seed "$seed" --minutes "${TRAIN_MINUTES:-45}" \
    --out models/simsong.onnx --log-json models/train-log.json ${TRAIN_ARGS:-}

"$bin" model-info --model models/simsong.onnx
"$bin" eval --tracks "$data/tracks.csv" --renders "$data/renders.csv" --splits "$data/splits.json" \
    --split test --model models/simsong.onnx --json models/eval-test.json
