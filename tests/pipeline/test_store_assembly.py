"""The cutout-first store written in place: uint8 by default (and said so), the same bytes for any
executor, no part files for a local input, and a build killed while writing it resumes with the jobs not
done."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout
from rapid_croissant.errors import Interrupted
from rapid_croissant.pipeline import store_assembly
from rapid_croissant.pipeline.pipeline import build_dataset
from scale_fixtures import digests


def _cfg(sim, out, **kw) -> BuildConfig:
    return BuildConfig(input_dir=sim, output_dir=out, profile="cutouts", **kw)


@pytest.fixture(scope="module")
def serial(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("store_serial") / "ds"
    assert not build_dataset(_cfg(sim_2025, out, executor="serial"), progress=False).failed
    return out


def test_uint8_is_the_profile_default_and_is_recorded(sim_2025, serial, built_dataset, tmp_path):
    from rapid_croissant.pipeline.cutout_store import write_cutout_store
    from rapid_croissant.writers.croissant import write_croissant

    meta = json.loads((serial / "cutouts" / "store.json").read_text())
    assert (meta["dtype"], meta["scale"]) == ("uint8", 255.0)
    assert json.loads((serial / "cutouts" / "sfft-store.json").read_text())["dtype"] == "uint8"
    assert json.loads((serial / "build_info.json").read_text())["config"]["cutout_dtype"] == "uint8"
    assert BuildConfig(input_dir=sim_2025, output_dir=tmp_path / "f").cutout_dtype == "float32"  # full
    described = tmp_path / "described"
    shutil.copytree(serial, described)
    write_croissant(described)
    manifest = pd.read_parquet(described / "images-manifest.parquet").set_index("path")
    assert manifest.loc["cutouts/cutouts-train.npy", "dtype"] == "uint8"
    assert (
        "this dataset's store: uint8, the [0, 1] value = stored value / 255"
        in (described / "croissant.json").read_text()
    )
    # the same bytes as a uint8 store cut from the full profile's float32 tensors
    full = tmp_path / "full"
    shutil.copytree(built_dataset, full)
    write_cutout_store(full, dtype="uint8")
    for split in layout.SPLITS:
        for name in (f"cutouts-{split}.npy", f"valid-{split}.npy", f"index-{split}.parquet"):
            assert (serial / "cutouts" / name).read_bytes() == (full / "cutouts" / name).read_bytes(), name


def test_process_workers_write_the_serial_store(sim_2025, serial, tmp_path):
    out = tmp_path / "ds"
    assert not build_dataset(_cfg(sim_2025, out, executor="process", workers=2), progress=False).failed
    a, b = digests(serial), digests(out)
    assert sum(k.startswith("cutouts/") for k in a) == 20 and a == b  # 2 sets x 3 splits x 3 + 2 json
    assert not list((out / ".parts").glob("store.*")) and not list((out / ".parts").glob("*.store.json"))


def test_a_rerun_leaves_the_store_in_place(sim_2025, tmp_path):
    out = tmp_path / "ds"
    build_dataset(_cfg(sim_2025, out, executor="serial"), progress=False)
    store = out / "cutouts" / "cutouts-train.npy"
    before = store.stat()
    build_dataset(_cfg(sim_2025, out, executor="serial"), progress=False)
    after = store.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten


def test_an_interrupted_store_resumes_with_the_jobs_not_done(sim_2025, serial, tmp_path, monkeypatch):
    """Half the jobs write their rows, then the run stops (as a kill would); the next build writes only
    the other half and gives the serial build's bytes."""
    out = tmp_path / "ds"
    real = store_assembly.fill_job
    calls = []

    def stop_half_way(spec, *args, **kw):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(spec.jid)
        return real(spec, *args, **kw)

    monkeypatch.setattr(store_assembly, "fill_job", stop_half_way)
    with pytest.raises(Interrupted, match="cutout store .* interrupted"):
        build_dataset(_cfg(sim_2025, out, executor="serial"), progress=False)
    assert len(list((out / ".parts").glob("*.store.json"))) == 4
    assert not (out / "cutouts" / "store.json").exists()
    monkeypatch.setattr(store_assembly, "fill_job", real)
    sources = []
    monkeypatch.setattr(
        store_assembly, "fill_job", lambda *a, **kw: sources.append(real(*a, **kw)) or sources[-1]
    )
    build_dataset(_cfg(sim_2025, out, executor="serial"), progress=False)
    assert sources.count("kept") == 4 and sources.count("planes") == len(sources) - 4
    assert digests(out) == digests(serial)


def test_sigkill_while_writing_the_store_then_resume(sim_2025, serial, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rapid_croissant.cli.main", "build", "-i", str(sim_2025), "-o", str(out)]
    cmd += ["--profile", "cutouts", "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / ".parts"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and not any(parts.glob("*.store.json")):
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(parts.glob("*.store.json")))
    assert 1 <= done and not (out / "cutouts" / "store.json").exists()  # killed while writing the store
    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "kept: " in rerun.stderr  # the rows of the jobs marked done were not written again
    assert not list(out.rglob(".*.tmp*")) and not list(parts.glob("store.*"))
    assert digests(out) == digests(serial)


def test_a_resized_uncertainty_map_gives_the_full_profile_cutouts(sim_2025, tmp_path):
    """An uncertainty map of another shape is resized by both profiles (the seed's rule); the cutout-first
    store takes the limits of the resized plane, as the full profile does."""
    from astropy.io import fits

    from rapid_croissant.pipeline.cutout_store import write_cutout_store
    from rapid_croissant.science.normalize import seed_zscale_limits

    jobs = tmp_path / "in"
    shutil.copytree(sim_2025 / "jid1001", jobs / "jid1001")
    uncert = jobs / "jid1001" / "diffimage_uncert_masked.fits"
    with fits.open(uncert) as hdul:
        small = hdul[0].data[::2, ::2].astype(">f4")
        fits.PrimaryHDU(small, header=hdul[0].header).writeto(uncert, overwrite=True)
    full, cut = tmp_path / "full", tmp_path / "cut"
    build_dataset(BuildConfig(input_dir=jobs, output_dir=full, executor="serial"), progress=False)
    write_cutout_store(full, dtype="uint8")
    assert not build_dataset(_cfg(jobs, cut, executor="serial"), progress=False).failed
    frames = json.loads((cut / "frames" / "jid1001.json").read_text())["limits"]
    columns = ["zogy_uncert_vmin", "zogy_uncert_vmax"]
    resized = pd.read_parquet(full / "physical.parquet")[columns].iloc[0].tolist()
    assert frames["zogy_uncert"] == resized  # what the stored values were scaled with
    assert pd.read_parquet(cut / "physical.parquet")[columns].iloc[0].tolist() == resized
    with fits.open(uncert) as hdul:  # not the limits of the small plane as read
        assert seed_zscale_limits(hdul[0].data) != tuple(resized)
    split = pd.read_parquet(cut / "jobs.parquet")["split"].iloc[0]
    for name in (f"cutouts-{split}.npy", f"valid-{split}.npy"):
        assert (cut / "cutouts" / name).read_bytes() == (full / "cutouts" / name).read_bytes()
