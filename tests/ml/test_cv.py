"""Grouped k-fold cross-validation by sky field (ml/cv.py) and ``compare --cv``."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from ml_fixtures import NO_TRUTH_JOB, write_ml_dataset
from rapid_croissant.cli import compare as compare_cli
from rapid_croissant.config import TrainConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.ml.compare import compare
from rapid_croissant.ml.cv import cross_validate, fold_splits
from rapid_croissant.ml.data import load_tables, select_candidates

#: Two epochs of each field: jid2001+2002 share sky, and so on; the job without truth is its own field.
FIELD_OF = {f"jid{2001 + k}": f"sky_{k // 2}" for k in range(9)}


@pytest.fixture(scope="module")
def fielded_dataset(tmp_path_factory):
    root = write_ml_dataset(tmp_path_factory.mktemp("cv") / "ds")
    jobs = pd.read_parquet(root / names.JOBS_PARQUET)
    jobs["field"] = jobs["jid"].map(FIELD_OF).astype("string")
    jobs.to_parquet(root / names.JOBS_PARQUET, index=False)
    return root


@pytest.mark.parametrize("k", [2, 3, 4])
def test_folds_never_share_a_field_and_test_every_labelled_job_once(fielded_dataset, k):
    jobs = load_tables(fielded_dataset).jobs
    folds = fold_splits(jobs, k, seed=0)
    assert len(folds) == k
    test_fields = [{FIELD_OF[j] for j, s in f.items() if s == "test"} for f in folds]
    for i in range(k):
        for j in range(i + 1, k):
            assert not test_fields[i] & test_fields[j]
    tested = [j for f in folds for j, s in f.items() if s == "test"]
    labelled = sorted(set(FIELD_OF) - {NO_TRUTH_JOB})
    assert sorted(tested) == labelled  # each evaluable job in exactly one test fold
    for f in folds:
        split_of_field = pd.Series(f).groupby(pd.Series(f).index.map(FIELD_OF)).nunique()
        assert (split_of_field == 1).all()  # a field sits whole in train, val or test
        assert "val" in f.values() and "train" in f.values()
        assert f[NO_TRUTH_JOB] == "train"


def _compare_cv(ds, out):
    return compare(
        ds,
        out_dir=out,
        models=("gbt",),
        algorithms=("sfft",),
        protocols=("A",),
        n_boot=50,
        seed=0,
        progress=False,
        cv=3,
    )


def test_compare_cv_scores_every_labelled_candidate_once_and_reproducibly(fielded_dataset, tmp_path):
    result = _compare_cv(fielded_dataset, tmp_path / "a")
    assert result["evaluation"] == {
        "kind": "cross-validation",
        "k": 3,
        "grouped_by": "sky field",
        "val_fraction": 0.2,
    }
    candidates = load_tables(fielded_dataset).candidates
    for entry in result["runs"]:
        oof = pd.read_parquet(tmp_path / "a" / entry["out_of_fold"])
        expected = select_candidates(candidates, algorithm=entry["algorithm"], protocol="A")
        assert oof["candidate_id"].is_unique
        assert sorted(oof["candidate_id"]) == sorted(expected["candidate_id"].astype(str))
        assert entry["n_test_jobs"] == 8 and len(entry["folds"]) == 3
        for fold in entry["folds"]:  # the fold's run never trained or validated on its test jobs
            config = json.loads((tmp_path / "a" / fold["run"] / "config.json").read_text())
            assert config["splits"] == "given by the caller"
            assert set(fold["test_jobs"]).isdisjoint(fold["val_jobs"])
        auc = entry["metrics"]["roc_auc"]
        assert auc["low"] <= auc["value"] <= auc["high"] and auc["value"] > 0.8
    config = TrainConfig(algorithm="sfft", model="gbt", seed=0)
    again, _ = cross_validate(fielded_dataset, config, 3, run_root=tmp_path / "b")  # reproducible
    first = pd.read_parquet(tmp_path / "a" / result["runs"][0]["out_of_fold"])
    pd.testing.assert_frame_equal(first, again)
    from rapid_croissant.report.card import results_text
    from rapid_croissant.report.page import comparison_section

    page, card = comparison_section(result), "\n".join(results_text(result))
    for text in (page, card):
        assert "3-fold cross-validation by sky field" in text and "jid2001" in text  # the folds' jobs
    text = (tmp_path / "a" / "comparison.md").read_text()
    assert "3-fold cross-validation by sky field" in text and "## Cross-validation folds" in text


def test_cli_compare_cv(fielded_dataset, tmp_path):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(
        compare_cli.command,
        ["-d", str(fielded_dataset), "--out", str(out), "--models", "gbt", "--algorithms", "zogy"]
        + ["--algorithms", "sfft"]
        + ["--protocols", "A", "--n-boot", "20", "--cv", "2", "--cross-features"],
    )
    assert res.exit_code == 0, res.output
    assert "2-fold cross-validation" in res.output
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["evaluation"]["k"] == 2 and saved["cross_features"]
    fold_run = out / saved["runs"][0]["folds"][0]["run"]
    assert "sfft_snr" in json.loads((fold_run / "feature_stats.json").read_text())["names"]
    paired = [p for p in saved["paired"] if p["comparison"] == "zogy vs sfft"]
    assert paired and all(p["n_jobs"] == 8 for p in paired)  # paired over every labelled job
    res = CliRunner().invoke(compare_cli.command, ["-d", str(fielded_dataset), "--cv", "1"])
    assert res.exit_code == 2 and "--cv" in res.output


def test_more_folds_than_labelled_fields_is_one_error_before_any_training(fielded_dataset, tmp_path):
    jobs = load_tables(fielded_dataset).jobs
    labelled_fields = {FIELD_OF[j] for j in FIELD_OF if j != NO_TRUTH_JOB}
    k = len(labelled_fields) + 1
    assert len(jobs) >= k  # more jobs than folds: the old check let it through
    out = tmp_path / "cmp"
    from rapid_croissant.cli.main import cli

    res = CliRunner().invoke(cli, ["compare", "-d", str(fielded_dataset), "--out", str(out), "--cv", str(k)])
    assert res.exit_code == 1, res.output  # the CLI's exit code for a clean error
    assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert f"{len(labelled_fields)} sky field(s) have labelled jobs" in res.output
    assert f"use --cv {len(labelled_fields)} or fewer" in res.output
    assert not out.exists()  # nothing trained, nothing written
