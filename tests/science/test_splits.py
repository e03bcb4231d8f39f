"""Tests of science/splits.py: deterministic train/val/test assignment by job, balanced by filter."""

from __future__ import annotations

import pandas as pd
import pytest

from rapid_croissant.errors import ConfigError
from rapid_croissant.science.splits import assign_splits, split_counts


def make_jobs(filters: dict[str, int], *, failed: int = 0) -> pd.DataFrame:
    """Jobs jid1000, jid1001, ... with the given number per filter, then ``failed`` jobs without a filter."""
    names = [f for f, n in filters.items() for _ in range(n)] + [pd.NA] * failed
    return pd.DataFrame(
        {
            "jid": [f"jid{1000 + k}" for k in range(len(names))],
            "filter": pd.array(names, dtype="string"),
            "status": ["ok"] * (len(names) - failed) + ["failed"] * failed,
        }
    )


@pytest.mark.parametrize("n", range(0, 41))
def test_counts_add_up_and_fill_every_split_from_three_jobs(n):
    counts = split_counts(n)
    assert sum(counts) == n and min(counts) >= 0
    if n >= 3:
        assert min(counts) >= 1
    if n >= 20:
        assert abs(counts[1] - 0.15 * n) <= 1 and abs(counts[2] - 0.15 * n) <= 1


def test_zero_fraction_leaves_its_split_empty():
    assert split_counts(10, (0.8, 0.2, 0.0)) == (8, 2, 0)


def test_same_seed_same_splits_whatever_the_row_order():
    jobs = make_jobs({"H158": 9, "F184": 6, "K213": 5})
    first = assign_splits(jobs, seed=3)
    shuffled = jobs.sample(frac=1.0, random_state=1)
    again = assign_splits(shuffled, seed=3)
    assert again.index.equals(shuffled.index)
    assert dict(zip(jobs["jid"], first, strict=True)) == dict(zip(shuffled["jid"], again, strict=True))
    others = {tuple(assign_splits(jobs, seed=s)) for s in range(5)}
    assert len(others) > 1  # the seed matters


def test_totals_exact_and_each_filter_balanced():
    jobs = make_jobs({"H158": 21, "F184": 12, "K213": 7})
    splits = assign_splits(jobs, seed=0)
    assert splits.value_counts().to_dict() == dict(
        zip(("train", "val", "test"), split_counts(40), strict=True)
    )
    table = pd.crosstab(jobs["filter"], splits)
    for name, n in {"H158": 21, "F184": 12, "K213": 7}.items():
        for split, fraction in (("val", 0.15), ("test", 0.15), ("train", 0.70)):
            assert abs(table.loc[name].get(split, 0) - fraction * n) <= 1.0, (name, split)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n", [3, 4, 5, 7])
def test_every_split_non_empty_from_three_jobs(n, seed):
    jobs = make_jobs({"H158": n // 2 + 1, "F184": n - n // 2 - 1})
    assert set(assign_splits(jobs, seed=seed)) == {"train", "val", "test"}


@pytest.mark.parametrize("seed", range(10))
def test_failed_jobs_get_a_split_without_taking_the_only_val_or_test_slot(seed):
    jobs = make_jobs({"H158": 3, "F184": 2}, failed=1)
    splits = assign_splits(jobs, seed=seed)
    assert splits.notna().all()
    good = splits[jobs["status"] == "ok"]
    assert set(good) == {"train", "val", "test"}
    assert splits[jobs["status"] == "failed"].tolist() == ["train"]


def test_without_stratification_and_with_a_custom_index():
    jobs = make_jobs({"H158": 10}).set_index(pd.Index([f"row{k}" for k in range(10)]))
    splits = assign_splits(jobs, seed=1, stratify=None, fractions=(0.6, 0.2, 0.2))
    assert splits.index.equals(jobs.index)
    assert splits.value_counts().to_dict() == {"train": 6, "val": 2, "test": 2}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fractions": (0.7, 0.2, 0.2)}, "sum to 1"),
        ({"fractions": (1.2, -0.1, -0.1)}, "non-negative"),
        ({"fractions": (0.5, 0.5)}, "three"),
        ({"stratify": "band"}, "stratify"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        assign_splits(make_jobs({"H158": 4}), **kwargs)


def test_a_job_listed_twice_is_an_error():
    jobs = make_jobs({"H158": 4})
    jobs.loc[3, "jid"] = jobs.loc[0, "jid"]
    with pytest.raises(ConfigError, match="jid1000"):
        assign_splits(jobs)


def test_jobs_without_labels_go_to_train():
    import pandas as pd

    from rapid_croissant.science.splits import assign_splits

    jobs = pd.DataFrame(
        {
            "jid": [f"jid{i}" for i in range(8)],
            "filter": ["H158"] * 8,
            "has_truth": [True] * 6 + [False, True],
            "status": ["ok"] * 7 + ["failed"],
        }
    )
    split = assign_splits(jobs, seed=3)
    assert split[6] == "train" and split[7] == "train"
    labelled = split[:6]
    assert set(labelled) == {"train", "val", "test"}
