"""The distributed indexing job on a real local Dask cluster (two worker processes): the same
index as one machine, a killed worker costing one share's re-run, an undecodable file reported
and the rest indexed."""

import os
import signal
import subprocess
import sys
import threading
import time

import cloudpickle
import pytest
from dask.distributed import Client, LocalCluster

import simsong
import simsong.distributed as job
from conftest import ROOT, TEST_MODEL, tree_bytes, write_catalog

# The stall hook below runs on the workers; ship it by value (workers cannot import tests/).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        yield client


def single_machine(cli, manifest, out):
    """`simsong index build` on one machine: exit status 2 (one file left out)."""
    proc = cli("index", "build", "--manifest", manifest, "--model", TEST_MODEL, "--out", out, check=False)
    assert proc.returncode == 2, proc.stderr
    return proc


def test_the_job_builds_the_index_one_machine_builds(cluster, cli, tmp_path):
    manifest = write_catalog(tmp_path)
    whole = tmp_path / "whole"
    proc = single_machine(cli, manifest, whole)
    report = job.index_catalog(
        str(manifest), str(tmp_path / "spread"), client=cluster, model=str(TEST_MODEL), share_tracks=3
    )
    assert report.shares == 4 and report.tracks == 11 and report.retried_shares == []
    # Both workers took shares.
    assert len({r["worker_pid"] for r in report.share_reports}) == 2
    # Byte-identical published index: manifest, codes, re-ranking rows, metadata, segments.
    assert tree_bytes(tmp_path / "spread") == tree_bytes(whole)
    # The undecodable file is reported with the CLI's words, the rest indexed.
    assert len(report.failures) == 1
    audio, message = report.failures[0]
    assert audio.endswith("bad/text.mp3")
    assert f"{audio}: {message}" in proc.stderr
    assert report.exit_status == 2
    # The shard folder is cleaned up after the merge.
    assert not (tmp_path / "spread.shards").exists()

    # One-file output too: the same bytes as `simsong index build --out FILE.idx`.
    cli_idx = tmp_path / "whole.idx"
    single_machine(cli, manifest, cli_idx)
    job.index_catalog(str(manifest), str(tmp_path / "spread.idx"), client=cluster, model=str(TEST_MODEL), share_tracks=5)
    assert (tmp_path / "spread.idx").read_bytes() == cli_idx.read_bytes()


def stall_first_attempt_of_share_1(share, attempt):
    """On the first attempt at share 1, say which process runs it, then stall until killed."""
    if share == 1 and attempt == 1:
        with open(os.environ["SIMSONG_TEST_STALL_FILE"] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(os.environ["SIMSONG_TEST_STALL_FILE"] + ".tmp", os.environ["SIMSONG_TEST_STALL_FILE"])
        time.sleep(600)


def test_a_killed_worker_costs_a_rerun_of_its_share_not_the_job(cli, tmp_path):
    manifest = write_catalog(tmp_path)
    stall = tmp_path / "stalled-worker.pid"
    # Workers are spawned by the nannies with this environment.
    os.environ["SIMSONG_TEST_STALL_FILE"] = str(stall)
    killed = {}

    def kill_when_stalled():
        deadline = time.time() + 120
        while not stall.exists() and time.time() < deadline:
            time.sleep(0.05)
        pid = int(stall.read_text())
        killed["pid"] = pid
        os.kill(pid, signal.SIGKILL)

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, Client(cluster) as client:
        killer = threading.Thread(target=kill_when_stalled)
        killer.start()
        report = job.index_catalog(
            str(manifest),
            str(tmp_path / "spread"),
            client=client,
            model=str(TEST_MODEL),
            share_tracks=3,
            before_share=stall_first_attempt_of_share_1,
        )
        killer.join()
    del os.environ["SIMSONG_TEST_STALL_FILE"]
    assert report.retried_shares == [1]
    share1 = report.share_reports[1]
    assert share1["attempt"] == 2 and share1["worker_pid"] != killed["pid"]
    assert all(r["attempt"] == 1 for r in report.share_reports if r["share"] != 1)
    whole = tmp_path / "whole"
    single_machine(cli, manifest, whole)
    assert tree_bytes(tmp_path / "spread") == tree_bytes(whole)


def test_the_command_line_exits_as_the_cli_does(tmp_path):
    manifest = write_catalog(tmp_path)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "simsong.distributed", *map(str, args)],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )

    proc = run("--manifest", manifest, "--out", tmp_path / "out", "--local-workers", 2,
               "--model", TEST_MODEL, "--share-tracks", 4)
    assert proc.returncode == 2, proc.stderr
    assert "bad/text.mp3: " in proc.stderr
    assert "indexed 11 tracks" in proc.stderr and "3 shares" in proc.stderr
    assert simsong.count_tracks(manifest) == 12
    (tmp_path / "clean").mkdir()
    clean = write_catalog(tmp_path / "clean", with_bad=False)
    proc = run("--manifest", clean, "--out", tmp_path / "clean.idx", "--local-workers", 1, "--model", TEST_MODEL)
    assert proc.returncode == 0, proc.stderr
    proc = run("--manifest", tmp_path / "missing.csv", "--out", tmp_path / "x", "--local-workers", 1)
    assert proc.returncode == 1 and "missing.csv" in proc.stderr
