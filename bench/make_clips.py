"""Writes the benchmark clips: 30 s and 3 min, at 16 kHz mono and at 44.1 kHz stereo, by
repeating the real-music fixture (timings do not depend on what the music is).

Usage: python bench/make_clips.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

root = Path(__file__).resolve().parent.parent / "tests/fixtures/audio"
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for name, src in [("16k", "real_music_a_16k.wav"), ("44k", "real_music_a_44k.wav")]:
    y, sr = sf.read(root / src, dtype="int16", always_2d=True)
    for seconds in (30, 180):
        reps = int(np.ceil(seconds * sr / len(y)))
        clip = np.tile(y, (reps, 1))[: seconds * sr]
        sf.write(out / f"clip{seconds}_{name}.wav", clip, sr, subtype="PCM_16")
print(f"clips written to {out}", file=sys.stderr)
