"""Tables, protocol selection, train-only feature scaling, composition (ml/data.py, ml/composition.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml_fixtures import NO_TRUTH_JOB, write_ml_dataset
from rapid_croissant.dataset import schema
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.composition import composition, format_composition
from rapid_croissant.ml.data import (
    FEATURES,
    check_split_by_job,
    feature_matrix,
    hold_out_jobs,
    load_tables,
    select_candidates,
    split_rows,
    write_json,
)


def _frame() -> pd.DataFrame:
    """Five candidates of two jobs covering every detection/label case."""
    na = pd.NA
    df = pd.DataFrame(
        {
            "candidate_id": ["a", "b", "c", "d", "e"],
            "jid": ["j1", "j1", "j1", "j2", "j2"],
            "split": ["train", "train", "train", "test", "test"],
            "detected_by": ["zogy", "sfft", "both", "both", "zogy"],
            "label": [1, 0, 1, -1, na],
            "zogy_label": [1, na, 1, -1, 0],
            "sfft_label": [na, 0, 0, -1, na],
            "x": [10.0, 20.4, 30.0, 40.0, 50.0],
            "y": [11.0, 21.0, 31.0, 41.0, 51.0],
            "zogy_x": [10.0, np.nan, 30.2, 40.0, 50.0],
            "zogy_y": [11.0, np.nan, 31.2, 41.0, 51.0],
            "sfft_x": [np.nan, 20.4, 29.8, 40.0, np.nan],
            "sfft_y": [np.nan, 21.0, 30.8, 41.0, np.nan],
        }
    )
    for col in ("label", "zogy_label", "sfft_label"):
        df[col] = df[col].astype("Int64")
    return df.astype({"detected_by": "string", "jid": "string", "split": "string"})


def test_protocol_a_uses_each_algorithms_own_detections_labels_and_positions():
    df = _frame()
    zogy = select_candidates(df, algorithm="zogy", protocol="A")
    assert list(zogy["candidate_id"]) == ["a", "c", "e"]  # d is unknown (-1): excluded
    assert list(zogy["target"]) == [1, 1, 0]
    assert list(zogy["cx"]) == [10.0, 30.2, 50.0]
    sfft = select_candidates(df, algorithm="sfft", protocol="A")
    assert list(sfft["candidate_id"]) == ["b", "c"]
    assert list(sfft["target"]) == [
        0,
        0,
    ]  # c: SFFT's own detection is bogus although the merged label is real
    assert list(sfft["cy"]) == [21.0, 30.8]
    both = select_candidates(df, algorithm="both", protocol="A")
    assert list(both["candidate_id"]) == ["a", "b", "c"]  # -1 and NA labels excluded
    assert list(both["cx"]) == [10.0, 20.4, 30.0]


def test_protocol_b_keeps_only_candidates_detected_by_both():
    df = _frame()
    for alg, expected in (("zogy", [1]), ("sfft", [0]), ("both", [1])):
        rows = select_candidates(df, algorithm=alg, protocol="B")
        assert list(rows["candidate_id"]) == ["c"]
        assert list(rows["target"]) == expected
    with pytest.raises(ValueError, match="protocol"):
        select_candidates(df, algorithm="zogy", protocol="C")
    with pytest.raises(ValueError, match="algorithm"):
        select_candidates(df, algorithm="hotpants")


def _feature_frame(n: int, seed: int, split: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {"detected_by": rng.choice(["zogy", "sfft", "both"], n), "split": [split] * n}
    for alg in ("zogy", "sfft"):
        has = np.isin(data["detected_by"], [alg, "both"])
        for name in (*FEATURES, "npix"):
            data[f"{alg}_{name}"] = np.where(has, rng.lognormal(2, 1, n), np.nan)
        data[f"{alg}_reduced_chi2"] = np.nan  # absent from photutils-2 catalogs
    return pd.DataFrame(data)


def test_feature_stats_come_from_train_rows_only():
    train, test = _feature_frame(200, 0, "train"), _feature_frame(50, 1, "test")
    X_tr, names, stats = feature_matrix(train, algorithm="both")
    assert "zogy_npix" not in names and "zogy_reduced_chi2" not in names  # constant / empty on train: dropped
    assert {"zogy_missing", "sfft_missing"} <= set(names)
    X_te, names_te, stats_te = feature_matrix(test, algorithm="both", stats=stats)
    assert names_te == names and stats_te is stats
    changed = test.copy()
    changed[[c for c in test.columns if c.startswith(("zogy_", "sfft_"))]] *= 1000.0
    X_changed, _, _ = feature_matrix(changed, algorithm="both", stats=stats)
    assert json.dumps(stats, sort_keys=True) == json.dumps(
        feature_matrix(train, algorithm="both")[2], sort_keys=True
    )
    assert not np.allclose(X_changed, X_te)  # the test rows moved, the statistics did not
    # Scaling is asinh (flux-like) then (value - train median) / train IQR, NaN -> 0, plus indicators.
    j = names.index("zogy_flux")
    value = test["zogy_flux"].to_numpy()
    expected = (np.arcsinh(value) - stats["center"]["zogy_flux"]) / stats["scale"]["zogy_flux"]
    np.testing.assert_allclose(X_te[:, j], np.nan_to_num(expected), rtol=1e-5, atol=1e-6)
    missing = X_te[:, names.index("zogy_missing")]
    np.testing.assert_array_equal(missing, (test["detected_by"] == "sfft").to_numpy(float))
    assert X_tr.dtype == np.float32 and np.isfinite(X_te).all()


def test_single_algorithm_features_use_only_that_algorithm():
    train = _feature_frame(100, 2, "train")
    _, names, stats = feature_matrix(train[train["detected_by"] != "sfft"], algorithm="zogy")
    assert all(n.startswith("zogy_") for n in names)
    with pytest.raises(ValueError, match="stats"):
        feature_matrix(train, algorithm="sfft", stats=stats)


def test_leaky_candidate_split_is_refused():
    df = _frame()
    check_split_by_job(df)
    df.loc[0, "split"] = "test"  # job j1 now in train and test
    with pytest.raises(RapidCroissantError, match="j1"):
        check_split_by_job(df)


def test_hold_out_jobs_moves_whole_jobs():
    df = pd.DataFrame(
        {"jid": np.repeat([f"j{k}" for k in range(10)], 6), "target": np.tile([0, 1, 1, 0, 0, 1], 10)}
    )
    kept, held = hold_out_jobs(df, fraction=0.2, seed=3)
    assert len(kept) + len(held) == len(df)
    assert held["jid"].nunique() == 2
    assert not set(kept["jid"]) & set(held["jid"])


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


def test_load_tables_and_splits_by_job(ml_dataset):
    tables = load_tables(ml_dataset)
    assert len(tables.candidates) > 0 and set(schema.CANDIDATE_SCHEMA) <= set(tables.candidates.columns)
    check_split_by_job(tables.candidates)
    jids = {s: set(split_rows(tables.candidates, s)["jid"]) for s in schema.SPLITS}
    assert not (jids["train"] & jids["val"] or jids["train"] & jids["test"] or jids["val"] & jids["test"])
    with pytest.raises(RapidCroissantError, match="candidates"):
        load_tables(ml_dataset / "images")


def test_unknown_labels_never_selected(ml_dataset):
    cands = load_tables(ml_dataset).candidates
    for alg in ("zogy", "sfft", "both"):
        for protocol in ("A", "B"):
            rows = select_candidates(cands, algorithm=alg, protocol=protocol)
            assert NO_TRUTH_JOB not in set(rows["jid"])
            assert set(rows["target"]) == {0, 1}


def test_composition_counts_add_up(ml_dataset, tmp_path):
    comp = composition(ml_dataset)
    total = comp["all"]
    assert total["real"] + total["bogus"] + total["unknown"] == total["n_candidates"]
    assert sum(comp[s]["n_candidates"] for s in schema.SPLITS) == total["n_candidates"]
    assert total["unknown"] == comp["train"]["unknown"] > 0  # the job without truth is in train
    assert sum(total["detected_by"].values()) == total["n_candidates"]
    assert total["real_injected"] + total["real_natural"] == total["real"]
    text = format_composition(comp)
    assert "detected by zogy only" in text and "real fraction" in text
    write_json(tmp_path / "c.json", comp)
    assert json.loads((tmp_path / "c.json").read_text())["all"]["n_candidates"] == total["n_candidates"]


def test_write_json_is_strict(tmp_path):
    write_json(tmp_path / "x.json", {"a": float("nan"), "b": np.float32(1.5), "c": [np.int64(2)]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": 1.5, "c": [2]}
