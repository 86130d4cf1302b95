#!/usr/bin/env python3
"""Grouped k-fold cross-validation by Debian package over all real packages (issue #32): every
package held out exactly once, from training and from checkpoint choice; renders held out by
MIDI piece alongside. Run it with training/cv.sh (resumable; see training/README.md).

    PY=$(training/torchenv.sh | tail -n 1)
    nice -n 19 "$PY" training/cv.py [--k 4] [--steps 1500] [--recipes v3,v1-recipe]

Systems: `mfcc` (`simsong eval`'s 20-MFCC mean/std baseline, z-scored over the fold's held-out
tracks; instrument: its logistic regression fit on the fold's training renders), `teacher`
(eval_teacher.py's vectors: raw or standardised with the fold's train-package statistics, the
variant chosen on the fold's inner val; `teacher-raw` and `teacher-std` are both also listed;
instrument: its logistic regression on the fold's training renders), `teacher-128` (the
teacher as an index would store it: standardised and projected to the index's 128 dimensions
by a PCA of the fold's training-package patches, plain or whitened as the fold's inner val
picks), trained recipes (train.py with the recipe's options on the fold's split: train = the
training packages, val = the inner split that picks the checkpoint, the whitening and the head
refit, test = held out), and `RECIPE+teacher` (the recipe's held-out track embedding and
teacher-128's, each of unit length, concatenated: the fused vector of issue #32).

`--report-only` trains nothing: it scores what is cached and cheap (mfcc, the teachers,
fusions of finished recipe folds) and rewrites eval-cv.json; it takes no lock, so it may run
beside a training run (which rewrites the file after its next unit, with its own code).

Folds: training/cv_folds.py. Scoring and bootstrap: training/cv_score.py. Everything is cached
under DATA/cv/ (plan-HASH/: the plan, per-fold split files, scores of mfcc and teacher;
runs/RECIPE-fFOLD-HASH/: train.py's resume state, final model, log and held-out scores, HASH
covering the recipe's options, steps, seed and plan), so a stopped run carries on where it left
off: finished units are read back, a killed training resumes from its last saved step.
After every unit models/eval-cv.json is rewritten (systems with fewer than k folds are marked
"complete": false).
"""
import argparse
import csv
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter

import numpy as np

import cv_score as cs
from cv_folds import fold_splits, make_folds

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
CLASSES = ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]
RECIPES = {
    # the shipped recipe: train.py's defaults
    "v3": "",
    # simsong-cnn-v1 (commit 7073101) on today's data and front end 3: max-pool blocks, a linear
    # instrument head on the embedding, no teacher, no codec copies, masks only (its +-6 dB gain
    # augmentation is left out: front end 3 normalises every patch's loudness)
    "v1-recipe": "--arch v1 --inst-head embedding --distill-weight 0 --codec-view 0 "
                 "--aug-bandlimit 0 --aug-codec 0",
    # v3 distilled towards the teacher as teacher-128 sees it (PCA to 128-d, whitened, fitted on
    # the fold's training tracks), the student that could replace the teacher in the product
    # (not in the default --recipes: `--recipes v3,v1-recipe,v3-t128`)
    "v3-t128": "--teacher-space pca128w",
    # item 2's ablations: v3 with one of its changes from v1's recipe undone (run after the
    # three above: `--recipes v3,v1-recipe,v3-t128,v3-nodistill,...`)
    "v3-nodistill": "--distill-weight 0",  # no teacher at all
    "v3-maxpool": "--arch v1 --inst-head embedding",  # v1's max-pool blocks and head
    "v3-nocodec": "--codec-view 0 --aug-bandlimit 0 --aug-codec 0",  # no codec views or augmentations
    "v3-fewrenders": "--render-batch 24",  # half the renders in each batch
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] cv: {msg}", file=sys.stderr, flush=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def short_hash(obj):
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def feature_index(folder):
    return {r["path"]: {"npy": os.path.join(folder, r["npy"]), "n": int(r["patches"]),
                        "dur": float(r["duration_s"] or 0),
                        "starts": [float(s) for s in r["patch_starts_s"].split(";") if s]}
            for r in read_csv(os.path.join(folder, "index.csv"))}


def held_tracks(ctx, f, part=("test",)):
    sp = ctx["splits"][f]["real"]["track_split"]
    return [t for t in ctx["tracks"] if sp.get(t["track_id"]) in part and t["audio_path"] in ctx["real_idx"]
            and ctx["real_idx"][t["audio_path"]]["n"] > 0]


def held_renders(ctx, f, part=("test",)):
    sp = ctx["splits"][f]["renders"]["clip_split"]
    return [r for r in ctx["renders"] if sp.get(r["clip_id"]) in part and r["audio_path"] in ctx["rend_idx"]
            and ctx["rend_idx"][r["audio_path"]]["n"] > 0]


def retrieval_result(f, tracks, emb):
    labels = [f"{t['package']}/{t['collection']}" for t in tracks]
    p, rows = cs.query_precision(emb, labels)
    return {"fold": f, "p": p, "query_ids": [tracks[i]["track_id"] for i in rows],
            "packages": np.array([tracks[i]["package"] for i in rows])}


def to_json(r):
    out = {k: v for k, v in r.items() if k not in ("p", "packages", "acc_hits", "pieces")}
    out["p"] = r["p"].tolist()
    out["packages"] = r["packages"].tolist()
    if r.get("acc_hits") is not None:
        out["acc_hits"] = np.asarray(r["acc_hits"]).astype(int).tolist()
        out["pieces"] = list(r["pieces"])
        out["clip_ids"] = list(r["clip_ids"])
    return out


def from_json(d):
    r = dict(d)
    r["p"] = np.asarray(d["p"], np.float64).reshape(-1, len(cs.KS))
    r["packages"] = np.asarray(d["packages"])
    if "acc_hits" in d:
        r["acc_hits"] = np.asarray(d["acc_hits"], np.float64)
        r["pieces"] = np.asarray(d["pieces"])
    return r


def cached(path, compute):
    if os.path.exists(path):
        return from_json(json.load(open(path)))
    r = compute()
    write_json(path, to_json(r))
    return r


def add_accuracy(r, clips, pred):
    y = np.array([CLASSES.index(c["class"]) for c in clips])
    r["acc_hits"] = (np.asarray(pred) == y).astype(np.float64)
    r["pieces"] = np.array([c["piece_id"] for c in clips])
    r["clip_ids"] = [c["clip_id"] for c in clips]
    return r


# -------------------------------------------------------------------------------- MFCC
def mfcc_vectors(ctx):
    """track_id / clip_id -> 40-d MFCC mean/std (fold independent), cached in DATA/cv/mfcc.npz."""
    path = os.path.join(ctx["cv"], "mfcc.npz")
    if os.path.exists(path):
        z = np.load(path)
        return dict(zip(z["ids"].tolist(), z["vecs"]))
    basis = cs.mfcc_basis()
    ids, vecs, t0 = [], [], time.time()
    items = [(t["track_id"], ctx["real_idx"].get(t["audio_path"])) for t in ctx["tracks"]] + \
            [(r["clip_id"], ctx["rend_idx"].get(r["audio_path"])) for r in ctx["renders"]]
    for i, (iid, ix) in enumerate(items):
        if ix and ix["n"] > 0:
            v = cs.mfcc_vector(np.load(ix["npy"]), ix["starts"], ix["dur"], basis)
            if v is not None:
                ids.append(iid)
                vecs.append(v)
        if (i + 1) % 500 == 0:
            log(f"mfcc: {i + 1}/{len(items)} files, {time.time() - t0:.0f} s")
    np.savez(path + ".tmp.npz", ids=np.array(ids), vecs=np.stack(vecs))
    os.replace(path + ".tmp.npz", path)
    return dict(zip(ids, vecs))


def score_mfcc(ctx, f, vec):
    tracks = [t for t in held_tracks(ctx, f) if t["track_id"] in vec]
    x = np.stack([vec[t["track_id"]] for t in tracks]).astype(np.float64)
    r = retrieval_result(f, tracks, cs.zscore(x, x))
    fit = [c for c in held_renders(ctx, f, ("train", "val")) if c["clip_id"] in vec]
    ev = [c for c in held_renders(ctx, f) if c["clip_id"] in vec]
    xf = np.stack([vec[c["clip_id"]] for c in fit]).astype(np.float64)
    w, b = cs.logistic_fit(cs.zscore(xf, xf), np.array([CLASSES.index(c["class"]) for c in fit]), len(CLASSES))
    xe = cs.zscore(np.stack([vec[c["clip_id"]] for c in ev]).astype(np.float64), xf)
    return add_accuracy(r, ev, (xe @ w.T + b).argmax(1))


# ------------------------------------------------------------------------------ teacher
def teacher_logreg(x_tr, y_tr, x_ev):
    """eval_teacher.py's classifier: LBFGS logistic regression on standardised clip vectors."""
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    x_tr = torch.tensor(x_tr, dtype=torch.float32)
    y_tr = torch.tensor(y_tr)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    lin = torch.nn.Linear(x_tr.shape[1], len(CLASSES))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin((x_tr - mu) / sd), y_tr) + 1e-3 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return lin((torch.tensor(x_ev, dtype=torch.float32) - mu) / sd).argmax(1).numpy()


def score_teacher(ctx, f, real, rend_vecs):
    """{'teacher': ..., 'teacher-raw': ..., 'teacher-std': ...} for fold f."""
    train_paths = {t["audio_path"] for t in held_tracks(ctx, f, ("train",))}
    rows = [i for i, fr in enumerate(real["file_row"]) if str(real["paths"][fr]) in train_paths]
    tr = real["emb"][rows].astype(np.float64)
    variants = {"teacher-raw": cs.teacher_track_vectors(real),
                "teacher-std": cs.teacher_track_vectors(real, (tr.mean(0), tr.std(0) + 1e-6))}
    out, val_p10 = {}, {}
    for name, vecs in variants.items():
        val = [t for t in held_tracks(ctx, f, ("val",)) if t["audio_path"] in vecs]
        vr = retrieval_result(f, val, np.stack([vecs[t["audio_path"]] for t in val]))
        val_p10[name] = float(vr["p"][:, 2].mean())
        tracks = [t for t in held_tracks(ctx, f) if t["audio_path"] in vecs]
        out[name] = retrieval_result(f, tracks, np.stack([vecs[t["audio_path"]] for t in tracks]))
    fit = [c for c in held_renders(ctx, f, ("train", "val")) if c["audio_path"] in rend_vecs]
    ev = [c for c in held_renders(ctx, f) if c["audio_path"] in rend_vecs]
    pred = teacher_logreg(np.stack([rend_vecs[c["audio_path"]] for c in fit]),
                          [CLASSES.index(c["class"]) for c in fit],
                          np.stack([rend_vecs[c["audio_path"]] for c in ev]))
    for name in variants:
        add_accuracy(out[name], ev, pred)
        out[name]["extra"] = {"inner_val_p_at_10": val_p10[name]}
    chosen = max(variants, key=lambda v: val_p10[v])
    out["teacher"] = dict(out[chosen], extra={"variant": chosen, "inner_val_p_at_10": val_p10})
    return out


INDEX_DIM = 128  # what the catalog index stores per track (the student's embedding size)


def score_teacher_projected(ctx, f, real, renders, dim=INDEX_DIM):
    """{'teacher-128': ..., 'teacher-pca': ..., 'teacher-pca-white': ...} for fold f, and the
    chosen variant's track vectors (path -> vector) for fusion. The projection is fitted on the
    fold's training-package patches only (standardise, PCA to `dim`, optionally whiten)."""
    train_paths = {t["audio_path"] for t in held_tracks(ctx, f, ("train",))}
    rows = [i for i, fr in enumerate(real["file_row"]) if str(real["paths"][fr]) in train_paths]

    fits = {w: cs.fit_teacher_projection(real["emb"][rows], dim, w) for w in (False, True)}

    def project(npz, white):
        return {"emb": fits[white](npz["emb"]), "file_row": npz["file_row"], "paths": npz["paths"]}
    out, val_p10, vec_of = {}, {}, {}
    for name, white in (("teacher-pca", False), ("teacher-pca-white", True)):
        vecs = cs.teacher_track_vectors(project(real, white))
        vec_of[name] = vecs
        val = [t for t in held_tracks(ctx, f, ("val",)) if t["audio_path"] in vecs]
        val_p10[name] = float(retrieval_result(f, val, np.stack([vecs[t["audio_path"]] for t in val]))["p"][:, 2].mean())
        tracks = [t for t in held_tracks(ctx, f) if t["audio_path"] in vecs]
        out[name] = retrieval_result(f, tracks, np.stack([vecs[t["audio_path"]] for t in tracks]))
        rend = cs.teacher_track_vectors(project(renders, white))
        fit = [c for c in held_renders(ctx, f, ("train", "val")) if c["audio_path"] in rend]
        ev = [c for c in held_renders(ctx, f) if c["audio_path"] in rend]
        pred = teacher_logreg(np.stack([rend[c["audio_path"]] for c in fit]),
                              [CLASSES.index(c["class"]) for c in fit],
                              np.stack([rend[c["audio_path"]] for c in ev]))
        add_accuracy(out[name], ev, pred)
        out[name]["extra"] = {"inner_val_p_at_10": val_p10[name], "dim": dim}
    chosen = max(val_p10, key=val_p10.get)
    out["teacher-128"] = dict(out[chosen], extra={"variant": chosen, "inner_val_p_at_10": val_p10, "dim": dim})
    return out, vec_of[chosen]


def fused_result(ctx, f, run_dir, teacher_vecs):
    """RECIPE+teacher for fold f: the recipe's cached held-out embeddings and teacher-128's track
    vectors, each of unit length, concatenated; None when the fold has not finished."""
    path = os.path.join(run_dir, "heldout-embeddings.npz")
    if not os.path.exists(path):
        return None
    d = np.load(path)
    student = {str(i): e for i, e in zip(d["track_ids"], d["emb"].astype(np.float64))}
    tracks = [t for t in held_tracks(ctx, f) if t["track_id"] in student and t["audio_path"] in teacher_vecs]
    unit = lambda v: v / (np.linalg.norm(v) + 1e-12)
    emb = np.stack([np.concatenate([unit(student[t["track_id"]]), unit(teacher_vecs[t["audio_path"]])])
                    for t in tracks])
    return retrieval_result(f, tracks, emb)


def ensure_teacher(ctx, py):
    t = os.path.join(ctx["data"], "teacher")
    if all(os.path.exists(os.path.join(t, s + ".npz")) for s in ("real", "renders")):
        return
    log("teacher embeddings missing: running training/teacher_embed.py (~25 min)")
    subprocess.run([py, os.path.join(HERE, "teacher_embed.py"), "--data", ctx["data"]], check=True)


# -------------------------------------------------------------------------- trained runs
def recipe_run_dir(ctx, args, name, extra, f):
    key = {"recipe": shlex.split(extra), "steps": args.steps, "eval_every": args.eval_every, "seed": args.seed,
           "plan": ctx["plan"]["hash"]}
    return os.path.join(ctx["cv"], "runs", f"{name}-f{f}-{short_hash(key)}"), key


def run_recipe(ctx, args, name, extra, f):
    """Fold f of a recipe: its cached scores, or train and score it (None with --report-only
    when it has not finished)."""
    rargs = shlex.split(extra)
    run, key = recipe_run_dir(ctx, args, name, extra, f)
    scores = os.path.join(run, "scores.json")
    if os.path.exists(scores):
        return from_json(json.load(open(scores)))
    if args.report_only:
        return None
    os.makedirs(run, exist_ok=True)
    write_json(os.path.join(run, "key.json"), key)
    final = os.path.join(run, "final.pt")
    if not os.path.exists(final):
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--data", ctx["data"],
               "--splits", ctx["split_files"][f], "--seed", str(args.seed), "--steps", str(args.steps),
               "--eval-every", str(args.eval_every), "--threads", str(args.threads),
               "--name", f"cv-{name}-f{f}", "--no-onnx", "--no-test-eval", "--checkpoint", os.path.join(run, "stage1.pt"),
               "--resume-state", os.path.join(run, "state.pt"), "--final-model", final,
               "--log-json", os.path.join(run, "train-log.json")] + rargs
        log(f"{name} fold {f}: training ({' '.join(shlex.quote(c) for c in cmd[2:])})")
        t0 = time.time()
        subprocess.run(cmd, check=True)
        log(f"{name} fold {f}: trained in {(time.time() - t0) / 60:.1f} min")
    ex = cs.load_final_model(final)
    tracks = held_tracks(ctx, f)
    t_items = [{"npy": ctx["real_idx"][t["audio_path"]]["npy"],
                "idx": list(range(ctx["real_idx"][t["audio_path"]]["n"]))} for t in tracks]
    emb, _ = cs.embed_items(ex, t_items, args.threads)
    r = retrieval_result(f, tracks, emb)
    clips = held_renders(ctx, f)
    c_items = [{"npy": ctx["rend_idx"][c["audio_path"]]["npy"],
                "idx": list(range(ctx["rend_idx"][c["audio_path"]]["n"]))} for c in clips]
    _, probs = cs.embed_items(ex, c_items, args.threads)
    add_accuracy(r, clips, probs.argmax(1))
    tl = json.load(open(os.path.join(run, "train-log.json")))
    r["extra"] = {"inner_val": tl.get("val"), "whitening": (tl.get("whitening") or {}).get("shrinkage"),
                  "head_refit": (tl.get("head_refit") or {}).get("refit"),
                  "train_minutes": tl.get("train_minutes")}
    np.savez(os.path.join(run, "heldout-embeddings.npz"), track_ids=np.array([t["track_id"] for t in tracks]),
             emb=emb.astype(np.float32))
    write_json(scores, to_json(r))
    log(f"{name} fold {f}: held-out P@10 {r['p'][:, 2].mean():.3f} over {len(r['p'])} queries, "
        f"instrument {r['acc_hits'].mean():.3f}")
    return r


# ------------------------------------------------------------------------------ report
def report(ctx, args, results, recipes):
    systems = {n: cs.summarise(r, args.k, args.boot, args.seed) for n, r in results.items() if r}
    trained = [n for n in recipes if results.get(n)]
    pairs = [(a, b) for i, a in enumerate(trained) for b in trained[i + 1:]]
    pairs += [(a, b) for a in trained for b in ("mfcc", "teacher", "teacher-128") if results.get(b)]
    for a in trained:
        if results.get(f"{a}+teacher"):
            pairs += [(f"{a}+teacher", b) for b in (a, "teacher", "teacher-128") if results.get(b)]
    for a, b in (("teacher", "mfcc"), ("teacher-128", "teacher")):
        if results.get(a) and results.get(b):
            pairs.append((a, b))
    paired = {}
    for a, b in pairs:
        e = cs.paired_entry(results[a], results[b], args.boot, args.seed)
        if e:
            e["complete"] = len(e["folds"]) == args.k
            paired[f"{a} vs {b}"] = e
    n_q = 0  # held-out tracks with features whose collection has another such track in the fold
    for f in range(args.k):
        labels = Counter(f"{t['package']}/{t['collection']}" for t in held_tracks(ctx, f))
        n_q += sum(n for n in labels.values() if n >= 2)
    out = {"folds": args.k, "packages": len(ctx["plan"]["package_fold"]), "queries": n_q,
           "systems": systems, "paired": paired,
           "protocol": {
               "unit": "Debian package (real music), MIDI piece (renders); each held out once",
               "retrieval": "simsong eval's same-collection P@k: queries are held-out tracks whose "
                            "collection has another held-out track in the fold; candidates are the "
                            "fold's other held-out tracks, by cosine of track embeddings; pooled over "
                            "all folds' queries",
               "intervals": f"95% percentile bootstrap, {args.boot} resamples of packages (queries) / "
                            f"pieces (render clips), seed {args.seed}; paired: the same resamples for "
                            "both systems' per-query difference (a - b), over the folds both have",
               "trained": f"train.py --steps {args.steps} --eval-every {args.eval_every} --seed {args.seed} "
                          "(shorter than the shipped 4500 steps); train = the fold's training packages, "
                          "checkpoint / whitening / head refit chosen on an inner split of them",
               "recipes": {n: recipes[n] for n in recipes},
               "caveat": "codec copies exist only for the tracks of the old train split (splits.json): "
                         "a fold trains with codec views only for those of its training tracks",
           },
           "plan": {"hash": ctx["plan"]["hash"], "seed": args.seed,
                    "folds": [{k: v for k, v in fd.items() if k not in ("heldout_pieces", "inner_val_pieces")}
                              for fd in ctx["plan"]["folds"]]},
           "updated": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(args.out, out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=1500, help="train.py steps per fold (shipped: 4500)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recipes", default="v3,v1-recipe", help="comma-separated; '' for baselines only")
    ap.add_argument("--recipe", action="append", default=[], metavar="NAME=ARGS",
                    help="define (or redefine) a recipe as train.py options, e.g. v4='--lr 1e-3'")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: score what is cached and cheap, rewrite --out")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "models", "eval-cv.json"))
    args = ap.parse_args()
    recipes_all = dict(RECIPES)
    for r in args.recipe:
        n, _, a = r.partition("=")
        recipes_all[n] = a
    recipes = {n: recipes_all[n] for n in args.recipes.split(",") if n}

    data = args.data
    ctx = {"data": data, "tracks": read_csv(os.path.join(data, "tracks.csv")),
           "renders": read_csv(os.path.join(data, "renders.csv")),
           "real_idx": feature_index(os.path.join(data, "features", "real")),
           "rend_idx": feature_index(os.path.join(data, "features", "renders"))}
    ctx["plan"] = plan = make_folds(ctx["tracks"], ctx["renders"], args.k, args.seed)
    ctx["cv"] = os.path.join(data, "cv")
    pdir = os.path.join(ctx["cv"], f"plan-{plan['hash']}")
    write_json(os.path.join(pdir, "plan.json"), plan)
    ctx["splits"], ctx["split_files"] = [], []
    for f in range(args.k):
        sp = fold_splits(plan, f, ctx["tracks"], ctx["renders"])
        path = os.path.join(pdir, f"fold{f}-splits.json")
        write_json(path, sp)
        ctx["splits"].append(sp)
        ctx["split_files"].append(path)
    log(f"plan {plan['hash']}: {args.k} folds, held-out tracks "
        f"{[fd['tracks']['heldout'] for fd in plan['folds']]}, recipes {list(recipes)}, {args.steps} steps")

    results = {}
    vec = mfcc_vectors(ctx)
    results["mfcc"] = [cached(os.path.join(pdir, f"mfcc-f{f}.json"), lambda f=f: score_mfcc(ctx, f, vec))
                       for f in range(args.k)]
    report(ctx, args, results, recipes)
    log(f"mfcc: P@10 {np.concatenate([r['p'] for r in results['mfcc']])[:, 2].mean():.3f}")

    ensure_teacher(ctx, sys.executable)
    real = np.load(os.path.join(data, "teacher", "real.npz"))
    rend_vecs = cs.teacher_track_vectors(np.load(os.path.join(data, "teacher", "renders.npz")))
    for name in ("teacher", "teacher-raw", "teacher-std"):
        results[name] = []
    for f in range(args.k):
        paths = {n: os.path.join(pdir, f"{n}-f{f}.json") for n in ("teacher", "teacher-raw", "teacher-std")}
        if not all(os.path.exists(p) for p in paths.values()):
            for n, r in score_teacher(ctx, f, real, rend_vecs).items():
                write_json(paths[n], to_json(r))
        for n, p in paths.items():
            results[n].append(from_json(json.load(open(p))))
    log(f"teacher: P@10 {np.concatenate([r['p'] for r in results['teacher']])[:, 2].mean():.3f}")

    renders = np.load(os.path.join(data, "teacher", "renders.npz"))
    projected = ("teacher-128", "teacher-pca", "teacher-pca-white")
    for name in projected:
        results[name] = []
    teacher_vecs = []  # per fold: teacher-128's track vectors, for the fusions
    for f in range(args.k):
        out, vecs = score_teacher_projected(ctx, f, real, renders)  # seconds: not cached
        for name in projected:
            results[name].append(out[name])
        teacher_vecs.append(vecs)
    report(ctx, args, results, recipes)
    log(f"teacher-128: P@10 {np.concatenate([r['p'] for r in results['teacher-128']])[:, 2].mean():.3f}")

    def add_fold(n, f, extra):
        r = run_recipe(ctx, args, n, extra, f)
        if r is None:
            return
        results[n].append(r)
        fused = fused_result(ctx, f, recipe_run_dir(ctx, args, n, extra, f)[0], teacher_vecs[f])
        if fused is not None:
            results[f"{n}+teacher"].append(fused)
        out = report(ctx, args, results, recipes)
        s = out["systems"][n]
        log(f"{n} after {len(results[n])} folds: P@10 {s['p_at_10']:.3f} {s['p_at_10_ci']}")

    for n in recipes:
        results[n], results[f"{n}+teacher"] = [], []
    for f in range(args.k):
        for n, extra in recipes.items():
            add_fold(n, f, extra)
    report(ctx, args, results, recipes)
    log(f"done: {args.out}")


if __name__ == "__main__":
    main()
