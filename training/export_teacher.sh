#!/usr/bin/env bash
# The teacher as the product would ship it (issue #32): an int8 NNEF archive from the aisfx
# wheel's weights and a projection fitted by training/cv_teacher_product.py --save-projection.
#
#   training/export_teacher.sh PROJECTION.npz OUT.nnef.tar        # ~1 min, deterministic
#
# export_teacher.py (band-major, folded, L2-normalise + 512 -> 128 Gemm) -> quantize_weights.py
# (int8 grid) -> simsong model-export (the NNEF archive, checked against the ONNX file to 1e-5).
# The ONNX intermediates stay in $SIMSONG_CACHE/training-data/teacher-product/.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
projection=$(realpath "$1")
out=$(realpath -m "$2")
cd "$ROOT"
PY=$(training/torchenv.sh | tail -n 1)
work=$SIMSONG_CACHE/training-data/teacher-product
mkdir -p "$work"
cargo build --release --features cli --bin simsong
"$PY" training/export_teacher.py --out "$work/aisfx-128.onnx" --projection "$projection" --dim 128 \
    --name aisfx-teacher-128
"$PY" training/quantize_weights.py "$work/aisfx-128.onnx" --out "$work/aisfx-128-q8.onnx"
"$CARGO_TARGET_DIR/release/simsong" model-export --model "$work/aisfx-128-q8.onnx" --out "$out"
sha256sum "$work/aisfx-128-q8.onnx" "$out"
