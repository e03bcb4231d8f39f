"""Reading figures on a built dataset: cutouts per second (full-frame tensors and the cutout store) and
candidate records per second (pyarrow, pandas, mlcroissant)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema


def _log(msg: str) -> None:
    print(f"[read] {msg}", flush=True)


def _best(fn, repeats: int) -> tuple[float, list[float]]:
    """Seconds of ``fn()`` after one untimed warm-up call (page cache, memmaps, imports): best of ``repeats``."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def candidate_rows(dataset: Path, *, max_rows: int | None, seed: int = 0) -> pd.DataFrame:
    """Candidates with ``cx, cy`` = ``x, y`` (a seeded sample of ``max_rows`` when there are more)."""
    cand = pd.read_parquet(
        dataset / names.CANDIDATES_PARQUET, columns=["candidate_id", "jid", "x", "y", "split"]
    )
    if max_rows is not None and len(cand) > max_rows:
        cand = cand.sample(n=max_rows, random_state=seed).sort_index()
    cand = cand.reset_index(drop=True)
    cand["cx"], cand["cy"] = cand["x"].astype(float), cand["y"].astype(float)
    return cand


def _accepts(fn, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def loader_precompute(dataset: Path, *, repeats: int, max_rows: int | None, use_store: bool) -> dict:
    """``precompute_cutouts(dataset, rows, algorithm='both')`` for all (or ``max_rows``) candidates, warm cache.

    use_store=False reads the full-frame tensors; use_store=True lets the loader read the cutout store
    (older loaders without the option always read the tensors).
    """
    from rapid_croissant.ml.loader import precompute_cutouts

    rows = candidate_rows(dataset, max_rows=max_rows)
    kwargs = {"use_store": use_store} if _accepts(precompute_cutouts, "use_store") else {}
    if use_store and not kwargs:
        raise RuntimeError("this precompute_cutouts cannot read the cutout store")
    best, times = _best(lambda: precompute_cutouts(dataset, rows, algorithm="both", **kwargs), repeats)
    rate = len(rows) / best
    source = "cutout store" if use_store else "full-frame tensors"
    _log(
        f"precompute_cutouts from the {source}: {len(rows)} cutouts in {best:.3f} s = {rate:,.0f}/s "
        f"(best of {repeats})"
    )
    return {"n": len(rows), "best_s": best, "times": times, "per_s": rate, "kwargs": kwargs}


def loader_store(dataset: Path, *, repeats: int, max_rows: int | None, seed: int = 0) -> dict:
    """``CutoutStore(dataset, split).get(rows, algorithm='both')`` for every row of the largest split."""
    from rapid_croissant.dataset.cutouts import CutoutStore

    counts = {
        s: len(pd.read_parquet(dataset / f"candidates-{s}.parquet", columns=["jid"])) for s in schema.SPLITS
    }
    split = max(counts, key=counts.get)
    store = CutoutStore(dataset, split)
    n = len(store.index)
    rows = np.random.default_rng(seed).permutation(n)[: max_rows or n]  # any order: get() sorts its reads
    if _accepts(store.get, "algorithm"):
        kwargs = {"algorithm": "both"}  # the 9 channels and the validity of 'both'
    else:
        kwargs = {"channels": schema.CHANNELS}
    best, times = _best(lambda: store.get(rows, **kwargs), repeats)
    rate = len(rows) / best
    _log(
        f"store loader ({store.meta['dtype']}, {split}): {len(rows)} cutouts in {best:.3f} s = {rate:,.0f}/s"
    )
    return {
        "n": len(rows),
        "split": split,
        "dtype": store.meta["dtype"],
        "best_s": best,
        "times": times,
        "per_s": rate,
    }


def _rows_per_second(fn, n_rows: int, *, min_seconds: float, repeats: int) -> dict:
    """Rows/s of ``fn`` (which reads ``n_rows`` rows): loops of at least ``min_seconds``, best of ``repeats``."""
    fn()
    rates = []
    for _ in range(repeats):
        k, t0 = 0, time.perf_counter()
        while True:
            fn()
            k += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        rates.append(n_rows * k / elapsed)
    return {"rows": n_rows, "per_s": max(rates), "rates": rates}


def records_arrow(dataset: Path, *, repeats: int) -> dict:
    path = dataset / names.CANDIDATES_PARQUET
    n = pq.read_metadata(path).num_rows
    n_cols = pq.read_metadata(path).num_columns
    res = {
        "pyarrow": _rows_per_second(lambda: pq.read_table(path), n, min_seconds=1.0, repeats=repeats),
        "pandas": _rows_per_second(lambda: pd.read_parquet(path), n, min_seconds=1.0, repeats=repeats),
        "columns": n_cols,
        "file_bytes": path.stat().st_size,
    }
    _log(
        f"records: pyarrow.read_table {res['pyarrow']['per_s']:,.0f} rows/s, pd.read_parquet "
        f"{res['pandas']['per_s']:,.0f} rows/s ({n} rows x {n_cols} columns)"
    )
    return res


def write_croissant(dataset: Path, log_path: Path) -> dict:
    """``python generate_croissant.py -d DATASET`` (the checksums of every file are part of its time)."""
    cmd = [sys.executable, "generate_croissant.py", "-d", str(dataset)]
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    seconds = time.perf_counter() - t0
    _log(f"generate_croissant.py: exit {rc} in {seconds:.1f} s")
    return {"command": cmd, "returncode": rc, "seconds": seconds}


def records_mlcroissant(dataset: Path, *, n_records: int, repeats: int) -> dict:
    """Records/s of ``mlc.Dataset(jsonld=croissant.json).records('transient_candidates')``, first ``n`` records."""
    import logging

    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    jsonld = dataset / "croissant.json"
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds = mlc.Dataset(jsonld=str(jsonld))
        t1 = time.perf_counter()
        n = 0
        for _rec in ds.records("transient_candidates"):
            n += 1
            if n >= n_records:
                break
        t2 = time.perf_counter()
        runs.append({"load_s": t1 - t0, "iterate_s": t2 - t1, "n": n})
    best = min(runs, key=lambda r: r["iterate_s"])
    rate = best["n"] / best["iterate_s"]
    total_rate = best["n"] / (best["iterate_s"] + best["load_s"])
    _log(
        f"mlcroissant: {best['n']} records in {best['iterate_s']:.2f} s = {rate:,.0f}/s "
        f"(Dataset() {best['load_s']:.2f} s more)"
    )
    return {
        "runs": runs,
        "n": best["n"],
        "per_s": rate,
        "per_s_with_load": total_rate,
        "load_s": best["load_s"],
    }
