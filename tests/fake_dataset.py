"""A small synthetic dataset in exactly the layout the builder writes (dataset/schema.py columns and dtypes).

Columns come from dataset/schema.py: the ones this module does not know get random values of their dtype,
so the fixture follows schema changes.

Six jobs: five good ones across two filters (60 candidates each) and one failed job without products,
32x32x9 image tensors, PSF stamps, NaN masks, catalog copies and build_info.json. Values are random but
seeded; the point is the layout, the dtypes and the cross-references, not the science.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema
from rapid_croissant.science.splits import assign_splits
from rapid_croissant.simulate import constants

JOBS = ("jid001", "jid002", "jid003", "jid004", "jid005")
FAILED_JOB = "jid006"
FILTERS = {"jid001": "H158", "jid002": "H158", "jid003": "H158", "jid004": "F184", "jid005": "F184"}
CANDIDATES_PER_JOB = 60
TRUTH_PER_JOB = 12
SHAPE = (32, 32)
PSF_SIZE = 7
CATALOGS = ("diffimage_masked_psfcat.txt", "sfftdiffimage_masked_psfcat_finder.txt")
SPLIT_SEED = 0
BUILD_CONFIG = {"match_radius": 4.0, "merge_radius": 1.0, "mag_limit": 28.0, "era": "2025"}
CREATED = "2026-03-01T12:00:00+00:00"


def _random_column(name: str, col: schema.Column, n: int, rng: np.random.Generator) -> list:
    """Plausible values for a column we do not set explicitly; about 1 in 5 missing where it may be."""
    missing = rng.random(n) < 0.2
    if col.dtype == "float64":
        values = rng.normal(0.0, 10.0, n).round(4)
        return [np.nan if m else float(v) for v, m in zip(values, missing, strict=True)]
    if col.dtype == "Int64":
        return [pd.NA if m else int(v) for v, m in zip(rng.integers(0, 16, n), missing, strict=True)]
    if col.dtype == "boolean":
        return list(rng.random(n) < 0.5)
    return [pd.NA if m else f"{name}_{k}" for k, m in enumerate(missing)]


def _truth(jid: str, rng: np.random.Generator, mjd: float, zpt: float) -> pd.DataFrame:
    n = TRUTH_PER_JOB
    injected = np.arange(n) < n // 2
    ids = [f"{k + 1}_inj" if inj else f"{20149000 + k}_ou" for k, inj in enumerate(injected)]
    raw = {name: _random_column(name, col, n, rng) for name, col in schema.TRUTH_SCHEMA.items()}
    raw |= {
        "truth_id": ids,
        "jid": [jid] * n,
        "x": rng.uniform(0, SHAPE[1] - 1, n),
        "y": rng.uniform(0, SHAPE[0] - 1, n),
        "ra": rng.uniform(9.5, 10.5, n),
        "dec": rng.uniform(-44.5, -43.5, n),
        "mag": rng.uniform(21.0, 28.0, n),
        "flux": rng.uniform(1e2, 1e5, n),
        "filter": [FILTERS[jid]] * n,
        "zpt": [zpt] * n,
        "injected": injected,
        "bright": rng.random(n) < 0.8,
        "source_file": [
            f"Roman_TDS_simple_model_{FILTERS[jid]}_124_{k % 18 + 1}_lite_inject.txt" for k in range(n)
        ],
    }
    return schema.cast_table(pd.DataFrame(raw), schema.TRUTH_SCHEMA)


def _candidates(
    jid: str, truth: pd.DataFrame, rng: np.random.Generator, mjd: float, zpt: float
) -> pd.DataFrame:
    n = CANDIDATES_PER_JOB
    derived = {"date_obs"}  # from mjd, as the build does (and no draw from rng: the values stay as they were)
    raw = {
        n_: _random_column(n_, c, n, rng) for n_, c in schema.CANDIDATE_SCHEMA.items() if n_ not in derived
    }
    matched = rng.random(n) < 0.3
    truth_ids = truth["truth_id"].tolist()
    chosen = [truth_ids[k % len(truth_ids)] if m else pd.NA for k, m in enumerate(matched)]
    for name in schema.CANDIDATE_SCHEMA:  # every *truth_id column must name a truth row of the job
        if name.endswith("truth_id"):
            raw[name] = chosen
    raw.update(
        candidate_id=[f"{jid}_{k}" for k in range(n)],
        id=list(range(1, n + 1)),
        jid=[jid] * n,
        filter=[FILTERS[jid]] * n,
        match_id=["-1" if t is pd.NA else t for t in chosen],
        label=[1 if m else int(rng.choice([0, -1])) for m in matched],
        injected=[bool(m and t.endswith("_inj")) for m, t in zip(matched, chosen, strict=True)],
        image_filename=[f"{names.IMAGES_DIR}/{jid}.npy"] * n,
        detected_by=list(rng.choice(["zogy", "sfft", "both"], n)),
        x=rng.uniform(0, SHAPE[1] - 1, n),
        y=rng.uniform(0, SHAPE[0] - 1, n),
        mjd=[mjd] * n,
        date_obs=schema.iso_utc([mjd] * n),
        zpt=[zpt] * n,
        has_truth=[True] * n,
    )
    return pd.DataFrame(raw)


def _job_row(
    jid: str, cands: pd.DataFrame | None, truth: pd.DataFrame | None, mjd: float, zpt: float
) -> dict:
    row = {name: pd.NA for name in schema.JOB_SCHEMA}
    row.update(jid=jid, era="2025", status="failed", has_zogy=False, has_sfft=False, has_truth=False)
    if cands is None:
        row.update(error=f"{jid}/diffimage_masked.fits: file is truncated")
        return row
    row.update(
        filter=FILTERS[jid],
        zpt=zpt,
        exptime=302.0,
        mjd=mjd,
        sca=int(jid[-1]),
        height=SHAPE[0],
        width=SHAPE[1],
        status="ok",
        has_zogy=True,
        has_sfft=True,
        has_truth=True,
        n_candidates=len(cands),
        n_zogy=int((cands["detected_by"] != "sfft").sum()),
        n_sfft=int((cands["detected_by"] != "zogy").sum()),
        n_both=int((cands["detected_by"] == "both").sum()),
        n_real=int((cands["label"] == 1).sum()),
        n_bogus=int((cands["label"] == 0).sum()),
        n_unknown=int((cands["label"] == -1).sum()),
        n_truth=len(truth),
        n_out_of_bounds=0,
        image_filename=f"{names.IMAGES_DIR}/{jid}.npy",
        error="",
    )
    return row


def _write_arrays(root: Path, jid: str, rng: np.random.Generator) -> None:
    for folder in (names.IMAGES_DIR, names.PSFS_DIR, names.MASKS_DIR, names.CATALOGS_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)
    image = rng.random((*SHAPE, len(schema.CHANNELS)), dtype=np.float32)
    np.save(root / names.IMAGES_DIR / f"{jid}.npy", image)
    psf = rng.random((PSF_SIZE, PSF_SIZE), dtype=np.float32)
    np.save(root / names.PSFS_DIR / f"{jid}.npy", psf / psf.sum())
    mask = np.zeros(SHAPE, dtype=np.uint16)
    mask[:2, :] |= 1 << schema.CHANNELS.index("sfft_diff")
    np.save(root / names.MASKS_DIR / f"{jid}.npy", mask)
    for name in CATALOGS:
        text = f"# {jid} {name}\nid xcentroid ycentroid flux\n" + "".join(
            f"{k} {k * 1.5:.2f} {k * 2.5:.2f} {k * 10.0}\n" for k in range(1, 6)
        )
        (root / names.CATALOGS_DIR / f"{jid}_{name}").write_text(text)


def write_fake_dataset(root: str | Path, *, seed: int = 1) -> Path:
    """Write the synthetic dataset into ``root`` (created) and return it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cand_parts, truth_parts, job_rows = [], [], []
    for k, jid in enumerate(JOBS):
        mjd, zpt = 62000.0 + 5.0 * k + 0.25, float(constants.zptmag_from_exptime(302.0))
        truth = _truth(jid, rng, mjd, zpt)
        cands = _candidates(jid, truth, rng, mjd, zpt)
        truth_parts.append(truth)
        cand_parts.append(cands)
        job_rows.append(_job_row(jid, cands, truth, mjd, zpt))
        _write_arrays(root, jid, rng)
    job_rows.append(_job_row(FAILED_JOB, None, None, np.nan, np.nan))
    jobs = schema.cast_table(pd.DataFrame(job_rows), schema.JOB_SCHEMA)
    jobs["split"] = assign_splits(jobs, seed=SPLIT_SEED)
    candidates = pd.concat(cand_parts, ignore_index=True)
    candidates["split"] = candidates["jid"].map(dict(zip(jobs["jid"], jobs["split"], strict=True)))
    candidates = schema.cast_table(candidates, schema.CANDIDATE_SCHEMA)
    truth = pd.concat(truth_parts, ignore_index=True)
    _write_tables(root, candidates, jobs, truth)
    _write_physical(root)
    info = {"rapid_croissant_version": "0.1.0", "config": BUILD_CONFIG, "created": CREATED}
    (root / "build_info.json").write_text(json.dumps(info, indent=2))
    return root


def _write_physical(root: Path) -> None:
    """physical.parquet: a TAN WCS and the limits (0, 1) for every channel of each good job."""
    from astropy.wcs import WCS

    from rapid_croissant.pipeline.physical import job_physical, physical_frame

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.0, -45.0]
    wcs.wcs.crpix = [SHAPE[1] / 2, SHAPE[0] / 2]
    wcs.wcs.cdelt = [-3e-5, 3e-5]
    limits = dict.fromkeys(schema.CHANNELS, (0.0, 1.0))
    physical_frame([job_physical(jid, SHAPE, wcs, limits) for jid in JOBS]).to_parquet(
        root / names.PHYSICAL_PARQUET, index=False
    )


def _write_tables(root: Path, candidates: pd.DataFrame, jobs: pd.DataFrame, truth: pd.DataFrame) -> None:
    candidates.to_csv(root / names.CANDIDATES_CSV, index=False)
    candidates.to_parquet(root / names.CANDIDATES_PARQUET, index=False)
    for split in schema.SPLITS:
        part = candidates[candidates["split"] == split]
        part.to_parquet(root / f"candidates-{split}.parquet", index=False)
    jobs.to_csv(root / names.JOBS_CSV, index=False)
    jobs.to_parquet(root / names.JOBS_PARQUET, index=False)
    truth.to_csv(root / names.TRUTH_CSV, index=False)
    truth.to_parquet(root / names.TRUTH_PARQUET, index=False)


def write_fake_dataset_with_croissant(root: str | Path, **publisher_values) -> tuple[Path, Path]:
    """The fake dataset plus its manifests and croissant.json (as ``rapid-croissant croissant`` writes
    them)."""
    from rapid_croissant.writers.croissant import write_croissant

    root = write_fake_dataset(root)
    return root, write_croissant(root, **publisher_values)
