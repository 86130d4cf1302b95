"""A synthetic store catalog whose embeddings follow the demo catalog's real ones.

    python scripts/synth_catalog.py N OUT_DIR [--seed S] [--refresh DEMO.idx SIMSONG_BIN]

Writes OUT_DIR/embeddings.npy (N x 128 float32, unit rows) and OUT_DIR/tracks.jsonl (one track
per line, as `simsong index import` reads them), plus OUT_DIR/synth.json (what was fitted).

How the embeddings are made (all fitted on bench/synth/demo-embeddings.npz: the 240 tracks of
the demo catalog, real game music from Debian embedded by the shipped model):

1. A Gaussian mixture (scikit-learn; full or tied covariances and the number of components
   chosen by BIC) is fitted to the demo's track embeddings. On 240 tracks in 128 dimensions BIC
   picks a single full-covariance Gaussian: the data do not support more components.
2. Tracks come in albums (1 + Poisson(11) tracks, like a store's releases). An album draws one
   mixture component k and one latent z_album; each of its tracks is
       mu_k + L_k (sqrt(1 - w) z_album + sqrt(w) z_track),   L_k L_k^T = Sigma_k,
   so every track, on its own, is distributed exactly as the fitted mixture, and tracks of one
   album share part of their deviation. w is set so that the mean cosine between tracks of one
   album equals the mean cosine between tracks of one collection (game) in the demo.
3. Rows are L2-normalised, as the engine's embeddings are.

Metadata is store-like: titles, albums, composers, a licence, preview URLs, durations, and tags
in the store's categories with the gaps real catalogs have (most tracks lack most tags; the
album decides its genre, the mixture component its predicted instrument). One value is rare
on purpose: `use:wedding` is on about 1% of the tracks, for the benchmarks' 1% filter.
"""

import argparse
import json
import math
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.mixture import GaussianMixture

HERE = pathlib.Path(__file__).resolve().parent
DEMO = HERE.parent / "bench" / "synth" / "demo-embeddings.npz"

GENRES = ["cinematic", "corporate", "ambient", "electronic", "pop", "rock", "acoustic", "hip hop",
          "jazz", "orchestral", "lo-fi", "world", "folk", "funk", "classical", "chiptune", "latin",
          "reggae", "blues", "bossa nova"]
MOODS = ["happy", "calm", "epic", "dark", "romantic", "tense", "playful", "sad", "hopeful",
         "dreamy", "energetic", "mysterious"]
USES = ["vlog", "corporate video", "advertising", "documentary", "game", "podcast", "trailer",
        "tutorial", "travel", "wedding"]
TEMPI = ["slow", "medium", "fast"]
INSTRUMENTS = ["piano", "acoustic_guitar", "electric_guitar", "synth", "strings", "brass"]
WORDS = ["morning", "light", "river", "city", "dream", "journey", "summer", "echo", "horizon",
         "story", "motion", "sky", "glow", "wave", "road", "memory", "spark", "garden", "night",
         "ocean", "pulse", "forest", "rise", "home", "silver", "golden", "quiet", "bright"]
NAMES = ["Alex", "Maya", "Jonas", "Lea", "Ken", "Sofia", "Ivan", "Nora", "Tomas", "Aiko", "Paul",
         "Rita", "Omar", "Elif", "Hugo", "Mina"]
SURNAMES = ["Berg", "Sato", "Novak", "Reyes", "Olsen", "Klein", "Moreau", "Costa", "Lind", "Ward"]


def zipf(n, s=1.1):
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def refresh(demo_idx, simsong):
    """Re-exports bench/synth/demo-embeddings.npz from a demo catalog index."""
    with tempfile.TemporaryDirectory() as tmp:
        emb, tracks = f"{tmp}/e.npy", f"{tmp}/t.jsonl"
        subprocess.run([simsong, "index", "export", demo_idx, "--embeddings", emb, "--tracks", tracks], check=True)
        x = np.load(emb).astype(np.float32)
        collections = [json.loads(line)["collection"] for line in open(tracks)]
    names = sorted(set(collections))
    np.savez_compressed(DEMO, embeddings=x, collection=np.array([names.index(c) for c in collections], dtype=np.int32))
    print(f"wrote {DEMO} ({len(x)} tracks, {len(names)} collections)", file=sys.stderr)


def fit(rng):
    data = np.load(DEMO)
    x, col = data["embeddings"].astype(np.float64), data["collection"]
    best = None
    for kind in ("full", "tied"):
        for k in range(1, 7):
            gmm = GaussianMixture(k, covariance_type=kind, reg_covar=1e-4, random_state=0, n_init=2).fit(x)
            bic = gmm.bic(x)
            if best is None or bic < best[0]:
                best = (bic, gmm)
    gmm = best[1]
    if gmm.covariance_type == "tied":
        gmm.covariances_ = np.repeat(gmm.covariances_[None], len(gmm.weights_), axis=0)
    # The demo's mean cosine between tracks of one collection (collections of 2+ tracks).
    sims = x @ x.T
    same = (col[:, None] == col[None, :]) & ~np.eye(len(x), dtype=bool)
    target = float(sims[same].mean())
    chol = np.linalg.cholesky(gmm.covariances_)

    def album_cosine(w, albums=400, size=8):
        ks = rng.choice(len(gmm.weights_), size=albums, p=gmm.weights_)
        za = rng.standard_normal((albums, 1, x.shape[1]))
        zt = rng.standard_normal((albums, size, x.shape[1]))
        z = math.sqrt(1 - w) * za + math.sqrt(w) * zt
        v = gmm.means_[ks][:, None, :] + np.einsum("aij,asj->asi", chol[ks], z)
        v /= np.linalg.norm(v, axis=2, keepdims=True)
        c = np.einsum("asi,ati->ast", v, v)
        off = ~np.eye(size, dtype=bool)
        return float(c[:, off].mean())

    lo, hi = 0.0, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        if album_cosine(mid) > target:
            lo = mid
        else:
            hi = mid
    return gmm, chol, (lo + hi) / 2, target


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--refresh", nargs=2, metavar=("DEMO_IDX", "SIMSONG_BIN"),
                    help="first re-export the demo embeddings from a demo catalog index")
    args = ap.parse_args()
    if args.refresh:
        refresh(*args.refresh)
    rng = np.random.default_rng(args.seed)
    gmm, chol, w, target = fit(rng)
    dim = gmm.means_.shape[1]
    args.out.mkdir(parents=True, exist_ok=True)

    # Albums and their tracks.
    sizes = []
    while sum(sizes) < args.n:
        sizes.append(1 + rng.poisson(11))
    sizes[-1] -= sum(sizes) - args.n
    sizes = [s for s in sizes if s > 0]
    n_albums = len(sizes)
    album_of = np.repeat(np.arange(n_albums), sizes)
    comp = rng.choice(len(gmm.weights_), size=n_albums, p=gmm.weights_)
    emb = np.empty((args.n, dim), dtype=np.float32)
    chunk = 50_000
    za = rng.standard_normal((n_albums, dim))
    for start in range(0, args.n, chunk):
        end = min(args.n, start + chunk)
        a = album_of[start:end]
        z = math.sqrt(1 - w) * za[a] + math.sqrt(w) * rng.standard_normal((end - start, dim))
        v = gmm.means_[comp[a]] + np.einsum("nij,nj->ni", chol[comp[a]], z)
        emb[start:end] = v / np.linalg.norm(v, axis=1, keepdims=True)
    np.save(args.out / "embeddings.npy", emb)

    # Metadata: album-level genre/composer, track-level mood/use/tempo, gaps everywhere.
    album_genre = rng.choice(len(GENRES), size=n_albums, p=zipf(len(GENRES), 0.9))
    album_has_genre = rng.random(n_albums) < 0.6
    album_composer = rng.integers(0, len(NAMES) * len(SURNAMES), size=n_albums)
    album_title = [f"{WORDS[rng.integers(len(WORDS))].title()} {WORDS[rng.integers(len(WORDS))].title()}"
                   for _ in range(n_albums)]
    comp_instrument = rng.permutation(len(INSTRUMENTS))[: len(gmm.weights_)] if len(gmm.weights_) <= len(INSTRUMENTS) \
        else rng.integers(0, len(INSTRUMENTS), size=len(gmm.weights_))
    use_p = zipf(len(USES), 0.8)
    use_p[USES.index("wedding")] = 0.0
    use_p = use_p / use_p.sum()
    lines = []
    for i in range(args.n):
        a = album_of[i]
        duration = float(np.clip(rng.gamma(6.0, 25.0), 15, 600))
        tags = {"length": ["under 1 min" if duration < 60 else "1-3 min" if duration <= 180 else "over 3 min"]}
        if album_has_genre[a]:
            tags["genre"] = [GENRES[album_genre[a]]]
        if rng.random() < 0.4:
            tags["mood"] = [MOODS[rng.integers(len(MOODS))]]
        r = rng.random()
        if r < 0.01:
            tags["use"] = ["wedding"]  # the rare value: ~1% of the tracks
        elif r < 0.31:
            tags["use"] = [USES[rng.choice(len(USES), p=use_p)]]
        if rng.random() < 0.35:
            tags["tempo"] = [TEMPI[rng.integers(3)]]
        c = album_composer[a]
        composer = f"{NAMES[c % len(NAMES)]} {SURNAMES[c // len(NAMES)]}"
        lines.append(json.dumps({
            "id": f"bgm-{i:07d}",
            "title": f"{WORDS[rng.integers(len(WORDS))].title()} {WORDS[rng.integers(len(WORDS))]} {i % 7 + 1}",
            "collection": f"{album_title[a]} (vol. {a % 9 + 1})",
            "composer": composer,
            "tags": tags,
            "predicted": {"instrument": [INSTRUMENTS[comp_instrument[comp[a]]]]},
            "durationSeconds": round(duration, 2),
            "previewUrl": f"previews/{i // 1000:03d}/{i:07d}.mp3",
            "license": "Standard BGM licence",
            "attribution": f"Music by {composer}",
        }, ensure_ascii=False))
    (args.out / "tracks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = {"tracks": args.n, "albums": n_albums, "components": len(gmm.weights_), "albumShare": 1 - w,
               "demoWithinCollectionCosine": target, "seed": args.seed}
    (args.out / "synth.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
