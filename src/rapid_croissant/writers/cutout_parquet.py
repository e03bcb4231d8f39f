"""Write the Croissant-described cutouts: ``cutouts/cutouts-<split>.parquet``, one row per candidate.

Columns: ``candidate_id`` and ``jid`` (text), ``cutout`` (9 x 64 x 64 float32 in the dataset's channel
order, a nested fixed-size list) and ``valid`` (3 x 64 x 64 uint8: 1 where the pixel is inside the image
and none of the channels of the zogy / sfft / both channel sets is NaN). Rows follow
``candidates-<split>.parquet``. Croissant declares the arrays with ``isArray``/``arrayShape`` so that
mlcroissant, TFDS and Hugging Face return real arrays; the reader is dataset/cutout_parquet.py.

The values are those of the cutout store (``cutouts-<split>.npy``) converted to float32: exact for a
float32 or float16 store; a uint8 store is divided by its scale (255).
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset.cutout_parquet import VALID_PLANES, cutout_schema
from rapid_croissant.dataset.cutouts import VALID_SETS, CutoutStore
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.writers.atomic import atomic_path

__all__ = ["ROW_GROUP", "write_cutout_parquet"]

log = logging.getLogger(__name__)

#: Rows per Parquet row group (about 19 MB of float32 cutouts at 64 x 64).
ROW_GROUP = 128


def _nested(flat: np.ndarray, shape: tuple[int, ...], value_type: pa.DataType) -> pa.Array:
    """A (N, *shape) array as nested fixed-size lists (zero copy of the values)."""
    arr = pa.array(flat.reshape(-1), type=value_type)
    for size in reversed(shape):
        arr = pa.FixedSizeListArray.from_arrays(arr, size)
    return arr


def _batch(store: CutoutStore, rows: np.ndarray, schema: pa.Schema) -> pa.RecordBatch:
    size = store.cutouts.shape[-1]
    n_ch = store.cutouts.shape[1]
    block = np.asarray(store.cutouts[rows], dtype=np.float32)
    scale = np.float32(store.meta["scale"])
    if scale != 1.0:
        block = block / scale
    valid = np.unpackbits(np.asarray(store.valid[rows]), axis=-1, count=size)
    index = store.index.iloc[rows]
    return pa.RecordBatch.from_arrays(
        [
            pa.array(index["candidate_id"].astype(str).tolist(), pa.string()),
            pa.array(index["jid"].astype(str).tolist(), pa.string()),
            _nested(np.ascontiguousarray(block), (n_ch, size, size), pa.float32()),
            _nested(np.ascontiguousarray(valid), (len(VALID_PLANES), size, size), pa.uint8()),
        ],
        schema=schema,
    )


def _write_split(layout: Layout, split: str) -> int:
    store = CutoutStore(layout, split)
    size, n_ch = store.cutouts.shape[-1], store.cutouts.shape[1]
    schema = cutout_schema(n_ch, size)
    n = len(store.index)
    with atomic_path(layout.cutout_parquet(split)) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for start in range(0, max(n, 1), ROW_GROUP):
                rows = np.arange(start, min(start + ROW_GROUP, n))
                writer.write_batch(_batch(store, rows, schema), row_group_size=ROW_GROUP)
    return n


def write_cutout_parquet(dataset_dir) -> dict[str, int]:
    """Write ``cutouts/cutouts-<split>.parquet`` for every split from the cutout store; returns the counts."""
    layout = Layout(dataset_dir)
    assert tuple(VALID_SETS) == VALID_PLANES
    counts = {split: _write_split(layout, split) for split in SPLITS}
    log.info("Croissant-described cutouts (Parquet): %s", counts)
    return counts
