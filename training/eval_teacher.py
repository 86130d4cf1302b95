#!/usr/bin/env python3
"""The teacher measured on our own splits, with the definitions `simsong eval` uses for the
shipped model and the MFCC baseline (models/MODEL.md puts the three side by side).

    PY=$(training/torchenv.sh | tail -n 1)
    "$PY" training/eval_teacher.py --json models/eval-teacher.json

* Retrieval: a track's vector is the normalised mean of its L2-normalised patch embeddings (the
  teacher saw up to 32 patches per track, teacher_embed.py); same-collection P@1/5/10 over the
  split's tracks whose collection has another track. Two variants: the teacher's raw 512-d
  output (non-negative ReLU maxima), and the same standardised with TRAIN-track statistics
  (mean removed, unit variance per dimension), the fairer one for cosine ranking. The variant
  is chosen on val; both are reported.
* Instrument: multinomial logistic regression on the standardised clip vectors of the train
  renders (the MFCC baseline's protocol), accuracy on the split's renders.
"""
import argparse
import csv
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from posthoc import precision_at

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
CLASSES = ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]


def per_file_means(z, standardise=None):
    emb = z["emb"].astype(np.float64)
    if standardise is not None:
        emb = (emb - standardise[0]) / standardise[1]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    out = {}
    for e, f in zip(emb, z["file_row"]):
        out.setdefault(str(z["paths"][f]), []).append(e)
    return {p: (lambda m: m / (np.linalg.norm(m) + 1e-12))(np.mean(v, axis=0)) for p, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    splits = json.load(open(os.path.join(args.data, "splits.json")))
    tracks = list(csv.DictReader(open(os.path.join(args.data, "tracks.csv"), newline="")))
    renders = list(csv.DictReader(open(os.path.join(args.data, "renders.csv"), newline="")))
    real = np.load(os.path.join(args.data, "teacher", "real.npz"))
    rend = np.load(os.path.join(args.data, "teacher", "renders.npz"))

    split_of = splits["real"]["track_split"]
    train_paths = {t["audio_path"] for t in tracks if split_of.get(t["track_id"]) == "train"}
    rows = [i for i, f in enumerate(real["file_row"]) if str(real["paths"][f]) in train_paths]
    tr = real["emb"][rows].astype(np.float64)
    stats = (tr.mean(0), tr.std(0) + 1e-6)
    variants = {"raw": per_file_means(real), "standardised": per_file_means(real, stats)}
    result = {"teacher": "aisfx 0.1.2 (X-Sequential-CE, 512-d)", "retrieval": {}}
    for split in ("val", "test"):
        items = [t for t in tracks if split_of.get(t["track_id"]) == split]
        for name, vecs in variants.items():
            have = [t for t in items if t["audio_path"] in vecs]
            emb = np.stack([vecs[t["audio_path"]] for t in have]).astype(np.float32)
            p = precision_at(emb, [f"{t['package']}/{t['collection']}" for t in have])
            result["retrieval"].setdefault(split, {})[name] = {"tracks": len(have), **{f"p@{k}": v for k, v in p.items()}}
    best = max(variants, key=lambda v: result["retrieval"]["val"][v]["p@10"])
    result["retrieval_variant_chosen_on_val"] = best

    clip_split = splits["renders"]["clip_split"]
    vecs = per_file_means(rend)
    by = {s: [(vecs[r["audio_path"]], CLASSES.index(r["class"])) for r in renders
              if clip_split.get(r["clip_id"]) == s and r["audio_path"] in vecs] for s in ("train", "val", "test")}
    x_tr = torch.tensor(np.stack([v for v, _ in by["train"]]), dtype=torch.float32)
    y_tr = torch.tensor([y for _, y in by["train"]])
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    lin = torch.nn.Linear(x_tr.shape[1], len(CLASSES))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=500, line_search_fn="strong_wolfe")
    torch.manual_seed(0)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin((x_tr - mu) / sd), y_tr) + 1e-3 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    result["instrument"] = {}
    for s in ("val", "test"):
        x = torch.tensor(np.stack([v for v, _ in by[s]]), dtype=torch.float32)
        y = torch.tensor([y for _, y in by[s]])
        with torch.no_grad():
            acc = float((lin((x - mu) / sd).argmax(1) == y).float().mean())
        result["instrument"][s] = {"clips": len(y), "accuracy": acc}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
