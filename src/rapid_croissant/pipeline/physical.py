"""Write what maps the dataset back to physical values and the sky: per job, the ZScale limits of every
channel and the job's WCS header (``physical.parquet``; the reader is dataset/physical.py).

Every build profile writes it: the limits are computed from the input planes whether or not the full
tensors are written. During the build each job leaves ``.parts/<jid>.physical.json``; ``gather_physical``
gathers them into ``physical.parquet`` (one row per job, failed jobs excluded).
"""

from __future__ import annotations

import json
import logging
import math

import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.physical import PHYSICAL_COLUMNS, limit_columns
from rapid_croissant.writers.atomic import write_text

__all__ = ["gather_physical", "job_physical", "physical_frame", "write_job_physical"]

log = logging.getLogger(__name__)


def _wcs_header_text(wcs) -> str:
    """The WCS as FITS header cards (one per line), or '' when the job has no usable WCS."""
    if wcs is None:
        return ""
    return wcs.to_header(relax=True).tostring(sep="\n", endcard=False, padding=False)


def _iso(mjd: float | None) -> str | None:
    """MJD as ISO 8601 UTC to the millisecond, as the candidates' date_obs (schema.iso_utc)."""
    return schema.iso_utc([mjd])[0]


def job_physical(
    jid: str,
    shape: tuple[int, int] | None,
    wcs,
    limits: dict[str, tuple[float, float]],
    mjd: float | None = None,
) -> dict:
    """One row of physical.parquet: epoch, WCS header and each channel's (vmin, vmax); None if absent."""
    row = {
        "jid": jid,
        "height": int(shape[0]) if shape else None,
        "width": int(shape[1]) if shape else None,
        "mjd": None if mjd is None or not math.isfinite(mjd) else float(mjd),
        "date_obs": _iso(mjd),
        "wcs_header": _wcs_header_text(wcs),
    }
    for ch in schema.CHANNELS:
        lo_col, hi_col = limit_columns(ch)
        lo, hi = limits.get(ch, (None, None))
        row[lo_col] = None if lo is None or not math.isfinite(lo) else float(lo)
        row[hi_col] = None if hi is None or not math.isfinite(hi) else float(hi)
    return row


def write_job_physical(layout: Layout, row: dict) -> None:
    """The job's row as ``.parts/<jid>.physical.json`` (written before the job's done marker)."""
    write_text(layout.part_physical(row["jid"]), json.dumps(row))


def physical_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows of :func:`job_physical` as the typed physical.parquet table."""
    frame = pd.DataFrame(rows, columns=list(PHYSICAL_COLUMNS))
    for name, col in PHYSICAL_COLUMNS.items():
        frame[name] = frame[name].astype(col.dtype)
    return frame


def gather_physical(layout: Layout, jids: list[str]) -> pd.DataFrame:
    """The jobs' parts as the ``physical.parquet`` table (published with the other tables)."""
    rows = []
    for jid in jids:
        path = layout.part_physical(jid)
        if path.is_file():
            rows.append(json.loads(path.read_text()))
    frame = physical_frame(rows)
    log.info("physical.parquet: %d jobs", len(frame))
    return frame
