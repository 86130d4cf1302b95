#!/usr/bin/env python3
"""Transformed copies of every real track, embedded as the product would (issue #32): what a
buyer's file of a catalog track looks like, to fit and to test a projection that copies survive.

    PY=$(training/torchenv.sh | tail -n 1)
    nice -n 10 "$PY" training/teacher_copies.py --model $D/teacher-product/aisfx-512-q8.onnx [--max-patches 16]

For each track of tracks.csv, one copy with a seeded random edit: a lossy codec (MP3 64-128 kb/s
or Ogg Vorbis q1-q5, alternately), a start offset of 0-60 ms (silence prepended or audio cut:
an encoder's delay, a different rip), a gain of -9..+3 dB, at 44.1 kHz stereo. The copies are
written to $D/teacher-copies/audio/ (ffmpeg) and embedded with `simsong embed --segments`
(cached per model and patch cap in $D/teacher-copies/emb-HASH/, 50 files per chunk, so a
stopped run carries on). Writes `copies.csv` (track path, copy path, the edit) beside them.
"""
import argparse
import csv
import hashlib
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cv_teacher_product import embed_all, log, read_csv, sha256  # noqa: E402

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))


def edit_for(path, seed):
    rng = random.Random(f"{seed}:{path}")
    codec = rng.choice(["mp3", "ogg"])
    quality = rng.choice([64, 80, 96, 112, 128]) if codec == "mp3" else rng.choice([1, 2, 3, 4, 5])
    offset_ms = rng.uniform(-60, 60)
    gain_db = rng.uniform(-9, 3)
    return {"codec": codec, "quality": quality, "offset_ms": round(offset_ms, 1), "gain_db": round(gain_db, 1)}


def make_copy(src, dst, e):
    filters = [f"volume={e['gain_db']}dB"]
    if e["offset_ms"] > 0:
        filters.insert(0, f"adelay={e['offset_ms']}|{e['offset_ms']}:all=1")
    elif e["offset_ms"] < 0:
        filters.insert(0, f"atrim=start={-e['offset_ms'] / 1000},asetpts=PTS-STARTPTS")
    codec = (["-c:a", "libmp3lame", "-b:a", f"{e['quality']}k"] if e["codec"] == "mp3"
             else ["-c:a", "libvorbis", "-q:a", str(e["quality"])])
    tmp = dst + ".part"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-af", ",".join(filters), "-ac", "2",
                    "-ar", "44100", *codec, "-f", e["codec"], tmp], check=True, timeout=600)
    os.replace(tmp, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "target")),
                                                  "release", "simsong"))
    ap.add_argument("--max-patches", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    out = os.path.join(args.data, "teacher-copies")
    os.makedirs(os.path.join(out, "audio"), exist_ok=True)
    tracks = read_csv(os.path.join(args.data, "tracks.csv"))
    paths = sorted({t["audio_path"] for t in tracks})
    rows, t0 = [], time.time()
    for i, p in enumerate(paths):
        e = edit_for(p, args.seed)
        dst = os.path.join(out, "audio", hashlib.sha256(p.encode()).hexdigest()[:16] + "." + e["codec"])
        if not os.path.exists(dst):
            try:
                make_copy(p, dst, e)
            except Exception as err:  # reported and skipped: the track simply has no copy
                log(f"  cannot copy {p}: {err}")
                continue
        rows.append({"track_path": p, "copy_path": dst, **e})
        if (i + 1) % 50 == 0:
            log(f"  {i + 1}/{len(paths)} copies, {time.time() - t0:.0f} s")
    with open(os.path.join(out, "copies.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    key = hashlib.sha256(f"{sha256(args.model)}:{args.max_patches}".encode()).hexdigest()[:12]
    copies = [{"audio_path": r["copy_path"]} for r in rows]
    emb = embed_all(args.bin, args.model, copies, args.max_patches, os.path.join(out, f"emb-{key}"))
    log(f"{len(rows)} copies, {len(emb['emb'])} patches embedded")


if __name__ == "__main__":
    main()
