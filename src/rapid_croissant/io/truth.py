"""Find and read the truth files of a RAPID job: the fake-source injection list and the OpenUniverse index.

Both store galsim image positions, which are 1-based (rapid_formats.md §5.3); we return 0-based ``x, y``
by subtracting ``origin`` (a parameter, because the origin should be checked on real data). Injected
fluxes are counts in the raw exposure, so their AB magnitude is -2.5 log10(flux) + ZPTMAG + ZP_band (§5.1);
OU ``mag`` is AB - ZPTMAG (§5.2).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats
from rapid_croissant.errors import JobError
from rapid_croissant.io.checks import check_field_counts, photutils_header_fields
from rapid_croissant.io.paths import usable_file
from rapid_croissant.io.read_once import once

logger = logging.getLogger(__name__)

_OU_FLOATS = ("ra", "dec", "x", "y", "realized_flux", "flux", "mag")


def find_truth_files(job_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """(injection lists, OU index files) directly in ``job_dir``; stray copies in subfolders are ignored."""
    files = sorted(p for p in Path(job_dir).iterdir() if usable_file(p))
    injections = [p for p in files if formats.INJECTION_PATTERN.match(p.name)]
    ou_index = [p for p in files if formats.OU_INDEX_PATTERN.match(p.name)]
    return injections, ou_index


def _owner(path: Path, job: str | Path | None) -> str | Path:
    return job if job is not None else path.parent


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


@once
def _read_table(path: Path, owner, *, n_fields: int | None = None, **read_csv_kwargs) -> pd.DataFrame:
    """A whitespace table, after checking that every row has the fields its header names."""
    if not usable_file(path):
        raise JobError(owner, path, "file is missing (or not a regular file inside the job folder)")
    expected = n_fields if n_fields is not None else photutils_header_fields(path, owner=owner)
    check_field_counts(path, expected, owner=owner)
    try:
        return pd.read_csv(path, sep=r"\s+", **read_csv_kwargs)
    except pd.errors.EmptyDataError as exc:
        if "names" in read_csv_kwargs:  # a header without rows
            return pd.DataFrame(columns=read_csv_kwargs["names"])
        raise JobError(owner, path, "file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise JobError(owner, path, f"unreadable truth file ({exc or type(exc).__name__})") from exc


def _numeric(df: pd.DataFrame, columns, path: Path, owner, *, finite=()) -> pd.DataFrame:
    """``columns`` as float64; a non-numeric value, or a non-finite one in ``finite``, refuses the file."""
    try:
        out = df.assign(**{c: pd.to_numeric(df[c], errors="raise").astype("float64") for c in columns})
    except (ValueError, TypeError) as exc:
        raise JobError(owner, path, f"non-numeric value ({exc})") from exc
    for c in finite:
        bad = ~np.isfinite(out[c].to_numpy(float))
        if bad.any():
            raise JobError(
                owner, path, f"{int(bad.sum())} row(s) with a non-finite {c} (first: row {bad.argmax()})"
            )
    return out


def read_injections(
    path: str | Path,
    *,
    zptmag: float | None,
    filter_name: str | None,
    origin: float = formats.DEFAULT_TRUTH_ORIGIN,
    job: str | Path | None = None,
) -> pd.DataFrame:
    """Injected fakes: ``row`` (the only identifier), 0-based ``x, y``, raw-exposure ``flux``, ``mag_ab``."""
    path = Path(path)
    owner = _owner(path, job)
    raw = _read_table(path, owner)
    missing = [c for c in formats.INJECTION_COLUMNS if c not in raw.columns]
    if missing:
        raise JobError(owner, path, f"missing column(s): {', '.join(missing)}")
    xcol, ycol, fluxcol = formats.INJECTION_COLUMNS
    raw = _numeric(raw, formats.INJECTION_COLUMNS, path, owner, finite=(xcol, ycol))
    out = pd.DataFrame(
        {
            "row": np.arange(len(raw), dtype="int64"),
            "x": raw[xcol] - origin,
            "y": raw[ycol] - origin,
            "flux": raw[fluxcol],
        }
    )
    zp_band = formats.ZP_BAND.get(filter_name) if filter_name else None
    if filter_name and zp_band is None:
        logger.warning("%s: filter %r has no AB zero point; mag_ab left NaN", path.name, filter_name)
    out["mag_ab"] = np.nan
    if _known(zptmag) and zp_band is not None:
        positive = out["flux"] > 0
        # AB = -2.5 log10(counts) + ZPTMAG + ZP_band (§5.1); non-positive fluxes have no magnitude
        out.loc[positive, "mag_ab"] = -2.5 * np.log10(out.loc[positive, "flux"]) + zptmag + zp_band
    return out


def _ou_header(path: Path, owner) -> list[str]:
    """Column names from galsim's '# name name ...' first line."""
    try:
        with path.open() as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(owner, path, f"unreadable truth file ({exc})") from exc
    if not first.startswith("#"):
        raise JobError(owner, path, "first line is not a '#' header of column names")
    names = first.lstrip("#").split()
    missing = [c for c in formats.OU_COLUMNS if c not in names]
    if missing:
        raise JobError(owner, path, f"missing column(s): {', '.join(missing)}")
    return names


def read_ou_index(
    path: str | Path,
    *,
    zptmag: float | None,
    origin: float = formats.DEFAULT_TRUTH_ORIGIN,
    transients_only: bool = True,
    job: str | Path | None = None,
) -> pd.DataFrame:
    """OpenUniverse truth rows with 0-based ``x, y``, ``mag`` as in the file and ``mag_ab = mag + ZPTMAG``."""
    path = Path(path)
    owner = _owner(path, job)
    if not usable_file(path):
        raise JobError(owner, path, "file is missing (or not a regular file inside the job folder)")
    names = _ou_header(path, owner)
    text = {"object_id": str, "obj_type": str}
    raw = _read_table(path, owner, n_fields=len(names), skiprows=1, header=None, names=names, dtype=text)
    if raw[names[-1]].isna().any():
        raise JobError(
            owner, path, f"{int(raw[names[-1]].isna().sum())} row(s) have fewer than {len(names)} fields"
        )
    raw = raw[list(formats.OU_COLUMNS)]
    if transients_only:
        raw = raw[raw["obj_type"] == formats.OU_TRANSIENT_TYPE]
    out = _numeric(raw, _OU_FLOATS, path, owner, finite=("x", "y"))
    try:
        out["object_id"] = out["object_id"].astype("int64")
    except (ValueError, TypeError) as exc:
        raise JobError(owner, path, f"object_id is not an integer ({exc})") from exc
    out["x"] -= origin  # galsim image_pos, origin 1 (§5.3)
    out["y"] -= origin
    out["mag_ab"] = out["mag"] + zptmag if _known(zptmag) else np.nan  # OU mag is AB - ZPTMAG (§5.2)
    out["obj_type"] = out["obj_type"].astype(str)
    columns = [*formats.OU_COLUMNS[:-1], "mag_ab", formats.OU_COLUMNS[-1]]
    return out[columns].reset_index(drop=True)
