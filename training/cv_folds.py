"""Folds of the grouped cross-validation (training/cv.py): real music by Debian package, renders
by MIDI piece, each held out exactly once; an inner split of the remaining (training) packages
and pieces for checkpoint choice and stage 2.

Pure Python (no numpy, no torch), so tests/python/test_cv.py runs it in the wheel's venv.

* Packages -> k folds: the best of `tries` seeded random orders, each filled greedily (the next
  package goes to the fold with the fewest tracks), scored by the spread of tracks and of
  "evaluable" collections (>= 2 tracks, the ones same-collection precision can query) per fold.
* Render pieces -> k folds: per source, a seeded order filled greedily by clip count, except that
  every `planetblupi` piece goes to the fold of `planetblupi-music-ogg` (the same tunes exist as
  real audio there: a fold that holds the package out must not train on its tunes).
* Inner split (per fold): ~`inner_frac` of the training tracks' packages become the inner val
  set (best of `tries` seeded orders, >= 3 packages and >= 3 evaluable collections when possible,
  `planetblupi-music-ogg` never: make_splits.py keeps it in train for the same reason), and
  ~`inner_frac` of each source's training pieces become inner val renders. Inner val is not
  trained on; it picks the checkpoint, the whitening and the head refit (train.py's "val").
"""
import hashlib
import json
import random
from collections import Counter, defaultdict

PINNED_RENDER_SOURCE = {"planetblupi": "planetblupi-music-ogg"}
NEVER_INNER_VAL = {"planetblupi-music-ogg"}


def package_stats(tracks):
    """package -> (tracks, evaluable collections) of tracks.csv rows."""
    by_pkg = defaultdict(list)
    for t in tracks:
        by_pkg[t["package"]].append(t["collection"])
    return {p: (len(c), sum(1 for n in Counter(c).values() if n >= 2)) for p, c in by_pkg.items()}


def assign_package_folds(stats, k, seed, tries=2000):
    """package -> fold (0..k-1), balanced by tracks and evaluable collections."""
    if k < 2 or k > len(stats):
        raise ValueError(f"need 2 <= k <= {len(stats)} packages, got k={k}")
    rng = random.Random(f"folds:{seed}")
    pkgs = sorted(stats)
    tot_t = sum(s[0] for s in stats.values()) / k
    tot_e = max(1, sum(s[1] for s in stats.values())) / k
    best, best_cost = None, float("inf")
    for _ in range(tries):
        order = pkgs[:]
        rng.shuffle(order)
        # big packages first (stable within equal sizes: the shuffle decides), greedy fill
        order.sort(key=lambda p: -stats[p][0])
        acc = [[0, 0] for _ in range(k)]
        assign = {}
        for p in order:
            f = min(range(k), key=lambda i: (acc[i][0], rng.random()))
            assign[p] = f
            acc[f][0] += stats[p][0]
            acc[f][1] += stats[p][1]
        cost = sum((a[0] / tot_t - 1) ** 2 + (a[1] / tot_e - 1) ** 2 for a in acc)
        if cost < best_cost:
            best, best_cost = assign, cost
    return best


def assign_piece_folds(renders, package_fold, k, seed):
    """piece_id -> fold. `renders`: renders.csv rows (piece_id, source)."""
    clips = Counter(r["piece_id"] for r in renders)
    source = {r["piece_id"]: r["source"] for r in renders}
    acc = [0] * k
    out = {}
    for pid in sorted(clips):
        pkg = PINNED_RENDER_SOURCE.get(source[pid])
        if pkg in package_fold:
            out[pid] = package_fold[pkg]
            acc[out[pid]] += clips[pid]
    for src in sorted(set(source.values())):
        ids = sorted(p for p in clips if source[p] == src and p not in out)
        random.Random(f"pieces:{seed}:{src}").shuffle(ids)
        for pid in ids:
            f = min(range(k), key=lambda i: (acc[i], i))
            out[pid] = f
            acc[f] += clips[pid]
    return out


def inner_packages(stats, train_pkgs, frac, seed, tries=2000):
    """The inner val packages among `train_pkgs`: track share closest to `frac`, >= 3 packages
    and >= 3 evaluable collections when any order allows it."""
    cand = sorted(p for p in train_pkgs if p not in NEVER_INNER_VAL)
    total = sum(stats[p][0] for p in train_pkgs)
    target = frac * total
    rng = random.Random(f"inner:{seed}")
    best, best_cost = None, float("inf")
    for _ in range(tries):
        order = cand[:]
        rng.shuffle(order)
        chosen, n, ev = [], 0, 0
        for p in order:
            if n >= target and len(chosen) >= 3 and ev >= 3:
                break
            if n + stats[p][0] > 1.5 * target and len(chosen) >= 1:
                continue
            chosen.append(p)
            n += stats[p][0]
            ev += stats[p][1]
        penalty = (len(chosen) < 3) + (ev < 3)
        cost = penalty + ((n - target) / total) ** 2
        if cost < best_cost:
            best, best_cost = sorted(chosen), cost
    return best


def inner_pieces(pieces_by_source, frac, seed):
    """~frac of each source's training pieces (at least one where a source has >= 3)."""
    out = []
    for src in sorted(pieces_by_source):
        ids = sorted(pieces_by_source[src])
        random.Random(f"inner-pieces:{seed}:{src}").shuffle(ids)
        n = round(len(ids) * frac)
        if len(ids) >= 3:
            n = max(1, n)
        out += ids[:n]
    return sorted(out)


def make_folds(tracks, renders, k=4, seed=1234, inner_frac=0.15):
    """The whole fold plan as a JSON-able dict: per fold the held-out, inner-val and train
    packages and pieces, and per-item maps."""
    stats = package_stats(tracks)
    pkg_fold = assign_package_folds(stats, k, seed)
    piece_fold = assign_piece_folds(renders, pkg_fold, k, seed) if renders else {}
    source = {r["piece_id"]: r["source"] for r in renders}
    folds = []
    for f in range(k):
        held = sorted(p for p, v in pkg_fold.items() if v == f)
        rest = sorted(p for p, v in pkg_fold.items() if v != f)
        ival = inner_packages(stats, rest, inner_frac, f"{seed}:{f}")
        by_src = defaultdict(list)
        for pid, v in piece_fold.items():
            if v != f:
                by_src[source[pid]].append(pid)
        ival_pieces = inner_pieces(by_src, inner_frac, f"{seed}:{f}")
        folds.append({
            "fold": f,
            "heldout_packages": held,
            "inner_val_packages": ival,
            "train_packages": sorted(set(rest) - set(ival)),
            "heldout_pieces": sorted(p for p, v in piece_fold.items() if v == f),
            "inner_val_pieces": ival_pieces,
            "tracks": {"heldout": sum(stats[p][0] for p in held),
                       "inner_val": sum(stats[p][0] for p in ival),
                       "train": sum(stats[p][0] for p in rest) - sum(stats[p][0] for p in ival)},
            "evaluable_collections_heldout": sum(stats[p][1] for p in held),
        })
    plan = {"k": k, "seed": seed, "inner_frac": inner_frac, "package_fold": pkg_fold,
            "piece_fold": piece_fold, "folds": folds}
    plan["hash"] = hashlib.sha1(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:10]
    return plan


def fold_splits(plan, f, tracks, renders):
    """A splits.json for train.py / data.load_data: train = the fold's training packages and
    pieces, val = its inner val, test = held out."""
    fd = plan["folds"][f]
    ival, ivp = set(fd["inner_val_packages"]), set(fd["inner_val_pieces"])

    def real(t):
        if plan["package_fold"][t["package"]] == f:
            return "test"
        return "val" if t["package"] in ival else "train"

    def rend(r):
        if plan["piece_fold"][r["piece_id"]] == f:
            return "test"
        return "val" if r["piece_id"] in ivp else "train"

    return {"cv": {"fold": f, "k": plan["k"], "plan_hash": plan["hash"]},
            "real": {"unit": "package", "track_split": {t["track_id"]: real(t) for t in tracks}},
            "renders": {"unit": "piece_id", "clip_split": {r["clip_id"]: rend(r) for r in renders}}}
