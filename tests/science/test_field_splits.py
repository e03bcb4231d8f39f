"""Splits by sky field (science/splits.py): no sky in two splits, no job moves when jobs are added, new
fields fill the splits toward their fractions, labelled jobs reach val/test; grouped k-fold by field."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rapid_croissant.errors import ConfigError
from rapid_croissant.science.splits import (
    assign_field_splits,
    assign_folds,
    assign_splits,
    read_split_record,
    split_record,
)

FILTERS = ("H158", "J129", "F184")


def survey(n_fields: int, *, start: int = 0, seed: int = 0) -> pd.DataFrame:
    """Jobs of ``n_fields`` fields with 1-4 epochs each (field sizes from ``seed``), jids numbered on."""
    rng = np.random.default_rng(seed)
    rows, jid = [], 1000 + 10 * start
    for f in range(start, start + n_fields):
        for _ in range(int(rng.integers(1, 5))):
            rows.append({"jid": f"jid{jid}", "field": f"sky_{f:03d}", "filter": FILTERS[f % 3]})
            jid += 1
    jobs = pd.DataFrame(rows)
    jobs["has_truth"] = True
    jobs["status"] = "ok"
    return jobs


def no_field_in_two_splits(jobs: pd.DataFrame, splits: pd.Series) -> bool:
    return bool((splits.groupby(jobs["field"]).nunique() == 1).all())


@pytest.mark.parametrize("seed", range(5))
def test_a_field_never_spans_two_splits_and_every_split_is_used(seed):
    jobs = survey(20, seed=seed)
    splits = assign_field_splits(jobs, seed=seed)
    assert splits.notna().all() and no_field_in_two_splits(jobs, splits)
    assert set(splits) == {"train", "val", "test"}


def test_one_job_per_field_gives_the_job_split():
    jobs = survey(15, seed=1).groupby("field").head(1).reset_index(drop=True)
    by_field = assign_field_splits(jobs, seed=4)
    assert by_field.tolist() == assign_splits(jobs.drop(columns="field"), seed=4).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_adding_jobs_moves_no_job_and_new_fields_fill_toward_the_fractions(seed):
    first = survey(12, seed=seed)
    s1 = assign_field_splits(first, seed=seed)
    previous = dict(zip(first["jid"], s1, strict=True))
    # growth: new epochs of known fields, and 60 new fields
    known = first.groupby("field").head(1).assign(jid=lambda d: d["jid"] + "0")
    grown = pd.concat([first, known, survey(60, start=100, seed=seed + 50)], ignore_index=True)
    s2 = assign_field_splits(grown, previous=previous, seed=seed)
    assert dict(zip(grown["jid"], s2, strict=True)).items() >= previous.items()  # nobody moved
    assert no_field_in_two_splits(grown, s2)
    shares = s2.value_counts(normalize=True)
    for split, fraction in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        assert abs(shares.get(split, 0.0) - fraction) < 0.06, shares.to_dict()


def test_new_fields_are_dealt_the_same_whatever_their_row_order():
    first = survey(8, seed=3)
    previous = dict(zip(first["jid"], assign_field_splits(first), strict=True))
    grown = pd.concat([first, survey(20, start=50, seed=9)], ignore_index=True)
    a = assign_field_splits(grown, previous=previous)
    shuffled = grown.sample(frac=1.0, random_state=2)
    b = assign_field_splits(shuffled, previous=previous)
    assert dict(zip(grown["jid"], a, strict=True)) == dict(zip(shuffled["jid"], b, strict=True))


def test_a_field_without_evaluable_jobs_goes_to_train_and_labelled_fields_reach_val_and_test():
    jobs = survey(6, seed=2)
    jobs.loc[jobs["field"] == "sky_000", "has_truth"] = False
    splits = assign_field_splits(jobs, seed=0)
    assert set(splits[jobs["field"] == "sky_000"]) == {"train"}
    assert {"val", "test"} <= set(splits[jobs["field"] != "sky_000"])


def test_a_job_bridging_two_recorded_fields_moves_nobody():
    jobs = survey(10, seed=5)
    previous = dict(zip(jobs["jid"], assign_field_splits(jobs, seed=1), strict=True))
    # a later job overlaps two fields recorded in different splits: they become one field
    splits_of = jobs.assign(split=jobs["jid"].map(previous)).groupby("field")["split"].first()
    a, b = splits_of[splits_of == "train"].index[0], splits_of[splits_of != "train"].index[0]
    merged = jobs.assign(field=jobs["field"].replace({b: a}))
    merged.loc[len(merged)] = {
        "jid": "jid9999",
        "field": a,
        "filter": "H158",
        "has_truth": True,
        "status": "ok",
    }
    s = assign_field_splits(merged, previous=previous, seed=1)
    assert all(s[merged["jid"] == j].item() == sp for j, sp in previous.items())
    assert s.iloc[-1] in {"train", splits_of[b]}


def test_the_record_round_trips_and_is_ignored_for_another_seed(tmp_path):
    jobs = survey(5, seed=0)
    jobs["split"] = assign_field_splits(jobs, seed=2)
    path = tmp_path / "split_assignment.json"
    path.write_text(json.dumps(split_record(jobs, None, seed=2, fractions=(0.7, 0.15, 0.15))))
    assert read_split_record(path, seed=2) == dict(zip(jobs["jid"], jobs["split"], strict=True))
    assert read_split_record(path, seed=3) == {}
    assert read_split_record(tmp_path / "absent.json", seed=2) == {}
    # jobs gone from a later build keep their entry (they get their split back if they return)
    later = split_record(jobs.iloc[:2], path.read_text(), seed=2, fractions=(0.7, 0.15, 0.15))
    assert set(later["jobs"]) == set(jobs["jid"])
    failed = jobs.assign(status=["failed"] + ["ok"] * (len(jobs) - 1))
    assert jobs["jid"].iloc[0] not in split_record(failed, None, seed=2, fractions=(0.7, 0.15, 0.15))["jobs"]
    path.write_text("{not json")
    assert read_split_record(path, seed=2) == {}


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_keep_fields_whole_and_balance_jobs(k):
    jobs = survey(30, seed=k)
    folds = assign_folds(jobs, k, seed=1)
    assert (folds.groupby(jobs["field"]).nunique() == 1).all()
    sizes = folds.value_counts()
    assert set(sizes.index) == set(range(k))
    assert sizes.max() - sizes.min() <= 4  # fields hold at most 4 jobs
    assert assign_folds(jobs.sample(frac=1.0, random_state=0), k, seed=1).sort_index().equals(folds)


def test_folds_leave_unlabelled_fields_out_and_reject_one_fold():
    jobs = survey(6, seed=0)
    jobs.loc[jobs["field"] == "sky_001", "has_truth"] = False
    folds = assign_folds(jobs, 2)
    assert set(folds[jobs["field"] == "sky_001"]) == {-1}
    with pytest.raises(ConfigError, match="at least 2"):
        assign_folds(jobs, 1)
