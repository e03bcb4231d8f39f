"""Read the photutils (finder + PSF-fit) and SExtractor catalogs of a RAPID job; write SExtractor catalogs.

photutils files are astropy "basic" tables (rapid_formats.md §3.1); columns are mapped by name onto the
photutils-2 spellings, so both product eras read alike (§3.2). SExtractor files are ASCII_HEAD with
1-based ``*_IMAGE`` positions, kept as in the file (§4). An absent or row-less catalog means "no
detections": a warning and an empty frame, never an error.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pandas as pd

from rapid_croissant import formats
from rapid_croissant.errors import InconsistentInputWarning, JobError, NoDetectionsWarning
from rapid_croissant.io.checks import (
    check_field_counts,
    check_sextractor_rows,
    id_problems,
    photutils_header_fields,
)
from rapid_croissant.io.paths import usable_file
from rapid_croissant.io.read_once import once

logger = logging.getLogger(__name__)

_INT_COLUMNS = ("id", "flags", "NUMBER", "FLAGS")


def _internal(names) -> tuple[str, ...]:
    return tuple(formats.PHOTUTILS_RENAME.get(n, n) for n in names)


#: psfcat columns we keep (internal names, 2026 order, plus any 2025-only ones).
_PSFCAT_KNOWN = tuple(
    dict.fromkeys(_internal(formats.PSFCAT_COLUMNS_2026) + _internal(formats.PSFCAT_COLUMNS_2025))
)
_PHOTUTILS_ORDER = tuple(dict.fromkeys(formats.FINDER_REQUIRED + _PSFCAT_KNOWN))
_VECTOR_LENGTHS = {
    m[1]: int(m[2]) for p in formats.SEXTRACTOR_PARAMETERS if (m := re.fullmatch(r"(\w+)\((\d+)\)", p))
}


def _owner(path: Path, job: str | Path | None) -> Path:
    return Path(job) if job is not None else path.parent


def _warn_no_detections(owner: Path, path: Path, what: str) -> None:
    warnings.warn(
        NoDetectionsWarning(f"{owner.name}/{path.name}: {what}; read as no detections"), stacklevel=3
    )


def _empty_frame(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in _INT_COLUMNS else "float64") for c in columns})


def _require(columns, required, path: Path, owner: Path) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise JobError(owner, path, f"missing required column(s): {', '.join(missing)}")


def _typed(df: pd.DataFrame, path: Path, owner: Path) -> pd.DataFrame:
    """Integer ids and flags as int64, everything else float64; a non-numeric value is an error."""
    out = {}
    for name in df.columns:
        try:
            values = pd.to_numeric(df[name], errors="raise")
        except (ValueError, TypeError) as exc:
            raise JobError(owner, path, f"column {name} is not numeric ({exc})") from exc
        if name in _INT_COLUMNS:
            if values.isna().any() or (values % 1 != 0).any():
                raise JobError(owner, path, f"column {name} must hold integers")
            out[name] = values.astype("int64")
        else:
            out[name] = values.astype("float64")
    return pd.DataFrame(out, index=df.index)


def _load_photutils(path: Path, required, keep, owner: Path) -> pd.DataFrame | None:
    """One photutils table with internal names; None when absent, an empty frame when it has no rows."""
    if not usable_file(path):
        return None
    check_field_counts(path, photutils_header_fields(path, owner=owner), owner=owner)
    try:
        raw = pd.read_csv(path, sep=r"\s+")  # astropy "basic": one unprefixed header line, 'nan' for NaN
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise JobError(owner, path, f"unreadable catalog ({exc})") from exc
    raw = raw.rename(columns=formats.PHOTUTILS_RENAME)
    _require(raw.columns, required, path, owner)
    df = _typed(raw[[c for c in keep if c in raw.columns]], path, owner)
    if (n_dup := int(df["id"].duplicated().sum())) > 0:
        raise JobError(owner, path, f"{n_dup} duplicated id(s)")
    return df


def _join_on_id(finder: pd.DataFrame, psfcat: pd.DataFrame, owner: Path, psfcat_path: Path) -> pd.DataFrame:
    """Inner join on ``id`` (finder and psfcat share ids within one algorithm, §3.3); psfcat wins clashes."""
    problem, fatal = id_problems(finder["id"], psfcat["id"])
    if fatal:
        raise JobError(owner, psfcat_path, problem)
    if problem:
        warnings.warn(InconsistentInputWarning(f"{owner.name}/{psfcat_path.name}: {problem}"), stacklevel=3)
    finder_cols = [c for c in finder.columns if c == "id" or c not in psfcat.columns]
    merged = psfcat.merge(finder[finder_cols], on="id", how="inner", validate="one_to_one")
    order = [c for c in _PHOTUTILS_ORDER if c in merged.columns]
    return merged[order].sort_values("id", ignore_index=True)


@once
def read_photutils_catalog(
    finder_path: str | Path, psfcat_path: str | Path, *, job: str | Path | None = None
) -> pd.DataFrame:
    """Finder and PSF-fit catalogs of one algorithm joined on ``id``: a row per detection, internal names."""
    finder_path, psfcat_path = Path(finder_path), Path(psfcat_path)
    owner = _owner(finder_path, job)
    finder = _load_photutils(finder_path, formats.FINDER_REQUIRED, formats.FINDER_REQUIRED, owner)
    psfcat = _load_photutils(psfcat_path, formats.PSFCAT_REQUIRED, _PSFCAT_KNOWN, owner)
    usable = True
    for path, table in ((finder_path, finder), (psfcat_path, psfcat)):
        if table is None or table.empty:
            _warn_no_detections(owner, path, "catalog is absent" if table is None else "catalog has no rows")
            usable = False
    if not usable:
        return _empty_frame(dict.fromkeys(formats.FINDER_REQUIRED + formats.PSFCAT_REQUIRED))
    return _join_on_id(finder, psfcat, owner, psfcat_path)


def _schema_vector_names(columns) -> dict[str, str]:
    """astropy names a vector NAME, NAME_1, ...; formats.sextractor_columns() names it NAME_1, NAME_2, ..."""
    mapping = {}
    for name in _VECTOR_LENGTHS:
        if name in columns:
            mapping[name] = f"{name}_1"
            k = 1
            while f"{name}_{k}" in columns:
                mapping[f"{name}_{k}"] = f"{name}_{k + 1}"
                k += 1
    return mapping


def read_sextractor_catalog(path: str | Path, *, job: str | Path | None = None) -> pd.DataFrame:
    """A SExtractor ASCII_HEAD catalog; ``*_IMAGE`` positions stay 1-based (formats.SEXTRACTOR_ORIGIN)."""
    path = Path(path)
    owner = _owner(path, job)
    if not usable_file(path) or path.stat().st_size == 0:
        _warn_no_detections(owner, path, "catalog is absent" if not usable_file(path) else "catalog is empty")
        return _empty_frame(formats.SEXTRACTOR_REQUIRED)
    check_sextractor_rows(path, _VECTOR_LENGTHS, owner=owner)
    from astropy.io import ascii  # only here: importing it costs 0.27 s of every build's start-up
    from astropy.io.ascii import InconsistentTableError

    try:
        table = ascii.read(path, format="sextractor", guess=False)
    except (InconsistentTableError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise JobError(owner, path, f"unreadable SExtractor catalog ({exc})") from exc
    df = table.to_pandas()
    df = df.rename(columns=_schema_vector_names(df.columns))
    _require(df.columns, formats.SEXTRACTOR_REQUIRED, path, owner)
    df = _typed(df, path, owner)
    if df.empty:
        _warn_no_detections(owner, path, "catalog has no rows")
    return df


# --------------------------------------------------------------------------------------------------
# Writing (used by the simulator) and cheap checks (used by check_job)
# --------------------------------------------------------------------------------------------------

#: Header description and unit of the parameters a simulator is likely to fill; others get their name only.
_SEXTRACTOR_DESCRIPTIONS = {
    "NUMBER": ("Running object number", ""),
    "FLAGS": ("Extraction flags", ""),
    "XWIN_IMAGE": ("Windowed position estimate along x", "pixel"),
    "YWIN_IMAGE": ("Windowed position estimate along y", "pixel"),
    "X_IMAGE": ("Object position along x", "pixel"),
    "Y_IMAGE": ("Object position along y", "pixel"),
    "ALPHAWIN_J2000": ("Windowed right ascension (J2000)", "deg"),
    "DELTAWIN_J2000": ("Windowed declination (J2000)", "deg"),
    "MAG_AUTO": ("Kron-like elliptical aperture magnitude", "mag"),
    "MAGERR_AUTO": ("RMS error for AUTO magnitude", "mag"),
    "FLUX_AUTO": ("Flux within a Kron-like elliptical aperture", "count"),
    "FLUXERR_AUTO": ("RMS error for AUTO flux", "count"),
    "MAG_APER": ("Fixed aperture magnitude vector", "mag"),
    "MAGERR_APER": ("RMS error vector for fixed aperture mag.", "mag"),
    "FLUX_APER": ("Flux vector within fixed circular aperture(s)", "count"),
    "FLUXERR_APER": ("RMS error vector for aperture flux(es)", "count"),
    "FLUX_RADIUS": ("Fraction-of-light radii", "pixel"),
    "FWHM_IMAGE": ("FWHM assuming a gaussian core", "pixel"),
    "ELONGATION": ("A_IMAGE/B_IMAGE", ""),
    "CLASS_STAR": ("S/G classifier output", ""),
}


def _sextractor_header(columns: list[str]) -> list[str]:
    """One '#   n NAME description [unit]' line per parameter; a vector gets one line at its first column."""
    lines = []
    for number, column in enumerate(columns, start=1):
        base, _, k = column.rpartition("_")
        if base in _VECTOR_LENGTHS and k.isdigit():
            if int(k) > 1:
                if columns[number - 2] != f"{base}_{int(k) - 1}":
                    raise ValueError(
                        f"write_sextractor_catalog: {column} needs {base}_1..{base}_{int(k) - 1} before it"
                    )
                continue
            column = base
        description, unit = _SEXTRACTOR_DESCRIPTIONS.get(column, (column, ""))
        line = f"#{number:4d} {column:<22} {description}"
        lines.append(f"{line:<88} [{unit}]" if unit else line)
    return lines


def write_sextractor_catalog(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` (a subset of formats.sextractor_columns()) as a SExtractor ASCII_HEAD catalog."""
    known = formats.sextractor_columns()
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        raise ValueError(f"write_sextractor_catalog: columns not in formats.sextractor_columns(): {unknown}")
    columns = [c for c in known if c in df.columns]
    header = "\n".join(_sextractor_header(columns)) + "\n"
    body = df[columns].to_csv(sep=" ", header=False, index=False, na_rep="nan", lineterminator="\n")
    Path(path).write_text(header + body)


def _head(path: Path) -> tuple[list[str], bool]:
    """Header lines (leading '#' lines, or the first line) and whether a data row follows (reads little)."""
    header, has_rows = [], False
    with path.open() as fh:
        for line in fh:
            if not line.strip():
                continue
            if line.startswith("#") or not header:
                header.append(line)
                continue
            has_rows = True
            break
    return header, has_rows


def peek_catalog(path: str | Path, *, kind: str, job: str | Path | None = None) -> bool | None:
    """Cheap check of a catalog: None when absent, False when without rows, True when it has rows.

    ``kind`` is 'finder', 'psfcat' or 'sextractor'. Raises JobError when required columns are missing.
    """
    path = Path(path)
    if not usable_file(path):
        return None
    owner = _owner(path, job)
    if kind == "sextractor":
        check_sextractor_rows(path, _VECTOR_LENGTHS, owner=owner)
    else:
        check_field_counts(path, photutils_header_fields(path, owner=owner), owner=owner)
    try:
        header, has_rows = _head(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(owner, path, f"unreadable catalog ({exc})") from exc
    if not header:
        return False
    if kind == "sextractor":
        names = [m[1] for line in header if (m := re.match(r"^#\s*\d+\s+([-\w]+)", line))]
        required = formats.SEXTRACTOR_REQUIRED
    else:
        names = _internal(header[0].split())
        required = {"finder": formats.FINDER_REQUIRED, "psfcat": formats.PSFCAT_REQUIRED}[kind]
    _require(names, required, path, owner)
    return has_rows
