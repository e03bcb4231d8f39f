"""One way of opening a dataset's tables: pyarrow Parquet read into pandas, lazily, once per table.

``open_dataset(root)`` returns a :class:`Dataset`: ``.candidates``, ``.jobs``, ``.truth`` (pandas, read on
first use and cached), ``.split(name)`` (``candidates-<name>.parquet``), ``.tables`` (the three as a
:class:`Tables`, the input of the composition and of training), ``.build_info`` (dict), ``.has_cutouts`` and
``.cutout_store(split)``. Missing folders and files raise :class:`DatasetError` naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.errors import RapidCroissantError

__all__ = ["REQUIRED_CANDIDATE_COLUMNS", "Dataset", "DatasetError", "Tables", "open_dataset", "read_table"]

#: Columns every reader relies on; a candidates table without them is not one of ours.
REQUIRED_CANDIDATE_COLUMNS = ("candidate_id", "jid", "split", "label", "detected_by")


class DatasetError(RapidCroissantError):
    """A dataset folder or one of its files is missing or unreadable (names the file)."""


@dataclass(frozen=True)
class Tables:
    """The three tables of a dataset folder."""

    candidates: pd.DataFrame
    jobs: pd.DataFrame
    truth: pd.DataFrame


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as pandas, read with pyarrow (the one way tables are opened)."""
    return pq.read_table(path, columns=columns).to_pandas()


class Dataset:
    """A built dataset, opened read-only; tables are read on first use."""

    def __init__(self, root: str | Path):
        self.layout = Layout(root)
        if not self.layout.root.is_dir():
            raise DatasetError(f"dataset_dir: {self.layout.root} is not a folder")

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def splits(self) -> tuple[str, ...]:
        return SPLITS

    def _require(self, path: Path) -> Path:
        if not path.is_file():
            raise DatasetError(f"{self.root}: no {self.layout.relative(path)}")
        return path

    @cached_property
    def candidates(self) -> pd.DataFrame:
        """Every candidate (``candidates.parquet``, else the per-split files concatenated)."""
        full = self.layout.candidates_parquet
        if full.is_file():
            df = read_table(full)
        else:
            paths = [self.layout.candidates_split(s) for s in SPLITS]
            if not all(p.is_file() for p in paths):
                raise DatasetError(
                    f"{self.root}: no {self.layout.relative(full)} "
                    "(is this a dataset written by rapid-croissant build?)"
                )
            df = pd.concat([read_table(p) for p in paths], ignore_index=True)
        missing = [c for c in REQUIRED_CANDIDATE_COLUMNS if c not in df]
        if missing:
            raise DatasetError(f"{full}: missing columns {missing}")
        return df

    @cached_property
    def jobs(self) -> pd.DataFrame:
        return read_table(self._require(self.layout.jobs_parquet))

    @cached_property
    def truth(self) -> pd.DataFrame:
        return read_table(self._require(self.layout.truth_parquet))

    @property
    def tables(self) -> Tables:
        """Candidates, jobs and truth together (what composition and training read)."""
        return Tables(self.candidates, self.jobs, self.truth)

    def split(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The candidates of one split, from ``candidates-<name>.parquet``."""
        if name not in SPLITS:
            raise DatasetError(f"split must be one of {SPLITS}, got {name!r}")
        return read_table(self._require(self.layout.candidates_split(name)), columns)

    @cached_property
    def build_info(self) -> dict:
        """``build_info.json`` (options and version); empty when absent."""
        path = self.layout.build_info
        return json.loads(path.read_text()) if path.is_file() else {}

    @property
    def has_cutouts(self) -> bool:
        from rapid_croissant.dataset.cutouts import CutoutStore

        return CutoutStore.exists(self.layout)

    def cutout_store(self, split: str):
        """The :class:`~rapid_croissant.dataset.cutouts.CutoutStore` of one split."""
        from rapid_croissant.dataset.cutouts import CutoutStore

        if not self.has_cutouts:
            raise DatasetError(f"{self.root}: no cutout store (build with --cutouts)")
        return CutoutStore(self.layout, split)


def open_dataset(root: str | Path) -> Dataset:
    """Open the dataset at ``root`` (tables are read lazily)."""
    return Dataset(root)
