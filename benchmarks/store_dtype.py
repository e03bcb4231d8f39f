"""Is a uint8 cutout store good enough? Two measurements for the Scale section (bench_scale.py).

- ``quantisation``: per channel of a 4089² job, the RMS error of storing the [0, 1] ZScale values as uint8
  (measured on the pixels, and range / 255 / sqrt(12) in theory) against the pixel noise (1.4826 x MAD of
  the plane), in physical units. ZScale limits span a few noise sigma, so 1/255 of them is far smaller.
- ``auc_check``: the same CNN (same seed, same tables) trained on the float32 and on the uint8 store of one
  simulated dataset (``--profile cutouts --cutout-dtype float32`` vs the default uint8): test ROC AUC.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

SAMPLE = 1_000_000  # pixels of a plane used for the noise and the measured rounding error
SAVED = "store_dtype_auc.json"  # auc_check's result in the cache folder (reused without --auc)


def _log(msg: str) -> None:
    print(f"[dtype] {msg}", flush=True)


def quantisation(job_dir: Path) -> dict:
    from rapid_croissant import formats, io
    from rapid_croissant.science.normalize import normalize_block, seed_zscale_limits

    job = io.open_job(job_dir)
    rng = np.random.default_rng(0)
    out = {}
    for ch in formats.CHANNELS:
        if ch in formats.STAMP_CHANNELS or not job.channels_present.get(ch):
            continue
        plane = io.open_plane(job.channel_path(ch))
        vmin, vmax = seed_zscale_limits(plane)
        flat = np.asarray(plane, dtype=np.float32).ravel()
        pix = flat[rng.choice(flat.size, size=min(SAMPLE, flat.size), replace=False)]
        pix = pix[np.isfinite(pix)]
        sigma = 1.4826 * float(np.median(np.abs(pix - np.median(pix))))
        v = pix.copy()
        normalize_block(v, vmin=vmin, vmax=vmax)
        q = np.rint(v * np.float32(255.0)) / np.float32(255.0)
        err = float(np.sqrt(np.mean(((q - v) * (vmax - vmin)) ** 2)))
        inside = float(np.mean((v > 0) & (v < 1)))
        theory = (vmax - vmin) / 255 / np.sqrt(12)
        out[ch] = {"range": vmax - vmin, "sigma": sigma, "q_rms": err, "q_theory": theory, "inside": inside}
        _log(f"{ch}: range {vmax - vmin:.4g}, noise {sigma:.4g}, uint8 rounding RMS {err:.3g}")
    return out


def _auc(run: Path) -> float:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    pred = pd.read_parquet(run / "predictions.parquet")
    test = pred[pred["split"] == "test"] if "split" in pred else pred
    target = "target" if "target" in test else "label"
    return float(roc_auc_score(test[target], test["score"]))


def auc_check(cache: Path, *, n_jobs: int = 24, epochs: int = 8) -> dict:
    """Simulate ``n_jobs`` 512² jobs (cached), build both stores, train the CNN on each; test AUC."""
    from rapid_croissant.config import BuildConfig, TrainConfig
    from rapid_croissant.ml.train import train
    from rapid_croissant.pipeline.pipeline import build_dataset
    from rapid_croissant.simulate.core import simulate_jobs

    sim = cache / f"sim512_n{n_jobs}_auc"
    if not (sim / "done.json").is_file():
        shutil.rmtree(sim, ignore_errors=True)
        simulate_jobs(sim, n=n_jobs, size=512, seed=7, progress=False)
        (sim / "done.json").write_text("{}")
    res: dict = {"n_jobs": n_jobs, "epochs": epochs}
    for dtype in ("float32", "uint8"):
        out = cache / "auc_work" / dtype
        shutil.rmtree(out, ignore_errors=True)
        cfg = BuildConfig(input_dir=sim, output_dir=out, profile="cutouts", cutout_dtype=dtype)
        build_dataset(cfg, progress=False)
        res.setdefault("store_bytes", {})[dtype] = sum(p.stat().st_size for p in (out / "cutouts").iterdir())
        for algorithm in ("zogy", "sfft"):
            t0 = time.perf_counter()
            config = TrainConfig(algorithm=algorithm, model="cnn", epochs=epochs, seed=1, patience=epochs)
            run = train(out, config, run_root=cache / "auc_work" / f"runs_{dtype}", progress=False)
            auc = _auc(run)
            res.setdefault("auc", {}).setdefault(algorithm, {})[dtype] = auc
            _log(f"{dtype} {algorithm}: test AUC {auc:.4f} ({time.perf_counter() - t0:.0f} s)")
    res["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (cache / SAVED).write_text(json.dumps(res, indent=1))
    return res


def saved_auc(cache: Path) -> dict | None:
    """The last ``auc_check`` result of this cache folder, if any."""
    path = cache / SAVED
    return json.loads(path.read_text()) if path.is_file() else None
