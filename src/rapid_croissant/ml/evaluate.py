"""Evaluate a training run on the TEST split: classifier metrics with job-bootstrap intervals and RAPID's
end-to-end quantities (completeness against truth magnitude, false positives per image, m50/m80, m_th).

Completeness is measured against every truth source of the test jobs, detected or not (ml_evaluation.md §4.1).
A truth source is detected by an algorithm when its truth_id is the ``<alg>_truth_id`` of one of that
algorithm's candidates in the same job; after the classifier, that candidate must also score >= threshold
(under protocol B only candidates detected by both algorithms are scored, so that curve is lower).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.completeness import (
    completeness_curve,
    false_positives_per_image,
    magnitude_at_completeness,
    magnitude_at_fp_rate,
)
from rapid_croissant.ml.data import Tables, load_tables, select_candidates, write_json
from rapid_croissant.ml.metrics import group_bootstrap
from rapid_croissant.ml.train import balanced_accuracy

__all__ = ["candidate_ab_mag", "evaluate_run", "load_run", "plot_completeness"]

log = logging.getLogger(__name__)

#: Intervals from fewer test jobs than this are reported but flagged as not meaningful.
MIN_JOBS_FOR_INTERVALS = 5


def load_run(run_dir: str | Path) -> tuple[dict, dict, pd.DataFrame]:
    """``config.json``, ``metrics.json`` and ``predictions.parquet`` of a run folder."""
    run = Path(run_dir)
    missing = [n for n in ("config.json", "metrics.json", "predictions.parquet") if not (run / n).is_file()]
    if missing:
        raise RapidCroissantError(f"{run}: not a finished training run (missing {missing})")
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    return config, metrics, pd.read_parquet(run / "predictions.parquet")


def candidate_ab_mag(rows: pd.DataFrame, jobs: pd.DataFrame, *, algorithm: str) -> np.ndarray:
    """AB magnitude of each candidate's PSF-fit flux: -2.5 log10(flux_fit * EXPTIME) + ZPTMAG + ZP_band.

    Same zero point as the truth magnitudes (schema.TRUTH_SCHEMA 'mag'); for 'both' ZOGY's fit is used
    when ZOGY detected the candidate, else SFFT's. NaN for a non-positive flux.
    """
    flux = pd.to_numeric(rows[f"{'zogy' if algorithm == 'both' else algorithm}_flux_fit"], errors="coerce")
    if algorithm == "both":
        flux = flux.fillna(pd.to_numeric(rows["sfft_flux_fit"], errors="coerce"))
    flux = flux.to_numpy(dtype=float, na_value=np.nan)
    exptime = rows["jid"].map(dict(zip(jobs["jid"], jobs["exptime"], strict=True))).to_numpy(float)
    zp_band = rows["filter"].astype(str).map(formats.ZP_BAND).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = -2.5 * np.log10(flux * exptime) + rows["zpt"].to_numpy(float) + zp_band
    return np.where(np.isfinite(mag), mag, np.nan)


def _classification(test: pd.DataFrame, threshold: float, *, n_boot: int, seed: int) -> dict:
    y, score = test["label"].to_numpy(np.int64), test["score"].to_numpy(float)
    out = {"n": int(y.size), "n_real": int(y.sum()), "n_jobs": int(test["jid"].nunique())}
    if y.size == 0:
        return out
    groups = test["jid"].to_numpy(str)
    boot = group_bootstrap(y, score, groups, n_boot=n_boot, seed=seed, threshold=threshold)
    out["metrics"] = {k: v for k, v in boot.items() if k not in ("n", "n_pos", "n_neg", "threshold")}

    def ba(y_true, s, *, threshold):
        return {"balanced_accuracy": balanced_accuracy(y_true, s, threshold=threshold)}

    boot = group_bootstrap(y, score, groups, metric_fn=ba, n_boot=n_boot, seed=seed, threshold=threshold)
    out["metrics"].update(boot)
    return out


def _keys(jids, truth_ids) -> set[str]:
    pairs = pd.DataFrame({"j": pd.Series(jids, dtype="string"), "t": pd.Series(truth_ids, dtype="string")})
    pairs = pairs.dropna()
    return set(pairs["j"] + "|" + pairs["t"])


def _curve_summary(mag: np.ndarray, detected: np.ndarray, edges: np.ndarray) -> dict:
    curve = completeness_curve(mag, detected, bins=edges)
    return {
        "n_truth": int(np.isfinite(mag).sum()),
        "n_detected": int(detected[np.isfinite(mag)].sum()),
        "m50": magnitude_at_completeness(curve, level=0.5),
        "m80": magnitude_at_completeness(curve, level=0.8),
        "curve": curve.to_dict(orient="list"),
    }


def _completeness(tables: Tables, scored: pd.DataFrame, algorithm: str, threshold: float) -> dict:
    """Completeness curves of the test jobs: detection by each algorithm, then after this run's classifier."""
    test_jobs = set(tables.jobs.loc[tables.jobs["split"] == "test", "jid"].astype(str))
    truth = tables.truth[tables.truth["jid"].astype(str).isin(test_jobs)]
    if truth.empty:
        return {}
    cands = tables.candidates[tables.candidates["jid"].astype(str).isin(test_jobs)]
    mag = truth["mag"].to_numpy(float)
    lo, hi = math.floor(np.nanmin(mag)), math.ceil(np.nanmax(mag) + 1e-9)
    edges = np.arange(lo, hi + 0.25, 0.5)
    truth_keys = (truth["jid"].astype(str) + "|" + truth["truth_id"].astype(str)).to_numpy()
    algs = ("zogy", "sfft") if algorithm == "both" else (algorithm,)
    kept = scored[scored["score"] >= threshold]
    found = {}
    for alg in ("zogy", "sfft"):
        found[f"detection_{alg}"] = _keys(cands["jid"], cands[f"{alg}_truth_id"])
    found[f"classifier_{algorithm}"] = set().union(*(_keys(kept["jid"], kept[f"{a}_truth_id"]) for a in algs))
    if algorithm == "both":
        found["detection_both"] = found["detection_zogy"] | found["detection_sfft"]
    return {name: _curve_summary(mag, np.isin(truth_keys, list(keys)), edges) for name, keys in found.items()}


def _false_positives(tables: Tables, scored: pd.DataFrame, algorithm: str, threshold: float) -> dict:
    """Bogus candidates per test image, before and after the classifier, and m_th at 10 per image."""
    jobs = tables.jobs[(tables.jobs["split"] == "test") & tables.jobs["has_truth"].fillna(False)]
    n_images = len(jobs)
    if n_images == 0:
        return {}
    bogus = scored[scored["label"] == 0]
    kept = bogus["score"].to_numpy() >= threshold
    mag = candidate_ab_mag(bogus, tables.jobs, algorithm=algorithm)
    out = {"n_images": n_images}
    for name, sel in (("detection", np.ones_like(kept)), ("classifier", kept)):
        curve = false_positives_per_image(mag[sel], n_images, bin_width=0.5, mag_range=(15.0, 30.0))
        out[name] = {
            "fp_per_image": float(sel.sum() / n_images),
            "m_th_10": magnitude_at_fp_rate(curve, rate=10.0),
            "per_job": bogus[sel].groupby("jid").size().reindex(jobs["jid"], fill_value=0).to_dict(),
        }
    return out


def _scored_rows(tables: Tables, config: dict, test: pd.DataFrame) -> pd.DataFrame:
    rows = select_candidates(tables.candidates, algorithm=config["algorithm"], protocol=config["protocol"])
    scored = test[["candidate_id", "score"]].merge(rows, on="candidate_id", how="inner", validate="1:1")
    scored["label"] = scored["target"]
    return scored


def evaluate_run(
    run_dir: str | Path,
    dataset_dir: str | Path | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    plots: bool = True,
) -> dict:
    """Evaluate a run on its test split, write ``evaluation.json`` (and PNG plots) into the run, return the dict."""
    run = Path(run_dir)
    config, metrics, predictions = load_run(run)
    tables = load_tables(dataset_dir or config["dataset_dir"])
    threshold = float(metrics["threshold"])
    test = predictions[predictions["split"] == "test"].reset_index(drop=True)
    result = {
        "run": str(run),
        **{k: config[k] for k in ("algorithm", "model", "protocol")},
        "threshold": threshold,
        "threshold_rule": config.get("threshold_rule"),
        "n_boot": n_boot,
        "classification": _classification(test, threshold, n_boot=n_boot, seed=seed),
    }
    n_jobs = result["classification"]["n_jobs"]
    if n_jobs < MIN_JOBS_FOR_INTERVALS:
        result["note"] = f"only {n_jobs} test job(s): bootstrap intervals over jobs are not meaningful"
        log.warning("%s: %s", run.name, result["note"])
    scored = _scored_rows(tables, config, test)
    result["completeness"] = _completeness(tables, scored, config["algorithm"], threshold)
    result["false_positives"] = _false_positives(tables, scored, config["algorithm"], threshold)
    if plots:
        result["plots"] = _plot_run(run, result, scored, Path(dataset_dir or config["dataset_dir"]))
    write_json(run / "evaluation.json", result)
    return result


# ------------------------------------------------------------------------------------------------------
# Plots: matplotlib's object API (no pyplot), so no backend or display is touched
# ------------------------------------------------------------------------------------------------------


def _plot_run(run: Path, result: dict, scored: pd.DataFrame, dataset_dir: Path) -> list[str]:
    written = []
    y, score, thr = scored["label"].to_numpy(), scored["score"].to_numpy(float), result["threshold"]
    title = f"{result['algorithm']} / {result['model']} / protocol {result['protocol']} (test)"
    if 0 < y.sum() < y.size:
        written.append(_plot_roc(run / "roc.png", y, score, title, result["classification"]))
    if y.size:
        written.append(_plot_scores(run / "score_hist.png", y, score, thr, title))
        written.append(_plot_gallery(run / "gallery.png", scored, thr, result["algorithm"], dataset_dir))
    if result["completeness"]:
        written.append(plot_completeness(run / "completeness.png", result["completeness"], title))
    return [Path(p).name for p in written]


def _plot_roc(path: Path, y, score, title: str, classification: dict) -> Path:
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    auc = classification["metrics"]["roc_auc"]
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"AUC {auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", label="chance")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _plot_scores(path: Path, y, score, threshold: float, title: str) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 26)
    for value, name, color in ((0, "bogus", "tab:red"), (1, "real", "tab:blue")):
        ax.hist(
            score[y == value],
            bins=bins,
            histtype="step",
            lw=1.5,
            color=color,
            label=f"{name} ({(y == value).sum()})",
        )
    ax.axvline(threshold, ls="--", c="k", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="score", ylabel="candidates", title=title, yscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_completeness(path: Path, completeness: dict, title: str) -> Path:
    """Completeness curves with their Wilson bands; dashed: detection only, solid: after a classifier."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    colors = {"zogy": "tab:blue", "sfft": "tab:orange", "both": "tab:green"}
    for name, entry in completeness.items():
        curve = pd.DataFrame(entry["curve"])
        after = name.startswith("classifier")
        color = colors.get(name.rsplit("_", 1)[-1], None)
        m50 = entry["m50"]
        label = f"{name} (m50 {'n/a' if m50 is None or not np.isfinite(m50) else f'{m50:.2f}'})"
        x, y = curve["mag_center"], curve["completeness"]
        ax.plot(
            x, y, ls="-" if after else "--", marker="o" if after else None, ms=3, color=color, label=label
        )
        if after:  # bands for the final curves only, to keep the figure readable
            ax.fill_between(x, curve["low"], curve["high"], alpha=0.12, color=color)
    ax.set(xlabel="truth AB magnitude", ylabel="completeness", ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _plot_gallery(
    path: Path, scored: pd.DataFrame, threshold: float, algorithm: str, dataset_dir: Path, per_class: int = 4
) -> Path:
    """Difference-image cutouts of a few true/false positives/negatives (the first ones in candidate order)."""
    from matplotlib.figure import Figure

    from rapid_croissant.science.cutouts import extract_cutout

    pred = scored["score"].to_numpy() >= threshold
    real = scored["label"].to_numpy() == 1
    groups = {"TP": pred & real, "FP": pred & ~real, "TN": ~pred & ~real, "FN": ~pred & real}
    fig = Figure(figsize=(1.8 * per_class, 7.6))
    axes = fig.subplots(4, per_class, squeeze=False)
    for row, (name, sel) in enumerate(groups.items()):
        picks = scored[sel].sort_values("candidate_id").head(per_class)
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([]), ax.set_yticks([])
            if col >= len(picks):
                continue
            cand = picks.iloc[col]
            channel = (
                "zogy_diff"
                if algorithm == "zogy" or (algorithm == "both" and cand["detected_by"] != "sfft")
                else "sfft_diff"
            )
            image = np.load(Layout(dataset_dir).image(cand["jid"]), mmap_mode="r")
            cut, _ = extract_cutout(
                image[..., schema.CHANNELS.index(channel)], cand["cx"], cand["cy"], size=64
            )
            ax.imshow(cut, origin="lower", cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name} {cand['score']:.2f}", fontsize=8)
        axes[row, 0].set_ylabel(name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
