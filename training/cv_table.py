#!/usr/bin/env python3
"""Writes the cross-validation tables of models/MODEL.md from models/eval-cv.json (between the
`<!-- cv-table -->` and `<!-- /cv-table -->` markers), so the card shows what the run measured,
with the teacher as the product runs it (models/eval-cv-teacher-product.json, written by
training/cv_teacher_product.py on the same folds) as one more row.

    python3 training/cv_table.py [--json models/eval-cv.json] [--card models/MODEL.md]

Standard library only (no numpy): it runs wherever the card is edited.
"""
import argparse
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BEGIN, END = "<!-- cv-table -->", "<!-- /cv-table -->"

# Order and wording of the systems in the card; others in the file follow in file order.
LABELS = {
    "mfcc": "MFCC (20 coefficients, mean and std)",
    "teacher": "teacher (aiSFX 512-d, raw or standardised as the inner val picks)",
    "teacher-128": "teacher-128: teacher projected to 128-d (PCA of the fold's training patches)",
    "v1-recipe": "v1-recipe (1500 steps)",
    "v3": "v3 (train.py defaults, 1500 steps)",
    "v1-recipe+teacher": "v1-recipe ⊕ teacher-128",
    "v3+teacher": "v3 ⊕ teacher-128",
    "teacher-product": "teacher as the product would run it: Rust aiSFX front end, int8 weights, tract, ≤ 16 "
                       "patches per track, projection whitened against codec copies, λ 3 "
                       "(eval-cv-teacher-product.json)",
}
HIDDEN = {"teacher-raw", "teacher-std", "teacher-pca", "teacher-pca-white"}


def ci(x):
    return f"[{x[0]:.3f}, {x[1]:.3f}]"


PRODUCT = os.path.join(ROOT, "models", "eval-cv-teacher-product.json")


def table(d, product=None):
    systems = dict(d["systems"])
    if product is not None:
        systems["teacher-product"] = product
    names = [n for n in LABELS if n in systems] + [n for n in systems if n not in LABELS and n not in HIDDEN]
    rows = ["| system | folds | queries | P@1 | P@5 | P@10 | P@10 95% CI | instrument acc. |",
            "|---|---|---|---|---|---|---|---|"]
    for n in names:
        s = systems[n]
        acc = s.get("instrument_acc")
        rows.append(f"| {LABELS.get(n, n)} | {len(s['folds_done'])}/{d['folds']} | {s['queries']} | {s['p_at_1']:.3f} "
                    f"| {s['p_at_5']:.3f} | {s['p_at_10']:.3f} | {ci(s['p_at_10_ci'])} | "
                    f"{'' if acc is None else f'{acc:.3f}'} |")
    rows += ["", "Paired differences (a − b, over the folds both have; 95% intervals by package):", "",
             "| a vs b | queries | P@1 diff | P@1 CI | P@10 diff | P@10 CI |", "|---|---|---|---|---|---|"]
    for pair, e in d["paired"].items():
        if any(h in pair.split(" vs ") for h in HIDDEN):
            continue
        rows.append(f"| {pair} | {e['queries']} | {e['p_at_1_diff']:+.3f} | {ci(e['p_at_1_ci'])} "
                    f"| {e['p_at_10_diff']:+.3f} | {ci(e['p_at_10_ci'])} |")
    rows += ["", f"From [eval-cv.json](eval-cv.json) ({d['folds']} folds, {d['packages']} packages, "
             f"{d['queries']} queries; updated {d.get('updated', '?')}), written by `training/cv_table.py`."]
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=os.path.join(ROOT, "models", "eval-cv.json"))
    ap.add_argument("--card", default=os.path.join(ROOT, "models", "MODEL.md"))
    args = ap.parse_args()
    d = json.load(open(args.json))
    product = json.load(open(PRODUCT)) if os.path.exists(PRODUCT) else None
    card = open(args.card).read()
    if BEGIN not in card or END not in card:
        raise SystemExit(f"{args.card}: no {BEGIN} ... {END} markers")
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{table(d, product)}\n{END}", card, flags=re.S)
    open(args.card, "w").write(new)


if __name__ == "__main__":
    main()
