#!/usr/bin/env bash
# Tempo accuracy and cost, ours beside librosa: renders MIDI at known tempi twice, from disjoint
# pools of grooves and pieces (make_set.py): a tuning set, on which the estimator's choices were
# made, and a held-out set, evaluated once those choices were fixed; then bench/tempo/evaluate.py
# on each.
# Usage: bench/tempo/run.sh SIMSONG_BIN OUT_DIR   → OUT_DIR/tempo-{tuning,heldout,bad}.json
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
bin=$1 out=$2
for tool in fluidsynth mma ffmpeg; do
    command -v "$tool" >/dev/null || NEED_APT=1
done
if [ -n "${NEED_APT:-}" ]; then
    apt-get install -y -qq fluidsynth fluid-soundfont-gm timgm6mb-soundfont mma ffmpeg >&2
fi
PY=$(bash "$ROOT/scripts/pyenv.sh" "$ROOT/bench/tempo/requirements.txt" | tail -n 1)
# Half of each set is music21 pieces, converted to MIDI as the training's data step does (same
# seeded sample, same folder, so either reuses the other's): without them the sets would
# silently shrink to other files, and their figures would mean something else.
m21="$SIMSONG_CACHE/training-data/midi/music21"
if ! compgen -G "$m21/*.mid" > /dev/null; then
    echo "converting the music21 corpus sample to MIDI (once, ~6 min)" >&2
    PYT=$(bash "$ROOT/scripts/pyenv.sh" "$ROOT/training/requirements.txt" | tail -n 1)
    (cd "$ROOT/training" && "$PYT" -c 'import render_midi as r; r.music21_pieces(r.DEFAULT_OUT, 1234, 2, 0.5)') >&2 || true
fi
if ! compgen -G "$m21/*.mid" > /dev/null; then
    echo "tempo sets skipped: no music21 MIDI in $m21; the committed tempo-{tuning,heldout}.json stay" >&2
    skip_sets=1
fi
for set in tuning:tuning:2026:80:80 heldout:test:7:43:70; do
    [ -n "${skip_sets:-}" ] && break
    IFS=: read -r name pool seed mma music21 <<< "$set"
    dir=$out/tempo-$name args="--pool $pool --seed $seed --mma $mma --music21 $music21"
    # A set rendered with other arguments, by another make_set.py or from another music21
    # sample is rendered again.
    stamp="$args $(sha256sum "$ROOT/bench/tempo/make_set.py" | cut -c1-16) m21:$(find "$m21" -name '*.mid' | wc -l)"
    if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$dir/truth.csv" ]; then
        rm -rf "$dir"
        # shellcheck disable=SC2086 # $args is a list of words
        "$PY" "$ROOT/bench/tempo/make_set.py" "$dir" $args >&2
        echo "$stamp" > "$dir/stamp"
    fi
    "$PY" "$ROOT/bench/tempo/evaluate.py" "$bin" "$dir" "$out/clip180_44k.wav" > "$out/tempo-$name.json"
done
# Inputs that must give "no clear tempo", fresh seeded draws (make_bad.py) → OUT_DIR/tempo-bad.json
bad_dirs=()
for seed in 101 202; do
    dir=$out/tempo-bad/s$seed
    stamp="$seed $(sha256sum "$ROOT/bench/tempo/make_bad.py" | cut -c1-16)"
    if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$dir/truth.csv" ]; then
        rm -rf "$dir"
        "$PY" "$ROOT/bench/tempo/make_bad.py" "$dir" "$seed"
        echo "$stamp" > "$dir/stamp"
    fi
    bad_dirs+=("$dir")
done
"$PY" "$ROOT/bench/tempo/bad_inputs.py" "$bin" "${bad_dirs[@]}" > "$out/tempo-bad.json"
