"""Transfer benchmark: train on simulated domain A, test on domain B, and on B at RAPID's class balance.

    python benchmarks/bench_transfer.py --work .bench/transfer                 # simulate, build, train, test
    python benchmarks/bench_transfer.py --work .bench/transfer --write BENCHMARKS.md

Domain A and domain B differ in PSF width and wings, PSF-model mismatch, registration error, noise and
artefact mix (simulate/domains.py); each has two epochs per sky field. One dataset is built from the A
and B job folders together (job numbers 1001+ for A, 3001+ for B, 5001+ for B at RAPID's density), then
its split columns are rewritten: A's train split trains, A's val and test splits validate (early stopping
and the threshold), every B job is test. Nothing of B is seen before the test predictions.

Per algorithm (zogy, sfft) and model (gbt; gbtx, trees that also see the other algorithm's features; cnn
with test-time dihedral averaging, and without; their averages "ens" and "ensx"): test ROC AUC, average
precision, FPR at FNR 5 % (with 95 % intervals that resample test jobs), and false positives per image
at 90 % completeness (the threshold that keeps 90 % of the real test candidates; completeness among
detected reals, per test image). Results go to WORK/transfer.json and, with --write, to a section of
BENCHMARKS.md between ``<!-- transfer:start -->`` and ``<!-- transfer:end -->``. The best model per
algorithm is chosen on A's validation ROC AUC; B is never consulted for a choice. ``--reuse-runs`` reuses
finished runs of the same configuration in WORK/runs (the CNN takes most of the time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

START, END = "<!-- transfer:start -->", "<!-- transfer:end -->"
SIMS = {
    # name: (domain, density, first jid, seed)
    "A": ("A", "sim", 1001, 1),
    "B": ("B", "sim", 3001, 2),
    "Brapid": ("B", "rapid", 5001, 3),
}
METRICS = ("roc_auc", "average_precision", "fpr_at_fnr_5pct")


def _log(msg: str) -> None:
    print(f"[transfer] {msg}", flush=True)


def simulate(work: Path, name: str, n: int) -> Path:
    """Simulate (or reuse) the job folders of one domain."""
    from rapid_croissant.simulate.core import simulate_jobs

    domain, density, first, seed = SIMS[name]
    out = work / f"sim{name}"
    if len(list(out.glob("jid*"))) >= n and (out / "answer_key" / "simulation.json").is_file():
        _log(f"{name}: reusing {out}")
        return out
    t0 = time.perf_counter()
    simulate_jobs(
        out,
        n=n,
        size=512,
        seed=seed,
        domain=domain,
        density=density,
        epochs_per_field=2,
        first_jid=first,
        progress=False,
    )
    _log(f"{name}: simulated {n} jobs in {time.perf_counter() - t0:.0f} s")
    return out


def _link_jobs(src: Path, dst: Path) -> list[str]:
    names = []
    for job in sorted(src.glob("jid*")):
        if not (dst / job.name).exists():
            shutil.copytree(job, dst / job.name, copy_function=os.link)
        names.append(job.name)
    return names


def _rewrite_splits(ds: Path, test_jobs: set[str]) -> None:
    """A's train split trains, A's val+test validate, the other domain's jobs are the test split."""
    from rapid_croissant.dataset import layout
    from rapid_croissant.vocabulary import SPLITS

    jobs = pd.read_parquet(ds / layout.JOBS_PARQUET)
    split = jobs["split"].replace({"test": "val"}).where(~jobs["jid"].isin(test_jobs), "test")
    jobs["split"] = split.astype("string")
    split_of = dict(zip(jobs["jid"], jobs["split"], strict=True))
    cand = pd.read_parquet(ds / layout.CANDIDATES_PARQUET)
    cand["split"] = cand["jid"].map(split_of).astype("string")
    jobs.to_parquet(ds / layout.JOBS_PARQUET, index=False)
    cand.to_parquet(ds / layout.CANDIDATES_PARQUET, index=False)
    for s in SPLITS:
        cand[cand["split"] == s].reset_index(drop=True).to_parquet(
            ds / layout.candidates_split_name(s), index=False
        )


def _built_from(ds: Path, jobs_dir: Path) -> bool:
    """A dataset built earlier from exactly these job folders (and its splits rewritten)."""
    from rapid_croissant.dataset import layout

    if not (ds / layout.JOBS_PARQUET).is_file():
        return False
    jobs = pd.read_parquet(ds / layout.JOBS_PARQUET)
    return set(jobs["jid"].astype(str)) == {j.name for j in jobs_dir.glob("jid*")}


def transfer_dataset(work: Path, train_dir: Path, test_dir: Path, name: str) -> Path:
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.pipeline.pipeline import build_dataset

    jobs_dir, ds = work / f"jobs_{name}", work / f"ds_{name}"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    _link_jobs(train_dir, jobs_dir)
    test_jobs = set(_link_jobs(test_dir, jobs_dir))
    if _built_from(ds, jobs_dir):
        _log(f"{name}: reusing {ds}")
        return ds
    t0 = time.perf_counter()
    summary = build_dataset(BuildConfig(input_dir=jobs_dir, output_dir=ds, workers=2), progress=False)
    if summary.failed:
        raise SystemExit(f"build failed: {[r.error for r in summary.failed]}")
    _rewrite_splits(ds, test_jobs)
    _log(f"{name}: built {summary.n_candidates} candidates in {time.perf_counter() - t0:.0f} s")
    return ds


def fp_per_image_at(test: pd.DataFrame, completeness: float = 0.90) -> float:
    """Bogus test candidates per test image above the score that keeps ``completeness`` of the reals."""
    real = np.sort(test.loc[test["label"] == 1, "score"].to_numpy())[::-1]
    if real.size == 0:
        return float("nan")
    cut = real[int(np.ceil(completeness * real.size)) - 1]
    n_fp = int(((test["label"] == 0) & (test["score"] >= cut)).sum())
    return n_fp / max(test["jid"].nunique(), 1)


def _summary(test: pd.DataFrame, n_boot: int) -> dict:
    from rapid_croissant.ml.metrics import group_bootstrap

    y, s = test["label"].to_numpy(np.int64), test["score"].to_numpy(float)
    boot = group_bootstrap(y, s, test["jid"].to_numpy(str), n_boot=n_boot, seed=0, threshold=0.5)
    out = {m: boot[m] for m in METRICS}
    out["fp_per_image_at_90pct"] = fp_per_image_at(test)
    out.update(n=int(y.size), n_real=int(y.sum()), n_jobs=int(test["jid"].nunique()))
    return out


#: Bench model name -> (train model, cross_features).
KINDS = {"gbt": ("gbt", False), "gbtx": ("gbt", True), "cnn": ("cnn", False)}
#: Averages of two models' scores (the CNN's dihedral-averaged).
ENSEMBLES = {"ens": ("gbt", "cnn"), "ensx": ("gbtx", "cnn")}


def _trained(ds: Path, work: Path, alg: str, name: str, *, epochs: int, reuse: bool) -> Path:
    """Train one model, or reuse the newest run of the same configuration (``--reuse-runs``)."""
    from rapid_croissant.ml.train import TrainConfig, train

    model, cross = KINDS[name]
    cfg = TrainConfig(algorithm=alg, model=model, epochs=epochs, seed=0, num_threads=2, cross_features=cross)
    root = work / "runs" / ds.name
    if reuse:
        for run in sorted(root.glob(f"*_{alg}_{model}"), reverse=True):
            c = json.loads((run / "config.json").read_text())
            same = c.get("cross_features", False) == cross and c["epochs"] == epochs and c["seed"] == 0
            if same and (run / "predictions.parquet").is_file():
                _log(f"{ds.name} {alg}/{name}: reusing {run.name}")
                return run
    return train(ds, cfg, run_root=root, progress=False)


def _val_test(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    val = frame[frame["split"] == "val"].set_index("candidate_id")
    return val, frame[frame["split"] == "test"].set_index("candidate_id")


def _val_auc(val: pd.DataFrame) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(val["label"], val["score"]))


def _calibration(val: pd.DataFrame, test: pd.DataFrame) -> dict:
    from rapid_croissant.ml.calibration import calibration_summary

    c = calibration_summary(val["label"], val["score"], test["label"], test["score"], method="platt")
    return {"raw": c["test_raw"], "platt": c["test_calibrated"]}


def _scores(ds: Path, work: Path, alg: str, *, models, epochs: int, reuse: bool) -> dict:
    """name -> (val, test) scores: each model, the CNN with and without dihedral averaging, ensembles."""
    from rapid_croissant.ml.evaluate import scores_for

    out = {}
    for name in models:
        t0 = time.perf_counter()
        run = _trained(ds, work, alg, name, epochs=epochs, reuse=reuse)
        if KINDS[name][0] == "cnn":
            out["cnn (no TTA)"] = _val_test(pd.read_parquet(run / "predictions.parquet"))
            out[name] = _val_test(scores_for(run, ds, tta=True)[0])
        else:
            out[name] = _val_test(pd.read_parquet(run / "predictions.parquet"))
        _log(f"{ds.name} {alg}/{name}: {time.perf_counter() - t0:.0f} s")
    for name, (a, b) in ENSEMBLES.items():
        if a in out and b in out:
            pair = []
            for k in range(2):
                frame = out[a][k][["jid", "label"]].copy()
                frame["score"] = (out[a][k]["score"] + out[b][k].loc[frame.index, "score"]) / 2
                pair.append(frame)
            out[name] = tuple(pair)
    return out


def run_models(ds: Path, work: Path, *, models, epochs: int, n_boot: int, reuse: bool = False) -> dict:
    results = {}
    for alg in ("zogy", "sfft"):
        scores = _scores(ds, work, alg, models=models, epochs=epochs, reuse=reuse)
        for name, (val, test) in scores.items():
            r = _summary(test.reset_index(), n_boot)
            r.update(val_auc=_val_auc(val), calibration=_calibration(val, test))
            results[f"{alg}/{name}"] = r
            _log(f"{ds.name} {alg}/{name}: val AUC {r['val_auc']:.4f}; test {_fmt_row(r)}")
        best = max(scores, key=lambda n: results[f"{alg}/{n}"]["val_auc"])  # chosen on A's val only
        results[f"{alg}/{best}"]["chosen"] = True
    return results


def _ci(m: dict, pct: bool = False) -> str:
    f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.3f}")
    return f"{f(m['value'])} [{f(m['low'])}, {f(m['high'])}]"


def _fmt_row(r: dict) -> str:
    return (
        f"AUC {_ci(r['roc_auc'])}, AP {_ci(r['average_precision'])}, "
        f"FPR@FNR5 {_ci(r['fpr_at_fnr_5pct'], True)}, "
        f"FP/image@90% {r['fp_per_image_at_90pct']:.2f} ({r['n_real']}/{r['n']} real, {r['n_jobs']} jobs)"
    )


def markdown(result: dict) -> str:
    lines = [
        START,
        "## Transfer: train on simulated domain A, test on domain B",
        "",
        f"Written by `benchmarks/bench_transfer.py` on {result['created']} ({result['minutes']:.0f} min); "
        "raw numbers in `transfer.json` of its work folder.",
        "",
        "```bash",
        *result.get("commands", []),
        "```",
        "",
        "Train: domain A (train split; A's val+test validate). "
        "Test: every job of domain B, never seen before. "
        "Intervals: 95 % bootstrap over test jobs. `cnn`: mean over the 8 rotations/flips of each cutout "
        "(test-time dihedral averaging; `cnn (no TTA)` without). `gbtx`: trees that also see the other "
        "algorithm's features of the candidate (`cross_features`). `ens`/`ensx` = mean of the gbt/gbtx and "
        "cnn scores. **(chosen)**: the best A validation ROC AUC per algorithm (B never consulted). "
        "Brier: on B's test, raw score / Platt-calibrated on A's val. "
        "FP/image at 90 %: bogus test candidates per test image above the score that keeps 90 % of the real "
        "test candidates.",
        "",
    ]
    for name, title in (("B", "domain B, simulator density"), ("Brapid", "domain B at RAPID's density")):
        if name not in result["tests"]:
            continue
        lines += [
            f"### Test on {title}",
            "",
            "| algorithm/model | A val AUC | ROC AUC | AP | FPR at FNR 5 % | FP/image at 90 % | "
            "Brier raw / Platt | real/n |",
        ]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for key, r in result["tests"][name].items():
            mark = " **(chosen)**" if r.get("chosen") else ""
            cal = r.get("calibration")
            brier = f"{cal['raw']['brier']:.3f} / {cal['platt']['brier']:.3f}" if cal else ""
            val = f"{r['val_auc']:.4f}" if "val_auc" in r else ""
            lines.append(
                f"| {key}{mark} | {val} | {_ci(r['roc_auc'])} | {_ci(r['average_precision'])} | "
                f"{_ci(r['fpr_at_fnr_5pct'], True)} | {r['fp_per_image_at_90pct']:.2f} | {brier} | "
                f"{r['n_real']}/{r['n']} |"
            )
        lines.append("")
    lines += [result.get("notes", ""), END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    from sections import replace_section

    replace_section(path, text, START, END)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(".bench/transfer"))
    ap.add_argument("--n-train", type=int, default=20)
    ap.add_argument("--n-test", type=int, default=12)
    ap.add_argument("--n-rapid", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=list(KINDS), choices=list(KINDS))
    ap.add_argument(
        "--reuse-runs", action="store_true", help="Reuse finished runs of the same configuration."
    )
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--n-boot", type=int, default=300)
    ap.add_argument("--write", type=Path, default=None, help="Markdown file to put the results section into.")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    train_dir = simulate(args.work, "A", args.n_train)
    saved = args.work / "transfer.json"
    result = json.loads(saved.read_text()) if saved.is_file() else {"tests": {}}  # other tests kept
    command = "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])])
    result["commands"] = [c for c in result.get("commands", []) if c != command] + [command]
    for name, n in (("B", args.n_test), ("Brapid", args.n_rapid)):
        if n <= 0:
            continue
        ds = transfer_dataset(args.work, train_dir, simulate(args.work, name, n), name)
        result["tests"][name] = run_models(
            ds, args.work, models=args.models, epochs=args.epochs, n_boot=args.n_boot, reuse=args.reuse_runs
        )
    result["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["minutes"] = result.get("minutes", 0.0) + (time.perf_counter() - t0) / 60.0
    (args.work / "transfer.json").write_text(json.dumps(result, indent=1, default=float))
    if args.write:
        write_section(args.write, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
