"""A tiny learnable dataset in the builder's layout, for the ML tests (fast, exact geometry known).

Real candidates are round blobs in the difference and S_corr channels with a high PSF-fit S/N; bogus ones
are dipoles with a low S/N. Each job has a distinct 15x15 PSF stamp, a NaN stripe in the SFFT difference
(mask bit set) and one candidate 0.4 px from the image corner. Job ``jid2009`` has no truth (labels -1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema

SIZE = 96
PSF_SIZE = 15
PER_JOB = 40
SPLIT_OF = {f"jid{2001 + k}": s for k, s in enumerate(["train"] * 4 + ["val"] * 2 + ["test"] * 2 + ["train"])}
NO_TRUTH_JOB = "jid2009"
EDGE_XY = (0.4, SIZE - 1.2)  # rounds to pixel (0, SIZE - 1)
NAN_ROWS = 10  # rows 0..9 of sfft_diff are NaN (mask bit set)
FILTERS = ("H158", "F184")


def _psf(k: int) -> np.ndarray:
    r = np.arange(PSF_SIZE) - PSF_SIZE // 2
    stamp = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * (1.2 + 0.1 * k) ** 2))
    return (stamp / stamp.sum()).astype(np.float32)


def _blob(image: np.ndarray, channel: str, x: float, y: float, amp: float, dx: float = 0.0) -> None:
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    image[..., schema.CHANNELS.index(channel)] += amp * np.exp(-((xx - x - dx) ** 2 + (yy - y) ** 2) / 4.5)


def _job_candidates(jid: str, k: int, rng: np.random.Generator) -> pd.DataFrame:
    n = PER_JOB
    real = rng.random(n) < 0.45
    xs, ys = rng.uniform(6, SIZE - 7, n), rng.uniform(6, SIZE - 7, n)
    xs[0], ys[0], real[0] = *EDGE_XY, True
    det = rng.choice(["zogy", "sfft", "both"], n, p=[0.25, 0.25, 0.5])
    labelled = jid != NO_TRUTH_JOB
    rows = {"candidate_id": [f"{jid}_{i}" for i in range(n)], "jid": [jid] * n, "id": np.arange(1, n + 1)}
    rows.update(x=xs, y=ys, detected_by=det, filter=[FILTERS[k % 2]] * n, split=[SPLIT_OF[jid]] * n)
    rows.update(zpt=[17.6] * n, has_truth=[labelled] * n, image_filename=[f"images/{jid}.npy"] * n)
    truth_ids = np.array([f"{i}_inj" if r else None for i, r in enumerate(real)], dtype=object)
    rows.update(label=np.where(labelled, real.astype(int), -1), truth_id=truth_ids, injected=real & labelled)
    rows.update(truth_mag=np.where(real, rng.uniform(21, 25, n), np.nan))
    for alg in ("zogy", "sfft"):
        has = np.isin(det, [alg, "both"])
        snr = np.where(real, rng.normal(12, 3, n), rng.normal(4, 2, n))
        own = {
            "x": xs + rng.normal(0, 0.05, n),
            "y": ys + rng.normal(0, 0.05, n),
            "snr": snr,
            "flux_fit": snr * 2.0,
            "flux_err": np.full(n, 2.0),
            "sharpness": rng.normal(0.6, 0.1, n),
            "roundness1": rng.normal(0, 0.2, n),
            "roundness2": rng.normal(0, 0.2, n),
            "peak": snr * 0.3,
            "flux": snr * 1.8,
            "mag": -2.5 * np.log10(np.abs(snr * 1.8) + 1),
            "daofind_mag": rng.normal(-1, 0.3, n),
            "qfit": rng.gamma(2, 0.05, n),
            "cfit": rng.normal(0, 0.02, n),
            "npix": np.full(n, 25),
            "flags": np.zeros(n, dtype=int),
            "reduced_chi2": np.full(n, np.nan),
        }
        own["x"][0], own["y"][0] = EDGE_XY
        for name, values in own.items():
            rows[f"{alg}_{name}"] = np.where(has, values, np.nan)
        rows[f"{alg}_label"] = [
            (int(r) if labelled else -1) if h else None for r, h in zip(real, has, strict=True)
        ]
        rows[f"{alg}_truth_id"] = np.where(has & real & labelled, truth_ids, None)
    frame = pd.DataFrame(rows)
    for alg in ("zogy", "sfft"):
        frame[f"{alg}_npix"] = frame[f"{alg}_npix"].astype("Int64")
        frame[f"{alg}_flags"] = frame[f"{alg}_flags"].astype("Int64")
    return frame


def _job_arrays(root: Path, jid: str, k: int, cands: pd.DataFrame, rng: np.random.Generator) -> None:
    image = rng.normal(0.3, 0.03, (SIZE, SIZE, len(schema.CHANNELS))).astype(np.float32)
    for _, c in cands.iterrows():
        for ch in ("zogy_diff", "zogy_scorr", "sfft_diff", "sfft_scorr"):
            if c["label"] == 1 or (c["label"] == -1 and int(c["id"]) % 2):
                _blob(image, ch, c["x"], c["y"], 0.5)
            else:  # a subtraction residual: positive and negative lobes
                _blob(image, ch, c["x"], c["y"], 0.4, dx=-1.2)
                _blob(image, ch, c["x"], c["y"], -0.4, dx=1.2)
    image = np.clip(image, 0, 1)
    mask = np.zeros((SIZE, SIZE), dtype=np.uint16)
    mask[:NAN_ROWS] |= 1 << schema.CHANNELS.index("sfft_diff")
    image[:NAN_ROWS, :, schema.CHANNELS.index("sfft_diff")] = 0.0
    for folder, array in ((names.IMAGES_DIR, image), (names.PSFS_DIR, _psf(k)), (names.MASKS_DIR, mask)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        np.save(root / folder / f"{jid}.npy", array)


def _truth(cands: pd.DataFrame, jid: str, rng: np.random.Generator) -> pd.DataFrame:
    real = cands[cands["label"] == 1]
    n_faint = 5  # never detected
    return pd.DataFrame(
        {
            "truth_id": list(real["truth_id"]) + [f"{100 + i}_inj" for i in range(n_faint)],
            "jid": jid,
            "x": list(real["x"]) + list(rng.uniform(0, SIZE, n_faint)),
            "y": list(real["y"]) + list(rng.uniform(0, SIZE, n_faint)),
            "mag": list(real["truth_mag"]) + list(rng.uniform(26, 28, n_faint)),
            "filter": real["filter"].iloc[0],
            "zpt": 17.6,
            "injected": True,
            "bright": [True] * len(real) + [False] * n_faint,
        }
    )


def write_ml_dataset(root: str | Path, *, seed: int = 0) -> Path:
    """Write the dataset into ``root`` and return it."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    cand_parts, truth_parts, jobs = [], [], []
    for k, jid in enumerate(SPLIT_OF):
        cands = _job_candidates(jid, k, rng)
        _job_arrays(root, jid, k, cands, rng)
        cand_parts.append(cands)
        if jid != NO_TRUTH_JOB:
            truth_parts.append(_truth(cands, jid, rng))
        jobs.append(
            dict(
                jid=jid,
                era="2025",
                filter=FILTERS[k % 2],
                zpt=17.6,
                exptime=302.0,
                status="ok",
                has_zogy=True,
                has_sfft=True,
                has_truth=jid != NO_TRUTH_JOB,
                height=SIZE,
                width=SIZE,
                n_candidates=PER_JOB,
                split=SPLIT_OF[jid],
            )
        )
    candidates = schema.cast_table(pd.concat(cand_parts, ignore_index=True), schema.CANDIDATE_SCHEMA)
    candidates.to_parquet(root / names.CANDIDATES_PARQUET, index=False)
    for split in schema.SPLITS:
        candidates[candidates["split"] == split].to_parquet(root / f"candidates-{split}.parquet", index=False)
    schema.cast_table(pd.DataFrame(jobs), schema.JOB_SCHEMA).to_parquet(
        root / names.JOBS_PARQUET, index=False
    )
    truth = schema.cast_table(pd.concat(truth_parts, ignore_index=True), schema.TRUTH_SCHEMA)
    truth.to_parquet(root / names.TRUTH_PARQUET, index=False)
    return root
