"""Write the cutout store: every candidate's 64x64x9 cutout, per split, in one memory-mappable array.

Layout (``<dataset>/cutouts/``), rows in the order of ``candidates-<split>.parquet``:

- ``cutouts-<split>.npy``: (N, 9, 64, 64), channels in schema.CHANNELS order, float32, float16, or uint8
  (the [0, 1] ZScale values times 255, rounded: at most 0.002 off, 4x smaller than float32); the PSF channel
  holds the job's native PSF stamp centred on the candidate, as the loader uses it;
- ``valid-<split>.npy``: (N, 3, 64, 8) uint8, the per-pixel validity for the channels of each loader
  algorithm (zogy, sfft, both: inside the image and none of those channels NaN), packed 8 pixels a byte
  along x (``np.unpackbits(..., axis=-1)``);
- ``index-<split>.parquet``: candidate_id, jid and row;
- ``store.json``: dtype, scale, channels, size, the position columns used.

The reader is :class:`rapid_croissant.dataset.cutouts.CutoutStore`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.cutouts import VALID_SETS
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.dataset.tables import read_table
from rapid_croissant.writers.atomic import atomic_path, write_parquet, write_text

log = logging.getLogger(__name__)

DTYPES = {"float32": (np.float32, 1.0), "float16": (np.float16, 1.0), "uint8": (np.uint8, 255.0)}


def _job_arrays(layout: Layout, jid: str):
    """The job's tensor and mask (memory-mapped) and native PSF stamp (None when absent)."""

    def load(path: Path, **kw):
        return np.load(path, **kw) if path.is_file() else None

    return (
        load(layout.image(jid), mmap_mode="r"),
        load(layout.mask(jid), mmap_mode="r"),
        load(layout.psf(jid)),
    )


def _fill_job(store, valid, rows, layout: Layout, jid: str, xy: np.ndarray, *, dtype: str, size: int) -> None:
    """Write the cutouts and validity planes of one job's candidates (``rows`` of the split)."""
    from rapid_croissant.science.cutouts import job_cutouts

    np_dtype, scale = DTYPES[dtype]
    image, mask, psf = _job_arrays(layout, jid)

    def cutouts(channels):
        return job_cutouts(image, mask, psf, xy[:, 0], xy[:, 1], channels=channels, size=size)

    cut = cutouts(schema.CHANNELS)
    vals = cut[:, :-1] * scale
    store[rows] = np.rint(vals) if np_dtype == np.uint8 else vals
    for k, alg in enumerate(VALID_SETS):
        ok = cut[:, -1] if alg == "both" else cutouts(schema.CUTOUT_CHANNELS[alg])[:, -1]
        valid[rows, k] = np.packbits(ok > 0.5, axis=-1)


def _store_split(layout: Layout, split: str, *, dtype: str, size: int) -> int:
    cand = read_table(layout.candidates_split(split), columns=["candidate_id", "jid", "x", "y"])
    n = len(cand)
    with (
        atomic_path(layout.cutouts(split)) as tmp_c,
        atomic_path(layout.cutout_valid(split)) as tmp_v,
    ):
        shape = (n, len(schema.CHANNELS), size, size)
        store = np.lib.format.open_memmap(tmp_c, mode="w+", dtype=DTYPES[dtype][0], shape=shape)
        valid = np.lib.format.open_memmap(
            tmp_v, mode="w+", dtype=np.uint8, shape=(n, len(VALID_SETS), size, size // 8)
        )
        jids = cand["jid"].astype(str).to_numpy()
        xy = cand[["x", "y"]].to_numpy(float)
        for jid in pd.unique(jids):
            rows = np.flatnonzero(jids == jid)
            _fill_job(store, valid, rows, layout, jid, xy[rows], dtype=dtype, size=size)
        store.flush()
        valid.flush()
        del store, valid
    index = pd.DataFrame({"candidate_id": cand["candidate_id"], "jid": cand["jid"], "row": np.arange(n)})
    write_parquet(layout.cutout_index(split), index)
    return n


def write_cutout_store(dataset_dir: str | Path, *, dtype: str = "float32", size: int = 64) -> dict:
    """Write the store for every split of a built dataset (needs images/, masks/, psfs/); returns counts."""
    if dtype not in DTYPES:
        raise ValueError(f"cutout dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    if size % 8:
        raise ValueError(f"cutout size must be a multiple of 8, got {size}")
    layout = Layout(dataset_dir)
    counts = {split: _store_split(layout, split, dtype=dtype, size=size) for split in SPLITS}
    meta = {
        "dtype": dtype,
        "scale": DTYPES[dtype][1],
        "channels": list(schema.CHANNELS),
        "size": size,
        "position_columns": ["x", "y"],
        "counts": counts,
    }
    write_text(layout.cutout_meta, json.dumps(meta, indent=1))
    log.info("cutout store (%s): %s", dtype, counts)
    return meta
