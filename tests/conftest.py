"""Session fixtures: small simulated RAPID job folders, made once per test session.

One image shape (513x513 products) for the whole session: sfft compiles its numba kernels per shape.
"""

from __future__ import annotations

import pytest

SIM_SIZE = 512
SIM_SEED = 7


@pytest.fixture(scope="session")
def sim_2025(tmp_path_factory):
    """Three normal 2025-era jobs plus one job of each defect kind and non-job clutter."""
    from rapid_croissant.simulate.core import simulate_jobs

    out = tmp_path_factory.mktemp("sim2025")
    simulate_jobs(out, n=3, size=SIM_SIZE, seed=SIM_SEED, era="2025", with_defects=True, progress=False)
    return out


@pytest.fixture(scope="session")
def sim_2026(tmp_path_factory):
    """Two 2026-era jobs (zogy_ names, photutils-3 columns, extra products)."""
    from rapid_croissant.simulate.core import simulate_jobs

    out = tmp_path_factory.mktemp("sim2026")
    simulate_jobs(out, n=2, size=SIM_SIZE, seed=SIM_SEED + 1, era="2026", progress=False)
    return out


@pytest.fixture(scope="session")
def built_dataset(sim_2025, tmp_path_factory):
    """The dataset built by the real pipeline from ``sim_2025`` (default options)."""
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.pipeline.pipeline import build_dataset

    out = tmp_path_factory.mktemp("dataset") / "ds"
    summary = build_dataset(BuildConfig(input_dir=sim_2025, output_dir=out, workers=1), progress=False)
    assert not summary.failed, [r.error for r in summary.failed]
    return out


@pytest.fixture(scope="session")
def cutout_dataset(sim_2025, tmp_path_factory):
    """``sim_2025`` built with ``--cutouts`` (store + Croissant-described Parquet), with croissant.json and
    the Hugging Face README.md written by the croissant command."""
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.pipeline.pipeline import build_dataset
    from rapid_croissant.writers.croissant import write_croissant

    out = tmp_path_factory.mktemp("cutout_dataset") / "ds"
    cfg = BuildConfig(input_dir=sim_2025, output_dir=out, workers=1, cutouts=True)
    summary = build_dataset(cfg, progress=False)
    assert not summary.failed, [r.error for r in summary.failed]
    write_croissant(out)
    return out


@pytest.fixture(scope="session")
def sim_fields(tmp_path_factory):
    """Four domain-A jobs: two sky fields of two epochs each, with RAPID's negative catalogs."""
    from rapid_croissant.simulate.core import simulate_jobs

    out = tmp_path_factory.mktemp("simfields")
    simulate_jobs(
        out,
        n=4,
        size=SIM_SIZE,
        seed=SIM_SEED,
        domain="A",
        epochs_per_field=2,
        negative_catalogs=True,
        progress=False,
    )
    return out
