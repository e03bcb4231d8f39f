"""The public PyTorch entry point over the Croissant-described cutouts.

::

    from torch.utils.data import DataLoader
    from rapid_croissant.ml.torch_dataset import RapidCutouts

    train = RapidCutouts("my_dataset", split="train", algorithm="both")
    for cutout, valid, features, label in DataLoader(train, batch_size=256, shuffle=True, num_workers=2):
        ...   # cutout (B, C, 64, 64) float32, valid (B, 64, 64) float32, features (B, F) float32, label (B,)

Pixels come from ``cutouts/cutouts-<split>.parquet`` (what croissant.json describes). When the
memory-mapped store ``cutouts/cutouts-<split>.npy`` of the same build is present, it is used instead after
checking it against the Parquet file (same candidates in the same order, equal values on a sample of rows),
so reading is a memory-map slice; ``source="parquet"`` forces the Parquet file.

``algorithm`` picks the channels (``zogy``: sci, ref, zogy_diff, zogy_scorr, psf, zogy_uncert; ``sfft``
likewise; ``both``: all nine) and the candidates (``zogy``/``sfft``: those that algorithm detected).
Features are the raw ``<alg>_<name>`` columns whose role is ``feature`` (dataset/roles.py), NaN where the
algorithm did not detect the candidate (nothing is filled in: standardise and impute with training statistics
yourself, or use ``rapid-croissant train``). ``labelled_only`` (default) drops label -1 (unknown).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import roles, schema
from rapid_croissant.dataset.cutout_parquet import VALID_PLANES, read_cutout_parquet
from rapid_croissant.dataset.cutouts import CutoutStore
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.errors import RapidCroissantError

__all__ = ["RapidCutouts", "feature_columns"]

log = logging.getLogger(__name__)

#: Rows compared between the memory-mapped store and the Parquet file before the store is trusted.
CHECK_ROWS = 16


def feature_columns(algorithm: str) -> list[str]:
    """The candidates columns used as features for ``algorithm`` (zogy, sfft or both)."""
    algs = ("zogy", "sfft") if algorithm == "both" else (algorithm,)
    return [c for c in roles.features() if any(c.startswith(f"{a}_") for a in algs)]


def _check_args(split: str, algorithm: str, source: str) -> None:
    if split not in SPLITS:
        raise RapidCroissantError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if algorithm not in schema.CUTOUT_CHANNELS:
        raise RapidCroissantError(f"algorithm must be one of zogy, sfft, both, got {algorithm!r}")
    if source not in ("auto", "parquet", "store"):
        raise RapidCroissantError(f"source must be auto, parquet or store, got {source!r}")


class RapidCutouts:
    """A map-style torch Dataset of (cutout, valid, features, label), one item per candidate."""

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        algorithm: str = "both",
        *,
        labelled_only: bool = True,
        source: str = "auto",
    ):
        _check_args(split, algorithm, source)
        self.layout = Layout(root)
        self.split, self.algorithm = split, algorithm
        path = self.layout.cutout_parquet(split)
        if not path.is_file():
            raise RapidCroissantError(f"{path}: no cutouts (build the dataset with --cutouts)")
        ids = read_cutout_parquet(path, columns=("candidate_id",)).ids
        cand = pd.read_parquet(self.layout.candidates_split(split)).set_index("candidate_id", drop=False)
        missing = pd.Index(ids).difference(cand.index)
        if len(missing):
            raise RapidCroissantError(
                f"{path}: {len(missing)} cutouts of unknown candidates, e.g. {missing[0]}"
            )
        cand = cand.loc[ids]
        keep = np.ones(len(cand), dtype=bool)
        if algorithm != "both":
            keep &= cand["detected_by"].astype(str).isin([algorithm, "both"]).to_numpy()
        if labelled_only:
            keep &= (cand["label"].astype("Int64") != schema.LABEL_UNKNOWN).to_numpy(
                dtype=bool, na_value=False
            )
        self.rows = np.flatnonzero(keep)
        self.candidates = cand.iloc[self.rows].reset_index(drop=True)
        self.feature_names = feature_columns(algorithm)
        self.features = self.candidates[self.feature_names].apply(pd.to_numeric, errors="coerce")
        self.features = self.features.to_numpy(dtype=np.float32, na_value=np.nan)
        self.labels = self.candidates["label"].astype("Int64").to_numpy(dtype=np.int64)
        self.channels = schema.CUTOUT_CHANNELS[algorithm]
        self._channel_index = [schema.CHANNELS.index(c) for c in self.channels]
        self._plane = VALID_PLANES.index(algorithm)
        self._store = self._open_store(path, ids) if source != "parquet" else None
        if self._store is None and source == "store":
            raise RapidCroissantError(f"{self.layout.cutouts(split)}: no usable memory-mapped store")
        self._table = read_cutout_parquet(path) if self._store is None else None
        self.source = "store" if self._store is not None else "parquet"

    def _open_store(self, path: Path, ids: np.ndarray) -> CutoutStore | None:
        """The memory-mapped store, when present and equal to the Parquet file on a sample of rows."""
        if not (CutoutStore.exists(self.layout) and self.layout.cutouts(self.split).is_file()):
            return None
        store = CutoutStore(self.layout, self.split)
        if not np.array_equal(store.index["candidate_id"].astype(str).to_numpy(), ids.astype(str)):
            log.warning(
                "%s: the .npy store lists other candidates than %s: reading the Parquet file",
                self.layout.cutouts(self.split),
                path.name,
            )
            return None
        sample = np.unique(np.linspace(0, len(ids) - 1, min(CHECK_ROWS, len(ids))).astype(int))
        table = read_cutout_parquet(path)  # decoded once here; the sample is compared, then dropped
        got = store.get(sample, algorithm="both")
        same = np.array_equal(got[:, :-1], table.cutouts[sample]) and np.array_equal(
            got[:, -1], table.valid[sample, VALID_PLANES.index("both")]
        )
        if not same:
            log.warning(
                "%s differs from %s: reading the Parquet file", self.layout.cutouts(self.split), path.name
            )
            return None
        return store

    def __len__(self) -> int:
        return len(self.rows)

    def _pixels(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.rows[idx]
        if self._store is not None:
            got = self._store.get(rows, algorithm=self.algorithm)
            return got[:, :-1], got[:, -1]
        cut = self._table.cutouts[rows][:, self._channel_index]
        return cut, self._table.valid[rows, self._plane].astype(np.float32)

    def _batch(self, idx: np.ndarray):
        import torch

        cut, valid = self._pixels(idx)  # views of one gathered block: no further copy
        return (
            torch.from_numpy(cut),
            torch.from_numpy(valid if valid.dtype == np.float32 else valid.astype(np.float32)),
            torch.from_numpy(self.features[idx]),
            torch.from_numpy(self.labels[idx]),
        )

    def __getitem__(self, index):
        """One item (an int) or a whole batch (a list or array of ints: tensors with a leading batch axis)."""
        if isinstance(index, int | np.integer):
            if not -len(self) <= index < len(self):
                raise IndexError(f"index {index} out of range for {len(self)} cutouts")
            return tuple(t[0] for t in self._batch(np.array([index % len(self)])))
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"indices out of range for {len(self)} cutouts")
        return self._batch(idx)

    def batches(self, batch_size: int = 256, *, shuffle: bool = False, num_workers: int = 0, seed: int = 0):
        """A DataLoader that gathers each batch at once (the fast path, same items as the per-item one)."""
        import torch
        from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

        gen = torch.Generator().manual_seed(seed)
        base = RandomSampler(self, generator=gen) if shuffle else SequentialSampler(self)
        return DataLoader(
            self,
            sampler=BatchSampler(base, batch_size, drop_last=False),
            batch_size=None,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
        )
