#!/usr/bin/env python3
"""Scores the catalog's version audit (issue #30): every file of the evaluation set (edited real
tracks, their sources, the hard negatives' tracks) indexed as one catalog by `simsong index
build`, whose audit groups versions by itself, against the set's labelled pairs.

    python3 bench/versions/audit.py VERSIONS.json MANIFEST.csv PAIRS.csv [--tuned COMPARE.jsonl]
        [--embeddings E.npy --tracks T.jsonl] [--build-log LOG] [--out FILE]

VERSIONS.json is `simsong index versions CATALOG --json`; MANIFEST.csv maps ids to files (what
the catalog was built from). A labelled pair counts as found when the audit put both files in
one group (what a page shows: one row), so a version found through a third file counts, as it
does for a buyer. --tuned names the pairs the thresholds were chosen on (score.py's input):
pairs of those source tracks are reported apart, the others are held out from any tuning.
With --embeddings/--tracks (`simsong index export`), each version pair's embedding cosine and
the rank of each file among the other's nearest neighbours say how many versions the audit's
candidates (its 10 nearest neighbours with cosine ≥ 0.5) can reach at all.

95% intervals resample packages with replacement (2,000 draws). Writes JSON.
"""
import argparse
import csv
import json
import random
import re
from collections import defaultdict


def interval(rows, stat, seed=30, draws=2000):
    """95% interval of stat(rows) resampling packages."""
    by_package = defaultdict(list)
    for r in rows:
        by_package[r["package"]].append(r)
    packages = sorted(by_package)
    rng = random.Random(seed)
    values = []
    for _ in range(draws):
        sample = [r for p in rng.choices(packages, k=len(packages)) for r in by_package[p]]
        v = stat(sample)
        if v is not None:
            values.append(v)
    values.sort()
    if not values:
        return None
    return [round(values[int(0.025 * (len(values) - 1))], 4), round(values[int(0.975 * (len(values) - 1))], 4)]


def share(rows, positive):
    chosen = [r for r in rows if r["positive"] == positive]
    if not chosen:
        return None
    return sum(r["found"] for r in chosen) / len(chosen)


def precision(rows):
    tp = sum(1 for r in rows if r["positive"] and r["found"])
    fp = sum(1 for r in rows if not r["positive"] and r["found"])
    return tp / (tp + fp) if tp + fp else None


def summary(rows):
    return {
        "pairs": len(rows),
        "positives": sum(r["positive"] for r in rows),
        "negatives": sum(not r["positive"] for r in rows),
        "recall": share(rows, True),
        "recall_ci": interval(rows, lambda s: share(s, True)),
        "false_positive_rate": share(rows, False),
        "precision": precision(rows),
        "precision_ci": interval(rows, precision),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("versions")
    ap.add_argument("manifest")
    ap.add_argument("pairs")
    ap.add_argument("--tuned")
    ap.add_argument("--embeddings")
    ap.add_argument("--tracks")
    ap.add_argument("--build-log")
    ap.add_argument("--out")
    args = ap.parse_args()

    audit = json.load(open(args.versions))
    id_of = {row["audio"]: row["id"] for row in csv.DictReader(open(args.manifest))}
    group_of = {}
    for g in audit["groups"]:
        for m in g["members"]:
            group_of[m] = g["canonical"]
    tuned_sources = set()
    if args.tuned:
        for line in open(args.tuned):
            tuned_sources.add(json.loads(line)["a"])
    rows = []
    for p in csv.DictReader(open(args.pairs)):
        a, b = id_of.get(p["a"]), id_of.get(p["b"])
        if a is None or b is None:
            continue
        rows.append({
            "a": a, "b": b, "kind": p["kind"], "package": p["package"], "positive": p["label"] == "1",
            "found": a in group_of and group_of.get(a) == group_of.get(b),
            "tuned": p["a"] in tuned_sources,
        })
    out = {
        "tracks": audit["tracks"],
        "fingerprinted": audit["fingerprinted"],
        "groups": len(audit["groups"]),
        "largest_group": max((len(g["members"]) for g in audit["groups"]), default=0),
        "links": sum(len(g["links"]) for g in audit["groups"]),
        "all": summary(rows),
        "held_out": summary([r for r in rows if not r["tuned"]]),
        "tuned_on": summary([r for r in rows if r["tuned"]]),
        "kinds": {},
    }
    for kind in sorted({r["kind"] for r in rows}):
        chosen = [r for r in rows if r["kind"] == kind]
        out["kinds"][kind] = {
            "pairs": len(chosen),
            "positive": chosen[0]["positive"],
            "found": sum(r["found"] for r in chosen) / len(chosen),
        }
    if args.build_log:
        text = open(args.build_log).read()
        m = re.search(r"analysed ([\d.]+) s of audio in ([\d.]+) s", text)
        a = re.search(r"versions: .* ([\d.]+) s$", text, re.M)
        c = re.search(r"of (\d+) pairs compared", text)
        out["analysis_seconds"] = float(m.group(2)) if m else None
        out["audio_seconds"] = float(m.group(1)) if m else None
        out["audit_seconds"] = float(a.group(1)) if a else None
        out["pairs_compared"] = int(c.group(1)) if c else None
    if args.embeddings and args.tracks:
        import numpy as np

        e = np.load(args.embeddings).astype("float32")
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        ids = [json.loads(line)["id"] for line in open(args.tracks)]
        at = {t: i for i, t in enumerate(ids)}
        sims = e @ e.T
        np.fill_diagonal(sims, -2)
        ranks = (-sims).argsort(axis=1).argsort(axis=1)  # rank of j among i's neighbours, from 0
        reach = []
        for r in rows:
            if not r["positive"]:
                continue
            i, j = at[r["a"]], at[r["b"]]
            cosine = float(sims[i, j])
            rank = int(min(ranks[i, j], ranks[j, i]))
            reach.append({"kind": r["kind"], "cosine": cosine, "rank": rank,
                          "candidate": rank < 10 and cosine >= 0.5})
        out["candidates"] = {
            "version_pairs": len(reach),
            "reachable": sum(x["candidate"] for x in reach) / max(1, len(reach)),
            "min_cosine": min((x["cosine"] for x in reach), default=None),
            "rank_over_9": sum(x["rank"] >= 10 for x in reach),
            "cosine_under_half": sum(x["cosine"] < 0.5 for x in reach),
        }
    text = json.dumps(out, indent=1)
    if args.out:
        open(args.out, "w").write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
