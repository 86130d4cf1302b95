"""The grouped cross-validation's folds and statistics (training/cv_folds.py, training/cv_score.py):
no training, no data set, numpy only, a second or two."""

import sys
from collections import Counter

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "training"))
import cv_folds  # noqa: E402
import cv_score  # noqa: E402


def synthetic(n_packages=14, seed=0):
    """tracks.csv- and renders.csv-like rows: packages of 1-40 tracks in 1-3 collections, render
    pieces from three sources (one pinned to planetblupi-music-ogg)."""
    rng = np.random.default_rng(seed)
    tracks = []
    pkgs = [f"pkg{i:02d}" for i in range(n_packages - 1)] + ["planetblupi-music-ogg"]
    for p in pkgs:
        for j in range(int(rng.integers(1, 41))):
            tracks.append({"track_id": f"{p}:{j}", "package": p, "collection": f"c{j % int(rng.integers(1, 4))}"})
    renders = []
    for src, n in (("music21", 40), ("mma", 25), ("planetblupi", 6)):
        for i in range(n):
            for c in range(int(rng.integers(2, 9))):
                renders.append({"clip_id": f"{src}-{i}-{c}", "piece_id": f"{src}:{i}", "source": src})
    return tracks, renders


@pytest.mark.parametrize("k", [4, 5])
def test_every_package_and_piece_held_out_exactly_once(k):
    tracks, renders = synthetic()
    plan = cv_folds.make_folds(tracks, renders, k=k, seed=7)
    pkgs = {t["package"] for t in tracks}
    held = Counter(p for fd in plan["folds"] for p in fd["heldout_packages"])
    assert set(held) == pkgs and set(held.values()) == {1}
    pieces = {r["piece_id"] for r in renders}
    held_p = Counter(p for fd in plan["folds"] for p in fd["heldout_pieces"])
    assert set(held_p) == pieces and set(held_p.values()) == {1}
    for fd in plan["folds"]:
        h, iv, tr = set(fd["heldout_packages"]), set(fd["inner_val_packages"]), set(fd["train_packages"])
        assert not (h & iv) and not (h & tr) and not (iv & tr)
        assert h | iv | tr == pkgs
        assert iv, "an inner split for checkpoint choice"
        assert "planetblupi-music-ogg" not in iv
        assert not set(fd["inner_val_pieces"]) & set(fd["heldout_pieces"])
    # the planetblupi tunes are held out with the package that has them as real audio
    blupi = plan["package_fold"]["planetblupi-music-ogg"]
    assert {plan["piece_fold"][p] for p in pieces if p.startswith("planetblupi:")} == {blupi}


def test_folds_balanced_seeded_and_split_files_consistent():
    tracks, renders = synthetic(n_packages=24, seed=3)
    a = cv_folds.make_folds(tracks, renders, k=4, seed=1)
    assert a == cv_folds.make_folds(tracks, renders, k=4, seed=1)
    sizes = [fd["tracks"]["heldout"] for fd in a["folds"]]
    assert max(sizes) - min(sizes) <= max(Counter(t["package"] for t in tracks).values())
    for f in range(4):
        sp = cv_folds.fold_splits(a, f, tracks, renders)
        by_pkg = {}
        for t in tracks:
            by_pkg.setdefault(t["package"], set()).add(sp["real"]["track_split"][t["track_id"]])
        assert all(len(v) == 1 for v in by_pkg.values()), "a package never straddles splits"
        by_piece = {}
        for r in renders:
            by_piece.setdefault(r["piece_id"], set()).add(sp["renders"]["clip_split"][r["clip_id"]])
        assert all(len(v) == 1 for v in by_piece.values()), "a piece never straddles splits"
        test_pkgs = {p for p, v in by_pkg.items() if v == {"test"}}
        assert test_pkgs == set(a["folds"][f]["heldout_packages"])


def test_precision_matches_simsong_eval():
    # the case of src/bin/simsong/eval.rs's unit test
    v = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    p, rows = cv_score.query_precision(v, ["a", "a", "b", "b"])
    assert list(rows) == [0, 1, 2, 3]
    assert np.all(p[:, 0] == 1.0) and np.allclose(p[:, 1], 0.2)  # P@5: 1 hit of 3 candidates / 5
    p, rows = cv_score.query_precision(v, ["a", "b", "a", "c"])
    assert list(rows) == [0, 2] and np.all(p[:, 0] == 0.0)


def fold_result(fold, p, pkgs):
    return {"fold": fold, "p": np.asarray(p, float), "packages": np.asarray(pkgs),
            "query_ids": [f"q{fold}-{i}" for i in range(len(p))]}


def test_bootstrap_paired_difference():
    rng = np.random.default_rng(0)
    n, pkgs = 400, [f"p{i % 20}" for i in range(400)]
    base = rng.uniform(0.2, 0.6, size=(n, 3))
    better = np.clip(base + 0.1 + rng.normal(0, 0.02, size=(n, 3)), 0, 1)
    a = [fold_result(f, better[f::4], pkgs[f::4]) for f in range(4)]
    b = [fold_result(f, base[f::4], pkgs[f::4]) for f in range(4)]
    e = cv_score.paired_entry(a, b, n_boot=500, seed=1)
    assert e["p_at_10_ci"][0] > 0 and abs(e["p_at_10_diff"] - (better - base)[:, 2].mean()) < 1e-12
    assert e["ci"] == e["p_at_10_ci"] and e["folds"] == [0, 1, 2, 3]
    same = cv_score.paired_entry(b, b, n_boot=200, seed=1)
    assert same["p_at_10_diff"] == 0 and same["p_at_10_ci"] == [0.0, 0.0]
    assert same["p_at_1_diff"] == 0 and same["p_at_1_ci"] == [0.0, 0.0]
    # a system's interval covers its mean; partial systems are marked
    s = cv_score.summarise(b[:3], k=4, n_boot=300, seed=2)
    assert s["complete"] is False and len(s["per_fold"]) == 3
    assert s["p_at_10_ci"][0] <= s["p_at_10"] <= s["p_at_10_ci"][1]
    assert cv_score.summarise(b, k=4, n_boot=50)["complete"] is True


def test_bootstrap_resamples_whole_packages():
    # two packages, all queries of one at 1.0 and of the other at 0.0: every resample's mean is
    # 0, 1/2 or 1 (weighted by the packages' query counts), never anything between
    values = np.array([1.0] * 5 + [0.0] * 5)
    clusters = np.array(["a"] * 5 + ["b"] * 5)
    means = {round(values[ix].mean(), 9) for ix in cv_score.cluster_bootstrap_idx(clusters, 200, 0)}
    assert means <= {0.0, 0.5, 1.0}


def test_teacher_projection_is_fitted_on_training_rows_and_whitens_them():
    rng = np.random.default_rng(3)
    # Non-negative, correlated, unevenly scaled rows, as the teacher's ReLU maxima are.
    train = np.abs(rng.normal(size=(400, 24)) @ rng.normal(size=(24, 24))) * rng.uniform(0.1, 5, 24)
    project = cv_score.fit_teacher_projection(train, dim=8, white=True)
    y = project(train)
    assert y.shape == (400, 8)
    assert np.allclose(y.mean(0), 0, atol=1e-9)
    assert np.allclose(np.cov(y, rowvar=False), np.eye(8), atol=1e-6)
    plain = cv_score.fit_teacher_projection(train, dim=8, white=False)(train)
    # Unwhitened: the same axes, variances in decreasing order.
    var = plain.var(0)
    assert np.all(np.diff(var) <= 1e-9) and var[0] > var[-1]
    assert np.allclose(np.abs(plain / plain.std(0, ddof=1)), np.abs(y), atol=1e-6)
    # Rows not seen in the fit go through the same map.
    held = np.abs(rng.normal(size=(5, 24)))
    assert np.allclose(project(held)[0], project(np.vstack([held[:1], train]))[0])


def test_nuisance_projection_shrinks_what_copies_change():
    """Tracks differ along every axis; copies differ from their tracks mostly along axis 0.
    Whitened against the copy differences, a copy lies far closer to its track (in units of the
    spread between tracks) than under the plain PCA projection."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 8)) * np.array([3.0, 1, 1, 1, 1, 1, 1, 1])
    diffs = np.zeros((400, 8))
    diffs[:, 0] = rng.standard_normal(400) * 2.0
    diffs[:, 1:] = rng.standard_normal((400, 7)) * 0.05

    def ratio(proj):
        tracks, copies = proj(x), proj(x - diffs)
        return np.linalg.norm(tracks - copies, axis=1).mean() / np.linalg.norm(tracks - tracks.mean(0), axis=1).mean()

    plain = ratio(cv_score.fit_teacher_projection(x, dim=4, white=False))
    nuisance = ratio(cv_score.fit_nuisance_projection(x, diffs, dim=4, lam=0.01))
    assert nuisance < 0.5 * plain, (nuisance, plain)
