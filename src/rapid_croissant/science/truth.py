"""Truth arithmetic of one job, on tables already read: truth ids, duplicates, the magnitude limit and
the truth facts a candidate carries. No file access (``pipeline/truth.py`` reads the files).

Truth ids: ``<row>_inj`` for injections, rows numbered across a job's injection lists so two lists never
collide; ``<object_id>_ou`` for OpenUniverse transients.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["bright", "candidate_truth_facts", "drop_duplicate_ids", "injection_truth", "ou_truth"]


def injection_truth(lists: list[tuple[pd.DataFrame, str]]) -> pd.DataFrame:
    """Truth rows of a job's injection lists, given as (table with row, x, y, mag_ab, flux; file name)."""
    frames, offset = [], 0
    for inj, source in lists:
        frames.append(
            pd.DataFrame(
                {
                    "truth_id": [f"{offset + r}_inj" for r in inj["row"]],
                    "x": inj.x,
                    "y": inj.y,
                    "mag": inj.mag_ab,
                    "flux": inj.flux,
                    "injected": True,
                    "source_file": source,
                }
            )
        )
        offset += len(inj)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ou_truth(indexes: list[tuple[pd.DataFrame, str]]) -> pd.DataFrame:
    """Truth rows of a job's OpenUniverse transients, given as (index table; file name)."""
    frames = [
        pd.DataFrame(
            {
                "truth_id": [f"{o}_ou" for o in ou.object_id],
                "x": ou.x,
                "y": ou.y,
                "ra": ou.ra,
                "dec": ou.dec,
                "mag": ou.mag_ab,
                "flux": ou.flux,
                "injected": False,
                "source_file": source,
            }
        )
        for ou, source in indexes
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def drop_duplicate_ids(tru: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``tru`` without the repeats of a truth id (first kept), and how many were dropped."""
    dup = tru["truth_id"].duplicated()
    if not dup.any():
        return tru, 0
    return tru[~dup].reset_index(drop=True), int(dup.sum())


def bright(mag: pd.Series, mag_limit: float) -> pd.Series:
    """Truth that may make a detection real: brighter than the limit, or without a magnitude (kept
    eligible, since the limit cannot be applied)."""
    mag = mag.astype(float)
    return (mag < mag_limit) | mag.isna()


def candidate_truth_facts(truth_ids: pd.Series, tru: pd.DataFrame) -> tuple[list[bool], pd.Series]:
    """``injected`` (the matched truth is an injection) and the seed's ``match_id`` ('-1' when none)."""
    injected = dict(zip(tru["truth_id"], tru["injected"], strict=True))
    flags = [bool(injected.get(t, False)) if isinstance(t, str) else False for t in truth_ids]
    return flags, truth_ids.fillna("-1")
