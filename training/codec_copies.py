#!/usr/bin/env python3
"""Lossy copies of the training tracks, so that the student learns what a buyer's low-bit-rate
copy of a track loses (issue #13: self-retrieval of MP3 / Ogg copies at 64 kb/s was 0.89 / 0.94
with v2's simulated codec augmentation, which does not imitate what an encoder removes).

For every real track of the *train* split (never val or test: those are what invariance.py
measures), one MP3 and one Ogg Vorbis copy at a bit rate drawn per track from CODEC_RATES_KBPS,
each decoded by the product's own front end like any other file:

    python3 training/codec_copies.py [--data DIR] [--jobs 2] [--seed 1234]
    training/export_features.sh codecs      # log-mel patches of the copies

Output: DIR/codecs/<codec>/<track_id>.<ext> and DIR/codecs.csv (track_id, codec, kbps,
audio_path, source_path). Restartable: existing copies are kept. The bit rates are drawn from a
seeded generator per track, so a rerun makes the same copies.
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from multiprocessing import Pool

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
# What a buyer's copy plausibly is: 48-128 kb/s, the low end weighted (it loses the most).
CODEC_RATES_KBPS = (48, 64, 64, 96, 128)
CODECS = {
    "mp3": (["-c:a", "libmp3lame"], "mp3"),
    "ogg": (["-c:a", "libvorbis"], "ogg"),
}
FIELDS = ["track_id", "codec", "kbps", "audio_path", "source_path"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def copy_job(job):
    track_id, codec, kbps, src, dst = job
    row = {"track_id": track_id, "codec": codec, "kbps": kbps, "audio_path": dst, "source_path": src}
    if os.path.exists(dst) and os.path.getsize(dst) > 0:
        return row, "cached"
    opts, _ = CODECS[codec]
    tmp = dst + ".part." + CODECS[codec][1]
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, *opts, "-b:a", f"{kbps}k", tmp],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if os.path.exists(tmp):
            os.remove(tmp)
        return None, f"{src}: {r.stderr.strip()[-200:]}"
    os.replace(tmp, dst)
    return row, "made"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    splits = json.load(open(os.path.join(args.data, "splits.json")))
    track_split = splits["real"]["track_split"]
    with open(os.path.join(args.data, "tracks.csv"), newline="") as f:
        tracks = [t for t in csv.DictReader(f) if track_split.get(t["track_id"]) == "train"]
    jobs = []
    for t in tracks:
        rng = random.Random(f"{args.seed}/{t['track_id']}")
        for codec, (_, ext) in CODECS.items():
            kbps = rng.choice(CODEC_RATES_KBPS)
            dst = os.path.join(args.data, "codecs", codec, f"{t['track_id']}.{ext}")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            jobs.append((t["track_id"], codec, kbps, t["audio_path"], dst))
    log(f"{len(jobs)} copies of {len(tracks)} train tracks")
    rows, failed = [], 0
    t0 = time.time()
    with Pool(args.jobs) as pool:
        for i, (row, status) in enumerate(pool.imap_unordered(copy_job, jobs)):
            if row is None:
                failed += 1
                log(f"  failed: {status}")
            else:
                rows.append(row)
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{len(jobs)} in {time.time() - t0:.0f}s")
    rows.sort(key=lambda r: (r["track_id"], r["codec"]))
    out = os.path.join(args.data, "codecs.csv")
    with open(out + ".part", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(out + ".part", out)
    log(f"{len(rows)} copies ({failed} failed) in {time.time() - t0:.0f}s -> {out}")


if __name__ == "__main__":
    main()
