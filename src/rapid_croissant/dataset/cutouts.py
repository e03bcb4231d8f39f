"""Read the cutout store written by ``build --cutouts`` (the writer is pipeline/cutout_store.py).

One split of the store: ``cutouts-<split>.npy`` (N, 9, size, size) in the dataset's channel order, stored as
float32, float16 or uint8 (values x ``scale``); ``valid-<split>.npy`` (N, 3, size, size/8) validity bits per
loader channel set (:data:`VALID_SETS`), packed along x; ``index-<split>.parquet`` (candidate_id, jid, row);
``store.json`` (dtype, scale, channels, size, counts).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout

__all__ = ["GET_CHUNK", "VALID_SETS", "CutoutStore"]

#: The loader channel sets with a validity plane in ``valid-<split>.npy``, in plane order.
VALID_SETS = ("zogy", "sfft", "both")
#: Rows gathered at once by CutoutStore.get.
GET_CHUNK = 256


class CutoutStore:
    """Read one split of the store: float32 cutouts (N, C+1, size, size) with the validity channel last."""

    def __init__(self, dataset_dir: str | Path | Layout, split: str):
        layout = dataset_dir if isinstance(dataset_dir, Layout) else Layout(dataset_dir)
        self.meta = json.loads(layout.cutout_meta.read_text())
        self.cutouts = np.load(layout.cutouts(split), mmap_mode="r")
        self.valid = np.load(layout.cutout_valid(split), mmap_mode="r")
        self.index = pd.read_parquet(layout.cutout_index(split))
        self._row = dict(zip(self.index["candidate_id"], self.index["row"], strict=True))

    @staticmethod
    def exists(dataset_dir: str | Path | Layout) -> bool:
        """True when the dataset has a cutout store."""
        layout = dataset_dir if isinstance(dataset_dir, Layout) else Layout(dataset_dir)
        return layout.cutout_meta.is_file()

    def rows_of(self, candidate_ids) -> np.ndarray:
        """Store rows of ``candidate_ids`` (KeyError for a candidate not in this split)."""
        return np.array([self._row[c] for c in candidate_ids], dtype=np.int64)

    def get(self, rows: np.ndarray, *, algorithm: str) -> np.ndarray:
        """Cutouts of ``rows``: the channels of ``algorithm``, then its validity channel (float32)."""
        idx = [self.meta["channels"].index(c) for c in schema.CUTOUT_CHANNELS[algorithm]]
        every = idx == list(range(self.cutouts.shape[1]))
        rows = np.asarray(rows, dtype=np.int64)
        size = self.cutouts.shape[-1]
        scale = np.float32(self.meta["scale"])
        plane = VALID_SETS.index(algorithm)
        out = np.empty((len(rows), len(idx) + 1, size, size), dtype=np.float32)
        for s in range(0, len(rows), GET_CHUNK):  # one gather per chunk, converted straight into `out`
            r, dest = rows[s : s + GET_CHUNK], out[s : s + GET_CHUNK]
            block = self.cutouts[r]
            np.copyto(dest[:, :-1], block if every else block[:, idx], casting="unsafe")
            if scale != 1.0:
                np.divide(dest[:, :-1], scale, out=dest[:, :-1])
            dest[:, -1] = np.unpackbits(self.valid[r, plane], axis=-1, count=size)
        return out
