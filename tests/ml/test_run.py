"""Run folders, the training config (misspellings suggest the right name) and train's ownership: no test
numbers."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from ml_fixtures import write_ml_dataset
from rapid_croissant.cli import train as train_cli
from rapid_croissant.cli.main import cli
from rapid_croissant.config import TrainConfig
from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.ml.run import RunFolder
from rapid_croissant.ml.train import train


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


def test_run_folders_get_distinct_names_and_name_their_files(tmp_path):
    a = RunFolder.create(tmp_path, algorithm="zogy", model="gbt")
    b = RunFolder.create(tmp_path, algorithm="zogy", model="gbt")
    assert a.path != b.path and a.path.name.endswith("_zogy_gbt") and b.path.is_dir()
    assert a.model_file("gbt").name == "model.pkl" and a.model_file("cnn").name == "model.pt"
    with pytest.raises(RapidCroissantError, match="not a finished training run.*config.json"):
        a.check_trained()
    with pytest.raises(RapidCroissantError, match="no such run folder"):
        RunFolder(tmp_path / "nope").check_trained()
    assert a.evaluation() == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epoch": 3}, "unknown key(s) 'epoch' (did you mean 'epochs'?)"),
        ({"treshold_rule": "f1"}, "did you mean 'threshold_rule'?"),
        ({"algorithm": "zgoy"}, "algorithm must be one of .* got 'zgoy' (did you mean 'zogy'?)"),
        ({"device": "gpu"}, "device must be one of"),
    ],
)
def test_misspelled_config_keys_and_values_suggest_the_right_name(values, message):
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        TrainConfig.from_mapping(values)


def test_config_file_toml_and_json_with_command_line_winning(tmp_path):
    toml = tmp_path / "train.toml"
    toml.write_text('model = "gbt"\nepochs = 4\nthreshold_rule = "fnr5"\n')
    config = TrainConfig.from_file(toml, epochs=7)
    assert (config.model, config.epochs, config.threshold_rule) == ("gbt", 7, "fnr5")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gbt_maxiter": 10}))
    with pytest.raises(
        ConfigError, match=r"bad.json: unknown key\(s\) 'gbt_maxiter' \(did you mean 'gbt_max_iter'"
    ):
        TrainConfig.from_file(bad)


def test_misspelled_cli_option_suggests_the_right_one(ml_dataset):
    out = CliRunner().invoke(cli, ["train", "-d", str(ml_dataset), "--epoch", "2"])
    assert out.exit_code == 2 and "Did you mean '--epochs'?" in out.output


def test_train_writes_no_test_numbers(ml_dataset, tmp_path):
    run = RunFolder(train(ml_dataset, TrainConfig(algorithm="zogy", model="gbt"), run_root=tmp_path))
    metrics = run.metrics()
    assert set(metrics) == {"threshold", "threshold_rule", "val", "train_seconds"}
    assert metrics["val"]["n_jobs"] >= 1 and 0 <= metrics["val"]["roc_auc"] <= 1
    assert not run.file(RunFolder.EVALUATION).exists()
    # the test split is scored (evaluate needs the scores) but no metric of it is computed here
    assert set(run.predictions()["split"]) == {"val", "test"}


def test_cli_train_prints_val_numbers_only_and_reads_a_config_file(ml_dataset, tmp_path):
    group = click.Group()
    group.add_command(train_cli.command)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model": "gbt", "algorithm": "sfft", "gbt_max_iter": 50}))
    out = CliRunner().invoke(
        group, ["train", "-d", str(ml_dataset), "--config", str(config), "--runs", str(tmp_path / "runs")]
    )
    assert out.exit_code == 0, out.output
    assert "threshold (chosen on val)" in out.output and "val:" in out.output
    assert "test:" not in out.output and "rapid-croissant evaluate" in out.output
    (run,) = (tmp_path / "runs").iterdir()
    saved = RunFolder(run).config()
    assert (saved["model"], saved["algorithm"], saved["gbt_max_iter"]) == ("gbt", "sfft", 50)
