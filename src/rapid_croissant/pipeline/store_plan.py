"""The plan of a cutout-first build's store (``store_assembly.py`` writes it): which rows of which store
file each job fills, from which source, and the names of the files while they are written.

A job's source is its FITS planes (a local input), the part it wrote under ``.parts/`` while staged (a
remote input), or the store being replaced (a job whose input fingerprint is the one recorded when that
store was written, ``.parts/store-fingerprints.json``). Plans carry digests: a done marker or a half-written
file is reused only for the very same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.pipeline.profiles import ALT_CENTRES, alternative_rows, part_paths

#: The store's file sets: (prefix, x column, y column).
CENTRES = (("", "x", "y"), *ALT_CENTRES)
FINGERPRINTS = "store-fingerprints.json"


class StoreError(RapidCroissantError):
    """A job's rows of the cutout store could not be written (names the job and the cause)."""


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


def read_json(path: Path) -> dict:
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
        if read_json(lay.cutout_meta_of(prefix)).get("dtype") != dtype:
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


def file_plans(out_dir: Path, dtype: str) -> list[FilePlan]:
    lay, plans = Layout(out_dir), []
    columns = ["candidate_id", "jid", "x", "y", *(c for _, x, y in ALT_CENTRES for c in (x, y))]
    for split in schema.SPLITS:
        cand = pd.read_parquet(lay.candidates_split(split), columns=columns)
        for prefix, xcol, ycol in CENTRES:
            rows = alternative_rows(cand, xcol, ycol) if prefix else np.arange(len(cand))
            table = cand[["candidate_id", "jid"]].iloc[rows].reset_index(drop=True)
            xy = np.ascontiguousarray(cand[[xcol, ycol]].to_numpy(float)[rows])
            ids, jids = table["candidate_id"].astype(str), table["jid"].astype(str)
            digest = _digest(dtype, prefix, split, len(table), "\n".join(ids), "\n".join(jids), xy.tobytes())
            plans.append(FilePlan(prefix, split, table, xy, digest))
    return plans


def _slices(plans: list[FilePlan]) -> dict[str, list[tuple[FilePlan, Slice]]]:
    """Per job, its rows in each file set (a job's candidates are consecutive rows of its split)."""
    out: dict[str, list[tuple[FilePlan, Slice]]] = {}
    for fp in plans:
        jids = fp.table["jid"].astype(str).to_numpy()
        ids = fp.table["candidate_id"].astype(str).to_numpy()
        starts = np.flatnonzero(np.r_[True, jids[1:] != jids[:-1]]).tolist() if len(jids) else []
        for a, b in zip(starts, [*starts[1:], len(jids)][: len(starts)], strict=True):
            jid = str(jids[a])
            if any(f is fp for f, _ in out.get(jid, [])):
                raise RapidCroissantError(f"{jid}: its candidates are not consecutive in {fp.split}")
            s = Slice(fp.prefix, fp.split, int(a), tuple(ids[a:b]), fp.xy[a:b])
            out.setdefault(jid, []).append((fp, s))
    return out


def _job_spec(out_dir: Path, jid: str, slices, olds, recorded: dict, job_dirs: dict | None) -> JobSpec:
    """Where one job's cutouts come from: its part, the old store (inputs unchanged) or its planes."""
    lay = Layout(out_dir)
    fingerprint = read_json(lay.part_job(jid)).get("fingerprint")
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
    recorded = read_json(Layout(out_dir).parts_dir / FINGERPRINTS)
    olds = {prefix: _OldStore(out_dir, prefix, dtype) for prefix, _, _ in CENTRES}
    per_job = _slices(plans)
    return [_job_spec(out_dir, jid, s, olds, recorded, job_dirs) for jid, s in per_job.items()]


def unchanged(out_dir: Path, plans: list[FilePlan], specs: list[JobSpec]) -> bool:
    """True when the store in place already holds every row where the plan puts it (a no-op re-run)."""
    if any(spec.source != "old" for spec in specs):
        return False
    for s in (s for spec in specs for s in spec.slices):
        split, rows = s.old
        if split != s.split or not np.array_equal(rows, np.arange(s.start, s.start + len(s.ids))):
            return False
    lay = Layout(out_dir)
    return all(
        read_json(lay.cutout_meta_of(fp.prefix)).get("counts", {}).get(fp.split) == fp.n for fp in plans
    )
