"""A synthetic store catalog drawn from the shipped model's embeddings of real music.

    python scripts/synth_catalog.py N OUT_DIR [--seed S] [--source NPZ]
    python scripts/synth_catalog.py --pack REAL_DIR [--source NPZ]   (refresh the source, below)

Writes OUT_DIR/embeddings.npy (N x 128 float32, unit rows), OUT_DIR/tracks.jsonl (one track per
line, as `simsong index import` reads them), OUT_DIR/versions.csv (which tracks are versions of
which song, and how they were cut), OUT_DIR/queries.npz (queries from "dropped files": real
music that is not in the catalog) and OUT_DIR/synth.json (the figures below).

The source (bench/synth/real-embeddings.npz, committed; `--pack` rebuilds it from
bench/synth/real_embeddings.sh's output) holds every allowed real track of
../shared/data/debian-music.tsv (604 tracks, 32 Debian packages; one of them digital silence,
which has no embedding) as the shipped model embeds it: the track's embedding and up to 16 evenly spaced 3 s segment embeddings, as float16, with the
model's SHA-256 (a source from another model is refused: the catalog must be what this model
computes).

How a catalog is drawn:

1. **Held out**: the tracks of a seeded tenth of the packages never enter the catalog; their
   embeddings (whole tracks, and runs of their segments) are the dropped-file queries.
2. **Albums** (1 + Poisson(11) tracks, like a store's releases) draw one package; every song of
   an album is drawn from that package's tracks, as a game's soundtrack is one album.
3. **A song** is a contiguous run of one real track's segments (30-100% of them: another cut of
   the same music) averaged; half the songs blend in up to 40% of a run of another track of the
   same package (another arrangement in the same style); then Gaussian noise of
   `NOISE`·|v| (another piece, not a copy), and unit length.
4. **Versions**, as a BGM store sells them: 25% of the songs get 1-3 versions, each a track of
   its own: cut-downs (a shorter run inside the song's run: 15, 30 or 60 s), a loop (2-4
   segments), an alternative mix (the song with a quarter of the noise again).

Metadata is store-like: titles, albums, composers, a licence, preview URLs, durations, and tags
in the store's categories with the gaps real catalogs have (most tracks lack most tags; the
album decides its genre). One value is rare on purpose: `use:wedding` is on about 1% of the
tracks, for the benchmarks' 1% filter. The predicted instrument follows the album's package.
"""

import argparse
import csv
import hashlib
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = ROOT / "bench" / "synth" / "real-embeddings.npz"
MODEL = ROOT / "models" / "simsong.onnx"
SEGMENTS_KEPT = 16
HELD_OUT_SHARE = 0.1
NOISE = 0.35
VERSION_SHARE = 0.25
SEGMENT_SECONDS = 3.0

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


def model_sha():
    return hashlib.sha256(MODEL.read_bytes()).hexdigest()


def pack(real_dir, source):
    """Builds the committed source from real_embeddings.sh's folder (tracks.npy, segments.npy/.csv,
    tracks.csv): every track, and up to SEGMENTS_KEPT evenly spaced segments each."""
    real_dir = pathlib.Path(real_dir)
    tracks = np.load(real_dir / "tracks.npy")
    segments = np.load(real_dir / "segments.npy")
    rows = list(csv.DictReader(open(real_dir / "segments.csv")))
    # The rows of tracks.npy are the files embedded (one allowed track is digital silence and
    # has no embedding), in tracks.csv's order.
    by_path = {m["audio_path"]: m for m in csv.DictReader(open(real_dir / "tracks.csv"))}
    meta = [by_path[p] for p in (real_dir / "tracks.npy.paths.txt").read_text().splitlines()]
    seg_track = np.array([int(r["row"]) for r in rows])
    seg_start = np.array([float(r["start_seconds"]) for r in rows], dtype=np.float32)
    keep = []
    for t in range(len(tracks)):
        idx = np.flatnonzero(seg_track == t)
        if len(idx) > SEGMENTS_KEPT:
            idx = idx[np.round(np.linspace(0, len(idx) - 1, SEGMENTS_KEPT)).astype(int)]
        keep.extend(idx)
    keep = np.array(keep)
    packages = sorted({m["package"] for m in meta})
    np.savez_compressed(
        source,
        tracks=tracks.astype(np.float16),
        segments=segments[keep].astype(np.float16),
        segment_track=seg_track[keep].astype(np.int16),
        segment_start=seg_start[keep],
        package=np.array([packages.index(m["package"]) for m in meta], dtype=np.int16),
        package_names=np.array(packages),
        duration=np.array([float(m["duration_s"]) for m in meta], dtype=np.float32),
        model_sha256=np.array(model_sha()),
    )
    print(f"wrote {source}: {len(tracks)} tracks, {len(keep)} segments, {len(packages)} packages",
          file=sys.stderr)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class Source:
    def __init__(self, path):
        d = np.load(path)
        if str(d["model_sha256"]) != model_sha():
            sys.exit(f"{path} was embedded by another model than models/simsong.onnx: "
                     "run bench/synth/real_embeddings.sh and --pack its output")
        self.tracks = d["tracks"].astype(np.float32)
        self.segments = d["segments"].astype(np.float32)
        self.segment_track = d["segment_track"].astype(np.int64)
        self.segment_start = d["segment_start"]
        self.package = d["package"].astype(np.int64)
        self.package_names = [str(p) for p in d["package_names"]]
        self.duration = d["duration"]
        self.rows = [np.flatnonzero(self.segment_track == t) for t in range(len(self.tracks))]

    def run(self, rng, t, share_lo, share_hi):
        """A contiguous run of track t's segment rows covering share_lo..share_hi of them."""
        rows = self.rows[t]
        n = len(rows)
        length = int(np.clip(round(n * rng.uniform(share_lo, share_hi)), 1, n))
        first = int(rng.integers(0, n - length + 1))
        return rows[first:first + length]


def draw(n, src, rng):
    """Embeddings, album of each track, version plan, and the held-out packages."""
    packages = np.unique(src.package)
    held = rng.choice(packages, size=max(1, round(HELD_OUT_SHARE * len(packages))), replace=False)
    by_package = {p: np.flatnonzero((src.package == p) & np.array([len(r) > 0 for r in src.rows]))
                  for p in packages if p not in held}
    usable = [p for p in by_package if len(by_package[p])]
    weights = np.array([len(by_package[p]) for p in usable], dtype=np.float64)
    dim = src.tracks.shape[1]
    emb = np.empty((n, dim), dtype=np.float32)
    album_of = np.empty(n, dtype=np.int64)
    album_package = []
    versions = []  # (track, song track, kind, seconds or None)
    i = 0
    album = 0
    while i < n:
        size = 1 + rng.poisson(11)
        p = usable[rng.choice(len(usable), p=weights / weights.sum())]
        album_package.append(p)
        pool = by_package[p]
        for _ in range(size):
            if i >= n:
                break
            t = int(rng.choice(pool))
            run = src.run(rng, t, 0.3, 1.0)
            v = src.segments[run].mean(axis=0)
            if rng.random() < 0.5 and len(pool) > 1:
                other = int(rng.choice(pool))
                w = rng.uniform(0.0, 0.4)
                v = (1 - w) * v + w * src.segments[src.run(rng, other, 0.3, 1.0)].mean(axis=0)
            clean = v
            noise = rng.standard_normal(dim).astype(np.float32) * (NOISE * np.linalg.norm(v) / np.sqrt(dim))
            v = unit(clean + noise)
            emb[i] = v
            album_of[i] = album
            song = i
            i += 1
            if rng.random() >= VERSION_SHARE:
                continue
            for _ in range(1 + rng.integers(3)):
                if i >= n:
                    break
                kind = rng.choice(["cut", "cut", "loop", "mix"])
                if kind == "cut":
                    seconds = int(rng.choice([15, 30, 60]))
                    length = max(1, min(len(run), round(seconds / SEGMENT_SECONDS)))
                    first = int(rng.integers(0, len(run) - length + 1))
                    cut = src.segments[run[first:first + length]].mean(axis=0)
                    # The cut keeps the song's own character (its noise) where it plays.
                    emb[i] = unit(cut + noise)
                elif kind == "loop":
                    seconds = None
                    length = min(len(run), 2 + int(rng.integers(3)))
                    first = int(rng.integers(0, len(run) - length + 1))
                    emb[i] = unit(src.segments[run[first:first + length]].mean(axis=0) + noise)
                else:
                    seconds = None
                    extra = rng.standard_normal(dim).astype(np.float32) * (0.25 * NOISE * np.linalg.norm(clean) / np.sqrt(dim))
                    emb[i] = unit(clean + noise + extra)
                album_of[i] = album
                versions.append((i, song, str(kind), seconds))
                i += 1
        album += 1
    return emb, album_of, album_package, versions, held


def dropped_queries(src, held, rng, count=400):
    """Real music that is not in the catalog: the held-out packages' tracks, whole and as runs."""
    tracks = [t for t in np.flatnonzero(np.isin(src.package, held)) if len(src.rows[t])]
    whole = unit(src.tracks[tracks])
    parts = []
    for _ in range(count):
        t = int(rng.choice(tracks))
        parts.append(unit(src.segments[src.run(rng, t, 0.2, 0.6)].mean(axis=0)))
    return whole.astype(np.float32), np.array(parts, dtype=np.float32), np.array(tracks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, nargs="?")
    ap.add_argument("out", type=pathlib.Path, nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--source", type=pathlib.Path, default=SOURCE)
    ap.add_argument("--pack", metavar="REAL_DIR", help="rebuild the source from real_embeddings.sh's folder")
    args = ap.parse_args()
    if args.pack:
        pack(args.pack, args.source)
        if args.n is None:
            return
    if args.n is None or args.out is None:
        ap.error("N and OUT_DIR are required")
    rng = np.random.default_rng(args.seed)
    src = Source(args.source)
    emb, album_of, album_package, versions, held = draw(args.n, src, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "embeddings.npy", emb)
    whole, parts, held_tracks = dropped_queries(src, held, np.random.default_rng(args.seed + 1))
    np.savez(args.out / "queries.npz", dropped_tracks=whole, dropped_parts=parts)
    with open(args.out / "versions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "song", "kind", "seconds"])
        for row in versions:
            w.writerow([f"bgm-{row[0]:07d}", f"bgm-{row[1]:07d}", row[2], row[3] or ""])

    # Metadata: album-level genre/composer/instrument, track-level mood/use/tempo, gaps everywhere.
    n_albums = len(album_package)
    album_genre = rng.choice(len(GENRES), size=n_albums, p=zipf(len(GENRES), 0.9))
    album_has_genre = rng.random(n_albums) < 0.6
    album_composer = rng.integers(0, len(NAMES) * len(SURNAMES), size=n_albums)
    album_title = [f"{WORDS[rng.integers(len(WORDS))].title()} {WORDS[rng.integers(len(WORDS))].title()}"
                   for _ in range(n_albums)]
    package_instrument = rng.integers(0, len(INSTRUMENTS), size=len(src.package_names))
    version_kind = {row[0]: row for row in versions}
    use_p = zipf(len(USES), 0.8)
    use_p[USES.index("wedding")] = 0.0
    use_p = use_p / use_p.sum()
    lines = []
    titles = []
    for i in range(args.n):
        a = album_of[i]
        duration = float(np.clip(rng.gamma(6.0, 25.0), 15, 600))
        title = f"{WORDS[rng.integers(len(WORDS))].title()} {WORDS[rng.integers(len(WORDS))]} {i % 7 + 1}"
        if i in version_kind:
            _, song, kind, seconds = version_kind[i]
            duration = float(seconds) if kind == "cut" else 8.0 if kind == "loop" else duration
            song_title = titles[int(song)]
            title = song_title + {"cut": f" ({seconds} s)", "loop": " (loop)", "mix": " (alternative mix)"}[kind]
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
        titles.append(title)
        c = album_composer[a]
        composer = f"{NAMES[c % len(NAMES)]} {SURNAMES[c // len(NAMES)]}"
        lines.append(json.dumps({
            "id": f"bgm-{i:07d}",
            "title": title,
            "collection": f"{album_title[a]} (vol. {a % 9 + 1})",
            "composer": composer,
            "tags": tags,
            "predicted": {"instrument": [INSTRUMENTS[package_instrument[album_package[a]]]]},
            "durationSeconds": round(duration, 2),
            "previewUrl": f"previews/{i // 1000:03d}/{i:07d}.mp3",
            "license": "Standard BGM licence",
            "attribution": f"Music by {composer}",
        }, ensure_ascii=False))
    (args.out / "tracks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = {
        "tracks": args.n, "albums": n_albums, "versions": len(versions), "seed": args.seed,
        "sourceTracks": len(src.tracks), "sourcePackages": len(src.package_names),
        "heldOutPackages": [src.package_names[p] for p in held], "droppedQueries": len(whole) + len(parts),
        "noise": NOISE, "versionShare": VERSION_SHARE,
    }
    (args.out / "synth.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
