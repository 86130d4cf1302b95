#!/usr/bin/env bash
# Tempo accuracy and cost, ours beside librosa: renders MIDI at known tempi twice (a tuning set,
# seed 2026, on which the estimator's choices were made, and a held-out set, seed 7), then
# bench/tempo/evaluate.py on each.
# Usage: bench/tempo/run.sh SIMSONG_BIN OUT_DIR   → OUT_DIR/tempo-{tuning,heldout}.json
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
for set in tuning:2026 heldout:7; do
    name=${set%%:*} seed=${set##*:}
    [ -f "$out/tempo-$name/truth.csv" ] || "$PY" "$ROOT/bench/tempo/make_set.py" "$out/tempo-$name" --seed "$seed" >&2
    "$PY" "$ROOT/bench/tempo/evaluate.py" "$bin" "$out/tempo-$name" "$out/clip180_44k.wav" > "$out/tempo-$name.json"
done
