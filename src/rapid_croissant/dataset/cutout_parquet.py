"""Read the Croissant-described cutouts ``cutouts/cutouts-<split>.parquet`` (the writer is
writers/cutout_parquet.py) straight into numpy: one decode of the file, no per-row Python.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["CutoutTable", "VALID_PLANES", "cutout_schema", "read_cutout_parquet"]

#: The validity planes of the ``valid`` column, in order: the channel sets of the zogy, sfft and both models.
VALID_PLANES = ("zogy", "sfft", "both")


def _nested_type(value_type: pa.DataType, shape: tuple[int, ...]) -> pa.DataType:
    t = value_type
    for size in reversed(shape):
        t = pa.list_(t, size)
    return t


def cutout_schema(n_channels: int = 9, size: int = 64) -> pa.Schema:
    """The Arrow schema of a cutout file."""
    return pa.schema(
        [
            pa.field("candidate_id", pa.string(), nullable=False),
            pa.field("jid", pa.string(), nullable=False),
            pa.field("cutout", _nested_type(pa.float32(), (n_channels, size, size)), nullable=False),
            pa.field("valid", _nested_type(pa.uint8(), (len(VALID_PLANES), size, size)), nullable=False),
        ]
    )


def _array_of(column: pa.ChunkedArray, dtype) -> np.ndarray:
    """A nested fixed-size-list column as one (N, *shape) numpy array."""
    shape, t = [], column.type
    while pa.types.is_fixed_size_list(t):
        shape.append(t.list_size)
        t = t.value_type
    parts = []
    for chunk in column.chunks:
        flat = chunk
        for _ in shape:
            flat = flat.flatten()
        parts.append(flat.to_numpy(zero_copy_only=False).astype(dtype, copy=False))
    flat = np.concatenate(parts) if len(parts) != 1 else parts[0]
    return flat.reshape(-1, *shape)


class CutoutTable:
    """One split's cutouts in memory: ``ids`` (N,), ``jids`` (N,), ``cutouts`` (N, 9, S, S) float32 and
    ``valid`` (N, 3, S, S) uint8."""

    def __init__(self, ids: np.ndarray, jids: np.ndarray, cutouts: np.ndarray, valid: np.ndarray):
        self.ids, self.jids, self.cutouts, self.valid = ids, jids, cutouts, valid

    def __len__(self) -> int:
        return len(self.ids)


def read_cutout_parquet(
    path: str | Path, *, columns=("candidate_id", "jid", "cutout", "valid")
) -> CutoutTable:
    """Read one ``cutouts-<split>.parquet`` (memory-mapped file, decoded once)."""
    table = pq.read_table(path, columns=list(columns), memory_map=True)
    names = table.column_names
    ids = np.asarray(table["candidate_id"].to_pylist(), dtype=object) if "candidate_id" in names else None
    jids = np.asarray(table["jid"].to_pylist(), dtype=object) if "jid" in names else None
    cut = _array_of(table["cutout"], np.float32) if "cutout" in names else None
    valid = _array_of(table["valid"], np.uint8) if "valid" in names else None
    return CutoutTable(ids, jids, cut, valid)
