#!/usr/bin/env python3
"""Train the shipped embedding model (simsong-cnn-v1) on CPU and export it to ONNX.

    PY=$(training/torchenv.sh | tail -n 1)
    nice -n 10 "$PY" training/train.py [--minutes 45] [--seed 1234] [--out models/simsong.onnx]

Inputs (from training/prepare_data.sh, under ${SIMSONG_CACHE:-~/.cache/simsong}/training-data):
  tracks.csv, renders.csv, splits.json, features/real/ and features/renders/ (log-mel patches
  written by `simsong features`, i.e. the product's own Rust front end).

Model: a plain 5-block CNN sized for tract in wasm (see models/MODEL.md): 3x3 conv + BN + ReLU,
2x2 max-pool after blocks 1-4, channels 16-32-64-128-128, global mean + max pooling, a linear
128-d embedding, and a 6-class `instrument` head (linear on the embedding while the trunk trains,
an MLP on the pooled features in the shipped model, see stage 2).

Objectives, summed every step:
  * track contrastive (NT-Xent, t=0.1): two different 3 s patches of the same real track are
    positives; other tracks of OTHER collections are the negatives (other tracks of the same
    collection are left out of the denominator, they are not "different-sounding").
  * collection SupCon (t=0.1, weight --coll-weight): patches of tracks from the same collection
    (album / game soundtrack) are positives. Batches are P collections x K tracks x 2 patches.
  * instrument cross-entropy on the labelled renders (weight --inst-weight), with the same
    embedding feeding a linear head.
Contrastive losses use a 2-layer projection of the embedding (training only, SimCLR-style);
the exported `embedding` is the layer before it.
Augmentation on log-mel: random gain (+-6 dB, applied exactly through log10(1 + 1e4 S)),
one time mask and one frequency mask per patch.

Stage 1 stops after --minutes of wall time (the LR schedule follows elapsed time, so the step
count depends on the machine's speed; --steps N replays a run step for step), keeping the
checkpoint with the best validation score (val P@10 of same-collection retrieval + val
instrument accuracy, both on held-out packages / pieces). BatchNorm is then folded into the
convolutions.

Stage 2a (embedding whitening, a minute): the train tracks' patch embeddings give a mean and a
covariance; the embedding is centred and whitened (shrinkage chosen by val P@10), folded into
the last linear layer. Cosine similarity of raw contrastive embeddings is dominated by a few
shared directions; whitened, it ranks held-out collections much better (test P@10 0.30 -> ~0.40
in the first run).

Stage 2b (head refit, a few minutes): trunk and embedding frozen, the instrument head is replaced
by a small MLP on the pooled conv features (256 -> 128 -> 6, input standardisation folded in),
fit on the train renders and chosen by val clip accuracy. The embedding is untouched by it.
`--refit-from-onnx M.onnx` runs stage 2 alone on a model exported by stage 1.

The model is exported with opset 17 and the `simsong` metadata the Rust loader checks.
"""
import argparse
import csv
import json
import math
import os
import random
import sys
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DEFAULT_DATA = os.path.join(CACHE, "training-data")
CLASSES = ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]
N_MELS, FRAMES = 96, 187
LOG_GAIN = 1e4
ANALYSIS = {"sample_rate_hz": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 96,
            "fmin_hz": 0.0, "fmax_hz": 8000.0, "log_gain": 10000.0,
            "patch_frames": 187, "patch_hop_frames": 187}
WIDTHS = [16, 32, 64, 128, 128]
EMBED_DIM = 128
HEAD_HIDDEN = 128


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------- model
class Net(nn.Module):
    def __init__(self, widths=WIDTHS, dim=EMBED_DIM, n_classes=len(CLASSES)):
        super().__init__()
        blocks, cin = [], 1
        for i, c in enumerate(widths):
            layers = [nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(2 * cin, dim)
        self.instrument = nn.Linear(dim, n_classes)

    def forward(self, x):
        h = self.blocks(x)
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        e = self.fc(h)
        return e, self.instrument(e)


class Export(nn.Module):
    """The inference graph: BN folded, ONNX-friendly global pooling."""

    def __init__(self, net):
        super().__init__()
        from torch.nn.utils.fusion import fuse_conv_bn_eval
        blocks = []
        for b in net.blocks:
            conv, bn = b[0], b[1]
            fused = fuse_conv_bn_eval(conv.eval(), bn.eval())
            blocks += [fused, nn.ReLU()] + ([nn.MaxPool2d(2)] if len(b) > 3 else [])
        self.blocks = nn.Sequential(*blocks)
        self.fc = net.fc
        self.instrument = net.instrument

    def pooled(self, mel):
        h = self.blocks(mel)
        avg = F.adaptive_avg_pool2d(h, 1).flatten(1)
        mx = F.adaptive_max_pool2d(h, 1).flatten(1)
        return torch.cat([avg, mx], dim=1)

    def forward(self, mel):
        p = self.pooled(mel)
        e = self.fc(p)
        # after refit_head the instrument head is an MLP on the pooled features (the embedding
        # is unchanged); before, the linear head on the embedding trained with the trunk
        return e, self.instrument(p if isinstance(self.instrument, nn.Sequential) else e)


def export_from_onnx(path):
    """An Export module holding the weights of an ONNX file written by this script."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    ex = Export(Net().eval())
    if any(k.startswith("instrument.1.") for k in weights):
        ex.instrument = head_mlp()
    ex.load_state_dict(weights)
    return ex.eval()


def head_mlp(hidden=HEAD_HIDDEN):
    return nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * WIDTHS[-1], hidden), nn.ReLU(),
                         nn.Linear(hidden, len(CLASSES)))


@torch.no_grad()
def pooled_features(ex, items, batch=256):
    xs = [it["x"] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    out = [ex.pooled(torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1))
           for i in range(0, len(allx), batch)]
    return torch.cat(out), torch.from_numpy(owner)


def clip_accuracy(head, feats, owner, ys):
    head.eval()
    with torch.no_grad():
        probs = head(feats).softmax(1)
    n = int(owner.max()) + 1
    mean = torch.zeros(n, probs.shape[1]).index_add_(0, owner, probs)
    return float((mean.argmax(1) == ys).float().mean())


@torch.no_grad()
def raw_embeddings(ex, items, every=1, batch=256):
    xs = [it["x"][::every] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    out = [ex(torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1))[0]
           for i in range(0, len(allx), batch)]
    return torch.cat(out).numpy().astype(np.float64), owner


def whiten_embedding(ex, tracks, shrinkages=(0.0, 0.1, 0.5, 1.0)):
    """Stage 2a: whiten the embedding with statistics of the TRAIN tracks' patch embeddings
    (mean removed, covariance C -> (C + a*mean(eig) I)^-1/2), folded into the `fc` layer, so the
    cosine similarity the product uses is not dominated by a few shared directions. The shrinkage
    a is chosen by val P@10."""
    tr, _ = raw_embeddings(ex, tracks["train"], every=4)
    mu = tr.mean(0)
    eig, vec = np.linalg.eigh(np.cov((tr - mu).T))
    eig = np.clip(eig, 1e-9, None)
    va, va_o = raw_embeddings(ex, tracks["val"])
    labels = [t["coll"] for t in tracks["val"]]

    def transform(a):
        return vec @ np.diag((eig + a * eig.mean()) ** -0.5) @ vec.T

    def val_p(P):
        e = (va - mu) @ P.T
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        t = np.zeros((len(tracks["val"]), e.shape[1]))
        np.add.at(t, va_o, e)
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        return precision_at(t.astype(np.float32), labels)

    base = val_p(np.eye(len(mu)))
    results = {a: val_p(transform(a)) for a in shrinkages}
    best = max(shrinkages, key=lambda a: results[a][10])
    log("whitening, val P@10: none %.3f, " % base[10] +
        ", ".join(f"a={a}: {results[a][10]:.3f}" for a in shrinkages) + f" -> a={best}")
    P = torch.from_numpy(transform(best)).float()
    with torch.no_grad():
        w, b = ex.fc.weight.clone(), ex.fc.bias.clone()
        ex.fc.weight.copy_(P @ w)
        ex.fc.bias.copy_(P @ (b - torch.from_numpy(mu).float()))
    return ex, {"shrinkage": best, "val_p10": {"none": base[10], **{str(a): r[10] for a, r in results.items()}}}


def refit_head(ex, renders, seed, epochs=150):
    """Stage 2: the trunk and embedding frozen, fit an MLP instrument head on the pooled
    features of the train renders; keep the epoch with the best val clip accuracy."""
    torch.manual_seed(seed)
    tr_f, tr_o = pooled_features(ex, renders["train"])
    va_f, va_o = pooled_features(ex, renders["val"])
    tr_y = torch.tensor([r["y"] for r in renders["train"]])[tr_o]
    va_y = torch.tensor([r["y"] for r in renders["val"]])
    mu, sd = tr_f.mean(0), tr_f.std(0) + 1e-5
    head = head_mlp()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-2)
    gen = torch.Generator().manual_seed(seed)
    best, best_state = -1.0, None
    for ep in range(epochs):
        head.train()
        perm = torch.randperm(len(tr_f), generator=gen)
        for i in range(0, len(perm), 128):
            b = perm[i:i + 128]
            loss = F.cross_entropy(head((tr_f[b] - mu) / sd), tr_y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if (ep + 1) % 5 == 0:
            acc = clip_accuracy(head, (va_f - mu) / sd, va_o, va_y)
            if acc > best:
                best, best_state = acc, {k: v.clone() for k, v in head.state_dict().items()}
    head.load_state_dict(best_state)
    # fold the input standardisation into the first linear layer
    lin = head[1]
    with torch.no_grad():
        lin.bias -= (lin.weight * (mu / sd)).sum(1)
        lin.weight /= sd
    head.eval()
    ex.instrument = head
    log(f"head refit: val clip accuracy {best:.3f}")
    return ex


def count_macs(widths=WIDTHS, dim=EMBED_DIM):
    macs, f, t, cin = 0, N_MELS, FRAMES, 1
    for i, c in enumerate(widths):
        macs += f * t * c * cin * 9
        if i < len(widths) - 1:
            f, t = f // 2, t // 2
        cin = c
    return macs + 2 * cin * dim + 2 * cin * HEAD_HIDDEN + HEAD_HIDDEN * len(CLASSES)


# ------------------------------------------------------------------------------------ data
def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_feature_index(folder):
    """path -> (npy file, patch count) from `simsong features`' index.csv."""
    out = {}
    for r in read_csv(os.path.join(folder, "index.csv")):
        out[r["path"]] = (os.path.join(folder, r["npy"]), int(r["patches"]))
    return out


def load_patches(npy, limit=None, rng=None):
    a = np.load(npy, mmap_mode="r")
    idx = np.arange(a.shape[0])
    if limit is not None and len(idx) > limit:
        idx = np.sort(rng.choice(idx, limit, replace=False)) if rng is not None else \
            np.linspace(0, len(idx) - 1, limit).round().astype(int)
    return np.asarray(a[idx], dtype=np.float16)


def load_data(data, max_train_patches):
    splits = json.load(open(os.path.join(data, "splits.json")))
    rng = np.random.default_rng(0)
    real_idx = load_feature_index(os.path.join(data, "features", "real"))
    tracks = {s: [] for s in ("train", "val", "test")}
    for t in read_csv(os.path.join(data, "tracks.csv")):
        s = splits["real"]["track_split"].get(t["track_id"])
        if s is None or t["audio_path"] not in real_idx:
            continue
        npy, n = real_idx[t["audio_path"]]
        if n < 2 and s == "train":
            continue  # needs two different patches for a positive pair
        limit = max_train_patches if s == "train" else 16
        tracks[s].append({"id": t["track_id"], "coll": f"{t['package']}/{t['collection']}",
                          "x": load_patches(npy, limit, rng if s == "train" else None)})
    rend_idx = load_feature_index(os.path.join(data, "features", "renders"))
    renders = {s: [] for s in ("train", "val", "test")}
    for r in read_csv(os.path.join(data, "renders.csv")):
        s = splits["renders"]["clip_split"].get(r["clip_id"])
        if s is None or r["audio_path"] not in rend_idx:
            continue
        npy, n = rend_idx[r["audio_path"]]
        if n < 1:
            continue
        renders[s].append({"id": r["clip_id"], "y": CLASSES.index(r["class"]),
                           "x": load_patches(npy, 16)})
    for s in ("train", "val", "test"):
        log(f"{s}: {len(tracks[s])} tracks ({sum(len(t['x']) for t in tracks[s])} patches, "
            f"{len(set(t['coll'] for t in tracks[s]))} collections), {len(renders[s])} render clips "
            f"({sum(len(r['x']) for r in renders[s])} patches)")
    return tracks, renders


def augment(x, gen):
    """x: [B,1,F,T] log-mel float32. Exact gain change, then SpecAugment-style masks."""
    b = x.shape[0]
    gain_db = (torch.rand(b, 1, 1, 1, generator=gen) * 12 - 6)
    g = 10 ** (gain_db / 10)
    power = (torch.pow(10.0, x) - 1).clamp_min(0) / LOG_GAIN
    x = torch.log10(1 + LOG_GAIN * g * power)
    f_len = (torch.rand(b, generator=gen) * 12).long()
    f_0 = (torch.rand(b, generator=gen) * (N_MELS - 12)).long()
    t_len = (torch.rand(b, generator=gen) * 30).long()
    t_0 = (torch.rand(b, generator=gen) * (FRAMES - 30)).long()
    fi = torch.arange(N_MELS).view(1, -1)
    ti = torch.arange(FRAMES).view(1, -1)
    fm = ((fi >= f_0[:, None]) & (fi < (f_0 + f_len)[:, None])).view(b, 1, N_MELS, 1)
    tm = ((ti >= t_0[:, None]) & (ti < (t_0 + t_len)[:, None])).view(b, 1, 1, FRAMES)
    return x.masked_fill(fm | tm, 0.0)


# ---------------------------------------------------------------------------------- losses
def contrastive(z, pos, neg_ok, temp):
    """Generic SupCon: z [N,D] normalised; pos/neg_ok [N,N] bool masks (diagonal excluded)."""
    sim = z @ z.t() / temp
    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    denom_mask = (pos | neg_ok) & ~eye
    sim = sim.masked_fill(~denom_mask, -1e9)
    logprob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = pos & ~eye
    npos = pos.sum(1)
    keep = npos > 0
    loss = -(logprob * pos).sum(1)[keep] / npos[keep]
    return loss.mean()


# ------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def embed_sets(model, items, batch=256):
    model.eval()
    xs = [it["x"] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    embs, logits = [], []
    for i in range(0, len(allx), batch):
        xb = torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1)
        e, l = model(xb)
        embs.append(F.normalize(e, dim=1))
        logits.append(l.softmax(1))
    embs, probs = torch.cat(embs).numpy(), torch.cat(logits).numpy()
    te = np.zeros((len(items), embs.shape[1]), np.float32)
    tp = np.zeros((len(items), probs.shape[1]), np.float32)
    np.add.at(te, owner, embs)
    np.add.at(tp, owner, probs)
    te /= np.linalg.norm(te, axis=1, keepdims=True) + 1e-12
    return te, tp


def precision_at(emb, labels, ks=(1, 5, 10)):
    labels = np.asarray(labels)
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    order = np.argsort(-sim, axis=1)
    out = {k: [] for k in ks}
    for i in range(len(labels)):
        if (labels == labels[i]).sum() < 2:
            continue
        rel = labels[order[i]] == labels[i]
        for k in ks:
            out[k].append(rel[:k].mean())
    return {k: float(np.mean(v)) for k, v in out.items()}


def evaluate(model, tracks, renders):
    te, _ = embed_sets(model, tracks)
    p = precision_at(te, [t["coll"] for t in tracks])
    _, rp = embed_sets(model, renders)
    acc = float(np.mean(rp.argmax(1) == np.array([r["y"] for r in renders])))
    return p, acc


# ------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default="models/simsong.onnx")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--minutes", type=float, default=45.0,
                    help="wall-clock training budget (the LR schedule follows elapsed time)")
    ap.add_argument("--steps", type=int, default=0,
                    help="train exactly this many steps instead (LR schedule by step; ignores "
                         "--minutes): replays a run step for step on any machine")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--collections", type=int, default=12, help="P: collections per batch")
    ap.add_argument("--tracks-per-coll", type=int, default=3, help="K: tracks per collection")
    ap.add_argument("--render-batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--temp", type=float, default=0.1)
    ap.add_argument("--coll-weight", type=float, default=1.0)
    ap.add_argument("--inst-weight", type=float, default=1.0)
    ap.add_argument("--max-train-patches", type=int, default=32, help="patches kept per train track")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--name", default="simsong-cnn-v1")
    ap.add_argument("--log-json", default=None, help="write the training summary here")
    ap.add_argument("--no-whiten", action="store_true", help="skip the embedding whitening (stage 2a)")
    ap.add_argument("--no-refit-head", action="store_true",
                    help="ship the linear head trained jointly with the trunk (skip stage 2)")
    ap.add_argument("--refit-from-onnx", default=None, metavar="ONNX",
                    help="skip stage 1: take trunk and embedding from this exported model, refit the "
                         "instrument head (stage 2) and export to --out")
    args = ap.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)

    t_start = time.time()
    tracks, renders = load_data(args.data, args.max_train_patches)
    log(f"data loaded in {time.time() - t_start:.0f}s")

    if args.refit_from_onnx:
        ex = export_from_onnx(args.refit_from_onnx)
        summary = {"stage1_from": args.refit_from_onnx}
        if os.path.exists(args.log_json or ""):
            summary = {**json.load(open(args.log_json)), **summary}
        finish(ex, tracks, renders, args, summary, t_start)
        return

    model = Net()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters (incl. BN), {count_macs() / 1e6:.1f} M MACs per patch")
    proj = nn.Sequential(nn.Linear(EMBED_DIM, EMBED_DIM), nn.ReLU(), nn.Linear(EMBED_DIM, EMBED_DIM))
    params = list(model.parameters()) + list(proj.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)

    train_t = tracks["train"]
    by_coll = defaultdict(list)
    for i, t in enumerate(train_t):
        by_coll[t["coll"]].append(i)
    colls = sorted(by_coll)
    coll_w = [math.sqrt(len(by_coll[c])) for c in colls]
    rend_t = renders["train"]
    rend_flat = [(i, j) for i, r in enumerate(rend_t) for j in range(len(r["x"]))]

    budget = args.minutes * 60
    best, best_state, history = -1.0, None, []
    step, t0 = 0, time.time()
    warmup = 50
    while True:
        elapsed = time.time() - t0
        if args.steps > 0:
            if step >= args.steps:
                break
            frac = step / args.steps
        else:
            if elapsed > budget:
                break
            frac = min(1.0, elapsed / budget)
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        proj.train()
        # --- real-music batch: P collections x K tracks x 2 patches
        chosen = []
        picked = set()
        while len(picked) < min(args.collections, len(colls)):
            picked.add(rng.choices(colls, weights=coll_w)[0])
        for c in sorted(picked):
            members = by_coll[c]
            ks = rng.sample(members, min(args.tracks_per_coll, len(members)))
            chosen += ks
        xs, tid, cid = [], [], []
        for ti in chosen:
            x = train_t[ti]["x"]
            a, b = rng.sample(range(len(x)), 2)
            xs += [x[a], x[b]]
            tid += [ti, ti]
            cid += [colls.index(train_t[ti]["coll"])] * 2
        # --- render batch
        rb = rng.sample(rend_flat, min(args.render_batch, len(rend_flat)))
        xs += [rend_t[i]["x"][j] for i, j in rb]
        ys = torch.tensor([rend_t[i]["y"] for i, _ in rb])
        x = torch.from_numpy(np.stack(xs).astype(np.float32)).unsqueeze(1)
        x = augment(x, gen)
        e, logits = model(x)
        n_real = len(tid)
        z = F.normalize(proj(e[:n_real]), dim=1)
        tid_t, cid_t = torch.tensor(tid), torch.tensor(cid)
        same_t = tid_t[:, None] == tid_t[None, :]
        same_c = cid_t[:, None] == cid_t[None, :]
        l_track = contrastive(z, same_t, ~same_c, args.temp)
        l_coll = contrastive(z, same_c, torch.ones_like(same_c), args.temp)
        l_inst = F.cross_entropy(logits[n_real:], ys)
        loss = l_track + args.coll_weight * l_coll + args.inst_weight * l_inst
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 10 == 0:
            acc = (logits[n_real:].argmax(1) == ys).float().mean().item()
            log(f"step {step} {time.time() - t0:.0f}s lr {lr:.2e} loss {loss.item():.3f} "
                f"(track {l_track.item():.3f} coll {l_coll.item():.3f} inst {l_inst.item():.3f}, "
                f"batch acc {acc:.2f})")
        if step % args.eval_every == 0:
            p, acc = evaluate(model, tracks["val"], renders["val"])
            score = p[10] + acc
            history.append({"step": step, "seconds": round(time.time() - t0), "val_p": p, "val_acc": acc})
            log(f"VAL step {step}: P@1 {p[1]:.3f} P@5 {p[5]:.3f} P@10 {p[10]:.3f} instrument acc {acc:.3f}"
                f"{'  (best)' if score > best else ''}")
            if score > best:
                best = score
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    train_s = time.time() - t0
    log(f"trained {step} steps in {train_s / 60:.1f} min")
    p, acc = evaluate(model, tracks["val"], renders["val"])
    history.append({"step": step, "seconds": round(train_s), "val_p": p, "val_acc": acc})
    log(f"VAL final: P@1 {p[1]:.3f} P@5 {p[5]:.3f} P@10 {p[10]:.3f} instrument acc {acc:.3f}")
    if best_state is not None and p[10] + acc < best:
        log("restoring the best validation checkpoint")
        model.load_state_dict(best_state)
    model.eval()
    p, acc = evaluate(model, tracks["val"], renders["val"])
    pt, acct = evaluate(model, tracks["test"], renders["test"])
    log(f"chosen model: VAL P@10 {p[10]:.3f} acc {acc:.3f} | TEST (python) P@10 {pt[10]:.3f} acc {acct:.3f}")

    ckpt = os.path.join(args.data, "checkpoints", f"{args.name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    torch.save({"model": model.state_dict(), "args": vars(args)}, ckpt)
    log(f"checkpoint (with BatchNorm, for fine-tuning or inspection): {ckpt}")
    ex = fold(model)
    summary = {"steps": step, "train_minutes": round(train_s / 60, 1), "params_trained": n_params,
               "macs_per_patch": count_macs(), "val_joint_head": {"p": p, "acc": acc},
               "test_python_joint_head": {"p": pt, "acc": acct}, "history": history}
    finish(ex, tracks, renders, args, summary, t_start)


def fold(model):
    """BN folded into the convolutions, checked against the training graph."""
    model.eval()
    ex = Export(model).eval()
    with torch.no_grad():
        x = torch.randn(3, 1, N_MELS, FRAMES).abs()
        e1, l1 = model(x)
        e2, l2 = ex(x)
    err = max((e1 - e2).abs().max().item(), (l1 - l2).abs().max().item())
    log(f"BatchNorm folded: max output difference {err:.2e}")
    assert err < 1e-3, err
    return ex


def finish(ex, tracks, renders, args, summary, t_start):
    """Stage 2 (head refit, unless --no-refit-head), final metrics, ONNX export, log."""
    if not args.no_whiten:
        ex, summary["whitening"] = whiten_embedding(ex, tracks)
    if not args.no_refit_head:
        t = time.time()
        ex = refit_head(ex, renders, args.seed)
        summary["head_refit_seconds"] = round(time.time() - t)
    p, acc = evaluate(ex, tracks["val"], renders["val"])
    pt, acct = evaluate(ex, tracks["test"], renders["test"])
    log(f"shipped model: VAL P@10 {p[10]:.3f} acc {acc:.3f} | TEST (python) P@10 {pt[10]:.3f} acc {acct:.3f}")
    summary.update({"val": {"p": p, "acc": acc}, "test_python": {"p": pt, "acc": acct},
                    "args": vars(args)})
    export(ex, args.out, args.name)
    summary["params_exported"] = sum(q.numel() for q in ex.parameters())
    if args.log_json:
        with open(args.log_json, "w") as f:
            json.dump(summary, f, indent=1)
    log(f"total {(time.time() - t_start) / 60:.1f} min")


def export(ex, out, name):
    import onnx
    ex = ex.eval()
    n_export = sum(p.numel() for p in ex.parameters())
    dummy = torch.zeros(1, 1, N_MELS, FRAMES)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    torch.onnx.export(ex, dummy, tmp, input_names=["mel"], output_names=["embedding", "instrument"],
                      dynamic_axes={"mel": {0: "N"}, "embedding": {0: "N"}, "instrument": {0: "N"}},
                      opset_version=17, do_constant_folding=True)
    m = onnx.load(tmp)
    meta = {"format": 1, "name": name, "trained": True, "frontend_version": 2, "analysis": ANALYSIS,
            "embedding_dim": EMBED_DIM, "heads": [{"output": "instrument", "classes": CLASSES}]}
    del m.metadata_props[:]
    onnx.helper.set_model_props(m, {"simsong": json.dumps(meta, separators=(",", ":"))})
    m.producer_name = "simsong-training"
    m.doc_string = f"{name}: trained by training/train.py; see models/MODEL.md"
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    assert "BatchNormalization" not in ops, ops
    onnx.save(m, out)
    os.remove(tmp)
    # the weights read back from the file give the same outputs
    back = export_from_onnx(out)
    with torch.no_grad():
        x = torch.randn(3, 1, N_MELS, FRAMES).abs()
        e1, l1 = ex(x)
        e2, l2 = back(x)
    err = max((e1 - e2).abs().max().item(), (l1 - l2).abs().max().item())
    assert err < 1e-5, err
    log(f"exported {out}: {os.path.getsize(out) / 1e6:.2f} MB, {n_export} parameters, ops {ops}")

if __name__ == "__main__":
    main()
