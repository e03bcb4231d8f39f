"""Checks of a dataset that must hold whatever the files contain: ``validate`` never crashes on them.

- ``guarded`` runs one check and turns any exception into a problem naming the file (a truncated Parquet,
  a manifest with the wrong columns, a croissant.json that is a list) instead of a traceback;
- ``safe_path`` resolves a path written in croissant.json or a manifest and refuses one that leaves the
  dataset root (absolute, ``../``, or through a symlink): it is never read or hashed;
- the CSV tables and the per-split Parquet files are compared with the Parquet tables by content;
- derived products are checked against what they were made from (the cutout store).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import layout as L

log = logging.getLogger(__name__)

Add = Callable[[str, str, str], None]


def guarded(add: Add, file: str, fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None with an ``unreadable`` problem naming ``file`` when it raises."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - every failure of a check is a problem to report, not a crash
        detail = str(err).splitlines()[0][:300] if str(err) else ""
        add("unreadable", file, f"{type(err).__name__}: {detail}")
        log.debug("check of %s failed", file, exc_info=True)
        return None


def safe_path(root: Path, relative, add: Add, source: str) -> Path | None:
    """``root / relative`` when it stays inside ``root`` once resolved; else None and an ``unsafe-path``."""
    if not isinstance(relative, str) or not relative:
        add("unsafe-path", source, f"path {relative!r} is not a relative file path")
        return None
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        add("unsafe-path", source, f"path {relative!r} leaves the dataset folder: not read")
        return None
    path = root / rel
    try:
        path.resolve(strict=False).relative_to(root.resolve(strict=False))
    except (ValueError, OSError, RuntimeError):
        add("unsafe-path", source, f"path {relative!r} resolves outside the dataset folder: not read")
        return None
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """Why two tables differ in content (after CSV round-trip typing), or None."""
    if list(a.columns) != list(b.columns):
        return "columns differ"
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(float, na_value=np.nan), y.to_numpy(float, na_value=np.nan)
            if not np.allclose(xv, yv, rtol=1e-9, atol=0, equal_nan=True):
                return f"column {col} differs"
        else:
            xs = x.astype("string").fillna("").str.lower()
            ys = y.astype("string").fillna("").str.lower()
            if not (xs.to_numpy() == ys.to_numpy()).all():
                return f"column {col} differs"
    return None


def check_csv_matches_parquet(root: Path, add: Add) -> None:
    """candidates.csv, combined_truth_table.csv and jobs.csv hold the same values as their Parquet tables."""
    for csv, parquet in (
        (L.CANDIDATES_CSV, L.CANDIDATES_PARQUET),
        (L.TRUTH_CSV, L.TRUTH_PARQUET),
        (L.JOBS_CSV, L.JOBS_PARQUET),
    ):
        if not (root / csv).is_file() or not (root / parquet).is_file():
            continue
        a = guarded(
            add, csv, pd.read_csv, root / csv, keep_default_na=False, na_values=[""], low_memory=False
        )
        b = guarded(add, parquet, pd.read_parquet, root / parquet)
        if a is None or b is None:
            continue
        if why := _same(a, b):
            add("content", csv, f"differs from {parquet}: {why}")


def check_split_contents(root: Path, cands: pd.DataFrame, add: Add) -> None:
    """Each per-split file holds the very rows (all columns) of its split in candidates.parquet."""
    if "split" not in cands or "candidate_id" not in cands:
        return
    for split in L.SPLITS:
        name = L.candidates_split_name(split)
        if not (root / name).is_file():
            continue
        part = guarded(add, name, pd.read_parquet, root / name)
        if part is None or "candidate_id" not in part:
            continue
        expected = cands[cands["split"] == split]
        if set(part["candidate_id"]) != set(expected["candidate_id"]):
            continue  # reported by the key check
        expected = expected.set_index("candidate_id").loc[list(part["candidate_id"])].reset_index()
        expected = expected[[c for c in part.columns if c in expected.columns]]
        if why := _same(part[list(expected.columns)], expected):
            add("content", name, f"differs from the {split} rows of {L.CANDIDATES_PARQUET}: {why}")


def check_cutout_store(root: Path, add: Add) -> None:
    """A cutout store must have been made from the published candidate tables."""
    from rapid_croissant.dataset.provenance import derived_digest

    meta_path = L.Layout(root).cutout_meta
    if not meta_path.is_file():
        return
    meta = guarded(add, meta_path.relative_to(root).as_posix(), lambda: json.loads(meta_path.read_text()))
    if not isinstance(meta, dict):
        if meta is not None:
            add("stale", meta_path.relative_to(root).as_posix(), "not a JSON object")
        return
    if meta.get("made_from") != derived_digest(root):
        add(
            "stale",
            meta_path.relative_to(root).as_posix(),
            "the cutout store was made from other candidate tables (rebuild with `build --cutouts`)",
        )


def require_inside(root: str | Path, path: str | Path) -> Path:
    """``path`` if it resolves inside the dataset ``root``; a ConfigError naming it otherwise (never read)."""
    from rapid_croissant.errors import ConfigError

    path = Path(path)
    try:
        path.resolve(strict=False).relative_to(Path(root).resolve(strict=False))
    except (ValueError, OSError, RuntimeError):
        raise ConfigError(f"{path}: resolves outside the dataset folder {root}: refused") from None
    return path
