"""score: every candidate's score and predicted label at the run's threshold, on data with and without
truth."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ml_fixtures import NO_TRUTH_JOB, write_ml_dataset
from rapid_croissant.cli.main import cli
from rapid_croissant.config import TrainConfig
from rapid_croissant.dataset import Layout
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.run import RunFolder
from rapid_croissant.ml.score import METADATA_KEY, score_dataset
from rapid_croissant.ml.train import train


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


@pytest.fixture(scope="module")
def gbt_run(ml_dataset, tmp_path_factory):
    return train(
        ml_dataset, TrainConfig(algorithm="zogy", model="gbt"), run_root=tmp_path_factory.mktemp("r")
    )


def _copy(ml_dataset, tmp_path, edit) -> Layout:
    layout = Layout(tmp_path / "ds")
    shutil.copytree(ml_dataset, layout.root)
    cand = pd.read_parquet(layout.candidates_parquet)
    edit(cand).to_parquet(layout.candidates_parquet, index=False)
    return layout


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scores_every_candidate_including_unknown_labels(gbt_run, ml_dataset):
    path = score_dataset(gbt_run, ml_dataset)
    assert path == Layout(ml_dataset).scores(gbt_run.name)
    table = pd.read_parquet(path)
    run = RunFolder(gbt_run)
    threshold = run.metrics()["threshold"]
    assert (table["predicted"] == (table["score"] >= threshold)).all()
    assert set(table.loc[table["jid"] == NO_TRUTH_JOB, "label"]) == {-1}
    assert set(table["split"]) == {"train", "val", "test"}
    # the same model and features as training: the run's own val/test scores come back
    pred = run.predictions().merge(table, on="candidate_id", suffixes=("_run", ""))
    assert len(pred) == len(run.predictions())
    np.testing.assert_allclose(pred["score"], pred["score_run"], rtol=0, atol=1e-12)
    assert b"threshold" in pq.read_schema(path).metadata[METADATA_KEY]


def test_scores_a_dataset_without_truth(gbt_run, ml_dataset, tmp_path):
    def no_truth(cand):
        return cand.assign(label=-1, zogy_label=-1, sfft_label=-1, has_truth=False)

    layout = _copy(ml_dataset, tmp_path, no_truth)
    out = CliRunner().invoke(
        cli, ["score", str(gbt_run), "-d", str(layout.root), "-o", str(tmp_path / "s.parquet")]
    )
    assert out.exit_code == 0, out.output
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert (table["label"] == -1).all() and len(table) > 0 and table["predicted"].isin([0, 1]).all()
    assert f"({len(table)} without truth)" in out.output


def test_missing_features_are_named(gbt_run, ml_dataset, tmp_path):
    layout = _copy(ml_dataset, tmp_path, lambda c: c.drop(columns=["zogy_snr", "zogy_qfit"]))
    with pytest.raises(RapidCroissantError, match="lacks: zogy_snr, zogy_qfit"):
        score_dataset(gbt_run, layout.root)
    out = CliRunner().invoke(cli, ["score", str(gbt_run), "-d", str(layout.root)])
    assert out.exit_code == 1 and "zogy_snr" in out.output and "Traceback" not in out.output


def test_never_replaces_a_file_it_did_not_write(gbt_run, ml_dataset, tmp_path):
    foreign = Layout(ml_dataset).jobs_parquet
    before = _sha(foreign)
    with pytest.raises(RapidCroissantError, match="not written by `score`"):
        score_dataset(gbt_run, ml_dataset, output=foreign)
    assert _sha(foreign) == before
    own = tmp_path / "scores.parquet"
    score_dataset(gbt_run, ml_dataset, output=own)
    score_dataset(gbt_run, ml_dataset, output=own)  # its own earlier output may be replaced
    assert len(pd.read_parquet(own)) > 0


def test_cnn_scores_match_the_runs_predictions(ml_dataset, tmp_path):
    config = TrainConfig(algorithm="sfft", model="cnn", epochs=1, batch_size=64, seed=2)
    run = train(ml_dataset, config, run_root=tmp_path / "runs", progress=False)
    table = pd.read_parquet(score_dataset(run, ml_dataset, output=tmp_path / "cnn.parquet"))
    pred = RunFolder(run).predictions().merge(table, on="candidate_id", suffixes=("_run", ""))
    assert len(pred) == len(RunFolder(run).predictions())
    np.testing.assert_allclose(pred["score"], pred["score_run"], rtol=1e-6, atol=1e-7)


def _without_truth(ml_dataset, tmp_path) -> Layout:
    """A copy with no truth at all: labels -1, no truth table, has_truth False for every job."""
    layout = _copy(ml_dataset, tmp_path, lambda c: c.assign(label=-1, zogy_label=-1, sfft_label=-1))
    layout.truth_parquet.unlink()
    jobs = pd.read_parquet(layout.jobs_parquet)
    jobs.assign(has_truth=False).to_parquet(layout.jobs_parquet, index=False)
    return layout


def test_cli_evaluate_then_score_without_truth_follows_tta_and_calibration(ml_dataset, tmp_path):
    config = TrainConfig(algorithm="zogy", model="cnn", epochs=1, batch_size=64, seed=3)
    run = train(ml_dataset, config, run_root=tmp_path / "runs", progress=False)
    out = CliRunner().invoke(cli, ["evaluate", str(run), "--n-boot", "20", "--no-plots"])
    assert out.exit_code == 0, out.output
    assert "dihedral averaging: on; calibration platt" in out.output
    post = RunFolder(run).evaluation()["postprocess"]
    layout = _without_truth(ml_dataset, tmp_path)
    out = CliRunner().invoke(cli, ["score", str(run), "-d", str(layout.root), "-o", str(tmp_path / "a.pq")])
    assert out.exit_code == 0, out.output
    table = pd.read_parquet(tmp_path / "a.pq")
    assert (table["label"] == -1).all() and f"({len(table)} without truth)" in out.output
    assert (table["predicted"] == (table["score"] >= post["threshold"])).all()
    assert table["probability"].between(0, 1).all()
    assert b'"tta": true' in pq.read_schema(tmp_path / "a.pq").metadata[METADATA_KEY]
    evaluated = pd.read_parquet(RunFolder(run).path / "evaluated.parquet")
    both = evaluated.merge(table, on="candidate_id", suffixes=("_eval", ""))
    assert len(both) == len(evaluated)  # the same 8-view scores and probabilities as evaluate's
    np.testing.assert_allclose(both["score"], both["score_eval"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(both["probability"], both["probability_eval"], rtol=0, atol=1e-5)
    plain = CliRunner().invoke(
        cli, ["score", str(run), "-d", str(layout.root), "-o", str(tmp_path / "b.pq"), "--no-tta"]
    )
    assert plain.exit_code == 0, plain.output
    assert pd.read_parquet(tmp_path / "b.pq")["probability"].isna().all()  # no map fitted on these scores


def test_tta_needs_an_evaluated_cnn_run(gbt_run, ml_dataset, tmp_path):
    out = CliRunner().invoke(
        cli, ["score", str(gbt_run), "-d", str(ml_dataset), "-o", str(tmp_path / "x.pq")] + ["--tta"]
    )
    assert out.exit_code == 1 and "needs a CNN run" in out.output and "Traceback" not in out.output


def test_cross_features_come_back_from_the_runs_statistics(ml_dataset, tmp_path):
    config = TrainConfig(algorithm="zogy", model="gbt", cross_features=True)
    run = train(ml_dataset, config, run_root=tmp_path / "runs", progress=False)
    names = RunFolder(run).feature_stats()["names"]
    assert "sfft_snr" in names and "sfft_missing" in names and "zogy_snr" in names
    table = pd.read_parquet(score_dataset(run, ml_dataset, output=tmp_path / "x.parquet"))
    pred = RunFolder(run).predictions().merge(table, on="candidate_id", suffixes=("_run", ""))
    np.testing.assert_allclose(pred["score"], pred["score_run"], rtol=0, atol=1e-12)
