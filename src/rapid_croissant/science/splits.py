"""Assign train / val / test splits by job, balanced across filters.

Candidates of one job share the same images, sky, PSF and subtraction artefacts, so splitting candidates
at random would leak a job into several splits. We split whole jobs instead. Within each filter the jobs
are shuffled with a seeded generator, the filters are laid end to end, and a smooth weighted
round-robin deals split names along that sequence: every run of consecutive jobs (so every filter)
receives each split in proportion to its fraction, to within one job, and the totals are exact.

Jobs without a value in the stratifying column (typically failed jobs whose header was never read) are
dealt last, from what the other jobs leave of the totals, so a failed job cannot take the only
validation or test slot of a small run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rapid_croissant.errors import ConfigError
from rapid_croissant.vocabulary import SPLITS

__all__ = ["assign_splits", "split_counts"]

#: When two splits are equally owed a job, the smaller ones are served first (val, then test, then train).
_TIE_ORDER = (1, 2, 0)


def _check_fractions(fractions) -> tuple[float, float, float]:
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"fractions must be three numbers (train, val, test), got {fractions!r}") from err
    if len(values) != len(SPLITS) or any(not math.isfinite(v) or v < 0 for v in values):
        raise ConfigError(
            f"fractions must be three non-negative numbers (train, val, test), got {fractions!r}"
        )
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ConfigError(f"fractions must sum to 1, got {fractions!r} (sum {sum(values):g})")
    return values  # type: ignore[return-value]


def split_counts(n_jobs: int, fractions=(0.70, 0.15, 0.15)) -> tuple[int, int, int]:
    """Jobs per split for ``n_jobs`` jobs: rounded fractions, and at least one job in every split that has
    a positive fraction once there are three jobs or more (taken from the largest split)."""
    fr = _check_fractions(fractions)
    counts = [math.floor(n_jobs * f + 0.5) for f in fr[1:]]
    counts.insert(0, n_jobs - sum(counts))
    if n_jobs >= len(SPLITS):
        for k, f in enumerate(fr):
            if f > 0 and counts[k] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[k] = 1
    if counts[0] < 0:  # only when val + test were rounded up past n_jobs
        counts[int(np.argmax(counts))] += counts[0]
        counts[0] = 0
    return tuple(counts)  # type: ignore[return-value]


def _dealing_sequence(counts: tuple[int, ...]) -> list[int]:
    """Split indices in a smooth weighted round-robin: each step serves the split most owed a job.

    After ``i`` steps split ``s`` has received ``counts[s] * i / n`` jobs to within one, and exactly
    ``counts[s]`` at the end.
    """
    n = sum(counts)
    given = [0] * len(counts)
    sequence = []
    for i in range(1, n + 1):
        owed = [(counts[s] * i / n - given[s], -_TIE_ORDER.index(s)) for s in range(len(counts))]
        choice = max(range(len(counts)), key=lambda s: owed[s])
        given[choice] += 1
        sequence.append(choice)
    return sequence


def _job_order(jobs: pd.DataFrame, strata: pd.Series, rng: np.random.Generator) -> list:
    """Index labels of ``jobs``: strata in a seeded order, jobs shuffled within each stratum.

    Jobs are first sorted by ``jid`` (or index) so the result does not depend on the row order.
    """
    names = (
        jobs["jid"].astype(str) if "jid" in jobs.columns else pd.Series(jobs.index.astype(str), jobs.index)
    )
    groups: dict[str, list] = {}
    for label in sorted(jobs.index, key=lambda lab: names[lab]):
        groups.setdefault(strata[label], []).append(label)
    keys = sorted(groups)
    order: list = []
    for k in rng.permutation(len(keys)):
        members = groups[keys[k]]
        order.extend(members[i] for i in rng.permutation(len(members)))
    return order


def _deal(counts: tuple[int, int, int], n_known: int, fractions) -> list[int]:
    """Split indices for ``n_known`` jobs with a stratum followed by the jobs without one."""
    known = split_counts(n_known, fractions)
    rest = tuple(c - k for c, k in zip(counts, known, strict=True))
    if min(rest) < 0:  # too few jobs to keep the two apart: one sequence, unknowns at its end
        return _dealing_sequence(counts)
    return _dealing_sequence(known) + _dealing_sequence(rest)


_EVAL_COLUMNS = ("has_truth", "has_zogy", "has_sfft", "status")


def _unlabelled(jobs: pd.DataFrame) -> pd.Series:
    """Jobs unfit for val/test: without truth, failed, or without one algorithm's products."""
    out = pd.Series(False, index=jobs.index)
    for col in ("has_truth", "has_zogy", "has_sfft"):
        if col in jobs.columns:
            out |= ~jobs[col].astype("boolean").fillna(False).astype(bool)
    if "status" in jobs.columns:
        out |= (jobs["status"].astype("string") == "failed").fillna(False).astype(bool)
    return out


def assign_splits(
    jobs: pd.DataFrame,
    *,
    seed: int = 0,
    fractions=(0.70, 0.15, 0.15),
    stratify: str | None = "filter",
) -> pd.Series:
    """Split name ('train', 'val', 'test') of every job, indexed like ``jobs``.

    Deterministic for a seed and independent of row order. ``stratify=None`` ignores filters.
    Jobs that cannot serve evaluation (no truth files, failed, or missing one algorithm's products: the
    ``has_truth``, ``status``, ``has_zogy`` and ``has_sfft`` columns, when they exist) go to train when at
    least 3 other jobs remain, so that val and test carry labels and allow a fair ZOGY-vs-SFFT comparison.
    """
    unlabelled = _unlabelled(jobs)
    if unlabelled.any() and int((~unlabelled).sum()) >= 3:
        labelled = jobs[~unlabelled].drop(columns=[c for c in _EVAL_COLUMNS if c in jobs.columns])
        result = pd.Series("train", index=jobs.index, dtype="string", name="split")
        result[~unlabelled] = assign_splits(labelled, seed=seed, fractions=fractions, stratify=stratify)
        return result
    if "jid" in jobs.columns and jobs["jid"].duplicated().any():
        dupes = sorted(jobs.loc[jobs["jid"].duplicated(), "jid"].astype(str).unique())
        raise ConfigError(f"jobs: each job must appear once, duplicated jid {dupes}")
    if not jobs.index.is_unique:
        raise ConfigError("jobs: the index must be unique")
    if stratify is not None and stratify not in jobs.columns:
        raise ConfigError(f"stratify: no column {stratify!r} in jobs (columns: {list(jobs.columns)})")
    counts = split_counts(len(jobs), fractions)
    if stratify is None:
        strata = pd.Series("", index=jobs.index, dtype="string")
    else:
        strata = jobs[stratify].astype("string")
    rng = np.random.default_rng(seed)
    known = strata.notna()
    order = _job_order(jobs[known], strata[known], rng) + _job_order(
        jobs[~known], strata[~known].fillna(""), rng
    )
    result = pd.Series(pd.NA, index=jobs.index, dtype="string", name="split")
    for label, s in zip(order, _deal(counts, int(known.sum()), fractions), strict=True):
        result[label] = SPLITS[s]
    return result
