"""Truth of one job (injections + OpenUniverse transients, 0-based, AB magnitudes) and candidate finishing:
reads the truth files through ``io`` and the WCS; the arithmetic is in ``science/truth.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapid_croissant import io
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import image_name
from rapid_croissant.science import truth as science_truth
from rapid_croissant.science.labels import expected_snr, noise_equivalent_area


def _injection_rows(paths, facts, cfg: BuildConfig, job) -> pd.DataFrame:
    lists = [
        (
            io.read_injections(
                p, zptmag=facts.zptmag, filter_name=facts.filter, origin=cfg.truth_origin, job=job.path
            ),
            p.name,
        )
        for p in paths
    ]
    return science_truth.injection_truth(lists)


def _ou_rows(paths, facts, cfg: BuildConfig, job) -> pd.DataFrame:
    indexes = [
        (
            io.read_ou_index(
                p, zptmag=facts.zptmag, origin=cfg.truth_origin, transients_only=True, job=job.path
            ),
            p.name,
        )
        for p in paths
    ]
    return science_truth.ou_truth(indexes)


def job_truth(job: io.RapidJob, cfg: BuildConfig, notes: list[str]) -> tuple[pd.DataFrame, bool]:
    """All truth rows of a job with TRUTH_SCHEMA columns; has_truth False when the job has no truth file."""
    facts = job.header
    has_truth = job.has_truth
    parts = [_injection_rows(job.injection_files, facts, cfg, job), _ou_rows(job.ou_files, facts, cfg, job)]
    tru = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if tru is None:
        tru = schema.empty_table(schema.TRUTH_SCHEMA)
    tru, n_dup = science_truth.drop_duplicate_ids(tru)
    if n_dup:
        notes.append(f"{job.jid}: {n_dup} duplicate truth ids dropped")
    if "ra" not in tru.columns:
        tru["ra"] = np.nan
        tru["dec"] = np.nan
    need = tru["ra"].isna().to_numpy() & (facts.wcs is not None)
    if need.any():
        sky = facts.wcs.pixel_to_world(tru.loc[need, "x"].to_numpy(float), tru.loc[need, "y"].to_numpy(float))
        tru.loc[need, "ra"], tru.loc[need, "dec"] = sky.ra.deg, sky.dec.deg
    tru["jid"] = job.jid
    tru["filter"] = facts.filter
    tru["zpt"] = facts.zptmag
    mag = tru["mag"].astype(float)
    if has_truth and mag.isna().any():
        notes.append(
            f"{job.jid}: {int(mag.isna().sum())} truth sources without a magnitude (no ZPTMAG/FILTER?): "
            "kept eligible, the magnitude limit cannot be applied to them"
        )
    tru["bright"] = science_truth.bright(mag, cfg.mag_limit)
    return tru, has_truth


def add_expected_snr(tru: pd.DataFrame, img, job: io.RapidJob) -> pd.DataFrame:
    """Expected S/N of each truth source in each algorithm's difference: rate / (local sigma * sqrt(NEA))."""
    exptime = job.header.exptime or np.nan
    rate = tru["flux"].to_numpy(float) / exptime
    for alg, psf in (("zogy", img.psf), ("sfft", img.sfft_psf if img.sfft_psf is not None else img.psf)):
        sig = img.samplers.get(f"{alg}_uncert")
        if sig is None or psf is None:
            tru[f"snr_{alg}"] = np.nan
        else:
            tru[f"snr_{alg}"] = expected_snr(rate, sig, nea=noise_equivalent_area(psf))
    return tru


def finish_candidates(
    cand: pd.DataFrame, job: io.RapidJob, tru: pd.DataFrame, cfg: BuildConfig
) -> pd.DataFrame:
    """Add job-level columns, truth facts and keys; return the columns of schema.CANDIDATE_COLUMNS, typed."""
    facts = job.header
    cand["jid"] = job.jid
    cand["candidate_id"] = [f"{job.jid}_{i}" for i in range(len(cand))]
    cand["injected"], cand["match_id"] = science_truth.candidate_truth_facts(cand["truth_id"], tru)
    cand["filter"] = facts.filter
    cand["image_filename"] = image_name(job.jid) if cfg.full_images else ""
    cand["mjd"], cand["zpt"], cand["has_truth"] = facts.mjd, facts.zptmag, job.has_truth
    cand["split"] = pd.NA
    need = cand["ra"].isna().to_numpy() & (facts.wcs is not None)
    if need.any():
        sky = facts.wcs.pixel_to_world(
            cand.loc[need, "x"].to_numpy(float), cand.loc[need, "y"].to_numpy(float)
        )
        cand.loc[need, "ra"], cand.loc[need, "dec"] = sky.ra.deg, sky.dec.deg
    return schema.cast_table(cand, schema.CANDIDATE_SCHEMA)
