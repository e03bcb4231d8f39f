"""physical.parquet on a dataset built from simulated RAPID jobs: the normalisation inverted against the input
FITS, and every cutout pixel mapped to the sky with the stored WCS header (the documented example)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from rapid_croissant import io
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.cutout_parquet import read_cutout_parquet
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.physical import (
    PHYSICAL_COLUMNS,
    cutout_pixels,
    cutout_sky,
    job_wcs,
    read_physical,
    to_physical,
)


@pytest.fixture(scope="module")
def physical(cutout_dataset):
    return read_physical(cutout_dataset)


def test_one_typed_row_per_built_job(cutout_dataset, physical):
    jobs = pd.read_parquet(Layout(cutout_dataset).jobs_parquet)
    built = sorted(jobs.loc[jobs["status"] != "failed", "jid"].astype(str))
    assert sorted(physical["jid"]) == built
    assert list(physical.columns) == list(PHYSICAL_COLUMNS)
    assert (physical["height"] > 0).all() and (physical["wcs_header"].str.len() > 0).all()
    lo, hi = physical["sci_vmin"], physical["sci_vmax"]
    assert (hi > lo).all()


@pytest.mark.parametrize("channel", ["sci", "zogy_diff", "sfft_diff", "zogy_scorr"])
def test_tensor_values_map_back_to_the_input_fits(cutout_dataset, sim_2025, physical, channel):
    layout = Layout(cutout_dataset)
    k = schema.CHANNELS.index(channel)
    checked = 0
    for jid, row in physical.iterrows():
        job = io.open_job(sim_2025 / jid)
        v = np.load(layout.image(jid), mmap_mode="r")[..., k]
        if pd.isna(row[f"{channel}_vmin"]):  # absent or unreadable (truncated) input: no limits, zeros
            assert not np.any(v)
            continue
        data = fits.getdata(job.channel_path(channel)).astype(np.float64)
        inside = (v > 0) & (v < 1) & np.isfinite(data)
        assert inside.sum() > 1000
        back = to_physical(v[inside], row, channel)
        span = row[f"{channel}_vmax"] - row[f"{channel}_vmin"]
        np.testing.assert_allclose(back, data[inside], rtol=0, atol=2e-6 * span)
        checked += 1
    assert checked >= 3


def test_cutout_pixels_are_fits_pixels_and_sky_positions(cutout_dataset, sim_2025, physical):
    layout = Layout(cutout_dataset)
    cand = pd.read_parquet(layout.candidates_split("train")).set_index("candidate_id")
    table = read_cutout_parquet(layout.cutout_parquet("train"))
    k = schema.CHANNELS.index("zogy_diff")
    for n in range(0, len(table), max(1, len(table) // 10)):
        cid, jid = table.ids[n], table.jids[n]
        x, y = cand.loc[cid, ["x", "y"]].astype(float)
        row = physical.loc[jid]
        job = io.open_job(sim_2025 / jid)
        if pd.isna(row["zogy_diff_vmin"]):
            continue
        data = fits.getdata(job.channel_path("zogy_diff")).astype(np.float64)
        xx, yy = cutout_pixels(x, y, size=64)
        v = table.cutouts[n, k]
        ok = (v > 0) & (v < 1) & (table.valid[n, 0] == 1)
        np.testing.assert_allclose(
            to_physical(v[ok], row, "zogy_diff"),
            data[yy[ok], xx[ok]],
            rtol=0,
            atol=2e-6 * (row["zogy_diff_vmax"] - row["zogy_diff_vmin"]),
        )
        ra, dec = cutout_sky(row, x, y, size=64)
        want = WCS(fits.getheader(job.channel_path("sci"))).all_pix2world(xx, yy, 0)
        np.testing.assert_allclose(ra, want[0], atol=1e-9)
        np.testing.assert_allclose(dec, want[1], atol=1e-9)
        # the candidate's own ra/dec column lies within one pixel of the cutout centre
        if pd.notna(cand.loc[cid, "ra"]):
            centre = SkyCoord(ra[32, 32], dec[32, 32], unit="deg")
            own = SkyCoord(cand.loc[cid, "ra"], cand.loc[cid, "dec"], unit="deg")
            assert centre.separation(own).arcsec < 0.2


def test_absent_limits_and_missing_wcs_are_errors(physical):
    row = physical.iloc[0].copy()
    row["sfft_diff_vmin"] = np.nan
    with pytest.raises(ValueError, match="sfft_diff"):
        to_physical(np.array([0.5]), row, "sfft_diff")
    row["wcs_header"] = ""
    with pytest.raises(ValueError, match="no WCS"):
        job_wcs(row)
