#!/usr/bin/env python3
"""Cache the teacher's embeddings of the training audio, once, offline.

    PY=$(training/torchenv.sh | tail -n 1)
    nice -n 10 "$PY" training/teacher_embed.py [--real-patches 8] [--render-patches 1]

The teacher is aiSFX (PyPI `aisfx` 0.1.2, weights inside the wheel, CC BY 4.0: A. B. Ma and
A. Lerch, "Representation Learning for the Automatic Indexing of Sound Effects Libraries",
ISMIR 2022). Nothing of it ships: the student (train.py) learns from these cached vectors.

For every patch the student sees (the windows `simsong features` exported, `patch_starts_s` in
features/<set>/index.csv), the same 2.992 s of audio is decoded at 44.1 kHz with ffmpeg and run
through the teacher exactly as aisfx's librosa path prepares it: the file peak-normalised,
96 HTK mel bands 0-22.05 kHz with unit-area filters, n_fft 2048, hop 1024, centred STFT,
`log10(1 + 10000 S)`, divided by the package's "original" maximum 9.4578; the 512-d output of
`EmbeddingNet` (mean over frequency, max over time). One 129-frame block per patch instead of
the package's 100-frame blocks: the network pools globally, so it takes any length.

Writes $DATA/teacher/<set>.npz: `emb` float16 [N, 512], `file_row` int32 [N] (row of index.csv),
`patch` int32 [N] (patch of that file's .npy), and `paths` (index.csv's path column).
Restartable: finished sets are skipped unless --force.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np
import torch

CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
SR = 44100
N_FFT, HOP, N_MELS = 2048, 1024, 96
PATCH_S = 187 * 256 / 16000  # the student's patch: 187 frames of 256 samples at 16 kHz
SPEC_MAX = 9.457798957824707  # aisfx spectrogram_normalize(spec_norm='original')


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def hz_to_mel_htk(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz_htk(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filters():
    """librosa.filters.mel(sr=44100, n_fft=2048, n_mels=96, fmin=0, fmax=22050, htk=True, norm=1)."""
    fft_freqs = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz_htk(np.linspace(hz_to_mel_htk(0.0), hz_to_mel_htk(SR / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    w = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-10)  # norm=1: unit L1 norm per filter
    return w.astype(np.float32)


FILTERS = mel_filters()
WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def teacher_input(y):
    """[frames, 96] teacher input of mono 44.1 kHz samples (librosa's centred, reflect-padded STFT)."""
    if len(y) < N_FFT // 2 + 1:
        y = np.pad(y, (0, N_FFT // 2 + 1 - len(y)))
    y = np.pad(y, N_FFT // 2, mode="reflect")
    n = 1 + (len(y) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * WINDOW, axis=1)) ** 2
    mel = spec @ FILTERS.T
    return (np.log10(1.0 + 10000.0 * mel) / SPEC_MAX).astype(np.float32)


def decode(path):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", str(SR),
                        "-f", "f32le", "-"], capture_output=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace")[-300:])
    y = np.frombuffer(r.stdout, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y / peak if peak > 0 else y


def load_teacher():
    """aisfx's best model (X-Sequential-CE), as `aisfx.inference.load_bestModel` builds it. The
    package's own __init__ imports tqdm and librosa, which the teacher does not need, so the
    network module and the checkpoint are loaded from the installed files directly."""
    import importlib.util
    spec = importlib.util.find_spec("aisfx")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("teacher_embed.py: aisfx is not installed (training/torchenv.sh installs it)")
    root = list(spec.submodule_search_locations)[0]
    mod_spec = importlib.util.spec_from_file_location("aisfx_cnn2d", os.path.join(root, "models", "cnn2d.py"))
    cnn2d = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(cnn2d)
    weights, ds_dict = torch.load(os.path.join(root, "models", "checkpoint.pth"),
                                  map_location=torch.device("cpu"))
    model = cnn2d.CrossNet(cnn2d.EmbeddingNet("max", 3, 1, 64), ds_dict, "cpu")
    model.load_state_dict(weights)
    return model.eval()


def pick(n, k):
    """k patch indices spread evenly over n (all when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (k - 1))) for i in range(k)}) if k > 1 else [n // 2]


def embed_set(model, data, name, per_file, batch):
    index = os.path.join(data, "features", name, "index.csv")
    rows = list(csv.DictReader(open(index, newline="")))
    embs, files, patches = [], [], []
    t0 = time.time()
    pending, pending_ids = [], []

    def flush():
        if not pending:
            return
        x = torch.from_numpy(np.stack(pending))
        with torch.no_grad():
            embs.append(model.get_embedding(x).numpy().astype(np.float16))
        files.extend(i for i, _ in pending_ids)
        patches.extend(p for _, p in pending_ids)
        pending.clear()
        pending_ids.clear()

    frames = 1 + int(PATCH_S * SR) // HOP
    for i, r in enumerate(rows):
        starts = [float(s) for s in r["patch_starts_s"].split(";") if s]
        try:
            y = decode(r["path"])
        except Exception as e:  # reported and skipped: the student simply gets no teacher term
            log(f"  {name}: cannot decode {r['path']}: {e}")
            continue
        for p in pick(len(starts), per_file):
            a = int(starts[p] * SR)
            seg = y[a:a + int(PATCH_S * SR)]
            spec = teacher_input(seg)
            if spec.shape[0] < frames:
                spec = np.pad(spec, ((0, frames - spec.shape[0]), (0, 0)))
            pending.append(spec[:frames])
            pending_ids.append((i, p))
            if len(pending) >= batch:
                flush()
        if (i + 1) % 50 == 0:
            done = sum(len(e) for e in embs)
            log(f"  {name}: {i + 1}/{len(rows)} files, {done} patches, {time.time() - t0:.0f} s")
    flush()
    out = os.path.join(data, "teacher", name + ".npz")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez(out + ".part.npz", emb=np.concatenate(embs) if embs else np.zeros((0, 512), np.float16),
             file_row=np.asarray(files, np.int32), patch=np.asarray(patches, np.int32),
             paths=np.asarray([r["path"] for r in rows]))
    os.replace(out + ".part.npz", out)
    log(f"{name}: {len(files)} teacher embeddings of {len(rows)} files in {time.time() - t0:.0f} s -> {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--real-patches", type=int, default=8, help="patches per real track")
    ap.add_argument("--render-patches", type=int, default=1, help="patches per render clip")
    ap.add_argument("--sets", default="real,renders")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_teacher()
    for name in args.sets.split(","):
        out = os.path.join(args.data, "teacher", name + ".npz")
        if os.path.exists(out) and not args.force:
            log(f"{name}: cached ({out})")
            continue
        per_file = args.real_patches if name == "real" else args.render_patches
        embed_set(model, args.data, name, per_file, args.batch)


if __name__ == "__main__":
    main()
