#!/usr/bin/env python3
"""Render labelled main-instrument clips from MIDI with fluidsynth.

    PY=$(scripts/pyenv.sh training/requirements.txt)
    nice -n 19 "$PY" training/render_midi.py [--jobs 2] [--max-pieces N] [--seed 1234]

Sources (all licensed for this use, see training/README.md):
  music21   the corpus shipped in the PyPI package music21 (Bach chorales, Palestrina, folk tunes ...)
  mma       one groove per style file of Debian's `mma` library (16 bars of a seeded chord progression)
  planetblupi  the MIDI files of Debian's `planetblupi-music-midi` (3 excerpts per file)

For every piece one excerpt window (20-30 s, seeded) is chosen, and the SAME window is rendered once
per class, so classes differ by timbre only, never by notes. Pieces with two or more melodic
channels are also rendered as *mixes* (`--mixes`, on by default): once per class, the class on the
lead channel at full volume and the other channels on programs of other classes about 8 dB lower,
so the instrument head learns the leading instrument of an ensemble, not only solo timbres
(`mix` column: 1). Every melodic channel's program is set
to one General MIDI program drawn (seeded) from the class's family; bank selects and the piece's own
program changes are dropped. Pieces with a drum channel (MIDI channel 10) keep it in about half of
their renders (seeded; the `drums` column says which). The soundfont alternates between FluidR3_GM
(fluid-soundfont-gm) and TimGM6mb (timgm6mb-soundfont), 3 classes each per piece, swapped per piece.
Audio: fluidsynth 44.1 kHz 16-bit stereo, peak-normalised to -1 dBFS, FLAC via ffmpeg. Renders whose
RMS is below -50 dBFS are skipped (logged).

Writes under ${SIMSONG_CACHE:-~/.cache/simsong}/training-data/:
  midi/<source>/...mid     source MIDI (music21 and mma conversions, cached)
  renders/<class>/<clip_id>.flac
  renders.csv              clip_id, piece_id, source, class, gm_program, soundfont, drums, mix,
                           audio_path, duration_s, excerpt_start_s
"""
import argparse
import csv
import glob
import hashlib
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import wave
import multiprocessing
from multiprocessing import Pool

import mido
import numpy as np

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DEFAULT_OUT = os.path.join(CACHE, "training-data")

# class -> General MIDI programs (1-based, as in the GM table)
CLASSES = {
    "piano": list(range(1, 9)),             # acoustic/electric pianos, harpsichord, clavinet
    "acoustic_guitar": [25, 26],            # nylon, steel
    "electric_guitar": list(range(27, 33)),  # jazz, clean, muted, overdriven, distortion, harmonics
    "synth": list(range(81, 97)),           # synth lead 1-8 + synth pad 1-8
    "strings": [41, 42, 43, 44, 45, 46, 49, 50, 51, 52],  # 41-52 minus harp (47) and timpani (48)
    "brass": list(range(57, 65)),           # trumpet ... synth brass 2
}
# optional extra classes (--classes piano,...,organ,reed)
EXTRA_CLASSES = {
    "organ": list(range(17, 25)),
    "reed": list(range(65, 73)),
    "pipe": list(range(73, 81)),
}
SOUNDFONTS = {
    "FluidR3_GM": "/usr/share/sounds/sf2/FluidR3_GM.sf2",   # Debian fluid-soundfont-gm
    "TimGM6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2",       # Debian timgm6mb-soundfont
}
M21_CONVERT_TIMEOUT_S = 90
# a 20-30 s excerpt renders in a few seconds; past this fluidsynth is stuck (see render_job)
FLUIDSYNTH_TIMEOUT_S = 60
FIELDS = ["clip_id", "piece_id", "source", "class", "gm_program", "soundfont", "drums", "mix",
          "audio_path", "duration_s", "excerpt_start_s"]

# music21 corpus quotas: composer folder -> number of pieces (seeded sample). Roman-numeral
# analyses (.rntxt) are skipped: they are block-chord reductions, not pieces.
M21_QUOTAS = {"bach": 160, "palestrina": 120, "ryansMammoth": 80, "trecento": 60, "monteverdi": 49,
              "oneills1850": 39, "essenFolksong": 31, "beethoven": 26, "mozart": 16, "haydn": 9,
              "josquin": 8, "schumann_robert": 7, "airdsAirs": 6, "schumann_clara": 5,
              "joplin": 1, "chopin": 1, "handel": 1, "corelli": 1, "cpebach": 1, "schubert": 1,
              "verdi": 1, "weber": 1, "beach": 1, "miscFolk": 2, "luca": 1, "ciconia": 1,
              "lusitano": 1, "johnson_j_r": 1, "liliuokalani": 1, "leadSheet": 2}
# A mix render puts the labelled class on the piece's lead channel (most melodic notes, ties to
# the higher mean pitch) at full channel volume and every other melodic channel on a program of
# another class at MIX_ACCOMP_VOLUME (MIDI CC 7; fluidsynth's curve makes 80 about -8 dB).
MIX_ACCOMP_VOLUME = 80
PROGRESSIONS = [
    "C Am F G", "C G Am F", "Dm7 G7 Cmaj7 Cmaj7", "Am F C G", "C C F G", "Em C G D",
    "A D E A", "Cm Ab Eb Bb", "F Bb C F", "G Em C D", "Am Dm E7 Am", "D Bm G A",
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def h(s):
    return int(hashlib.sha1(s.encode()).hexdigest()[:12], 16)


# ------------------------------------------------------------------ sources

def m21_convert(args):
    path, dst = args
    if os.path.exists(dst):
        return dst
    try:
        from music21 import corpus
        s = corpus.parse(path)
        if type(s).__name__ == "Opus":
            s = s.scores[0]
        tmp = dst + ".part.mid"
        s.write("midi", fp=tmp)
        os.replace(tmp, dst)
        return dst
    except Exception as e:
        log(f"  music21 skip {path}: {type(e).__name__}: {str(e)[:100]}")
        return None


def music21_pieces(out, seed, jobs, quota_scale=1.0):
    from music21 import corpus
    paths = sorted(str(p) for p in corpus.getCorePaths())
    rng = random.Random(seed)
    todo = []
    for comp, n in M21_QUOTAS.items():
        n = max(1, round(n * quota_scale))
        cands = [p for p in paths if f"/corpus/{comp}/" in p and not p.endswith(".rntxt")]
        for p in rng.sample(cands, min(n, len(cands))):
            rel = p.split("/corpus/", 1)[1]
            dst = os.path.join(out, "midi", "music21", re.sub(r"[^A-Za-z0-9_.-]", "_", rel) + ".mid")
            todo.append((p, dst, rel))
    os.makedirs(os.path.join(out, "midi", "music21"), exist_ok=True)
    # music21 parses a few large scores (string quartets in MusicXML) for many minutes: each
    # conversion gets M21_CONVERT_TIMEOUT_S, a piece that overruns it is skipped (logged)
    with Pool(jobs) as pool:
        pending = [pool.apply_async(m21_convert, ((p, d),)) for p, d, _ in todo]
        res = []
        for (p, d, rel), job in zip(todo, pending):
            try:
                res.append(job.get(timeout=M21_CONVERT_TIMEOUT_S))
            except multiprocessing.TimeoutError:
                log(f"  music21 skip {rel}: not converted in {M21_CONVERT_TIMEOUT_S} s")
                res.append(None)
        pool.terminate()
    return [(f"music21:{rel}", "music21", r) for (p, d, rel), r in zip(todo, res) if r]


def mma_pieces(out, seed):
    d = os.path.join(out, "midi", "mma")
    os.makedirs(d, exist_ok=True)
    pieces = []
    for f in sorted(glob.glob("/usr/share/mma/lib/stdlib/*.mma")):
        groove = None
        for line in open(f, errors="replace"):
            m = re.match(r"^\s*DefGroove\s+(\S+)", line, re.I)
            if m:
                groove = m.group(1)
                break
        if not groove:
            continue
        name = os.path.splitext(os.path.basename(f))[0]
        rng = random.Random(h(f"{seed}:mma:{name}"))
        dst = os.path.join(d, name + ".mid")
        if not os.path.exists(dst):
            prog = rng.choice(PROGRESSIONS).split()
            tempo = rng.randint(80, 140)
            lines = [f"Tempo {tempo}", f"Groove {groove}"]
            for bar in range(16):
                lines.append(f"{bar + 1} {prog[bar % len(prog)]}")
            src = os.path.join(d, name + ".mma")
            with open(src, "w") as fo:
                fo.write("\n".join(lines) + "\n")
            r = subprocess.run(["mma", "-f", dst, src], capture_output=True, text=True)
            if r.returncode != 0 or not os.path.exists(dst):
                log(f"  mma skip {name}: {r.stdout.strip()[-200:]}")
                continue
        pieces.append((f"mma:{name}", "mma", dst))
    return pieces


def planetblupi_pieces():
    return [(f"planetblupi:{os.path.basename(f)}", "planetblupi", f)
            for f in sorted(glob.glob("/usr/share/planetblupi/music/*.mid"))]


# ------------------------------------------------------------------ MIDI excerpt + programs

def load_events(path):
    mid = mido.MidiFile(path)
    t, ev = 0.0, []
    for msg in mid:  # merged tracks, msg.time in seconds (tempo map applied)
        t += msg.time
        if not msg.is_meta and hasattr(msg, "channel"):
            ev.append((t, msg))
    return ev


def note_onsets(ev, drums):
    return [t for t, m in ev if m.type == "note_on" and m.velocity > 0 and (drums or m.channel != 9)]


def choose_window(ev, rng, min_len=20.0, max_len=30.0):
    """Return (start, length) of an excerpt with melodic notes, or None."""
    on = note_onsets(ev, drums=False)
    if len(on) < 8:
        return None
    first, last = on[0], on[-1]
    length = rng.uniform(min_len, max_len)
    if last - first <= length:
        return first, max(8.0, min(length, last - first + 2.0))
    for _ in range(8):
        start = rng.uniform(first, last - length)
        i = max(0, np.searchsorted(on, start) - 1)  # snap back to an onset
        start = on[i] if on[i] >= first else first
        n = sum(1 for t in on if start <= t < start + length)
        if n >= 8:
            return start, length
    return None


def lead_channel(ev):
    """The melodic channel with the most notes (ties: higher mean pitch), or None."""
    counts, pitch = {}, {}
    for _, m in ev:
        if m.type == "note_on" and m.velocity > 0 and m.channel != 9:
            counts[m.channel] = counts.get(m.channel, 0) + 1
            pitch[m.channel] = pitch.get(m.channel, 0) + m.note
    if not counts:
        return None
    return max(counts, key=lambda c: (counts[c], pitch[c] / counts[c]))


def melodic_channels(ev):
    return sorted({m.channel for _, m in ev if m.type == "note_on" and m.channel != 9})


def excerpt_midi(ev, start, length, program, drums, dst, mix=None):
    """Write a type-0 MIDI of [start, start+length) with every melodic channel on `program`, or,
    with `mix` = {channel: (program, volume)}, each listed channel on its own program and CC 7
    volume (channels not listed keep `program` at full volume)."""
    tpb, sec = 480, 960  # tempo 500000 us/beat -> 960 ticks per second
    out = []  # (abs_seconds, order, msg)
    ctrl_state = {}
    sounding = set()
    chans = set()
    end = start + length
    for t, m in ev:
        if m.channel == 9 and not drums:
            continue
        if m.type == "program_change":
            continue
        if m.type == "control_change" and m.control in (0, 32):  # bank select: stay on GM bank
            continue
        if mix and m.type == "control_change" and m.control == 7:  # the mix sets the volumes
            continue
        if t < start:
            if m.type in ("control_change", "pitchwheel"):
                key = (m.channel, m.type, getattr(m, "control", None))
                ctrl_state[key] = m
            continue
        if t >= end:
            if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
                pass  # closed below
            continue
        chans.add(m.channel)
        if m.type == "note_on" and m.velocity > 0:
            sounding.add((m.channel, m.note))
            out.append((t - start, 2, m))
        elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
            # every note-off is kept (a stray one is harmless): filtering them against the set of
            # sounding notes dropped real ones when a note restarted on the same tick, and a note
            # left on makes fluidsynth's fast render run forever
            out.append((t - start, 1, m))
        else:
            out.append((t - start, 1, m))
    for (ch, note) in sorted(sounding):  # every note started in the window ends with it
        out.append((length, 3, mido.Message("note_off", channel=ch, note=note, velocity=0)))
    for ch in sorted(chans):  # and, to be sure, "all notes off"
        out.append((length, 4, mido.Message("control_change", channel=ch, control=123, value=0)))
    head = []
    for ch in sorted(chans):
        if ch != 9:
            prog, vol = (mix or {}).get(ch, (program, None))
            head.append(mido.Message("program_change", channel=ch, program=prog - 1))
            if vol is not None:
                head.append(mido.Message("control_change", channel=ch, control=7, value=vol))
    head += [m for k, m in sorted(ctrl_state.items(), key=lambda kv: str(kv[0]))
             if m.channel in chans and not (mix and m.type == "control_change" and m.control == 7)]
    out.sort(key=lambda x: (x[0], x[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    for m in head:
        track.append(m.copy(time=0))
    last = 0
    for t, _, m in out:
        tick = int(round(t * sec))
        track.append(m.copy(time=max(0, tick - last)))
        last = max(last, tick)
    tail = int(round((length + 1.5) * sec))  # let releases ring for 1.5 s
    track.append(mido.MetaMessage("end_of_track", time=max(0, tail - last)))
    mf = mido.MidiFile(type=0, ticks_per_beat=tpb)
    mf.tracks.append(track)
    mf.save(dst)
    return sum(1 for _, _, m in out if m.type == "note_on" and m.channel != 9)


def render_job(job):
    (clip_id, piece_id, source, cls, program, sf_name, drums, start, length, midi_path, dst,
     mix) = job
    row = {"clip_id": clip_id, "piece_id": piece_id, "source": source, "class": cls,
           "gm_program": program, "soundfont": sf_name, "drums": int(drums), "mix": int(bool(mix)),
           "audio_path": dst, "excerpt_start_s": f"{start:.2f}"}
    if os.path.exists(dst):
        r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "default=nw=1:nk=1", dst], capture_output=True, text=True)
        try:
            row["duration_s"] = f"{float(r.stdout.strip()):.2f}"
            return row, "cached"
        except ValueError:
            os.remove(dst)  # unreadable leftover: render again
    try:
        ev = load_events(midi_path)
        with tempfile.TemporaryDirectory() as td:
            mid = os.path.join(td, "x.mid")
            wav = os.path.join(td, "x.wav")
            nmel = excerpt_midi(ev, start, length, program, drums, mid, mix)
            if nmel < 4:
                return None, "too few melodic notes"
            subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "44100", "-O", "s16",
                            "-T", "wav", "-F", wav, SOUNDFONTS[sf_name], mid],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=FLUIDSYNTH_TIMEOUT_S)
            with wave.open(wav) as w:
                ch, sr, n = w.getnchannels(), w.getframerate(), w.getnframes()
                x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float32) / 32768.0
            rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
            if rms < 10 ** (-50 / 20):
                return None, f"silent (rms {20 * math.log10(rms + 1e-12):.0f} dBFS)"
            peak = float(np.max(np.abs(x)))
            y = np.clip(x * (0.891 / peak), -1, 1)  # -1 dBFS peak
            norm = os.path.join(td, "n.wav")
            with wave.open(norm, "wb") as w:
                w.setnchannels(ch)
                w.setsampwidth(2)
                w.setframerate(sr)
                w.writeframes((y * 32767).astype(np.int16).tobytes())
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", norm, "-c:a", "flac",
                            dst + ".part.flac"], check=True)
            os.replace(dst + ".part.flac", dst)
            row["duration_s"] = f"{n / sr:.2f}"
            return row, "ok"
    except subprocess.TimeoutExpired:
        # fluidsynth 2.3's fast render occasionally never ends on a short excerpt (the wav grows
        # without bound); such clips are skipped, and so is the whole piece (balanced classes)
        return None, f"fluidsynth did not finish in {FLUIDSYNTH_TIMEOUT_S}s"
    except Exception as e:
        return None, f"error {type(e).__name__}: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sources", default="music21,mma,planetblupi")
    ap.add_argument("--classes", default=",".join(CLASSES),
                    help=f"comma list; extra classes available: {','.join(EXTRA_CLASSES)}")
    ap.add_argument("--max-pieces", type=int, default=0, help="cap pieces (seeded sample; 0 = all)")
    ap.add_argument("--planetblupi-excerpts", type=int, default=3)
    ap.add_argument("--m21-scale", type=float, default=1.0,
                    help="scale the music21 quotas (M21_QUOTAS, ~630 pieces at 1.0)")
    ap.add_argument("--mixes", type=int, default=1,
                    help="1: also render every piece with 2+ melodic channels as mixes (see above)")
    ap.add_argument("--time-budget-s", type=float, default=0,
                    help="stop rendering after this many seconds (0 = no limit); renders.csv then "
                         "lists the pieces whose classes all finished; re-running continues")
    args = ap.parse_args()

    families = {**CLASSES, **EXTRA_CLASSES}
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    for c in classes:
        if c not in families:
            sys.exit(f"unknown class {c}")
    for n, p in SOUNDFONTS.items():
        if not os.path.exists(p):
            sys.exit(f"missing soundfont {n} at {p} (apt-get install fluid-soundfont-gm timgm6mb-soundfont)")

    t0 = time.time()
    sources = args.sources.split(",")
    pieces = []
    if "planetblupi" in sources:
        pieces += planetblupi_pieces()
    if "mma" in sources:
        pieces += mma_pieces(args.out, args.seed)
    if "music21" in sources:
        pieces += music21_pieces(args.out, args.seed, args.jobs, args.m21_scale)
    log(f"{len(pieces)} source pieces ready in {time.time() - t0:.0f}s")
    if args.max_pieces and len(pieces) > args.max_pieces:
        pieces = sorted(random.Random(args.seed).sample(pieces, args.max_pieces))

    jobs = []
    sf_names = sorted(SOUNDFONTS)
    for piece_id, source, path in pieces:
        try:
            ev = load_events(path)
        except Exception as e:
            log(f"  unreadable {piece_id}: {e}")
            continue
        has_drums = any(m.channel == 9 and m.type == "note_on" for _, m in ev)
        n_exc = args.planetblupi_excerpts if source == "planetblupi" else 1
        for k in range(n_exc):
            rng = random.Random(h(f"{args.seed}:{piece_id}:{k}"))
            win = choose_window(ev, rng)
            if win is None:
                log(f"  no usable window in {piece_id}")
                continue
            start, length = win
            sf_offset = rng.randrange(2)
            channels = melodic_channels(ev)
            lead = lead_channel(ev)
            variants = [False] + ([True] if args.mixes and len(channels) >= 2 else [])
            for is_mix in variants:
                for ci, cls in enumerate(classes):
                    program = rng.choice(families[cls])
                    # mixes swap the soundfont assignment, so each class gets both fonts per piece
                    sf = sf_names[(ci + sf_offset + int(is_mix)) % 2]
                    drums = has_drums and rng.random() < 0.5
                    mix = None
                    if is_mix:
                        others = [c for c in classes if c != cls]
                        mix = {lead: (program, 127)}
                        for ch in channels:
                            if ch != lead:
                                mix[ch] = (rng.choice(families[rng.choice(others)]), MIX_ACCOMP_VOLUME)
                    base = re.sub(r"[^A-Za-z0-9_.-]", "_", piece_id)
                    clip_id = f"{base}-{k}{'m' if is_mix else ''}-{cls}"
                    dst = os.path.join(args.out, "renders", cls, clip_id + ".flac")
                    jobs.append((clip_id, piece_id, source, cls, program, sf, drums, start, length,
                                 path, dst, mix))
    # render piece by piece in a seeded random order, so that a run stopped by --time-budget-s
    # holds a random sample of the pieces (all classes of each), not the first sources only
    order = sorted({j[1] for j in jobs})
    random.Random(args.seed).shuffle(order)
    rank = {p: i for i, p in enumerate(order)}
    jobs.sort(key=lambda j: rank[j[1]])
    log(f"{len(jobs)} renders to do ({len(pieces)} pieces x {len(classes)} classes)")

    rows, skipped = [], 0
    t1 = time.time()
    csv_path = os.path.join(args.out, "renders.csv")

    def write_csv(rows):
        # keep only pieces whose every class rendered, so the set stays balanced across classes
        per_piece = {}
        for r in rows:
            per_piece.setdefault((r["piece_id"], r["clip_id"].rsplit("-", 2)[-2]), set()).add(r["class"])
        full = {k for k, v in per_piece.items() if len(v) == len(classes)}
        keep = sorted((r for r in rows if (r["piece_id"], r["clip_id"].rsplit("-", 2)[-2]) in full),
                      key=lambda r: r["clip_id"])
        with open(csv_path + ".part", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(keep)
        os.replace(csv_path + ".part", csv_path)
        return keep

    stopped = False
    with Pool(args.jobs) as pool:
        for i, (row, status) in enumerate(pool.imap(render_job, jobs, chunksize=2)):
            if row is None:
                skipped += 1
                log(f"  skip: {status}")
            else:
                rows.append(row)
            if (i + 1) % 100 == 0:
                log(f"  {i + 1}/{len(jobs)} in {time.time() - t1:.0f}s")
                write_csv(rows)
            if args.time_budget_s and time.time() - t1 > args.time_budget_s:
                log(f"  time budget of {args.time_budget_s}s reached after {i + 1}/{len(jobs)} renders; "
                    "re-run to continue (finished clips are cached)")
                stopped = True
                pool.terminate()
                break
    rows = write_csv(rows)
    counts = {}
    for r in rows:
        counts[r["class"]] = counts.get(r["class"], 0) + 1
    log(f"rendered {len(rows)} clips ({skipped} skipped) in {time.time() - t1:.0f}s; per class {counts}; "
        f"{len(set(r['piece_id'] for r in rows))} pieces{' (stopped early)' if stopped else ''}")


if __name__ == "__main__":
    main()
