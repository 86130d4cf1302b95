"""Scoring for the grouped cross-validation (training/cv.py): per-query same-collection precision
as `simsong eval` defines it, the bootstrap by package, paired differences, and the vectors of the
systems that need no training (20-MFCC mean/std, the teacher).

numpy only at import (tests/python/test_cv.py runs the statistics in the wheel's venv); torch is
imported by the functions that embed with a trained model.

Retrieval (src/bin/simsong/eval.rs): within one fold, every held-out track whose collection
(package/collection) has another held-out track is a query; the fold's other held-out tracks are
ranked by cosine similarity (ties by index); P@k = same-collection hits among the first k, / k.
Pooled figures are the mean over all queries of all folds.
"""
import numpy as np

KS = (1, 5, 10)
N_MFCC = 20
LOG_GAIN = 1e4
HOP_S = 256 / 16000


def query_precision(emb, labels, ks=KS):
    """[n_queries, len(ks)] P@k of each query, and the query rows. emb: [n, d] (any norm)."""
    labels = np.asarray(labels)
    e = np.asarray(emb, np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    sim = e @ e.T
    rows, out = [], []
    for i in range(len(labels)):
        others = np.flatnonzero(np.arange(len(labels)) != i)
        if not (labels[others] == labels[i]).any():
            continue
        order = others[np.argsort(-sim[i, others], kind="stable")]
        rel = labels[order] == labels[i]
        out.append([rel[:k].sum() / k for k in ks])
        rows.append(i)
    return np.asarray(out, np.float64).reshape(-1, len(ks)), np.asarray(rows, np.int64)


def cluster_bootstrap_idx(clusters, n_boot, seed):
    """Resamples of query indices by cluster (package): a list of index arrays."""
    clusters = np.asarray(clusters)
    uniq = sorted(set(clusters.tolist()))
    members = [np.flatnonzero(clusters == c) for c in uniq]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        out.append(np.concatenate([members[j] for j in pick]))
    return out


def bootstrap_ci(values, clusters, n_boot=2000, seed=0, level=0.95):
    """Percentile interval of the mean of `values` ([n] or [n, m]) resampled by cluster."""
    v = np.asarray(values, np.float64)
    means = np.stack([v[ix].mean(0) for ix in cluster_bootstrap_idx(clusters, n_boot, seed)])
    a = (1 - level) / 2
    return np.quantile(means, a, axis=0), np.quantile(means, 1 - a, axis=0)


def paired(a, b, clusters, n_boot=2000, seed=0):
    """Mean of a - b (per query, same queries) and its interval resampled by cluster."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    lo, hi = bootstrap_ci(d, clusters, n_boot, seed)
    return d.mean(0), lo, hi


def summarise(per_fold, k, n_boot=2000, seed=0):
    """One system's entry of eval-cv.json from its per-fold results: each a dict with `fold`,
    `p` [n_q, 3], `query_ids`, `packages` (per query), optionally `acc_hits` (per held-out
    render clip, 0/1) and `pieces` (per clip)."""
    per_fold = sorted(per_fold, key=lambda r: r["fold"])
    p = np.concatenate([r["p"] for r in per_fold])
    pk = np.concatenate([r["packages"] for r in per_fold])
    lo, hi = bootstrap_ci(p, pk, n_boot, seed)
    out = {"complete": len(per_fold) == k, "folds_done": [r["fold"] for r in per_fold],
           "queries": int(len(p)), "packages_with_queries": int(len(set(pk.tolist())))}
    for j, kk in enumerate(KS):
        out[f"p_at_{kk}"] = float(p[:, j].mean())
        out[f"p_at_{kk}_ci"] = [float(lo[j]), float(hi[j])]
    fold_rows = []
    for r in per_fold:
        row = {"fold": r["fold"], "queries": int(len(r["p"]))}
        row.update({f"p_at_{kk}": float(r["p"][:, j].mean()) for j, kk in enumerate(KS)})
        if r.get("acc_hits") is not None:
            row["instrument_acc"] = float(np.mean(r["acc_hits"]))
            row["instrument_clips"] = int(len(r["acc_hits"]))
        row.update(r.get("extra", {}))
        fold_rows.append(row)
    out["per_fold"] = fold_rows
    if all(r.get("acc_hits") is not None for r in per_fold):
        hits = np.concatenate([r["acc_hits"] for r in per_fold]).astype(np.float64)
        pieces = np.concatenate([r["pieces"] for r in per_fold])
        alo, ahi = bootstrap_ci(hits, pieces, n_boot, seed)
        out["instrument_acc"] = float(hits.mean())
        out["instrument_acc_ci"] = [float(alo), float(ahi)]
        out["instrument_clips"] = int(len(hits))
    return out


def paired_entry(ra, rb, n_boot=2000, seed=0):
    """eval-cv.json's `paired` entry for two systems' per-fold results, over the folds both have."""
    fa = {r["fold"]: r for r in ra}
    fb = {r["fold"]: r for r in rb}
    common = sorted(set(fa) & set(fb))
    if not common:
        return None
    pa, pb, pk = [], [], []
    for f in common:
        ia = {q: i for i, q in enumerate(fa[f]["query_ids"])}
        ib = {q: i for i, q in enumerate(fb[f]["query_ids"])}
        qs = [q for q in fa[f]["query_ids"] if q in ib]
        pa.append(fa[f]["p"][[ia[q] for q in qs]])
        pb.append(fb[f]["p"][[ib[q] for q in qs]])
        pk.append(fa[f]["packages"][[ia[q] for q in qs]])
    pa, pb, pk = np.concatenate(pa), np.concatenate(pb), np.concatenate(pk)
    d, lo, hi = paired(pa, pb, pk, n_boot, seed)
    out = {"folds": common, "queries": int(len(pa))}
    for j, kk in enumerate(KS):
        out[f"p_at_{kk}_diff"] = float(d[j])
        out[f"p_at_{kk}_ci"] = [float(lo[j]), float(hi[j])]
    out["ci"] = out["p_at_10_ci"]
    if all(fa[f].get("acc_hits") is not None and fb[f].get("acc_hits") is not None for f in common):
        ha, hb, pc = [], [], []
        for f in common:
            ib = {c: i for i, c in enumerate(fb[f]["clip_ids"])}
            keep = [i for i, c in enumerate(fa[f]["clip_ids"]) if c in ib]
            ha.append(fa[f]["acc_hits"][keep])
            hb.append(fb[f]["acc_hits"][[ib[fa[f]["clip_ids"][i]] for i in keep]])
            pc.append(fa[f]["pieces"][keep])
        d, lo, hi = paired(np.concatenate(ha), np.concatenate(hb), np.concatenate(pc), n_boot, seed)
        out["instrument_acc_diff"] = float(d)
        out["instrument_acc_ci"] = [float(lo), float(hi)]
    return out


# ------------------------------------------------------------------ vectors without training
def mfcc_basis(n_mels=96, n_mfcc=N_MFCC):
    """Orthonormal DCT-II rows (src/bin/simsong/eval/mfcc.rs)."""
    i = np.arange(n_mels)
    rows = [np.cos(np.pi * k * (2 * i + 1) / (2 * n_mels)) * np.sqrt((1 if k == 0 else 2) / n_mels)
            for k in range(n_mfcc)]
    return np.stack(rows).astype(np.float64)


def mfcc_vector(patches, starts_s, duration_s, basis):
    """`simsong eval`'s 40-d MFCC mean/std of a track from its exported log-mel patches
    [P, 96, 187]: every analysed frame once (by absolute frame index), none past the end, mel
    power recovered from log10(1 + 1e4 S), power_to_db (amin 1e-10, top_db 80 below the track's
    maximum), DCT-II ortho, mean and population std over frames."""
    n_frames = 1 + int(round(duration_s * 16000)) // 256
    frames = {}
    for p, s in zip(patches, starts_s):
        f0 = int(round(s / HOP_S))
        for t in range(p.shape[1]):
            a = f0 + t
            if a < n_frames and a not in frames:
                frames[a] = p[:, t]
    if not frames:
        return None
    x = np.stack([frames[a] for a in sorted(frames)]).astype(np.float64)
    power = np.maximum((10.0 ** x - 1.0) / LOG_GAIN, 0.0).astype(np.float32)
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    c = db.astype(np.float64) @ basis.T
    return np.concatenate([c.mean(0), c.std(0)]).astype(np.float32)


def zscore(x, ref):
    mu, sd = ref.mean(0), np.maximum(ref.std(0), 1e-8)
    return (x - mu) / sd


def logistic_fit(x, y, n_classes, steps=2000, lr=0.5, l2=1e-3):
    """`simsong eval`'s baseline classifier: multinomial logistic regression, full-batch
    gradient descent from zero."""
    n, d = x.shape
    w, b = np.zeros((n_classes, d)), np.zeros(n_classes)
    onehot = np.eye(n_classes)[y]
    for _ in range(steps):
        z = x @ w.T + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p - onehot
        b -= lr * g.sum(0) / n
        w -= lr * (g.T @ x / n + l2 * w)
    return w, b


def teacher_track_vectors(npz, standardise=None):
    """eval_teacher.py's track vectors: normalised mean of the L2-normalised patch embeddings
    (raw, or standardised with given (mu, sd)). Returns path -> vector."""
    emb = npz["emb"].astype(np.float64)
    if standardise is not None:
        emb = (emb - standardise[0]) / standardise[1]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    acc = {}
    for e, f in zip(emb, npz["file_row"]):
        acc.setdefault(int(f), []).append(e)
    out = {}
    for f, v in acc.items():
        m = np.mean(v, axis=0)
        out[str(npz["paths"][f])] = m / (np.linalg.norm(m) + 1e-12)
    return out


def teacher_projection_arrays(train_rows, dim=128, white=True):
    """fit_teacher_projection's numbers: mu, sd, zmean, comp [dim, 512], scale [dim]."""
    x = np.asarray(train_rows, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    zmean = z.mean(0)
    _, sv, vt = np.linalg.svd(z - zmean, full_matrices=False)
    comp = vt[:dim]
    scale = sv[:dim] / np.sqrt(max(len(z) - 1, 1)) + 1e-6 if white else np.ones(len(comp))
    return {"mu": mu, "sd": sd, "zmean": zmean, "comp": comp, "scale": scale}


def fit_teacher_projection(train_rows, dim=128, white=True):
    """The teacher's vectors as an index would store them, fitted on `train_rows` (raw teacher
    embeddings of training patches only): standardised with their statistics, projected on
    their `dim` principal axes, and whitened (unit variance per axis) when `white`. Returns
    raw rows -> projected rows (float64). cv.py's `teacher-128` and train.py's
    `--teacher-space pca128w` both use it."""
    a = teacher_projection_arrays(train_rows, dim, white)
    return lambda raw: ((((np.asarray(raw, dtype=np.float64) - a["mu"]) / a["sd"]) - a["zmean"]) @ a["comp"].T) / a["scale"]


def fit_nuisance_projection(train_rows, nuisance_diffs, dim=128, lam=1.0):
    """Like fit_teacher_projection, but whitened against what should not matter: standardised
    with the training rows' statistics, then multiplied by Sn^-1/2, Sn the covariance of
    `nuisance_diffs` (a track's patch minus the same patch of a lossy, shifted copy, raw rows,
    standardised the same way) regularised by `lam` x its mean eigenvalue, then projected on the
    `dim` principal axes of the training rows in that space. Directions a codec or a shift moves
    shrink; the rest keeps its spread. Returns raw rows -> projected rows (float64)."""
    x = np.asarray(train_rows, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    zmean = z.mean(0)
    d = np.asarray(nuisance_diffs, dtype=np.float64) / sd
    sn = d.T @ d / max(len(d), 1)
    sn += lam * np.trace(sn) / len(sn) * np.eye(len(sn))
    w, v = np.linalg.eigh(sn)
    wn = (v / np.sqrt(w)) @ v.T
    _, _, vt = np.linalg.svd((z - zmean) @ wn, full_matrices=False)
    m = wn @ vt[:dim].T
    return lambda raw: (((np.asarray(raw, dtype=np.float64) - mu) / sd) - zmean) @ m


# ------------------------------------------------------------------ trained models (torch)
def load_final_model(path):
    """The stage-2 model train.py --final-model saved, as a net.Export module."""
    import torch

    from net import Export, Net
    st = torch.load(path)
    net = Net([tuple(s) for s in st["stages"]], inst_on="embedding" if st["inst_on_embedding"] else "pooled")
    ex = Export(net.eval())
    ex.load_state_dict(st["state"])
    return ex.eval()


def embed_items(ex, items, threads=2, batch=128):
    """Track embeddings (normalised mean of L2-normalised patch embeddings, as the product) and
    clip-mean class probabilities of items with `npy` and `idx` (patch indices)."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    embs, probs = [], []
    with torch.no_grad():
        for it in items:
            a = np.load(it["npy"], mmap_mode="r")
            x = np.asarray(a[np.asarray(it["idx"], np.int64)], np.float32)
            es, ps = [], []
            for i in range(0, len(x), batch):
                e, logits = ex(torch.from_numpy(x[i:i + batch]).unsqueeze(1))
                es.append(F.normalize(e, dim=1))
                ps.append(logits.softmax(1))
            m = torch.cat(es).mean(0)
            embs.append((m / (m.norm() + 1e-12)).numpy())
            probs.append(torch.cat(ps).mean(0).numpy())
    return np.stack(embs), np.stack(probs)
