#!/usr/bin/env python3
"""Export the aiSFX teacher as a model the product loads (issue #32, docs/teacher-in-product.md).

    PY=$(training/torchenv.sh | tail -n 1)
    "$PY" training/export_teacher.py --out models/aisfx-teacher.onnx [--projection P.npz --dim 128]

The network is aiSFX's `EmbeddingNet("max", 3, 1, 64)` (PyPI `aisfx` 0.1.2; weights CC BY 4.0,
(c) 2022 A. B. Ma and A. Lerch), changed so that it runs on the product's patch layout and needs
no preprocessing beyond the Rust front end's `aisfx` kind (src/params.rs `AnalysisParams::AISFX`):

- **band-major input** `mel [1, 1, 96, 129]` (our patches are band-major; aisfx's are
  `[batch, time, bands]`): every 3x3 kernel is transposed (kh <-> kw) and the two final
  reductions swap axes (mean over bands = dim 2, max over time = dim 3), so no Transpose op is
  needed and the output is the same function of the same spectrogram;
- **BatchNorm folded** into each convolution (weights scaled, a bias added);
- the package's spectrogram scaling (`/ 9.457798957824707`, spec_norm "original") **folded into
  the first convolution's weights** (it has no bias before the fold, so this is exact);
- block 4's 1x1 max-pool (an identity) dropped; the nine per-dataset heads dropped;
- optionally a final affine map (`--projection`: standardisation, PCA and whitening fitted on
  the allowed training packages, 512 -> `--dim`), the index's vector. It applies to the unit
  512-d vector (as cv_teacher_product.py fits and scores it), so the graph L2-normalises first.

The metadata names the front end (`"frontend": "aisfx"`) and its analysis numbers; the Rust
loader refuses a model whose numbers do not match its kind. The export is checked against the
unchanged aisfx network run on the same spectrogram in aisfx's own layout (max abs difference
printed; it must be below 1e-4 on outputs of order 10).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from teacher_embed import SPEC_MAX, load_teacher  # noqa: E402

# The aisfx kind of the Rust front end (src/params.rs AnalysisParams::AISFX); must agree, or the
# product refuses the model.
ANALYSIS = {"sample_rate_hz": 44100, "n_fft": 2048, "hop_length": 1024, "n_mels": 96, "fmin_hz": 0.0,
            "fmax_hz": 22050.0, "log_gain": 10000.0, "patch_frames": 129, "patch_hop_frames": 129}
FRONTEND = "aisfx"
FRONTEND_VERSION = 1  # src/params.rs FrontEndKind::Aisfx.version()
N_MELS, FRAMES = ANALYSIS["n_mels"], ANALYSIS["patch_frames"]


def fold_bn(conv, bn, input_scale=1.0):
    """(weight, bias) of conv -> bn as one convolution, its input multiplied by input_scale."""
    w = conv.weight.detach().double()
    s = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    w = w * s[:, None, None, None] * input_scale
    b = bn.bias.detach().double() - bn.running_mean.detach().double() * s
    return w, b


class BandMajorTeacher(nn.Module):
    """The folded teacher on `[N, 1, bands, frames]`, optionally with a final affine map."""

    def __init__(self, emb_net, projection=None):
        super().__init__()
        self.convs = nn.ModuleList()
        blocks = [emb_net.conv_block1, emb_net.conv_block2, emb_net.conv_block3, emb_net.conv_block4]
        for i, blk in enumerate(blocks):
            for j, (conv, bn) in enumerate(((blk.conv1, blk.bn1), (blk.conv2, blk.bn2))):
                scale = 1.0 / SPEC_MAX if (i, j) == (0, 0) else 1.0
                w, b = fold_bn(conv, bn, scale)
                c = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1, bias=True)
                c.weight.data = w.transpose(2, 3).contiguous().float()  # kh <-> kw: bands are rows now
                c.bias.data = b.float()
                self.convs.append(c)
        self.proj = None
        if projection is not None:
            a, c = projection
            self.proj = nn.Linear(a.shape[0], a.shape[1])
            self.proj.weight.data = torch.from_numpy(a.T.astype(np.float32)).contiguous()
            self.proj.bias.data = torch.from_numpy(c.astype(np.float32))

    def forward(self, mel):
        x = mel
        for k, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if k % 2 == 1 and k < 7:  # after blocks 1-3; block 4's pool is 1x1
                x = F.max_pool2d(x, kernel_size=2)
        x = torch.mean(x, dim=2)  # over bands
        x, _ = torch.max(x, dim=2)  # over time
        if self.proj is None:
            return x
        x = x / torch.sqrt(torch.sum(x * x, dim=1, keepdim=True) + 1e-12)
        return self.proj(x)


def load_projection(path, dim):
    """The npz written by cv_teacher_product.py --save-projection: x -> ((x - mu)/sd - zmean) @ comp.T / scale
    as one affine map (A [512, dim], c [dim])."""
    z = np.load(path)
    mu, sd, zmean, comp, scale = (z[k].astype(np.float64) for k in ("mu", "sd", "zmean", "comp", "scale"))
    comp, scale = comp[:dim], scale[:dim]
    a = (comp / sd[None, :]).T / scale[None, :]
    c = -((mu / sd + zmean) @ comp.T) / scale
    return a, c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--projection", help="npz with mu, sd, zmean, comp, scale (512 -> dim)")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    import onnx

    teacher = load_teacher()
    emb_net = teacher.embedding_net.eval()
    projection = load_projection(args.projection, args.dim) if args.projection else None
    model = BandMajorTeacher(emb_net, projection).eval()
    dim = args.dim if projection is not None else 512
    name = args.name or (f"aisfx-teacher-{dim}" if projection is not None else "aisfx-teacher-512")

    # The same function as aisfx's network on its own layout and scaling.
    g = torch.Generator().manual_seed(7)
    spec = torch.rand(4, FRAMES, N_MELS, generator=g) * 4.0  # log10(1 + 1e4 S) spans 0..~4.5
    with torch.no_grad():
        want = emb_net(spec / SPEC_MAX)
        got = BandMajorTeacher(emb_net)(spec.transpose(1, 2).unsqueeze(1))
    err = (want - got).abs().max().item()
    print(f"band-major, folded vs aisfx: max abs diff {err:.2e} (outputs up to {want.abs().max().item():.1f})",
          file=sys.stderr)
    assert err < 1e-4, err

    out = os.path.abspath(args.out)
    tmp = out + ".tmp"
    torch.onnx.export(model, torch.zeros(1, 1, N_MELS, FRAMES), tmp, input_names=["mel"],
                      output_names=["embedding"], opset_version=17, do_constant_folding=True)
    m = onnx.load(tmp)
    meta = {"format": 1, "name": name, "trained": True, "frontend": FRONTEND,
            "frontend_version": FRONTEND_VERSION, "analysis": ANALYSIS, "embedding_dim": dim, "heads": []}
    del m.metadata_props[:]
    onnx.helper.set_model_props(m, {"simsong": json.dumps(meta, separators=(",", ":"))})
    m.producer_name = "simsong-training"
    m.doc_string = (f"{name}: aiSFX (A. B. Ma and A. Lerch, ISMIR 2022; weights (c) 2022 A.B. Ma and A. Lerch, "
                    "CC BY 4.0, https://creativecommons.org/licenses/by/4.0/), modified: BatchNorm folded, "
                    "kernels transposed to band-major input, input scaling folded, heads removed"
                    + (", standardisation/PCA/whitening appended" if projection is not None else "")
                    + "; provided without warranty. See models/MODEL.md.")
    onnx.checker.check_model(m)
    onnx.save(m, out)
    os.remove(tmp)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB), ops "
          f"{sorted({n.op_type for n in m.graph.node})}", file=sys.stderr)


if __name__ == "__main__":
    main()
