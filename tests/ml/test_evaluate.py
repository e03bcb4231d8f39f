"""evaluate owns the test split: one bootstrap pass for every metric, RAPID's figure of merit, and datasets
built without full images (gbt works on features, the CNN gives a clean error)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from ml_fixtures import write_ml_dataset
from rapid_croissant.cli.main import cli
from rapid_croissant.config import TrainConfig
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml import evaluate as evaluate_module
from rapid_croissant.ml.evaluate import evaluate_run
from rapid_croissant.ml.metrics import METRIC_NAMES, group_bootstrap
from rapid_croissant.ml.run import RunFolder
from rapid_croissant.ml.train import train


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


@pytest.fixture(scope="module")
def features_only(ml_dataset, tmp_path_factory):
    """The same dataset as a --no-full-images build leaves it: no images/, masks/ or psfs/."""
    out = tmp_path_factory.mktemp("nofull") / "ds"
    shutil.copytree(ml_dataset, out, ignore=shutil.ignore_patterns("images", "masks", "psfs"))
    return out


@pytest.fixture(scope="module")
def gbt_run(ml_dataset, tmp_path_factory):
    return train(
        ml_dataset, TrainConfig(algorithm="both", model="gbt"), run_root=tmp_path_factory.mktemp("r")
    )


def test_evaluate_bootstraps_once_for_every_metric(gbt_run, ml_dataset, monkeypatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("metric_fn"))
        return group_bootstrap(*args, **kwargs)

    monkeypatch.setattr(evaluate_module, "group_bootstrap", counted)
    result = evaluate_run(gbt_run, ml_dataset, n_boot=300, seed=4, plots=False)
    assert calls == [None]  # one pass, with the default (every metric at once)
    metrics = result["classification"]["metrics"]
    assert set(metrics) == set(METRIC_NAMES)  # balanced accuracy included
    test = RunFolder(gbt_run).predictions("test")
    direct = group_bootstrap(
        test["label"],
        test["score"],
        test["jid"].to_numpy(str),
        n_boot=300,
        seed=4,
        threshold=result["threshold"],
    )
    for name in METRIC_NAMES:
        assert metrics[name] == pytest.approx(direct[name], nan_ok=True)
    y, pred = test["label"].to_numpy(), test["score"].to_numpy() >= result["threshold"]
    expected = 0.5 * (pred[y == 1].mean() + (~pred[y == 0]).mean())
    assert metrics["balanced_accuracy"]["value"] == pytest.approx(expected)


def test_evaluation_holds_the_figure_of_merit_with_intervals_or_reasons(gbt_run, ml_dataset):
    result = evaluate_run(gbt_run, ml_dataset, n_boot=200, plots=False)
    fom = result["figure_of_merit"]
    assert fom["published"]["zogy"]["fom"] == 24.68 and fom["published"]["sfft"]["fom"] == 25.38
    curves = {row["curve"] for row in fom["rows"]}
    assert {"detection_zogy", "detection_sfft", "detection_both", "classifier_both"} <= curves
    for row in fom["rows"]:
        for key in ("m50", "m80", "m20", "fp_per_image", "m_th_10"):
            entry = row[key]
            if entry["value"] is None or not np.isfinite(entry["value"]):
                assert entry["reason"], (row["curve"], key)
            elif np.isfinite(entry["low"]):
                assert entry["low"] - 1e-9 <= entry["value"] <= entry["high"] + 1e-9
    roc = result["roc"]
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1 and len(roc["fpr"]) == len(roc["tpr"])


def test_gbt_trains_and_evaluates_without_full_images(features_only, tmp_path):
    run = train(features_only, TrainConfig(algorithm="zogy", model="gbt"), run_root=tmp_path)
    result = evaluate_run(run, features_only, n_boot=100)
    assert result["classification"]["n"] > 0 and "gallery.png" not in result["plots"]
    assert {"roc.png", "score_hist.png", "completeness.png"} <= set(result["plots"])


def test_cnn_without_full_images_is_a_clean_error(features_only, tmp_path):
    with pytest.raises(
        RapidCroissantError, match="no image tensor for 8 of 8 jobs.*--no-full-images.*--model gbt"
    ):
        train(features_only, TrainConfig(algorithm="zogy", model="cnn", epochs=1), run_root=tmp_path)
    out = CliRunner().invoke(
        cli, ["train", "-d", str(features_only), "--model", "cnn", "--runs", str(tmp_path)]
    )
    assert out.exit_code == 1 and out.output.startswith("error: ") and "Traceback" not in out.output
    assert not any(tmp_path.iterdir())  # no half-made run folder


def test_calibration_and_tta_leave_ranking_metrics_and_write_a_reliability_diagram(ml_dataset, tmp_path):
    config = TrainConfig(algorithm="zogy", model="cnn", epochs=1, batch_size=64, seed=1)
    run = train(ml_dataset, config, run_root=tmp_path / "runs", progress=False)
    plain = evaluate_run(run, n_boot=30, tta=False, calibration="isotonic", plots=False)
    platt = evaluate_run(run, n_boot=30, tta=False, calibration="platt")
    for m in ("roc_auc", "average_precision", "fpr_at_fnr_5pct"):
        assert plain["classification"]["metrics"][m] == platt["classification"]["metrics"][m]
    assert platt["threshold"] == RunFolder(run).metrics()["threshold"]
    calib = platt["calibration"]
    assert calib["map"]["method"] == "platt" and calib["n_val"] > 0
    assert set(calib["test_calibrated"]) == {"brier", "ece"}
    assert sum(b["n"] for b in calib["reliability_calibrated"]) == platt["classification"]["n"]
    assert (RunFolder(run).path / "reliability.png").is_file()
    evaluated = RunFolder(run).path / evaluate_module.EVALUATED
    tta = evaluate_run(run, n_boot=30, tta=True, plots=False)
    scores = __import__("pandas").read_parquet(evaluated)
    raw = RunFolder(run).predictions()
    assert (
        tta["tta"] and tta["postprocess"]["tta"] and list(scores["candidate_id"]) == list(raw["candidate_id"])
    )
    assert not np.allclose(scores["score"], raw["score"])  # the 8-view mean differs from the plain score
    assert scores["probability"].between(0, 1).all()
