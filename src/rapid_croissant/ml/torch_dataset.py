"""The public PyTorch entry point over the Croissant-described cutouts.

::

    from torch.utils.data import DataLoader
    from rapid_croissant.ml.torch_dataset import RapidCutouts

    train = RapidCutouts("my_dataset", split="train", algorithm="both")
    for cutout, valid, features, label in DataLoader(train, batch_size=256, shuffle=True, num_workers=2):
        ...   # cutout (B, C, 64, 64) float32, valid (B, 64, 64) float32, features (B, F) float32, label (B,)

    # batch-level fetching (the fast path): each batch is one gather, with no per-item Python or collate
    fast = DataLoader(train, batch_size=None, sampler=train.batch_sampler(256, shuffle=True), num_workers=2)

The per-item DataLoader also gathers each batch at once (``__getitems__``), but its default collate then
stacks the items again; ``batch_sampler`` (or ``batches``) skips that. In a worker, batches are gathered
straight into shared memory, so handing them to the main process copies nothing more; still, on page-cached
data one process is the fastest (fresh shared memory per batch costs more than the gather: BENCHMARKS.md).

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


def _empty(shape: tuple[int, ...], torch):
    """An uninitialised float32 tensor: numpy-allocated (faster to fault in than torch.empty) in the main
    process; in a DataLoader worker, in shared memory as default_collate does, so that sending the batch to
    the main process copies nothing."""
    if torch.utils.data.get_worker_info() is None:
        return torch.from_numpy(np.empty(shape, dtype=np.float32))
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=torch.float32)._typed_storage()._new_shared(numel, device="cpu")
    return torch.empty(0, dtype=torch.float32).new(storage).view(shape)


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
        self._plane = VALID_PLANES.index(algorithm)
        self._open_pixels(path, ids, source)

    def _open_pixels(self, path: Path, ids: np.ndarray, source: str) -> None:
        """The memory-mapped store when allowed and usable, else the Parquet file decoded once."""
        self._store = self._open_store(path, ids) if source != "parquet" else None
        if self._store is None and source == "store":
            raise RapidCroissantError(f"{self.layout.cutouts(self.split)}: no usable memory-mapped store")
        self._table = self._valid = None
        if self._store is None:
            self._table = read_cutout_parquet(path)
            self._valid = self._table.valid[:, self._plane].astype(np.float32)  # unpacked once
            self._channel_index = [schema.CHANNELS.index(c) for c in self.channels]
            self._every = self._channel_index == list(range(len(schema.CHANNELS)))
        else:  # plain ndarray views of the memory maps: one fancy-index gather per batch
            self._mmap, self._packed = np.asarray(self._store.cutouts), np.asarray(self._store.valid)
            self._scale = np.float32(self._store.meta["scale"])
            self._channel_index = [self._store.meta["channels"].index(c) for c in self.channels]
            self._every = self._channel_index == list(range(self._mmap.shape[1]))
        self.source = "store" if self._store is not None else "parquet"
        self._size = (self._mmap if self._store is not None else self._table.cutouts).shape[-1]

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

    def _pixels(self, idx: np.ndarray, torch):
        """Cutouts (B, C, S, S) and validity (B, S, S) float32 tensors of items ``idx``: one gather each,
        straight into the tensors (in shared memory inside a DataLoader worker, so nothing is copied again
        to send the batch to the main process)."""
        rows, size = self.rows[idx], self._size
        cut = _empty((len(rows), len(self.channels), size, size), torch)
        valid = _empty((len(rows), size, size), torch)
        c, v = cut.numpy(), valid.numpy()
        src = self._mmap if self._store is not None else self._table.cutouts
        if self._every and src.dtype == np.float32:
            np.take(src, rows, axis=0, out=c, mode="clip")  # rows are checked: clip never clips
        else:
            got = src[rows] if self._every else src[rows[:, None], self._channel_index]
            np.copyto(c, got, casting="unsafe")
        if self._store is None:
            np.take(self._valid, rows, axis=0, out=v, mode="clip")
            return cut, valid
        if self._scale != 1.0:  # the store's own conversion, as CutoutStore.get does it
            np.divide(c, self._scale, out=c)
        np.copyto(v, np.unpackbits(self._packed[rows, self._plane], axis=-1, count=size))
        return cut, valid

    def _batch(self, idx: np.ndarray):
        import torch

        cut, valid = self._pixels(idx, torch)
        return cut, valid, torch.from_numpy(self.features[idx]), torch.from_numpy(self.labels[idx])

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

    def __getitems__(self, indices) -> list[tuple]:
        """Items ``indices`` gathered as one batch, then split into views (DataLoader with batch_size)."""
        batch = self[indices]
        return [tuple(t[i] for t in batch) for i in range(len(batch[3]))]

    def batch_sampler(self, batch_size: int = 256, *, shuffle: bool = False, seed: int = 0, drop_last=False):
        """Lists of item indices, one per batch, for ``DataLoader(self, sampler=..., batch_size=None)``."""
        import torch
        from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

        gen = torch.Generator().manual_seed(seed)
        base = RandomSampler(self, generator=gen) if shuffle else SequentialSampler(self)
        return BatchSampler(base, batch_size, drop_last=drop_last)

    def batches(self, batch_size: int = 256, *, shuffle: bool = False, num_workers: int = 0, seed: int = 0):
        """A DataLoader that gathers each batch at once (the fast path, same items as the per-item one)."""
        from torch.utils.data import DataLoader

        return DataLoader(
            self,
            sampler=self.batch_sampler(batch_size, shuffle=shuffle, seed=seed),
            batch_size=None,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
        )
