#!/usr/bin/env python3
"""Rounds an ONNX model's weights onto an int8 grid, so that its NNEF form ships them as int8.

    "$PY" training/quantize_weights.py models/simsong.onnx [--out FILE] [--json FILE]

Every weight tensor of two or more dimensions (convolution kernels, dense layers) is rounded,
per output channel (axis 0 in ONNX's layouts: Conv's OIHW, PyTorch's Gemm with transB), to
q * s with q an integer in [-127, 127] and s a power of two: the smallest one with
max|w| / s <= 127. Biases (1-d) stay as they are.

Why powers of two: q * s is then exact in f32, and stays on an int8 grid whichever slice of the
tensor one looks at. tract splits and transposes some weights when it writes the NNEF form (the
embedding layer's kernel is cut in two along its input); `simsong model-export` finds each
stored tensor's own per-row power-of-two scale and stores int8 only where that reproduces every
f32 value bit for bit, so the int8 archive is the ONNX model, not an approximation of it (the
export still checks both forms' outputs to 1e-5). A scale rounded up to a power of two costs
at most one bit of the eight: measured on the shipped model in MODEL.md ("int8 weights").

The rounded ONNX file is a new model (a new SHA-256, the model's identity): indexes built with
the f32 one must be rebuilt. Prints (and with --json writes) what changed: per tensor the
largest relative change and the share of values that moved.
"""
import argparse
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def pow2_scale(max_abs):
    """The smallest power of two s with max_abs / s <= 127 (1.0 for an all-zero row)."""
    if max_abs == 0:
        return np.float32(1.0)
    e = int(np.ceil(np.log2(float(max_abs) / 127.0)))
    s = np.float32(2.0**e)
    while max_abs / s > 127:  # guard against log2's rounding at an exact power
        s = np.float32(s * 2)
    return s


def quantize(w):
    """(rounded w, per-row scales): w rounded per axis-0 row onto q * s, |q| <= 127."""
    rows = w.reshape(w.shape[0], -1).astype(np.float32)
    out = np.empty_like(rows)
    scales = np.empty(rows.shape[0], np.float32)
    for i, row in enumerate(rows):
        s = pow2_scale(np.abs(row).max())
        q = np.clip(np.rint(row / s), -127, 127).astype(np.float32)
        out[i] = q * s  # exact: |q| < 2^7 and s a power of two
        scales[i] = s
    return out.reshape(w.shape), scales


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--out", help="where to write (default: over the input)")
    ap.add_argument("--json", help="write the per-tensor report here")
    a = ap.parse_args()
    model = onnx.load(a.model)
    report = {"source": a.model, "tensors": {}}
    changed = 0
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.ndim < 2 or w.dtype != np.float32:
            continue
        r, _ = quantize(w)
        moved = r != w
        rel = float(np.abs(r - w).max() / max(np.abs(w).max(), 1e-30))
        report["tensors"][init.name] = {
            "shape": list(w.shape),
            "max_rel_change": rel,
            "share_moved": float(moved.mean()),
        }
        changed += int(moved.any())
        init.CopyFrom(numpy_helper.from_array(r, init.name))
    out = a.out or a.model
    onnx.save(model, out)
    report["tensors_rounded"] = changed
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(f"wrote {out}: {changed} weight tensors on an int8 grid", file=sys.stderr)


if __name__ == "__main__":
    main()
