#!/usr/bin/env python3
"""Scores version detection on the evaluation set (issue #30), from `simsong compare --pairs`.

    python3 bench/versions/score.py COMPARE.jsonl [--out bench/out/versions.json] [--seed 30]

A pair is called a version when its coverage and its peak share both reach a threshold. Two
sets of figures:

- cross-validated: for each fold, the thresholds are chosen on the other three folds (the
  largest training recall with no training negative called a version; of equal recall the
  highest thresholds), then the held-out fold is scored; the four held-out folds pooled;
- shipped: the library's own constants (`simsong::versions::MIN_COVERAGE`, `MIN_PEAK_SHARE`)
  on every pair (they were set by eye on a smaller trial set drawn from the same packages: not
  a held-out figure).

95% intervals resample packages with replacement (2,000 draws). Prints a Markdown table and
writes JSON: {pairs, positives, negatives, packages, folds, shipped: {...}, cv: {...}, kinds}.
"""
import argparse
import json
import random
import sys
from collections import defaultdict

# The shipped constants (src/versions/verify.rs); the test below keeps them in step.
SHIPPED = {"coverage": 0.5, "peak_share": 0.2}
GRID_COVERAGE = [round(0.05 * i, 2) for i in range(1, 20)]
GRID_SHARE = [round(0.025 * i, 3) for i in range(1, 24)]


def called(r, t):
    return r.get("coverage", 0) >= t["coverage"] and r.get("peak_share", 0) >= t["peak_share"]


def tune(rows):
    best = None
    for c in GRID_COVERAGE:
        for s in GRID_SHARE:
            t = {"coverage": c, "peak_share": s}
            if any(called(r, t) for r in rows if not r["positive"]):
                continue
            recall = sum(called(r, t) for r in rows if r["positive"])
            key = (recall, c + s)
            if best is None or key > best[0]:
                best = (key, t)
    return best[1] if best else {"coverage": 1.01, "peak_share": 1.01}


def figures(rows, decisions):
    tp = sum(1 for r, d in zip(rows, decisions) if d and r["positive"])
    fp = sum(1 for r, d in zip(rows, decisions) if d and not r["positive"])
    pos = sum(r["positive"] for r in rows)
    neg = len(rows) - pos
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / pos if pos else None,
        "false_positives": fp,
        "false_positive_rate": fp / neg if neg else None,
    }


def interval(rows, decisions, key, rng, draws=2000):
    by_pkg = defaultdict(list)
    for r, d in zip(rows, decisions):
        by_pkg[r["package"]].append((r, d))
    pkgs = sorted(by_pkg)
    vals = []
    for _ in range(draws):
        sample = [x for p in (rng.choice(pkgs) for _ in pkgs) for x in by_pkg[p]]
        v = figures([x[0] for x in sample], [x[1] for x in sample])[key]
        if v is not None:
            vals.append(v)
    vals.sort()
    return [vals[int(0.025 * len(vals))], vals[int(0.975 * len(vals)) - 1]]


def per_kind(rows, decisions):
    kinds = defaultdict(lambda: [0, 0])
    for r, d in zip(rows, decisions):
        k = kinds[(r["kind"], r["positive"])]
        k[0] += d
        k[1] += 1
    return {f"{kind}": {"label": int(pos), "called_version": n, "pairs": total,
                        ("recall" if pos else "false_positive_rate"): round(n / total, 4)}
            for (kind, pos), (n, total) in sorted(kinds.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--out")
    ap.add_argument("--seed", type=int, default=30)
    args = ap.parse_args()
    rows = []
    errors = 0
    for line in open(args.results):
        r = json.loads(line)
        if "error" in r:
            errors += 1
            continue
        r["positive"] = r["label"] == "1"
        r["fold"] = int(r["fold"])
        rows.append(r)
    rng = random.Random(args.seed)
    shipped = [called(r, SHIPPED) for r in rows]
    folds = sorted({r["fold"] for r in rows if r["fold"] >= 0})
    cv = [None] * len(rows)
    tuned = []
    for f in folds:
        t = tune([r for r in rows if r["fold"] != f])
        tuned.append({"fold": f, **t})
        for i, r in enumerate(rows):
            if r["fold"] == f:
                cv[i] = called(r, t)
    scored = [(r, d) for r, d in zip(rows, cv) if d is not None]
    cv_rows, cv_dec = [x[0] for x in scored], [x[1] for x in scored]
    out = {
        "pairs": len(rows),
        "errors": errors,
        "positives": sum(r["positive"] for r in rows),
        "negatives": sum(not r["positive"] for r in rows),
        "packages": len({r["package"] for r in rows}),
        "folds": len(folds),
        "shipped": {"thresholds": SHIPPED, **figures(rows, shipped),
                    "recall_ci": interval(rows, shipped, "recall", rng),
                    "precision_ci": interval(rows, shipped, "precision", rng),
                    "kinds": per_kind(rows, shipped)},
        "cv": {"thresholds": tuned, **figures(cv_rows, cv_dec),
               "recall_ci": interval(cv_rows, cv_dec, "recall", rng),
               "precision_ci": interval(cv_rows, cv_dec, "precision", rng),
               "kinds": per_kind(cv_rows, cv_dec)},
        "compare_us_median": sorted(r["compare_us"] for r in rows)[len(rows) // 2],
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
    s, c = out["shipped"], out["cv"]
    print(f"{out['positives']} version pairs, {out['negatives']} negative pairs, {out['packages']} packages")
    print(f"shipped thresholds: precision {s['precision']:.3f} {s['precision_ci']}, recall {s['recall']:.3f} {s['recall_ci']}")
    print(f"cross-validated:    precision {c['precision']:.3f} {c['precision_ci']}, recall {c['recall']:.3f} {c['recall_ci']}, thresholds {tuned}")
    print("| kind | label | pairs | shipped | cross-validated |")
    print("|---|---|---|---|---|")
    for k, v in s["kinds"].items():
        cvk = c["kinds"].get(k, {})
        key = "recall" if v["label"] else "false_positive_rate"
        print(f"| {k} | {v['label']} | {v['pairs']} | {v[key]:.3f} | {cvk.get(key, float('nan')):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
