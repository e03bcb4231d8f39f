"""Initial weights (ml/weights.py): the shipped pretrained file, its hash and card, layout checks, and
fine-tuning from it in train (--init)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from ml_fixtures import write_ml_dataset
from rapid_croissant.cli import train as train_cli
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.loader import input_channels
from rapid_croissant.ml.models import build_cnn
from rapid_croissant.ml.train import TrainConfig, train
from rapid_croissant.ml.weights import (
    PRETRAINED_DIR,
    check_layout,
    load_into,
    load_weights,
    resolve_init,
    save_weights,
    shipped_path,
)

SHIPPED = PRETRAINED_DIR / "cnn_v1.pt"


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("w") / "ds")


def test_shipped_weights_match_their_sha256_and_card_and_load():
    digest = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert (PRETRAINED_DIR / "cnn_v1.pt.sha256").read_text().split()[0] == digest
    card = (PRETRAINED_DIR / "MODEL_CARD.md").read_text()
    assert digest in card and "rapid-croissant pretrain" in card
    metrics = json.loads((PRETRAINED_DIR / "pretrain_metrics.json").read_text())
    assert metrics["weights"]["sha256"] == digest
    auc = metrics["held_out"]["all held-out"]["roc_auc"]["value"]
    assert f"{auc:.3f}" in card  # the card's numbers are the run's
    assert SHIPPED.stat().st_size < 2 * 2**20
    w = load_weights(SHIPPED)
    assert w.sha256 == digest and w.meta["channels"] == list(input_channels("both"))
    model = build_cnn(in_channels=len(w.meta["channels"]), n_features=len(w.meta["feature_names"]))
    load_into(model, w)
    model.eval()
    with torch.no_grad():
        out = model(
            torch.zeros(2, len(w.meta["channels"]), 64, 64), torch.zeros(2, len(w.meta["feature_names"]))
        )
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_resolve_init_choices():
    assert resolve_init("scratch", algorithm="both", model="cnn") == ("scratch", None)
    assert resolve_init("auto", algorithm="zogy", model="cnn") == ("scratch", None)
    assert resolve_init("pretrained", algorithm="both", model="gbt") == ("scratch", None)
    kind, w = resolve_init("auto", algorithm="both", model="cnn")
    assert kind == "pretrained" and w.path == shipped_path("both")
    with pytest.raises(RapidCroissantError, match="no pretrained weights for algorithm 'sfft'"):
        resolve_init("pretrained", algorithm="sfft", model="cnn")


def test_layout_mismatches_are_one_line_errors(tmp_path):
    w = load_weights(SHIPPED)
    with pytest.raises(RapidCroissantError, match="weights expect channels") as err:
        check_layout(w, channels=input_channels("zogy"), cutout_size=64)
    assert "\n" not in str(err.value)
    with pytest.raises(RapidCroissantError, match="32x32"):
        check_layout(w, channels=input_channels("both"), cutout_size=32)
    other = build_cnn(in_channels=10, n_features=len(w.meta["feature_names"]) + 3)
    with pytest.raises(RapidCroissantError, match="layer features.0.weight has shape"):
        load_into(other, w)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(RapidCroissantError, match="not a readable torch weights file"):
        load_weights(junk)
    plain = tmp_path / "plain.pt"
    torch.save(other.state_dict(), plain)  # a bare state dict (a run's model.pt) has no layout record
    with pytest.raises(RapidCroissantError, match="not a rapid-croissant weights file"):
        load_weights(plain)


def _config(**kw):
    return TrainConfig(algorithm="both", model="cnn", epochs=2, seed=3, patience=2, **kw)


def test_train_fine_tunes_from_the_shipped_weights_reproducibly(ml_dataset, tmp_path):
    runs = [train(ml_dataset, _config(), run_root=tmp_path / "r", progress=False) for _ in range(2)]
    conf = json.loads((runs[0] / "config.json").read_text())
    assert conf["init"] == "auto"
    assert conf["init_weights"]["kind"] == "pretrained"
    assert conf["init_weights"]["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert conf["feature_names"] == load_weights(SHIPPED).meta["feature_names"]
    history = pd.read_csv(runs[0] / "history.csv")
    assert history["epoch"].iloc[0] == -1  # the pretrained weights compete in early stopping
    first, second = (pd.read_parquet(r / "predictions.parquet")["score"].to_numpy() for r in runs)
    np.testing.assert_array_equal(first, second)
    # the weights changed from the shipped ones unless the initial ones stayed best
    state = torch.load(runs[0] / "model.pt", weights_only=True)
    shipped = load_weights(SHIPPED).state_dict
    changed = any(not torch.equal(state[k], shipped[k]) for k in shipped)
    assert changed == (conf["best_epoch"] >= 0)
    scratch = train(ml_dataset, _config(init="scratch"), run_root=tmp_path / "s", progress=False)
    assert json.loads((scratch / "config.json").read_text())["init_weights"] == {"kind": "scratch"}
    assert not np.array_equal(first, pd.read_parquet(scratch / "predictions.parquet")["score"].to_numpy())


def test_train_init_from_a_file_and_cli_errors(ml_dataset, tmp_path):
    w = load_weights(SHIPPED)
    copy = tmp_path / "copy.pt"
    save_weights(copy, w.state_dict, w.meta)
    run = train(ml_dataset, _config(init=str(copy)), run_root=tmp_path / "r", progress=False)
    rec = json.loads((run / "config.json").read_text())["init_weights"]
    assert rec["kind"] == "file" and rec["path"] == str(copy)
    runner = CliRunner()
    base = ["-d", str(ml_dataset), "--runs", str(tmp_path / "c"), "--epochs", "1"]
    result = runner.invoke(train_cli.command, [*base, "-a", "zogy", "--init", str(copy)])
    assert result.exit_code != 0 and "weights expect channels" in str(result.exception)
    result = runner.invoke(train_cli.command, [*base, "--init", str(tmp_path / "missing.pt")])
    assert result.exit_code != 0 and "no such weights file" in str(result.exception)
    result = runner.invoke(train_cli.command, [*base, "--init", "scratch"])
    assert result.exit_code == 0, result.output
    assert "initial weights: scratch" in result.output


def test_seed_script_default_starts_from_the_shipped_weights(ml_dataset, tmp_path):
    script = str(Path(__file__).resolve().parents[2] / "test_croissant_dataset.py")
    args = [sys.executable, script, "-d", str(ml_dataset), "--epochs", "1", "--n-boot", "20"]
    out = subprocess.run([*args, "--runs", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "initial weights: pretrained cnn_v1" in out.stdout and "roc_auc" in out.stdout
    help_text = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True).stdout
    assert "--init" in help_text
