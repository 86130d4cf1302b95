#!/usr/bin/env python3
"""The version-detection evaluation set (issue #30): edited copies of real tracks (positives)
and hard negatives, all from the allowed data (../shared/DESIGN.md, `training/prepare_data.sh`).

    python3 bench/versions/make_set.py [--per-package 4] [--seed 30] [--out DIR]

Writes DIR/pairs.csv (columns a, b, kind, label, package, fold, detail) and the edited files
under DIR/edits/ (Ogg Vorbis q5 unless the edit is a codec of its own); DIR defaults to ~/.cache/simsong/versions-set. Resumable: an edit already on
disk is not made again. Every edit's parameters come from a RNG seeded by (seed, track, kind),
so a rerun makes the same set.

Positives: each chosen track against its edits (`kind` names the edit), the codec copies of
`codecs.csv` included. Negatives (label 0): other tracks of the same package, originals and
edited, so that "edited" is no cue (`same-package`, `same-package-edited`); and renders of
the same MIDI excerpt with another instrument (`same-midi`): the same notes, not the same
recording. `fold` is the package's fold in the cross-validation plan, so thresholds are tuned
on three folds and scored on the fourth.
"""
import argparse
import csv
import hashlib
import json
import os
import random
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CACHE = Path(os.environ.get("SIMSONG_CACHE", Path.home() / ".cache/simsong"))
DATA = CACHE / "training-data"

# (kind, minimum source length in seconds): the edits made of every chosen track.
EDITS = [
    ("gain", 0), ("fades-offset", 8), ("cut-60", 75), ("cut-30", 40), ("cut-15", 25),
    ("intro-ending-30", 45), ("loop", 20), ("tempo-atempo", 0), ("tempo-rubberband", 0),
    ("pitch", 0), ("speed", 0), ("mastering", 0), ("mono-mp3-96", 0), ("combo", 40),
]


def rng_for(seed, track, kind):
    h = hashlib.sha256(f"{seed}|{track}|{kind}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "little"))


def signed(r, lo, hi):
    return r.choice([-1, 1]) * r.uniform(lo, hi)


def edit_filter(kind, dur, r):
    """(ffmpeg -af or -filter_complex, output extension and codec args, detail) of one edit."""
    # Kept as Vorbis at ~160 kb/s unless the edit names its own codec: lossless copies of
    # 1,000+ edited tracks would not fit this machine's disk, and at that rate the encoding
    # alone leaves ~95% of a track's peaks where they were (the codec pairs measure it).
    default_codec = ("ogg", ["-c:a", "libvorbis", "-q:a", "5"])
    if kind == "gain":
        db = r.uniform(-20, 6)
        af = f"volume={db:.1f}dB" + (",alimiter=limit=0.98" if db > 0 else "")
        return ("af", af), default_codec, f"{db:+.1f} dB"
    if kind == "fades-offset":
        start = r.uniform(0.5, 2.0)
        af = f"atrim=start={start:.2f},asetpts=PTS-STARTPTS,afade=t=in:d=2,areverse,afade=t=in:d=5,areverse"
        return ("af", af), default_codec, f"starts {start:.2f} s in, fades 2 s / 5 s"
    if kind in ("cut-60", "cut-30", "cut-15"):
        length = int(kind.split("-")[1])
        start = r.uniform(0, max(0.0, dur - length - 1))
        af = (f"atrim=start={start:.2f}:duration={length},asetpts=PTS-STARTPTS,"
              f"afade=t=in:d=0.5,areverse,afade=t=in:d=2,areverse")
        return ("af", af), default_codec, f"{length} s from {start:.1f} s"
    if kind == "intro-ending-30":
        fc = ("[s1]atrim=end=15.5,asetpts=PTS-STARTPTS[a];"
              f"[s2]atrim=start={dur - 15.5:.2f},asetpts=PTS-STARTPTS[b];[a][b]acrossfade=d=1")
        return ("fc", fc), default_codec, "first 15.5 s + last 15.5 s, 1 s crossfade"
    if kind == "loop":
        section = r.uniform(6, 12)
        start = r.uniform(0, max(0.0, dur - section - 1))
        af = (f"atrim=start={start:.2f}:duration={section:.2f},asetpts=PTS-STARTPTS,"
              f"aloop=loop=-1:size={int(section * 48000)},atrim=duration=45")
        return ("af", af), default_codec, f"{section:.1f} s from {start:.1f} s, looped to 45 s"
    if kind == "tempo-atempo":
        t = 1 + signed(r, 0.01, 0.04)
        return ("af", f"atempo={t:.4f}"), default_codec, f"tempo x{t:.4f}"
    if kind == "tempo-rubberband":
        t = 1 + signed(r, 0.01, 0.04)
        return ("af", f"rubberband=tempo={t:.4f}"), default_codec, f"tempo x{t:.4f}"
    if kind == "pitch":
        st = signed(r, 0.25, 1.0)
        return ("af", f"rubberband=pitch={2 ** (st / 12):.5f}"), default_codec, f"pitch {st:+.2f} st"
    if kind == "speed":
        s = 1 + signed(r, 0.01, 0.04)
        return ("af", f"asetrate={48000 * s:.0f},aresample=48000"), default_codec, f"speed x{s:.4f}"
    if kind == "mastering":
        af = (f"lowshelf=g={r.uniform(-6, 6):.1f}:f=150,highshelf=g={r.uniform(-6, 6):.1f}:f=4000,"
              "acompressor=threshold=0.1:ratio=4,alimiter=limit=0.95")
        return ("af", af), default_codec, "shelves, compressor, limiter"
    if kind == "mono-mp3-96":
        return ("af", "pan=mono|c0=0.5*c0+0.5*c1"), ("mp3", ["-c:a", "libmp3lame", "-b:a", "96k"]), "mono, MP3 96 kb/s"
    if kind == "combo":
        start = r.uniform(0, max(0.0, dur - 31))
        db = r.uniform(-12, 3)
        t = 1 + signed(r, 0.01, 0.03)
        af = (f"atrim=start={start:.2f}:duration=30,asetpts=PTS-STARTPTS,atempo={t:.4f},"
              f"volume={db:.1f}dB,afade=t=in:d=0.5,areverse,afade=t=in:d=2,areverse")
        return ("af", af), ("ogg", ["-c:a", "libvorbis", "-q:a", "2"]), f"30 s from {start:.1f} s, tempo x{t:.4f}, {db:+.1f} dB, Vorbis q2"
    raise ValueError(kind)


def make_edit(src, dst, spec, codec):
    if dst.exists() and dst.stat().st_size > 0:
        return True
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part" + dst.suffix)
    how, filt = spec
    # The source is resampled to 48 kHz stereo first, so every filter sees one format.
    pre = "aresample=48000,aformat=channel_layouts=stereo"
    args = ["ffmpeg", "-v", "error", "-y", "-i", str(src)]
    if how == "af":
        args += ["-af", f"{pre},{filt}"]
    else:
        # Two copies of the (resampled) input, [s1] and [s2], for filters that join pieces.
        args += ["-filter_complex", f"[0]{pre},asplit=2[s1][s2];{filt}"]
    args += codec + ["-f", dst.suffix.lstrip("."), str(tmp)]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"make_set: {dst.name}: {p.stderr.strip()[:300]}", file=sys.stderr)
        tmp.unlink(missing_ok=True)
        return False
    tmp.rename(dst)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-package", type=int, default=4)
    ap.add_argument("--negatives", type=int, default=4, help="same-package negatives per chosen track")
    ap.add_argument("--midi-groups", type=int, default=200)
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=CACHE / "versions-set")
    ap.add_argument("--existing-only", action="store_true",
                    help="make no edit: write the pairs of the edits already made (a set still being made, measured as it stands)")
    args = ap.parse_args()

    tracks = list(csv.DictReader(open(DATA / "tracks.csv")))
    plans = sorted((DATA / "cv").glob("plan-*/plan.json"))
    if not plans:
        sys.exit("make_set: no cross-validation plan (training/cv.sh makes it)")
    plan = json.loads(plans[0].read_text())
    package_fold, piece_fold = plan["package_fold"], plan["piece_fold"]
    by_package = defaultdict(list)
    for t in tracks:
        by_package[t["package"]].append(t)
    rows, jobs = [], []
    out = args.out
    for package in sorted(by_package):
        members = sorted(by_package[package], key=lambda t: t["track_id"])
        r = random.Random(f"{args.seed}|{package}")
        chosen = r.sample(members, min(args.per_package, len(members)))
        fold = package_fold[package]
        for t in chosen:
            src, dur = Path(t["audio_path"]), float(t["duration_s"])
            tid = hashlib.sha256(t["track_id"].encode()).hexdigest()[:12]
            edits = []
            for kind, min_len in EDITS:
                if dur < min_len:
                    continue
                spec, (ext, codec), detail = edit_filter(kind, dur, rng_for(args.seed, t["track_id"], kind))
                dst = out / "edits" / kind / f"{tid}.{ext}"
                jobs.append((src, dst, spec, codec))
                edits.append(dst)
                rows.append(dict(a=src, b=dst, kind=kind, label=1, package=package, fold=fold, detail=detail))
            others = [o for o in members if o is not t]
            for o in r.sample(others, min(args.negatives, len(others))):
                rows.append(dict(a=src, b=o["audio_path"], kind="same-package", label=0, package=package, fold=fold, detail=""))
                if edits:
                    e = r.choice(edits)
                    rows.append(dict(a=e, b=o["audio_path"], kind="same-package-edited", label=0, package=package, fold=fold,
                                     detail=e.parent.name))
    codecs = list(csv.DictReader(open(DATA / "codecs.csv")))
    chosen_paths = {str(x["a"]) for x in rows if x["label"] == 1}
    pkg_of = {t["audio_path"]: t["package"] for t in tracks}
    for c in codecs:
        if c["source_path"] in chosen_paths:
            p = pkg_of[c["source_path"]]
            rows.append(dict(a=c["source_path"], b=c["audio_path"], kind=f"codec-{c['codec']}-{c['kbps']}", label=1,
                             package=p, fold=package_fold[p], detail=""))
    # Same MIDI excerpt, other instrument: groups of renders of one (piece, excerpt).
    renders = list(csv.DictReader(open(DATA / "renders.csv")))
    groups = defaultdict(list)
    for x in renders:
        groups[(x["piece_id"], x["excerpt_start_s"])].append(x)
    r = random.Random(f"{args.seed}|midi")
    keys = sorted(groups)
    for key in r.sample(keys, min(args.midi_groups, len(keys))):
        g = sorted(groups[key], key=lambda x: x["clip_id"])
        a, b = r.sample(g, 2)
        if a["class"] == b["class"]:
            continue
        rows.append(dict(a=a["audio_path"], b=b["audio_path"], kind="same-midi", label=0, package=key[0],
                         fold=piece_fold.get(key[0], -1), detail=f"{a['class']} vs {b['class']}"))
    print(f"make_set: {len(jobs)} edits to make or check, {len(rows)} pairs", file=sys.stderr)
    if args.existing_only:
        ok = [j[1].exists() for j in jobs]
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            ok = list(pool.map(lambda j: make_edit(*j), jobs))
    failed = {str(j[1]) for j, good in zip(jobs, ok) if not good}
    # A track none of whose edits exists yet leaves the set whole, negatives included, so that
    # a partial set is a smaller set of the same kind.
    made = {str(row["a"]) for row in rows if row["label"] == 1 and str(row["b"]) not in failed
            and "/edits/" in str(row["b"])}
    rows = [row for row in rows if row["kind"] == "same-midi" or str(row["a"]) in made
            or "/edits/" in str(row["a"]) and str(row["a"]) not in failed]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "pairs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["a", "b", "kind", "label", "package", "fold", "detail"])
        w.writeheader()
        for row in rows:
            if str(row["a"]) in failed or str(row["b"]) in failed:
                continue
            w.writerow({k: str(v) for k, v in row.items()})
    what = "not made yet" if args.existing_only else "failed"
    print(f"make_set: wrote {out / 'pairs.csv'} ({len(rows)} pairs; {len(failed)} edits {what})", file=sys.stderr)


if __name__ == "__main__":
    main()
