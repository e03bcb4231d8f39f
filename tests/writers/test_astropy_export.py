"""astropy reads the exported tables of a built dataset: units, descriptions, masked missing values (null
strings included), SkyCoord from ra/dec; values equal the dataset's Parquet files."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.votable.exceptions import W50
from astropy.table import Table
from click.testing import CliRunner

from rapid_croissant.cli.main import cli
from rapid_croissant.dataset.layout import Layout

READERS = {"ecsv": ("ecsv", {}), "votable": ("vot", {"format": "votable"}), "parquet": ("parquet", {})}


@pytest.fixture(scope="module")
def exported(cutout_dataset, tmp_path_factory):
    root = Path(shutil.copytree(cutout_dataset, tmp_path_factory.mktemp("export") / "ds"))
    run = CliRunner().invoke(cli, ["export", "-d", str(root)])
    assert run.exit_code == 0, run.output
    return root


def _read(path: Path, kw: dict) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", W50)  # DN/s is not a VOUnit: documented, the string is kept
        return Table.read(path, **kw)


@pytest.mark.parametrize("fmt", list(READERS))
def test_candidates_keep_values_units_and_nulls(exported, fmt):
    suffix, kw = READERS[fmt]
    layout = Layout(exported)
    frame = pd.read_parquet(layout.candidates_split("train"))
    table = _read(layout.export("candidates-train", suffix), kw)
    assert table.colnames == list(frame.columns) and len(table) == len(frame)
    assert table["ra"].unit == u.deg and table["x"].unit == u.pix
    # null strings (no matching truth) come back masked, filled ones unchanged
    null = frame["truth_id"].isna().to_numpy()
    assert null.any() and (~null).any()
    if fmt == "votable":  # astropy reads a null VOTable text as "" (documented in astropy_export.py)
        assert list(np.asarray(table["truth_id"])[null]) == [""] * int(null.sum())
    else:
        assert np.array_equal(np.ma.getmaskarray(table["truth_id"]), null)
    assert list(table["truth_id"][~null]) == frame.loc[~null, "truth_id"].tolist()
    assert np.array_equal(np.asarray(table["label"]), frame["label"].astype(int).to_numpy())
    np.testing.assert_array_equal(
        np.asarray(table["zogy_flux"], dtype=float), frame["zogy_flux"].to_numpy(float)
    )
    assert table["label"].description


def test_skycoord_straight_from_ra_dec(exported):
    table = _read(Layout(exported).export("candidates-val", "ecsv"), {})
    coords = SkyCoord(table["ra"], table["dec"])
    frame = pd.read_parquet(Layout(exported).candidates_split("val"))
    np.testing.assert_allclose(coords.ra.deg, frame["ra"].to_numpy(float))
    assert coords.frame.name == "icrs"


def test_physical_and_jobs_tables(exported):
    phys = _read(Layout(exported).export("physical", "parquet"), {})
    assert phys["sci_vmin"].unit == u.DN / u.s
    jobs = _read(Layout(exported).export("jobs", "vot"), {"format": "votable"})
    assert len(jobs) == len(pd.read_parquet(Layout(exported).jobs_parquet))


def test_unknown_format_is_refused(exported):
    run = CliRunner().invoke(cli, ["export", "-d", str(exported), "--format", "fits"])
    assert run.exit_code != 0 and "fits" in run.output


@pytest.mark.parametrize("name", ["candidates", "candidates-train", "truth", "jobs", "physical"])
def test_the_datasets_own_parquet_tables_open_in_astropy(cutout_dataset, name):
    """The build's tables themselves (not the export): nulls masked, values, units, SkyCoord."""
    path = Path(cutout_dataset) / f"{name}.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "using longest string" guess, no cast warning
        table = Table.read(path)
    frame = pd.read_parquet(path)
    assert table.colnames == list(frame.columns) and len(table) == len(frame)
    for col in frame.columns:
        null = frame[col].isna().to_numpy()
        got = table[col]
        if frame[col].dtype == "float64":
            assert np.array_equal(np.isnan(np.asarray(got, dtype=float)), null), col
            np.testing.assert_array_equal(np.asarray(got, dtype=float)[~null], frame[col].to_numpy()[~null])
            continue
        assert np.array_equal(np.ma.getmaskarray(got), null), col  # a null comes back masked
        want = frame.loc[~null, col].tolist()
        values = np.asarray(got)[~null].tolist()
        if frame[col].dtype == "Int64":
            assert [int(v) for v in values] == want, col
        else:
            assert values == want, col
    if "ra" in table.colnames:
        assert table["ra"].unit == u.deg and table["dec"].unit == u.deg
        coords = SkyCoord(table["ra"], table["dec"])
        np.testing.assert_array_equal(coords.ra.deg, frame["ra"].to_numpy(float))


def test_astropy_metadata_leaves_what_pandas_reads_unchanged(cutout_dataset, tmp_path):
    import pyarrow.parquet as pq

    from rapid_croissant.dataset import schema
    from rapid_croissant.writers.astropy_export import write_parquet_with_astropy_meta

    frame = pd.read_parquet(Layout(cutout_dataset).candidates_split("train"))
    plain, ours = tmp_path / "plain.parquet", tmp_path / "ours.parquet"
    frame.to_parquet(plain, index=False)
    write_parquet_with_astropy_meta(ours, frame, schema.CANDIDATE_SCHEMA)
    pd.testing.assert_frame_equal(pd.read_parquet(ours), pd.read_parquet(plain))
    assert pq.read_table(ours).equals(pq.read_table(plain))
    assert pq.read_schema(ours).remove_metadata() == pq.read_schema(plain).remove_metadata()
    meta = pq.read_schema(ours).metadata
    assert b"table_meta_yaml" in meta and b"table::len::truth_id" in meta and b"pandas" in meta


@pytest.mark.parametrize("name", ["candidates", "truth", "jobs"])
def test_the_metadata_yaml_is_astropys_own_text(cutout_dataset, name):
    """table_yaml_lines (libyaml's emitter) writes exactly the lines astropy's own function writes."""
    from astropy.table import meta

    from rapid_croissant.dataset import schema
    from rapid_croissant.writers.astropy_export import encoded_table, table_yaml_lines, to_astropy

    columns = {"candidates": schema.CANDIDATE_SCHEMA, "truth": schema.TRUTH_SCHEMA, "jobs": schema.JOB_SCHEMA}
    frame = pd.read_parquet(Path(cutout_dataset) / f"{name}.parquet")
    encoded = encoded_table(to_astropy(frame, columns[name]))
    if name == "candidates":
        assert encoded.meta["__serialized_columns__"]  # masks in the metadata: the long part of the text
    assert table_yaml_lines(encoded) == meta.get_yaml_from_table(encoded)
