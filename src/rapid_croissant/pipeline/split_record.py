"""Sky fields and splits of a build, read back from and written to the dataset's split record.

The record (``split_assignment.json``: seed, fractions, and every job's field and split) makes splits
stable under growth: a rebuild with more jobs keeps every recorded job in its split, puts a new job of a
known field in that field's split, and deals new fields toward the split fractions (science/splits.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.science.fields import assign_fields
from rapid_croissant.science.splits import assign_field_splits, read_split_record, split_record

log = logging.getLogger(__name__)

FRACTIONS = (0.70, 0.15, 0.15)


def assign_fields_and_splits(out: Path, jobs: pd.DataFrame, cfg: BuildConfig) -> pd.DataFrame:
    """``jobs`` with its ``field`` and ``split`` columns, honouring the dataset's split record."""
    jobs = jobs.copy()
    jobs["field"] = assign_fields(jobs).astype("string")
    previous = read_split_record(Layout(out).split_record, seed=cfg.split_seed, fractions=FRACTIONS)
    jobs["split"] = assign_field_splits(
        jobs, previous=previous, seed=cfg.split_seed, fractions=FRACTIONS
    ).astype("string")
    return jobs


def split_record_text(out: Path, jobs: pd.DataFrame, cfg: BuildConfig) -> str:
    """The new record of every job's field and split (jobs recorded earlier keep their entries), as the
    text the build publishes with its tables."""
    path = Layout(out).split_record
    old = path.read_text() if path.is_file() else None
    rec = split_record(jobs, old, seed=cfg.split_seed, fractions=FRACTIONS)
    return json.dumps(rec, indent=1)
