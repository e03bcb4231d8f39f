"""Ecosystem figures on a dataset built with --cutouts: the PyTorch entry point's cutouts/s (memory-mapped
store checked against the Parquet file, and the Parquet file itself), and how long each consumer takes for its
basic action (mlcroissant first record per record set, Hugging Face load_dataset per config, astropy export).

    python benchmarks/bench_eco.py DATASET_DIR [--epochs 20] [--skip-consumers]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path


def _log(msg: str) -> None:
    print(f"[eco] {msg}", flush=True)


def loader_rates(root: Path, epochs: int) -> dict:
    """Cutouts/s of RapidCutouts.batches (batch 256, one process) and of DataLoader per item, per source."""
    from torch.utils.data import DataLoader

    from rapid_croissant.ml.torch_dataset import RapidCutouts

    out = {}
    for source in ("auto", "parquet"):
        t0 = time.perf_counter()
        ds = RapidCutouts(root, split="train", algorithm="both", source=source, labelled_only=False)
        opened = time.perf_counter() - t0
        for _ in ds.batches(256):  # warm-up: page cache, imports
            pass
        best = 0.0
        for _ in range(3):
            t0, n = time.perf_counter(), 0
            for _ in range(epochs):
                for batch in ds.batches(256, shuffle=True):
                    n += len(batch[0])
            best = max(best, n / (time.perf_counter() - t0))
        t0, n = time.perf_counter(), 0
        for batch in DataLoader(ds, batch_size=256, shuffle=True):
            n += len(batch[0])
        per_item = n / (time.perf_counter() - t0)
        out[ds.source] = {"open_s": opened, "batches_per_s": best, "per_item_per_s": per_item, "n": len(ds)}
        _log(f"{ds.source}: open {opened:.2f} s, batches {best:,.0f} cutouts/s, per item {per_item:,.0f}/s")
    return out


def consumer_times(root: Path) -> dict:
    import mlcroissant as mlc

    logging.disable(logging.WARNING)
    out = {}
    jsonld = json.loads((root / "croissant.json").read_text())
    for rs in [r["@id"] for r in jsonld["recordSet"]]:
        t0 = time.perf_counter()
        next(iter(mlc.Dataset(jsonld=root / "croissant.json").records(rs)))
        out[f"mlcroissant first record: {rs}"] = time.perf_counter() - t0
    import datasets

    with tempfile.TemporaryDirectory() as cache:
        for config in ("candidates", "cutouts", "jobs", "truth", "physical"):
            t0 = time.perf_counter()
            datasets.load_dataset(str(root), config, cache_dir=cache)
            out[f"datasets.load_dataset: {config}"] = time.perf_counter() - t0
    from rapid_croissant.writers.astropy_export import export_tables

    t0 = time.perf_counter()
    export_tables(root)
    out["rapid-croissant export (ecsv, votable, parquet)"] = time.perf_counter() - t0
    for k, v in out.items():
        _log(f"{k}: {v:.1f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--skip-consumers", action="store_true")
    args = ap.parse_args()
    result = {"loader": loader_rates(args.dataset, args.epochs)}
    if not args.skip_consumers:
        result["consumers_s"] = consumer_times(args.dataset)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
