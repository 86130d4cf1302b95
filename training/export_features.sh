#!/usr/bin/env bash
# Export log-mel patches with the product's own Rust front end, so training sees exactly what
# the shipped model sees.
#
# Usage: training/export_features.sh [real|renders|codecs|all]   (default: all)
#
#   real    -> $DATA/features/real/    from tracks.csv  (--max-patches ${REAL_MAX_PATCHES:-64})
#   renders -> $DATA/features/renders/ from renders.csv (--max-patches ${RENDER_MAX_PATCHES:-16})
#   codecs  -> $DATA/features/codecs/  from codecs.csv  (training/codec_copies.py; as many patches
#              as real, so the k-th patch of a copy lies where the original's k-th does, give or
#              take the encoder's few ms of delay)
#
# Each output folder holds one NNNNN.npy per input (float32 [patches, 96, 187]) and index.csv
# (path,npy,patches,duration_s,patch_starts_s). Join index.csv's `path` with the `audio_path`
# column of tracks.csv / renders.csv. Per-file decode errors are printed by the tool and kept
# in $DATA/features/<set>.log.
#
# Env: SIMSONG_CACHE (default ~/.cache/simsong), DATA (default $SIMSONG_CACHE/training-data),
#      BIN (default ${CARGO_TARGET_DIR:-$SIMSONG_CACHE/target}/release/simsong; build it with
#      `cargo build --release` first).
set -euo pipefail

cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
data=${DATA:-$cache/training-data}
bin=${BIN:-${CARGO_TARGET_DIR:-$cache/target}/release/simsong}
what=${1:-all}

if [[ ! -x "$bin" ]]; then
    echo "export_features.sh: no simsong binary at $bin (cargo build --release, or set BIN)" >&2
    exit 2
fi

export_set() {  # name csv max_patches
    local name=$1 csv=$2 maxp=$3
    local out="$data/features/$name"
    if [[ ! -f "$csv" ]]; then
        echo "export_features.sh: $csv missing, skipping $name" >&2
        return 0
    fi
    # audio_path column of the CSV, one path per line (stdlib csv: paths may hold commas)
    mapfile -t files < <(python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print(r["audio_path"])' "$csv")
    echo "export_features.sh: $name: ${#files[@]} files -> $out (max $maxp patches each)" >&2
    rm -rf "$out.tmp"
    mkdir -p "$out.tmp"
    local t0=$SECONDS
    # the tool reports per-file errors and goes on; keep its output next to the features
    set +e
    nice -n 19 "$bin" features --max-patches "$maxp" --out-dir "$out.tmp" "${files[@]}" \
        2>&1 | tee "$data/features/$name.log" >&2
    local rc=${PIPESTATUS[0]}
    set -e
    # exit code 2 = some inputs could not be read (e.g. a silent track): reported, skipped
    if [[ $rc -ne 0 && $rc -ne 2 ]]; then
        echo "export_features.sh: simsong features exited $rc for $name (see $data/features/$name.log)" >&2
        return $rc
    fi
    rm -rf "$out"
    mv "$out.tmp" "$out"
    local n
    n=$(($(wc -l < "$out/index.csv") - 1))
    echo "export_features.sh: $name: $n of ${#files[@]} files exported in $((SECONDS - t0)) s," \
         "$(du -sh "$out" | cut -f1)" >&2
}

mkdir -p "$data/features"
case "$what" in
    real) export_set real "$data/tracks.csv" "${REAL_MAX_PATCHES:-64}" ;;
    renders) export_set renders "$data/renders.csv" "${RENDER_MAX_PATCHES:-16}" ;;
    codecs) export_set codecs "$data/codecs.csv" "${REAL_MAX_PATCHES:-64}" ;;
    all)
        export_set real "$data/tracks.csv" "${REAL_MAX_PATCHES:-64}"
        export_set renders "$data/renders.csv" "${RENDER_MAX_PATCHES:-16}"
        export_set codecs "$data/codecs.csv" "${REAL_MAX_PATCHES:-64}"
        ;;
    *) echo "usage: $0 [real|renders|codecs|all]" >&2; exit 2 ;;
esac
