#!/usr/bin/env bash
# The shipped model from scratch, in one command (about 2.5 h on 2 cores, see training/README.md):
#
#   training/run_all.sh
#
# 1. training/prepare_data.sh    fetch + extract all Debian game music, render labelled MIDI clips
#                                (solo and mixes), splits by package / piece, log-mel export with
#                                the Rust CLI
# 2. training/teacher_embed.py   the teacher's (aisfx) embeddings of the same patches, cached
# 3. training/eval_teacher.py    the teacher on our splits -> models/eval-teacher.json
# 4. training/train.py           train the student on CPU (Debian's python3-torch via
#                                training/torchenv.sh), export models/simsong.onnx
#    training/quantize_weights.py round its weights onto an int8 grid (what ships: the NNEF form
#                                stores them as int8, a quarter of the bytes; MODEL.md)
# 5. simsong eval                model vs. 20-MFCC baseline on the held-out splits ->
#                                models/eval-{val,test}.json (the numbers in models/MODEL.md)
# 6. training/invariance.py      gain / codec / sample-rate / trim copies of the test tracks ->
#                                models/invariance-test.json
#
# Env: everything prepare_data.sh reads (SIMSONG_CACHE, JOBS, SEED, FETCH_PACKAGES, ...), plus
#      TRAIN_STEPS (default 4500, the shipped model's: about 60 min on 2 idle cores; a fixed step
#      count replays the run step for step, where a time budget would follow the machine's speed),
#      TRAIN_ARGS (extra train.py options).
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
nice -n 10 "$PY" training/teacher_embed.py
"$PY" training/eval_teacher.py --json models/eval-teacher.json
# shellcheck disable=SC2086
nice -n 10 "$PY" training/train.py --seed "$seed" --steps "${TRAIN_STEPS:-4500}" --eval-every 250 \
    --out models/simsong.onnx --log-json models/train-log.json ${TRAIN_ARGS:-}
"$PY" training/quantize_weights.py models/simsong.onnx --json models/quantize-log.json >/dev/null
bash tests/fixtures/make_nnef_fixtures.sh

"$bin" model-info --model models/simsong.onnx
for split in val test; do
    "$bin" eval --tracks "$data/tracks.csv" --renders "$data/renders.csv" --splits "$data/splits.json" \
        --split "$split" --model models/simsong.onnx --json "models/eval-$split.json"
done
"$PY" training/invariance.py --split test --bin "$bin" --model models/simsong.onnx \
    --json models/invariance-test.json
