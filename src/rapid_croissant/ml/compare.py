"""Train and evaluate every (model, protocol, algorithm) combination and compare ZOGY with SFFT.

Differences come from a paired cluster bootstrap over test jobs (the same jobs drawn for both sides,
metrics.paired_group_bootstrap), and are called significant only when their 95 % interval excludes 0.
Under protocol A each algorithm keeps its own candidates; under B both see the same candidates.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.config import CANDIDATE_SETS, MODELS, PROTOCOLS, TrainConfig
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.cv import VAL_FRACTION
from rapid_croissant.ml.data import write_json
from rapid_croissant.ml.evaluate import MIN_JOBS_FOR_INTERVALS, evaluate_run
from rapid_croissant.ml.fom import PUBLISHED
from rapid_croissant.ml.metrics import LOWER_IS_BETTER, paired_group_bootstrap
from rapid_croissant.ml.run import ComparisonFolder, RunFolder
from rapid_croissant.ml.tables import COMPARED_METRICS, comparison_markdown
from rapid_croissant.ml.train import train

__all__ = ["COMPARED_METRICS", "compare", "format_comparison"]

log = logging.getLogger(__name__)

#: What the report needs of each run's evaluation, copied into comparison.json.
_FROM_EVALUATION = ("roc", "completeness", "false_positives", "figure_of_merit", "calibration", "tta", "note")


def _check(values, name: str, choices) -> tuple[str, ...]:
    values = tuple(values)
    bad = [v for v in values if v not in choices]
    if not values or bad:
        raise ValueError(f"{name} must be a non-empty selection of {choices}, got {values!r}")
    return values


def _run_one(dataset_dir: Path, config: TrainConfig, out: Path, n_boot: int) -> dict:
    entry = {"model": config.model, "protocol": config.protocol, "algorithm": config.algorithm}
    try:
        run = train(
            dataset_dir, config, run_root=out / "runs" / f"protocol_{config.protocol}", progress=False
        )
    except RapidCroissantError as err:
        log.warning("%s/%s/%s not trained: %s", config.model, config.protocol, config.algorithm, err)
        return {**entry, "error": str(err)}
    evaluation = evaluate_run(run, dataset_dir, n_boot=n_boot, seed=config.seed)
    cls = evaluation["classification"]
    entry.update(run=str(run.relative_to(out)), n_test=cls["n"], n_test_real=cls["n_real"])
    entry["n_test_jobs"] = cls["n_jobs"]
    entry["metrics"] = {k: cls.get("metrics", {}).get(k, {"value": math.nan}) for k in COMPARED_METRICS}
    entry.update({k: evaluation[k] for k in _FROM_EVALUATION if k in evaluation})
    return entry


def _run_cv(dataset_dir: Path, config: TrainConfig, out: Path, n_boot: int, k: int) -> dict:
    """Cross-validated entry: K fold runs, their pooled out-of-fold scores and metrics over all jobs."""
    from rapid_croissant.ml.cv import cross_validate
    from rapid_croissant.ml.evaluate import _classification, _roc_points

    entry = {"model": config.model, "protocol": config.protocol, "algorithm": config.algorithm}
    root = out / "runs" / f"protocol_{config.protocol}" / f"cv_{config.model}_{config.algorithm}"
    try:
        pooled, folds = cross_validate(dataset_dir, config, k, run_root=root)
    except RapidCroissantError as err:
        log.warning("%s/%s/%s not cross-validated: %s", config.model, config.protocol, config.algorithm, err)
        return {**entry, "error": str(err)}
    for fold in folds:  # relative to the comparison folder, like every other run path in it
        fold["run"] = str(Path(fold["run"]).relative_to(out))
    path = root / "out_of_fold.parquet"
    pooled.to_parquet(path, index=False)
    # each fold has its own threshold; the pooled threshold-free metrics are the ones compared
    cls = _classification(pooled, 0.5, n_boot=n_boot, seed=config.seed)
    entry.update(run=str(root.relative_to(out)), out_of_fold=str(path.relative_to(out)), folds=folds)
    entry.update(n_test=cls["n"], n_test_real=cls["n_real"], n_test_jobs=cls["n_jobs"])
    entry["metrics"] = {k: cls.get("metrics", {}).get(k, {"value": math.nan}) for k in COMPARED_METRICS}
    entry["roc"] = _roc_points(pooled)
    return entry


def _test_predictions(entry: dict, out: Path) -> pd.DataFrame:
    if "out_of_fold" in entry:
        return pd.read_parquet(out / entry["out_of_fold"])
    return RunFolder(out / entry["run"]).predictions("test")


def _verdict(diff: dict, a: str, b: str, metric: str, *, n_jobs: int) -> str:
    low, high = diff["low"], diff["high"]
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not available"
    if n_jobs < MIN_JOBS_FOR_INTERVALS:  # a percentile bootstrap over 2-4 jobs cannot support a verdict
        return f"undecided: only {n_jobs} test jobs"
    if low <= 0.0 <= high:
        return "no significant difference"
    a_better = (high < 0.0) if metric in LOWER_IS_BETTER else (low > 0.0)
    return f"{a if a_better else b} better"


def _paired(entries: dict, a: str, b: str, out: Path, *, n_boot: int, seed: int) -> list[dict]:
    """Paired bootstrap of each compared metric between two finished runs (A minus B)."""
    pa, pb = _test_predictions(entries[a], out), _test_predictions(entries[b], out)
    rows = []
    for metric in COMPARED_METRICS:
        if pa.empty or pb.empty:  # nothing to pair: one side has no labelled test rows
            diff = dict.fromkeys(("diff", "low", "high", "p_a_better"), math.nan)
            diff.update({k: entries[side]["metrics"][metric]["value"] for k, side in (("a", a), ("b", b))})
        else:
            diff = paired_group_bootstrap(
                pa["label"].to_numpy(),
                pa["score"].to_numpy(),
                pa["jid"].to_numpy(str),
                pb["label"].to_numpy(),
                pb["score"].to_numpy(),
                pb["jid"].to_numpy(str),
                metric=metric,
                n_boot=n_boot,
                seed=seed,
            )
        n_jobs = len(set(pa["jid"]) | set(pb["jid"]))
        verdict = _verdict(diff, a, b, metric, n_jobs=n_jobs)
        rows.append(
            {"metric": metric, "side_a": a, "side_b": b, **diff, "n_jobs": n_jobs, "verdict": verdict}
        )
    return rows


def compare(
    dataset_dir: str | Path,
    *,
    out_dir: str | Path,
    models=("gbt", "cnn"),
    algorithms=CANDIDATE_SETS,
    protocols=PROTOCOLS,
    n_boot: int = 1000,
    epochs: int = 30,
    seed: int = 0,
    progress: bool | None = None,
    cv: int | None = None,
    cross_features: bool = False,
) -> dict:
    """Train + evaluate every combination, then write ``comparison.json`` and ``comparison.md`` into
    ``out_dir``. With ``cv`` = K, grouped K-fold cross-validation by sky field (ml/cv.py) replaces the
    dataset's splits: the metrics pool the out-of-fold scores of every labelled job."""
    from tqdm.auto import tqdm

    models = _check(models, "models", MODELS)
    algorithms = _check(algorithms, "algorithms", CANDIDATE_SETS)
    protocols = _check(protocols, "protocols", PROTOCOLS)
    dataset_dir, out = Path(dataset_dir).resolve(), Path(out_dir)
    if cv is not None:  # one clear error before anything is trained, not a table of "not trained" rows
        from rapid_croissant.ml.cv import check_folds
        from rapid_croissant.ml.data import load_tables

        check_folds(load_tables(dataset_dir).jobs, cv, dataset_dir)
    out.mkdir(parents=True, exist_ok=True)
    combos = list(itertools.product(models, protocols, algorithms))
    show = sys.stderr.isatty() if progress is None else progress
    runs = []
    for model, protocol, algorithm in tqdm(combos, desc="compare", disable=not show):
        config = TrainConfig(
            algorithm=algorithm,
            protocol=protocol,
            model=model,
            epochs=epochs,
            seed=seed,
            cross_features=cross_features,
        )
        if cv:
            runs.append(_run_cv(dataset_dir, config, out, n_boot, cv))
        else:
            runs.append(_run_one(dataset_dir, config, out, n_boot))
    done = {(r["model"], r["protocol"], r["algorithm"]): r for r in runs if "run" in r}
    pairs = []
    for model, protocol in itertools.product(models, protocols):
        sides = {alg: done.get((model, protocol, alg)) for alg in ("zogy", "sfft")}
        if all(sides.values()):
            for row in _paired(sides, "zogy", "sfft", out, n_boot=n_boot, seed=seed):
                pairs.append({"comparison": "zogy vs sfft", "model": model, "protocol": protocol, **row})
    for protocol, algorithm in itertools.product(protocols, algorithms):
        sides = {m: done.get((m, protocol, algorithm)) for m in ("cnn", "gbt")}
        if all(sides.values()):
            for row in _paired(sides, "cnn", "gbt", out, n_boot=n_boot, seed=seed):
                pairs.append(
                    {"comparison": "cnn vs gbt", "algorithm": algorithm, "protocol": protocol, **row}
                )
    result = {"dataset_dir": str(dataset_dir), "n_boot": n_boot, "epochs": epochs, "seed": seed}
    result["cross_features"] = cross_features
    result["evaluation"] = (
        {"kind": "cross-validation", "k": cv, "grouped_by": "sky field", "val_fraction": VAL_FRACTION}
        if cv
        else {"kind": "test split"}
    )
    result.update(runs=runs, paired=pairs, published_fom=PUBLISHED)
    result["fom_note"] = (
        "RAPID's FOM is a weighted mean of m_th, m80, m20, m5sigma and m_ph10 at a 0.5 px match radius; "
        "m5sigma and m_ph10 are not measured here, so no FOM of ours is given"
    )
    result["plots"] = _completeness_plots(done, models, protocols, out)
    folder = ComparisonFolder(out)
    write_json(folder.json, result)
    folder.markdown.write_text(format_comparison(result))
    return result


def _completeness_plots(done: dict, models, protocols, out: Path) -> list[str]:
    """One figure per model and protocol: ZOGY and SFFT completeness, detection and after the classifier."""
    from rapid_croissant.ml import plots

    written = []
    for model, protocol in itertools.product(models, protocols):
        curves = {}
        for alg in ("zogy", "sfft"):
            comp = done.get((model, protocol, alg), {}).get("completeness", {})
            curves.update({k: comp[k] for k in (f"detection_{alg}", f"classifier_{alg}") if k in comp})
        if curves:
            title = f"ZOGY vs SFFT completeness, {model}, protocol {protocol} (test)"
            path = ComparisonFolder(out).figure(model, protocol)
            written.append(
                plots.save(plots.completeness_figure({title: curves}, bands="classifier"), path).name
            )
    return written


def format_comparison(result: dict) -> str:
    """Markdown: the per-run metrics table, the paired "which wins" tables and the figure of merit."""
    n_jobs = [r["n_test_jobs"] for r in result["runs"] if "n_test_jobs" in r]
    caution = None
    if n_jobs and min(n_jobs) < MIN_JOBS_FOR_INTERVALS:
        caution = (
            f"Caution: a run has only {min(n_jobs)} test job(s); intervals over so few jobs mean little."
        )
    return comparison_markdown(result, caution=caution)
