"""Evaluate a training run on the TEST split: classifier metrics with job-bootstrap intervals and RAPID's
end-to-end quantities (completeness against truth magnitude, false positives per image, m50/m80, m_th).

``evaluate`` is the only step that computes test numbers, each with one bootstrap pass over test jobs.
Completeness is measured against every truth source of the test jobs, detected or not (ml_evaluation.md §4.1).
A truth source is detected by an algorithm when its truth_id is the ``<alg>_truth_id`` of one of that
algorithm's candidates in the same job; after the classifier, that candidate must also score >= threshold
(under protocol B only candidates detected by both algorithms are scored, so that curve is lower).

CNN runs are scored by default as the mean over the 8 rotations/flips of each cutout (ml/tta.py; it raised
the domain-A validation AUC of every CNN of the transfer benchmark), with the threshold re-chosen on val.
A calibration map fitted on val (ml/calibration.py) gives P(real) next to each score (evaluated.parquet),
the test Brier score and ECE before and after, and the reliability diagram; ranking metrics and the
threshold always use the scores.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant import formats
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.calibration import apply_calibration, calibration_summary
from rapid_croissant.ml.data import Tables, load_tables, select_candidates
from rapid_croissant.ml.fom import PUBLISHED, completeness_summary, false_positive_summary
from rapid_croissant.ml.metrics import choose_threshold, group_bootstrap
from rapid_croissant.ml.run import RunFolder

__all__ = ["EVALUATED", "MIN_JOBS_FOR_INTERVALS", "candidate_ab_mag", "evaluate_run", "scores_for"]

log = logging.getLogger(__name__)

#: Val and test scores as evaluated (dihedral-averaged with --tta) with their calibrated probability.
EVALUATED = "evaluated.parquet"
#: Intervals from fewer test jobs than this are reported but flagged as not meaningful.
MIN_JOBS_FOR_INTERVALS = 5


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
    """Every classifier metric at ``threshold`` with its interval, from one bootstrap pass over test jobs."""
    y, score = test["label"].to_numpy(np.int64), test["score"].to_numpy(float)
    out = {"n": int(y.size), "n_real": int(y.sum()), "n_jobs": int(test["jid"].nunique())}
    if y.size == 0:
        return out
    groups = test["jid"].to_numpy(str)
    boot = group_bootstrap(y, score, groups, n_boot=n_boot, seed=seed, threshold=threshold)
    out["metrics"] = {k: v for k, v in boot.items() if k not in ("n", "n_pos", "n_neg", "threshold")}
    return out


def _roc_points(test: pd.DataFrame) -> dict:
    """The test ROC curve (sklearn's corner points), for the report's log-FPR figure."""
    from sklearn.metrics import roc_curve

    y = test["label"].to_numpy(np.int64)
    if not 0 < y.sum() < y.size:
        return {}
    fpr, tpr, _ = roc_curve(y, test["score"].to_numpy(float))
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}


def _keys(jids, truth_ids) -> set[str]:
    pairs = pd.DataFrame({"j": pd.Series(jids, dtype="string"), "t": pd.Series(truth_ids, dtype="string")})
    pairs = pairs.dropna()
    return set(pairs["j"] + "|" + pairs["t"])


def _algorithms(algorithm: str) -> tuple[str, ...]:
    return ("zogy", "sfft") if algorithm == "both" else (algorithm,)


def _completeness(tables: Tables, scored: pd.DataFrame, algorithm: str, threshold: float, **boot) -> dict:
    """Completeness of the test jobs: detection by each algorithm, then after this run's classifier."""
    test_jobs = set(tables.jobs.loc[tables.jobs["split"] == "test", "jid"].astype(str))
    truth = tables.truth[tables.truth["jid"].astype(str).isin(test_jobs)]
    if truth.empty:
        return {}
    cands = tables.candidates[tables.candidates["jid"].astype(str).isin(test_jobs)]
    mag = truth["mag"].to_numpy(float)
    lo, hi = math.floor(np.nanmin(mag)), math.ceil(np.nanmax(mag) + 1e-9)
    edges = np.arange(lo, hi + 0.25, 0.5)
    truth_keys = (truth["jid"].astype(str) + "|" + truth["truth_id"].astype(str)).to_numpy()
    kept = scored[scored["score"] >= threshold]
    found = {f"detection_{alg}": _keys(cands["jid"], cands[f"{alg}_truth_id"]) for alg in ("zogy", "sfft")}
    found[f"classifier_{algorithm}"] = set().union(
        *(_keys(kept["jid"], kept[f"{a}_truth_id"]) for a in _algorithms(algorithm))
    )
    if algorithm == "both":
        found["detection_both"] = found["detection_zogy"] | found["detection_sfft"]
    jids = truth["jid"].astype(str).to_numpy()
    return {
        name: completeness_summary(mag, np.isin(truth_keys, list(keys)), jids, edges, **boot)
        for name, keys in found.items()
    }


def _false_positives(tables: Tables, scored: pd.DataFrame, config: dict, threshold: float, **boot) -> dict:
    """Bogus candidates per test image with m_th: each algorithm's detections, then after the classifier."""
    jobs = tables.jobs[(tables.jobs["split"] == "test") & tables.jobs["has_truth"].fillna(False)]
    images = jobs["jid"].astype(str).tolist()
    if not images:
        return {}
    algorithm, protocol = config["algorithm"], config["protocol"]
    cands = tables.candidates[tables.candidates["jid"].astype(str).isin(images)]
    stages = {}
    for alg in (*_algorithms(algorithm), *(("both",) if algorithm == "both" else ())):
        rows = select_candidates(cands, algorithm=alg, protocol=protocol)
        stages[f"detection_{alg}"] = (rows[rows["target"] == 0], alg)
    bogus = scored[scored["label"] == 0]
    stages[f"classifier_{algorithm}"] = (bogus[bogus["score"].to_numpy() >= threshold], algorithm)
    out = {}
    for name, (rows, alg) in stages.items():
        mag = candidate_ab_mag(rows, tables.jobs, algorithm=alg)
        out[name] = false_positive_summary(mag, rows["jid"].astype(str), images, **boot)
    return out


def _figure_of_merit(result: dict) -> dict:
    """RAPID's figure-of-merit table: per algorithm and stage, next to RAPID's published values."""
    rows, fps = [], result["false_positives"]
    for name, comp in result["completeness"].items():
        if fps and name not in fps:  # another algorithm's detection curve (kept for the comparison plots)
            continue
        stage, alg = name.split("_", 1)
        fp = fps.get(name, {})
        row = {"curve": name, "algorithm": alg, "stage": stage, **{m: comp[m] for m in ("m50", "m80", "m20")}}
        row["fp_per_image"] = fp.get("fp_per_image", {"value": None, "reason": "no test image with truth"})
        row["m_th_10"] = fp.get("m_th_10", {"value": None, "reason": "no test image with truth"})
        rows.append(row)
    return {
        "rows": rows,
        "published": PUBLISHED,
        "fom": "not computed: RAPID's FOM also needs m5sigma and m_ph10, which a candidate table cannot give",
    }


def _scored_rows(tables: Tables, config: dict, test: pd.DataFrame) -> pd.DataFrame:
    rows = select_candidates(tables.candidates, algorithm=config["algorithm"], protocol=config["protocol"])
    scored = test[["candidate_id", "score"]].merge(rows, on="candidate_id", how="inner", validate="1:1")
    scored["label"] = scored["target"]
    return scored


def _tta_predictions(
    run: RunFolder, config: dict, tables: Tables, dataset: Path, device: str
) -> pd.DataFrame:
    """The run's val and test rows scored again, each the CNN's mean over the 8 dihedral views."""
    from rapid_croissant.ml.data import feature_matrix
    from rapid_croissant.ml.score import predict_cnn

    pred = run.predictions()
    rows = select_candidates(tables.candidates, algorithm=config["algorithm"], protocol=config["protocol"])
    rows = pred[["candidate_id"]].merge(rows, on="candidate_id", how="left", validate="1:1")
    if rows["jid"].isna().any():
        raise RapidCroissantError(
            f"{dataset}: lacks candidates the run {run.path.name} was validated/tested on"
        )
    stats = run.feature_stats()
    X, _, _ = feature_matrix(rows, algorithm=config["algorithm"], stats=stats)
    out = pred.copy()
    out["score"] = predict_cnn(run, config, rows, X, stats, dataset, device=device, tta=True)
    return out


def scores_for(run_dir: str | Path, dataset_dir: str | Path, *, tta: bool, device: str = "cpu"):
    """(val+test predictions, threshold) of a run, dihedral-averaged when ``tta`` (the benchmarks' entry)."""
    run = RunFolder(run_dir)
    return _scores(run, run.config(), load_tables(dataset_dir), Path(dataset_dir), tta=tta, device=device)


def _scores(run: RunFolder, config: dict, tables: Tables, dataset: Path, *, tta: bool, device: str):
    """(val+test predictions, threshold): the run's own, or dihedral-averaged with a threshold re-chosen on
    val by the run's rule (never on test)."""
    if not tta:
        return run.predictions(), float(run.metrics()["threshold"])
    pred = _tta_predictions(run, config, tables, dataset, device)
    val = pred[pred["split"] == "val"]
    rule = config.get("threshold_rule") or "f1"
    return pred, float(choose_threshold(val["label"].to_numpy(), val["score"].to_numpy(), rule=rule))


def _calibrate(run: RunFolder, pred: pd.DataFrame, method: str, tta: bool, threshold: float) -> dict:
    """Fit the calibration on val, keep calibrated probabilities next to the scores (evaluated.parquet)."""
    val, test = pred[pred["split"] == "val"], pred[pred["split"] == "test"]
    summary = calibration_summary(
        val["label"].to_numpy(),
        val["score"].to_numpy(),
        test["label"].to_numpy(),
        test["score"].to_numpy(),
        method=method,
    )
    out = pred.copy()
    out["probability"] = apply_calibration(summary["map"], out["score"].to_numpy())
    out.to_parquet(run.file(EVALUATED), index=False)
    post = {"tta": tta, "threshold": threshold, "threshold_chosen_on": "val", "calibration": summary["map"]}
    return summary, post


def evaluate_run(
    run_dir: str | Path,
    dataset_dir: str | Path | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    plots: bool = True,
    tta: bool = True,
    calibration: str = "platt",
    device: str = "cpu",
) -> dict:
    """Evaluate a run on its test split, write ``evaluation.json`` (and PNG plots) into the run, return the
    dict.

    ``tta`` (CNN runs): score val and test as the mean over the 8 dihedral views and re-choose the threshold
    on val. ``calibration`` (platt, isotonic, none): a map to P(real) fitted on val; the ranking metrics
    and the threshold use the scores, never the calibrated probabilities.
    """
    run = RunFolder(run_dir)
    run.check_trained()
    config = run.config()
    if tta and config["model"] != "cnn":
        log.info("%s: dihedral averaging applies to CNN runs only; scores unchanged", run.path.name)
        tta = False
    dataset = Path(dataset_dir or config["dataset_dir"])
    tables = load_tables(dataset)
    pred, threshold = _scores(run, config, tables, dataset, tta=tta, device=device)
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    calib, post = _calibrate(run, pred, calibration, tta, threshold)
    result = {
        "run": str(run.path),
        **{k: config[k] for k in ("algorithm", "model", "protocol")},
        "threshold": threshold,
        "threshold_rule": config.get("threshold_rule"),
        "tta": tta,
        "n_boot": n_boot,
        "classification": _classification(test, threshold, n_boot=n_boot, seed=seed),
        "roc": _roc_points(test),
        "calibration": calib,
        "postprocess": post,
    }
    n_jobs = result["classification"]["n_jobs"]
    if n_jobs < MIN_JOBS_FOR_INTERVALS:
        result["note"] = f"only {n_jobs} test job(s): bootstrap intervals over jobs are not meaningful"
        log.warning("%s: %s", run.path.name, result["note"])
    scored = _scored_rows(tables, config, test)
    boot = {"n_boot": n_boot, "seed": seed}
    result["completeness"] = _completeness(tables, scored, config["algorithm"], threshold, **boot)
    result["false_positives"] = _false_positives(tables, scored, config, threshold, **boot)
    result["figure_of_merit"] = _figure_of_merit(result)
    if plots:
        result["plots"] = _plot_run(run, result, scored, dataset)
    run.write_json(RunFolder.EVALUATION, result)
    return result


def _plot_run(run: RunFolder, result: dict, scored: pd.DataFrame, dataset: Path) -> list[str]:
    from rapid_croissant.ml import plots

    names, y, score = RunFolder.PLOTS, scored["label"].to_numpy(), scored["score"].to_numpy(float)
    title = f"{result['algorithm']} / {result['model']} / protocol {result['protocol']} (test)"
    figures = {}
    if result["roc"]:
        auc = result["classification"]["metrics"]["roc_auc"]
        curve = {"label": result["algorithm"], "algorithm": result["algorithm"], **result["roc"], "auc": auc}
        figures["roc"] = plots.roc_figure({title: [curve]})
    if y.size:
        figures["scores"] = plots.score_histogram(y, score, result["threshold"], title)
        gallery = _gallery(scored, result["threshold"], result["algorithm"], dataset)
        if gallery is not None:
            figures["gallery"] = gallery
    if result["calibration"]["reliability_raw"]:
        figures["reliability"] = plots.reliability_figure({title: result["calibration"]})
    if result["completeness"]:
        figures["completeness"] = plots.completeness_figure(
            {title: result["completeness"]}, bands="classifier"
        )
    return [plots.save(fig, run.file(names[kind])).name for kind, fig in figures.items()]


def _gallery(scored: pd.DataFrame, threshold: float, algorithm: str, dataset: Path, per_class: int = 4):
    """Difference-image cutouts of the first true/false positives/negatives; None without image tensors."""
    from rapid_croissant.ml import plots
    from rapid_croissant.science.cutouts import extract_cutout

    layout = Layout(dataset)
    if not layout.images_dir.is_dir():
        log.info("%s: no image tensors (built with --no-full-images): no gallery", dataset)
        return None
    pred, real = scored["score"].to_numpy() >= threshold, scored["label"].to_numpy() == 1
    groups = {"TP": pred & real, "FP": pred & ~real, "TN": ~pred & ~real, "FN": ~pred & real}
    cutouts = np.full((4, per_class, 64, 64), np.nan, dtype=np.float32)
    titles = [[""] * per_class for _ in groups]
    for row, sel in enumerate(groups.values()):
        picks = scored[sel].sort_values("candidate_id").head(per_class)
        for col, cand in enumerate(picks.itertuples()):
            own = algorithm == "zogy" or (algorithm == "both" and cand.detected_by != "sfft")
            channel = schema.CHANNELS.index("zogy_diff" if own else "sfft_diff")
            path = layout.image(cand.jid)
            if not path.is_file():
                continue
            image = np.load(path, mmap_mode="r")
            cutouts[row, col], _ = extract_cutout(image[..., channel], cand.cx, cand.cy, size=64)
            titles[row][col] = f"{list(groups)[row]} {cand.score:.2f}"
    cols = [f"#{k + 1}" for k in range(per_class)]
    return plots.gallery_figure(cutouts, list(groups), cols, "difference cutouts (test)", cell_titles=titles)
