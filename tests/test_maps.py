"""The map kinds on synthetic data with known answers, and the map file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.maps import (
    MapError,
    MapFile,
    MapHeader,
    Space,
    fit_map,
    load_map,
    loo_errors,
    ridge,
)


def _rotation(dim: int, seed: int = 0) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q


def _data(rows: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim))


def test_procrustes_recovers_an_exact_rotation():
    x, r = _data(200, 32), _rotation(32)
    fitted = fit_map("procrustes", x, x @ r, center=False)
    assert np.abs(fitted.arrays["rotation"] - r).max() < 1e-6
    assert np.abs(fitted(x) - x @ r).max() < 1e-5  # applied in float32
    # with centring and scaling it also recovers a shifted, scaled rotation
    shift = np.random.default_rng(2).normal(size=32)
    scaled = fit_map("procrustes", x, 2.5 * x @ r + shift, scale=True)
    assert float(scaled.arrays["scale"]) == pytest.approx(2.5, rel=1e-6)
    assert np.abs(scaled(x[:20]) - (2.5 * x[:20] @ r + shift)).max() < 1e-4


def test_procrustes_refuses_two_dimensions():
    with pytest.raises(
        MapError, match=r"procrustes needs the same dimension .* \(new model 24-d, old collection 16-d\)"
    ):
        fit_map("procrustes", _data(50, 24), _data(50, 16))


def test_ridge_recovers_an_exact_affine_map_across_dimensions():
    x = _data(300, 24)
    w, b = np.random.default_rng(3).normal(size=(24, 16)), np.random.default_rng(4).normal(size=16)
    fitted = fit_map("ridge", x, x @ w + b)
    assert fitted.in_dim == 24 and fitted.out_dim == 16
    assert np.abs(fitted.arrays["weight"] - w).max() < 1e-6
    assert np.abs(fitted(x) - (x @ w + b)).max() < 1e-4
    assert fitted.params["alpha_chosen_by"] == "loo"


def test_loo_errors_match_refitting_without_each_row():
    x, y = _data(30, 6, seed=5), _data(30, 4, seed=6)
    alpha = 3.0
    brute = 0.0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        weight, bias, _ = ridge(x[keep], y[keep], alpha)
        brute += float(((x[i] @ weight + bias - y[i]) ** 2).sum())
    assert loo_errors(x, y, [alpha])[0] == pytest.approx(brute, rel=1e-9)


def test_loo_picks_more_shrinkage_for_noisier_targets():
    x = _data(60, 20)
    w = np.random.default_rng(7).normal(size=(20, 8))
    clean = ridge(x, x @ w)[2]
    noisy = ridge(x, x @ w + 5 * _data(60, 8, seed=8))[2]
    assert noisy > clean * 100


def test_low_rank_recovers_an_exact_low_rank_map():
    x = _data(200, 24)
    down, up = np.random.default_rng(9).normal(size=(24, 3)), np.random.default_rng(10).normal(size=(3, 16))
    fitted = fit_map("low-rank", x, x @ down @ up, rank=3)
    assert fitted.arrays["down"].shape == (24, 3) and fitted.arrays["up"].shape == (3, 16)
    assert np.abs(fitted(x) - x @ down @ up).max() < 1e-4
    assert fit_map("low-rank", x, x @ down @ up, rank=2)(x).shape == (200, 16)


@pytest.mark.slow  # imports torch
def test_mlp_is_seeded_and_fits_what_a_linear_map_cannot():
    x = _data(400, 8)
    w, v = np.random.default_rng(11).normal(size=(8, 8)), np.random.default_rng(12).normal(size=(8, 8))
    y = x @ w + 2 * np.tanh(x @ v)
    first, second = fit_map("mlp", x, y, seed=3), fit_map("mlp", x, y, seed=3)
    assert all(np.array_equal(first.arrays[k], second.arrays[k]) for k in first.arrays)
    linear = fit_map("ridge", x, y)
    assert ((first(x) - y) ** 2).mean() < 0.8 * ((linear(x) - y) ** 2).mean()


def _header(kind: str, source_dim: int, target_dim: int, **changes) -> MapHeader:
    fields = dict(
        kind=kind,
        source=Space("new", "f-new", source_dim, "new-spec"),
        target=Space("old", "f-old", target_dim, "old-spec", "harness_old"),
        train_rows=300,
        seed=0,
        heldout={"same_text_cosine": 0.9, "self_retrieval_at_1": 0.95},
    )
    return MapHeader(**{**fields, **changes})


def test_map_file_round_trip_read_back_by_numpy_alone(tmp_path):
    x = _data(300, 24)
    w = np.random.default_rng(3).normal(size=(24, 16))
    fitted = fit_map("ridge", x, x @ w)
    path = MapFile(fitted, _header("ridge", 24, 16, params=fitted.params)).save(tmp_path / "m.npz")
    loaded = load_map(path)
    assert loaded.header == _header("ridge", 24, 16, params=fitted.params)
    assert np.array_equal(loaded.apply(x), fitted(x))
    with np.load(path) as raw:  # no pickle, no harness: the arrays and a JSON string
        header = json.loads(str(raw["header"]))
        by_hand = x @ raw["array_weight"] + raw["array_bias"]
    assert header["kind"] == "ridge" and header["source"]["fingerprint"] == "f-new"
    assert header["format"] == "harness-map" and header["format_version"] == 1
    assert np.allclose(by_hand, loaded.apply(x), atol=1e-5)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_text("not a map"), "not a numpy .npz archive"),
        (lambda p: np.save(p.with_suffix(".npy"), np.zeros(3)) or p.with_suffix(".npy").rename(p), "not a numpy"),
        (lambda p: np.savez(p, weight=np.zeros((2, 2))), "no header"),
        (lambda p: np.savez(p, header=np.array(json.dumps({"kind": "ridge"}))), "names no harness map format"),
        (
            lambda p: np.savez(
                p,
                header=np.array(_header("ridge", 4, 3).to_json()),
                array_weight=np.zeros((5, 3)),
                array_bias=np.zeros(3),
            ),
            "its arrays do not fit its header",
        ),
    ],
)
def test_a_file_that_is_not_a_map_is_refused_in_one_line(tmp_path, make, reason):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(MapError, match="is not a harness map file") as caught:
        load_map(path)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def _saved_ridge(path, **header_changes) -> dict:
    x = _data(40, 4)
    fitted = fit_map("ridge", x, x[:, :3])
    MapFile(fitted, _header("ridge", 4, 3, params=fitted.params)).save(path)
    with np.load(path) as raw:
        contents = {name: raw[name] for name in raw.files}
    header = json.loads(str(contents["header"]))
    for key, value in header_changes.items():
        if "." in key:
            outer, inner = key.split(".")
            header[outer][inner] = value
        else:
            header[key] = value
    contents["header"] = np.array(json.dumps(header))
    return contents


def _truncated(path):
    _saved_ridge(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "make, reason",
    [
        (_truncated, "not a numpy .npz archive"),
        (lambda p: np.savez(p, **_saved_ridge(p, params="ridge")), "its params are not a mapping"),
        (lambda p: np.savez(p, **_saved_ridge(p, heldout=[1])), "its heldout are not a mapping"),
        (lambda p: np.savez(p, **_saved_ridge(p, **{"source.dimension": "4"})), "dimension '4' is not a whole"),
        (lambda p: np.savez(p, **_saved_ridge(p, source="new")), "a space of its header is not a mapping"),
        (lambda p: np.savez(p, **_saved_ridge(p, train_rows="300")), "its train_rows is not a whole number"),
        (
            lambda p: np.savez(p, **{**_saved_ridge(p), "array_weight": np.array([["a"] * 3] * 4)}),
            "an array that does not hold numbers",
        ),
    ],
)
def test_a_damaged_or_mistyped_map_file_is_refused_in_one_line(tmp_path, make, reason):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(MapError, match="is not a harness map file") as caught:
        load_map(path)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "new.npz"
    np.savez(path, header=np.array(_header("ridge", 4, 3, format_version=99).to_json()))
    with pytest.raises(MapError, match="format version 99, newer than this harness reads"):
        load_map(path)


def test_a_map_is_refused_for_other_fingerprints_or_dimensions(tmp_path):
    fitted = fit_map("ridge", _data(50, 4), _data(50, 3))
    loaded = load_map(MapFile(fitted, _header("ridge", 4, 3)).save(tmp_path / "m.npz"))
    loaded.check_source("new", "f-new", 4)
    loaded.check_target("harness_old", "old", "f-old", 3)
    loaded.check_target("external", "old", "", 3)  # no fingerprint recorded: the dimension decides
    with pytest.raises(MapError, match=r"takes vectors of new \(fingerprint f-new, 4-d\), but the probe model is "):
        loaded.check_source("other", "f-other", 4)
    with pytest.raises(MapError, match=r"maps into old \(fingerprint f-old, 3-d\), but collection c holds .*5-d"):
        loaded.check_target("c", "old", "f-old", 5)
    with pytest.raises(MapError, match=r"but collection c holds vectors of other \(fingerprint f-x, 3-d\)"):
        loaded.check_target("c", "other", "f-x", 3)


def test_fit_refuses_unknown_kinds_and_unpaired_rows():
    with pytest.raises(MapError, match="unknown map kind 'affine'"):
        fit_map("affine", _data(5, 2), _data(5, 2))
    with pytest.raises(MapError, match="same rows in both spaces"):
        fit_map("ridge", _data(5, 2), _data(6, 2))
    with pytest.raises(MapError, match="at least 2 training rows"):
        fit_map("ridge", _data(1, 2), _data(1, 2))
