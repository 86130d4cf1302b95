#!/usr/bin/env bash
# Grouped k-fold cross-validation by package (training/cv.py; issue #32), resumable: every fold's
# scores, checkpoints and training state are cached under $SIMSONG_CACHE/training-data/cv/, so
# the same command carries on where a stopped run left off. Writes models/eval-cv.json after
# every finished unit (mfcc, teacher, then each recipe x fold).
#
#   training/cv.sh --background            # nohup + nice 19, log in ~/.cache/simsong/logs/cv-*.log
#   training/cv.sh [cv.py options]         # in the foreground (nice 19)
#
# cv.py options: --k 4 --steps 1500 (the shipped model trained 4500) --eval-every 250
# --recipes v3,v1-recipe --recipe v4='--some-train.py-option ...' --seed 1234 --boot 2000.
# Changing --k, --seed or a recipe's options starts new cache entries (the old ones stay).
# Only one run at a time (a lock in the cache); a second one exits at once.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
mkdir -p "$cache/logs" "$cache/training-data/cv"
if [[ ${1:-} == --background ]]; then
    shift
    log=$cache/logs/cv-$(date +%Y%m%d-%H%M%S).log
    nohup "$0" "$@" >"$log" 2>&1 </dev/null &
    echo "cv.sh: running in the background, PID $!, log $log"
    exit 0
fi
exec 9>"$cache/training-data/cv/.lock"
if ! flock -n 9; then
    echo "cv.sh: another cross-validation run holds $cache/training-data/cv/.lock" >&2
    exit 1
fi
PY=$(training/torchenv.sh | tail -n 1)
exec nice -n 19 "$PY" training/cv.py "$@"
