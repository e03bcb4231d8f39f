"""Training, run folders and test-split evaluation (ml/train.py, ml/models.py, ml/evaluate.py, CLI, seed
script)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from ml_fixtures import NO_TRUTH_JOB, write_ml_dataset
from rapid_croissant.cli import composition as composition_cli
from rapid_croissant.cli import evaluate as evaluate_cli
from rapid_croissant.cli import train as train_cli
from rapid_croissant.errors import ConfigError
from rapid_croissant.ml.data import load_tables
from rapid_croissant.ml.evaluate import evaluate_run
from rapid_croissant.ml.metrics import choose_threshold
from rapid_croissant.ml.models import build_cnn, count_parameters
from rapid_croissant.ml.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]
RUN_FILES = ("config.json", "feature_stats.json", "history.csv", "predictions.parquet", "metrics.json")


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"algorithm": "hotpants"}, "algorithm"),
        ({"model": "svm"}, "model"),
        ({"protocol": "C"}, "protocol"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"threshold_rule": "youden"}, "threshold_rule"),
    ],
)
def test_config_names_the_bad_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        TrainConfig(**kwargs)


def test_cnn_size_is_small():
    n = count_parameters(build_cnn(in_channels=7, n_features=14))
    assert 20_000 <= n <= 300_000


def _held_out_checks(run: Path, dataset: Path) -> dict:
    """What every run must satisfy; returns the test-split numbers recomputed from predictions.parquet."""
    assert all((run / name).is_file() for name in RUN_FILES)
    config, metrics = (json.loads((run / n).read_text()) for n in ("config.json", "metrics.json"))
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}_{config['algorithm']}_{config['model']}(-\d+)?", run.name)
    preds = pd.read_parquet(run / "predictions.parquet")
    assert set(preds["split"]) <= {"val", "test"}
    jobs = load_tables(dataset).jobs
    test_jobs = set(jobs.loc[jobs["split"] == "test", "jid"])
    val, test = preds[preds["split"] == "val"], preds[preds["split"] == "test"]
    assert set(test["jid"]) <= test_jobs and not set(val["jid"]) & test_jobs  # the test split stays unseen
    assert NO_TRUTH_JOB not in set(preds["jid"]) and set(preds["label"]) <= {0, 1}
    # The threshold is the one chosen on validation, never on test.
    rule = config["threshold_rule"]
    assert metrics["threshold"] == pytest.approx(choose_threshold(val["label"], val["score"], rule=rule))
    y, s = test["label"].to_numpy(), test["score"].to_numpy()
    return {
        "auc": roc_auc_score(y, s),
        "balanced_accuracy": balanced_accuracy_score(y, s >= metrics["threshold"]),
        "n": len(y),
    }


@pytest.mark.parametrize("model", ["gbt", "cnn"])
def test_short_training_beats_majority_baseline_on_built_dataset(built_dataset, tmp_path, model):
    # The built fixture's test split holds one ZOGY-only job (its SFFT failed), so ZOGY is what can be tested.
    t0 = time.perf_counter()
    config = TrainConfig(algorithm="zogy", model=model, epochs=8, seed=0)
    run = train(built_dataset, config, run_root=tmp_path / "runs", progress=False)
    seconds = time.perf_counter() - t0
    result = _held_out_checks(run, built_dataset)
    # A majority-class (constant) classifier has ROC AUC 0.5 and balanced accuracy 0.5.
    assert result["n"] > 20
    assert result["auc"] > 0.9, result
    assert result["balanced_accuracy"] > 0.75, result
    assert seconds < 120  # about 10 s on 2 idle cores; generous for a shared machine
    if model == "cnn":
        assert (run / "model.pt").is_file()
        history = pd.read_csv(run / "history.csv")
        assert list(history.columns[:4]) == ["epoch", "train_loss", "val_loss", "val_ap"]
        assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    else:
        assert (run / "model.pkl").is_file()


def test_cnn_on_small_fixture_learns_and_is_deterministic(ml_dataset, tmp_path):
    config = TrainConfig(algorithm="both", model="cnn", epochs=2, batch_size=64, seed=3, init="scratch")
    runs = [train(ml_dataset, config, run_root=tmp_path / "runs", progress=False) for _ in range(2)]
    assert runs[0] != runs[1]  # two runs in the same second get distinct folders
    scores = [pd.read_parquet(r / "predictions.parquet")["score"].to_numpy() for r in runs]
    np.testing.assert_array_equal(scores[0], scores[1])
    assert _held_out_checks(runs[0], ml_dataset)["auc"] > 0.8


def test_gbt_runs_with_protocol_b_and_evaluation_writes_everything(ml_dataset, tmp_path):
    run = train(ml_dataset, TrainConfig(algorithm="sfft", model="gbt", protocol="B"), run_root=tmp_path)
    result = evaluate_run(run, ml_dataset, n_boot=200)
    saved = json.loads((run / "evaluation.json").read_text())
    assert saved["classification"]["n"] == result["classification"]["n"] > 0
    auc = saved["classification"]["metrics"]["roc_auc"]
    assert auc["low"] - 1e-9 <= auc["value"] <= auc["high"] + 1e-9 and auc["n_boot_valid"] > 0
    assert {"balanced_accuracy", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct"} <= set(
        saved["classification"]["metrics"]
    )
    for name in ("roc.png", "score_hist.png", "completeness.png", "gallery.png"):
        assert (run / name).stat().st_size > 1000
    comp = result["completeness"]
    tables = load_tables(ml_dataset)
    test_jobs = set(tables.jobs.loc[tables.jobs["split"] == "test", "jid"])
    n_truth = int(tables.truth["jid"].isin(test_jobs).sum())
    for name in ("detection_zogy", "detection_sfft", "classifier_sfft"):
        assert comp[name]["n_truth"] == n_truth  # measured against every truth source, detected or not
    det = np.array(comp["detection_sfft"]["curve"]["n_detected"])
    kept = np.array(comp["classifier_sfft"]["curve"]["n_detected"])
    assert (kept <= det).all() and det.sum() > 0
    det, cls = result["false_positives"]["detection_sfft"], result["false_positives"]["classifier_sfft"]
    assert det["n_images"] == cls["n_images"] == len(test_jobs)
    assert cls["fp_per_image"]["value"] <= det["fp_per_image"]["value"]


def test_cli_train_evaluate_and_composition(ml_dataset, tmp_path):
    group = click.Group()
    for module in (train_cli, evaluate_cli, composition_cli):
        group.add_command(module.command)
    runner = CliRunner()
    out = runner.invoke(
        group, ["train", "-d", str(ml_dataset), "-a", "zogy", "--model", "gbt", "--runs", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    assert "roc_auc" in out.output
    run = next(tmp_path.iterdir())
    out = runner.invoke(group, ["evaluate", str(run), "--n-boot", "50", "--no-plots"])
    assert out.exit_code == 0, out.output
    assert "classifier_zogy" in out.output and "[" in out.output
    out = runner.invoke(group, ["composition", "-d", str(ml_dataset), "--json", str(tmp_path / "c.json")])
    assert out.exit_code == 0 and "real fraction" in out.output and (tmp_path / "c.json").is_file()
    for name in ("train", "evaluate", "composition"):
        assert runner.invoke(group, [name, "--help"]).exit_code == 0


def test_seed_script_help_and_run(ml_dataset, tmp_path):
    script = str(REPO / "test_croissant_dataset.py")
    out = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, check=True)
    assert (
        "--dataset_dir" in out.stdout and "--algorithm" in out.stdout and "./hackathon_dataset" in out.stdout
    )
    args = [sys.executable, script, "-d", str(ml_dataset), "-a", "sfft", "--model", "gbt", "--n-boot", "50"]
    out = subprocess.run([*args, "--runs", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Dataset composition" in out.stdout and "roc_auc" in out.stdout and "Run folder" in out.stdout


def test_lazy_cutout_dataset_trains_exactly_like_the_in_memory_path(ml_dataset, tmp_path):
    kwargs = dict(algorithm="zogy", model="cnn", epochs=1, batch_size=32, seed=1)
    fast = train(ml_dataset, TrainConfig(**kwargs), run_root=tmp_path / "a", progress=False)
    lazy = train(
        ml_dataset, TrainConfig(**kwargs, max_precompute_mb=0), run_root=tmp_path / "b", progress=False
    )
    a, b = (pd.read_parquet(r / "predictions.parquet") for r in (fast, lazy))
    pd.testing.assert_frame_equal(a, b)
