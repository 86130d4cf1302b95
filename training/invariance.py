#!/usr/bin/env python3
"""How far a buyer's copy of a track moves its embedding: gain, lossy re-encoding, sample rate,
trim. For every track of a split, transformed copies are made with ffmpeg and embedded with the
product itself (`simsong embed`); reported per transform: the cosine of each copy with its
original, and self-retrieval top-1 (is the original the copy's nearest neighbour among all
the split's originals?).

    python3 training/invariance.py --split test --model models/simsong.onnx \
        --json models/invariance-test.json

Also builds the committed fixture set of tests/invariance.rs (`--make-fixtures DIR`): short
excerpts of a few tracks and their copies, small enough for the repository.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DATA = os.path.join(CACHE, "training-data")

# name -> (ffmpeg output options, extension). Gains are applied in float and written to float-
# capable codecs (Vorbis, FLAC 24-bit) so +6 dB does not clip at the encoder.
TRANSFORMS = {
    "gain_-20dB": (["-af", "volume=-20dB", "-c:a", "libvorbis", "-q:a", "6"], "ogg"),
    "gain_+6dB": (["-af", "volume=6dB", "-c:a", "libvorbis", "-q:a", "6"], "ogg"),
    "mp3_64k": (["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
    "mp3_128k": (["-c:a", "libmp3lame", "-b:a", "128k"], "mp3"),
    "ogg_64k": (["-c:a", "libvorbis", "-b:a", "64k"], "ogg"),
    "ogg_-6dB_96k": (["-af", "volume=-6dB", "-c:a", "libvorbis", "-b:a", "96k"], "ogg"),
    "rate_8k": (["-ar", "8000", "-c:a", "flac"], "flac"),
    "rate_22k": (["-ar", "22050", "-c:a", "flac"], "flac"),
    "rate_48k": (["-ar", "48000", "-c:a", "flac"], "flac"),
    "trim_3s": (["-ss", "3", "-c:a", "flac"], "flac"),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ffmpeg(src, dst, opts, pre=()):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *pre, "-i", src, *opts, dst], check=True)


def make_copies(src, out_dir, stem):
    paths = {}
    for name, (opts, ext) in TRANSFORMS.items():
        dst = os.path.join(out_dir, f"{stem}.{name}.{ext}")
        if name == "trim_3s":
            ffmpeg(src, dst, opts[2:], pre=["-ss", "3"])
        else:
            ffmpeg(src, dst, opts)
        paths[name] = dst
    return paths


def embed(bin_, model, files, out_npy):
    r = subprocess.run([bin_, "embed", "--model", model, "--out", out_npy, *files],
                       capture_output=True, text=True)
    if r.returncode not in (0, 2):
        raise RuntimeError(r.stderr[-2000:])
    e = np.load(out_npy)
    paths = open(out_npy + ".paths.txt").read().splitlines()
    return dict(zip(paths, e))


def measure(originals, copies, emb):
    """originals: [path]; copies: {transform: {original path: copy path}}."""
    keys = [p for p in originals if p in emb]
    base = np.stack([emb[p] for p in keys])
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    out = {}
    for name, pairs in copies.items():
        cos, hits, n = [], 0, 0
        for i, p in enumerate(keys):
            c = pairs.get(p)
            if c is None or c not in emb:
                continue
            v = emb[c] / np.linalg.norm(emb[c])
            sims = base @ v
            cos.append(float(sims[i]))
            hits += int(np.argmax(sims) == i)
            n += 1
        out[name] = {"copies": n, "top1": hits / max(n, 1), "cos_mean": float(np.mean(cos)),
                     "cos_min": float(np.min(cos))}
    n_all = sum(v["copies"] for v in out.values())
    out["all"] = {"copies": n_all, "top1": sum(v["top1"] * v["copies"] for v in out.values()) / max(n_all, 1),
                  "cos_mean": float(np.mean([v["cos_mean"] for v in out.values()])),
                  "cos_min": float(min(v["cos_min"] for v in out.values()))}
    return out


def split_tracks(split):
    splits = json.load(open(os.path.join(DATA, "splits.json")))["real"]["track_split"]
    rows = list(csv.DictReader(open(os.path.join(DATA, "tracks.csv"), newline="")))
    return [r for r in rows if splits.get(r["track_id"]) == split]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test")
    ap.add_argument("--model", default="models/simsong.onnx")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "target")),
                                                  "release", "simsong"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--max-seconds", type=float, default=30,
                    help="each track is cut to its first N s before the copies are made (time)")
    args = ap.parse_args()
    t0 = time.time()
    tracks = split_tracks(args.split)
    with tempfile.TemporaryDirectory() as td:
        originals, copies = [], {n: {} for n in TRANSFORMS}
        for i, t in enumerate(tracks):
            src = os.path.join(td, f"t{i:04d}.flac")
            ffmpeg(t["audio_path"], src, ["-t", str(args.max_seconds), "-c:a", "flac"])
            originals.append(src)
            for name, path in make_copies(src, td, f"t{i:04d}").items():
                copies[name][src] = path
        log(f"{len(tracks)} tracks x {len(TRANSFORMS)} copies made in {time.time() - t0:.0f} s")
        files = originals + [p for c in copies.values() for p in c.values()]
        emb = embed(args.bin, args.model, files, os.path.join(td, "emb.npy"))
    res = measure(originals, copies, emb)
    res["_meta"] = {"split": args.split, "tracks": len(tracks), "model": args.model,
                    "max_seconds": args.max_seconds, "seconds": round(time.time() - t0)}
    for name, v in res.items():
        if not name.startswith("_"):
            log(f"{name:14s} top-1 {v['top1']:.3f}  cos mean {v['cos_mean']:.4f} min {v['cos_min']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
