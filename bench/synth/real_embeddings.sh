#!/usr/bin/env bash
# The shipped model's embeddings of every allowed real track (../shared/data/debian-music.tsv:
# 604 tracks of 32 Debian packages, fetched by training/fetch_debian_music.py) and of their 3 s
# segments: what the synthetic store catalog is drawn from (scripts/synth_catalog.py).
#
#   bench/synth/real_embeddings.sh      prints the folder holding tracks.npy, segments.npy,
#                                       segments.csv and tracks.csv
#
# Cached in $SIMSONG_CACHE/synth/real-<model sha256, 16 hex>/ (redone when the model changes).
# On a fresh machine: the packages' download and conversion (~15 min, 3.3 GB, shared with the
# training data) and the embedding (~10 min on 2 cores).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"
BIN="$CARGO_TARGET_DIR/release/simsong"
[ -x "$BIN" ] || cargo build --release --features cli --bin simsong >&2
sha=$(sha256sum models/simsong.onnx | cut -c1-16)
out="$SIMSONG_CACHE/synth/real-$sha"
if [ -f "$out/segments.npy" ]; then
    echo "$out"
    exit 0
fi
data="$SIMSONG_CACHE/training-data"
if [ ! -f "$data/tracks.csv" ] || [ "$(($(wc -l < "$data/tracks.csv") - 1))" -lt 604 ]; then
    step "fetching the allowed real tracks (all 32 packages; once, shared with the training data)"
    PY=$(bash scripts/pyenv.sh training/requirements.txt | tail -n 1)
    nice -n 19 "$PY" training/fetch_debian_music.py --packages all --delete-debs >&2
fi
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$data/tracks.csv" "$out.tmp/tracks.csv"
# The audio files, in tracks.csv's order (its audio_path column).
mapfile -t files < <(python3 -c 'import csv, sys
for row in csv.DictReader(open(sys.argv[1])): print(row["audio_path"])' "$data/tracks.csv")
step "embedding ${#files[@]} real tracks and their segments with the shipped model"
# Exit code 2: some files could not be embedded (one allowed track is digital silence); they are
# left out, and tracks.npy.paths.txt says which rows are which files.
rc=0
nice "$BIN" embed "${files[@]}" --out "$out.tmp/tracks.npy" --segments "$out.tmp/segments.npy" >&2 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 2 ] || exit "$rc"
mv "$out.tmp" "$out"
echo "$out"
