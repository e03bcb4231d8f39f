"""Scale and robustness of the build: executors agree, builds are deterministic and resume after SIGKILL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.pipeline.pipeline import build_dataset


def digests(root):
    """sha256 of every output file (the build_info time stamp and the internal parts aside)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "build_info.json" and ".parts" not in p.parts
    }


@pytest.fixture(scope="module")
def serial_build(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "ds"
    build_dataset(BuildConfig(input_dir=sim_2025, output_dir=out, executor="serial"), progress=False)
    return out


def test_two_builds_are_byte_identical(sim_2025, serial_build, tmp_path):
    out = tmp_path / "again"
    build_dataset(
        BuildConfig(input_dir=sim_2025, output_dir=out, executor="process", workers=2), progress=False
    )
    a, b = digests(serial_build), digests(out)
    assert len(a) > 40 and a == b


@pytest.mark.dask
def test_local_dask_cluster_gives_the_serial_outputs(sim_2025, serial_build, tmp_path):
    out = tmp_path / "dask"
    summary = build_dataset(
        BuildConfig(input_dir=sim_2025, output_dir=out, executor="dask", workers=2), progress=False
    )
    assert not summary.failed
    assert digests(out) == digests(serial_build)


def test_sigkill_then_resume_gives_identical_outputs(sim_2025, serial_build, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "create_dataset.py", "-i", str(sim_2025), "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / ".parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (parts.exists() and any(parts.glob("*.job.json"))):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done = len(list(parts.glob("*.job.json")))
    assert 1 <= n_done < 9, n_done  # really killed part-way
    assert not (out / "candidates.csv").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "skipped" in rerun.stdout
    assert not list(out.rglob(".*.tmp*"))
    assert digests(out) == digests(serial_build)


@pytest.mark.parametrize(("dtype", "tol"), [("float16", 1e-3), ("uint8", 1.0 / 255 / 2 + 1e-6)])
def test_cutout_store_matches_the_full_frame_cutouts(serial_build, dtype, tol):
    import numpy as np
    import pandas as pd

    from rapid_croissant.dataset import schema
    from rapid_croissant.dataset.cutouts import CutoutStore
    from rapid_croissant.ml.loader import precompute_cutouts
    from rapid_croissant.pipeline.cutout_store import write_cutout_store

    meta = write_cutout_store(serial_build, dtype=dtype)
    cand = pd.read_parquet(serial_build / "candidates-train.parquet")
    assert meta["counts"]["train"] == len(cand)
    store = CutoutStore(serial_build, "train")
    assert list(store.index.candidate_id) == list(cand.candidate_id)
    per_candidate = (store.cutouts.nbytes + store.valid.nbytes) / len(cand)
    assert per_candidate == len(schema.CHANNELS) * 64 * 64 * np.dtype(dtype).itemsize + 3 * 64 * 8
    rows = np.arange(0, len(cand), 5)
    sel = cand.iloc[rows].assign(cx=cand.x.iloc[rows], cy=cand.y.iloc[rows])
    for algorithm in ("zogy", "sfft", "both"):
        got = store.get(rows, algorithm=algorithm)
        ref = precompute_cutouts(serial_build, sel, algorithm=algorithm, use_store=False)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() <= tol
        assert np.array_equal(got[:, -1], ref[:, -1])
    from rapid_croissant.dataset.validate import validate_dataset
    from rapid_croissant.writers.croissant import write_croissant

    write_croissant(serial_build)  # the store is described (with sha256) in the images manifest
    manifest = pd.read_parquet(serial_build / "images-manifest.parquet")
    assert {"cutouts/cutouts-train.npy", "cutouts/valid-train.npy"} <= set(manifest.path)
    assert validate_dataset(serial_build, run_mlcroissant=False) == []
    via_loader = precompute_cutouts(serial_build, sel, algorithm="sfft")  # uses the store when present
    assert (
        np.abs(via_loader - precompute_cutouts(serial_build, sel, algorithm="sfft", use_store=False)).max()
        <= tol
    )
