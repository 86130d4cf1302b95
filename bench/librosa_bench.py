"""librosa's log-mel of the same clip, timed the same way (median of runs after a warm-up).

Usage: python bench/librosa_bench.py CLIP16K.wav LONG_CLIP16K.wav  → JSON on stdout
"""
import json
import sys
import time

import librosa
import numpy as np
import soundfile as sf

y, sr = sf.read(sys.argv[1], dtype="float32")
long, _ = sf.read(sys.argv[2], dtype="float32")


def logmel(y=y):
    s = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96, power=2.0,
                                       htk=False, norm="slaney", center=True, pad_mode="constant")
    return np.log10(1.0 + 10000.0 * s)


def time_ms(runs, f):
    f()
    t = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        t.append((time.perf_counter() - start) * 1e3)
    t.sort()
    return {"median": t[len(t) // 2], "min": t[0], "max": t[-1], "runs": runs}


print(json.dumps({"clip_seconds": len(y) / sr, "librosa": librosa.__version__, "logmel_ms": time_ms(30, logmel),
                  "long_clip_seconds": len(long) / sr, "logmel_long_ms": time_ms(10, lambda: logmel(long))}))
