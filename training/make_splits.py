#!/usr/bin/env python3
"""Write splits.json: real music split by whole packages (so every collection, and every game,
is held out as a unit), labelled renders split by piece_id (a MIDI piece's renders never
straddle splits). Never by clip.

    python training/make_splits.py [--data DIR] [--seed 1234] [--fractions 0.7,0.15,0.15]

Real music: the unit is the Debian package (a package's collections share a game, a composer
team and a mastering chain, so holding out the package is the strict test of generalisation).
The assignment is the best of 2000 seeded random orders filled greedily, scored by how close
each split comes to the target fractions of (a) tracks and (b) "evaluable" collections (>= 2
tracks, the ones same-collection precision can use), with at least 3 packages and 3 evaluable
collections in validation and test. `planetblupi-music-ogg` is always in train: the same tunes
exist as MIDI (planetblupi-music-midi) and are rendered for the instrument head.

Renders: seeded 70/15/15 of piece_ids within each source (music21, mma, planetblupi).
Output: DIR/splits.json with per-split package / collection / piece lists, a per-track and a
per-clip split map, and a summary.
"""
import argparse
import csv
import json
import os
import random
import sys
from collections import Counter, defaultdict

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DEFAULT_DATA = os.path.join(CACHE, "training-data")
SPLITS = ("train", "val", "test")
FORCE_TRAIN = {"planetblupi-music-ogg"}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def split_packages(tracks, fracs, seed, tries=2000):
    by_pkg = defaultdict(list)
    for t in tracks:
        by_pkg[t["package"]].append(t)
    stats = {}
    for p, rows in by_pkg.items():
        cols = Counter(r["collection"] for r in rows)
        stats[p] = (len(rows), sum(1 for c, n in cols.items() if n >= 2))
    tot_tracks = sum(s[0] for s in stats.values())
    tot_eval = max(1, sum(s[1] for s in stats.values()))
    rng = random.Random(seed)
    pkgs = sorted(by_pkg)
    best, best_cost = None, float("inf")
    for _ in range(tries):
        order = pkgs[:]
        rng.shuffle(order)
        assign = {p: "train" for p in FORCE_TRAIN if p in by_pkg}
        acc = {s: [0, 0, 0] for s in SPLITS}  # tracks, evaluable collections, packages
        for p in assign:
            acc["train"][0] += stats[p][0]
            acc["train"][1] += stats[p][1]
            acc["train"][2] += 1
        for p in order:
            if p in assign:
                continue
            # put the package where the track share is furthest below its target
            s = min(SPLITS, key=lambda s: (acc[s][0] + stats[p][0]) / tot_tracks - fracs[s])
            assign[p] = s
            acc[s][0] += stats[p][0]
            acc[s][1] += stats[p][1]
            acc[s][2] += 1
        if any(acc[s][2] < 3 or acc[s][1] < 3 for s in ("val", "test")):
            continue
        cost = sum((acc[s][0] / tot_tracks - fracs[s]) ** 2 + (acc[s][1] / tot_eval - fracs[s]) ** 2
                   for s in SPLITS)
        if cost < best_cost:
            best, best_cost = assign, cost
    if best is None:
        sys.exit("could not satisfy the split constraints: fetch more packages")
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--fractions", default="0.7,0.15,0.15")
    args = ap.parse_args()
    fracs = dict(zip(SPLITS, (float(x) for x in args.fractions.split(","))))

    out = {"seed": args.seed, "fractions": fracs}
    summary = {}

    tpath = os.path.join(args.data, "tracks.csv")
    if os.path.exists(tpath):
        tracks = read_csv(tpath)
        assign = split_packages(tracks, fracs, args.seed)
        real = {s: {"packages": sorted(p for p, v in assign.items() if v == s)} for s in SPLITS}
        for s in SPLITS:
            rows = [t for t in tracks if assign[t["package"]] == s]
            cols = Counter((t["package"], t["collection"]) for t in rows)
            real[s]["collections"] = sorted(f"{p}/{c}" for p, c in cols)
            summary[f"real_{s}"] = {
                "packages": len(real[s]["packages"]), "collections": len(cols),
                "collections_with_2plus_tracks": sum(1 for n in cols.values() if n >= 2),
                "tracks": len(rows),
                "hours": round(sum(float(t["duration_s"] or 0) for t in rows) / 3600, 2)}
        real["unit"] = "package"
        real["track_split"] = {t["track_id"]: assign[t["package"]] for t in tracks}
        out["real"] = real
    else:
        print(f"no {tpath}; skipping real music", file=sys.stderr)

    rpath = os.path.join(args.data, "renders.csv")
    if os.path.exists(rpath):
        renders = read_csv(rpath)
        by_src = defaultdict(set)
        for r in renders:
            by_src[r["source"]].add(r["piece_id"])
        piece_split = {}
        for src in sorted(by_src):
            ids = sorted(by_src[src])
            random.Random(f"{args.seed}:{src}").shuffle(ids)
            n = len(ids)
            n_tr = round(n * fracs["train"])
            n_va = round(n * fracs["val"])
            if n >= 3:  # keep at least one piece per split when possible
                n_va = max(1, n_va)
                n_tr = min(n_tr, n - n_va - 1)
            for i, pid in enumerate(ids):
                piece_split[pid] = "train" if i < n_tr else "val" if i < n_tr + n_va else "test"
        rs = {s: {"pieces": sorted(p for p, v in piece_split.items() if v == s)} for s in SPLITS}
        rs["unit"] = "piece_id"
        rs["clip_split"] = {r["clip_id"]: piece_split[r["piece_id"]] for r in renders}
        out["renders"] = rs
        for s in SPLITS:
            rows = [r for r in renders if piece_split[r["piece_id"]] == s]
            summary[f"renders_{s}"] = {
                "pieces": len(rs[s]["pieces"]), "clips": len(rows),
                "per_class": dict(sorted(Counter(r["class"] for r in rows).items())),
                "per_source": dict(sorted(Counter(r["source"] for r in rows).items()))}
    else:
        print(f"no {rpath}; skipping renders", file=sys.stderr)

    out["summary"] = summary
    dst = os.path.join(args.data, "splits.json")
    with open(dst, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(json.dumps(summary, indent=1), file=sys.stderr)
    print(f"wrote {dst}", file=sys.stderr)


if __name__ == "__main__":
    main()
