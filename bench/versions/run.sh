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

# The same set as one catalog: `index build` fingerprints every file and audits the catalog by
# itself (no pairs given); its groups are scored against the labelled pairs (audit.py).
audit_dir=$SIMSONG_CACHE/versions-audit
mkdir -p "$audit_dir"
python3 - "$set_dir/pairs.csv" "$audit_dir/manifest.csv" <<'PY'
import csv, hashlib, sys
rows = list(csv.DictReader(open(sys.argv[1])))
files = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "audio"])
    for p in files:
        w.writerow([hashlib.sha1(p.encode()).hexdigest()[:12], p])
PY
"$bin" index build --manifest "$audit_dir/manifest.csv" --out "$audit_dir/catalog.idx" 2> "$audit_dir/build.log"
"$bin" index versions "$audit_dir/catalog.idx" --json > "$audit_dir/versions.json"
"$bin" index export "$audit_dir/catalog.idx" --embeddings "$audit_dir/embeddings.npy" --tracks "$audit_dir/tracks.jsonl"
PY_SYNTH=$(bash "$ROOT/scripts/pyenv.sh" "$ROOT/bench/synth/requirements.txt" | tail -n 1)
"$PY_SYNTH" "$ROOT/bench/versions/audit.py" "$audit_dir/versions.json" "$audit_dir/manifest.csv" "$set_dir/pairs.csv" \
    --tuned "$set_dir/compared.jsonl" --embeddings "$audit_dir/embeddings.npy" --tracks "$audit_dir/tracks.jsonl" \
    --build-log "$audit_dir/build.log" --out "$out/versions-audit.json"
