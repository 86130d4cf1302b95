#!/usr/bin/env python3
"""The teacher as the product would run it, scored on the cross-validation folds (issue #32).

    PY=$(training/torchenv.sh | tail -n 1)
    "$PY" training/export_teacher.py --out $D/teacher-product/aisfx-512.onnx
    nice -n 10 "$PY" training/cv_teacher_product.py --model $D/teacher-product/aisfx-512.onnx \
        [--max-patches 16] [--bin simsong] [--json models/eval-cv-teacher-product.json]

`cv.py`'s `teacher-128` comes from `teacher_embed.py`: ffmpeg at 44.1 kHz, reflect padding, each
2.992 s window analysed on its own, float32 weights, 8 patches per track. This scores what ships
instead: every real track through `simsong embed` with the exported model (the Rust aiSFX front
end, constant padding, 129-frame patches cut end to end from one stream, tract), at most
`--max-patches` patches per track, spread evenly. Then exactly `teacher-128`'s recipe on the same
folds (`cv_folds.make_folds(tracks.csv, k=4, seed=1234)`, whose package folds depend on the
tracks alone): per fold, standardisation + PCA to 128-d fitted on the fold's training-package
patches, plain or whitened as the fold's inner val picks; track vector = the normalised mean of
its unit patch vectors; same-collection P@1/5/10 over the held-out tracks, pooled, with a 95%
bootstrap interval resampled by package (cv_score.summarise).

One difference from `teacher-128`, stated: the model returns unit-length patch vectors, so the
projection is fitted on those (cv.py fits it on the raw 512-d outputs). The product then needs
the same normalisation before its 512 -> 128 map.

Cached: the embeddings per (model SHA-256, max patches) in $D/cv/teacher-product-HASH/.
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cv_score as cs  # noqa: E402
from cv_folds import fold_splits, make_folds  # noqa: E402

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DIM = 128


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def embed_all(binary, model, tracks, max_patches, out_dir):
    """{'emb': [N, 512] unit patch vectors, 'file_row': [N], 'paths': [files]} for every track
    `simsong embed` can read, cached in out_dir."""
    npz = os.path.join(out_dir, "segments.npz")
    if os.path.exists(npz):
        z = np.load(npz)
        if "start" in z.files:
            return {k: z[k] for k in z.files}
    os.makedirs(out_dir, exist_ok=True)
    paths = sorted({t["audio_path"] for t in tracks})
    # In chunks, so a stopped run keeps what it finished.
    rows, segs, seg_rows, starts = [], [], [], []
    for c in range(0, len(paths), 50):
        part = os.path.join(out_dir, f"chunk{c // 50:03d}")
        if not os.path.exists(part + ".segments.npy"):
            t0 = time.time()
            # Exit status 2: some files could not be embedded (e.g. a silent track); the others are
            # written and the failures named on stderr.
            r = subprocess.run([binary, "embed", "--model", model, "--max-patches", str(max_patches),
                                "--out", part + ".tracks.npy", "--segments", part + ".segments.npy",
                                *paths[c:c + 50]])
            if r.returncode not in (0, 2) or not os.path.exists(part + ".segments.npy"):
                sys.exit(f"cv_teacher_product.py: simsong embed failed ({r.returncode})")
            log(f"  embedded files {c}..{c + len(paths[c:c + 50])} of {len(paths)} in {time.time() - t0:.0f} s")
        done = open(part + ".tracks.npy.paths.txt").read().splitlines()
        seg = np.load(part + ".segments.npy")
        with open(part + ".segments.csv", newline="") as f:
            csv_rows = list(csv.DictReader(f))
        which = [int(r["row"]) for r in csv_rows]
        starts.extend(float(r["start_seconds"]) for r in csv_rows)
        base = len(rows)
        rows.extend(done)
        segs.append(seg)
        seg_rows.extend(base + w for w in which)
    out = {"emb": np.concatenate(segs).astype(np.float32), "file_row": np.asarray(seg_rows, np.int32),
           "paths": np.asarray(rows), "start": np.asarray(starts, np.float32)}
    np.savez(npz, **out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "target")),
                                                  "release", "simsong"))
    ap.add_argument("--max-patches", type=int, default=16)
    ap.add_argument("--whiten", choices=("inner-val", "yes", "no"), default="inner-val",
                    help="whiten the projection: as each fold's inner val picks (teacher-128's rule), always, never")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--copies", action="store_true",
                    help="also score copies (teacher_copies.py): each held-out track's lossy, shifted copy "
                         "searched among all originals with the fold's projection")
    ap.add_argument("--nuisance", type=float, default=None, metavar="LAMBDA",
                    help="fit the projection against the patch differences between the fold's training "
                         "tracks and their copies (cv_score.fit_nuisance_projection), regularised by LAMBDA")
    ap.add_argument("--json", default=None, help="write the result here (models/eval-cv-teacher-product.json)")
    ap.add_argument("--save-projection", default=None, metavar="NPZ",
                    help="also fit the projection on every track's patches (whitened or not as most folds "
                         "chose) and save it for export_teacher.py --projection")
    args = ap.parse_args()

    tracks = read_csv(os.path.join(args.data, "tracks.csv"))
    plan = make_folds(tracks, [], args.k, args.seed)
    committed = os.path.join(os.path.dirname(HERE), "models", "eval-cv.json")
    if os.path.exists(committed):  # the same held-out packages as every system in eval-cv.json
        theirs = [fd["heldout_packages"] for fd in json.load(open(committed))["plan"]["folds"]]
        ours = [fd["heldout_packages"] for fd in plan["folds"]]
        if theirs != ours:
            sys.exit(f"cv_teacher_product.py: folds differ from models/eval-cv.json: {ours} vs {theirs}")
    key = hashlib.sha256(f"{sha256(args.model)}:{args.max_patches}".encode()).hexdigest()[:12]
    out_dir = os.path.join(args.data, "cv", f"teacher-product-{key}")
    real = embed_all(args.bin, args.model, tracks, args.max_patches, out_dir)
    have = set(real["paths"].tolist())
    log(f"{len(have)} of {len({t['audio_path'] for t in tracks})} tracks embedded, {len(real['emb'])} patches")

    copies, pairs, copy_of = None, [], {}
    if args.copies or args.nuisance is not None:
        cdir = os.path.join(args.data, "teacher-copies")
        crow = read_csv(os.path.join(cdir, "copies.csv"))
        copy_of = {r["track_path"]: r["copy_path"] for r in crow}
        copies = embed_all(args.bin, args.model, [{"audio_path": r["copy_path"]} for r in crow], args.max_patches,
                           os.path.join(cdir, f"emb-{key}"))
        # (original patch, copy patch) at the same nominal start: what a codec and a shift change
        track_of = {v: k for k, v in copy_of.items()}
        where = {}
        for i, (fr, st) in enumerate(zip(real["file_row"], real["start"])):
            where[(str(real["paths"][fr]), round(float(st), 1))] = i
        for j, (fr, st) in enumerate(zip(copies["file_row"], copies["start"])):
            i = where.get((track_of[str(copies["paths"][fr])], round(float(st), 1)))
            if i is not None:
                pairs.append((i, j))
        log(f"copies: {len(crow)} tracks, {len(pairs)} paired patches")
    copy_hits = []

    per_fold = []
    for f in range(args.k):
        split = fold_splits(plan, f, tracks, [])["real"]["track_split"]
        part = {p: [t for t in tracks if split.get(t["track_id"]) == p and t["audio_path"] in have]
                for p in ("train", "val", "test")}
        train_paths = {t["audio_path"] for t in part["train"]}
        rows = [i for i, fr in enumerate(real["file_row"]) if str(real["paths"][fr]) in train_paths]
        best = None
        whitening = {"inner-val": (False, True), "yes": (True,), "no": (False,)}[args.whiten]
        if args.nuisance is not None:
            whitening = ("nuisance",)
            diffs = [real["emb"][i] - copies["emb"][j] for i, j in pairs
                     if str(real["paths"][real["file_row"][i]]) in train_paths]
        for white in whitening:
            proj = (cs.fit_nuisance_projection(real["emb"][rows], diffs, DIM, args.nuisance) if white == "nuisance"
                    else cs.fit_teacher_projection(real["emb"][rows], DIM, white))
            vecs = cs.teacher_track_vectors({"emb": proj(real["emb"]), "file_row": real["file_row"],
                                             "paths": real["paths"]})

            def score(ts):
                labels = [f"{t['package']}/{t['collection']}" for t in ts]
                p, qrows = cs.query_precision(np.stack([vecs[t["audio_path"]] for t in ts]), labels)
                return p, qrows

            val_p10 = float(score(part["val"])[0][:, 2].mean())
            if best is None or val_p10 > best[0]:
                p, qrows = score(part["test"])
                best = (val_p10, white, p, qrows, proj, vecs)
        val_p10, white, p, qrows, proj, vecs = best
        if copies is not None:  # the fold's held-out tracks' copies, each among all originals
            cvecs = cs.teacher_track_vectors({"emb": proj(copies["emb"]), "file_row": copies["file_row"],
                                              "paths": copies["paths"]})
            names = sorted(vecs)
            table = np.stack([vecs[n] for n in names])
            for t in part["test"]:
                c = cvecs.get(copy_of.get(t["audio_path"], ""))
                if c is not None:
                    sims = table @ c
                    copy_hits.append((names[int(np.argmax(sims))] == t["audio_path"],
                                      float(sims[names.index(t["audio_path"])])))
        ts = part["test"]
        per_fold.append({"fold": f, "p": p, "query_ids": [ts[i]["track_id"] for i in qrows],
                         "packages": np.array([ts[i]["package"] for i in qrows]),
                         "extra": {"whitened": white, "inner_val_p_at_10": val_p10}})
        log(f"fold {f}: {len(p)} queries, P@10 {p[:, 2].mean():.3f} (whitened {white})")
    summary = cs.summarise(per_fold, args.k, args.boot)
    if copy_hits:
        found = [h for h, _ in copy_hits]
        cos = [c for _, c in copy_hits]
        summary["copies"] = {"found": int(sum(found)), "of": len(found), "cosine_mean": float(np.mean(cos)),
                             "cosine_min": float(np.min(cos))}
        log(f"copies find their original: {sum(found)}/{len(found)}, cosine mean {np.mean(cos):.3f} "
            f"(min {np.min(cos):.3f})")
    summary["nuisance_lambda"] = args.nuisance
    summary["max_patches"] = args.max_patches
    summary["whiten"] = args.whiten
    summary["model_sha256"] = sha256(args.model)
    summary["folds"] = [{"fold": fd["fold"], "heldout_packages": fd["heldout_packages"]} for fd in plan["folds"]]
    # Every query's P@1/5/10, so that a later system on the same folds can be paired with this one.
    summary["per_query"] = [{"fold": r["fold"], "track_id": q, "package": str(pk), "p": [round(float(v), 4) for v in p]}
                            for r in per_fold for q, pk, p in zip(r["query_ids"], r["packages"], r["p"])]
    log(f"teacher (product path): P@1 {summary['p_at_1']:.3f} P@10 {summary['p_at_10']:.3f} "
        f"{summary['p_at_10_ci']}")
    if args.save_projection:
        white = sum(r["extra"]["whitened"] for r in per_fold) * 2 > args.k
        np.savez(args.save_projection, **cs.teacher_projection_arrays(real["emb"], DIM, white))
        log(f"projection ({'whitened' if white else 'plain'}) fitted on all {len(real['emb'])} patches: "
            f"{args.save_projection}")
    if args.json:  # one line per query, so the file stays readable
        rows = summary.pop("per_query")
        text = json.dumps(summary, indent=1)[:-2]
        text += ',\n "per_query": [\n' + ",\n".join("  " + json.dumps(r) for r in rows) + "\n ]\n}\n"
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
