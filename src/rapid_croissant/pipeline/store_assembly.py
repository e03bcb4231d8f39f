"""The cutout store of a cutout-first build (``--profile cutouts``), assembled from the jobs' parts.

Each job writes its cutouts under ``.parts/`` (``profiles.write_job_cutouts``), in its candidates' order
and in the store's dtype. Once the splits are known (at the end of a build) the parts are concatenated in
the order of ``candidates-<split>.parquet`` into the same files as ``--cutouts`` writes, plus the ``sfft-``
arrays, and then removed: the store is the only copy on disk. A later build (a resume, or one that adds
jobs) takes the cutouts of jobs it did not rebuild from the store it replaces, which stays readable until
every new file is in place.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.cutouts import VALID_SETS
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.provenance import derived_digest
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.pipeline.cutout_store import DTYPES
from rapid_croissant.pipeline.profiles import ALT_CENTRES, SIZE, part_paths
from rapid_croissant.writers.atomic import atomic_path, write_text

log = logging.getLogger(__name__)


class _OldStore:
    """The store being replaced (every split of one prefix), memory-mapped before anything is written."""

    def __init__(self, out_dir: Path, prefix: str, dtype: str):
        self.arrays, self.where = {}, {}
        layout = Layout(out_dir)
        meta = layout.cutout_meta_of(prefix)
        if not meta.is_file() or json.loads(meta.read_text()).get("dtype") != dtype:
            return
        for split in schema.SPLITS:
            index = layout.cutout_index(split, prefix)
            if not index.is_file():
                continue
            self.arrays[split] = (
                np.load(layout.cutouts(split, prefix), mmap_mode="r"),
                np.load(layout.cutout_valid(split, prefix), mmap_mode="r"),
            )
            ids = pd.read_parquet(index, columns=["candidate_id"])["candidate_id"].astype(str)
            self.where.update({c: (split, r) for r, c in enumerate(ids)})

    def rows(self, ids: list[str], jid: str) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in ids if c not in self.where]
        if missing:
            raise RapidCroissantError(
                f"{jid}: its cutouts are neither in .parts/ nor in the cutout store: rebuild with --overwrite"
            )
        cuts = np.empty(
            (len(ids), len(schema.CHANNELS), SIZE, SIZE), dtype=next(iter(self.arrays.values()))[0].dtype
        )
        valid = np.empty((len(ids), len(VALID_SETS), SIZE, SIZE // 8), dtype=np.uint8)
        for k, c in enumerate(ids):
            split, r = self.where[c]
            cuts[k], valid[k] = self.arrays[split][0][r], self.arrays[split][1][r]
        return cuts, valid


def _job_rows(
    cand: pd.DataFrame, jid: str, prefix: str, paths: dict[str, Path], old: _OldStore
) -> np.ndarray:
    """Rows of ``cand`` (one split) held by the job's part, or by the old store when the part is gone."""
    rows = np.flatnonzero((cand["jid"].astype(str) == jid).to_numpy())
    ids = cand["candidate_id"].iloc[rows].astype(str)
    if paths["index"].is_file():
        part_ids = pd.read_parquet(paths["index"])["candidate_id"].astype(str).tolist()
    else:
        part_ids = [c for c in ids if c in old.where]
    if prefix:
        rows = rows[ids.isin(part_ids).to_numpy()]
    if cand["candidate_id"].iloc[rows].astype(str).tolist() != part_ids:
        raise RapidCroissantError(
            f"{jid}: cutout part out of step with its candidates: rebuild with --overwrite"
        )
    return rows


def _split_store(out_dir: Path, split: str, prefix: str, old: _OldStore, *, dtype: str) -> int:
    layout = Layout(out_dir)
    cand = pd.read_parquet(layout.candidates_split(split), columns=["candidate_id", "jid"])
    keep, sources = np.zeros(len(cand), dtype=bool), []
    for jid in pd.unique(cand["jid"].astype(str)):
        paths = part_paths(out_dir, jid, prefix)
        rows = _job_rows(cand, jid, prefix, paths, old)
        keep[rows] = True
        sources.append((jid, paths, cand["candidate_id"].iloc[rows].astype(str).tolist()))
    sel = cand[keep].reset_index(drop=True)
    n = len(sel)
    with (
        atomic_path(layout.cutouts(split, prefix)) as tmp_c,
        atomic_path(layout.cutout_valid(split, prefix)) as tmp_v,
    ):
        store = np.lib.format.open_memmap(
            tmp_c, mode="w+", dtype=DTYPES[dtype][0], shape=(n, len(schema.CHANNELS), SIZE, SIZE)
        )
        valid = np.lib.format.open_memmap(
            tmp_v, mode="w+", dtype=np.uint8, shape=(n, len(VALID_SETS), SIZE, SIZE // 8)
        )
        row = 0
        for jid, paths, ids in sources:
            if paths["cutouts"].is_file():
                part = np.load(paths["cutouts"], mmap_mode="r"), np.load(paths["valid"], mmap_mode="r")
            else:
                part = old.rows(ids, jid)
            store[row : row + len(ids)], valid[row : row + len(ids)] = part
            row += len(ids)
        store.flush()
        valid.flush()
        del store, valid
    index = pd.DataFrame({"candidate_id": sel["candidate_id"], "jid": sel["jid"], "row": np.arange(n)})
    with atomic_path(layout.cutout_index(split, prefix)) as tmp:
        index.to_parquet(tmp, index=False)
    return n


def _remove_parts(out_dir: Path, jids) -> None:
    for jid in jids:
        for prefix in ("", *(p for p, _, _ in ALT_CENTRES)):
            for path in part_paths(out_dir, jid, prefix).values():
                path.unlink(missing_ok=True)


def assemble_cutout_store(out_dir: str | Path, *, dtype: str = "float32") -> dict:
    """The cutout store of a cutouts-profile build (same files as ``--cutouts``), then the parts removed."""
    out_dir = Path(out_dir)
    metas = {}
    centres = (("", "x", "y"), *ALT_CENTRES)
    olds = {prefix: _OldStore(out_dir, prefix, dtype) for prefix, _, _ in centres}
    for prefix, xcol, ycol in centres:
        counts = {
            split: _split_store(out_dir, split, prefix, olds[prefix], dtype=dtype) for split in schema.SPLITS
        }
        meta = {
            "dtype": dtype,
            "scale": DTYPES[dtype][1],
            "channels": list(schema.CHANNELS),
            "size": SIZE,
            "position_columns": [xcol, ycol],
            "counts": counts,
            "made_from": derived_digest(out_dir),  # the candidate tables it was cut for (stale check)
        }
        write_text(Layout(out_dir).cutout_meta_of(prefix), json.dumps(meta, indent=1))
        metas[prefix or "main"] = meta
    jobs = pd.read_parquet(Layout(out_dir).jobs_parquet, columns=["jid"])["jid"].astype(str)
    _remove_parts(out_dir, jobs)
    log.info("cutout store from the FITS planes (%s): %s", dtype, metas["main"]["counts"])
    return metas
