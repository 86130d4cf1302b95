#!/usr/bin/env python3
"""Train the shipped embedding model (simsong-cnn-v3) on CPU and export it to ONNX.

    PY=$(training/torchenv.sh | tail -n 1)
    nice -n 10 "$PY" training/train.py [--minutes 60] [--seed 1234] [--out models/simsong.onnx]

Inputs (from training/prepare_data.sh and training/teacher_embed.py, under
${SIMSONG_CACHE:-~/.cache/simsong}/training-data): tracks.csv, renders.csv, splits.json,
features/{real,renders}/ (log-mel patches from `simsong features`, the product's own Rust front
end) and teacher/{real,renders}.npz (the teacher's embeddings of the same patches).

Model: training/net.py (strided 3x3 convolutions, no max-pool, global mean + max pooling, a
128-d embedding and an MLP instrument head on the pooled features).

Objectives, summed every step:
  * track contrastive (NT-Xent, t=0.1): two different 3 s patches of the same real track are
    positives; tracks of OTHER collections are the negatives.
  * collection SupCon (t=0.1, --coll-weight): patches of tracks of the same collection (album /
    game soundtrack) are positives. Batches are P collections x K tracks x 2 patches.
  * distillation (--distill-weight): a linear map of the embedding (training only) regresses the
    teacher's standardised 512-d embedding of the same audio (cosine loss), on every patch of
    the batch, real or rendered, that the teacher saw; with --teacher-target track, a real
    patch's target is its track's mean teacher vector instead.
  * instrument cross-entropy on the labelled renders, solo and mixes (--inst-weight).
Contrastive losses use a 2-layer projection of the embedding (training only, SimCLR-style).
Augmentation (training/data.py): band limits and codec-like noise on mel power, re-normalised as
the front end does, then time / frequency masks. Real codecs too: where training/codec_copies.py
made MP3 / Ogg copies of a train track (48-128 kb/s), the second patch of its pair is, with
probability --codec-view, the same patch of a copy.

Stage 1 stops after --minutes of wall time (LR schedule by elapsed time; --steps N replays a run
step for step), keeping the checkpoint with the best val P@10 + val instrument accuracy. Stage 2
(training/posthoc.py): embedding whitening with train statistics (shrinkage by val P@10) and an
instrument-head refit on the frozen trunk, each kept only if it helps on val. Exported with
opset 17 and the `simsong` metadata the Rust loader checks.

Recipe comparisons (training/cv.py, grouped cross-validation): --splits another split file,
--resume-state a file the loop saves every --save-every steps and picks up again (the run
continues step for step), --final-model the stage-2 model as a torch file, --no-onnx, and the
v1 recipe's differences: --arch v1 (max-pool blocks, net.V1_STAGES), --inst-head embedding,
--aug-bandlimit 0 --aug-codec 0 (with --distill-weight 0 --codec-view 0).
"""
import argparse
import json
import math
import os
import random
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from data import augment, load_data, log
from net import EMBED_DIM, STAGES, V1_STAGES, Net, count_macs, export_onnx, fold
from posthoc import evaluate, refit_head, whiten_embedding

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DEFAULT_DATA = os.path.join(CACHE, "training-data")


def contrastive(z, pos, neg_ok, temp):
    """Generic SupCon: z [N,D] normalised; pos/neg_ok [N,N] bool masks (diagonal excluded)."""
    sim = z @ z.t() / temp
    eye = torch.eye(z.shape[0], dtype=torch.bool)
    sim = sim.masked_fill(~((pos | neg_ok) & ~eye), -1e9)
    logprob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = pos & ~eye
    npos = pos.sum(1)
    keep = npos > 0
    return (-(logprob * pos).sum(1)[keep] / npos[keep]).mean()


def distillation(e, teacher, to_teacher):
    """Cosine loss between the mapped student embedding and the teacher's, over rows the
    teacher saw (finite vectors); 0 when there are none."""
    ok = torch.isfinite(teacher[:, 0])
    if not ok.any():
        return e.sum() * 0.0
    return (1 - F.cosine_similarity(to_teacher(e[ok]), teacher[ok], dim=1)).mean()


def teacher_targets(tracks, mode):
    """The distillation targets of real patches, in place. "patch": each patch's own teacher
    vector (standardised, see data.load_teacher). "track": every patch of a track gets its
    track's mean teacher vector, normalised (the teacher ranks tracks by that mean, which is
    where it beats the student: eval_teacher.py), so the student learns the teacher's view of
    the whole track rather than of one 3 s patch; with it, every patch of a track the teacher saw
    has a target, not only the 8 per track the teacher ran on. Renders keep per-patch targets."""
    if mode == "patch":
        return None
    covered = 0
    for split in tracks.values():
        for t in split:
            v = t["t"].astype(np.float32)
            ok = np.isfinite(v[:, 0])
            if ok.any():
                m = v[ok].mean(0)
                v[:] = m / (np.linalg.norm(m) + 1e-12)
                t["t"] = v.astype(np.float16)
                covered += 1
    return {"mode": mode, "tracks_with_target": covered}


def sample_batch(args, rng, train_t, by_coll, colls, coll_w, rend_t, rend_flat):
    """P collections x K tracks x 2 patches of real music, then render patches."""
    picked = set()
    while len(picked) < min(args.collections, len(colls)):
        picked.add(rng.choices(colls, weights=coll_w)[0])
    xs, ts, tid, cid = [], [], [], []
    for c in sorted(picked):
        for ti in rng.sample(by_coll[c], min(args.tracks_per_coll, len(by_coll[c]))):
            t = train_t[ti]
            for k, j in enumerate(rng.sample(range(len(t["x"])), 2)):
                # the second view is sometimes a lossy copy's patch: what a buyer's MP3 loses
                # must not move the embedding (training/codec_copies.py)
                copy = k == 1 and t.get("xc") and rng.random() < args.codec_view
                xs.append(rng.choice(t["xc"])[j] if copy else t["x"][j])
                ts.append(t["t"][j])
                tid.append(ti)
                cid.append(colls.index(c))
    rb = rng.sample(rend_flat, min(args.render_batch, len(rend_flat)))
    xs += [rend_t[i]["x"][j] for i, j in rb]
    ts += [rend_t[i]["t"][j] for i, j in rb]
    ys = torch.tensor([rend_t[i]["y"] for i, _ in rb])
    x = torch.from_numpy(np.stack(xs).astype(np.float32)).unsqueeze(1)
    t = torch.from_numpy(np.stack(ts).astype(np.float32))
    return x, t, torch.tensor(tid), torch.tensor(cid), ys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default="models/simsong.onnx")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--minutes", type=float, default=60.0,
                    help="wall-clock training budget (the LR schedule follows elapsed time)")
    ap.add_argument("--steps", type=int, default=0,
                    help="train exactly this many steps instead (LR schedule by step)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--collections", type=int, default=12, help="P: collections per batch")
    ap.add_argument("--tracks-per-coll", type=int, default=3, help="K: tracks per collection")
    ap.add_argument("--render-batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--temp", type=float, default=0.1)
    ap.add_argument("--coll-weight", type=float, default=1.0)
    ap.add_argument("--inst-weight", type=float, default=1.0)
    ap.add_argument("--distill-weight", type=float, default=2.0)
    ap.add_argument("--max-train-patches", type=int, default=32, help="patches kept per train track")
    ap.add_argument("--teacher-target", choices=("patch", "track"), default="patch",
                    help="distil each real patch's own teacher vector, or its track's mean one")
    ap.add_argument("--teacher-space", choices=("std512", "pca128w"), default="std512",
                    help="the teacher's vectors standardised (512-d), or as cv.py's teacher-128: "
                         "PCA to 128-d and whitened, fitted on the training tracks only")
    ap.add_argument("--codec-view", type=float, default=0.5,
                    help="how often a track's second view is a lossy copy's patch (when it has copies)")
    ap.add_argument("--stages", default=None, help="JSON [[channels, stride], ...] (net.STAGES)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--name", default="simsong-cnn-v3")
    ap.add_argument("--log-json", default=None, help="write the training summary here")
    ap.add_argument("--no-whiten", action="store_true", help="skip the embedding whitening")
    ap.add_argument("--no-refit-head", action="store_true", help="skip the instrument-head refit")
    ap.add_argument("--splits", default=None, help="split file (default DATA/splits.json)")
    ap.add_argument("--arch", choices=("v3", "v1"), default="v3",
                    help="v3: net.STAGES (strided convs); v1: net.V1_STAGES (max-pool blocks, not exportable)")
    ap.add_argument("--inst-head", choices=("pooled", "embedding"), default="pooled",
                    help="instrument head while training: MLP on the pooled features, or linear on the embedding (v1)")
    ap.add_argument("--aug-bandlimit", type=float, default=0.35, help="probability of the band-limit augmentation")
    ap.add_argument("--aug-codec", type=float, default=0.35, help="probability of the codec-noise augmentation")
    ap.add_argument("--checkpoint", default=None, help="stage-1 checkpoint file (default DATA/checkpoints/NAME-seedS.pt)")
    ap.add_argument("--resume-state", default=None,
                    help="save the training state here every --save-every steps, and resume from it when it exists")
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--final-model", default=None, help="also save the stage-2 model (torch) here")
    ap.add_argument("--no-onnx", action="store_true", help="do not export ONNX (--out is ignored)")
    ap.add_argument("--no-test-eval", action="store_true",
                    help="skip the closing python evaluation of the test split (cv.py scores it itself)")
    args = ap.parse_args()
    stages = json.loads(args.stages) if args.stages else (V1_STAGES if args.arch == "v1" else STAGES)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)

    t_start = time.time()
    tracks, renders = load_data(args.data, args.max_train_patches, splits_path=args.splits,
                                teacher_space=args.teacher_space)
    log(f"data loaded in {time.time() - t_start:.0f}s")
    targets = teacher_targets(tracks, args.teacher_target)
    if targets:
        log(f"teacher targets: {targets}")

    model = Net(stages, inst_on=args.inst_head)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters (incl. BN), {count_macs(stages) / 1e6:.1f} M MACs per patch")
    proj = nn.Sequential(nn.Linear(EMBED_DIM, EMBED_DIM), nn.ReLU(), nn.Linear(EMBED_DIM, EMBED_DIM))
    to_teacher = nn.Linear(EMBED_DIM, tracks["train"][0]["t"].shape[1])
    params = list(model.parameters()) + list(proj.parameters()) + list(to_teacher.parameters())
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
    step, t0, warmup = 0, time.time(), 50
    modules = {"model": model, "proj": proj, "to_teacher": to_teacher, "opt": opt}
    if args.resume_state and os.path.exists(args.resume_state):
        st = torch.load(args.resume_state)
        for k, m in modules.items():
            m.load_state_dict(st[k])
        rng.setstate(st["rng"])
        gen.set_state(st["gen"])
        torch.set_rng_state(st["torch_rng"])
        step, best, best_state, history = st["step"], st["best"], st["best_state"], st["history"]
        t0 = time.time() - st["elapsed"]
        log(f"resumed from {args.resume_state} at step {step}")

    def save_state():
        st = {k: m.state_dict() for k, m in modules.items()}
        st.update({"rng": rng.getstate(), "gen": gen.get_state(), "torch_rng": torch.get_rng_state(),
                   "step": step, "best": best, "best_state": best_state, "history": history,
                   "elapsed": time.time() - t0})
        torch.save(st, args.resume_state + ".tmp")
        os.replace(args.resume_state + ".tmp", args.resume_state)

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
        x, teach, tid, cid, ys = sample_batch(args, rng, train_t, by_coll, colls, coll_w, rend_t, rend_flat)
        e, logits = model(augment(x, gen, args.aug_bandlimit, args.aug_codec))
        n_real = len(tid)
        z = F.normalize(proj(e[:n_real]), dim=1)
        same_t = tid[:, None] == tid[None, :]
        same_c = cid[:, None] == cid[None, :]
        l_track = contrastive(z, same_t, ~same_c, args.temp)
        l_coll = contrastive(z, same_c, torch.ones_like(same_c), args.temp)
        l_inst = F.cross_entropy(logits[n_real:], ys)
        l_dist = distillation(e, teach, to_teacher)
        loss = l_track + args.coll_weight * l_coll + args.inst_weight * l_inst + args.distill_weight * l_dist
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 10 == 0:
            acc = (logits[n_real:].argmax(1) == ys).float().mean().item()
            log(f"step {step} {time.time() - t0:.0f}s lr {lr:.2e} loss {loss.item():.3f} "
                f"(track {l_track.item():.3f} coll {l_coll.item():.3f} inst {l_inst.item():.3f} "
                f"distill {l_dist.item():.3f}, batch acc {acc:.2f})")
        if step % args.eval_every == 0:
            p, acc = evaluate(model, tracks["val"], renders["val"])
            score = p[10] + acc
            history.append({"step": step, "seconds": round(time.time() - t0), "val_p": p, "val_acc": acc})
            log(f"VAL step {step}: P@1 {p[1]:.3f} P@5 {p[5]:.3f} P@10 {p[10]:.3f} instrument acc {acc:.3f}"
                f"{'  (best)' if score > best else ''}")
            if score > best:
                best = score
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if args.resume_state and step % args.save_every == 0:
            save_state()
    train_s = time.time() - t0
    log(f"trained {step} steps in {train_s / 60:.1f} min")
    p, acc = evaluate(model, tracks["val"], renders["val"])
    history.append({"step": step, "seconds": round(train_s), "val_p": p, "val_acc": acc})
    log(f"VAL final: P@1 {p[1]:.3f} P@5 {p[5]:.3f} P@10 {p[10]:.3f} instrument acc {acc:.3f}")
    if best_state is not None and p[10] + acc < best:
        log("restoring the best validation checkpoint")
        model.load_state_dict(best_state)
    ckpt = args.checkpoint or os.path.join(args.data, "checkpoints", f"{args.name}-seed{args.seed}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    torch.save({"model": model.state_dict(), "stages": stages, "args": vars(args)}, ckpt)
    log(f"checkpoint (with BatchNorm): {ckpt}")

    ex = fold(model)
    summary = {"steps": step, "train_minutes": round(train_s / 60, 1), "params_trained": n_params,
               "macs_per_patch": count_macs(stages), "stages": stages, "history": history}
    if not args.no_whiten:
        ex, summary["whitening"] = whiten_embedding(ex, tracks)
    if not args.no_refit_head:
        ex, summary["head_refit"] = refit_head(ex, renders, args.seed)
    p, acc = evaluate(ex, tracks["val"], renders["val"])
    summary.update({"val": {"p": p, "acc": acc}, "args": vars(args)})
    if args.no_test_eval:
        log(f"shipped model: VAL P@10 {p[10]:.3f} acc {acc:.3f}")
    else:
        pt, acct = evaluate(ex, tracks["test"], renders["test"])
        log(f"shipped model: VAL P@10 {p[10]:.3f} acc {acc:.3f} | TEST (python) P@10 {pt[10]:.3f} acc {acct:.3f}")
        summary["test_python"] = {"p": pt, "acc": acct}
    summary["params_exported"] = sum(q.numel() for q in ex.parameters())
    if args.final_model:
        tmp = args.final_model + ".tmp"
        torch.save({"state": ex.state_dict(), "stages": stages, "inst_on_embedding": ex.inst_on_embedding,
                    "summary": summary}, tmp)
        os.replace(tmp, args.final_model)
        log(f"final model (torch): {args.final_model}")
    if not args.no_onnx:
        ops = export_onnx(ex, args.out, args.name, stages=stages)
        log(f"exported {args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB, "
            f"{summary['params_exported']} parameters, ops {ops}")
    if args.log_json:
        with open(args.log_json, "w") as f:
            json.dump(summary, f, indent=1)
    log(f"total {(time.time() - t_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
