"""The cutout store: every candidate's 64x64x9 cutout, per split, in one memory-mappable array.

Layout (``<dataset>/cutouts/``), rows in the order of ``candidates-<split>.parquet``:

- ``cutouts-<split>.npy``: (N, 9, 64, 64), channels in schema.CHANNELS order, float32, float16, or uint8
  (the [0, 1] ZScale values times 255, rounded: at most 0.002 off, 4x smaller than float32); the PSF channel
  holds the job's native PSF stamp centred on the candidate, as the loader uses it;
- ``valid-<split>.npy``: (N, 3, 64, 8) uint8, the per-pixel validity for the channels of each loader
  algorithm (zogy, sfft, both: inside the image and none of those channels NaN), packed 8 pixels a byte
  along x (``np.unpackbits(..., axis=-1)``);
- ``index-<split>.parquet``: candidate_id, jid and row;
- ``store.json``: dtype, scale, channels, size, the position columns used.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import schema
from rapid_croissant.writers.atomic import atomic_path, write_parquet, write_text

log = logging.getLogger(__name__)

CUTOUT_DIR = "cutouts"
VALID_SETS = ("zogy", "sfft", "both")
#: Rows gathered at once by CutoutStore.get.
GET_CHUNK = 256
DTYPES = {"float32": (np.float32, 1.0), "float16": (np.float16, 1.0), "uint8": (np.uint8, 255.0)}


def _job_arrays(root: Path, jid: str):
    """The job's tensor and mask (memory-mapped) and native PSF stamp (None when absent)."""

    def load(folder: str, **kw):
        path = root / folder / f"{jid}.npy"
        return np.load(path, **kw) if path.is_file() else None

    return (
        load(schema.IMAGES_DIR, mmap_mode="r"),
        load(schema.MASKS_DIR, mmap_mode="r"),
        load(schema.PSFS_DIR),
    )


def _store_split(dataset_dir: Path, split: str, *, dtype: str, size: int) -> int:
    from rapid_croissant.science.cutouts import job_cutouts

    cand = pd.read_parquet(
        dataset_dir / f"candidates-{split}.parquet", columns=["candidate_id", "jid", "x", "y"]
    )
    np_dtype, scale = DTYPES[dtype]
    out_dir = dataset_dir / CUTOUT_DIR
    n = len(cand)
    with (
        atomic_path(out_dir / f"cutouts-{split}.npy") as tmp_c,
        atomic_path(out_dir / f"valid-{split}.npy") as tmp_v,
    ):
        store = np.lib.format.open_memmap(
            tmp_c, mode="w+", dtype=np_dtype, shape=(n, len(schema.CHANNELS), size, size)
        )
        valid = np.lib.format.open_memmap(
            tmp_v, mode="w+", dtype=np.uint8, shape=(n, len(VALID_SETS), size, size // 8)
        )
        jids = cand["jid"].astype(str).to_numpy()
        for jid in pd.unique(jids):
            rows = np.flatnonzero(jids == jid)
            image, mask, psf = _job_arrays(dataset_dir, jid)
            cut = job_cutouts(
                image,
                mask,
                psf,
                cand["x"].to_numpy(float)[rows],
                cand["y"].to_numpy(float)[rows],
                channels=schema.CHANNELS,
                size=size,
            )
            vals = cut[:, :-1] * scale
            store[rows] = np.rint(vals) if np_dtype == np.uint8 else vals
            for k, alg in enumerate(VALID_SETS):
                ok = (
                    cut[:, -1]
                    if alg == "both"
                    else job_cutouts(
                        image,
                        mask,
                        psf,
                        cand["x"].to_numpy(float)[rows],
                        cand["y"].to_numpy(float)[rows],
                        channels=schema.CUTOUT_CHANNELS[alg],
                        size=size,
                    )[:, -1]
                )
                valid[rows, k] = np.packbits(ok > 0.5, axis=-1)
        store.flush()
        valid.flush()
        del store, valid
    index = pd.DataFrame({"candidate_id": cand["candidate_id"], "jid": cand["jid"], "row": np.arange(n)})
    write_parquet(out_dir / f"index-{split}.parquet", index)
    return n


def write_cutout_store(dataset_dir: str | Path, *, dtype: str = "float32", size: int = 64) -> dict:
    """Write the store for every split of a built dataset (needs images/, masks/, psfs/); returns counts."""
    if dtype not in DTYPES:
        raise ValueError(f"cutout dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    if size % 8:
        raise ValueError(f"cutout size must be a multiple of 8, got {size}")
    root = Path(dataset_dir)
    counts = {split: _store_split(root, split, dtype=dtype, size=size) for split in schema.SPLITS}
    meta = {
        "dtype": dtype,
        "scale": DTYPES[dtype][1],
        "channels": list(schema.CHANNELS),
        "size": size,
        "position_columns": ["x", "y"],
        "counts": counts,
    }
    write_text(root / CUTOUT_DIR / "store.json", json.dumps(meta, indent=1))
    log.info("cutout store (%s): %s", dtype, counts)
    return meta


class CutoutStore:
    """Read one split of the store: float32 cutouts (N, C+1, size, size) with the validity channel last."""

    def __init__(self, dataset_dir: str | Path, split: str, prefix: str = ""):
        # prefix "sfft-": the cutouts-profile arrays centred on other positions (meta position_columns)
        root = Path(dataset_dir) / CUTOUT_DIR
        self.meta = json.loads((root / f"{prefix}store.json").read_text())
        self.cutouts = np.load(root / f"{prefix}cutouts-{split}.npy", mmap_mode="r")
        self.valid = np.load(root / f"{prefix}valid-{split}.npy", mmap_mode="r")
        self.index = pd.read_parquet(root / f"{prefix}index-{split}.parquet")
        self._row = dict(zip(self.index["candidate_id"], self.index["row"], strict=True))

    @staticmethod
    def exists(dataset_dir: str | Path, prefix: str = "") -> bool:
        return (Path(dataset_dir) / CUTOUT_DIR / f"{prefix}store.json").is_file()

    def rows_of(self, candidate_ids) -> np.ndarray:
        return np.array([self._row[c] for c in candidate_ids], dtype=np.int64)

    def get(self, rows: np.ndarray, *, algorithm: str) -> np.ndarray:
        """Cutouts of ``rows``: the loader's channels of ``algorithm``, then its validity (float32)."""
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
