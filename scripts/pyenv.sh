#!/usr/bin/env bash
# Usage: scripts/pyenv.sh REQUIREMENTS_FILE
#
# Creates (if missing) a Python virtual environment at
#   ${SIMSONG_CACHE:-$HOME/.cache/simsong}/venv-<name of the folder holding REQUIREMENTS_FILE>
# (one venv per requirements file, so fixtures, benchmarks and training do not reinstall
# each other's packages)
# and pip-installs REQUIREMENTS_FILE into it, but only when the file's content
# hash differs from the one recorded at the last successful install.
# Prints the venv's python path as the last line on stdout; everything else
# goes to stderr. Idempotent and quick when nothing changed.
#
# Example:
#   PY=$(scripts/pyenv.sh tests/fixtures/requirements.txt)
#   "$PY" tests/fixtures/make_audio_fixtures.py
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 REQUIREMENTS_FILE" >&2
    exit 2
fi
req=$1
if [[ ! -f "$req" ]]; then
    echo "pyenv.sh: requirements file not found: $req" >&2
    exit 2
fi

cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
venv="$cache/venv-$(basename "$(cd "$(dirname "$req")" && pwd)")"
py="$venv/bin/python"
stamp="$venv/.requirements.sha256"

if [[ ! -x "$py" ]]; then
    echo "pyenv.sh: creating venv at $venv" >&2
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2
    "$py" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 || true
fi

# Hash the requirements content (not its path or mtime).
hash=$(sha256sum < "$req" | cut -d' ' -f1)
old=""
[[ -f "$stamp" ]] && old=$(cat "$stamp")

if [[ "$hash" != "$old" ]]; then
    echo "pyenv.sh: installing $req into $venv" >&2
    "$py" -m pip install --disable-pip-version-check -r "$req" >&2
    printf '%s\n' "$hash" > "$stamp"
else
    echo "pyenv.sh: $venv up to date with $req" >&2
fi

echo "$py"
