"""One job's work: read -> label -> merge -> write, isolated so that a broken job never stops the others.

``process_job`` is a top-level, picklable function of (job folder, config); it writes its own outputs
(tensors, catalog copies and per-job table parts under ``.parts/``) and returns a small summary.
"""

from __future__ import annotations

import errno
import logging
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats, io
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import JobError, NoTruthWarning, RapidInputWarning
from rapid_croissant.io.paths import following_symlinks, is_inside
from rapid_croissant.io.read_once import reading_once
from rapid_croissant.pipeline import fading, parts, physical, sync, tensors, truth
from rapid_croissant.pipeline.gate import gate_job
from rapid_croissant.science import labels

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    jid: str
    status: str  # ok | partial | failed | skipped
    counts: dict = field(default_factory=dict)
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    environment: bool = False  # failed writing its outputs (disk full, permissions): the build stops


#: Errors of the machine, not of the job: the build is stopped and nothing is published.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG}


def _environment_error(err: OSError, out_dir: Path) -> bool:
    """True for a write failure of the output (a full disk anywhere, a permission error in the dataset)."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if err.errno not in _ENVIRONMENT_ERRNOS:
        return False
    return err.filename is None or is_inside(err.filename, out_dir)


def _read_catalog(job: io.RapidJob, alg: str, notes: list[str]) -> pd.DataFrame | None:
    """The joined photutils catalog of one algorithm, or None when that algorithm's products are missing."""
    if not (job.has_zogy if alg == "zogy" else job.has_sfft):
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RapidInputWarning)
        cat = io.read_photutils_catalog(
            job.catalog_path(f"{alg}_finder"), job.catalog_path(f"{alg}_psfcat"), job=job.path
        )
    notes += [str(w.message) for w in caught if issubclass(w.category, RapidInputWarning)]
    with np.errstate(divide="ignore", invalid="ignore"):
        cat["snr"] = cat["flux_fit"] / cat["flux_err"]
    return cat


def _in_bounds(cat: pd.DataFrame, shape) -> np.ndarray:
    """Fitted positions inside the real image ([-0.5, W-0.5) in 0-based pixel coordinates)."""
    h, w = shape
    x, y = cat["x_fit"].to_numpy(float), cat["y_fit"].to_numpy(float)
    return (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _label_algorithm(cat, tru: pd.DataFrame, alg: str, cfg: BuildConfig, has_truth: bool) -> pd.DataFrame:
    snr = tru[f"snr_{alg}"].to_numpy(float) if len(tru) else np.zeros(0)
    bright = tru["bright"].to_numpy(bool) if len(tru) else np.zeros(0, bool)
    eligible = labels.eligible_truth(bright, snr, min_snr=cfg.min_truth_snr)
    lab = labels.label_detections(
        cat[["x_fit", "y_fit"]].to_numpy(float),
        tru,
        eligible=eligible,
        snr=snr,
        radius=cfg.match_radius,
        low_snr=cfg.low_snr_flag,
        has_truth=has_truth,
    )
    return pd.concat([cat.reset_index(drop=True), lab], axis=1)


def build_job(job_dir: Path, cfg: BuildConfig, fingerprint: str = "") -> JobResult:
    """Build one job's outputs; raises JobError for a job that cannot be built at all."""
    if cfg.profile == "cutouts":  # its rows of the cutout store are rewritten once the tables are known
        from rapid_croissant.pipeline.store_plan import forget_job_rows

        forget_job_rows(cfg.output_dir, job_dir.name)
    gate = gate_job(job_dir)
    job, notes = gate.job, list(gate.notes)
    tru, has_truth = truth.job_truth(job, cfg, notes)
    img = tensors.write_image_outputs(
        job, cfg.output_dir, tru[["x", "y"]].to_numpy(float), full_images=cfg.full_images
    )
    notes += img.unreadable
    store_limits = {}  # the cutouts profile's: those of resized planes where a plane is resized
    if cfg.profile == "cutouts":
        from rapid_croissant.pipeline import profiles

        store_limits = profiles.cutout_limits(job, img)
    limits = img.limits | store_limits
    physical.write_job_physical(
        Layout(cfg.output_dir),
        physical.job_physical(job.jid, job.shape, job.header.wcs, limits, job.header.mjd),
    )
    tru = truth.add_expected_snr(tru, img, job)
    cats, dropped = {}, 0
    for alg in schema.SUBTRACTIONS:
        cat = _read_catalog(job, alg, notes)
        if cat is None:
            notes.append(f"{job.jid}: {alg.upper()} products missing: built from the other algorithm alone")
            cols = dict.fromkeys(formats.FINDER_REQUIRED + formats.PSFCAT_REQUIRED + ("snr",))
            cat = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        keep = _in_bounds(cat, job.shape)
        dropped += int((~keep).sum())
        cats[alg] = _label_algorithm(cat[keep], tru, alg, cfg, has_truth)
    cand = labels.merge_candidates(cats["zogy"], cats["sfft"], radius=cfg.merge_radius)
    negatives = fading.read_negatives(job)
    cand = fading.add_opposite_distance(cand, negatives)
    if cfg.include_fading:
        fade = fading.fading_candidates(negatives, cats, merge_radius=cfg.merge_radius)
        cand = pd.concat([cand, fade], ignore_index=True)
    cand = truth.finish_candidates(cand, job, tru, cfg)
    if cfg.profile == "cutouts":  # no tensor: the limits and WCS, and the cutouts of a staged job
        profiles.write_job_frame(job, cfg.output_dir, store_limits)
        if cfg.remote:  # its staged planes are gone when the store is written: a part
            profiles.write_job_cutouts(job, cand, cfg.output_dir, img.psf, dtype=cfg.cutout_dtype)
    parts.copy_catalogs(job, cfg.output_dir)
    partial = not (job.has_zogy and job.has_sfft) or bool(img.unreadable) or gate.partial
    notes = list(dict.fromkeys(notes))
    counts = parts.job_counts(cand, tru, dropped)
    if not has_truth:
        notes.append(f"{job.jid}: no truth files: labels are unknown (-1), not bogus")
    # the job's done marker carries the input fingerprint: a killed build resumes after this job
    parts.write_job_parts(
        cfg.output_dir,
        job,
        cand,
        tru,
        counts,
        status="partial" if partial else "ok",
        notes=notes,
        cfg=cfg,
        fingerprint=fingerprint,
    )
    return JobResult(job.jid, "partial" if partial else "ok", counts, warnings=notes)


def process_job(job_dir: str | Path, cfg: BuildConfig, fingerprint: str | None = "") -> JobResult:
    """Build one job, never raising: a failure is returned as a JobResult naming the job, file and reason.

    ``fingerprint`` None: the task takes the job's input fingerprint itself (on its worker)."""
    t0 = time.perf_counter()
    job_dir = Path(job_dir)
    try:
        if fingerprint is None:
            fingerprint = sync.job_fingerprint(job_dir, cfg, cfg.output_dir)
        with warnings.catch_warnings(), following_symlinks(cfg.follow_symlinks), reading_once():
            warnings.simplefilter("ignore", NoTruthWarning)
            res = build_job(job_dir, cfg, fingerprint)
    except JobError as err:
        res = JobResult(job_dir.name, "failed", error=str(err))
    except OSError as err:
        if not _environment_error(err, cfg.output_dir):
            res = JobResult(
                job_dir.name, "failed", error=f"{job_dir.name}: {err.filename}: {err.strerror or err}"
            )
        else:
            what = err.strerror or str(err)
            where = err.filename or cfg.output_dir
            log.debug("%s", traceback.format_exc())
            res = JobResult(job_dir.name, "failed", error=f"{where}: {what}", environment=True)
    except Exception as err:  # noqa: BLE001 - one broken job must not stop the others
        log.debug("%s", traceback.format_exc())
        res = JobResult(
            job_dir.name, "failed", error=f"{job_dir.name}: unexpected {type(err).__name__}: {err}"
        )
    if res.status == "failed" and not res.environment:  # a job that could not write keeps its last parts
        parts.write_failed_job(cfg.output_dir, job_dir.name, res.error)
    res.seconds = time.perf_counter() - t0
    return res
