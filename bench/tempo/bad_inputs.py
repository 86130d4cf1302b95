"""How `simsong tempo` answers the seeded inputs of make_bad.py: how many got a clear tempo
(should be none) and the highest confidence per kind, beside the threshold.

Usage: python bench/tempo/bad_inputs.py SIMSONG_BIN SET_DIR...  → JSON on stdout
"""
import csv
import json
import os
import subprocess
import sys


def main():
    bin_path, dirs = sys.argv[1], sys.argv[2:]
    paths, kinds = [], {}
    for d in dirs:
        with open(os.path.join(d, "truth.csv"), newline="") as f:
            for r in csv.DictReader(f):
                paths.append(r["path"])
                kinds[r["path"]] = r["kind"].removeprefix("bad:")
    proc = subprocess.run([bin_path, "tempo", "--json", *paths], capture_output=True, text=True)
    if proc.returncode not in (0, 2):
        raise SystemExit(proc.stderr)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    by_kind = {}
    for a in answers:
        k = by_kind.setdefault(kinds[a["path"]], {"files": 0, "clear": 0, "max_confidence": 0.0})
        k["files"] += 1
        k["clear"] += a["bpm"] is not None
        k["max_confidence"] = max(k["max_confidence"], a["confidence"])
    clear = [{"file": os.path.relpath(a["path"], os.path.dirname(os.path.dirname(a["path"]))),
              "bpm": a["bpm"], "confidence": a["confidence"]} for a in answers if a["bpm"] is not None]
    json.dump({"files": len(answers), "clear": clear, "by_kind": by_kind,
               "max_confidence": max(a["confidence"] for a in answers)}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
