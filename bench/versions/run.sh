#!/usr/bin/env bash
# Version detection measured (issue #30): the evaluation set of edited real tracks and hard
# negatives (make_set.py: made once, cached, resumable), every pair through `simsong compare`,
# and through Chromaprint's comparison (chromaprint/, the baseline), then both scored with
# thresholds cross-validated by package fold (score.py).
# Needs the training data (training/prepare_data.sh: the allowed real tracks, their codec copies,
# the MIDI renders) and its cross-validation plan (training/cv.sh writes it first).
# Usage: bench/versions/run.sh SIMSONG_BIN OUT_DIR   → OUT_DIR/versions.json
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
bin=$1 out=$2
data=$SIMSONG_CACHE/training-data
if [ ! -f "$data/tracks.csv" ] || ! compgen -G "$data/cv/plan-*/plan.json" > /dev/null; then
    echo "versions: skipped, no training data or cross-validation plan in $data (training/prepare_data.sh, training/cv.sh); the committed versions.json stays" >&2
    exit 0
fi
set_dir=$SIMSONG_CACHE/versions-set
python3 "$ROOT/bench/versions/make_set.py" --per-package 2 --midi-groups 200 --out "$set_dir" >&2
"$bin" compare --pairs "$set_dir/pairs.csv" > "$set_dir/compared.jsonl"
# The baseline: Chromaprint (rusty-chromaprint) on the same pairs, a crate of its own.
CARGO_TARGET_DIR=$SIMSONG_CACHE/target-chromaprint cargo build --release --quiet \
    --manifest-path "$ROOT/bench/versions/chromaprint/Cargo.toml"
"$SIMSONG_CACHE/target-chromaprint/release/simsong-chromaprint-baseline" "$set_dir/pairs.csv" > "$set_dir/chromaprint.jsonl"
python3 "$ROOT/bench/versions/score.py" "$set_dir/compared.jsonl" --chromaprint "$set_dir/chromaprint.jsonl" \
    --out "$out/versions.json"
