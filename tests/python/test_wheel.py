"""The Python wheel: the same numbers as the CLI and the browser's wasm (the golden file both
are held to), the same errors, the GIL let go during analysis."""

import hashlib
import json
import threading
import wave

import numpy as np
import pytest

import simsong
from conftest import AUDIO, FIXTURES, ROOT, TEST_MODEL

# Files covering every decoder and the resampler, as tests/golden.rs checks them natively and
# tests/wasm_parity.rs in Node and Chromium, against the same golden file.
GOLDEN = json.loads((FIXTURES / "golden" / "embeddings.json").read_text())["files"]
GOLDEN_FILES = sorted(GOLDEN)


@pytest.fixture(scope="module")
def test_engine():
    return simsong.Engine(TEST_MODEL)


def test_embeddings_match_the_golden_file_the_wasm_build_is_held_to(test_engine):
    assert len(GOLDEN_FILES) == 7
    for name in GOLDEN_FILES:
        a = test_engine.embed(AUDIO / name)
        want = GOLDEN[name]
        # Native and wasm are each within 5e-6 of these values (tests/golden.rs,
        # tests/wasm_parity.rs), so the wheel is within 1e-5 of the browser.
        assert np.abs(a.embedding - np.float32(want["embedding"])).max() <= 5e-6, name
        assert np.abs(a.segment_embeddings - np.float32(want["segments"])).max() <= 5e-6, name
        assert np.abs(a.head_probabilities["instrument"] - np.float32(want["instrument"])).max() <= 5e-6
        assert a.duration_seconds == pytest.approx(want["duration_s"], abs=1e-9)
        assert a.segment_embeddings.shape == (len(want["segments"]), test_engine.embedding_dim)


def test_embeddings_equal_the_clis(test_engine, cli, tmp_path):
    files = [AUDIO / n for n in GOLDEN_FILES]
    out = tmp_path / "cli.npy"
    cli("embed", *files, "--model", TEST_MODEL, "--out", out)
    theirs = np.load(out)
    ours = np.stack([test_engine.embed(f).embedding for f in files])
    assert ours.shape == theirs.shape == (len(files), test_engine.embedding_dim)
    # The same Rust code on the same machine: identical, well inside the 1e-5.
    assert np.abs(ours - theirs).max() <= 1e-5
    assert np.array_equal(ours, theirs)


def test_paths_bytes_and_pcm_give_the_same_analysis(test_engine):
    path = AUDIO / "real_music_b_16k.wav"
    by_path = test_engine.embed(path)
    by_bytes = test_engine.embed(path.read_bytes(), format="wav")
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    by_pcm = test_engine.embed((pcm, rate))
    by_stereo = test_engine.embed((np.stack([pcm, pcm], axis=1), rate))
    for other in (by_bytes, by_pcm, by_stereo):
        np.testing.assert_array_equal(other.embedding, by_path.embedding)
        np.testing.assert_array_equal(other.segment_starts, by_path.segment_starts)
    assert by_path.segment_starts[0] == 0.0 and np.all(np.diff(by_path.segment_starts) > 0)
    assert (by_pcm.sample_rate_hz, by_pcm.channels) == (rate, 1)
    assert by_stereo.channels == 2


def test_patches_are_what_the_cli_exports_for_training(test_engine, cli, tmp_path):
    path = AUDIO / "real_music_a_44k.mp3"
    cli("features", path, "--out-dir", tmp_path)
    exported = np.load(tmp_path / "00000.npy")
    row = (tmp_path / "index.csv").read_text().splitlines()[1].split(",")
    patches, starts = test_engine.patches(path)
    assert patches.shape == exported.shape == (
        len(starts),
        simsong.ANALYSIS["n_mels"],
        simsong.ANALYSIS["patch_frames"],
    )
    np.testing.assert_array_equal(patches, exported)
    assert [f"{s:.3f}" for s in starts] == row[4].split(";")


def test_log_mel_is_the_front_ends_at_full_resolution(test_engine):
    clip = "real_music_a_16k"
    mel = test_engine.log_mel(AUDIO / f"{clip}.wav")
    librosa = np.load(FIXTURES / "reference" / f"{clip}.logmel.npy").T  # (frames, n_mels)
    # One frame per hop with librosa's centring; the same log10(1 + gain·S) scale. The
    # product's front end removes DC first (librosa does not), which moves the lowest bands
    # most and every band a little, so the bulk is compared, not the maximum.
    assert mel.shape == librosa.shape and mel.dtype == np.float32
    assert np.median(np.abs(mel - librosa)) < 1e-3
    same = test_engine.log_mel((AUDIO / f"{clip}.wav").read_bytes())
    np.testing.assert_array_equal(same, mel)


def test_part_of_a_song_as_the_browser_and_cli_compute_it(test_engine):
    a = test_engine.embed(AUDIO / "real_music_a_44k.wav")
    first = a.embedding_between(0.0, a.segment_seconds)
    np.testing.assert_allclose(first, a.segment_embeddings[0], atol=1e-6)
    whole = a.embedding_between(0.0, a.duration_seconds)
    np.testing.assert_allclose(whole, a.embedding, atol=1e-6)
    with pytest.raises(simsong.SimsongError, match="after the end|beyond|end"):
        a.embedding_between(a.duration_seconds + 10, a.duration_seconds + 20)


@pytest.mark.parametrize(
    "name",
    ["bad/empty.mp3", "bad/text.mp3", "bad/header_only.wav", "bad/silence_16k.wav"],
)
def test_bad_files_raise_the_clis_message(test_engine, cli, tmp_path, name):
    path = AUDIO / name
    proc = cli("embed", path, "--model", TEST_MODEL, "--out", tmp_path / "x.csv", check=False)
    assert proc.returncode != 0
    with pytest.raises(simsong.SimsongError) as caught:
        test_engine.embed(path)
    # The CLI prints "<path>: <message>"; the exception is the message.
    assert f"{path}: {caught.value}" in proc.stderr
    with pytest.raises(simsong.SimsongError) as from_bytes:
        test_engine.embed(path.read_bytes(), format=path.suffix[1:])
    assert str(from_bytes.value) == str(caught.value)


def test_bad_pcm_and_models_are_refused_clearly(test_engine):
    with pytest.raises(simsong.SimsongError, match="non-finite"):
        test_engine.embed((np.array([0.1, np.nan, 0.2] * 16000, dtype=np.float32), 16000))
    with pytest.raises(simsong.SimsongError, match="sample rate"):
        test_engine.embed((np.zeros(100, dtype=np.float32), 0))
    with pytest.raises(simsong.SimsongError, match="invalid model"):
        simsong.Engine(b"not a model at all")
    with pytest.raises(FileNotFoundError):
        simsong.Engine(ROOT / "no-such-model.onnx")
    with pytest.raises(TypeError):
        test_engine.embed(12345)


def test_the_default_model_is_the_shipped_one():
    engine = simsong.Engine()
    shipped = (ROOT / "models" / "simsong.onnx").read_bytes()
    assert engine.model_sha256 == hashlib.sha256(shipped).hexdigest()
    assert engine.model["trained"] is True
    assert engine.model["analysis"] == simsong.ANALYSIS


def test_analysis_lets_other_python_threads_run(test_engine):
    # Two minutes of stereo noise at 44.1 kHz: a long Rust call. If it held the GIL, this
    # thread could not count while it runs.
    rng = np.random.default_rng(7)
    pcm = (rng.standard_normal((44100 * 120, 2)) * 0.1).astype(np.float32)
    started = threading.Event()
    result = {}

    def work():
        started.set()
        result["analysis"] = test_engine.embed((pcm, 44100))

    thread = threading.Thread(target=work)
    thread.start()
    started.wait()
    ticks = 0
    while thread.is_alive():
        ticks += 1
    thread.join()
    assert result["analysis"].duration_seconds == pytest.approx(120.0)
    assert ticks > 1000, f"the main thread ran only {ticks} loop turns during the analysis"


def test_tempo_is_the_clis(test_engine, cli):
    path = AUDIO / "tempo" / "bach_bwv79.3_96bpm.ogg"
    tempo = test_engine.embed(path).tempo
    theirs = json.loads(cli("tempo", "--json", path).stdout)
    assert tempo["bpm"] == pytest.approx(96.0, rel=0.04)
    assert tempo["bpm"] == pytest.approx(theirs["bpm"], abs=1e-4)
    assert tempo["confidence"] == pytest.approx(theirs["confidence"], abs=1e-6)
    assert tempo["sections"] == []
    noise = np.random.default_rng(3).standard_normal(16000 * 20).astype(np.float32) * 0.1
    unclear = test_engine.embed((noise, 16000)).tempo
    assert unclear["bpm"] is None and unclear["confidence"] < 0.10


def test_versions_are_grouped_by_the_build_and_uploads_checked(tmp_path):
    """The wheel's build audits the catalog as `simsong index build` does; `check` says what
    `simsong check` says. The shipped model: the timbre check needs a trained one."""
    rows = [
        ("song", AUDIO / "real_music_a_44k.wav"),
        ("song-mp3", AUDIO / "real_music_a_44k.mp3"),
        ("song-flac", AUDIO / "real_music_a_44k.flac"),
        ("other", AUDIO / "real_music_b_16k.wav"),
        ("noise", AUDIO / "synth_noise_16k.wav"),
    ]
    manifest = tmp_path / "catalog.csv"
    manifest.write_text("id,audio\n" + "".join(f"{i},{p}\n" for i, p in rows))
    engine = simsong.Engine()
    simsong.build_index(manifest, tmp_path / "catalog.idx", engine=engine)
    groups = simsong.version_groups(tmp_path / "catalog.idx")
    assert [sorted(g["members"]) for g in groups] == [["song", "song-flac", "song-mp3"]]
    assert all(link["source"] == "detected" and link["score"] > 0.3 for link in groups[0]["links"])
    found = simsong.check(tmp_path / "catalog.idx", AUDIO / "real_music_a_44k.ogg", engine=engine)
    assert found["is_version"] and found["versions"][0]["id"].startswith("song"), found
    assert abs(found["versions"][0]["tempo_ratio"] - 1) < 0.01
    other = simsong.check(tmp_path / "catalog.idx", AUDIO / "synth_sine440_16k.wav", engine=engine)
    assert not other["is_version"] and other["versions"] == [] and other["nearest"][0]
    # Shards merged: the groups of the one-machine build.
    for i in range(2):
        simsong.build_index(manifest, tmp_path / f"s{i}.idx", engine=engine, shard=(i, 2))
    simsong.merge_index([tmp_path / "s0.idx", tmp_path / "s1.idx"], tmp_path / "merged.idx")
    assert simsong.version_groups(tmp_path / "merged.idx") == groups
    with pytest.raises(simsong.SimsongError, match="text.mp3"):
        simsong.check(tmp_path / "catalog.idx", AUDIO / "bad" / "text.mp3", engine=engine)
