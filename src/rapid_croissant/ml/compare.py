"""Train and evaluate every (model, protocol, algorithm) combination and compare ZOGY with SFFT.

Differences come from a paired cluster bootstrap over test jobs (the same jobs drawn for both sides,
metrics.paired_group_bootstrap), and are called significant only when their 95 % interval excludes 0.
Under protocol A each algorithm keeps its own candidates; under B both see the same candidates.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.data import ALGORITHMS, PROTOCOLS, write_json
from rapid_croissant.ml.evaluate import MIN_JOBS_FOR_INTERVALS, evaluate_run, load_run
from rapid_croissant.ml.metrics import LOWER_IS_BETTER, paired_group_bootstrap
from rapid_croissant.ml.train import MODELS, TrainConfig, train

__all__ = ["COMPARED_METRICS", "compare", "format_comparison"]

log = logging.getLogger(__name__)

#: Metrics of the comparison tables; the last two are lower-is-better operating points.
COMPARED_METRICS = ("roc_auc", "average_precision", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct")


def _check(values, name: str, choices) -> tuple[str, ...]:
    values = tuple(values)
    bad = [v for v in values if v not in choices]
    if not values or bad:
        raise ValueError(f"{name} must be a non-empty selection of {choices}, got {values!r}")
    return values


def _run_one(dataset_dir: Path, config: TrainConfig, runs: Path, n_boot: int) -> dict:
    entry = {"model": config.model, "protocol": config.protocol, "algorithm": config.algorithm}
    try:
        run = train(dataset_dir, config, run_root=runs, progress=False)
    except RapidCroissantError as err:
        log.warning("%s/%s/%s not trained: %s", config.model, config.protocol, config.algorithm, err)
        return {**entry, "error": str(err)}
    evaluation = evaluate_run(run, dataset_dir, n_boot=n_boot, seed=config.seed)
    cls = evaluation["classification"]
    entry.update(run=str(run), n_test=cls["n"], n_test_real=cls["n_real"], n_test_jobs=cls["n_jobs"])
    entry["metrics"] = {k: cls.get("metrics", {}).get(k, {"value": math.nan}) for k in COMPARED_METRICS}
    classifier = evaluation["completeness"].get(f"classifier_{config.algorithm}", {})
    entry["m50_classifier"] = classifier.get("m50", math.nan)
    entry["fp_per_image_classifier"] = evaluation["false_positives"].get("classifier", {}).get("fp_per_image")
    return entry


def _test_predictions(entry: dict) -> pd.DataFrame:
    _, _, predictions = load_run(entry["run"])
    return predictions[predictions["split"] == "test"]


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


def _paired(entries: dict, a: str, b: str, *, n_boot: int, seed: int) -> list[dict]:
    """Paired bootstrap of each compared metric between two finished runs (A minus B)."""
    pa, pb = _test_predictions(entries[a]), _test_predictions(entries[b])
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
    algorithms=ALGORITHMS,
    protocols=PROTOCOLS,
    n_boot: int = 1000,
    epochs: int = 30,
    seed: int = 0,
    progress: bool | None = None,
) -> dict:
    """Train + evaluate every combination, then write ``comparison.json`` and ``comparison.md`` into ``out_dir``."""
    from tqdm.auto import tqdm

    models = _check(models, "models", MODELS)
    algorithms = _check(algorithms, "algorithms", ALGORITHMS)
    protocols = _check(protocols, "protocols", PROTOCOLS)
    dataset_dir, out = Path(dataset_dir).resolve(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    combos = list(itertools.product(models, protocols, algorithms))
    show = sys.stderr.isatty() if progress is None else progress
    runs = []
    for model, protocol, algorithm in tqdm(combos, desc="compare", disable=not show):
        config = TrainConfig(algorithm=algorithm, protocol=protocol, model=model, epochs=epochs, seed=seed)
        runs.append(_run_one(dataset_dir, config, out / "runs" / f"protocol_{protocol}", n_boot))
    done = {(r["model"], r["protocol"], r["algorithm"]): r for r in runs if "run" in r}
    pairs = []
    for model, protocol in itertools.product(models, protocols):
        sides = {alg: done.get((model, protocol, alg)) for alg in ("zogy", "sfft")}
        if all(sides.values()):
            for row in _paired(sides, "zogy", "sfft", n_boot=n_boot, seed=seed):
                pairs.append({"comparison": "zogy vs sfft", "model": model, "protocol": protocol, **row})
    for protocol, algorithm in itertools.product(protocols, algorithms):
        sides = {m: done.get((m, protocol, algorithm)) for m in ("cnn", "gbt")}
        if all(sides.values()):
            for row in _paired(sides, "cnn", "gbt", n_boot=n_boot, seed=seed):
                pairs.append(
                    {"comparison": "cnn vs gbt", "algorithm": algorithm, "protocol": protocol, **row}
                )
    result = {"dataset_dir": str(dataset_dir), "n_boot": n_boot, "epochs": epochs, "seed": seed}
    result.update(runs=runs, paired=pairs, plots=_completeness_plots(done, models, protocols, out))
    write_json(out / "comparison.json", result)
    (out / "comparison.md").write_text(format_comparison(result))
    return result


def _completeness_plots(done: dict, models, protocols, out: Path) -> list[str]:
    """One figure per model and protocol: ZOGY and SFFT completeness, detection and after the classifier."""
    from rapid_croissant.ml.evaluate import plot_completeness

    written = []
    for model, protocol in itertools.product(models, protocols):
        curves = {}
        for alg in ("zogy", "sfft"):
            entry = done.get((model, protocol, alg))
            if entry is not None:
                evaluation = json.loads((Path(entry["run"]) / "evaluation.json").read_text())
                comp = evaluation["completeness"]
                curves.update({k: comp[k] for k in (f"detection_{alg}", f"classifier_{alg}") if k in comp})
        if curves:
            path = out / f"completeness_{model}_{protocol}.png"
            plot_completeness(path, curves, f"ZOGY vs SFFT completeness, {model}, protocol {protocol} (test)")
            written.append(path.name)
    return written


def _interval(entry: dict) -> str:
    value, low, high = (entry.get(k, math.nan) for k in ("value", "low", "high"))
    if value is None or not np.isfinite(value):
        return "n/a"
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def format_comparison(result: dict) -> str:
    """Markdown: the per-run metrics table and the paired "which wins" tables."""
    lines = ["# Real/bogus classifiers: ZOGY vs SFFT", ""]
    lines.append(f"Test split only; 95 % intervals from {result['n_boot']} bootstrap resamples of test jobs.")
    n_jobs = [r["n_test_jobs"] for r in result["runs"] if "n_test_jobs" in r]
    if n_jobs and min(n_jobs) < MIN_JOBS_FOR_INTERVALS:
        lines.append(
            f"Caution: a run has only {min(n_jobs)} test job(s); intervals over so few jobs mean little."
        )
    lines.append("")
    head = ["model", "protocol", "algorithm", "test rows (real)", "jobs", *COMPARED_METRICS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["runs"]:
        if "error" in r:
            cells = [r["model"], r["protocol"], r["algorithm"], "not trained: " + r["error"], "", *[""] * 4]
        else:
            cells = [r["model"], r["protocol"], r["algorithm"], f"{r['n_test']} ({r['n_test_real']})"]
            cells += [str(r["n_test_jobs"]), *(_interval(r["metrics"][m]) for m in COMPARED_METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    for kind, key in (("zogy vs sfft", "model"), ("cnn vs gbt", "algorithm")):
        rows = [p for p in result["paired"] if p["comparison"] == kind]
        a, b = kind.split(" vs ")
        lines += ["", f"## Which wins: {kind} (difference {a} - {b}, paired over the same test jobs)", ""]
        if not rows:
            lines.append("No pair of finished runs to compare.")
            continue
        head = [key, "protocol", "metric", a, b, f"{a} - {b} [95 % interval]", "verdict"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in rows:
            diff = _interval({"value": p["diff"], "low": p["low"], "high": p["high"]})
            cells = [
                p[key],
                p["protocol"],
                p["metric"],
                _interval({"value": p["a"]}),
                _interval({"value": p["b"]}),
            ]
            lines.append("| " + " | ".join([*cells, diff, p["verdict"]]) + " |")
    lines += [
        "",
        "Lower is better for " + ", ".join(m for m in COMPARED_METRICS if m in LOWER_IS_BETTER) + ".",
    ]
    return "\n".join(lines) + "\n"
