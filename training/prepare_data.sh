#!/usr/bin/env bash
# Build the whole training data set from scratch (idempotent: finished steps are cached).
#
#   training/prepare_data.sh
#
# Env:
#   SIMSONG_CACHE   cache root (default ~/.cache/simsong); data goes to $SIMSONG_CACHE/training-data
#   FETCH_PACKAGES  all | default | P1,P2,...   (default: all 32 packages, 604 tracks, 5.4 GB;
#                   default = the smallest packages up to MAX_DOWNLOAD_MB)
#   MAX_DOWNLOAD_MB download budget for FETCH_PACKAGES=default (default 1500)
#   JOBS            render processes (default 2)
#   MAX_PIECES      MIDI pieces rendered, a seeded sample (default 0 = all sampled pieces)
#   M21_SCALE       scale of the music21 corpus quotas (default 0.5: ~320 of its pieces)
#   RENDER_BUDGET_S stop rendering after this many seconds (default 0: render all); pieces are
#                   rendered in a seeded random order, so a stopped run holds a random sample
#   SEED            seed for renders and splits (default 1234)
#   BIN             simsong binary for feature export (default $CARGO_TARGET_DIR or
#                   $SIMSONG_CACHE/target, release/simsong)
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
data=$cache/training-data
mkdir -p "$data"
seed=${SEED:-1234}

step() { echo "=== $* ($(date +%T))" >&2; }

# 1. Debian tools (renderers, soundfonts, MIDI sources)
need=()
for p in ffmpeg openmpt123 fluidsynth fluid-soundfont-gm timgm6mb-soundfont mma planetblupi-music-midi; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
    step "apt-get install ${need[*]}"
    sudo_=""; [[ $(id -u) -ne 0 ]] && sudo_=sudo
    $sudo_ apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q "${need[@]}" >&2
fi

# 2. Python venv (pinned)
PY=$(scripts/pyenv.sh training/requirements.txt | tail -n 1)

t=$SECONDS
step "fetch Debian music (${FETCH_PACKAGES:-all})"
nice -n 19 "$PY" training/fetch_debian_music.py --packages "${FETCH_PACKAGES:-all}" \
    --max-download-mb "${MAX_DOWNLOAD_MB:-1500}" --delete-debs
echo "fetch: $((SECONDS - t)) s" >&2

t=$SECONDS
step "render labelled MIDI clips"
nice -n 19 "$PY" training/render_midi.py --jobs "${JOBS:-2}" --seed "$seed" --max-pieces "${MAX_PIECES:-0}" \
    --m21-scale "${M21_SCALE:-0.5}" --time-budget-s "${RENDER_BUDGET_S:-0}"
echo "render: $((SECONDS - t)) s" >&2

t=$SECONDS
step "splits"
"$PY" training/make_splits.py --seed "$seed"
echo "splits: $((SECONDS - t)) s" >&2

t=$SECONDS
step "lossy copies (MP3, Ogg) of the train tracks"
nice -n 19 "$PY" training/codec_copies.py --jobs "${JOBS:-2}" --seed "$seed"
echo "codec copies: $((SECONDS - t)) s" >&2

t=$SECONDS
step "export log-mel features with the Rust front end"
training/export_features.sh all
echo "features: $((SECONDS - t)) s" >&2

step "done: $data"
du -sh "$data"/{debs,audio,renders,features} 2>/dev/null >&2 || true
