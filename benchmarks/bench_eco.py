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


def _rate(make_loader, epochs: int, repeats: int = 3) -> float:
    """Best of ``repeats`` runs of ``epochs`` passes over a fresh loader, after one untimed pass (which
    starts persistent workers): cutouts/s."""
    best = 0.0
    for _ in range(repeats):
        loader = make_loader()
        for _ in loader:
            pass
        t0, n = time.perf_counter(), 0
        for _ in range(epochs):
            for batch in loader:
                n += len(batch[0])
        best = max(best, n / (time.perf_counter() - t0))
    return best


def _store_rate(ds, epochs: int) -> float:
    """The raw read underneath: CutoutStore.get on shuffled batches of 256 (no tensors, no features)."""
    import numpy as np

    rng, best = np.random.default_rng(0), 0.0
    for _ in range(3):
        t0, n = time.perf_counter(), 0
        for _ in range(epochs):
            order = ds.rows[rng.permutation(len(ds))]
            for s in range(0, len(order), 256):
                n += len(ds._store.get(order[s : s + 256], algorithm="both"))
        best = max(best, n / (time.perf_counter() - t0))
    return best


def _source_rates(ds, epochs: int) -> dict:
    from torch.utils.data import DataLoader

    def batch_sampler_loader():  # the documented batch-level DataLoader call
        sampler = ds.batch_sampler(256, shuffle=True)
        return DataLoader(ds, batch_size=None, sampler=sampler, num_workers=2, persistent_workers=True)

    row = {"n": len(ds)}
    if ds.source == "store":
        row["store_get_per_s"] = _store_rate(ds, epochs)
    row["batches_per_s"] = _rate(lambda: ds.batches(256, shuffle=True), epochs)
    row["batch_sampler_2_workers_per_s"] = _rate(batch_sampler_loader, epochs)
    row["per_item_per_s"] = _rate(lambda: DataLoader(ds, batch_size=256, shuffle=True), epochs, 1)
    row["per_item_2_workers_per_s"] = _rate(
        lambda: DataLoader(ds, batch_size=256, shuffle=True, num_workers=2, persistent_workers=True),
        epochs,
        1,
    )
    return row


def loader_rates(root: Path, epochs: int) -> dict:
    """Cutouts/s of RapidCutouts, batch 256, shuffled: batch-level fetching (RapidCutouts.batches, and
    DataLoader(batch_size=None, sampler=ds.batch_sampler(...)) with two workers) and the per-item DataLoader
    with default collate (one process and two persistent workers), per source (store and Parquet)."""
    from rapid_croissant.ml.torch_dataset import RapidCutouts

    out = {}
    for source in ("auto", "parquet"):
        t0 = time.perf_counter()
        ds = RapidCutouts(root, split="train", algorithm="both", source=source, labelled_only=False)
        opened = time.perf_counter() - t0
        for _ in ds.batches(256):  # warm-up: page cache, imports
            pass
        out[ds.source] = {"open_s": opened, **_source_rates(ds, epochs)}
        _log(f"{ds.source}: " + ", ".join(f"{k} {v:,.2f}" for k, v in out[ds.source].items()))
    return out


def _mapping(root: Path, jsonld: dict) -> dict:
    """FileObject id -> local path (the online checker's call), for every FileObject with a contentUrl."""
    files = [d for d in jsonld["distribution"] if d["@type"] == "cr:FileObject" and "contentUrl" in d]
    return {d["@id"]: str(root / d["contentUrl"]) for d in files if (root / d["contentUrl"]).is_file()}


def _astropy_times(root: Path) -> dict:
    """astropy Table.read of the dataset's own candidates table, and SkyCoord from its ra/dec."""
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    t0 = time.perf_counter()
    table = Table.read(root / "candidates.parquet")
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    SkyCoord(table["ra"], table["dec"])
    return {
        f"astropy Table.read candidates.parquet ({len(table)} rows, units, masks)": read,
        "astropy SkyCoord(t['ra'], t['dec'])": time.perf_counter() - t0,
    }


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
    t0 = time.perf_counter()
    n = sum(1 for _ in mlc.Dataset(jsonld=root / "croissant.json").records("transient_candidates"))
    out[f"mlcroissant full pass: transient_candidates ({n} records)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for _ in mlc.Dataset(jsonld=jsonld, mapping=_mapping(root, jsonld)).records("jobs"))
    out[f"mlcroissant dict + mapping full pass: jobs ({n} records)"] = time.perf_counter() - t0
    out.update(_astropy_times(root))
    from rapid_croissant.writers.astropy_export import export_tables

    t0 = time.perf_counter()
    export_tables(root)
    out["rapid-croissant export (ecsv, votable, parquet)"] = time.perf_counter() - t0
    for k, v in out.items():
        _log(f"{k}: {v:.2f} s")
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
