"""Audio at known, steady tempi for the tempo benchmark, from allowed sources only:

- mma grooves (Debian `mma`, its standard library): each groove played at a tempo drawn
  (seeded, log-uniform) from 60–180 BPM, 12 bars of a chord progression, drums included;
- music21 corpus pieces (the MIDI the training data converted, when present): every tempo
  event replaced by one steady tempo drawn the same way; no drums, so onsets are notes only;
- click tracks at six tempi.

Rendered with fluidsynth (both Debian soundfonts, alternating) to 44.1 kHz WAV, the first 30 s.

Grooves and pieces are split once into two pools by a hash of their name: the tuning set draws
from one, the held-out test set from the other, so nothing the estimator was tuned on (a
groove's pattern, a piece) is heard again in the figures it is judged by.

Usage: python bench/tempo/make_set.py OUT_DIR --pool tuning|test [--seed S] [--mma N] [--music21 N]
  → OUT_DIR/truth.csv
"""

import argparse
import csv
import glob
import math
import os
import random
import re
import subprocess
import sys
import wave
import zlib

import mido
import numpy as np

SOUNDFONTS = ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2"]
CHORDS = "C Am F G C F G C Dm G Em Am".split()
SECONDS = 30.0
RATE = 44100


def in_pool(name, pool):
    """Whether groove or piece `name` belongs to `pool`: a third of them, by hash, are "test"."""
    return (zlib.crc32(name.encode()) % 3 == 0) == (pool == "test")


def draw_bpm(rng):
    # Whole BPM: mma's Tempo takes whole numbers.
    return round(math.exp(rng.uniform(math.log(60), math.log(180))))


def truncate(src, dst, seconds):
    """`src` cut after `seconds` (fluidsynth renders a whole file; a slow symphony movement
    would take minutes for the 30 s kept). The audio before the cut is unchanged."""
    mid = mido.MidiFile(src)
    out = mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat)
    track = mido.MidiTrack()
    out.tracks.append(track)
    now, tempo = 0.0, 500000
    for msg in mido.merge_tracks(mid.tracks):
        now += mido.tick2second(msg.time, mid.ticks_per_beat, tempo)
        if now > seconds or msg.type == "end_of_track":
            break
        if msg.type == "set_tempo":
            tempo = msg.tempo
        track.append(msg)
    # Silence every channel at the cut: a held organ or sax note would otherwise never end,
    # and fluidsynth renders until every voice has.
    for channel in range(16):
        for control in (123, 120):  # all notes off, all sound off
            track.append(mido.Message("control_change", channel=channel, control=control, time=0))
    out.save(dst)


def render(mid, wav, soundfont):
    tmp = wav + ".full.wav"
    short = wav + ".cut.mid"
    truncate(mid, short, SECONDS + 5.0)
    subprocess.run(
        ["fluidsynth", "-ni", "-g", "0.6", "-r", str(RATE), "-F", tmp, soundfont, short],
        check=True, capture_output=True,
    )
    os.remove(short)
    with wave.open(tmp) as w:
        frames = w.readframes(min(w.getnframes(), int(SECONDS * RATE)))
        params = w.getparams()
    with wave.open(wav, "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
    os.remove(tmp)


def mma_set(out, n, rng, pool):
    files = sorted(glob.glob("/usr/share/mma/lib/stdlib/*.mma"))
    grooves = []
    for f in files:
        for line in open(f, errors="replace"):
            m = re.match(r"^\s*DefGroove\s+(\S+)", line, re.I)
            if m and in_pool(os.path.basename(f), pool):
                grooves.append((os.path.splitext(os.path.basename(f))[0], m.group(1)))
                break
    rows = []
    for i, (name, groove) in enumerate(rng.sample(grooves, min(n, len(grooves)))):
        bpm = draw_bpm(rng)
        src = os.path.join(out, f"mma-{name}.mma")
        mid = src[:-4] + ".mid"
        with open(src, "w") as f:
            # mma humanises timing and velocity at random: seeded, a render is repeatable.
            f.write(f"RndSeed {i + 1}\nTempo {bpm}\nGroove {groove}\n")
            f.writelines(f"{bar + 1} {CHORDS[bar]}\n" for bar in range(12))
        r = subprocess.run(["mma", "-f", mid, src], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(mid):
            print(f"skip mma {name}: {r.stdout.strip()[-120:]}", file=sys.stderr)
            continue
        wav = mid[:-4] + ".wav"
        render(mid, wav, SOUNDFONTS[i % 2])
        rows.append((wav, bpm, "mma groove (drums)"))
    return rows


def steady(src, dst, bpm):
    """`src` with every tempo event removed and one at the start: `bpm` quarter notes a minute."""
    mid = mido.MidiFile(src)
    for track in mid.tracks:
        kept, carry = [], 0
        for msg in track:
            if msg.type == "set_tempo":
                carry += msg.time
                continue
            kept.append(msg.copy(time=msg.time + carry))
            carry = 0
        track[:] = kept
    mid.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    mid.save(dst)


def music21_set(out, n, rng, pool):
    cache = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
    pieces = sorted(glob.glob(os.path.join(cache, "training-data", "midi", "music21", "*.mid")))
    pieces = [p for p in pieces if in_pool(os.path.basename(p), pool)]
    rows = []
    for i, src in enumerate(rng.sample(pieces, min(n, len(pieces)))):
        bpm = draw_bpm(rng)
        base = os.path.join(out, "m21-" + os.path.basename(src)[:-4])
        try:
            steady(src, base + ".mid", bpm)
            if mido.MidiFile(base + ".mid").length < 12:
                continue
            render(base + ".mid", base + ".wav", SOUNDFONTS[i % 2])
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            print(f"skip {src}: {e}", file=sys.stderr)
            continue
        rows.append((base + ".wav", bpm, "music21 piece (no drums)"))
    return rows


def click_set(out):
    rows = []
    for bpm in (60.0, 85.0, 100.0, 128.0, 150.0, 175.0):
        n = int(20 * RATE)
        y = np.zeros(n, dtype=np.float32)
        t = np.arange(int(0.02 * RATE)) / RATE
        click = (0.8 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t * 300)).astype(np.float32)
        for k in range(int(20 * bpm / 60) + 1):
            i = int(round(k * 60 / bpm * RATE))
            y[i : i + len(click)] += click[: max(0, min(len(click), n - i))]
        wav = os.path.join(out, f"clicks-{bpm:g}.wav")
        with wave.open(wav, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
        rows.append((wav, bpm, "click track"))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mma", type=int, default=40)
    ap.add_argument("--music21", type=int, default=24)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--pool", choices=("tuning", "test"), required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    rows = (
        mma_set(args.out, args.mma, rng, args.pool)
        + music21_set(args.out, args.music21, rng, args.pool)
    ) + click_set(args.out)
    with open(os.path.join(args.out, "truth.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "bpm", "kind"])
        w.writerows(rows)
    print(f"{len(rows)} files in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
