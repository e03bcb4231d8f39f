"""Pretrained CNN benchmark: the seed's default command on a small dataset of a domain pretraining never saw.

    python benchmarks/bench_pretrain.py --work .bench/pretrain                       # 12-job datasets
    python benchmarks/bench_pretrain.py --work .bench/pretrain --n-jobs 40 --sim-seeds 31 --write X.md

Each dataset is simulated with ``rapid-croissant simulate -n N --domain B --seed S`` (domain B of
simulate/domains.py: broad PSF with other wings, more noise, strong mismatch of either sign, dipoles, many
artefacts; never used by ``pretrain``, whose training and held-out domains are ``default``, ``A`` and
domains drawn from seeds), built with the seed's ``create_dataset.py -i SIM -o DS`` and then classified with
the seed's default command ``test_croissant_dataset.py -d DS -a both`` (which starts from the shipped
pretrained weights), beside ``--init scratch`` (the old default) and ``--model gbt`` (trees). The test ROC AUC
and its 95 % job-bootstrap interval are read from each run's evaluation.json; results go to
WORK/pretrain_bench.json and, with --write, between ``<!-- pretrain:start -->`` and ``<!-- pretrain:end -->``.
Nothing is tuned on domain B.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- pretrain:start -->", "<!-- pretrain:end -->"
VARIANTS = {  # name: extra arguments of test_croissant_dataset.py
    "default (pretrained)": [],
    "--init scratch": ["--init", "scratch"],
    "--model gbt": ["--model", "gbt"],
}


def _log(msg: str) -> None:
    print(f"[pretrain-bench] {msg}", flush=True)


def _run(args: list[str], log_file: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    log_file.write_text(done.stdout + done.stderr)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({log_file}): {done.stderr.strip()[-300:]}")
    _log(f"{Path(args[1]).name} {' '.join(args[2:4])}... {time.perf_counter() - t0:.0f} s")
    return done.stdout


def prepare(work: Path, n: int, seed: int, domain: str) -> Path:
    """Simulate and build (each reused when present) one dataset; returns its folder."""
    sim, ds = work / f"sim_{domain}_{n}_{seed}", work / f"ds_{domain}_{n}_{seed}"
    if not (sim / "answer_key" / "simulation.json").is_file():
        cli = [sys.executable, "-m", "rapid_croissant.cli.main", "simulate", "-n", str(n), "--domain", domain]
        _run([*cli, "--seed", str(seed), "-o", str(sim)], work / f"{sim.name}.log")
    if not (ds / "candidates.parquet").is_file():
        _run([sys.executable, "create_dataset.py", "-i", str(sim), "-o", str(ds)], work / f"{ds.name}.log")
    return ds


def _runs(work: Path, ds_name: str, name: str) -> Path:
    return work / "runs" / ds_name / name.replace(" ", "_").replace("-", "").replace("(", "").replace(")", "")


def pooled(work: Path, datasets: list[str], name: str, n_boot: int = 1000) -> dict:
    """Test metrics of one variant over the test jobs of several datasets together (job bootstrap)."""
    import numpy as np
    import pandas as pd

    from rapid_croissant.ml.metrics import group_bootstrap

    parts = []
    for ds_name in datasets:
        run = sorted(p for p in _runs(work, ds_name, name).iterdir() if p.is_dir())[-1]
        pred = pd.read_parquet(run / "predictions.parquet")
        pred = pred[pred["split"] == "test"]
        parts.append(pred.assign(jid=ds_name + "/" + pred["jid"].astype(str)))
    test = pd.concat(parts, ignore_index=True)
    y, s = test["label"].to_numpy(np.int64), test["score"].to_numpy(float)
    boot = group_bootstrap(y, s, test["jid"].to_numpy(str), n_boot=n_boot, seed=0, threshold=0.5)
    out = {m: boot[m] for m in ("roc_auc", "average_precision", "fpr_at_fnr_5pct")}
    return {**out, "n": int(y.size), "n_real": int(y.sum()), "n_jobs": int(test["jid"].nunique())}


def classify(work: Path, ds: Path, name: str, extra: list[str]) -> dict:
    """The seed's command on ``ds`` (plus ``extra``); the test metrics of its run's evaluation.json."""
    runs = _runs(work, ds.name, name)
    cmd = [sys.executable, "test_croissant_dataset.py", "-d", str(ds), "-a", "both", "--runs", str(runs)]
    t0 = time.perf_counter()
    _run([*cmd, *extra], work / f"{ds.name}_{runs.name}.log")
    run = sorted(p for p in runs.iterdir() if p.is_dir())[-1]
    ev = json.loads((run / "evaluation.json").read_text())
    conf = json.loads((run / "config.json").read_text())
    m = ev["classification"]["metrics"]
    return {
        "command": "python " + " ".join(["test_croissant_dataset.py", "-d", "DS", "-a", "both", *extra]),
        "roc_auc": m["roc_auc"],
        "average_precision": m["average_precision"],
        "fpr_at_fnr_5pct": m["fpr_at_fnr_5pct"],
        "n": ev["classification"]["n"],
        "n_real": ev["classification"]["n_real"],
        "n_jobs": ev["classification"]["n_jobs"],
        "init": conf.get("init_weights", {}).get("kind", "n/a"),
        "best_epoch": conf.get("best_epoch"),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _ci(m: dict, pct: bool = False) -> str:
    f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.3f}")
    return f"{f(m['value'])} [{f(m['low'])}, {f(m['high'])}]"


def markdown(result: dict) -> str:
    lines = [
        START,
        "## Pretrained CNN: the seed's default command on a small dataset of an unseen domain",
        "",
        f"Written by `benchmarks/bench_pretrain.py` on {result['created']} (load {result['load']}); raw "
        "numbers in `pretrain_bench.json` of its work folder. Weights: the shipped "
        f"`ml/pretrained/cnn_v1.pt` (sha256 `{result['weights_sha256'][:16]}...`; how it was made: its "
        "MODEL_CARD.md).",
        "",
        "```bash",
        *result["commands"],
        "```",
        "",
        "Each dataset: `rapid-croissant simulate -n N --domain B --seed S -o SIM`, "
        "`python create_dataset.py -i SIM -o DS`, then per row the command shown. Domain B is used neither "
        "for pretraining nor for any choice made here. ROC AUC, AP and FPR at FNR 5 % on the dataset's test "
        "split, 95 % bootstrap intervals over its test jobs (few jobs: wide or degenerate intervals).",
        "",
        "| dataset (jobs, sim seed) | command | init | ROC AUC | AP | FPR at FNR 5 % | real/n (test jobs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, rows in result["datasets"].items():
        for r in rows.values():
            lines.append(
                f"| {key} | `{r['command']}` | {'(trees)' if '--model gbt' in r['command'] else r['init']} | "
                f"{_ci(r['roc_auc'])} | "
                f"{_ci(r['average_precision'])} | {_ci(r['fpr_at_fnr_5pct'], True)} | "
                f"{r['n_real']}/{r['n']} ({r['n_jobs']}) |"
            )
    if result.get("pooled"):
        lines += [
            "",
            "All test jobs of these datasets together (each variant's scores as above, one job bootstrap):",
            "",
            "| datasets | variant | ROC AUC | AP | FPR at FNR 5 % | real/n (test jobs) |",
            "|---|---|---|---|---|---|",
        ]
        for key, rows in result["pooled"].items():
            for name, r in rows.items():
                lines.append(
                    f"| {key} | {name} | {_ci(r['roc_auc'])} | {_ci(r['average_precision'])} | "
                    f"{_ci(r['fpr_at_fnr_5pct'], True)} | {r['n_real']}/{r['n']} ({r['n_jobs']}) |"
                )
    lines += ["", result.get("notes", ""), END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    from sections import replace_section

    replace_section(path, text, START, END)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(".bench/pretrain"))
    ap.add_argument("--n-jobs", type=int, default=12)
    ap.add_argument("--sim-seeds", type=int, nargs="+", default=[21, 22, 23])
    ap.add_argument(
        "--domain", default="B", help="Simulated domain of the datasets (never one of pretrain's)."
    )
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--rerun", action="store_true", help="Classify again what the work folder has measured.")
    ap.add_argument("--notes", default="", help="Text written under the table.")
    ap.add_argument("--write", type=Path, default=None, help="Markdown file to put the results section into.")
    args = ap.parse_args(argv)
    from rapid_croissant.ml.weights import sha256_of, shipped_path

    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    saved = args.work / "pretrain_bench.json"
    result = json.loads(saved.read_text()) if saved.is_file() else {"datasets": {}}
    command = "python " + " ".join(["benchmarks/bench_pretrain.py", *(argv or sys.argv[1:])])
    result["commands"] = [c for c in result.get("commands", []) if c != command] + [command]
    for seed in args.sim_seeds:
        ds = prepare(args.work, args.n_jobs, seed, args.domain)
        key = f"{args.domain}: {args.n_jobs} jobs, seed {seed}"
        rows = result["datasets"].setdefault(key, {})
        for name in args.variants:
            if name in rows and not args.rerun:  # measured before (pretrain_bench.json): kept
                continue
            rows[name] = classify(args.work, ds, name, VARIANTS[name])
            r = rows[name]
            _log(
                f"{key} {name}: ROC AUC {_ci(r['roc_auc'])} ({r['n_real']}/{r['n']}, {r['n_jobs']} test jobs)"
            )
        saved.write_text(json.dumps(result, indent=1, default=float))
    names = [f"ds_{args.domain}_{args.n_jobs}_{seed}" for seed in args.sim_seeds]
    if len(names) > 1:
        key = f"{args.domain}: {args.n_jobs} jobs, seeds {' '.join(map(str, args.sim_seeds))}"
        result.setdefault("pooled", {})[key] = {n: pooled(args.work, names, n) for n in args.variants}
    result["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    result["weights_sha256"] = sha256_of(shipped_path("both"))
    if args.notes:
        result["notes"] = args.notes
    saved.write_text(json.dumps(result, indent=1, default=float))
    if args.write:
        write_section(args.write, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
