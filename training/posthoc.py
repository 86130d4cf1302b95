"""Stage 2 of training, on the frozen trunk: embedding whitening and instrument-head refit, plus
the evaluation helpers both stages use (same-collection P@k, clip accuracy)."""
import numpy as np
import torch
import torch.nn.functional as F

from data import log
from net import head_mlp


@torch.no_grad()
def embed_sets(model, items, batch=256):
    """Track (clip) embeddings: mean of L2-normalised patch embeddings, normalised, as the
    product computes them; and mean class probabilities."""
    model.eval()
    xs = [it["x"] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    embs, probs = [], []
    for i in range(0, len(allx), batch):
        e, logits = model(torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1))
        embs.append(F.normalize(e, dim=1))
        probs.append(logits.softmax(1))
    embs, probs = torch.cat(embs).numpy(), torch.cat(probs).numpy()
    te = np.zeros((len(items), embs.shape[1]), np.float32)
    tp = np.zeros((len(items), probs.shape[1]), np.float32)
    np.add.at(te, owner, embs)
    np.add.at(tp, owner, probs)
    te /= np.linalg.norm(te, axis=1, keepdims=True) + 1e-12
    return te, tp


def precision_at(emb, labels, ks=(1, 5, 10)):
    """Same-collection P@k of every item whose label another item shares (`simsong eval`'s
    definition): the others ranked by cosine similarity."""
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


@torch.no_grad()
def pooled_features(ex, items, batch=256):
    xs = [it["x"] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    out = [ex.pooled(torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1))
           for i in range(0, len(allx), batch)]
    return torch.cat(out), torch.from_numpy(owner)


@torch.no_grad()
def raw_embeddings(ex, items, every=1, batch=256):
    xs = [it["x"][::every] for it in items]
    owner = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    allx = np.concatenate(xs)
    out = [ex(torch.from_numpy(allx[i:i + batch].astype(np.float32)).unsqueeze(1))[0]
           for i in range(0, len(allx), batch)]
    return torch.cat(out).numpy().astype(np.float64), owner


def whiten_embedding(ex, tracks, shrinkages=(0.0, 0.1, 0.5, 1.0)):
    """Whitens the embedding with statistics of the TRAIN tracks' patch embeddings (mean
    removed, covariance C -> (C + a*mean(eig) I)^-1/2), folded into the `fc` layer, so the
    cosine the product uses is not dominated by a few shared directions. The shrinkage a is
    chosen by val P@10 ("none" kept when it wins)."""
    tr, _ = raw_embeddings(ex, tracks["train"], every=4)
    mu = tr.mean(0)
    eig, vec = np.linalg.eigh(np.cov((tr - mu).T))
    eig = np.clip(eig, 1e-9, None)
    va, va_o = raw_embeddings(ex, tracks["val"])
    labels = [t["coll"] for t in tracks["val"]]

    def transform(a):
        return vec @ np.diag((eig + a * eig.mean()) ** -0.5) @ vec.T

    def val_p(P, centre):
        e = (va - (mu if centre else 0)) @ P.T
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        t = np.zeros((len(tracks["val"]), e.shape[1]))
        np.add.at(t, va_o, e)
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        return precision_at(t.astype(np.float32), labels)

    base = val_p(np.eye(len(mu)), False)
    results = {a: val_p(transform(a), True) for a in shrinkages}
    best = max(shrinkages, key=lambda a: results[a][10])
    report = {"none": base[10], **{str(a): r[10] for a, r in results.items()}}
    if base[10] >= results[best][10]:
        log(f"whitening: none kept (val P@10 {report})")
        return ex, {"shrinkage": None, "val_p10": report}
    log("whitening, val P@10: none %.3f, " % base[10] +
        ", ".join(f"a={a}: {results[a][10]:.3f}" for a in shrinkages) + f" -> a={best}")
    P = torch.from_numpy(transform(best)).float()
    with torch.no_grad():
        w, b = ex.fc.weight.clone(), ex.fc.bias.clone()
        ex.fc.weight.copy_(P @ w)
        ex.fc.bias.copy_(P @ (b - torch.from_numpy(mu).float()))
        if getattr(ex, "inst_on_embedding", False):
            # a linear instrument head on the embedding (train.py --inst-head embedding) keeps
            # seeing the embedding it was trained on: e_old = P^-1 e_new + mu
            lw = ex.instrument.weight.clone()
            ex.instrument.bias += lw @ torch.from_numpy(mu).float()
            ex.instrument.weight.copy_(lw @ torch.linalg.inv(P))
    return ex, {"shrinkage": best, "val_p10": report}


def clip_accuracy(head, feats, owner, ys):
    head.eval()
    with torch.no_grad():
        probs = head(feats).softmax(1)
    n = int(owner.max()) + 1
    mean = torch.zeros(n, probs.shape[1]).index_add_(0, owner, probs)
    return float((mean.argmax(1) == ys).float().mean())


def refit_head(ex, renders, seed, epochs=150):
    """The trunk and embedding frozen, fits a fresh MLP instrument head on the pooled features
    of the train renders (epoch chosen by val clip accuracy) and keeps it only if it beats the
    head trained jointly with the trunk on val."""
    torch.manual_seed(seed)
    tr_f, tr_o = pooled_features(ex, renders["train"])
    va_f, va_o = pooled_features(ex, renders["val"])
    tr_y = torch.tensor([r["y"] for r in renders["train"]])[tr_o]
    va_y = torch.tensor([r["y"] for r in renders["val"]])
    on_emb = getattr(ex, "inst_on_embedding", False)
    with torch.no_grad():
        joint = clip_accuracy(ex.instrument, ex.fc(va_f) if on_emb else va_f, va_o, va_y)
    mu, sd = tr_f.mean(0), tr_f.std(0) + 1e-5
    head = head_mlp(tr_f.shape[1])
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
    log(f"head refit: val clip accuracy {best:.3f} (joint head {joint:.3f})")
    if best <= joint:
        return ex, {"refit": False, "val_acc_joint": joint, "val_acc_refit": best}
    head.load_state_dict(best_state)
    lin = head[1]  # fold the input standardisation into the first linear layer
    with torch.no_grad():
        lin.bias -= (lin.weight * (mu / sd)).sum(1)
        lin.weight /= sd
    ex.instrument = head.eval()
    ex.inst_on_embedding = False  # the refit head reads the pooled features
    return ex, {"refit": True, "val_acc_joint": joint, "val_acc_refit": best}
