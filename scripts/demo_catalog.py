#!/usr/bin/env python3
"""Build the demo catalog: real game music from Debian packages, browser-playable previews,
honest tags, a manifest for `simsong index build`.

    python3 scripts/demo_catalog.py [--data DIR] [--out demo-data] [--packages P1,P2,...]

Steps (each skipped when its output is already there):
1. training/fetch_debian_music.py downloads the packages with `apt-get download` into DIR
   (default $SIMSONG_CACHE/training-data, shared with training so nothing is fetched twice),
   extracts the listed tracks and records license and copyright holders from each package's
   DEP-5 copyright file.
2. ffmpeg writes one MP3 preview per track (64 kb/s, full length): MP3 plays in every major
   browser, and the page never needs the original files.
3. OUT/catalog.csv: the manifest (id, audio, title, collection, tags, license, attribution,
   preview_url). Tags are only what the catalog can honestly claim from the data: the game,
   the source format (tracker module or recording) and a length class. The model's predicted
   instrument is added by the indexer as *predicted* tags, kept apart.
"""
import argparse
import csv
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))

# Every package of data/debian-music.tsv under 90 MB of download, plus ufoai-music for its
# orchestral scores: 19 packages, 240 tracks, about 660 MB to download once.
DEMO_PACKAGES = [
    "amoebax-data", "asc-music", "biniax2-data", "extremetuxracer-data",
    "fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid", "gl-117-data", "lugaru-data",
    "pekka-kana-2-data", "pingus-data", "planetblupi-music-ogg", "seahorse-adventures",
    "singularity-music", "tecnoballz-data", "trackballs-data", "warzone2100-music",
    "wizznic-data", "xmoto-data", "ufoai-music",
]

GAME_NAMES = {
    "amoebax-data": "Amoebax", "asc-music": "Advanced Strategic Command",
    "biniax2-data": "Biniax-2", "extremetuxracer-data": "Extreme Tux Racer",
    "fretsonfire-songs-muldjord": "Frets on Fire (Muldjord)",
    "fretsonfire-songs-sectoid": "Frets on Fire (Sectoid)", "gl-117-data": "GL-117",
    "lugaru-data": "Lugaru", "pekka-kana-2-data": "Pekka Kana 2", "pingus-data": "Pingus",
    "planetblupi-music-ogg": "Planet Blupi", "seahorse-adventures": "Seahorse Adventures",
    "singularity-music": "Endgame: Singularity", "tecnoballz-data": "TecnoballZ",
    "trackballs-data": "Trackballs", "warzone2100-music": "Warzone 2100",
    "wizznic-data": "Wizznic!", "xmoto-data": "X-Moto", "ufoai-music": "UFO: Alien Invasion",
}
MODULE_FORMATS = {"mod", "xm", "it", "s3m"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def title_from_path(source_path):
    name = re.split(r"[/!]", source_path)[-1]
    name = re.sub(r"\.(ogg|mp3|opus|wav|flac|mod|xm|it|s3m)$", "", name, flags=re.I)
    name = re.sub(r"^\d+[_ -]+", "", name) or name  # leading track numbers
    name = re.sub(r"[_]+", " ", name)
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)  # camelCase
    name = re.sub(r"\s+", " ", name).strip(" -")
    return name[:1].upper() + name[1:] if name else source_path


def length_class(seconds):
    if seconds < 60:
        return "under 1 min"
    if seconds <= 180:
        return "1-3 min"
    return "over 3 min"


def make_preview(src, dst):
    if os.path.exists(dst):
        return None
    tmp = dst + ".part.mp3"
    r = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-vn", "-ac", "2", "-ar", "44100",
         "-c:a", "libmp3lame", "-b:a", "64k", tmp],
        capture_output=True, text=True)
    if r.returncode != 0:
        return f"{src}: ffmpeg failed: {r.stderr.strip()[:200]}"
    os.replace(tmp, dst)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(CACHE, "training-data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "demo-data"))
    ap.add_argument("--packages", default=",".join(DEMO_PACKAGES))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    packages = [p for p in args.packages.split(",") if p]

    log(f"1/3 fetching {len(packages)} Debian packages into {args.data} (cached)")
    subprocess.run([sys.executable, os.path.join(ROOT, "training", "fetch_debian_music.py"),
                    "--out", args.data, "--packages", ",".join(packages),
                    "--max-download-mb", "1000"], check=True)

    with open(os.path.join(args.data, "tracks.csv"), newline="") as f:
        tracks = [r for r in csv.DictReader(f) if r["package"] in packages]
    tracks.sort(key=lambda r: r["track_id"])
    if not tracks:
        sys.exit("no demo tracks were fetched")

    previews = os.path.join(args.out, "previews")
    os.makedirs(previews, exist_ok=True)
    log(f"2/3 MP3 previews of {len(tracks)} tracks into {previews}")
    jobs = []
    for i, r in enumerate(tracks):
        r["preview_file"] = f"{i:04d}.mp3"
        jobs.append((r["audio_path"], os.path.join(previews, r["preview_file"])))
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        errors = [e for e in pool.map(lambda j: make_preview(*j), jobs) if e]
    for e in errors:
        log("  " + e)

    manifest = os.path.join(args.out, "catalog.csv")
    log(f"3/3 manifest {manifest}")
    fields = ["id", "audio", "title", "collection", "tags", "license", "attribution", "preview_url"]
    kept = 0
    with open(manifest + ".part", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in tracks:
            if not os.path.exists(os.path.join(previews, r["preview_file"])):
                continue  # no preview, no listing: a buyer could not listen to it
            game = GAME_NAMES.get(r["package"], r["package"])
            ext = r["source_path"].rsplit(".", 1)[-1].lower()
            tags = [
                f"game:{game}",
                f"format:{'tracker module' if ext in MODULE_FORMATS else 'recording'}",
                f"length:{length_class(float(r['duration_s'] or 0))}",
            ]
            w.writerow({
                "id": r["track_id"],
                "audio": r["audio_path"],
                "title": title_from_path(r["source_path"]),
                "collection": game,
                "tags": ";".join(tags),
                "license": r["license"],
                "attribution": r["attribution"],
                "preview_url": f"demo-data/previews/{r['preview_file']}",
            })
            kept += 1
    os.replace(manifest + ".part", manifest)
    log(f"demo catalog: {kept} tracks from {len({r['package'] for r in tracks})} packages")


if __name__ == "__main__":
    main()
