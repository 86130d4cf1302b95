"""Training data for the student: exported log-mel patches, their teacher embeddings, splits,
and the augmentations that teach the invariances a buyer's file needs.

Patches come from `simsong features` (the product's Rust front end, version 3: every patch
loudness-normalised to a mean mel power of PATCH_LOUDNESS_TARGET, then `log10(1 + 1e4 S)`), so
the model sees exactly what the product computes. The log compression is invertible, so the
augmentations work on mel power and re-normalise like the front end does.
"""
import csv
import json
import os
import sys
import time

import numpy as np
import torch

from cv_score import fit_teacher_projection
from net import CLASSES, FRAMES, N_MELS

LOG_GAIN = 1e4
# must equal PATCH_LOUDNESS_TARGET / PATCH_LOUDNESS_FLOOR in src/params.rs
PATCH_LOUDNESS_TARGET = 0.3
PATCH_LOUDNESS_FLOOR = PATCH_LOUDNESS_TARGET * 1e-6
FMAX_HZ = 8000.0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def slaney_mel_centres(n_mels=N_MELS, fmax=FMAX_HZ):
    """Centre frequencies (Hz) of the product's Slaney mel bands (librosa.mel_frequencies)."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def to_mel(f):
        return f / f_sp if f < min_log_hz else min_log_mel + np.log(f / min_log_hz) / logstep

    mels = np.linspace(0.0, to_mel(fmax), n_mels + 2)[1:-1]
    return np.where(mels < min_log_mel, mels * f_sp, min_log_hz * np.exp(logstep * (mels - min_log_mel)))


BAND_HZ = torch.from_numpy(slaney_mel_centres()).float()


def load_feature_index(folder):
    """path -> (npy file, patch count) from `simsong features`' index.csv."""
    return {r["path"]: (os.path.join(folder, r["npy"]), int(r["patches"]))
            for r in read_csv(os.path.join(folder, "index.csv"))}


def load_teacher(data, name, transform=None):
    """path -> {patch index: teacher vector} from teacher_embed.py's cache: by default the 512-d
    embeddings centred and scaled per dimension with statistics of the whole set (the raw ones
    are non-negative ReLU maxima: all cosines would be near 1); with `transform` (raw rows ->
    rows, e.g. teacher_projection's), that instead."""
    path = os.path.join(data, "teacher", name + ".npz")
    if not os.path.exists(path):
        return {}, None
    z = np.load(path)
    emb = z["emb"].astype(np.float32)
    mu, sd = emb.mean(0), emb.std(0) + 1e-3
    emb = transform(emb).astype(np.float32) if transform else (emb - mu) / sd
    out = {}
    for e, f, p in zip(emb, z["file_row"], z["patch"]):
        out.setdefault(str(z["paths"][f]), {})[int(p)] = e
    return out, (mu, sd)


def load_codec_copies(data):
    """track_id -> [(npy file, patch count)] of its lossy copies (training/codec_copies.py,
    exported by `export_features.sh codecs`); empty when there are none."""
    csv_path = os.path.join(data, "codecs.csv")
    folder = os.path.join(data, "features", "codecs")
    if not (os.path.exists(csv_path) and os.path.exists(os.path.join(folder, "index.csv"))):
        return {}
    index = load_feature_index(folder)
    out = {}
    for r in read_csv(csv_path):
        if r["audio_path"] in index:
            out.setdefault(r["track_id"], []).append(index[r["audio_path"]])
    return out


def same_places(idx, n, n_copy):
    """The copy's patch indices at the places of the original's `idx`: both are evenly spread
    over their file, and a copy is a few ms longer or shorter (encoder delay and padding), so
    its patch count can differ by one."""
    if n_copy == n or n <= 1:
        return [min(i, n_copy - 1) for i in idx]
    return [int(round(i * (n_copy - 1) / (n - 1))) for i in idx]


def load_patches(npy, idx):
    a = np.load(npy, mmap_mode="r")
    return np.asarray(a[np.asarray(idx, dtype=np.int64)], dtype=np.float16)


def pick_patches(n, limit, rng, prefer=()):
    """Up to `limit` patch indices of n: the ones with teacher vectors first, then random
    (`rng`) or evenly spread (rng None) ones."""
    taken = set(sorted(p for p in set(prefer) if p < n)[:limit])
    rest = [i for i in range(n) if i not in taken]
    extra = max(0, limit - len(taken))
    if len(rest) > extra:
        if rng is not None:
            rest = rng.choice(rest, extra, replace=False).tolist()
        else:
            rest = [rest[i] for i in np.linspace(0, len(rest) - 1, extra).round().astype(int)] if extra else []
    return sorted(taken | set(rest))


def teacher_projection(data, train_paths, dim=128):
    """The teacher as cv.py's `teacher-128` (whitened) sees it, fitted on the training tracks'
    patches only (cv_score.fit_teacher_projection); None without the teacher's cache."""
    path = os.path.join(data, "teacher", "real.npz")
    if not os.path.exists(path):
        return None
    z = np.load(path)
    rows = [i for i, f in enumerate(z["file_row"]) if str(z["paths"][f]) in train_paths]
    return fit_teacher_projection(z["emb"][rows], dim, white=True)


def load_data(data, max_train_patches, eval_patches=16, render_patches=16, splits_path=None,
              teacher_space="std512"):
    """Tracks and render clips per split, each with `x` (patches, float16), the teacher's
    vectors `t` (NaN where the teacher saw no such patch) and labels. `splits_path`: another
    split file of the same form (default DATA/splits.json; training/cv.py writes one per fold).
    `teacher_space`: "std512" (load_teacher's default) or "pca128w" (teacher_projection, fitted
    on this split's training tracks, applied to real and render vectors alike)."""
    splits = json.load(open(splits_path or os.path.join(data, "splits.json")))
    rng = np.random.default_rng(0)
    transform = None
    if teacher_space == "pca128w":
        train_paths = {t["audio_path"] for t in read_csv(os.path.join(data, "tracks.csv"))
                       if splits["real"]["track_split"].get(t["track_id"]) == "train"}
        transform = teacher_projection(data, train_paths)
    elif teacher_space != "std512":
        raise ValueError(f"unknown teacher space {teacher_space!r}")
    teach_real, _ = load_teacher(data, "real", transform)
    teach_rend, _ = load_teacher(data, "renders", transform)
    teacher_dim = 128 if transform else 512

    def with_teacher(item, teach, path, idx):
        tv = teach.get(path, {})
        t = np.full((len(idx), teacher_dim), np.nan, np.float32)
        for k, p in enumerate(idx):
            if p in tv:
                t[k] = tv[p]
        item["t"] = t.astype(np.float16)
        return item

    real_idx = load_feature_index(os.path.join(data, "features", "real"))
    codec_copies = load_codec_copies(data)
    tracks = {s: [] for s in ("train", "val", "test")}
    for t in read_csv(os.path.join(data, "tracks.csv")):
        s = splits["real"]["track_split"].get(t["track_id"])
        if s is None or t["audio_path"] not in real_idx:
            continue
        npy, n = real_idx[t["audio_path"]]
        if n < 2 and s == "train":
            continue  # needs two different patches for a positive pair
        if s == "train":
            idx = pick_patches(n, max_train_patches, rng, teach_real.get(t["audio_path"], {}).keys())
        else:
            idx = pick_patches(n, eval_patches, None)
        item = {"id": t["track_id"], "coll": f"{t['package']}/{t['collection']}",
                "x": load_patches(npy, idx)}
        if s == "train":
            # the same patches of each lossy copy: "xc" [copies][patch] (float16)
            item["xc"] = [load_patches(c_npy, same_places(idx, n, c_n))
                          for c_npy, c_n in codec_copies.get(t["track_id"], []) if c_n > 0]
        tracks[s].append(with_teacher(item, teach_real, t["audio_path"], idx))
    rend_idx = load_feature_index(os.path.join(data, "features", "renders"))
    renders = {s: [] for s in ("train", "val", "test")}
    for r in read_csv(os.path.join(data, "renders.csv")):
        s = splits["renders"]["clip_split"].get(r["clip_id"])
        if s is None or r["audio_path"] not in rend_idx:
            continue
        npy, n = rend_idx[r["audio_path"]]
        if n < 1:
            continue
        idx = pick_patches(n, render_patches, None)
        item = {"id": r["clip_id"], "y": CLASSES.index(r["class"]), "mix": r.get("mix", "0") == "1",
                "x": load_patches(npy, idx)}
        renders[s].append(with_teacher(item, teach_rend, r["audio_path"], idx))
    log(f"train: {sum(len(t.get('xc', [])) for t in tracks['train'])} lossy copies of "
        f"{sum(1 for t in tracks['train'] if t.get('xc'))} tracks")
    for s in ("train", "val", "test"):
        tt = sum(int(np.isfinite(t["t"][:, 0].astype(np.float32)).sum()) for t in tracks[s])
        log(f"{s}: {len(tracks[s])} tracks ({sum(len(t['x']) for t in tracks[s])} patches, "
            f"{tt} with teacher vectors, {len(set(t['coll'] for t in tracks[s]))} collections), "
            f"{len(renders[s])} render clips ({sum(r['mix'] for r in renders[s])} mixes, "
            f"{sum(len(r['x']) for r in renders[s])} patches)")
    return tracks, renders


def renormalise(power):
    """The front end's per-patch loudness normalisation and log compression (src/mel/loudness.rs)."""
    mean = power.mean(dim=(2, 3), keepdim=True)
    gain = PATCH_LOUDNESS_TARGET / mean.clamp_min(PATCH_LOUDNESS_FLOOR)
    return torch.log10(1 + LOG_GAIN * gain * power)


def augment(x, gen, p_bandlimit=0.35, p_codec=0.35):
    """x: [B,1,F,T] front-end-3 log-mel. What a buyer's copy changes, on mel power:
    * band limit (an 8-22 kHz source: nothing above 4-8 kHz): bands above a random cutoff of
      3.5-7.5 kHz fade out over a third of an octave;
    * lossy codec at low bit rates: per-band gain wobble (+-1.5 dB) and a noise floor 45-70 dB
      under the patch level in the bands the codec starves;
    then the front end's loudness normalisation again, and SpecAugment-style time / frequency
    masks (one each)."""
    b = x.shape[0]
    power = (torch.pow(10.0, x.float()) - 1).clamp_min(0) / LOG_GAIN
    # band limit
    cut = 3500 + torch.rand(b, generator=gen) * 4000
    on = torch.rand(b, generator=gen) < p_bandlimit
    octaves = torch.log2(BAND_HZ.view(1, -1) / cut.view(-1, 1))
    fade = torch.clamp(1 - octaves * 3, 0, 1) ** 4  # 1 below the cutoff, 0 a third octave above
    fade = torch.where(on.view(-1, 1), fade, torch.ones_like(fade))
    power = power * fade.view(b, 1, N_MELS, 1)
    # codec
    on = (torch.rand(b, generator=gen) < p_codec).view(b, 1, 1, 1)
    wobble = 10 ** ((torch.rand(b, 1, N_MELS, 1, generator=gen) * 3 - 1.5) / 10)
    floor_db = -45 - torch.rand(b, 1, 1, 1, generator=gen) * 25
    floor = PATCH_LOUDNESS_TARGET * 10 ** (floor_db / 10)
    noise = floor * torch.rand(b, 1, N_MELS, FRAMES, generator=gen) * 2
    power = torch.where(on, power * wobble + noise, power)
    x = renormalise(power)
    f_len = (torch.rand(b, generator=gen) * 12).long()
    f_0 = (torch.rand(b, generator=gen) * (N_MELS - 12)).long()
    t_len = (torch.rand(b, generator=gen) * 30).long()
    t_0 = (torch.rand(b, generator=gen) * (FRAMES - 30)).long()
    fi = torch.arange(N_MELS).view(1, -1)
    ti = torch.arange(FRAMES).view(1, -1)
    fm = ((fi >= f_0[:, None]) & (fi < (f_0 + f_len)[:, None])).view(b, 1, N_MELS, 1)
    tm = ((ti >= t_0[:, None]) & (ti < (t_0 + t_len)[:, None])).view(b, 1, 1, FRAMES)
    return x.masked_fill(fm | tm, 0.0)
