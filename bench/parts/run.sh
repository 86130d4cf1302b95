#!/usr/bin/env bash
# The published index at 10k, 100k, 600k and 2M synthetic tracks: generate (scripts/synth_catalog.py),
# import, publish (timed), then measure natively (benches/parts.rs), against faiss
# (bench/parts/faiss_bench.py) and in Chromium (bench/parts/browser.mjs; at 600k also the
# bytes of a 10,000-track delta for a returning visitor, and the first result on emulated 4G and
# slow 4G: bench/first-result/run.mjs). JSON into OUT/parts-*.json, OUT/first-result-*.json.
# The catalogs (≈ 2.5 GB at 600k, ≈ 9 GB and about an hour's publication at 2M) live in
# OUT/synth-N and are deleted afterwards.
# Usage: bench/parts/run.sh OUT [SIZES...]
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"
OUT=$1
shift
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 600000 2000000)
PY=$(bash scripts/pyenv.sh bench/synth/requirements.txt | tail -n 1)
cargo build --release --features cli --bin simsong
BIN="$CARGO_TARGET_DIR/release/simsong"
MODEL=models/simsong.onnx
for n in "${SIZES[@]}"; do
    dir="$OUT/synth-$n"
    rm -rf "$dir"
    step "synthetic catalog of $n tracks"
    "$PY" scripts/synth_catalog.py "$n" "$dir"
    "$BIN" index import --model "$MODEL" --embeddings "$dir/embeddings.npy" --tracks "$dir/tracks.jsonl" \
        --synthetic-segments 8 --out "$dir/catalog.idx"
    started=$(date +%s%N)
    "$BIN" index merge "$dir/catalog.idx" --out "$dir/parts" 2> "$dir/publish.log"
    ended=$(date +%s%N)
    cat "$dir/publish.log" >&2
    node -e '
        const [log, n] = [require("fs").readFileSync(process.argv[1], "utf8"), Number(process.argv[4])];
        const wall = (Number(process.argv[3]) - Number(process.argv[2])) / 1e9;
        const train = Number(/trained the codebooks .* in ([\d.]+) s/.exec(log)[1]);
        const code = Number(/coded and cut into parts in ([\d.]+) s/.exec(log)[1]);
        const lists = /neighbour lists: (\d+) per track, ([\d.]+) MB, computed in ([\d.]+) s; recall@10 against an exhaustive scan ([\d.]+)/.exec(log);
        const neighbours = lists && { k: Number(lists[1]), megabytes: Number(lists[2]), seconds: Number(lists[3]), recall_at_10: Number(lists[4]) };
        console.log(JSON.stringify({ tracks: n, train_seconds: train, code_seconds: code, wall_seconds: wall, neighbours }));
    ' "$dir/publish.log" "$started" "$ended" "$n" > "$OUT/parts-publish-$n.json"
    step "native: recall, bytes, time ($n tracks)"
    # The dropped-file queries (real music held out of the catalog) as raw f32 rows.
    "$PY" -c "import numpy as np, sys; z = np.load(sys.argv[1]); np.concatenate([z['dropped_tracks'], z['dropped_parts'][:150]]).astype('<f4').tofile(sys.argv[2])" \
        "$dir/queries.npz" "$dir/dropped.f32"
    SIMSONG_DROPPED_QUERIES="$dir/dropped.f32" \
        cargo bench --features cli --bench parts -- "$dir/catalog.idx" "$dir/parts" 200 > "$OUT/parts-native-$n.json"
    if [ "$n" -ge 600000 ]; then
        # The same with a filter keeping ~9% of the tracks (the issue's "10%" case).
        SIMSONG_DROPPED_QUERIES="$dir/dropped.f32" \
            cargo bench --features cli --bench parts -- "$dir/catalog.idx" "$dir/parts" 200 use:vlog \
            > "$OUT/parts-native-$n-filter10.json"
    fi
    step "faiss on the same vectors ($n tracks)"
    "$PY" bench/parts/faiss_bench.py "$dir" 200 > "$OUT/parts-faiss-$n.json"
    step "Chromium ($n tracks)"
    delta=()
    if [ "$n" = 600000 ]; then
        "$PY" scripts/synth_catalog.py 10000 "$dir/add" --seed 9
        sed -i 's/"id": "bgm-/"id": "new-/' "$dir/add/tracks.jsonl"
        "$BIN" index import --model "$MODEL" --embeddings "$dir/add/embeddings.npy" --tracks "$dir/add/tracks.jsonl" \
            --synthetic-segments 8 --out "$dir/add.idx"
        delta=(--delta "$dir/add.idx" --bin "$BIN")
    fi
    node bench/parts/browser.mjs "$dir" "${delta[@]}" > "$OUT/parts-browser-$n.json"
    if [ "$n" -ge 600000 ]; then
        step "the visitor's wait: first results on emulated networks ($n tracks)"
        node bench/first-result/run.mjs --index "$dir/parts" --track bgm-0000042 --runs 3 --out "$OUT/first-result-$n.json"
    fi
    rm -rf "$dir"
done
