"""Writes an UNTRAINED benchmark CNN with the shape and size of a realistic embedding model.

Only for timing tract vs. other runtimes before (and besides) the trained model: five conv
blocks (3x3 conv + batch-norm folded into bias + ReLU + 2x2 max-pool), channels 32-64-128-128-256,
global average + max pooling, a 128-d embedding and a 6-class head; ~0.8 M parameters like the
prototype in DESIGN.md. Weights are seeded random numbers; the metadata says `trained: false`.

Usage: python bench/make_bench_model.py OUT.onnx
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
nodes, inits = [], []


def weight(name, shape, fan_in):
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), name))
    return name


def bias(name, n):
    inits.append(numpy_helper.from_array(np.zeros(n, np.float32), name))
    return name


x, cin = "mel", 1
for i, cout in enumerate([32, 64, 128, 128, 256]):
    w = weight(f"w{i}", (cout, cin, 3, 3), cin * 9)
    b = bias(f"b{i}", cout)
    nodes += [
        helper.make_node("Conv", [x, w, b], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
    ]
    x = f"r{i}"
    if i < 4:
        nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
        x = f"p{i}"
    cin = cout
nodes += [
    helper.make_node("GlobalAveragePool", [x], ["gap"]),
    helper.make_node("GlobalMaxPool", [x], ["gmp"]),
    helper.make_node("Concat", ["gap", "gmp"], ["pooled4"], axis=1),
    helper.make_node("Flatten", ["pooled4"], ["pooled"]),
    helper.make_node("Gemm", ["pooled", weight("we", (128, 512), 512), bias("be", 128)], ["embedding"], transB=1),
    helper.make_node("Gemm", ["embedding", weight("wh", (6, 128), 128), bias("bh", 6)], ["instrument"], transB=1),
]
graph = helper.make_graph(
    nodes,
    "bench-cnn",
    [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["N", 1, 96, 187])],
    [
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128]),
        helper.make_tensor_value_info("instrument", TensorProto.FLOAT, ["N", 6]),
    ],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="simsong-bench")
model.ir_version = 8
meta = {
    "format": 1, "name": "bench-cnn-untrained", "trained": False, "frontend_version": 3,
    "analysis": {"sample_rate_hz": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 96, "fmin_hz": 0.0,
                 "fmax_hz": 8000.0, "log_gain": 10000.0, "patch_frames": 187, "patch_hop_frames": 187},
    "embedding_dim": 128,
    "heads": [{"output": "instrument", "classes": ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]}],
}
helper.set_model_props(model, {"simsong": json.dumps(meta, separators=(",", ":"))})
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
print(f"{sys.argv[1]}: {params} parameters", file=sys.stderr)
