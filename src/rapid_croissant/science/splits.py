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

import logging
import math

import numpy as np
import pandas as pd

from rapid_croissant.errors import ConfigError
from rapid_croissant.vocabulary import SPLITS

__all__ = [
    "assign_field_splits",
    "assign_folds",
    "assign_splits",
    "evaluable",
    "read_split_record",
    "split_counts",
    "split_record",
]

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------------------------------
# Splits by sky field, stable under growth
# --------------------------------------------------------------------------------------------------


def evaluable(jobs: pd.DataFrame) -> pd.Series:
    """Jobs that can serve val/test: truth files, both algorithms, not failed (see ``assign_splits``)."""
    return ~_unlabelled(jobs)


def _first_members(jobs: pd.DataFrame, field: str) -> pd.DataFrame:
    """One row per field: its first job (lowest job number), with has_truth = any member is evaluable."""
    ev = evaluable(jobs)
    number = jobs["jid"].astype(str).str[3:].str.extract(r"^(\d+)$")[0].astype(float).fillna(0)
    order = jobs.assign(_n=number, _ev=ev).sort_values(["_n", "jid"])
    first = order.groupby(field, sort=True).head(1).set_index(field)
    table = pd.DataFrame({"jid": first["jid"].astype(str)}, index=first.index)
    if "filter" in jobs.columns:
        table["filter"] = first["filter"].astype("string")
    table["has_truth"] = order.groupby(field)["_ev"].any().reindex(table.index).astype(bool)
    return table


def _field_hash(seed: int, field: str) -> str:
    import hashlib

    return hashlib.sha256(f"{seed}:{field}".encode()).hexdigest()


def _deal_new_fields(new: dict[str, int], counts: list[float], fractions, seed: int) -> dict[str, str]:
    """Each new field (name -> evaluable jobs) to the split most short of its fraction, in hash order."""
    total = sum(counts) + sum(new.values())
    out = {}
    for name in sorted(new, key=lambda f: _field_hash(seed, f)):
        if new[name] == 0:
            out[name] = SPLITS[0]  # nothing to evaluate on: train
            continue
        owed = [(fractions[s] * total - counts[s], -_TIE_ORDER.index(s)) for s in range(len(SPLITS))]
        s = max(range(len(SPLITS)), key=lambda k: owed[k])
        counts[s] += new[name]
        out[name] = SPLITS[s]
    return out


def assign_field_splits(
    jobs: pd.DataFrame,
    *,
    previous: dict[str, str] | None = None,
    seed: int = 0,
    fractions=(0.70, 0.15, 0.15),
    stratify: str | None = "filter",
    field: str = "field",
) -> pd.Series:
    """Split of every job such that all jobs of one sky field share a split and recorded jobs never move.

    ``previous`` maps jid -> split of an earlier build (``read_split_record``). Without it, whole fields
    are dealt with ``assign_splits`` (one row per field; with one job per field this is exactly the job
    split). With it, every recorded job keeps its split, a new job joins its field's recorded split, and
    new fields go, in a seeded hash order, to the split furthest below its fraction of evaluable jobs.
    """
    fr = _check_fractions(fractions)
    if field not in jobs.columns:
        raise ConfigError(f"jobs: no column {field!r} (the sky field of each job)")
    fields = jobs[field].astype("string").fillna(jobs["jid"].astype("string"))
    jobs = jobs.assign(**{field: fields})
    previous = {k: v for k, v in (previous or {}).items() if v in SPLITS}
    recorded = jobs["jid"].astype(str).map(previous)
    if not recorded.notna().any():
        table = _first_members(jobs, field)
        by_field = assign_splits(table, seed=seed, fractions=fr, stratify=stratify)
        return fields.map(by_field.to_dict()).astype("string").rename("split")
    return _grow(jobs, recorded, fields, fr, seed)


def _grow(jobs, recorded: pd.Series, fields: pd.Series, fractions, seed: int) -> pd.Series:
    ev = evaluable(jobs)
    field_split: dict[str, str] = {}
    for name, splits in recorded.dropna().groupby(fields[recorded.notna()]):
        values = splits.value_counts()
        if len(values) > 1:
            log.warning(
                "field %s: jobs recorded in several splits (%s): a new job joined their skies; recorded "
                "jobs keep their splits, new ones join %s",
                name,
                ", ".join(values.index),
                values.index[0],
            )
        field_split[str(name)] = str(values.index[0])
    counts = [float((ev & (recorded == s)).sum()) for s in SPLITS]
    new_fields = {str(f): int(ev[fields == f].sum()) for f in fields.unique() if str(f) not in field_split}
    for f in field_split:  # new evaluable jobs joining a recorded field count towards its split
        extra = ev & (fields == f) & recorded.isna()
        counts[SPLITS.index(field_split[f])] += float(extra.sum())
    field_split.update(_deal_new_fields(new_fields, counts, fractions, seed))
    out = recorded.where(recorded.notna(), fields.map(field_split))
    return out.astype("string").rename("split")


def read_split_record(path, *, seed: int, fractions=(0.70, 0.15, 0.15)) -> dict[str, str]:
    """jid -> split of the record at ``path``; {} when absent, unreadable, or made with another seed."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        return {}
    try:
        rec = json.loads(path.read_text())
        jobs = {str(k): str(v["split"]) for k, v in rec["jobs"].items()}
        same = rec.get("seed") == seed and np.allclose(rec.get("fractions"), _check_fractions(fractions))
    except (ValueError, KeyError, TypeError) as err:
        log.warning("%s: unreadable split record (%s): splits are dealt anew", path, err)
        return {}
    if not same:
        log.warning("%s: made with another split seed or fractions: splits are dealt anew", path.name)
        return {}
    return jobs


def split_record(jobs: pd.DataFrame, previous_text: str | None, *, seed: int, fractions) -> dict:
    """The record to write: every job ever recorded (jobs gone from the input keep their entry)."""
    import json

    old = {}
    if previous_text:
        try:
            old = json.loads(previous_text).get("jobs", {})
        except ValueError:
            old = {}
    rows = dict(old)
    if "status" in jobs.columns:  # a failed job's sky is unknown: it is dealt again once it builds
        jobs = jobs[(jobs["status"].astype("string") != "failed").fillna(True).astype(bool)]
    for r in jobs[["jid", "field", "split"]].itertuples(index=False):
        rows[str(r.jid)] = {"field": str(r.field), "split": str(r.split)}
    return {"seed": seed, "fractions": list(_check_fractions(fractions)), "jobs": dict(sorted(rows.items()))}


def assign_folds(jobs: pd.DataFrame, k: int, *, seed: int = 0, field: str = "field") -> pd.Series:
    """Grouped k-fold by sky field: fold 0..k-1 of every job (-1: field without evaluable jobs, always
    train). Fields go, largest first (ties in a seeded hash order), to the fold with fewest evaluable jobs."""
    if k < 2:
        raise ConfigError(f"k must be at least 2 folds, got {k}")
    fields = jobs[field].astype("string").fillna(jobs["jid"].astype("string")) if field in jobs else None
    fields = fields if fields is not None else jobs["jid"].astype("string")
    sizes = evaluable(jobs).groupby(fields).sum()
    order = sorted(sizes.index, key=lambda f: (-int(sizes[f]), _field_hash(seed, str(f))))
    load = [0] * k
    fold_of = {}
    for f in order:
        if sizes[f] == 0:
            fold_of[f] = -1
            continue
        target = min(range(k), key=lambda i: (load[i], i))
        load[target] += int(sizes[f])
        fold_of[f] = target
    return fields.map(fold_of).astype("int64").rename("fold")
