"""Indexing throughput of the distributed job (simsong.distributed on a local Dask cluster of 1
and 2 one-thread workers) against the CLI (`simsong index build`, 1 and 2 threads) on the same
tracks, and the extrapolated wall time of the store's 600,000 tracks on N workers.

Usage: python bench/distributed_bench.py SIMSONG_BIN MODEL OUT_DIR   → JSON on stdout

Tracks: the first 40 of the demo catalog when `npm start` has fetched it; else 40 real tracks
spread over the packages of the training data's Debian music (allowed data, when present);
else the benchmark clips repeated.
"""

import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import time

from dask.distributed import Client, LocalCluster

import simsong
import simsong.distributed as job

TRACKS = 40
STORE_TRACKS, STORE_TRACK_SECONDS = 600_000, 150.0


def manifest(out_dir):
    path = os.path.join(out_dir, "distributed-manifest.csv")
    rows = []
    if os.path.exists("demo-data/catalog.csv"):
        with open("demo-data/catalog.csv", newline="") as f:
            reader = csv.DictReader(f)
            for r in reader:
                audio = r["audio"] if os.path.isabs(r["audio"]) else os.path.abspath(os.path.join("demo-data", r["audio"]))
                rows.append((r["id"], audio))
        source = f"the first {TRACKS} tracks of the demo catalog"
        rows = rows[:TRACKS]
    else:
        cache = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
        tracks = os.path.join(cache, "training-data", "tracks.csv")
        if os.path.exists(tracks):
            with open(tracks, newline="") as f:
                all_rows = [r for r in csv.DictReader(f) if os.path.exists(r["audio_path"])]
            step = max(1, len(all_rows) // TRACKS)
            rows = [(r["track_id"], r["audio_path"]) for r in all_rows[::step][:TRACKS]]
            source = f"{len(rows)} Debian music tracks spread over the training data's packages"
        else:
            clips = [os.path.abspath(os.path.join(out_dir, c)) for c in ("clip30_44k.wav", "clip180_44k.wav")]
            rows = [(f"clip{i}", clips[i % 2]) for i in range(TRACKS)]
            source = "the benchmark clips (30 s and 180 s, 44.1 kHz stereo) repeated"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio"])
        w.writerows(rows)
    return path, source


def cli_run(bin_path, model, manifest_path, out_dir, threads):
    out = os.path.join(out_dir, f"distributed-cli-{threads}.idx")
    started = time.perf_counter()
    proc = subprocess.run(
        [bin_path, "index", "build", "--manifest", manifest_path, "--model", model, "--out", out],
        env={**os.environ, "RAYON_NUM_THREADS": str(threads)}, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 2):
        raise SystemExit(f"simsong exited {proc.returncode}: {proc.stderr}")
    audio = float(proc.stderr.split("analysed ")[1].split(" s of audio")[0])
    return {"engine": "cli", "workers": threads, "audio_seconds": audio, "wall_seconds": wall, "out": out}


def dask_run(model, manifest_path, out_dir, workers):
    out = os.path.join(out_dir, f"distributed-dask-{workers}.idx")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, Client(cluster) as client:
        # Warm the workers (import, model load) outside the timing, as a long-running cluster is.
        client.run(lambda: job._engine(os.path.abspath(model)) and None)
        report = job.index_catalog(manifest_path, out, client=client, model=model, share_tracks=4, log=lambda _: None)
    return {"engine": "dask", "workers": workers, "audio_seconds": report.audio_seconds,
            "wall_seconds": report.wall_seconds, "merge_seconds": report.merge_seconds,
            "shares": report.shares, "out": out}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def main():
    bin_path, model, out_dir = sys.argv[1:4]
    manifest_path, source = manifest(out_dir)
    runs = [cli_run(bin_path, model, manifest_path, out_dir, t) for t in (1, 2)]
    runs += [dask_run(model, manifest_path, out_dir, w) for w in (1, 2)]
    # Every run built the same index.
    first = open(runs[0]["out"], "rb").read()
    identical = all(open(r["out"], "rb").read() == first for r in runs)
    for r in runs:
        r["x_realtime"] = r["audio_seconds"] / r["wall_seconds"]
        del r["out"]
    per_worker = next(r for r in runs if r["engine"] == "dask" and r["workers"] == 2)["x_realtime"] / 2
    store_audio = STORE_TRACKS * STORE_TRACK_SECONDS
    json.dump({
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "simsong": simsong.__version__,
        "model": model,
        "source": source,
        "tracks": sum(1 for _ in open(manifest_path)) - 1,
        "runs": runs,
        "identical_indexes": identical,
        "store": {
            "tracks": STORE_TRACKS, "track_seconds": STORE_TRACK_SECONDS,
            "x_realtime_per_worker": per_worker,
            "hours_on": {str(n): store_audio / (per_worker * n) / 3600 for n in (1, 16, 64, 256)},
        },
    }, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
