#!/usr/bin/env python3
"""Scores version detection on the evaluation set (issue #30), from `simsong compare --pairs`.

    python3 bench/versions/score.py COMPARE.jsonl [--chromaprint CP.jsonl] [--out FILE] [--seed 30]

A pair is called a version when its score (coverage × peak share: the share of the shorter file's
seconds that line up, times the share of its peaks matched) and its timbre similarity (the mean
cosine of the model's segment embeddings where the two line up) both reach a threshold. Two sets
of figures:

- cross-validated: for each fold, the thresholds are chosen on the other three folds (the
  largest training recall with no training negative called a version; of equal recall the
  middle of the range), then the held-out fold is scored; the four held-out folds pooled;
- shipped: the library's own constants (`simsong::versions::MIN_SCORE`, `MIN_TIMBRE`, from the
  medians of the four folds' thresholds) on every pair: not a held-out figure.

With --chromaprint (the output of bench/versions/chromaprint on the same pairs), Chromaprint's
decision (matched share of the shorter file ≥ a threshold) is cross-validated the same way and
reported beside ours, kind by kind.

95% intervals resample packages with replacement (2,000 draws). Prints a Markdown table and
writes JSON: {pairs, positives, negatives, packages, folds, shipped: {...}, cv: {...}, kinds}.
"""
import argparse
import json
import random
import sys
from collections import defaultdict

# The shipped constants (src/versions/verify.rs, MIN_SCORE and MIN_TIMBRE).
SHIPPED = {"score": 0.0615, "timbre": 0.83}
# Grids for our two thresholds (score: a log grid; timbre: cosines).
SCORE_GRID = [round(0.01 * 1.15 ** i, 4) for i in range(0, 34)]
TIMBRE_GRID = [round(0.5 + 0.01 * i, 2) for i in range(0, 50)]


def value(r, key):
    if key == "score":
        return r.get("coverage", 0) * r.get("peak_share", 0)
    if key == "timbre":
        return r.get("timbre_similarity") or 0.0
    return r.get(key, 0)


def called(r, t):
    return all(value(r, key) >= threshold for key, threshold in t.items())


def tune_ours(rows):
    """Both thresholds: no training negative called a version, the most training recall; of the
    thresholds that tie, the middle (the mean of each)."""
    best, tied = -1, []
    for ts in SCORE_GRID:
        for tt in TIMBRE_GRID:
            t = {"score": ts, "timbre": tt}
            if any(called(r, t) for r in rows if not r["positive"]):
                continue
            n = sum(called(r, t) for r in rows if r["positive"])
            if n > best:
                best, tied = n, [t]
            elif n == best:
                tied.append(t)
    if not tied:
        return {"score": 1.01, "timbre": 1.01}
    return {k: round(sum(t[k] for t in tied) / len(tied), 4) for k in ("score", "timbre")}


def tune(rows, key):
    """The threshold with no training negative called a version and the most training recall,
    placed halfway (geometrically) between the highest training negative and the lowest
    training version above it: as far from one as from the other."""
    neg = max((value(r, key) for r in rows if not r["positive"]), default=0.0)
    above = [value(r, key) for r in rows if r["positive"] and value(r, key) > neg]
    if not above:
        return {key: round(neg * 1.01 + 1e-6, 4)}
    low = min(above)
    return {key: round((max(neg, 1e-4) * low) ** 0.5, 4)}


def cross_validate(rows, folds, key="ours"):
    decisions = [None] * len(rows)
    tuned = []
    for f in folds:
        training = [r for r in rows if r["fold"] != f]
        t = tune_ours(training) if key == "ours" else tune(training, key)
        tuned.append({"fold": f, **t})
        for i, r in enumerate(rows):
            if r["fold"] == f:
                decisions[i] = called(r, t)
    return decisions, tuned


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
    ap.add_argument("--chromaprint", help="the baseline's output on the same pairs (JSON lines)")
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
    if args.chromaprint:
        cp = {}
        for line in open(args.chromaprint):
            x = json.loads(line)
            cp[(x["a"], x["b"])] = x
        # Only the pairs both could read, so both are scored on the same pairs.
        rows = [r for r in rows if "cp_coverage" in cp.get((r["a"], r["b"]), {})]
        for r in rows:
            r["cp_coverage"] = cp[(r["a"], r["b"])]["cp_coverage"]
    rng = random.Random(args.seed)
    shipped = [called(r, SHIPPED) for r in rows]
    folds = sorted({r["fold"] for r in rows if r["fold"] >= 0})
    cv, tuned = cross_validate(rows, folds)
    scored = [(r, d) for r, d in zip(rows, cv) if d is not None]
    cv_rows, cv_dec = [x[0] for x in scored], [x[1] for x in scored]
    out = {
        "median_thresholds": {k: sorted(t[k] for t in tuned)[len(tuned) // 2] for k in ("score", "timbre")},
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
    if args.chromaprint:
        cpd, cpt = cross_validate(rows, folds, key="cp_coverage")
        keep = [(r, d) for r, d in zip(rows, cpd) if d is not None]
        cr, cd = [x[0] for x in keep], [x[1] for x in keep]
        out["chromaprint"] = {"thresholds": cpt, **figures(cr, cd),
                              "recall_ci": interval(cr, cd, "recall", rng),
                              "precision_ci": interval(cr, cd, "precision", rng),
                              "kinds": per_kind(cr, cd)}
        # Chromaprint's chroma features match renders of one MIDI piece with other instruments
        # (the same notes): those negatives force its threshold up. Both again without them.
        real = [r for r in rows if r["kind"] != "same-midi"]
        for name, key in (("chromaprint_real_negatives", "cp_coverage"), ("ours_real_negatives", "ours")):
            d, t = cross_validate(real, folds, key=key)
            keep = [(r, x) for r, x in zip(real, d) if x is not None]
            rr, dd = [x[0] for x in keep], [x[1] for x in keep]
            out[name] = {"thresholds": t, **figures(rr, dd), "recall_ci": interval(rr, dd, "recall", rng),
                         "precision_ci": interval(rr, dd, "precision", rng), "kinds": per_kind(rr, dd)}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
    s, c = out["shipped"], out["cv"]
    print(f"{out['positives']} version pairs, {out['negatives']} negative pairs, {out['packages']} packages")
    print(f"shipped thresholds: precision {s['precision']:.3f} {s['precision_ci']}, recall {s['recall']:.3f} {s['recall_ci']}")
    print(f"cross-validated:    precision {c['precision']:.3f} {c['precision_ci']}, recall {c['recall']:.3f} {c['recall_ci']}, thresholds {tuned}")
    cp = out.get("chromaprint")
    for name in ("ours_real_negatives", "chromaprint_real_negatives"):
        if name in out:
            x = out[name]
            print(f"{name}: precision {x['precision']:.3f}, recall {x['recall']:.3f}, thresholds {x['thresholds']}")
    if cp:
        print(f"chromaprint (cv):   precision {cp['precision']:.3f} {cp['precision_ci']}, recall {cp['recall']:.3f} {cp['recall_ci']}, thresholds {cp['thresholds']}")
    print("| kind | label | pairs | shipped | cross-validated | chromaprint (cv) |")
    print("|---|---|---|---|---|---|")
    for k, v in s["kinds"].items():
        cvk = c["kinds"].get(k, {})
        cpk = cp["kinds"].get(k, {}) if cp else {}
        key = "recall" if v["label"] else "false_positive_rate"
        print(f"| {k} | {v['label']} | {v['pairs']} | {v[key]:.3f} | {cvk.get(key, float('nan')):.3f} | {cpk.get(key, float('nan')):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
