#!/usr/bin/env bash
# Builds the Python wheel of the engine (python/, the crate's `python` feature, PyO3 + maturin)
# and installs it into the project's Python venv (~/.cache/simsong/venv-python), which also
# holds the test tools and Dask. Prints the wheel's path as the last line on stdout.
#
#   scripts/build-wheel.sh      release build; wheel in $SIMSONG_CACHE/wheels/
#
# Install it anywhere else with `pip install <that wheel>`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

py=$(scripts/pyenv.sh python/requirements.txt | tail -n1)
venv=$(dirname "$(dirname "$py")")
wheels="$SIMSONG_CACHE/wheels"
rm -rf "$wheels" && mkdir -p "$wheels"

step "building the Python wheel (maturin, release)" >&2
# maturin builds the crate with cargo into the shared CARGO_TARGET_DIR, so the engine's
# dependencies compiled for the CLI are reused.
(cd python && "$venv/bin/maturin" build --release --quiet \
    --interpreter "$py" --out "$wheels") >&2
wheel=$(ls "$wheels"/simsong-*.whl)
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel" >&2
echo "$wheel"
