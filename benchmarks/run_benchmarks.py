#!/usr/bin/env python
"""``make bench``: measure the build, the loaders, record reading and the CNN; write JSON and a short table.

    .venv/bin/python benchmarks/run_benchmarks.py [--json benchmarks/results.json] [--table BENCHMARKS.md]
                                                  [--cache .bench] [--n-jobs 4] [--repeats 3] [--skip-4088]

Inputs are simulated once into the cache folder and reused: one 4089x4089 job (about 3 minutes and 15 GB
peak, for SFFT) copied into ``--n-jobs`` job folders, and 12 jobs at 513x513. Every result of the run goes
to the JSON file (paths relative to the cache folder); the figures-against-goals table (benchmarks/table.py)
replaces the block between the table markers of ``--table``. The script exits 0 and writes what it measured
even when a goal is missed or a step fails (the failure is recorded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_build  # noqa: E402
import bench_prepare  # noqa: E402
import bench_read  # noqa: E402
from table import markdown  # noqa: E402

SMALL = "513"
LARGE = "4089"


def _log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def step(results: dict, key: str, fn, *args, **kwargs):
    """Run one measurement; record its result, or its error and traceback, under ``results[key]``."""
    t0 = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - a failed step is reported, the others still run
        _log(f"{key} FAILED: {type(err).__name__}: {err}")
        results[key] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        return None
    results[key] = value
    _log(f"{key} done in {time.perf_counter() - t0:.1f} s (load average {load_average()})")
    return value


def measure_size(
    in_dir: Path,
    work: Path,
    *,
    n_jobs: int,
    repeats: int,
    max_cutouts: int,
    n_records: int,
    quiet_wait: float,
) -> dict:
    """Every figure of one image size: floor, builds, bytes, cutout stores and loaders, records."""
    res: dict = {"input": in_dir.name, "n_jobs": n_jobs, "load_average_start": load_average()}
    jobs = sorted(p for p in in_dir.iterdir() if p.is_dir() and p.name.startswith("jid"))[:n_jobs]
    res["input_bytes_per_job"] = bench_prepare.input_bytes(jobs[0])
    dataset = work / "dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    both = step(
        res,
        "floor_and_builds",
        bench_build.measure_floor_and_builds,
        jobs[0],
        in_dir,
        dataset,
        scratch=work / "scratch",
        logs=work / "logs",
        n_jobs=n_jobs,
        repeats=repeats,
        quiet_wait=quiet_wait,
    )
    if both is not None:
        res.update(res.pop("floor_and_builds"))
    if not (dataset / "candidates.parquet").is_file():
        _log(f"no dataset at {dataset}: reading figures skipped")
        return res
    step(res, "bytes", bench_build.bytes_written, dataset)
    rows = None if max_cutouts <= 0 else max_cutouts
    res["stores"] = {}
    for dtype in ("float32", "float16", "uint8"):
        entry: dict = {}
        if step(entry, "size", bench_build.measure_cutout_store, dataset, dtype) is not None:
            step(entry, "loader", bench_read.loader_store, dataset, repeats=repeats, max_rows=rows)
            step(
                entry,
                "precompute",
                bench_read.loader_precompute,
                dataset,
                repeats=repeats,
                max_rows=rows,
                use_store=True,
            )
        res["stores"][dtype] = entry
    step(
        res,
        "loader_full_frame",
        bench_read.loader_precompute,
        dataset,
        repeats=repeats,
        max_rows=rows,
        use_store=False,
    )
    step(res, "records", bench_read.records_arrow, dataset, repeats=repeats)
    croissant = step(res, "croissant", bench_read.write_croissant, dataset, work / "logs" / "croissant.log")
    if croissant and croissant["returncode"] == 0:
        step(
            res,
            "mlcroissant",
            bench_read.records_mlcroissant,
            dataset,
            n_records=n_records,
            repeats=min(repeats, 2),
        )
    res["load_average_end"] = load_average()
    return res


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", default="benchmarks/results.json", help="every result of the run (JSON)")
    p.add_argument("--table", default="BENCHMARKS.md", help="Markdown file whose table block is replaced")
    p.add_argument("--cache", default=".bench", help="folder of the simulated inputs and the built datasets")
    p.add_argument(
        "--n-jobs", type=int, default=4, help="4089x4089 jobs to build (copies of one simulated job)"
    )
    p.add_argument("--repeats", type=int, default=3, help="repeats of each timing (the best is reported)")
    p.add_argument("--skip-4088", action="store_true", help="only the 513x513 figures (a quick run)")
    p.add_argument(
        "--max-cutouts",
        type=int,
        default=0,
        help="cap on the candidates read per loader call (0: all candidates)",
    )
    p.add_argument("--mlc-records", type=int, default=3000, help="records read through mlcroissant")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each build round and the CNN, wait up to this many seconds for the machine's "
        "CPU use to fall below 0.3 cores (0: do not wait)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the table from the --json results",
    )
    p.add_argument("--seed", type=int, default=bench_prepare.SIM_SEED, help="seed of the 4088 simulation")
    args = p.parse_args(argv)
    if args.n_jobs < 1 or args.repeats < 1:
        p.error("--n-jobs and --repeats must be at least 1")
    return args


START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def write_table(path: Path, results: dict) -> None:
    """Replace the block between the table markers of ``path`` (or write a file holding only the table)."""
    block = f"{START}\n{markdown(results)}{END}"
    text = path.read_text() if path.is_file() else ""
    if START in text and END in text:
        text = text.split(START, 1)[0] + block + text.split(END, 1)[1]
    else:
        text = f"# Benchmarks\n\n{block}\n"
    path.write_text(text)


def _relative(obj, root: Path):
    """Paths inside the results, relative to the cache folder (no absolute path of this machine)."""
    if isinstance(obj, dict):
        return {k: _relative(v, root) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_relative(v, root) for v in obj]
    if isinstance(obj, Path | str) and str(obj).startswith(str(root)):
        return str(Path(obj).relative_to(root))
    return obj


def main(argv=None) -> int:
    args = parse_args(argv)
    json_path, table_path, cache = (Path(p).resolve() for p in (args.json, args.table, args.cache))
    os.chdir(ROOT)  # generate_croissant.py is run from the repository
    if args.report_only:
        write_table(table_path, json.loads(json_path.read_text()))
        _log(f"wrote the table of {table_path} from {json_path}")
        return 0
    cache.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results: dict = {
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items() if k not in ("json", "table", "cache")},
        "sizes": {},
    }
    inputs: dict = {}
    small = step(
        inputs,
        "sim513",
        bench_prepare.simulated,
        cache,
        size=512,
        n=bench_prepare.SMALL_JOBS,
        seed=bench_prepare.SMALL_SEED,
    )
    large = None
    if not args.skip_4088:
        sim = step(inputs, "sim4088", bench_prepare.simulated, cache, size=4088, n=1, seed=args.seed)
        if sim is not None:
            large = step(inputs, "replicated", bench_prepare.replicated, cache, sim[0], n_jobs=args.n_jobs)
    results["inputs"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in inputs.items()}
    if large is not None:
        _log(f"=== {LARGE}x{LARGE}: {args.n_jobs} jobs ===")
        results["sizes"][LARGE] = measure_size(
            large,
            cache / f"work{LARGE}",
            n_jobs=args.n_jobs,
            repeats=args.repeats,
            max_cutouts=args.max_cutouts,
            n_records=args.mlc_records,
            quiet_wait=args.quiet_wait,
        )
    if small is not None:
        _log(f"=== {SMALL}x{SMALL}: {bench_prepare.SMALL_JOBS} jobs ===")
        results["sizes"][SMALL] = measure_size(
            small[0],
            cache / f"work{SMALL}",
            n_jobs=bench_prepare.SMALL_JOBS,
            repeats=args.repeats,
            max_cutouts=args.max_cutouts,
            n_records=args.mlc_records,
            quiet_wait=args.quiet_wait,
        )
        dataset = cache / f"work{SMALL}" / "dataset"
        if (dataset / "candidates.parquet").is_file():
            import bench_cnn

            if args.quiet_wait > 0:
                results["cnn_quiet_wait"] = bench_build.wait_for_quiet(args.quiet_wait)
            step(results, "cnn", bench_cnn.measure_cnn, dataset, threads=2, repeats=args.repeats)
    results["seconds"] = time.perf_counter() - t_start
    results["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(_relative(results, cache), indent=1, default=str) + "\n")
    write_table(table_path, results)
    _log(f"wrote {json_path} and the table of {table_path} in {results['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
