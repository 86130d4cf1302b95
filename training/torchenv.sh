#!/usr/bin/env bash
# Creates (if missing) the training venv with a CPU build of PyTorch and prints its python path
# as the last line on stdout (everything else goes to stderr).
#
#   PY=$(training/torchenv.sh | tail -n 1)
#
# PyTorch: Debian 12's `python3-torch` (1.13.1, CPU only, ~150 packages via apt, no multi-GB
# CUDA wheels, and reachable where only PyPI/Debian are). The venv is created with Debian's
# /usr/bin/python3 and --system-site-packages so it sees torch and numpy from apt; the few
# extra packages are pinned in training/requirements-torch.txt. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${SIMSONG_CACHE:-$HOME/.cache/simsong}
venv=$cache/venv-torch
req=training/requirements-torch.txt

need=()
for p in python3-torch python3-numpy python3-venv; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
    echo "torchenv.sh: apt-get install ${need[*]}" >&2
    sudo_=""; [[ $(id -u) -ne 0 ]] && sudo_=sudo
    $sudo_ apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

if [[ ! -x $venv/bin/python ]]; then
    echo "torchenv.sh: creating $venv (Debian python3, --system-site-packages)" >&2
    /usr/bin/python3 -m venv --system-site-packages "$venv" >&2
fi
sum=$(sha256sum "$req" | cut -d' ' -f1)
if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$sum" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    echo "$sum" > "$venv/.requirements.sha256"
fi
# The teacher (training/teacher_embed.py): aisfx's wheel carries its weights. Its metadata pins
# numpy 1.23 / librosa 0.9 for its own preprocessing, which we do not use (teacher_embed.py
# computes the same spectrogram with numpy), so it is installed without dependencies.
if ! "$venv/bin/python" -m pip show aisfx 2>/dev/null | grep -q '^Version: 0.1.2$'; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps aisfx==0.1.2 >&2
fi
"$venv/bin/python" -c 'import torch, numpy, onnx' >&2
echo "$venv/bin/python"
