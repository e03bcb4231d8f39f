"""The cutout store of a cutout-first build (``--profile cutouts``), written once, in place.

Once the tables are published, the splits and every job's rows of the store are known. For each file set
(prefix ``""`` centred on (x, y), ``"sfft-"``) and split, the store files are created at their full size
under ``.parts/`` (``store.<name>``: only the ``.npy`` header is written, the rest is a hole), and each job
then writes its cutouts straight into its own rows (``fill_job``, one task per job on the build's
executor), from one of three sources:

- its FITS planes (a local input: the planes are memory-mapped again, only the candidate windows read);
- the part it wrote under ``.parts/`` while it was staged (a remote input, whose staged files are gone);
- the store being replaced, for a job whose inputs did not change since that store was written (its
  fingerprint is recorded in ``.parts/store-fingerprints.json``).

A job's done marker (``.parts/<jid>.store.json``) records the plan digest of its rows, so a killed build
resumes with the jobs not yet marked (the files are reused while the plan is unchanged). When every job is
marked, the files are renamed into ``cutouts/`` and the index and ``store.json`` written: the same files,
byte for byte, whatever the executor or number of workers, and (remote parts aside) every byte of the
store written once. The format is the one ``cutout_store.py`` describes.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.cutouts import VALID_SETS
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.provenance import derived_digest
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.pipeline.cutout_store import DTYPES
from rapid_croissant.pipeline.profiles import ALT_CENTRES, SIZE, alternative_rows, part_paths
from rapid_croissant.writers.atomic import atomic_path, write_text

log = logging.getLogger(__name__)

#: The store's file sets: (prefix, x column, y column).
CENTRES = (("", "x", "y"), *ALT_CENTRES)
FINGERPRINTS = "store-fingerprints.json"


@dataclass(frozen=True)
class Slice:
    """One job's rows ``start .. start + len(ids)`` of one file set and split, with their centres; ``old``
    names the rows of the same candidates in the store being replaced (split, rows) when that is the
    source."""

    prefix: str
    split: str
    start: int
    ids: tuple[str, ...]
    xy: np.ndarray
    old: tuple[str, np.ndarray] | None = None


@dataclass(frozen=True)
class JobSpec:
    """What one ``fill_job`` task writes: the job, its source (planes | part | old) and its slices."""

    jid: str
    source: str
    job_dir: str
    slices: tuple[Slice, ...]
    digest: str


def building(out_dir: Path, prefix: str, split: str) -> dict[str, Path]:
    """The files of one file set and split while the store is written (``.parts/store.*``)."""
    lay = Layout(out_dir)
    return {
        "cutouts": lay.parts_dir / f"store.{lay.cutouts(split, prefix).name}",
        "valid": lay.parts_dir / f"store.{lay.cutout_valid(split, prefix).name}",
        "plan": lay.parts_dir / f"store.{prefix}{split}.plan",
    }


def store_marker(out_dir: Path, jid: str) -> Path:
    return Layout(out_dir).parts_dir / f"{jid}.store.json"


def forget_job_rows(out_dir: Path, jid: str) -> None:
    """A job being (re)built: its done marker and parts of an earlier build no longer hold its rows."""
    store_marker(out_dir, jid).unlink(missing_ok=True)
    for prefix, _, _ in CENTRES:
        for path in part_paths(out_dir, jid, prefix).values():
            path.unlink(missing_ok=True)


def planned_files(out_dir: Path) -> list[Path]:
    """Every file the store assembly writes outside ``cutouts/`` (owned before it is written)."""
    files = [Layout(out_dir).parts_dir / FINGERPRINTS]
    return files + [
        p for pre, _, _ in CENTRES for s in schema.SPLITS for p in building(out_dir, pre, s).values()
    ]


def _digest(*parts) -> str:
    import xxhash

    h = xxhash.xxh3_128()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class _OldStore:
    """Where the candidates of the store being replaced are (one file set, every split)."""

    def __init__(self, out_dir: Path, prefix: str, dtype: str):
        self.where: dict[str, tuple[str, int]] = {}
        lay = Layout(out_dir)
        if _read_json(lay.cutout_meta_of(prefix)).get("dtype") != dtype:
            return
        for split in schema.SPLITS:
            index = lay.cutout_index(split, prefix)
            if index.is_file():
                ids = pd.read_parquet(index, columns=["candidate_id"])["candidate_id"].astype(str)
                self.where.update({c: (split, r) for r, c in enumerate(ids)})

    def locate(self, ids) -> tuple[str, np.ndarray] | None:
        """(split, rows) of ``ids`` in the old store, or None unless all are there in one split."""
        hits = [self.where.get(c) for c in ids]
        if not hits or None in hits or len({s for s, _ in hits}) != 1:
            return None
        return hits[0][0], np.array([r for _, r in hits], dtype=np.int64)


@dataclass(frozen=True)
class FilePlan:
    """The rows of one file set and split: the candidates' table rows (candidate_id, jid) and centres."""

    prefix: str
    split: str
    table: pd.DataFrame
    xy: np.ndarray
    digest: str

    @property
    def n(self) -> int:
        return len(self.table)


def _file_plans(out_dir: Path, dtype: str) -> list[FilePlan]:
    lay, plans = Layout(out_dir), []
    columns = ["candidate_id", "jid", "x", "y", *(c for _, x, y in ALT_CENTRES for c in (x, y))]
    for split in schema.SPLITS:
        cand = pd.read_parquet(lay.candidates_split(split), columns=columns)
        for prefix, xcol, ycol in CENTRES:
            rows = alternative_rows(cand, xcol, ycol) if prefix else np.arange(len(cand))
            table = cand[["candidate_id", "jid"]].iloc[rows].reset_index(drop=True)
            xy = np.ascontiguousarray(cand[[xcol, ycol]].to_numpy(float)[rows])
            ids, jids = table["candidate_id"].astype(str), table["jid"].astype(str)
            digest = _digest(dtype, prefix, split, len(table), *ids, *jids, xy.tobytes())
            plans.append(FilePlan(prefix, split, table, xy, digest))
    return plans


def _slices(plans: list[FilePlan]) -> dict[str, list[tuple[FilePlan, Slice]]]:
    """Per job, its rows in each file set (a job's candidates are consecutive rows of its split)."""
    out: dict[str, list[tuple[FilePlan, Slice]]] = {}
    for fp in plans:
        jids = fp.table["jid"].astype(str).to_numpy()
        ids = fp.table["candidate_id"].astype(str).to_numpy()
        for jid in pd.unique(jids):
            rows = np.flatnonzero(jids == jid)
            if rows[-1] - rows[0] + 1 != len(rows):
                raise RapidCroissantError(f"{jid}: its candidates are not consecutive in {fp.split}")
            s = Slice(fp.prefix, fp.split, int(rows[0]), tuple(ids[rows]), fp.xy[rows])
            out.setdefault(str(jid), []).append((fp, s))
    return out


def _job_spec(out_dir: Path, jid: str, slices, olds, recorded: dict, job_dirs: dict | None) -> JobSpec:
    """Where one job's cutouts come from: its part, the old store (inputs unchanged) or its planes."""
    lay = Layout(out_dir)
    fingerprint = _read_json(lay.part_job(jid)).get("fingerprint")
    digest = _digest(jid, *(fp.digest for fp, _ in slices))
    plain = tuple(s for _, s in slices)
    if all(part_paths(out_dir, jid, s.prefix)["cutouts"].is_file() for s in plain):
        return JobSpec(jid, "part", "", plain, digest)
    if fingerprint and recorded.get(jid) == fingerprint:
        found = [olds[s.prefix].locate(s.ids) for s in plain]
        if all(f is not None for f in found):
            pairs = zip(plain, found, strict=True)
            old = tuple(Slice(s.prefix, s.split, s.start, s.ids, s.xy, f) for s, f in pairs)
            return JobSpec(jid, "old", "", old, digest)
    if job_dirs is not None and jid in job_dirs:
        return JobSpec(jid, "planes", str(job_dirs[jid]), plain, digest)
    raise RapidCroissantError(
        f"{jid}: its cutouts are neither in .parts/ nor in the cutout store: rebuild with --overwrite"
    )


def plan_jobs(out_dir: Path, plans: list[FilePlan], dtype: str, job_dirs: dict | None) -> list[JobSpec]:
    recorded = _read_json(Layout(out_dir).parts_dir / FINGERPRINTS)
    olds = {prefix: _OldStore(out_dir, prefix, dtype) for prefix, _, _ in CENTRES}
    per_job = _slices(plans)
    return [_job_spec(out_dir, jid, s, olds, recorded, job_dirs) for jid, s in per_job.items()]


def _unchanged(out_dir: Path, plans: list[FilePlan], specs: list[JobSpec]) -> bool:
    """True when the store in place already holds every row where the plan puts it (a no-op re-run)."""
    if any(spec.source != "old" for spec in specs):
        return False
    for s in (s for spec in specs for s in spec.slices):
        split, rows = s.old
        if split != s.split or not np.array_equal(rows, np.arange(s.start, s.start + len(s.ids))):
            return False
    lay = Layout(out_dir)
    return all(
        _read_json(lay.cutout_meta_of(fp.prefix)).get("counts", {}).get(fp.split) == fp.n for fp in plans
    )


def _prepare(out_dir: Path, fp: FilePlan, dtype: str) -> None:
    """The file set's store files at full size under .parts/ (reused when made for the same plan)."""
    paths = building(out_dir, fp.prefix, fp.split)
    if paths["plan"].is_file() and paths["plan"].read_text() == fp.digest:
        if paths["cutouts"].is_file() and paths["valid"].is_file():
            return
    paths["plan"].unlink(missing_ok=True)
    for jid in pd.unique(fp.table["jid"].astype(str)):  # their rows are in the files being replaced
        store_marker(out_dir, jid).unlink(missing_ok=True)
    shapes = {
        "cutouts": (DTYPES[dtype][0], (fp.n, len(schema.CHANNELS), SIZE, SIZE)),
        "valid": (np.uint8, (fp.n, len(VALID_SETS), SIZE, SIZE // 8)),
    }
    for key, (np_dtype, shape) in shapes.items():  # the header, then a hole up to the full size
        del_me = np.lib.format.open_memmap(paths[key], mode="w+", dtype=np_dtype, shape=shape)
        del del_me
    write_text(paths["plan"], fp.digest)


def _from_planes(spec: JobSpec, out_dir: Path, scale: float):
    from rapid_croissant import io
    from rapid_croissant.pipeline.profiles import candidate_cutouts, frame_limits, open_planes

    job = io.open_job(spec.job_dir)
    planes, limits = open_planes(job), frame_limits(out_dir, spec.jid)
    psf_path = Layout(out_dir).psf(spec.jid)
    psf = np.load(psf_path) if psf_path.is_file() else None

    def fill(s: Slice, cuts, valid) -> None:
        candidate_cutouts(planes, limits, psf, job.shape, s.xy[:, 0], s.xy[:, 1], cuts, valid, scale=scale)

    return fill


def _from_part(spec: JobSpec, out_dir: Path, scale: float):
    def fill(s: Slice, cuts, valid) -> None:
        paths = part_paths(out_dir, spec.jid, s.prefix)
        ids = pd.read_parquet(paths["index"])["candidate_id"].astype(str).tolist()
        if ids != list(s.ids):
            raise RapidCroissantError(
                f"{spec.jid}: cutout part out of step with its candidates: rebuild with --overwrite"
            )
        cuts[:] = np.load(paths["cutouts"], mmap_mode="r")
        valid[:] = np.load(paths["valid"], mmap_mode="r")

    return fill


def _from_old(spec: JobSpec, out_dir: Path, scale: float):
    lay = Layout(out_dir)

    def fill(s: Slice, cuts, valid) -> None:
        split, rows = s.old
        old_c = np.load(lay.cutouts(split, s.prefix), mmap_mode="r")
        old_v = np.load(lay.cutout_valid(split, s.prefix), mmap_mode="r")
        for k in range(0, len(rows), 1024):
            cuts[k : k + 1024], valid[k : k + 1024] = old_c[rows[k : k + 1024]], old_v[rows[k : k + 1024]]

    return fill


_SOURCES = {"planes": _from_planes, "part": _from_part, "old": _from_old}


def fill_job(spec: JobSpec, out_dir: str | Path, dtype: str, *, flush: bool = False) -> str:
    """Write one job's rows of the store files (every file set); returns its source, or "kept" when its
    done marker says they are written. ``flush``: msync before the marker (another machine reads them)."""
    out_dir = Path(out_dir)
    marker = store_marker(out_dir, spec.jid)
    if _read_json(marker).get("plan") == spec.digest:
        return "kept"
    fill = _SOURCES[spec.source](spec, out_dir, DTYPES[dtype][1])
    for s in spec.slices:
        paths = building(out_dir, s.prefix, s.split)
        cuts = np.load(paths["cutouts"], mmap_mode="r+")
        valid = np.load(paths["valid"], mmap_mode="r+")
        stop = s.start + len(s.ids)
        fill(s, cuts[s.start : stop], valid[s.start : stop])
        if flush:
            cuts.flush()
            valid.flush()
        del cuts, valid
    write_text(marker, json.dumps({"plan": spec.digest}))
    return spec.source


def _finalize(out_dir: Path, plans: list[FilePlan], dtype: str) -> dict:
    """Rename the written files into cutouts/, then write the indexes and store.json of each file set."""
    lay = Layout(out_dir)
    for prefix, _, _ in CENTRES:  # no store.json while its files are being swapped
        lay.cutout_meta_of(prefix).unlink(missing_ok=True)
    lay.cutouts_dir.mkdir(exist_ok=True)
    for fp in plans:
        paths = building(out_dir, fp.prefix, fp.split)
        os.replace(paths["cutouts"], lay.cutouts(fp.split, fp.prefix))
        os.replace(paths["valid"], lay.cutout_valid(fp.split, fp.prefix))
        index = fp.table.assign(row=np.arange(fp.n))
        with atomic_path(lay.cutout_index(fp.split, fp.prefix)) as tmp:
            index.to_parquet(tmp, index=False)
    return {prefix or "main": _write_meta(out_dir, plans, prefix, x, y, dtype) for prefix, x, y in CENTRES}


def _write_meta(out_dir: Path, plans: list[FilePlan], prefix: str, xcol: str, ycol: str, dtype: str) -> dict:
    meta = {
        "dtype": dtype,
        "scale": DTYPES[dtype][1],
        "channels": list(schema.CHANNELS),
        "size": SIZE,
        "position_columns": [xcol, ycol],
        "counts": {fp.split: fp.n for fp in plans if fp.prefix == prefix},
        "made_from": derived_digest(out_dir),  # the candidate tables it was cut for (stale check)
    }
    write_text(Layout(out_dir).cutout_meta_of(prefix), json.dumps(meta, indent=1))
    return meta


def _clean(out_dir: Path, plans: list[FilePlan]) -> None:
    """Record the jobs' fingerprints the store now holds; remove plans, done markers and parts."""
    lay = Layout(out_dir)
    jobs = pd.read_parquet(lay.jobs_parquet, columns=["jid"])["jid"].astype(str)
    held = {j for fp in plans for j in fp.table["jid"].astype(str)}
    prints = {j: _read_json(lay.part_job(j)).get("fingerprint") for j in sorted(held)}
    write_text(lay.parts_dir / FINGERPRINTS, json.dumps(prints, indent=1, sort_keys=True))
    for fp in plans:
        building(out_dir, fp.prefix, fp.split)["plan"].unlink(missing_ok=True)
    for jid in jobs:
        store_marker(out_dir, jid).unlink(missing_ok=True)
        for prefix, _, _ in CENTRES:
            for path in part_paths(out_dir, jid, prefix).values():
                path.unlink(missing_ok=True)


def assemble_cutout_store(out_dir: str | Path, *, dtype: str, job_dirs: dict | None, run) -> dict:
    """Write the store of a cutouts-profile build (same files as ``--cutouts``); returns store.json of each
    file set. ``job_dirs``: jid -> local job folder (None for a remote input); ``run(specs)`` runs
    ``fill_job`` for every spec (on the build's executor) and returns when all are done."""
    out_dir = Path(out_dir)
    plans = _file_plans(out_dir, dtype)
    specs = plan_jobs(out_dir, plans, dtype, job_dirs)
    lay = Layout(out_dir)
    if _unchanged(out_dir, plans, specs):
        made_from = derived_digest(out_dir)
        metas = {}
        for prefix, x, y in CENTRES:
            meta = _read_json(lay.cutout_meta_of(prefix))
            metas[prefix or "main"] = (
                meta
                if meta.get("made_from") == made_from
                else _write_meta(out_dir, plans, prefix, x, y, dtype)
            )
        _clean(out_dir, plans)
        log.info("cutout store unchanged (%s): %s", dtype, metas["main"]["counts"])
        return metas
    for fp in plans:
        _prepare(out_dir, fp, dtype)
    sources = run(specs)
    metas = _finalize(out_dir, plans, dtype)
    _clean(out_dir, plans)
    log.info("cutout store (%s): %s; rows from %s", dtype, metas["main"]["counts"], _tally(sources))
    return metas


def _tally(sources) -> str:
    counts: dict[str, int] = {}
    for s in sources:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{k}: {v} job(s)" for k, v in sorted(counts.items())) or "no job"
