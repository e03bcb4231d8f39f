"""Grouped k-fold cross-validation by sky field (``compare --cv K``): every evaluable job is tested once.

Folds come from :func:`rapid_croissant.science.splits.assign_folds` (a field never straddles two folds).
For fold i the held-out fold is the test split; from the other folds a seeded fifth of the evaluable jobs,
whole fields at a time, is the validation split (early stopping and the threshold); the rest trains. Jobs
without labels (fold -1) always train. The out-of-fold test scores of the K runs are pooled, so the
metrics and their job-bootstrap intervals cover every labelled job.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rapid_croissant.config import TrainConfig
from rapid_croissant.errors import ConfigError
from rapid_croissant.ml.run import RunFolder
from rapid_croissant.science.splits import _field_hash, assign_folds, evaluable

__all__ = ["VAL_FRACTION", "check_folds", "cross_validate", "fold_splits"]

log = logging.getLogger(__name__)

#: Fraction of the training folds' evaluable jobs taken (by field) for validation.
VAL_FRACTION = 0.2


def _fields(jobs: pd.DataFrame) -> pd.Series:
    if "field" in jobs:
        return jobs["field"].astype("string").fillna(jobs["jid"].astype("string"))
    return jobs["jid"].astype("string")


def check_folds(jobs: pd.DataFrame, k: int, dataset_dir) -> None:
    """ConfigError unless ``k`` folds can each get a sky field with labelled jobs (a field is never split
    between folds, so there cannot be more folds than such fields)."""
    if k < 2:
        raise ConfigError(f"--cv must be at least 2 folds, got {k}")
    n = int(_fields(jobs)[evaluable(jobs).to_numpy()].nunique())
    if n < k:
        raise ConfigError(
            f"{dataset_dir}: {n} sky field(s) have labelled jobs, so {k} cross-validation folds cannot each "
            f"get one (a field is never split between folds): use --cv {n} or fewer"
            if n >= 2
            else f"{dataset_dir}: {n} sky field(s) have labelled jobs: cross-validation needs at least 2"
        )


def fold_splits(jobs: pd.DataFrame, k: int, *, seed: int = 0) -> list[dict[str, str]]:
    """Per fold, job -> train/val/test: test = the fold, val = whole fields from the other folds."""
    jobs = jobs.reset_index(drop=True)
    folds, fields, ev = assign_folds(jobs, k, seed=seed), _fields(jobs), evaluable(jobs)
    jids = jobs["jid"].astype(str)
    out = []
    for i in range(k):
        rest = (folds != i) & (folds >= 0)
        sizes = ev[rest].groupby(fields[rest]).sum()
        want, val_fields = max(1.0, VAL_FRACTION * float(sizes.sum())), []
        for f in sorted(sizes.index, key=lambda f: _field_hash(seed + 1 + i, str(f))):
            if sizes[f] == 0:
                continue
            if val_fields and sum(sizes[v] for v in val_fields) >= want:
                break
            val_fields.append(f)
        split = pd.Series("train", index=jobs.index)
        split[(folds == i).to_numpy()] = "test"
        split[(rest & fields.isin(val_fields)).to_numpy()] = "val"
        out.append(dict(zip(jids, split, strict=True)))
    return out


def cross_validate(
    dataset_dir: Path, config: TrainConfig, k: int, *, run_root: Path, progress: bool = False
) -> tuple[pd.DataFrame, list[dict]]:
    """Train one run per fold; return the pooled out-of-fold test predictions (with ``fold``) and, per
    fold, its run folder, threshold and test jobs."""
    from rapid_croissant.ml.data import load_tables
    from rapid_croissant.ml.train import train

    jobs = load_tables(dataset_dir).jobs
    check_folds(jobs, k, dataset_dir)
    frames, folds = [], []
    for i, splits in enumerate(fold_splits(jobs, k, seed=config.seed)):
        run = RunFolder(
            train(dataset_dir, config, run_root=run_root / f"fold{i}", progress=progress, splits=splits)
        )
        test = run.predictions("test").assign(fold=i)
        frames.append(test)
        folds.append(
            {
                "fold": i,
                "run": str(run.path),
                "threshold": float(run.metrics()["threshold"]),
                "test_jobs": sorted(j for j, s in splits.items() if s == "test"),
                "val_jobs": sorted(j for j, s in splits.items() if s == "val"),
                "n_test": int(len(test)),
            }
        )
        log.info("%s fold %d: %d out-of-fold test rows", config.algorithm, i, len(test))
    return pd.concat(frames, ignore_index=True), folds
