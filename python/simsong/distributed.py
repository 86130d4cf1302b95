"""Catalog indexing on a Dask cluster: the manifest is cut into shares, each share is analysed
on a worker by this wheel into a one-file shard, and the shards are merged, in manifest order,
into the index one machine would build (``simsong index build``), byte for byte.

Why Dask: it is pure Python from PyPI (nothing else to install on a worker than this wheel and
``dask[distributed]``), it runs on what data teams already have (SSH hosts, Kubernetes, YARN,
SLURM/PBS through dask-jobqueue, or managed clusters), and its scheduler re-runs the tasks of
a worker that dies. Analysis is CPU-bound Rust that releases the GIL, so a worker process with
one thread per core keeps every core busy.

From a shell::

    python -m simsong.distributed --manifest catalog.csv --out site/catalog \\
        --scheduler tcp://scheduler:8786          # or --local-workers 4

From Python::

    from dask.distributed import Client
    report = simsong.distributed.index_catalog("catalog.csv", "site/catalog", client=Client(...))

The manifest, the audio it names, the shard folder (``work_dir``) and ``out`` must be paths
every worker and the client can reach (a shared file system); shards are written atomically,
so a share re-run after a lost worker never leaves half a file. A worker that dies costs a
re-run of its share only (Dask gives each task up to ``distributed.scheduler.allowed-failures``
tries). A file that cannot be decoded is reported and left out; the others are indexed, and the
command exits with 2 as ``simsong index build`` does.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import simsong

#: Tracks per share by default: ~250 tracks of 2.5 min are ~1.5 min of one core, so a lost
#: worker costs little, and the scheduler's per-task overhead (~ms) stays negligible.
DEFAULT_SHARE_TRACKS = 250

#: Called on the worker before a share is indexed, with the share's number and which attempt
#: this is (1 for the first): for monitoring, or to inject faults in tests.
BeforeShare = Callable[[int, int], None]


@dataclass
class JobReport:
    """What :func:`index_catalog` did."""

    #: Tracks in the merged index.
    tracks: int
    #: Files left out, ``(audio path, message)``, in manifest order.
    failures: List[Tuple[str, str]]
    #: Shares the manifest was cut into.
    shares: int
    #: Shares that ran more than once (their worker died), in share order.
    retried_shares: List[int]
    #: Seconds of audio analysed, and the job's wall time (analysis + merge), in seconds.
    audio_seconds: float
    wall_seconds: float
    #: Wall time of the merge alone, in seconds.
    merge_seconds: float
    #: Per share: the worker process that finished it and its analysis time.
    share_reports: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """0 when every track was indexed, 2 when some were left out (as the CLI)."""
        return 2 if self.failures else 0


# One engine per worker process, loaded on its first share (a model is ~3 MB and 40 ms to load).
_ENGINES: Dict[Optional[str], simsong.Engine] = {}


def _engine(model: Optional[str]) -> simsong.Engine:
    if model not in _ENGINES:
        _ENGINES[model] = simsong.Engine(model)
    return _ENGINES[model]


def index_share(
    manifest: str,
    share: int,
    shares: int,
    shard_path: str,
    *,
    model: Optional[str] = None,
    threads: int = 1,
    attempts_dir: Optional[str] = None,
    before_share: Optional[BeforeShare] = None,
) -> Dict[str, Any]:
    """Indexes share ``share`` of ``shares`` of ``manifest`` into the one-file shard
    ``shard_path`` (the task each worker runs). Records each attempt as a file in
    ``attempts_dir`` so the job can tell which shares were re-run."""
    attempt = 1
    if attempts_dir is not None:
        prefix = f"share-{share:06d}."
        attempt = 1 + sum(1 for n in os.listdir(attempts_dir) if n.startswith(prefix))
        with open(os.path.join(attempts_dir, f"{prefix}{uuid.uuid4().hex}"), "w") as f:
            f.write(str(os.getpid()))
    if before_share is not None:
        before_share(share, attempt)
    report = simsong.build_index(
        manifest, shard_path, engine=_engine(model), shard=(share, shares), threads=threads
    )
    report.update(share=share, attempt=attempt, worker_pid=os.getpid(), shard=shard_path)
    return report


def index_catalog(
    manifest: str,
    out: str,
    *,
    client: Any,
    model: Optional[str] = None,
    share_tracks: int = DEFAULT_SHARE_TRACKS,
    threads_per_share: int = 1,
    work_dir: Optional[str] = None,
    code_bytes: int = 32,
    before_share: Optional[BeforeShare] = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Indexes ``manifest`` on the Dask cluster behind ``client`` into ``out`` (a published
    folder, or ``*.idx`` for one file), the same index ``simsong index build`` writes.

    ``share_tracks`` sets how many tracks each task indexes; ``threads_per_share`` how many
    threads a task analyses on (1 suits workers with one thread per core). Shards go to
    ``work_dir`` (default ``<out>.shards``) and are removed after the merge.
    """
    started = time.perf_counter()
    manifest = os.path.abspath(manifest)
    model = os.path.abspath(model) if model else None
    total = simsong.count_tracks(manifest)
    if total == 0:
        raise simsong.SimsongError(f"{manifest}: no tracks to index")
    shares = max(1, math.ceil(total / max(1, share_tracks)))
    work = os.path.abspath(work_dir or (os.fspath(out).rstrip("/") + ".shards"))
    attempts = os.path.join(work, "attempts")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(attempts)
    log(f"indexing {total} tracks in {shares} shares on {_describe(client)}")

    futures = [
        client.submit(
            index_share,
            manifest,
            i,
            shares,
            os.path.join(work, f"share-{i:06d}-of-{shares:06d}.idx"),
            model=model,
            threads=threads_per_share,
            attempts_dir=attempts,
            before_share=before_share,
            key=f"simsong-share-{i:06d}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        for i in range(shares)
    ]
    from dask.distributed import as_completed

    done: Dict[int, Dict[str, Any]] = {}
    for future in as_completed(futures):
        r = future.result()
        done[r["share"]] = r
        log(
            f"share {r['share'] + 1}/{shares}: {r['tracks']} tracks in "
            f"{r['wall_seconds']:.1f} s (worker pid {r['worker_pid']}, attempt {r['attempt']})"
        )
    reports = [done[i] for i in range(shares)]

    merge_started = time.perf_counter()
    tracks = simsong.merge_index([r["shard"] for r in reports], os.fspath(out), code_bytes=code_bytes)
    merge_seconds = time.perf_counter() - merge_started

    attempt_counts: Dict[int, int] = {}
    for name in os.listdir(attempts):
        share = int(name.split(".")[0].split("-")[1])
        attempt_counts[share] = attempt_counts.get(share, 0) + 1
    shutil.rmtree(work, ignore_errors=True)
    return JobReport(
        tracks=tracks,
        failures=[tuple(f) for r in reports for f in r["failures"]],
        shares=shares,
        retried_shares=sorted(s for s, n in attempt_counts.items() if n > 1),
        audio_seconds=sum(r["audio_seconds"] for r in reports),
        wall_seconds=time.perf_counter() - started,
        merge_seconds=merge_seconds,
        share_reports=[
            {k: r[k] for k in ("share", "tracks", "wall_seconds", "worker_pid", "attempt")}
            for r in reports
        ],
    )


def _describe(client: Any) -> str:
    try:
        workers = client.scheduler_info()["workers"]
        threads = sum(w.get("nthreads", 1) for w in workers.values())
        return f"{len(workers)} Dask workers ({threads} threads)"
    except Exception:  # the description is only for the log
        return "a Dask cluster"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simsong.distributed",
        description="Index a catalog on a Dask cluster into the index `simsong index build` "
        "would write.",
    )
    parser.add_argument("--manifest", required=True, help="catalog manifest (.csv, .tsv, .json) or folder of audio")
    parser.add_argument("--out", required=True, help="published folder, or FILE.idx")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786)")
    where.add_argument(
        "--local-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="start a local cluster of this many one-thread worker processes (default: one per core)",
    )
    parser.add_argument("--model", help="model file (ONNX); the shipped model when omitted")
    parser.add_argument("--share-tracks", type=int, default=DEFAULT_SHARE_TRACKS, help="tracks per task")
    parser.add_argument("--work-dir", help="shared folder for the shards (default: OUT.shards)")
    parser.add_argument("--code-bytes", type=int, default=32, help="code bytes per track in the codes part")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    try:
        if args.scheduler:
            client = Client(args.scheduler)
            cluster = None
        else:
            cluster = LocalCluster(
                n_workers=args.local_workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",
            )
            client = Client(cluster)
        try:
            report = index_catalog(
                args.manifest,
                args.out,
                client=client,
                model=args.model,
                share_tracks=args.share_tracks,
                work_dir=args.work_dir,
                code_bytes=args.code_bytes,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    except simsong.SimsongError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    for audio, message in report.failures:
        print(f"{audio}: {message}", file=sys.stderr)
    print(
        f"indexed {report.tracks} tracks ({report.audio_seconds:.0f} s of audio) in "
        f"{report.wall_seconds:.1f} s, {report.shares} shares"
        + (f", re-ran shares {report.retried_shares}" if report.retried_shares else ""),
        file=sys.stderr,
    )
    if report.failures:
        print(
            f"{len(report.failures)} tracks could not be indexed (listed above); the others were",
            file=sys.stderr,
        )
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
