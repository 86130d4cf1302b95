"""Seeded inputs that must give "no clear tempo": clicks and decaying piano-like notes at random
gaps (free time), white noise, brown noise (a random walk, high-passed, and one clipped at full
scale), and held chords that swell and wobble. 16 kHz mono WAV, 20-60 s.

Usage: python bench/tempo/make_bad.py OUT_DIR SEED   → OUT_DIR/*.wav and OUT_DIR/truth.csv
(bpm 0, kind "bad:<what>"), read by bad_inputs.py. The estimator's threshold was chosen on other
draws (src/tempo/mod.rs, MIN_CONFIDENCE), so these are a fresh check of it.
"""
import csv
import os
import sys
import wave

import numpy as np

RATE = 16000


def main():
    out, seed = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []

    def save(name, y, normalise=True):
        if normalise:
            y = y / max(1e-9, np.abs(y).max()) * 0.5
        with wave.open(os.path.join(out, f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
        rows.append(name)

    def free_times(secs, lo, hi):
        t, beats = 0.0, []
        while t < secs - 0.5:
            beats.append(t)
            t += lo + (hi - lo) * rng.random()
        return beats

    def clicks(beats, secs, tone=1500, decay=300):
        y = np.zeros(int(secs * RATE))
        t = np.arange(int(0.3 * RATE)) / RATE
        c = np.sin(2 * np.pi * tone * t) * np.exp(-t * decay)
        for b in beats:
            i = int(b * RATE)
            n = min(len(c), len(y) - i)
            if n > 0:
                y[i:i + n] += c[:n] * (0.5 + 0.5 * rng.random())
        return y

    for k in range(12):
        secs = [20, 30, 60][k % 3]
        lo, hi = [(0.3, 1.2), (0.15, 0.6), (0.5, 2.0), (0.2, 1.0)][k % 4]
        save(f"free{k}", clicks(free_times(secs, lo, hi), secs))
    for k in range(6):  # free-time "piano": decaying tones of random pitch at random times
        secs = [20, 40][k % 2]
        y = np.zeros(secs * RATE)
        t = np.arange(int(1.5 * RATE)) / RATE
        for b in free_times(secs, 0.2, 1.5):
            f = 110 * 2 ** (rng.integers(0, 36) / 12)
            i = int(b * RATE)
            n = min(len(t), len(y) - i)
            y[i:i + n] += (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t))[:n] * np.exp(-3 * t[:n])
        save(f"rubato{k}", y)
    for k in range(4):
        n = RATE * [20, 60][k % 2]
        save(f"white{k}", rng.standard_normal(n))
        b = np.cumsum(rng.standard_normal(n))
        b -= np.convolve(b, np.ones(4001) / 4001, "same")
        save(f"brown{k}", b)
    for k in range(2):  # a random walk left to wander and clipped at full scale
        save(f"clippedwalk{k}", np.cumsum(rng.standard_normal(RATE * 20)) * 0.002, normalise=False)
    for k in range(6):
        s = np.arange(RATE * 30) / RATE
        freqs = 110 * 2 ** (rng.integers(0, 24, 3) / 12)
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.03, 0.5) * s)
        vibrato = rng.uniform(0, 6)
        save(f"chord{k}", swell * sum(np.sin(2 * np.pi * f * s + 0.3 * np.sin(2 * np.pi * vibrato * s)) for f in freqs))
    with open(os.path.join(out, "truth.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "bpm", "kind"])
        for r in rows:
            w.writerow([os.path.join(out, f"{r}.wav"), 0, "bad:" + r.rstrip("0123456789")])


if __name__ == "__main__":
    main()
