"""Truth of one job (injections + OpenUniverse transients, 0-based, AB magnitudes) and candidate finishing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapid_croissant import io, schema
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset.layout import image_name
from rapid_croissant.science.labels import expected_snr, noise_equivalent_area

TRUTH_EXTRA = ("snr_zogy", "snr_sfft")


def _injection_rows(paths, facts, cfg: BuildConfig, job) -> pd.DataFrame:
    frames, offset = [], 0
    for p in paths:
        inj = io.read_injections(
            p, zptmag=facts.zptmag, filter_name=facts.filter, origin=cfg.truth_origin, job=job.path
        )
        # rows numbered across files, so two injection lists in one job never collide
        frames.append(
            pd.DataFrame(
                {
                    "truth_id": [f"{offset + r}_inj" for r in inj["row"]],
                    "x": inj.x,
                    "y": inj.y,
                    "mag": inj.mag_ab,
                    "flux": inj.flux,
                    "injected": True,
                    "source_file": p.name,
                }
            )
        )
        offset += len(inj)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _ou_rows(paths, facts, cfg: BuildConfig, job) -> pd.DataFrame:
    frames = []
    for p in paths:
        ou = io.read_ou_index(
            p, zptmag=facts.zptmag, origin=cfg.truth_origin, transients_only=True, job=job.path
        )
        frames.append(
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
                    "source_file": p.name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def job_truth(job: io.RapidJob, cfg: BuildConfig, notes: list[str]) -> tuple[pd.DataFrame, bool]:
    """All truth rows of a job with TRUTH_SCHEMA columns; has_truth False when the job has no truth file."""
    facts = job.header
    has_truth = job.has_truth
    parts = [_injection_rows(job.injection_files, facts, cfg, job), _ou_rows(job.ou_files, facts, cfg, job)]
    tru = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if tru is None:
        tru = pd.DataFrame({c: pd.Series(dtype=col.dtype) for c, col in schema.TRUTH_SCHEMA.items()})
    dup = tru["truth_id"].duplicated()
    if dup.any():
        notes.append(f"{job.jid}: {int(dup.sum())} duplicate truth ids dropped")
        tru = tru[~dup].reset_index(drop=True)
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
    tru["bright"] = (mag < cfg.mag_limit) | mag.isna()
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
    """Add job-level columns, truth facts and keys; return the columns of schema.candidate_columns(), typed."""
    facts = job.header
    cand["jid"] = job.jid
    cand["candidate_id"] = [f"{job.jid}_{i}" for i in range(len(cand))]
    injected = dict(zip(tru["truth_id"], tru["injected"], strict=True))
    cand["injected"] = [
        bool(injected.get(t, False)) if isinstance(t, str) else False for t in cand["truth_id"]
    ]
    cand["match_id"] = cand["truth_id"].fillna("-1")
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
    return cast_table(cand, schema.CANDIDATE_SCHEMA)


def cast_table(df: pd.DataFrame, table_schema: dict) -> pd.DataFrame:
    """Columns of ``table_schema`` in its order, each cast to its pandas dtype (missing columns become NA)."""
    out = {}
    for name, col in table_schema.items():
        values = df[name] if name in df.columns else pd.Series([pd.NA] * len(df), index=df.index)
        if col.dtype == "Int64":
            out[name] = pd.array(pd.to_numeric(values, errors="coerce"), dtype="Float64").astype("Int64")
        elif col.dtype == "float64":
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif col.dtype == "boolean":
            out[name] = pd.array(values, dtype="boolean")
        else:
            out[name] = pd.array(values.astype(object).where(values.notna(), None), dtype="string")
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)
