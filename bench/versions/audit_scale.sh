#!/usr/bin/env bash
# The version audit at store scale (issue #30: "audit of 600k tracks ≤ 10 min"): a synthetic
# store catalog (scripts/synth_catalog.py, with versions of songs) whose tracks take the
# fingerprints of the versions evaluation set's real files (bench/versions/assign.py: a song and
# its versions one real track and its edits), audited as `index build` audits (benches/audit.rs).
# Needs the evaluation set's catalog (bench/versions/run.sh writes it).
# Usage: bench/versions/audit_scale.sh SIMSONG_BIN OUT_DIR [TRACKS]   → OUT_DIR/versions-audit-scale.json
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
bin=$1 out=$2 n=${3:-600000}
audit_dir=$SIMSONG_CACHE/versions-audit
if [ ! -f "$audit_dir/catalog.idx" ]; then
    echo "versions at scale: skipped, no evaluation catalog in $audit_dir (bench/versions/run.sh)" >&2
    exit 0
fi
PY=$(bash "$ROOT/scripts/pyenv.sh" "$ROOT/bench/synth/requirements.txt" | tail -n 1)
dir=$(mktemp -d "${TMPDIR:-/tmp}/simsong-audit-scale-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$PY" "$ROOT/scripts/synth_catalog.py" "$n" "$dir" >&2
"$bin" index import --model "$ROOT/models/simsong.onnx" --embeddings "$dir/embeddings.npy" --tracks "$dir/tracks.jsonl" \
    --synthetic-segments 8 --out "$dir/catalog.idx" >&2
"$PY" "$ROOT/bench/versions/assign.py" "$dir" "$audit_dir/tracks.jsonl" "$audit_dir/manifest.csv" \
    "$SIMSONG_CACHE/versions-set/pairs.csv" "$dir/assign.u32" >&2
cargo bench --features cli --bench audit -- "$dir/catalog.idx" "$audit_dir/catalog.idx" "$dir/assign.u32" \
    > "$out/versions-audit-scale.json"
cat "$out/versions-audit-scale.json" >&2
