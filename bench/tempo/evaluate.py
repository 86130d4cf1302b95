"""Tempo accuracy of `simsong tempo` and of librosa on the same files, side by side.

Acc1: the estimate within 4% of the true tempo. Acc2: within 4% of the tempo or of ×2, ×½, ×3,
×⅓ of it (the usual metrics of tempo estimation). A file where we report "no clear tempo"
counts as wrong in both (librosa always answers); coverage says how often we answered.

Usage: python bench/tempo/evaluate.py SIMSONG_BIN SET_DIR [LONG_CLIP]  → JSON on stdout
(LONG_CLIP, e.g. a 3-minute WAV: also times both on it, the median of five runs.)
"""

import csv
import json
import os
import subprocess
import sys
import time
import warnings

import librosa
import numpy as np

FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def within(est, truth, factors):
    return est is not None and any(abs(est / (truth * k) - 1.0) <= 0.04 for k in factors)


def main():
    bin_path, set_dir = sys.argv[1:3]
    clip = sys.argv[3] if len(sys.argv) > 3 else None
    with open(os.path.join(set_dir, "truth.csv"), newline="") as f:
        truth = list(csv.DictReader(f))
    paths = [r["path"] for r in truth]

    started = time.perf_counter()
    proc = subprocess.run([bin_path, "tempo", "--json", *paths], capture_output=True, text=True)
    ours_seconds = time.perf_counter() - started
    if proc.returncode not in (0, 2):
        raise SystemExit(proc.stderr)
    ours = {j["path"]: j for j in map(json.loads, proc.stdout.splitlines())}

    rows = []
    librosa_seconds = 0.0
    cache_path = os.environ.get("TEMPO_LIBROSA_CACHE")
    cache = json.load(open(cache_path)) if cache_path and os.path.exists(cache_path) else {}
    for r in truth:
        started = time.perf_counter()
        if r["path"] in cache:
            lib = cache[r["path"]]
        else:
            y, sr = librosa.load(r["path"], sr=22050, mono=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lib = float(librosa.feature.tempo(y=y, sr=sr)[0])
            cache[r["path"]] = lib
        librosa_seconds += time.perf_counter() - started
        o = ours.get(r["path"], {})
        rows.append({
            "file": os.path.basename(r["path"]),
            "kind": r["kind"],
            "bpm": float(r["bpm"]),
            "ours": o.get("bpm"),
            "ours_candidate": o.get("candidateBpm"),
            "ours_confidence": o.get("confidence"),
            "librosa": lib,
        })

    if cache_path:
        json.dump(cache, open(cache_path, "w"))

    def score(key, subset):
        n = len(subset)
        return {
            "files": n,
            "acc1": sum(within(x[key], x["bpm"], (1.0,)) for x in subset) / max(n, 1),
            "acc2": sum(within(x[key], x["bpm"], FACTORS) for x in subset) / max(n, 1),
        }

    kinds = sorted({r["kind"] for r in rows})
    summary = {}
    for label, subset in [("all", rows)] + [(k, [r for r in rows if r["kind"] == k]) for k in kinds]:
        summary[label] = {
            "ours": score("ours", subset),
            "ours_candidate": score("ours_candidate", subset),
            "librosa": score("librosa", subset),
            "coverage": sum(r["ours"] is not None for r in subset) / max(len(subset), 1),
        }
    timing = None
    if clip:
        def median_seconds(f):
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                f()
                runs.append(time.perf_counter() - started)
            return sorted(runs)[2]

        def lib_run():
            y, sr = librosa.load(clip, sr=22050, mono=True)
            librosa.feature.tempo(y=y, sr=sr)

        timing = {
            "clip": os.path.basename(clip),
            "clip_seconds": librosa.get_duration(path=clip),
            "ours_cli_seconds": median_seconds(
                lambda: subprocess.run([bin_path, "tempo", clip], capture_output=True, check=True)),
            "librosa_seconds": median_seconds(lib_run),
        }
    json.dump({
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "librosa": librosa.__version__,
        "set": os.path.basename(os.path.normpath(set_dir)),
        "timing": timing,
        "files": len(rows),
        "seconds": {"ours_cli_total": ours_seconds, "librosa_total": librosa_seconds},
        "summary": summary,
        "rows": rows,
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
