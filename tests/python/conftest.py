"""Shared fixtures of the Python wheel's tests: the repository's fixture audio and models, and
the `simsong` CLI built from the same source (scripts/test.sh builds both)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
AUDIO = FIXTURES / "audio"
TEST_MODEL = FIXTURES / "models" / "test-untrained.onnx"


@pytest.fixture(scope="session")
def simsong_bin() -> str:
    path = os.environ.get("SIMSONG_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path.home() / ".cache/simsong/target")),
        "release",
        "simsong",
    )
    assert os.access(path, os.X_OK), f"the CLI is not built at {path} (cargo build --release --features cli)"
    return path


@pytest.fixture(scope="session")
def cli(simsong_bin):
    """Runs the CLI; returns the completed process (stdout, stderr as text)."""

    def run(*args, check=True):
        proc = subprocess.run([simsong_bin, *map(str, args)], capture_output=True, text=True)
        if check:
            assert proc.returncode == 0, f"simsong {args}: {proc.stderr}"
        return proc

    return run


def write_catalog(folder: pathlib.Path, with_bad: bool = True) -> pathlib.Path:
    """A CSV manifest over the fixture audio (11 tracks, tags and collections), with one
    undecodable file among them when `with_bad`."""
    files = [
        "real_music_a_44k.ogg",
        "real_music_a_44k.mp3",
        "real_music_a_44k.flac",
        "real_music_b_16k.wav",
        "synth_chirp_16k.wav",
        "synth_noise_16k.wav",
        "synth_sine440_16k.wav",
        "synth_clicks_16k.wav",
        "synth_sine1k_48k_stereo.wav",
        "synth_sine1k_8k.wav",
        "real_music_a_44k.m4a",
    ]
    if with_bad:
        files.insert(5, "bad/text.mp3")
    rows = ["id,audio,title,collection,tags"]
    for i, name in enumerate(files):
        rows.append(f"t{i:02d},{AUDIO / name},Track {i},c{i % 3},mood:m{i % 2};genre:g{i % 4}")
    manifest = folder / "catalog.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def tree_bytes(folder: pathlib.Path) -> dict:
    """Every file under `folder` (a published index), relative name → bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
