"""The student network (simsong-cnn v2 and v3) and its ONNX export.

A plain CNN shaped for tract's wasm kernels: no max-pool (tract runs its 2x2 pools with scalar
code, 30% of v1's time per patch), down-sampling by stride-2 3x3 convolutions instead, channel
counts that are multiples of 8 (tract's 8x8 f32 GEMM tile), BatchNorm folded at export, global
mean + max pooling, a linear embedding and an MLP instrument head on the pooled features.

`STAGES` lists (out_channels, stride) per convolution; every conv is 3x3 + BN + ReLU. Stride-2
convolutions are unpadded and stride-1 ones padded by 1: tract runs a conv's padding as a
separate Pad op (8% of the time per patch when every conv was padded), and the down-sampling
convolutions lose only a border frame by it.

A stride of "pool" (training only, for recipe comparisons: `V1_STAGES`, `train.py --arch v1`)
is a padded stride-1 conv followed by a 2x2 max-pool, v1's blocks; such a net is not exported
to ONNX (`export_onnx` refuses MaxPool). `inst_on="embedding"` puts a linear instrument head on
the embedding instead of the MLP on the pooled features (v1's stage 1).
"""
import json
import os

import torch
import torch.nn as nn

N_MELS, FRAMES = 96, 187
CLASSES = ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]
STAGES = [(16, 2), (32, 2), (64, 2), (96, 1), (128, 2), (160, 1), (160, 1)]
# simsong-cnn-v1 (commit 7073101): 3x3 conv + BN + ReLU + 2x2 max-pool x4, then one more conv
V1_STAGES = [(16, "pool"), (32, "pool"), (64, "pool"), (128, "pool"), (128, 1)]
EMBED_DIM = 128
HEAD_HIDDEN = 128
ANALYSIS = {"sample_rate_hz": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 96,
            "fmin_hz": 0.0, "fmax_hz": 8000.0, "log_gain": 10000.0,
            "patch_frames": 187, "patch_hop_frames": 187}
# must equal FRONTEND_VERSION in src/params.rs: the features were computed by that front end
FRONTEND_VERSION = 3


def padding(stride):
    return 0 if stride == 2 else 1


def conv_stride(stride):
    return 1 if stride == "pool" else stride


def conv_out(n, stride):
    """Size after the conv (before a "pool" stage's max-pool)."""
    return (n + 2 * padding(stride) - 3) // conv_stride(stride) + 1


def stage_out(n, stride):
    """Size after the whole stage."""
    return conv_out(n, stride) // 2 if stride == "pool" else conv_out(n, stride)


class Net(nn.Module):
    """Training graph: conv + BN + ReLU stages, pooled features, embedding, instrument head."""

    def __init__(self, stages=STAGES, dim=EMBED_DIM, n_classes=len(CLASSES), inst_on="pooled"):
        super().__init__()
        layers, cin = [], 1
        for c, s in stages:
            block = [nn.Conv2d(cin, c, 3, stride=conv_stride(s), padding=padding(s), bias=False),
                     nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            layers.append(nn.Sequential(*block, *([nn.MaxPool2d(2)] if s == "pool" else [])))
            cin = c
        self.blocks = nn.Sequential(*layers)
        self.width = cin
        self.fc = nn.Linear(2 * cin, dim)
        self.inst_on_embedding = inst_on == "embedding"
        self.instrument = nn.Linear(dim, n_classes) if self.inst_on_embedding else head_mlp(2 * cin, n_classes)

    def pooled(self, x):
        h = self.blocks(x)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x):
        p = self.pooled(x)
        e = self.fc(p)
        return e, self.instrument(e if self.inst_on_embedding else p)


def head_mlp(n_in, n_classes=len(CLASSES), hidden=HEAD_HIDDEN):
    return nn.Sequential(nn.Dropout(0.2), nn.Linear(n_in, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_classes))


class Export(nn.Module):
    """The inference graph: BN folded, ONNX-friendly global pooling, no dropout."""

    def __init__(self, net):
        super().__init__()
        from torch.nn.utils.fusion import fuse_conv_bn_eval
        blocks = []
        for b in net.blocks:
            blocks += [fuse_conv_bn_eval(b[0].eval(), b[1].eval()), nn.ReLU(), *b[3:]]
        self.blocks = nn.Sequential(*blocks)
        self.fc = net.fc
        self.instrument = net.instrument
        self.inst_on_embedding = getattr(net, "inst_on_embedding", False)

    def pooled(self, mel):
        h = self.blocks(mel)
        # ReduceMean / ReduceMax in ONNX (adaptive_max_pool2d would export as a MaxPool)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, mel):
        p = self.pooled(mel)
        e = self.fc(p)
        return e, self.instrument(e if self.inst_on_embedding else p)


def fold(model, check=True):
    """BN folded into the convolutions, checked against the training graph."""
    model.eval()
    ex = Export(model).eval()
    if check:
        with torch.no_grad():
            x = torch.randn(3, 1, N_MELS, FRAMES).abs()
            e1, l1 = model(x)
            e2, l2 = ex(x)
        err = max((e1 - e2).abs().max().item(), (l1 - l2).abs().max().item())
        assert err < 1e-3, f"BatchNorm folding changed the outputs by {err}"
    return ex


def count_macs(stages=STAGES, dim=EMBED_DIM):
    macs, f, t, cin = 0, N_MELS, FRAMES, 1
    for c, s in stages:
        macs += conv_out(f, s) * conv_out(t, s) * c * cin * 9
        f, t = stage_out(f, s), stage_out(t, s)
        cin = c
    return macs + 2 * cin * dim + 2 * cin * HEAD_HIDDEN + HEAD_HIDDEN * len(CLASSES)


def layer_table(stages=STAGES):
    """Rows (layer, output shape, MACs) for the model card."""
    rows, f, t, cin = [], N_MELS, FRAMES, 1
    for c, s in stages:
        f, t = conv_out(f, s), conv_out(t, s)
        rows.append((f"conv 3x3 stride {s} ({cin}->{c}) + ReLU", f"{c} x {f} x {t}", f * t * c * cin * 9))
        cin = c
    return rows


def from_onnx(path, stages=STAGES):
    """An Export module holding the weights of an ONNX file written by `export_onnx`. Conv
    weights are taken from the Conv nodes' inputs in graph order (the exporter shares identical
    initialisers, e.g. the all-zero biases of an untrained model, under one name)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    for n in m.graph.node:  # constants the exporter emitted as nodes
        if n.op_type == "Constant":
            init[n.output[0]] = torch.from_numpy(numpy_helper.to_array(n.attribute[0].t).copy())
        elif n.op_type == "Identity" and n.input[0] in init:  # a shared initialiser's alias
            init[n.output[0]] = init[n.input[0]]
    ex = Export(Net(stages).eval())
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    state = {k: v for k, v in init.items() if not k.startswith("blocks.")}
    for conv, node in zip([b for b in ex.blocks if isinstance(b, nn.Conv2d)], convs):
        prefix = [k for k, v in ex.named_modules() if v is conv][0]
        state[f"{prefix}.weight"] = init[node.input[1]]
        state[f"{prefix}.bias"] = init[node.input[2]]
    ex.load_state_dict(state)
    return ex.eval()


def export_onnx(ex, out, name, trained=True, stages=STAGES):
    """Writes `ex` as opset-17 ONNX with the `simsong` metadata the Rust loader checks, then
    reads the weights back and checks the outputs."""
    import onnx
    ex = ex.eval()
    dummy = torch.zeros(1, 1, N_MELS, FRAMES)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    torch.onnx.export(ex, dummy, tmp, input_names=["mel"], output_names=["embedding", "instrument"],
                      dynamic_axes={"mel": {0: "N"}, "embedding": {0: "N"}, "instrument": {0: "N"}},
                      opset_version=17, do_constant_folding=True)
    m = onnx.load(tmp)
    meta = {"format": 1, "name": name, "trained": trained, "frontend_version": FRONTEND_VERSION,
            "analysis": ANALYSIS, "embedding_dim": EMBED_DIM,
            "heads": [{"output": "instrument", "classes": CLASSES}]}
    del m.metadata_props[:]
    onnx.helper.set_model_props(m, {"simsong": json.dumps(meta, separators=(",", ":"))})
    m.producer_name = "simsong-training"
    m.doc_string = f"{name}: trained by training/train.py; see models/MODEL.md"
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    assert "BatchNormalization" not in ops and "MaxPool" not in ops, ops
    onnx.save(m, out)
    os.remove(tmp)
    back = from_onnx(out, stages)
    with torch.no_grad():
        x = torch.randn(3, 1, N_MELS, FRAMES).abs()
        e1, l1 = ex(x)
        e2, l2 = back(x)
    err = max((e1 - e2).abs().max().item(), (l1 - l2).abs().max().item())
    assert err < 1e-5, err
    return ops


if __name__ == "__main__":
    # python training/net.py OUT.onnx [STAGES-JSON]: an untrained model of this shape, for speed
    # measurements of candidate architectures (bench/inference_bench.mjs --model OUT.onnx)
    import sys
    stages = json.loads(sys.argv[2]) if len(sys.argv) > 2 else STAGES
    torch.manual_seed(0)
    net = Net(stages)
    ex = fold(net)
    ops = export_onnx(ex, sys.argv[1], "simsong-cnn-untrained", trained=False, stages=stages)
    print(f"{sys.argv[1]}: {sum(p.numel() for p in ex.parameters())} parameters, "
          f"{count_macs(stages) / 1e6:.1f} M MACs, ops {ops}")
