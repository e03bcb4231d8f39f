"""RAPID's negative (fading) photutils catalogs: the same finder + PSF-fit code run on ``-diff``.

Names (both eras): the positive catalog's name with ``_negative`` before ``.txt``, e.g.
``diffimage_masked_psfcat_negative.txt`` and ``diffimage_masked_psfcat_finder_negative.txt`` (2025),
``zogy_diffimage_masked_psfcat_negative.txt`` (2026), ``sfftdiffimage_masked_psfcat_negative.txt``
(rapid_formats.md §1, §3.1). They are optional: a job without them simply has no negative detections.
Their ids share nothing with the positive catalog's ids.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rapid_croissant.io.catalogs import read_photutils_catalog
from rapid_croissant.io.paths import usable_file

log = logging.getLogger(__name__)

NEGATIVE_SUFFIX = "_negative"


def negative_name(name: str) -> str:
    """The negative catalog's file name for a positive catalog file name (``x.txt`` -> ``x_negative.txt``)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name + NEGATIVE_SUFFIX
    return f"{stem}{NEGATIVE_SUFFIX}.{ext}"


def negative_paths(job, alg: str) -> tuple[Path, Path]:
    """(finder, psfcat) paths of the negative catalogs of ``alg`` in a RapidJob (they may not exist)."""
    finder = job.path / negative_name(job.files.catalogs[f"{alg}_finder"])
    psfcat = job.path / negative_name(job.files.catalogs[f"{alg}_psfcat"])
    return finder, psfcat


def has_negative(job, alg: str) -> bool:
    """True when both negative catalogs of ``alg`` exist in the job folder."""
    return all(usable_file(p, job.path) for p in negative_paths(job, alg))


def read_negative_catalog(job, alg: str) -> pd.DataFrame | None:
    """The joined negative catalog of ``alg`` (internal names), or None when the job has none."""
    if not has_negative(job, alg):
        return None
    finder, psfcat = negative_paths(job, alg)
    return read_photutils_catalog(finder, psfcat, job=job.path)
